"""Generation that follows a person's critic (artforge.taste, ``generate --taste``)."""

import dataclasses

import pytest
import torch

from artforge.cli import main
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs
from artforge.evaluate.curate import DEFAULT_CRITIC, load_critic
from artforge.generate import load_model
from artforge.pictures import read_png_metadata
from artforge.taste import TasteSearch, critic_view, mean_pairwise_distance, taste_latents


def _brightness(pictures: torch.Tensor) -> torch.Tensor:
    return pictures.float().flatten(1).mean(1)


@pytest.fixture(scope="module")
def model():
    return load_model("default")


@pytest.fixture(scope="module")
def bright_critic(model, tmp_path_factory):
    """The shipped critic after a person rated 40 of the default model's samples by how bright they are."""
    critic = load_critic(DEFAULT_CRITIC)
    critic = Critic(dataclasses.replace(critic.cfg), dict(critic.t))
    with torch.no_grad():
        pictures = model.decode(model.latents(40, torch.Generator().manual_seed(123)))
    big = torch.nn.functional.interpolate(pictures, size=(LOAD_SIZE, LOAD_SIZE), mode="bilinear")
    light = _brightness(pictures)
    ranks = light.argsort().argsort().double()
    critic.update_inputs(picture_inputs(big.clamp(-1, 1), critic.cfg), (10 * ranks / 39).round())
    folder = tmp_path_factory.mktemp("critic")
    critic.save(folder)
    return critic, folder


def test_taste_grids_follow_the_critic_and_stay_diverse(model, bright_critic):
    critic, _ = bright_critic
    n = 8
    search = TasteSearch(oversample=3, rounds=1, proposals=2)
    latents, info = taste_latents(model, critic, n, seed=4, search=search, log=lambda _: None)
    plain = model.latents(n, torch.Generator().manual_seed(4))
    with torch.no_grad():
        chosen, seeds = model.decode(latents), model.decode(plain)
    # the person's true taste (brightness), not only their critic's opinion, went up
    assert float(_brightness(chosen).mean()) > float(_brightness(seeds).mean()) + 0.1
    assert info["taste_score"] > info["plain_score"]
    _, plain_features = critic_view(model, critic, plain)
    assert info["plain_diversity"] == pytest.approx(mean_pairwise_distance(plain_features), rel=1e-4)
    assert info["taste_diversity"] >= 0.5 * info["plain_diversity"]
    scores, _ = critic_view(model, critic, latents)
    assert torch.all(scores[:-1] >= scores[1:] - 1e-4), "best first"


def test_bad_search_settings_are_refused(model, bright_critic):
    with pytest.raises(ArtforgeError, match="taste-sigma"):
        taste_latents(model, bright_critic[0], 2, search=TasteSearch(sigma=1.5))
    with pytest.raises(ArtforgeError, match="-n"):
        taste_latents(model, bright_critic[0], 0)


def test_generate_taste_from_the_command_line(bright_critic, tmp_path, capsys):
    _, folder = bright_critic
    out = tmp_path / "out"
    args = ["generate", "default", "--taste", str(folder), "-n", "3", "--taste-rounds", "1", "-o", str(out)]
    assert main(args) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["grid-taste-seed0.png", "taste-seed0-0000.png", "taste-seed0-0001.png", "taste-seed0-0002.png"]
    meta = read_png_metadata(out / "taste-seed0-0000.png")
    assert meta["taste"] == str(folder) and meta["taste_score"] >= meta["plain_score"]
    assert "taste: critic score" in capsys.readouterr().err
    assert main(["generate", "default", "--taste", "--prompt", "red", "-o", str(out)]) != 0
    assert "--taste chooses latents itself" in capsys.readouterr().err
