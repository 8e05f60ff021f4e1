"""Data: MNIST and Fashion-MNIST (online through torchvision, or offline from ``GANLIB_DATA``), 2-D toys.

Images live on the training device as uint8 and batches are drawn there, scaled to [−1, 1]:
x = u / 127.5 − 1 for a pixel value u in {0, …, 255}. No DataLoader, no host round trip per step.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .datasets import IMAGE_DATASETS, TOY_DATASETS, dataset_spec
from .errors import GanlibError, check_choice, first_line
from .language import tr

DATA_ENV = "GANLIB_DATA"

_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_SPLIT_SIZES = {"train": 60_000, "test": 10_000}  # the same for MNIST and Fashion-MNIST
# IDX: magic = 0, 0, type code (0x08: unsigned bytes), number of dimensions; then each dimension as a
# big-endian uint32; then the payload. Labels are 1-D, images 3-D of 28 × 28.
_IDX_NDIM = {"labels": 1, "images": 3}
# the data descriptions this process has printed (dataset, splits, missing splits, offline): each once
ANNOUNCED: set[tuple[str, tuple[str, ...], tuple[str, ...], bool]] = set()
# One rule for both image datasets: GANs and the FCD classifier train on the official train split (the
# classifier holds part of it out for its own validation), and the FCD reference is the whole official
# test split, which no network of the project trains on.
REFERENCES: dict[str, str] = {
    "mnist": "mnist-test",
    "fashion-mnist": "fashion-mnist-test",
}


@dataclass
class ImageSet:
    """uint8 images (N, 28, 28), int64 labels (N,), and where they came from."""

    name: str
    images: Tensor
    labels: Tensor
    splits: tuple[str, ...]
    source: str  # where from, with the folder: a cache key and a record, not for messages
    missing: tuple[str, ...] = ()  # requested splits the offline folder does not hold
    offline: bool = True

    @property
    def kind(self) -> str:
        """Where the images came from, without the machine's path (for records)."""
        return f"offline root ({DATA_ENV})" if self.offline else "torchvision download"

    def describe(self) -> str:
        """One line without any machine path: dataset, image count, splits, and what was asked for but
        not there or left out (printed, so that less data than asked is never used silently)."""
        where = tr("offline data") if self.offline else tr("downloaded by torchvision")
        absent = "".join(tr("; the {n:,}-image {split} split is not there", n=_SPLIT_SIZES[m], split=split_name(m))
                         for m in self.missing)
        line = (tr("{title}: {n:,} images, {splits} splits ({where})") if len(self.splits) > 1
                else tr("{title}: {n:,} images, {splits} split ({where})"))
        return line.format(title=TITLES[self.name], n=len(self.images),
                           splits="+".join(split_name(s) for s in self.splits), where=where + absent)


def split_name(split: str) -> str:
    """A split's name as printed: torchvision's own name ("train", "test") in English, a word in Chinese."""
    check_choice("split", split, tuple(_SPLIT_SIZES))
    return tr("train") if split == "train" else tr("test")


def default_cache() -> Path:
    """Where torchvision downloads go when no offline root is set."""
    return Path(os.environ.get("GANLIB_CACHE", Path.home() / ".cache" / "ganlib"))


def _read_idx(path: Path, kind: str, root: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of ``kind`` "labels" or "images", checking its magic
    number, dimensions and payload size; any damage is a one-line error naming the file and GANLIB_DATA."""
    def damaged(what: str) -> GanlibError:
        return GanlibError(f"damaged data file {path}: {what}; replace it (the offline data folder is "
                           f"{DATA_ENV}={root})")

    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # truncated or corrupt compressed stream
        raise damaged(f"the gzip stream is truncated or corrupt ({first_line(exc)})") from None
    except OSError as exc:
        raise GanlibError(f"cannot read data file {path} ({first_line(exc)}); check {DATA_ENV}={root}") from None
    ndim = _IDX_NDIM[kind]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise damaged(f"{len(raw)} bytes, shorter than an IDX header of {kind} ({head} bytes)")
    if raw[:4] != bytes((0, 0, 8, ndim)):
        magic = int.from_bytes(raw[:4], "big")
        raise damaged(f"not an IDX file of {kind} (magic {magic}, expected {2048 + ndim})")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if kind == "images" and dims[1:] != [28, 28]:
        raise damaged(f"images of {dims[1]}×{dims[2]} pixels, expected 28×28")
    size = math.prod(dims)
    if len(raw) - head != size:
        shape = "×".join(f"{d:,}" for d in dims)
        raise damaged(f"{'truncated' if len(raw) - head < size else 'too long'}: its header says {shape} = "
                      f"{size:,} bytes of {kind}, it holds {len(raw) - head:,}")
    array = np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims)
    if kind == "labels" and size and array.max() > 9:
        raise damaged(f"a label of {array.max()}, expected 0..9")
    return array


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
            part_images, part_labels = _read_idx(paths[0], "images", root), _read_idx(paths[1], "labels", root)
            if len(part_images) != len(part_labels):
                raise GanlibError(f"damaged data: {paths[0]} holds {len(part_images):,} images but {paths[1]} "
                                  f"{len(part_labels):,} labels; replace them (the offline data folder is "
                                  f"{DATA_ENV}={root})")
            images.append(part_images)
            labels.append(part_labels)
            found.append(part)
    if not found:
        expected = ", ".join(f"{s}[.gz]" for part in wanted for s in _SPLIT_FILES[part])
        raise GanlibError(f"no {name} data in {raw} ({DATA_ENV}={root}); expected {expected}")
    imgs = torch.from_numpy(np.concatenate(images).copy())
    labs = torch.from_numpy(np.concatenate(labels).astype(np.int64))
    missing = [p for p in wanted if p not in found]
    source = f"offline root {root}" + (f" ({'+'.join(missing)} split not found there)" if missing else "")
    return ImageSet(name, imgs, labs, tuple(found), source, tuple(missing))


def _load_online(name: str, root: Path, split: str) -> ImageSet:
    from torchvision import datasets  # imported here: only the online path needs torchvision

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    parts = ("train", "test") if split == "all" else (split,)
    try:
        sets = [cls(str(root), train=(p == "train"), download=True) for p in parts]
    except (RuntimeError, OSError) as exc:  # torchvision reports failed downloads as RuntimeError
        raise GanlibError(f"could not download {name} into {root} ({first_line(exc)}); without internet, set "
                          f"{DATA_ENV} to a folder holding {_FOLDERS[name]}/raw/*-ubyte[.gz]") from None
    except (ValueError, EOFError, IndexError) as exc:  # torchvision read a damaged file of its cache
        raise GanlibError(f"damaged {name} file in the download cache {root / _FOLDERS[name]} ({first_line(exc)}); "
                          f"delete that folder to download it again, or set {DATA_ENV}") from None
    imgs = torch.cat([s.data for s in sets])
    labs = torch.cat([s.targets for s in sets]).long()
    return ImageSet(name, imgs, labs, parts, f"torchvision download cache {root}", offline=False)


def load_images(name: str, split: str = "all", root: str | Path | None = None,
                verbose: bool = True) -> ImageSet:
    """Load MNIST or Fashion-MNIST as uint8 tensors.

    ``root`` (or the environment variable ``GANLIB_DATA``) names an offline folder in torchvision's raw
    layout; whatever of the requested splits it holds is used, and what was loaded (with any split that
    was asked for but is not there) is printed on stdout once per process, dataset and splits. Without
    one, torchvision downloads into ``default_cache()``.
    """
    check_choice("image dataset", name, IMAGE_DATASETS)
    check_choice("split", split, ("all", "train", "test"))
    root = root if root is not None else os.environ.get(DATA_ENV)
    if root:
        data = _load_offline(name, Path(root), split)
    else:
        data = _load_online(name, default_cache(), split)
    _announce(data, verbose)
    return data


def _announce(data: ImageSet, verbose: bool) -> None:
    key = (data.name, data.splits, data.missing, data.offline)
    if verbose and key not in ANNOUNCED:
        ANNOUNCED.add(key)
        print(data.describe())


def gan_training_images(name: str, root: str | Path | None = None, verbose: bool = True) -> ImageSet:
    """The images a GAN trains on: the official train split of ``name`` (60,000 images). Its test split is
    the FCD reference (``REFERENCES``), so the FCD never scores a GAN against images it has seen. A missing
    train split is an error that names the files, never a silent fallback to other images."""
    return load_images(name, "train", root, verbose)


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
    """The training sampler for ``dataset`` (one of ``datasets.DATASETS``), resident on ``device``."""
    if dataset_spec(dataset).is_toy:
        return ToySampler(toy_mixture(dataset), device)
    return ImageSampler(gan_training_images(dataset, root, verbose).images, device)
