"""ganlib.images: the training sample grid and the toy's point picture, drawn and written without matplotlib."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib.images import BACKGROUND, CENTRE, POINT, grid_array, points_array, save_samples


def test_a_grid_tiles_the_images_row_by_row_with_a_grey_border():
    images = torch.stack([torch.full((1, 28, 28), v, dtype=torch.uint8) for v in (10, 20, 30)])
    grid = grid_array(images, nrow=2, pad=2)
    assert grid.shape == (2 * 30 + 2, 2 * 30 + 2) and grid.dtype == np.uint8
    assert grid[2, 2] == 10 and grid[2, 32] == 20 and grid[32, 2] == 30 and grid[32, 32] == BACKGROUND
    assert grid[0, 0] == BACKGROUND
    floats = grid_array(torch.tensor([-1.0, 1.0]).repeat_interleave(784).reshape(2, 1, 28, 28), nrow=2)
    assert floats[2, 2] == 0 and floats[2, 32] == 255  # [-1, 1] mapped to 0..255


def _tiled_by_hand(images: torch.Tensor, nrow: int | None, pad: int) -> np.ndarray:
    """The grid built tile by tile: image i at row i // nrow, column i % nrow, on a grey canvas."""
    if images.dtype != torch.uint8:
        images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    imgs = images.reshape(len(images), 28, 28).numpy()
    nrow = nrow or int(np.ceil(np.sqrt(len(imgs))))
    canvas = np.full((-(-len(imgs) // nrow) * (28 + pad) + pad, nrow * (28 + pad) + pad), BACKGROUND, np.uint8)
    for i, img in enumerate(imgs):
        top, left = pad + (i // nrow) * (28 + pad), pad + (i % nrow) * (28 + pad)
        canvas[top:top + 28, left:left + 28] = img
    return canvas


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 36, 40])
@pytest.mark.parametrize("nrow, pad", [(None, 2), (1, 2), (6, 2), (10, 0), (4, 3)])
def test_the_grid_is_the_hand_tiled_grid_for_every_count_and_row_length(n, nrow, pad):
    """torchvision's make_grid draws it; a short row, a lone image and floats give the same pixels as tiling
    by hand (a lone image keeps its border, a short row its width)."""
    g = torch.Generator().manual_seed(n)
    as_u8 = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    as_float = torch.rand(n, 1, 28, 28, generator=g) * 2.2 - 1.1  # beyond [-1, 1] too: clamped
    for images in (as_u8, as_float):
        drawn = grid_array(images, nrow, pad)
        assert drawn.dtype == np.uint8 and drawn.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(drawn, _tiled_by_hand(images, nrow, pad))


def test_points_land_where_they_are_with_y_upwards_and_far_ones_left_out():
    size, lim = 101, 5.0
    points = torch.tensor([[0.0, 0.0], [5.0, 5.0], [50.0, 0.0], [float("nan"), 0.0]])
    picture = points_array(points, torch.tensor([[-5.0, -5.0]]), lim=lim, size=size)
    assert picture.shape == (size, size, 3)
    assert tuple(picture[50, 50]) == POINT  # the origin at the centre
    assert tuple(picture[0, 100]) == POINT  # (5, 5): top right
    assert tuple(picture[100, 0]) == CENTRE  # the centre (-5, -5): bottom left
    coloured = (picture != 255).any(axis=2)
    assert coloured.sum() < 4 * 2 + 20  # two 2x2 dots (clipped at the edge) and one cross: nothing else


def test_save_samples_writes_a_grey_grid_or_a_colour_picture(tmp_path):
    save_samples(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), tmp_path / "grid.png")
    save_samples(torch.zeros(10, 2), tmp_path / "points.png", torch.zeros(1, 2), lim=3.0)
    with Image.open(tmp_path / "grid.png") as grid, Image.open(tmp_path / "points.png") as points:
        assert (grid.mode, grid.size) == ("L", (62, 62)) and points.mode == "RGB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "points.png"]  # no temporary file left
