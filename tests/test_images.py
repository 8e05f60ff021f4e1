"""ganlib.images: the training sample grid and the toy's point picture, drawn and written without matplotlib."""

from __future__ import annotations

import numpy as np
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
