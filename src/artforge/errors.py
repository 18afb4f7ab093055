"""Errors a person can act on.

Anything raised as :class:`ArtforgeError` is a user mistake or a problem with
the user's input (a missing folder, a folder with no usable picture, a bad
flag).  The CLI prints its message on one line and exits with status 2 instead
of showing a traceback.  Bugs stay ordinary exceptions so they keep their
tracebacks.
"""


class ArtforgeError(Exception):
    """A problem the user can fix; the CLI prints it and exits with code 2."""

    exit_code = 2


class DataError(ArtforgeError):
    """The training source cannot be used (missing, empty, nothing decodable)."""


class CheckpointError(ArtforgeError):
    """A run folder or model export is missing, incomplete or incompatible."""


class TrainingDiverged(ArtforgeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 3
