"""Small pictures for the style-transfer tests: a photo (skimage) and procedural paintings."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from artforge.data.paintings import make_paintings
from artforge.pictures import to_unit
from artforge.style.io import fit_long_side, from_uint8, resize


def photo(name: str = "chelsea", side: int = 48) -> torch.Tensor:
    from skimage import data

    image = from_uint8(getattr(data, name)())
    return resize(image, fit_long_side(image.shape[-2:], side))


def painting(index: int = 0, side: int = 48, seed: int = 0) -> torch.Tensor:
    return to_unit(make_paintings(index + 1, side, seed=seed)[index : index + 1])


@pytest.fixture(scope="module")
def one_thread():
    """Tiny pictures: one thread is faster, and OpenMP threads spin-waiting on a busy CI machine can
    cost 10x the work itself."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def make_photo():
    return photo


@pytest.fixture(scope="session")
def make_painting():
    return painting


@pytest.fixture(scope="session")
def content() -> torch.Tensor:
    return photo()


@pytest.fixture(scope="session")
def style() -> torch.Tensor:
    return painting(0)


@pytest.fixture(scope="session")
def style2() -> torch.Tensor:
    return painting(3)


@pytest.fixture(scope="session")
def picture_files(tmp_path_factory):
    """content.png, style.png, style2.png, mask.png (left half white) and a broken file."""
    root = tmp_path_factory.mktemp("style-files")
    from artforge.pictures import to_uint8

    Image.fromarray(to_uint8(photo(side=64))[0]).save(root / "content.png")
    Image.fromarray(to_uint8(painting(0, 64))[0]).save(root / "style.png")
    Image.fromarray(to_uint8(painting(3, 64))[0]).save(root / "style2.png")
    mask = Image.new("L", (64, 43), 0)
    mask.paste(255, (0, 0, 32, 43))
    mask.save(root / "mask.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "notes.txt").write_text("not a picture")
    return root
