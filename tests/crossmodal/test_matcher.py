"""The image-text matcher: its loss, that it learns captions far above chance, files, search from the CLI."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from artforge.cli import main
from artforge.crossmodal.matcher import (
    Matcher,
    MatcherConfig,
    contrastive_loss,
    load_matcher,
    retrieval_accuracy,
    shortened_captions,
    train_matcher,
)
from artforge.data.builtin import BUILTINS
from artforge.errors import ArtforgeError


def test_with_distinct_captions_the_loss_is_clips():
    torch.manual_seed(0)
    img, txt = F.normalize(torch.randn(6, 8), dim=1), F.normalize(torch.randn(6, 8), dim=1)
    scale = torch.tensor(2.0)
    logits = scale.exp() * img @ txt.T
    clip = (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6))) / 2
    assert torch.allclose(contrastive_loss(img, txt, scale, torch.eye(6, dtype=torch.bool)), clip)


def test_equal_captions_are_positives_not_negatives():
    """Two pictures of one caption, said two ways in the batch (a full and a shortened caption): CLIP's
    one-positive loss drives the pictures apart, toward "their own" wording; ours keeps them together."""

    def after_training(same: torch.Tensor) -> float:
        torch.manual_seed(0)
        txt = F.normalize(torch.tensor([[1.0, 0.0, 0], [0.8, 0.6, 0], [0, -1.0, 0]]), dim=1)
        start = torch.tensor([[0.9, 0.3, 0], [0.9, 0.3, 0], [0, -1.0, 0]])
        img = (start + 0.01 * torch.randn(3, 3)).requires_grad_(True)
        opt = torch.optim.SGD([img], lr=0.1)
        for _ in range(100):
            opt.zero_grad()
            contrastive_loss(F.normalize(img, dim=1), txt, torch.tensor(2.0), same).backward()
            opt.step()
        a, b = F.normalize(img.detach(), dim=1)[:2]
        return float(a @ b)

    same = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    assert after_training(same) > 0.99
    assert after_training(torch.eye(3, dtype=torch.bool)) < 0.9


def test_shortened_captions_keep_word_order_and_are_repeatable():
    caption = "concentric red circles on a cream ground"
    short = shortened_captions(caption, 4)
    assert short == shortened_captions(caption, 4) and len(short) == 4
    words = caption.split()
    for s in short:
        assert s and [w for w in words if w in s.split()] == s.split()


@pytest.fixture(scope="module")
def small_matcher():
    images, captions = BUILTINS["shapes"](400, 32, 3)
    pictures = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    return train_matcher(pictures, captions, MatcherConfig(steps=300, heldout=0.2), log=lambda m: None)


def test_a_matcher_learns_captions_far_above_chance(small_matcher):
    held = small_matcher.cfg.report["heldout"]
    assert held["n"] == 80
    assert held["top5"] > 10 * 5 * held["chance"] and held["top1"] > 5 * held["chance"], held


def test_saved_and_loaded_it_scores_the_same(small_matcher, tmp_path):
    small_matcher.save(tmp_path / "m")
    again = Matcher.load(tmp_path / "m")
    pictures = torch.from_numpy(BUILTINS["shapes"](4, 32, 9)[0]).permute(0, 3, 1, 2).contiguous()
    texts = ["red stripes", "a white sun over hills"]
    assert torch.allclose(small_matcher.similarity(pictures, texts), again.similarity(pictures, texts), atol=1e-6)
    (tmp_path / "m" / "matcher.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ArtforgeError, match="cannot read the matcher"):
        Matcher.load(tmp_path / "m")
    with pytest.raises(ArtforgeError, match="not a matcher folder"):
        Matcher.load(tmp_path)


def test_retrieval_accuracy_counts_the_own_caption():
    emb = {"a": torch.tensor([1.0, 0]), "b": torch.tensor([0, 1.0])}
    result = retrieval_accuracy(torch.tensor([[0.9, 0.1], [0.8, 0.2]]), ["a", "b"], emb)
    assert result["top1"] == 0.5 and result["chance"] == 0.5 and result["captions"] == 2


def test_the_shipped_matcher_reads_the_built_in_sets():
    report = load_matcher().cfg.report["heldout"]
    assert report["top1"] > 100 * report["chance"], report  # its own held-out pictures, measured when trained


@pytest.fixture
def captioned_folder(tmp_path):
    """One picture of each kind of built-in shape (different seed from the shipped matcher's training)."""
    images, captions = BUILTINS["shapes"](6, 64, 41)
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, (picture, caption) in enumerate(zip(images, captions)):
        Image.fromarray(picture).save(folder / f"p{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder, captions


@pytest.mark.parametrize("query,word", [("stripes", "stripes"), ("a sun over hills", "sun"), ("waves", "waves")])
def test_search_finds_the_picture_that_fits(captioned_folder, query, word, capsys):
    folder, captions = captioned_folder
    assert main(["search", str(folder), query, "-n", "2"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2
    best = int(Path(lines[0].split()[1]).stem.removeprefix("p"))
    assert word in captions[best], (query, lines, captions)
    assert "broken.png" in err  # skipped and named, not a traceback


@pytest.mark.parametrize(
    "args,message", [(["/no/such/folder", "red"], "is not a folder"), (["{folder}", "  "], "the text is empty")]
)
def test_search_mistakes_are_one_line(captioned_folder, args, message, capsys):
    folder, _ = captioned_folder
    assert main(["search", *[a.format(folder=folder) for a in args]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("artforge: error:") and message in err[-1]
