"""Breeding: mutation keeps latents where they live, crossover takes every part from a parent."""

import pytest
import torch

from artforge.breed import breed, crossover, mutate
from artforge.errors import ArtforgeError
from artforge.generate import load_model
from tests.conftest import tiny_export


@pytest.fixture(scope="module")
def dcgan(tmp_path_factory):
    return load_model(tiny_export(tmp_path_factory.mktemp("dcgan"), "dcgan"))


@pytest.fixture(scope="module")
def stylegan(tmp_path_factory):
    return load_model(tiny_export(tmp_path_factory.mktemp("stylegan"), "stylegan"))


def test_mutation_strength_runs_from_parent_to_fresh(dcgan):
    z = torch.randn(1, dcgan.latent_dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mutate(dcgan, z, 0.0, torch.Generator().manual_seed(1)), z)
    near = mutate(dcgan, z, 0.2, torch.Generator().manual_seed(1))
    far = mutate(dcgan, z, 0.9, torch.Generator().manual_seed(1))
    assert (near - z).norm() < (far - z).norm()
    # many strong mutations of one parent still look like Gaussian latents (unit variance per dimension)
    many = torch.cat([mutate(dcgan, z, 0.7, torch.Generator().manual_seed(s)) for s in range(400)])
    assert abs(float(many.var(0).mean()) - 0.7**2) < 0.1
    with pytest.raises(ArtforgeError, match="strength"):
        mutate(dcgan, z, 1.5, torch.Generator())


def test_crossover_by_dimension_takes_each_value_from_a_parent(dcgan):
    a, b = torch.zeros(1, dcgan.latent_dim), torch.ones(1, dcgan.latent_dim)
    child = crossover(dcgan, a, b, torch.Generator().manual_seed(0))
    assert set(child.flatten().tolist()) == {0.0, 1.0}
    with pytest.raises(ArtforgeError, match="per-layer"):
        crossover(dcgan, a, b, torch.Generator(), "layer")


def test_crossover_by_layer_swaps_whole_styles(stylegan):
    g = torch.Generator().manual_seed(0)
    a, b = stylegan.latents(1, g), stylegan.latents(1, g)
    child = crossover(stylegan, a, b, torch.Generator().manual_seed(3), "layer")
    assert child.shape == (1, stylegan.num_ws, stylegan.latent_dim)
    picks = [torch.equal(child[0, i], a[0]) for i in range(stylegan.num_ws)]
    assert all(p or torch.equal(child[0, i], b[0]) for i, p in enumerate(picks))
    assert any(picks) and not all(picks)  # seed 3 takes layers from both


def test_breed_is_reproducible_and_records_parents(stylegan):
    g = torch.Generator().manual_seed(0)
    parents = [stylegan.latents(1, g) for _ in range(3)]
    kids, lineage = breed(stylegan, parents, 5, 0.3, "layer", torch.Generator().manual_seed(7))
    again, _ = breed(stylegan, parents, 5, 0.3, "layer", torch.Generator().manual_seed(7))
    assert torch.equal(kids, again) and lineage == [(0, 1), (1, 2), (2, 0), (0, 1), (1, 2)]
    stylegan.decode(kids)  # w+ children draw
    one, lineage = breed(stylegan, parents[:1], 2, 0.5, "dimension", torch.Generator())
    assert lineage == [(0,), (0,)] and one.shape == (2, stylegan.latent_dim)
    with pytest.raises(ArtforgeError, match="at least one parent"):
        breed(stylegan, [], 2, 0.5)
