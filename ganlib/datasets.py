"""The course's datasets and what each one settles for a run: ``DatasetSpec``, looked up by ``dataset_spec``.

A dataset is either a set of 28×28 greyscale images (MNIST, Fashion-MNIST) or a 2-D toy mixture (the ring and
the grid). That kind decides the networks, the noise dimension, the learning-rate scale, how many fixed-noise
samples a snapshot keeps and which metrics judge a run; every module asks the spec instead of deciding itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import check_choice
from .losses import TOY_LR_SCALE

__all__ = ["DatasetSpec", "SPECS", "DATASETS", "IMAGE_DATASETS", "TOY_DATASETS", "dataset_spec"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset's name decides, beyond its samples (the defaults a ``TrainConfig`` field left at
    ``None`` takes on it)."""

    name: str  # as the command line, the configs and the results name it
    # "image": 28×28 greyscale images in [-1, 1], judged by the classifier's FCD and class coverage;
    # "toy": points in the plane, judged by modes covered and the share of high-quality points
    kind: str
    arch: str  # the default networks (``models.ARCHS``): "dcgan" for images, "toy" MLPs for the points
    z_dim: int  # the default dimension of the generator's noise
    n_snapshot: int  # fixed-noise samples each snapshot keeps by default: an 8×8 grid, or a cloud of points
    lr_scale: float  # factor on the recipe's learning rate (the toys train for fewer steps: ``TOY_LR_SCALE``)

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    @property
    def is_toy(self) -> bool:
        return self.kind == "toy"


def _image(name: str) -> DatasetSpec:
    return DatasetSpec(name, "image", arch="dcgan", z_dim=64, n_snapshot=64, lr_scale=1.0)


def _toy(name: str) -> DatasetSpec:
    return DatasetSpec(name, "toy", arch="toy", z_dim=16, n_snapshot=1000, lr_scale=TOY_LR_SCALE)


# the order of the names is the order of every list of choices (messages, --help, check_choice)
SPECS: dict[str, DatasetSpec] = {s.name: s for s in (_image("mnist"), _image("fashion-mnist"), _toy("ring"),
                                                      _toy("grid"))}
DATASETS: tuple[str, ...] = tuple(SPECS)
IMAGE_DATASETS: tuple[str, ...] = tuple(name for name, s in SPECS.items() if s.is_image)
TOY_DATASETS: tuple[str, ...] = tuple(name for name, s in SPECS.items() if s.is_toy)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name``; an unknown name is a one-line ``GanlibError`` naming the datasets."""
    return SPECS[check_choice("dataset", name, DATASETS)]
