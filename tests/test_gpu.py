"""Checks that need a CUDA device (skipped elsewhere): the training step never syncs with the host,
and a short run on the GPU trains and checkpoints like one on the CPU."""

from __future__ import annotations

import pytest
import torch

import ganlib
from ganlib.data import make_sampler
from ganlib.train import TrainConfig, TrainStep, new_run

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("loss", ganlib.LOSS_NAMES)
def test_training_step_has_no_host_device_sync(loss):
    cfg = TrainConfig(loss=loss, dataset="ring", steps=10, batch_size=32, device="cuda")
    result, opt, gen = new_run(cfg, torch.device("cuda"))
    step = TrainStep(result, opt, make_sampler("ring", torch.device("cuda")), gen)
    step()  # first call: lazy allocations (optimizer state) may sync once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@cuda
def test_short_cuda_run_resumes_exactly(tmp_path):
    cfg = dict(loss="wgan-gp", dataset="ring", batch_size=64, device="cuda", check_every=5)
    whole = ganlib.train(TrainConfig(steps=20, **cfg), tmp_path / "a", verbose=False)
    ganlib.train(TrainConfig(steps=10, **cfg), tmp_path / "b", verbose=False)
    resumed = ganlib.train(TrainConfig(steps=20, **cfg), tmp_path / "b", resume=True, verbose=False)
    for p, q in zip(whole.generator.parameters(), resumed.generator.parameters()):
        assert torch.allclose(p, q, atol=1e-5)  # cuDNN may pick other kernels: equal up to float error
