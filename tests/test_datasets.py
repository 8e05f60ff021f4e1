"""The per-dataset spec: each dataset's kind and the defaults a run takes from it."""

from __future__ import annotations

import pytest

from ganlib.config import TrainConfig
from ganlib.datasets import DATASETS, IMAGE_DATASETS, SPECS, TOY_DATASETS, dataset_spec
from ganlib.errors import GanlibError
from ganlib.losses import TOY_LR_SCALE
from ganlib.models import ARCHS

# the values the runs have always used: (kind, arch, z_dim, n_snapshot, lr_scale)
EXPECTED = {
    "mnist": ("image", "dcgan", 64, 64, 1.0),
    "fashion-mnist": ("image", "dcgan", 64, 64, 1.0),
    "ring": ("toy", "toy", 16, 1000, TOY_LR_SCALE),
    "grid": ("toy", "toy", 16, 1000, TOY_LR_SCALE),
}


def test_the_lists_of_names_keep_their_order():
    assert DATASETS == ("mnist", "fashion-mnist", "ring", "grid")
    assert IMAGE_DATASETS == ("mnist", "fashion-mnist")
    assert TOY_DATASETS == ("ring", "grid")
    assert tuple(SPECS) == DATASETS


@pytest.mark.parametrize("name", DATASETS)
def test_each_spec_gives_the_values_the_runs_use(name):
    spec = dataset_spec(name)
    assert spec.name == name
    assert (spec.kind, spec.arch, spec.z_dim, spec.n_snapshot, spec.lr_scale) == EXPECTED[name]
    assert spec.arch in ARCHS
    assert (spec.is_image, spec.is_toy) == ((True, False) if spec.kind == "image" else (False, True))


@pytest.mark.parametrize("name", DATASETS)
def test_a_config_left_at_its_defaults_takes_them_from_the_spec(name):
    cfg = TrainConfig(dataset=name, loss="hinge")
    kind, arch, z_dim, n_snapshot, lr_scale = EXPECTED[name]
    assert cfg.spec is dataset_spec(name)
    assert (cfg.resolved_arch(), cfg.resolved_z_dim(), cfg.resolved_n_snapshot()) == (arch, z_dim, n_snapshot)
    assert cfg.recipe().lr == 2e-4 * lr_scale  # hinge's paper rate, on the dataset's scale
    assert TrainConfig(dataset=name, loss="hinge", lr=1e-3).recipe().lr == 1e-3  # a given rate is never scaled


def test_the_spec_cannot_be_changed():
    with pytest.raises(AttributeError):
        dataset_spec("ring").z_dim = 2  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["cifar", "MNIST", "", None])
def test_an_unknown_dataset_is_one_line_naming_the_choices(bad):
    with pytest.raises(GanlibError) as info:
        dataset_spec(bad)
    assert str(info.value) == f"unknown dataset {bad!r}; choose one of: mnist, fashion-mnist, ring, grid"
    assert "\n" not in str(info.value)
