"""The training loop: clipping, seeds, resume, the NaN guard, checkpoints, device choice."""

from __future__ import annotations

import pytest
import torch

import ganlib
from ganlib import GanlibError, TrainConfig, TrainingDiverged, train
from ganlib.checkpoint import CHECKPOINT, load_checkpoint, load_run


def toy(**kw) -> TrainConfig:
    base = dict(loss="nonsaturating", dataset="ring", steps=30, batch_size=32, seed=0, device="cpu",
                check_every=7)
    return TrainConfig(**{**base, **kw})


def test_weight_clipping_keeps_every_critic_weight_in_range():
    result = train(toy(loss="wgan", steps=5), verbose=False)
    c = ganlib.get_loss("wgan").recipe.clip
    weights = torch.cat([p.flatten() for p in result.discriminator.parameters()])
    assert weights.abs().max().item() <= c
    assert (weights.abs() == c).float().mean() > 0.2  # PyTorch's init is far wider than c: many sit at ±c


def test_same_seed_same_run_and_other_seed_differs():
    a, b = train(toy(), verbose=False), train(toy(), verbose=False)
    c = train(toy(seed=1), verbose=False)
    assert a.history["d_loss"] == b.history["d_loss"] and a.history["g_loss"] == b.history["g_loss"]
    for p, q in zip(a.generator.parameters(), b.generator.parameters()):
        assert torch.equal(p, q)
    assert a.history["g_loss"] != c.history["g_loss"]


def test_history_has_every_step():
    r = train(toy(steps=12, snapshot_steps=(0, 6)), verbose=False)
    assert r.history["step"] == list(range(1, 13))
    assert all(len(v) == 12 for v in r.history.values())
    assert sorted(r.snapshots) == [0, 6, 12] and r.snapshots[12].shape == (1000, 2)
    assert r.history["time"] == sorted(r.history["time"])


@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])
def test_resume_equals_the_uninterrupted_run(tmp_path, loss):
    whole = train(toy(loss=loss, steps=20), tmp_path / "whole", verbose=False)
    train(toy(loss=loss, steps=9), tmp_path / "split", verbose=False)
    resumed = train(toy(loss=loss, steps=20), tmp_path / "split", resume=True, verbose=False)
    assert resumed.history["step"] == whole.history["step"]
    assert resumed.history["d_loss"] == whole.history["d_loss"]
    for p, q in zip(whole.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(p, q)
    for p, q in zip(whole.discriminator.parameters(), resumed.discriminator.parameters()):
        assert torch.equal(p, q)


def test_resume_on_images_with_batch_norm(tmp_path, data_root):
    cfg = dict(loss="lsgan", dataset="mnist", batch_size=8, device="cpu", check_every=3)
    whole = train(TrainConfig(steps=6, **cfg), tmp_path / "a", data_root=data_root, verbose=False)
    train(TrainConfig(steps=4, **cfg), tmp_path / "b", data_root=data_root, verbose=False)
    resumed = train(TrainConfig(steps=6, **cfg), tmp_path / "b", resume=True, data_root=data_root, verbose=False)
    for p, q in zip(whole.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(p, q)  # running batch-norm statistics included


def test_existing_run_is_never_overwritten(tmp_path):
    train(toy(steps=5), tmp_path, verbose=False)
    before = (tmp_path / CHECKPOINT).read_bytes()
    with pytest.raises(GanlibError, match="already exists; pass --resume"):
        train(toy(steps=5), tmp_path, verbose=False)
    assert (tmp_path / CHECKPOINT).read_bytes() == before


def test_resume_with_other_settings_names_them(tmp_path):
    train(toy(steps=5), tmp_path, verbose=False)
    with pytest.raises(GanlibError, match=r"other settings \(loss: 'nonsaturating' there vs 'hinge' now\)"):
        train(toy(loss="hinge", steps=10), tmp_path, resume=True, verbose=False)


def test_nan_guard_names_loss_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    def poison(result):  # at step 15, break the generator as a diverging update would
        if result.step == 15:
            with torch.no_grad():
                next(result.generator.parameters()).fill_(float("nan"))
        return {}

    cfg = toy(steps=30, snapshot_steps=(15,), checkpoint_every=10, check_every=5)
    with pytest.raises(TrainingDiverged) as info:
        train(cfg, tmp_path, evaluate=poison, verbose=False)
    msg = str(info.value)
    assert "'nonsaturating'" in msg and "step 16" in msg and "(step 10)" in msg
    kept = load_checkpoint(tmp_path / CHECKPOINT)
    assert kept["step"] == 10
    assert all(torch.isfinite(v).all() for v in kept["generator"].values() if v.is_floating_point())


def test_checkpoint_holds_everything_to_resume(tmp_path):
    train(toy(steps=6, snapshot_steps=(3,)), tmp_path, verbose=False)
    state = load_checkpoint(tmp_path / CHECKPOINT)
    assert {"generator", "discriminator", "opt_g", "opt_d", "rng", "step", "history", "config"} <= set(state)
    assert state["opt_d"]["state"]  # Adam moments are saved
    run = load_run(tmp_path)
    assert run.step == 6 and sorted(run.snapshots) == [3, 6]
    assert (tmp_path / "history.json").exists() and (tmp_path / "samples.png").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_device_is_an_error_not_a_fallback():
    with pytest.raises(GanlibError, match="device 'cuda' is not available"):
        train(toy(device="cuda"), verbose=False)


@pytest.mark.parametrize("kw, pattern", [
    (dict(loss="nope"), "unknown loss 'nope'"),
    (dict(dataset="cifar"), "unknown dataset"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(arch="dcgan"), "does not fit dataset"),
    (dict(d_norm="group"), "unknown discriminator norm"),
    (dict(snapshot_steps=(99,)), "snapshot_steps must lie in 0..30"),
    (dict(z_dim=0), "z_dim must be a positive integer"),
    (dict(n_critic=0), "n_critic must be a positive integer"),
    (dict(checkpoint_every=-1), "checkpoint_every must be 0"),
])
def test_bad_config_is_named(kw, pattern):
    with pytest.raises(GanlibError, match=pattern):
        train(toy(**kw), verbose=False)


def test_nonsaturating_covers_the_ring_in_seconds():
    from ganlib.metrics import toy_metrics

    result = train(toy(steps=1500, batch_size=256, check_every=100), verbose=False)  # ~5 s on one core
    m = toy_metrics(result.sample(2000), ganlib.toy_mixture("ring"))
    assert m["modes_covered"] >= 6, m


def test_toy_generator_output_is_bounded_and_near_identity_inside():
    from ganlib.models import ToyGenerator

    g = ToyGenerator(scale=3.0)
    with torch.no_grad():
        g.net[-1].bias.copy_(torch.tensor([100.0, 0.01]))
        g.net[-1].weight.zero_()
        out = g(torch.zeros(1, 16))
    assert out[0, 0].item() == pytest.approx(3.0, abs=1e-4)  # far away: clamped to the bound
    assert out[0, 1].item() == pytest.approx(0.01, rel=1e-4)  # near the data: unchanged
    assert toy().toy_scale() == 3.0 and toy(dataset="grid").toy_scale() == 6.0


def test_clipping_and_penalty_can_be_switched_off():
    free = train(toy(loss="wgan", steps=3, clip=0.0), verbose=False)
    weights = torch.cat([p.flatten() for p in free.discriminator.parameters()])
    assert weights.abs().max().item() > 0.05  # PyTorch's init, untouched by any clamp
    no_gp = train(toy(loss="wgan-gp", steps=3, gp_lambda=0.0), verbose=False)
    assert no_gp.history["gp"] == [0.0, 0.0, 0.0]
    with pytest.raises(GanlibError, match="clip must be non-negative"):
        toy(loss="wgan", clip=-1.0)
