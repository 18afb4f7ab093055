"""artforge — a local, offline-capable studio for AI art."""

__version__ = "0.1.0"
