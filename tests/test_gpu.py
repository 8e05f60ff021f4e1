"""Checks that need a CUDA device (skipped elsewhere): the training step never syncs with the host, the
CUDA graph trains like the eager step, and a run on the GPU checkpoints and resumes exactly."""

from __future__ import annotations

import copy
import os
from pathlib import Path

# cuBLAS picks reproducible kernels only with a fixed workspace, set before its first use in this process
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import pytest  # noqa: E402
import torch  # noqa: E402

import ganlib
from ganlib import checkpoint as ckpt
from ganlib.checkpoint import restore, save_run
from ganlib.config import TrainConfig
from ganlib.data import make_sampler
from ganlib.protocols import Experiment
from ganlib.step import TrainStep, new_run

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
GPU = torch.device("cuda") if torch.cuda.is_available() else None


@pytest.fixture
def same_kernels_every_run(monkeypatch):
    """Eager and graph runs are compared to float tolerance after several Adam steps, which turn rounding
    noise into steps of the learning rate's size (a bias before batch norm gets gradients of pure rounding):
    both must run the same kernels, so cuDNN may not choose its algorithm per run."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, where torch has no such kernel
    yield
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def gpu_step(loss: str, dataset: str = "ring", graph: bool = False, root=None,
             state: dict | None = None, protocol: str = "paper") -> tuple[TrainStep, object]:
    """A fresh step on the GPU, or one that continues a checkpoint's ``state`` (as ``train`` resumes), with
    the loss's paper recipe or the controlled protocol's settings."""
    overrides = Experiment(protocol, dataset).overrides()
    cfg = TrainConfig(loss=loss, dataset=dataset, batch_size=32, device="cuda", cuda_graph=graph, **overrides)
    result, opt, gen = new_run(cfg, GPU)
    if state is not None:
        restore(state, Path(ckpt.CHECKPOINT), result, opt, gen)
    return TrainStep(result, opt, make_sampler(dataset, GPU, root, verbose=False), gen), result


@cuda
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "graph"])
@pytest.mark.parametrize("dataset", ["ring", "mnist"])
@pytest.mark.parametrize("loss", ganlib.LOSS_NAMES)
def test_training_step_has_no_host_device_sync(loss, dataset, graph, request):
    root = request.getfixturevalue("data_root") if dataset == "mnist" else None
    step, _ = gpu_step(loss, dataset, graph, root)
    for _ in range(TrainStep.WARMUP + 1):  # lazy allocations, optimiser state and the capture may sync
        step()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def _trained(loss: str, dataset: str, root, graph: bool, state: dict, k: int,
             protocol: str) -> tuple[torch.Tensor, object, torch.Generator]:
    """k steps from a checkpoint's state, eagerly or through the graph; the losses of every step."""
    step, result = gpu_step(loss, dataset, graph, root, state, protocol)
    losses = torch.stack([step().clone() for _ in range(k)])  # a replay's output is static: copy it
    return losses, result, step.gen


def _graph_trains_like_eager(loss: str, dataset: str, root, tmp_path: Path, protocol: str = "paper") -> None:
    step, result = gpu_step(loss, dataset, root=root, protocol=protocol)
    for _ in range(3):  # optimiser state exists, as in any checkpoint after step 0
        step()
    save_run(result, step.opt, step.gen, tmp_path)  # a checkpoint written by an eager run
    state = ckpt.load_checkpoint(tmp_path / ckpt.CHECKPOINT)
    k = TrainStep.WARMUP + 5  # warm-up, capture, then replays
    # each run restores its own copy: an optimiser keeps a CPU tensor of the checkpoint (RMSprop's step count)
    # as it is, and the run's steps would change it in place for the next
    eager_losses, eager, eager_gen = _trained(loss, dataset, root, False, copy.deepcopy(state), k, protocol)
    graph_losses, graphed, graph_gen = _trained(loss, dataset, root, True, copy.deepcopy(state), k, protocol)
    assert torch.equal(eager_gen.get_state(), graph_gen.get_state())  # the replays drew as much as eager did
    torch.testing.assert_close(graph_losses, eager_losses, rtol=1e-3, atol=1e-4)
    for a, b in ((eager.generator, graphed.generator), (eager.discriminator, graphed.discriminator)):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            torch.testing.assert_close(q, p, rtol=1e-3, atol=1e-4, msg=lambda m, name=name: f"{loss} {name}: {m}")


@cuda
@pytest.mark.usefixtures("same_kernels_every_run")
@pytest.mark.parametrize("dataset", ["ring", "mnist"])
@pytest.mark.parametrize("loss", ganlib.LOSS_NAMES)
def test_graph_trains_like_eager_from_the_same_checkpoint(loss, dataset, tmp_path, request):
    root = request.getfixturevalue("data_root") if dataset == "mnist" else None
    _graph_trains_like_eager(loss, dataset, root, tmp_path)


@cuda
@pytest.mark.usefixtures("same_kernels_every_run")
@pytest.mark.parametrize("loss", ["wgan", "wgan-gp"])
def test_graph_trains_like_eager_under_the_controlled_protocol(loss, tmp_path, data_root):
    """Adam for WGAN's clipped critic, layer norm and one critic step: the recipes compare trains besides
    the papers'."""
    _graph_trains_like_eager(loss, "mnist", data_root, tmp_path, "controlled")


@cuda
@pytest.mark.usefixtures("same_kernels_every_run")
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "graph"])
def test_short_cuda_run_resumes_exactly(tmp_path, graph):
    cfg = dict(loss="wgan-gp", dataset="ring", batch_size=64, device="cuda", check_every=5, cuda_graph=graph)
    whole = ganlib.train(TrainConfig(steps=20, **cfg), tmp_path / "a", verbose=False)
    ganlib.train(TrainConfig(steps=10, **cfg), tmp_path / "b", verbose=False)
    resumed = ganlib.train(TrainConfig(steps=20, **cfg), tmp_path / "b", resume=True, verbose=False)
    torch.testing.assert_close(torch.tensor(resumed.history["d_loss"]), torch.tensor(whole.history["d_loss"]),
                               rtol=1e-3, atol=1e-4)  # the random stream continues where it stopped
    for p, q in zip(whole.generator.parameters(), resumed.generator.parameters()):
        assert torch.allclose(p, q, atol=1e-5)  # cuDNN may pick other kernels: equal up to float error


@cuda
@pytest.mark.usefixtures("same_kernels_every_run")
@pytest.mark.parametrize("aid", [dict(r1_gamma=1.0), dict(ema=0.9), dict(d_lr=3e-3)], ids=["r1", "ema", "d_lr"])
def test_the_aids_besides_the_loss_train_in_the_graph_as_eagerly(aid):
    """R1 runs inside the captured step (the same double backward as WGAN-GP's penalty), the weight average
    is updated after each replay, d_lr is the critic optimiser's rate: graph and eager runs agree."""
    cfg = dict(loss="hinge", dataset="ring", batch_size=64, device="cuda", steps=12, check_every=4, **aid)
    eager = ganlib.train(TrainConfig(**cfg), verbose=False, progress=False)
    graphed = ganlib.train(TrainConfig(**cfg, cuda_graph=True), verbose=False, progress=False)
    torch.testing.assert_close(torch.tensor(graphed.history["d_loss"]), torch.tensor(eager.history["d_loss"]),
                               rtol=1e-3, atol=1e-4)
    nets = [(eager.generator, graphed.generator)] + [(eager.generator_ema, graphed.generator_ema)] * ("ema" in aid)
    for a, b in nets:
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            torch.testing.assert_close(q, p, rtol=1e-3, atol=1e-4)
