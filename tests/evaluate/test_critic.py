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
