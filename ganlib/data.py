"""Data: MNIST and Fashion-MNIST (online through torchvision, or offline from ``GANLIB_DATA``), 2-D toys.

Images live on the training device as uint8 and batches are drawn there, scaled to [−1, 1]:
x = u / 127.5 − 1 for a pixel value u in {0, …, 255}. No DataLoader, no host round trip per step.
"""

from __future__ import annotations

import gzip
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .errors import GanlibError, check_choice, first_line

IMAGE_DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist")
TOY_DATASETS: tuple[str, ...] = ("ring", "grid")
DATASETS: tuple[str, ...] = IMAGE_DATASETS + TOY_DATASETS
DATA_ENV = "GANLIB_DATA"

_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass
class ImageSet:
    """uint8 images (N, 28, 28), int64 labels (N,), and where they came from."""

    name: str
    images: Tensor
    labels: Tensor
    splits: tuple[str, ...]
    source: str

    def describe(self) -> str:
        """One line: dataset, image count, splits and source (printed so no data is used silently)."""
        return (f"{self.name}: {len(self.images):,} images (split{'s' if len(self.splits) > 1 else ''} "
                f"{'+'.join(self.splits)}) from {self.source}")


def default_cache() -> Path:
    """Where torchvision downloads go when no offline root is set."""
    return Path(os.environ.get("GANLIB_CACHE", Path.home() / ".cache" / "ganlib"))


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic 2049 = labels, 2051 = images."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (2049, 2051):
        raise GanlibError(f"{path} is not an IDX file (magic {magic}, expected 2049 or 2051)")
    ndim = magic - 2048
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(raw: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (raw / name).exists():
            return raw / name
    return None


def _load_offline(name: str, root: Path, split: str) -> ImageSet:
    raw = root / _FOLDERS[name] / "raw"
    wanted = ("train", "test") if split == "all" else (split,)
    images, labels, found = [], [], []
    for part in wanted:
        paths = [_find(raw, stem) for stem in _SPLIT_FILES[part]]
        if all(paths):
            images.append(_read_idx(paths[0]))
            labels.append(_read_idx(paths[1]))
            found.append(part)
    if not found:
        expected = ", ".join(f"{s}[.gz]" for part in wanted for s in _SPLIT_FILES[part])
        raise GanlibError(f"no {name} data in {raw} ({DATA_ENV}={root}); expected {expected}")
    imgs = torch.from_numpy(np.concatenate(images).copy())
    labs = torch.from_numpy(np.concatenate(labels).astype(np.int64))
    missing = [p for p in wanted if p not in found]
    source = f"offline root {root}" + (f" ({'+'.join(missing)} split not found there)" if missing else "")
    return ImageSet(name, imgs, labs, tuple(found), source)


def _load_online(name: str, root: Path, split: str) -> ImageSet:
    from torchvision import datasets  # imported here: only the online path needs torchvision

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    parts = ("train", "test") if split == "all" else (split,)
    try:
        sets = [cls(str(root), train=(p == "train"), download=True) for p in parts]
    except (RuntimeError, OSError) as exc:  # torchvision reports failed downloads as RuntimeError
        raise GanlibError(f"could not download {name} into {root} ({first_line(exc)}); without internet, set "
                          f"{DATA_ENV} to a folder holding {_FOLDERS[name]}/raw/*-ubyte[.gz]") from None
    imgs = torch.cat([s.data for s in sets])
    labs = torch.cat([s.targets for s in sets]).long()
    return ImageSet(name, imgs, labs, parts, f"torchvision download cache {root}")


def load_images(name: str, split: str = "all", root: str | Path | None = None,
                verbose: bool = True) -> ImageSet:
    """Load MNIST or Fashion-MNIST as uint8 tensors.

    ``root`` (or the environment variable ``GANLIB_DATA``) names an offline folder in torchvision's raw
    layout; whatever of the requested splits it holds is used, and the count is printed. Without one,
    torchvision downloads into ``default_cache()``.
    """
    check_choice("image dataset", name, IMAGE_DATASETS)
    check_choice("split", split, ("all", "train", "test"))
    root = root if root is not None else os.environ.get(DATA_ENV)
    if root:
        data = _load_offline(name, Path(root), split)
    else:
        data = _load_online(name, default_cache(), split)
    if verbose:
        print(f"ganlib data: {data.describe()}", file=sys.stderr)
    return data


def to_float(images_u8: Tensor) -> Tensor:
    """uint8 (N, 28, 28) or (N, 1, 28, 28) → float (N, 1, 28, 28) in [−1, 1]."""
    x = images_u8.float().div_(127.5).sub_(1.0)
    return x if x.dim() == 4 else x.unsqueeze(1)


def to_uint8(images: Tensor) -> Tensor:
    """float images in [−1, 1] → uint8 in {0, …, 255} (the inverse of ``to_float`` up to rounding)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class ImageSampler:
    """Holds a uint8 image set on ``device``; ``sample(B)`` draws B images uniformly with replacement."""

    kind = "image"

    def __init__(self, images_u8: Tensor, device: torch.device) -> None:
        self.images = images_u8.to(device)
        self.n = len(self.images)

    def sample(self, batch_size: int, generator: torch.Generator) -> Tensor:
        idx = torch.randint(0, self.n, (batch_size,), device=self.images.device, generator=generator)
        return to_float(self.images[idx])


@dataclass(frozen=True)
class ToyMixture:
    """An equal-weight mixture of isotropic Gaussians in the plane (the mode-collapse demos)."""

    name: str
    centres: Tensor  # (K, 2)
    std: float


def toy_mixture(name: str) -> ToyMixture:
    """``ring``: 8 Gaussians on a circle of radius 2; ``grid``: 5×5 at spacing 2; both std 0.05.

    Metz et al. (2017) use std 0.02 on the ring; we use 0.05 so that the course's short CPU budgets
    can resolve the modes. Mode coverage is judged at 3 std, so the criterion scales with it.
    """
    check_choice("toy dataset", name, TOY_DATASETS)
    if name == "ring":
        angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
        return ToyMixture(name, 2.0 * torch.stack([angles.cos(), angles.sin()], 1), 0.05)
    axis = torch.arange(-4.0, 5.0, 2.0)
    return ToyMixture(name, torch.cartesian_prod(axis, axis), 0.05)


class ToySampler:
    """Draws points from a ``ToyMixture`` on ``device``: a mode index, then Gaussian noise around it."""

    kind = "toy"

    def __init__(self, mixture: ToyMixture, device: torch.device) -> None:
        self.mixture = mixture
        self.centres = mixture.centres.to(device)

    def sample(self, batch_size: int, generator: torch.Generator) -> Tensor:
        dev = self.centres.device
        k = torch.randint(0, len(self.centres), (batch_size,), device=dev, generator=generator)
        noise = torch.randn((batch_size, 2), device=dev, generator=generator)
        return self.centres[k] + self.mixture.std * noise


def make_sampler(dataset: str, device: torch.device, root: str | Path | None = None,
                 verbose: bool = True) -> ImageSampler | ToySampler:
    """The training sampler for ``dataset`` (one of ``DATASETS``), resident on ``device``."""
    check_choice("dataset", dataset, DATASETS)
    if dataset in TOY_DATASETS:
        return ToySampler(toy_mixture(dataset), device)
    return ImageSampler(load_images(dataset, "all", root, verbose).images, device)
