"""MiniLM sentence embeddings offline: shape, unit length, meaning, and captions for text-conditioned training."""

import pytest
import torch

from artforge.crossmodal.text import TEXT_DIM, caption_embeddings, embed_texts, embed_unique
from artforge.errors import ArtforgeError


def test_embeddings_are_unit_vectors_that_follow_meaning():
    e = embed_texts(["red circles on a blue ground", "crimson rings on navy", "the letter A in a bold serif font"])
    assert e.shape == (3, TEXT_DIM) and e.dtype == torch.float32
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-4)
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.1  # a paraphrase is closer than another subject (0.22 vs 0.07)


def test_repeated_captions_are_embedded_once_and_identically():
    texts = ["a", "b", "a", "b", "a"]
    e = embed_unique(texts)
    assert torch.equal(e[0], e[2]) and torch.equal(e[1], e[3])
    assert torch.allclose(e, embed_texts(texts), atol=1e-5)


def test_missing_captions_warn_and_none_at_all_is_a_user_error():
    said = []
    e = caption_embeddings(["red stripes", None, "  "], said.append)
    assert e.shape == (3, TEXT_DIM) and "2 of 3 pictures have no caption" in said[0]
    with pytest.raises(ArtforgeError, match="NAME.txt"):
        caption_embeddings([None, ""])
