"""Sample images as arrays and PNG files, without matplotlib: what training writes as ``samples.png``.

The training layer imports this module, so it stays below the figures (``ganlib.plot``): it draws with
numpy and writes with Pillow (a matplotlib dependency, imported only when a PNG is written).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .files import atomic_path

BACKGROUND = 64  # grey between the tiles of a grid
POINT = (0, 114, 178)  # generated points: the book's blue
CENTRE = (213, 94, 0)  # mode centres: the book's orange


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, 1, 28, 28) images (uint8, or float in [−1, 1]) into one 2-D uint8 array: ``nrow`` images
    per row (default ⌈√N⌉), ``pad`` grey pixels around and between them (``torchvision.utils.make_grid``)."""
    from torchvision.utils import make_grid  # imported here: only drawing a grid needs it

    if images.dtype != torch.uint8:
        images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    imgs = images.reshape(len(images), 1, 28, 28).cpu()
    nrow = nrow or int(np.ceil(np.sqrt(len(imgs))))
    # make_grid narrows a row shorter than nrow to its images, and returns a lone image without a border:
    # blank tiles keep every grid nrow tiles wide and bordered
    if len(imgs) < max(nrow, 2):
        imgs = torch.cat([imgs, imgs.new_full((max(nrow, 2) - len(imgs), 1, 28, 28), BACKGROUND)])
    grid = make_grid(imgs, nrow=nrow, padding=pad, pad_value=BACKGROUND)[0].numpy()
    rows = int(np.ceil(len(images) / nrow))  # the blank tiles added above may not add a row
    return np.ascontiguousarray(grid[:rows * (28 + pad) + pad])


def points_array(points: torch.Tensor, centres: torch.Tensor | None = None, lim: float = 5.5,
                 size: int = 320) -> np.ndarray:
    """Draw 2-D points as a (size, size, 3) uint8 image of the square [−lim, lim]², y upwards: each point a
    2×2 blue dot on white, each mode centre an orange cross. Points outside the square are left out."""
    canvas = np.full((size, size, 3), 255, np.uint8)
    for (col, row), colour, radius in ((_pixels(points, lim, size), POINT, 1),
                                       (_pixels(centres, lim, size), CENTRE, 4)):
        for dr, dc in _marker(radius):
            r, c = row + dr, col + dc
            keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            canvas[r[keep], c[keep]] = colour
    return canvas


def _pixels(points: torch.Tensor | None, lim: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel columns and rows of the points inside [−lim, lim]² (none for ``None``)."""
    if points is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    p = points.detach().float().cpu().numpy().reshape(-1, 2)
    p = p[np.isfinite(p).all(axis=1) & (np.abs(p) <= lim).all(axis=1)]
    scaled = (p + lim) / (2 * lim) * (size - 1)
    return np.rint(scaled[:, 0]).astype(np.int64), np.rint(size - 1 - scaled[:, 1]).astype(np.int64)


def _marker(radius: int) -> list[tuple[int, int]]:
    """Pixel offsets of a marker: a 2×2 dot for radius 1, a cross with arms of ``radius`` pixels otherwise."""
    if radius == 1:
        return [(0, 0), (0, 1), (1, 0), (1, 1)]
    return [(d * sr, d * sc) for d in range(-radius, radius + 1) for sr, sc in ((1, 1), (1, -1))]


def save_png(array: np.ndarray, path: str | Path) -> None:
    """Write a uint8 array, (H, W) grey or (H, W, 3) colour, as a PNG file, atomically."""
    from PIL import Image  # imported here: only writing a file needs Pillow

    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(array)).save(tmp, format="png", optimize=True)


def save_samples(samples: torch.Tensor, path: str | Path, centres: torch.Tensor | None = None,
                 lim: float = 5.5) -> None:
    """One snapshot as a PNG: images (N, 1, 28, 28) as a grid, 2-D points (N, 2) drawn with ``centres``."""
    if samples.dim() == 2 and samples.shape[1] == 2:
        save_png(points_array(samples, centres, lim), path)
    else:
        save_png(grid_array(samples), path)
