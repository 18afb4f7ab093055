"""Text search over pictures with the image–text matcher: a folder (``artforge search``) or any list of
picture files (the studio's gallery).

Pictures are read at ``SEARCH_SIZE`` with padding (the whole picture counts, not a centre crop), through the
same decoding as training — so a broken file is skipped and named, never a traceback — and their features
are cached by content, so a second search of the same folder costs only the text.
"""

from __future__ import annotations

from pathlib import Path

import torch

from artforge.crossmodal.matcher import load_matcher, rank_by_text
from artforge.data.sources import open_source
from artforge.errors import ArtforgeError

SEARCH_SIZE = 128  # the backbone sees 224 px; the built-in captioned sets and most models are smaller


def search_folder(folder: str | Path, text: str, n: int = 10, matcher: str | None = None) -> list[tuple[float, str]]:
    """The ``n`` pictures of ``folder`` that agree best with ``text``: (cosine agreement, path), best first."""
    if n < 1:
        raise ArtforgeError("-n must be at least 1")
    if not Path(folder).is_dir():
        raise ArtforgeError(f"{folder} is not a folder; search takes a folder of pictures")
    data = open_source(str(folder), SEARCH_SIZE, fit="pad", progress=False)
    return best_matches(data.images, list(data.paths), text, n, matcher)


def best_matches(
    images: torch.Tensor, names: list, text: str, n: int, matcher: str | None = None
) -> list[tuple[float, object]]:
    """(agreement, name) of the ``n`` best of ``images`` (N×3×H×W uint8) for ``text``, best first."""
    scores = rank_by_text(load_matcher(matcher), images, text)
    order = scores.argsort(descending=True)[:n].tolist()
    return [(float(scores[i]), names[i]) for i in order]
