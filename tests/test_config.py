"""TrainConfig is checked whole when it is built: every field's bad value is a one-line GanlibError that
names the field and what it accepts; good values are normalised; the config is frozen and round-trips
through its dict (old checkpoints store it as a dict, betas as a list)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ganlib import GanlibError, TrainConfig, train
from ganlib.models import NORMS


def toy(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(loss="hinge", dataset="ring", steps=6, batch_size=16, device="cpu"), **kw})


BAD = [  # (field, bad value, words the message must hold)
    ("loss", "nope", "unknown loss 'nope'; choose one of: minimax"),
    ("dataset", "cifar", "unknown dataset 'cifar'; choose one of:"),
    ("steps", 0, "steps must be a positive integer"),
    ("steps", 2.5, "steps must be a positive integer"),
    ("steps", "10", "steps must be a positive integer"),
    ("steps", True, "steps must be a positive integer"),
    ("batch_size", -3, "batch_size must be a positive integer"),
    ("batch_size", 64.0, "batch_size must be a positive integer"),
    ("seed", -1, "seed must be an integer in 0..2^63-1"),
    ("seed", 2**63, "seed must be an integer in 0..2^63-1"),
    ("seed", 1.5, "seed must be an integer in 0..2^63-1"),
    ("device", "gpu", "unknown device 'gpu'; choose one of: auto, cpu, cuda, mps, cuda:N"),
    ("device", "cuda:", "unknown device 'cuda:'"),
    ("device", "cuda:-1", "unknown device 'cuda:-1'"),
    ("device", None, "unknown device None"),
    ("arch", "resnet", "unknown architecture (arch) 'resnet'; choose one of: dcgan, toy"),
    ("arch", "dcgan", "architecture 'dcgan' does not fit dataset 'ring'"),
    ("z_dim", 0, "z_dim must be a positive integer"),
    ("optimizer", "sgd", "unknown optimizer 'sgd'; choose one of: adam, rmsprop"),
    ("lr", -1, "lr must be a positive number"),
    ("lr", 0, "lr must be a positive number"),
    ("lr", math.inf, "lr must be a positive number"),
    ("lr", "1e-3", "lr must be a positive number"),
    ("betas", (0.5, 1.0), "betas must be a pair of numbers in [0, 1)"),
    ("betas", (-0.1, 0.9), "betas must be a pair of numbers in [0, 1)"),
    ("betas", (0.5,), "betas must be a pair of numbers in [0, 1)"),
    ("betas", "ab", "betas must be a pair of numbers in [0, 1)"),
    ("betas", (0.5, True), "betas must be a pair of numbers in [0, 1)"),
    ("n_critic", 0, "n_critic must be a positive integer"),
    ("clip", -0.01, "clip must be non-negative (0 switches WGAN's weight clipping off)"),
    ("clip", math.nan, "clip must be non-negative"),
    ("gp_lambda", -10, "gp_lambda must be non-negative (0 switches WGAN-GP's gradient penalty off)"),
    ("d_norm", "group", "unknown discriminator norm (d_norm) 'group'; choose one of: batch, layer, spectral, none"),
    ("snapshot_steps", (99,), "snapshot_steps must lie in 0..6"),
    ("snapshot_steps", (-1,), "snapshot_steps must lie in 0..6"),
    ("snapshot_steps", (2.5,), "snapshot_steps must lie in 0..6 (integer steps)"),
    ("snapshot_steps", "3", "snapshot_steps must lie in 0..6 (integer steps)"),
    ("snapshot_steps", 3, "snapshot_steps must lie in 0..6 (integer steps)"),
    ("n_snapshot", 0, "n_snapshot must be a positive integer"),
    ("check_every", 0, "check_every must be a positive integer"),
    ("checkpoint_every", -1, "checkpoint_every must be 0 (a checkpoint at the end only) or a positive integer"),
    ("cuda_graph", 1, "cuda_graph must be True or False"),
    ("cuda_graph", "yes", "cuda_graph must be True or False"),
]


@pytest.mark.parametrize("name, value, words", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_field_is_one_line_naming_it(name, value, words):
    with pytest.raises(GanlibError) as info:
        toy(**{name: value})
    message = str(info.value)
    assert words in message and "\n" not in message, message
    assert name in message, message  # "arch" in "architecture"


def test_a_negative_learning_rate_does_not_speak_of_clipping():
    with pytest.raises(GanlibError) as info:
        toy(lr=-1)
    assert "clip" not in str(info.value) and "penalty" not in str(info.value)


def test_cuda_graph_needs_a_cuda_device():
    for device in ("cpu", "mps"):
        with pytest.raises(GanlibError, match=f"cuda_graph needs a CUDA device, but the device is '{device}'"):
            toy(device=device, cuda_graph=True)
    assert toy(device="cuda:1", cuda_graph=True).device == "cuda:1"  # checked against the machine only at training


GOOD = [  # (field, value given, value kept)
    ("device", "cuda:0", "cuda:0"),
    ("device", "cuda:12", "cuda:12"),
    ("device", "auto", "auto"),
    ("steps", np.int64(7), 7),
    ("lr", 1, 1.0),
    ("lr", np.float32(0.5), 0.5),
    ("betas", [0.5, 0.999], (0.5, 0.999)),
    ("betas", (0, 0.9), (0.0, 0.9)),
    ("clip", 0, 0.0),
    ("gp_lambda", 0.0, 0.0),
    ("snapshot_steps", [6, 0, 3, 3], (0, 3, 6)),
    ("snapshot_steps", range(0, 7, 3), (0, 3, 6)),
    ("checkpoint_every", 0, 0),
    ("seed", 2**63 - 1, 2**63 - 1),
]


@pytest.mark.parametrize("name, value, kept", GOOD, ids=[f"{n}={v!r}" for n, v, _ in GOOD])
def test_good_values_are_kept_normalised(name, value, kept):
    got = getattr(toy(**{name: value}), name)
    assert got == kept and type(got) is type(kept), (got, kept)


@pytest.mark.parametrize("norm", NORMS)
def test_every_norm_of_the_models_is_accepted(norm):
    assert toy(d_norm=norm).recipe().d_norm == norm


def test_the_config_is_frozen_and_replace_checks_again():
    cfg = toy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 10  # type: ignore[misc]
    assert dataclasses.replace(cfg, steps=10).steps == 10
    with pytest.raises(GanlibError, match="steps must be a positive integer"):
        dataclasses.replace(cfg, steps=0)


def test_the_dict_round_trips_and_old_dicts_still_load():
    cfg = toy(lr=2e-4, betas=(0.5, 0.9), snapshot_steps=(0, 3), d_norm="spectral", device="cuda:0")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    old = {"loss": "wgan-gp", "dataset": "mnist", "steps": 500, "batch_size": 64, "seed": 0, "betas": [0.0, 0.9],
           "snapshot_steps": [0, 250, 500], "retired_field": 1}  # as a checkpoint of an older ganlib stores it
    loaded = TrainConfig.from_dict(old)
    assert loaded.betas == (0.0, 0.9) and loaded.snapshot_steps == (0, 250, 500) and loaded.check_every == 50


def test_an_evaluate_that_returns_no_dict_is_one_line(tmp_path):
    with pytest.raises(GanlibError) as info:
        train(toy(snapshot_steps=(3,)), tmp_path / "run", evaluate=lambda run: 0.5, verbose=False, progress=False)
    message = str(info.value)
    assert message.startswith("evaluate must return a dict of values, got float at step 3") and "\n" not in message
    with pytest.raises(GanlibError, match="evaluate must be a function of the run that returns a dict"):
        train(toy(), evaluate={"fcd": 1.0}, verbose=False, progress=False)  # type: ignore[arg-type]
