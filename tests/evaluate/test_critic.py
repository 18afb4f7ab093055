import dataclasses

import pytest
import torch

from artforge.data import open_source
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import (
    Critic,
    CriticConfig,
    fold_ids,
    picture_inputs,
    spearman,
    tier_of,
    train_critic,
)
from artforge.evaluate.critic_data import graded_set
from artforge.evaluate.curate import DEFAULT_CRITIC, load_critic


@pytest.fixture(scope="module")
def graded():
    originals = open_source("builtin:shapes", 256, n_builtin=24, seed=3, progress=False).images
    images, scores, groups = graded_set(originals, seed=0)
    return images, scores, groups


def test_spearman_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 3, (40,), generator=g).double()
    b = a + torch.randn(40, generator=g, dtype=torch.float64)
    assert abs(spearman(b, a) - spearmanr(b.numpy(), a.numpy()).statistic) < 1e-9


def test_tiers_split_the_score_range_in_thirds():
    assert [tier_of(s) for s in (0, 3.3, 3.34, 6.6, 6.7, 10)] == ["low", "low", "mid", "mid", "high", "high"]


def test_folds_keep_each_original_with_its_degradations(graded):
    _, _, groups = graded
    ids = fold_ids(len(groups), 5, groups)
    for g in set(groups):
        assert len({int(ids[i]) for i, gi in enumerate(groups) if gi == g}) == 1
    assert len(set(ids.tolist())) == 5


def test_a_critic_trained_from_scratch_on_few_pictures_learns_the_order(graded):
    """18 originals are few (the shipped critic learns from 600); the order must still come out."""
    images, scores, groups = graded
    held = torch.tensor([g >= 18 for g in groups])
    critic = train_critic(
        images[~held],
        scores[~held],
        CriticConfig(feature_size=128),
        groups=[g for g in groups if g < 18],
        log=lambda _: None,
    )
    assert critic.cfg.cv["spearman"] > 0.4 and 0 <= critic.cfg.cv["tier_accuracy"] <= 1
    predicted = critic.score(images[held])
    means = [float(predicted[scores[held] == s].mean()) for s in sorted(scores.unique().tolist())]
    assert means[0] < means[2], f"heavy degradations should score below originals: {means}"
    assert critic.cfg.n_train == int((~held).sum()) and critic.cfg.n_ratings == 0


def test_online_ratings_move_the_score_without_retraining_and_are_counted(graded, tmp_path):
    images, scores, groups = graded
    critic = Critic.fit_inputs(
        picture_inputs(images, CriticConfig(feature_size=128)), scores, CriticConfig(feature_size=128)
    )
    original = images[scores > 8][:2]
    before = critic.score(original)
    critic.update(original, [0.0, 0.0])
    after = critic.score(original)
    assert (after < before - 0.5).all()
    assert critic.cfg.n_ratings == 2
    critic.save(tmp_path / "c")
    again = Critic.load(tmp_path / "c")
    assert again.cfg.n_ratings == 2
    assert torch.allclose(again.score(original), after, atol=1e-4)


def test_two_updates_equal_one_update_with_both(graded):
    images, scores, _ = graded
    x = picture_inputs(images, CriticConfig(feature_size=128))
    one, two = (Critic.fit_inputs(x[:40], scores[:40], CriticConfig(feature_size=128)) for _ in range(2))
    one.update(images[40:44], [9.0, 1.0, 5.0, 7.0])
    two.update(images[40:42], [9.0, 1.0])
    two.update(images[42:44], [5.0, 7.0])
    assert torch.allclose(one.weights, two.weights, atol=1e-8)
    assert one.cfg.n_ratings == two.cfg.n_ratings == 4


def test_bad_ratings_and_bad_critic_files_get_clear_errors(graded, tmp_path):
    images, scores, _ = graded
    critic = Critic.fit_inputs(
        picture_inputs(images[:12], CriticConfig(feature_size=128)), scores[:12], CriticConfig(feature_size=128)
    )
    with pytest.raises(ArtforgeError, match="0 to 10"):
        critic.update(images[:1], [11.0])
    with pytest.raises(ArtforgeError, match="not a critic folder"):
        Critic.load(tmp_path)
    (tmp_path / "critic.safetensors").write_bytes(b"garbage")
    with pytest.raises(ArtforgeError, match="cannot read the critic"):
        Critic.load(tmp_path)
    with pytest.raises(ArtforgeError, match="same rating"):
        train_critic(images[:12], torch.full((12,), 5.0), folds=3)


def test_shipped_critic_ranks_a_fresh_graded_set_it_never_saw():
    """Acceptance: originals high, mild degradations mid, heavy low — held-out Spearman ≥ 0.8."""
    assert (DEFAULT_CRITIC / "critic.safetensors").is_file(), "run: make default-critic"
    critic = load_critic(DEFAULT_CRITIC)
    originals = open_source("builtin:shapes", 256, n_builtin=20, seed=424242, progress=False).images
    images, scores, _ = graded_set(originals, seed=7)
    assert spearman(critic.score(images), scores) >= 0.8
    assert critic.cfg.cv["held_out"]["spearman"] >= 0.8


@pytest.fixture(scope="module")
def shipped_inputs():
    """The shipped critic and its inputs for 48 built-in pictures (shapes on backgrounds, many colours)."""
    critic = load_critic(DEFAULT_CRITIC)
    images = open_source("builtin:shapes", 128, n_builtin=48, seed=5, progress=False).images
    return critic, images, picture_inputs(images, critic.cfg)


def _redness(images: torch.Tensor) -> torch.Tensor:
    x = images.float() / 255
    return (x[:, 0] - x[:, 2]).flatten(1).mean(1)


def test_a_persons_ratings_teach_their_critic_a_taste_the_shipped_one_does_not_know(shipped_inputs):
    critic, images, x = shipped_inputs
    taste = _redness(images)
    rated, held = slice(0, 24), slice(24, 48)
    before = spearman(critic.score_inputs(x[held]), taste[held])
    ranks = taste[rated].argsort().argsort().double()
    critic = Critic(dataclasses.replace(critic.cfg), dict(critic.t))  # a copy: the fixture's stays unrated
    critic.update_inputs(x[rated], (10 * ranks / 23).round())
    after = spearman(critic.score_inputs(x[held]), taste[held])
    assert after >= 0.7 and after > before + 0.3, (before, after)
    assert critic.cfg.n_ratings == 24 and set(critic.cfg.prior) == {"tau_features", "tau_measures"}
    # the general judgement is still there, untouched, beside the person's
    torch.testing.assert_close(critic.general_score_inputs(x), load_critic(DEFAULT_CRITIC).score_inputs(x))


def test_taking_back_every_rating_restores_the_general_critic_exactly(shipped_inputs):
    critic, _, x = shipped_inputs
    mine = Critic(dataclasses.replace(critic.cfg), dict(critic.t))
    mine.update_inputs(x[:5], [9.0, 1.0, 5.0, 7.0, 2.0])
    assert not torch.allclose(mine.score_inputs(x), critic.score_inputs(x))
    mine.update_inputs(x[:5], [9.0, 1.0, 5.0, 7.0, 2.0], weight=-1.0)
    assert mine.cfg.n_ratings == 0
    torch.testing.assert_close(mine.score_inputs(x), critic.score_inputs(x), atol=1e-6, rtol=0)


def test_a_critic_saved_before_personal_heads_existed_still_loads(shipped_inputs, tmp_path):
    critic, _, x = shipped_inputs
    from artforge.fileio import save_tensors_with_config

    old = {k: v for k, v in critic.t.items() if k not in ("P", "q", "yy", "n")}
    cfg = {k: v for k, v in vars(critic.cfg).items() if k != "prior"}
    save_tensors_with_config(tmp_path / "critic.safetensors", old, cfg)
    torch.testing.assert_close(Critic.load(tmp_path).score_inputs(x), critic.score_inputs(x))


def test_critic_card_measures_what_a_critic_favours(shipped_inputs, tmp_path, capsys):
    from artforge.cli import main
    from artforge.evaluate.card import critic_card, favours

    critic, images, x = shipped_inputs
    card = critic_card(critic, images, "built-in shapes")
    assert card["heads"] == ["score"] and set(card["measures"]) >= {"colorfulness", "symmetry", "warmth", "sharpness"}
    # a person who rates warm pictures high: their head now favours warmth, the general one is shown beside it
    from artforge.evaluate.measures import warmth

    mine = Critic(dataclasses.replace(critic.cfg), dict(critic.t))
    warm = warmth(images.float() / 255)
    mine.update_inputs(x, (10 * warm.argsort().argsort().double() / (len(warm) - 1)).round())
    card = critic_card(mine, images, "built-in shapes")
    assert card["heads"] == ["general", "yours"]
    assert card["measures"]["warmth"]["yours"]["spearman"] > card["measures"]["warmth"]["general"]["spearman"] + 0.3
    assert any(line.startswith("more warmth") for line in favours(card, "yours"))
    # from the command line, on a folder
    folder = tmp_path / "pictures"
    folder.mkdir()
    from PIL import Image

    for i, picture in enumerate(images[:10].permute(0, 2, 3, 1).numpy()):
        Image.fromarray(picture).save(folder / f"{i}.png")
    assert (
        main(["critic", "card", "--critic", str(DEFAULT_CRITIC), "--pictures", str(folder), "-o", str(tmp_path)]) == 0
    )
    assert "critic card — 10 pictures" in capsys.readouterr().out
    assert (tmp_path / "card.md").is_file() and (tmp_path / "card.json").is_file()
