"""One training loop for all six losses.

Per generator step: ``n_critic`` critic steps (each on a fresh real batch and fresh noise, then
weight clipping for ``wgan``), then one generator step on fresh noise. Everything random is drawn on
the training device from one ``torch.Generator``, so a checkpoint that stores its state resumes the
exact same run. Losses are written into a device buffer and read back only every ``check_every``
steps (one host-device sync), where the NaN/Inf guard runs; the hot loop never calls ``.item()``.
"""

from __future__ import annotations

import math
import numbers
import re
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import checkpoint as ckpt
from .data import DATASETS, TOY_DATASETS, make_sampler, to_uint8, toy_mixture
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted, check_choice, first_line
from .files import lock_folder, os_reason, remove_leftovers, save_json
from .images import save_samples
from .losses import LOSS_NAMES, GANLoss, Recipe, get_loss, gradient_penalty
from .models import ARCHS, NORMS, build_models

# the device names TrainConfig takes; "cuda:N" (the N-th CUDA device) is valid too
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
_CUDA_INDEX = re.compile(r"cuda:(0|[1-9][0-9]*)")
OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop")
# d_loss is what the critic minimised, λ·GP included for wgan-gp; gp is the penalty alone (0 elsewhere)
HISTORY_KEYS: tuple[str, ...] = ("step", "d_loss", "g_loss", "gp", "time")
# The paper recipes' learning rates are tuned for images and tens of thousands of steps; the 2-D toys
# get a few thousand, so their default rate is this many times the recipe's (an explicit lr wins).
TOY_LR_SCALE = 5.0
SEED_LIMIT = 2**63  # torch.manual_seed takes seeds in [0, 2^63)
# With an output folder, a checkpoint is written at the start, every this many seconds of wall-clock time
# and at the end (``checkpoint_every`` adds checkpoints every N steps): a SIGKILL costs at most ~a minute.
CHECKPOINT_SECONDS = 60.0
# Divergence that stays finite: |L_D|, |L_G| or the penalty past LOSS_LIMIT, or a weight or batch-norm
# statistic past WEIGHT_LIMIT, stops a run like NaN does. Healthy runs stay orders of magnitude below:
# the BCE-type and hinge losses grow like |logit| and least squares like logit², and a critic with O(1)
# logits is what each recipe keeps (WGAN by clipping, WGAN-GP by its unit-gradient penalty, the others
# by the sigmoid's saturation); Adam and RMSprop move a weight by about lr per step. Measured
# (docs/maintainers.md, "Faults and bad input"): at most |loss| 4.3 and |weight| 2.2 over 2,000 ring steps of
# all six losses, and tests/test_faults.py keeps every loss's short run 1,000x below both limits. Diverged
# runs that ended without an error, before these limits existed, had losses of 1e9-1e15.
LOSS_LIMIT = 1e6
WEIGHT_LIMIT = 1e6


_POSITIVE = "a positive integer (1, 2, 3, ...)"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. ``None`` recipe fields take the loss's paper recipe.

    Frozen and checked whole when built (``dataclasses.replace`` builds a new one, checked again): a value
    outside its range is a one-line ``GanlibError`` naming the field and what it accepts. Integers are
    stored as ``int``, numbers as ``float``, ``betas`` and ``snapshot_steps`` as tuples.
    """

    loss: str = "nonsaturating"
    dataset: str = "mnist"
    steps: int = 500  # generator steps
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    arch: str | None = None  # "dcgan" for images, "toy" for ring/grid
    z_dim: int | None = None  # 64 for images, 16 for the toys
    optimizer: str | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    clip: float | None = None  # 0 switches WGAN's clipping off
    gp_lambda: float | None = None  # 0 switches WGAN-GP's penalty off
    d_norm: str | None = None
    snapshot_steps: tuple[int, ...] = ()  # fixed-noise samples kept here; the last step always
    n_snapshot: int | None = None  # 64 images, 1000 toy points
    check_every: int = 50  # steps between host syncs (NaN guard, progress display)
    checkpoint_every: int = 0  # 0: a checkpoint at the end only
    # the whole step as one CUDA graph (CUDA only). Off by default until the graph has been checked against
    # eager steps on a GPU (tests/test_gpu.py, run by benchmarks/gpu_check.sh); then the default becomes True.
    cuda_graph: bool = False

    def __post_init__(self) -> None:
        for name, value in self._checked_fields().items():
            object.__setattr__(self, name, value)  # frozen: the checked, normalised value replaces the given one
        object.__setattr__(self, "snapshot_steps", _snapshot_steps(self.snapshot_steps, self.steps))
        if self.arch is not None and (self.arch == "toy") != self.is_toy:
            raise GanlibError(f"architecture {self.arch!r} does not fit dataset {self.dataset!r}; "
                              f"use 'toy' for {', '.join(TOY_DATASETS)} and 'dcgan' or 'mlp' for images")
        if self.cuda_graph and self.device in ("cpu", "mps"):
            raise GanlibError(no_graph_message(self.device))

    def _checked_fields(self) -> dict[str, object]:
        """Each field but ``snapshot_steps`` checked on its own, normalised."""
        return {
            "loss": check_choice("loss", self.loss, LOSS_NAMES),
            "dataset": check_choice("dataset", self.dataset, DATASETS),
            "steps": _integer("steps", self.steps, 1, _POSITIVE),
            "batch_size": _integer("batch_size", self.batch_size, 1, _POSITIVE),
            "seed": _integer("seed", self.seed, 0, "an integer in 0..2^63-1", SEED_LIMIT - 1),
            "device": check_device(self.device),
            "arch": _optional(self.arch, lambda v: check_choice("architecture (arch)", v, ARCHS)),
            "z_dim": _optional(self.z_dim, lambda v: _integer("z_dim", v, 1, _POSITIVE)),
            "optimizer": _optional(self.optimizer, lambda v: check_choice("optimizer", v, OPTIMIZERS)),
            "lr": _optional(self.lr, lambda v: _number("lr", v, "a positive number (None: the loss's recipe)",
                                                           positive=True)),
            "betas": _optional(self.betas, _betas),
            "n_critic": _optional(self.n_critic, lambda v: _integer("n_critic", v, 1, _POSITIVE)),
            "clip": _optional(self.clip, lambda v: _number(
                "clip", v, "non-negative (0 switches WGAN's weight clipping off)")),
            "gp_lambda": _optional(self.gp_lambda, lambda v: _number(
                "gp_lambda", v, "non-negative (0 switches WGAN-GP's gradient penalty off)")),
            "d_norm": _optional(self.d_norm, lambda v: check_choice("discriminator norm (d_norm)", v, NORMS)),
            "n_snapshot": _optional(self.n_snapshot, lambda v: _integer("n_snapshot", v, 1, _POSITIVE)),
            "check_every": _integer("check_every", self.check_every, 1, _POSITIVE),
            "checkpoint_every": _integer("checkpoint_every", self.checkpoint_every, 0,
                                         "0 (a checkpoint at the end only) or a positive integer"),
            "cuda_graph": _flag("cuda_graph", self.cuda_graph),
        }

    @property
    def is_toy(self) -> bool:
        return self.dataset in TOY_DATASETS

    @property
    def loss_fn(self) -> GANLoss:
        return get_loss(self.loss)

    def recipe(self) -> Recipe:
        """The loss's paper recipe with this config's overrides applied."""
        keys = [f.name for f in fields(Recipe)]
        recipe = self.loss_fn.recipe.with_overrides(**{k: getattr(self, k) for k in keys})
        if self.is_toy and self.lr is None:
            recipe = recipe.with_overrides(lr=recipe.lr * TOY_LR_SCALE)
        return recipe

    def resolved_arch(self) -> str:
        return self.arch or ("toy" if self.is_toy else "dcgan")

    def resolved_z_dim(self) -> int:
        return self.z_dim or (16 if self.is_toy else 64)

    def toy_scale(self) -> float:
        """The toy generator's output bound: 1.5 × the largest centre coordinate (3 for the ring, 6 for the grid)."""
        return 1.5 * float(toy_mixture(self.dataset).centres.abs().max()) if self.is_toy else 0.0

    def resolved_n_snapshot(self) -> int:
        return self.n_snapshot or (1000 if self.is_toy else 64)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The config a ``to_dict`` (or a checkpoint's, or history.json's) dict describes: lists become
        tuples, fields this ganlib does not know are left out, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})


def _is_real(value: object) -> bool:
    """A real number that is not a bool (``True`` is an int to Python, never a setting here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _optional(value: object, check: Callable[[object], object]) -> object:
    """``None`` (the recipe's or the default's value), or ``value`` checked."""
    return None if value is None else check(value)


def _integer(name: str, value: object, low: int, valid: str, high: int | None = None) -> int:
    """``value`` as an int if it is an integer in low..high (no bool, float or string), else a one-line error."""
    if (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high)):
        return int(value)
    raise GanlibError(f"{name} must be {valid}, got {value!r}")


def _number(name: str, value: object, valid: str, positive: bool = False) -> float:
    """``value`` as a float if it is a finite real number ≥ 0 (> 0 if ``positive``), else a one-line error."""
    if _is_real(value) and math.isfinite(value) and (value > 0 if positive else value >= 0):
        return float(value)
    raise GanlibError(f"{name} must be {valid}, got {value!r}")


def _flag(name: str, value: object) -> bool:
    """A switch: ``True`` or ``False`` only (not 1, 0 or a string)."""
    if isinstance(value, bool):
        return value
    raise GanlibError(f"{name} must be True or False, got {value!r}")


def _betas(value: object) -> tuple[float, float]:
    """Adam's (β1, β2): two numbers in [0, 1)."""
    pair = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else ()
    if len(pair) == 2 and all(_is_real(b) and 0 <= b < 1 for b in pair):
        return float(pair[0]), float(pair[1])
    raise GanlibError(f"betas must be a pair of numbers in [0, 1) (Adam's β1, β2), got {value!r}")


def _snapshot_steps(value: object, steps: int) -> tuple[int, ...]:
    """The distinct snapshot steps in increasing order; each an integer in 0..steps."""
    items = list(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else None
    if items is None or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 <= s <= steps
                                for s in items):
        shown = items if items is not None else value
        raise GanlibError(f"snapshot_steps must lie in 0..{steps} (integer steps), got {shown!r}")
    return tuple(sorted({int(s) for s in items}))


def check_device(name: object) -> str:
    """``name`` if it names a device: auto, cpu, cuda, cuda:N or mps; else a one-line ``GanlibError``.
    Whether this machine has it is checked when training starts (``resolve_device``)."""
    if isinstance(name, str) and (name in DEVICES or _CUDA_INDEX.fullmatch(name)):
        return name
    raise GanlibError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}, cuda:N (N = 0, 1, ...)")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device that is missing is an error."""
    check_device(name)
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    kind = name.split(":")[0]
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        raise GanlibError(f"device {name!r} is not available on this machine; choose auto or cpu")
    if kind == "cuda" and ":" in name and int(name[5:]) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise GanlibError(f"device {name!r} is not available on this machine; it has {count} CUDA device(s), "
                          f"cuda:0 to cuda:{count - 1}")
    return torch.device(name)


@dataclass
class TrainResult:
    """A trained (or partly trained) run: models, history, fixed-noise snapshots and evaluations."""

    config: TrainConfig
    generator: nn.Module
    discriminator: nn.Module
    device: torch.device
    step: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    evals: list[dict] = field(default_factory=list)
    fixed_noise: torch.Tensor | None = None
    elapsed: float = 0.0  # training seconds (wall clock), summed over the run's resumed parts
    # the process's CPU seconds spent training (all its threads), summed likewise: on a shared machine the
    # wall clock also counts other programs' time, the CPU time does not
    cpu_elapsed: float = 0.0

    @torch.no_grad()
    def generate(self, z: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        """G(z) on the CPU, in eval mode (batch-norm running statistics), in batches of ``batch``."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            out = [self.generator(z[i:i + batch].to(self.device)).float().cpu() for i in range(0, len(z), batch)]
        finally:
            self.generator.train(was_training)
        return torch.cat(out)

    def sample(self, n: int, seed: int = 0, batch: int = 1000) -> torch.Tensor:
        """n generated samples (images in [−1, 1] or 2-D points) on the CPU, from noise seeded by ``seed``."""
        z = torch.randn(n, self.config.resolved_z_dim(), generator=torch.Generator().manual_seed(seed))
        return self.generate(z, batch)


@dataclass
class _Optimisers:
    g: torch.optim.Optimizer
    d: torch.optim.Optimizer


def _make_optimisers(recipe: Recipe, G: nn.Module, D: nn.Module, device: torch.device) -> _Optimisers:
    def make(params) -> torch.optim.Optimizer:
        if recipe.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=recipe.lr)
        # fused Adam: one kernel for all parameters on CUDA, no host sync
        return torch.optim.Adam(params, lr=recipe.lr, betas=recipe.betas, fused=device.type == "cuda")
    check_choice("optimizer", recipe.optimizer, OPTIMIZERS)
    return _Optimisers(make(G.parameters()), make(D.parameters()))


def new_run(cfg: TrainConfig, device: torch.device) -> tuple[TrainResult, _Optimisers, torch.Generator]:
    """Fresh models (initialised from ``cfg.seed`` on the CPU, so every device starts alike)."""
    recipe = cfg.recipe()
    torch.manual_seed(cfg.seed)
    G, D = build_models(cfg.resolved_arch(), cfg.resolved_z_dim(), recipe.d_norm, cfg.toy_scale())
    G, D = G.to(device), D.to(device)
    fixed = torch.randn(cfg.resolved_n_snapshot(), cfg.resolved_z_dim(),
                        generator=torch.Generator().manual_seed(cfg.seed))
    result = TrainResult(cfg, G, D, device, fixed_noise=fixed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    return result, _make_optimisers(recipe, G, D, device), gen


def no_graph_message(device: str) -> str:
    """The one-line error for ``cuda_graph`` on a device without CUDA graphs."""
    return (f"cuda_graph needs a CUDA device, but the device is {device!r}; "
            f"choose device 'cuda' or switch cuda_graph off")


def make_capturable(optimizer: torch.optim.Optimizer) -> None:
    """Let ``optimizer`` step inside a CUDA graph: ``capturable`` keeps its step count on the device.

    Also converts a state restored from an eager run, whose RMSprop step counts live on the CPU.
    """
    for group in optimizer.param_groups:
        group["capturable"] = True
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if "step" in state:
                state["step"] = state["step"].to(device=p.device, dtype=torch.float32)


@contextmanager
def frozen(net: nn.Module) -> Iterator[None]:
    """Parameters of ``net`` need no gradient inside the block (the generator update's D): autograd then
    computes only ∂/∂input through ``net``, skipping its weight gradients, which nothing would use."""
    net.requires_grad_(False)
    try:
        yield
    finally:
        net.requires_grad_(True)


class TrainStep:
    """The training step: ``n_critic`` critic updates then one generator update, all on the device.

    Calling it trains one generator step and returns (L_D, L_G, GP) of its last critic step as a device tensor,
    without a host sync. Gradients are zeroed in place (static ``.grad`` tensors), so that the step can be
    captured. With ``config.cuda_graph`` (CUDA only; default off until ``benchmarks/gpu_check.sh`` has checked
    it against eager steps on a GPU) the first ``WARMUP`` calls run eagerly on a side stream, as torch's CUDA
    graph docs prescribe, the next call captures the whole step as one CUDA graph, and every call replays it.
    The run's ``torch.Generator`` is registered with the graph, so each replay draws fresh noise, batch indices
    and penalty ε from the same random stream as eager steps would, and a checkpoint's generator state resumes
    it. A replay returns the same static tensor each time: copy it before the next call (the training loop
    does). One graph per run, freed with its step: keeping several whole-step graphs alive in one process
    crashed when it was tried on a GPU, and ``compare --jobs N`` trains its runs in N worker processes, each run
    after the other in its worker.
    """

    WARMUP = 3  # eager steps before capture (optimiser state, cuDNN choices, autograd's lazy setup)

    def __init__(self, result: TrainResult, opt: _Optimisers, sampler, gen: torch.Generator) -> None:
        cfg = result.config
        self.G, self.D, self.opt, self.sampler, self.gen = result.generator, result.discriminator, opt, sampler, gen
        self.loss, self.recipe = cfg.loss_fn, cfg.recipe()
        self.batch, self.z_dim, self.device = cfg.batch_size, cfg.resolved_z_dim(), result.device
        self.zero = torch.zeros((), device=result.device)
        self.use_graph = cfg.cuda_graph
        if self.use_graph and self.device.type != "cuda":
            raise GanlibError(no_graph_message(self.device.type))
        if self.use_graph and not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
            raise GanlibError(f"cuda_graph needs a torch that registers generators with CUDA graphs; torch "
                              f"{torch.__version__} does not: upgrade torch or switch cuda_graph off")
        if self.use_graph:
            make_capturable(opt.g)
            make_capturable(opt.d)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warm_steps = 0
        self.static_out: torch.Tensor | None = None

    def noise(self) -> torch.Tensor:
        return torch.randn((self.batch, self.z_dim), device=self.device, generator=self.gen)

    def critic_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.sampler.sample(self.batch, self.gen)
        with torch.no_grad():
            fake = self.G(self.noise())
        loss = self.loss.d_loss(self.D(real), self.D(fake))
        gp = self.zero
        if self.recipe.gp_lambda:
            gp = gradient_penalty(self.D, real, fake, generator=self.gen)
            loss = loss + self.recipe.gp_lambda * gp
        self.opt.d.zero_grad(set_to_none=False)
        loss.backward()
        self.opt.d.step()
        if self.recipe.clip:  # None or 0: no clipping
            with torch.no_grad():  # WGAN: keep every critic weight in [-c, c]
                for p in self.D.parameters():
                    p.clamp_(-self.recipe.clip, self.recipe.clip)
        return loss.detach(), gp.detach()

    def generator_step(self) -> torch.Tensor:
        with frozen(self.D):
            loss = self.loss.g_loss(self.D(self.G(self.noise())))
            self.opt.g.zero_grad(set_to_none=False)
            loss.backward()
        self.opt.g.step()
        return loss.detach()

    def eager(self) -> torch.Tensor:
        """One step, kernel by kernel: the critic steps, then the generator step."""
        for _ in range(self.recipe.n_critic):
            d_loss, gp = self.critic_step()
        return torch.stack([d_loss, self.generator_step(), gp])

    def __call__(self) -> torch.Tensor:
        """One generator step with its critic steps; returns (L_D, L_G, GP) of the last critic step."""
        if not self.use_graph:
            return self.eager()
        if self.graph is None and self.warm_steps < self.WARMUP:
            return self._warm_up()
        if self.graph is None:
            self._capture()
        self.graph.replay()
        return self.static_out

    def _warm_up(self) -> torch.Tensor:
        """An eager step on a side stream, so that capture later sees no lazy first-call work."""
        side, main = torch.cuda.Stream(self.device), torch.cuda.current_stream(self.device)
        side.wait_stream(main)
        with torch.cuda.stream(side), warnings.catch_warnings():
            # capturable optimisers warn when they step outside a graph; here they must, once or twice
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            out = self.eager()
        main.wait_stream(side)
        self.warm_steps += 1
        return out

    def _capture(self) -> None:
        """Record one whole step; nothing runs until ``replay``."""
        self.graph = torch.cuda.CUDAGraph()
        self.graph.register_generator_state(self.gen)
        with torch.cuda.graph(self.graph):
            self.static_out = self.eager()


def _progress_bar(cfg: TrainConfig, start: int, progress: bool | None):
    show = sys.stderr.isatty() if progress is None else progress
    if not show:  # tqdm.auto warns inside a notebook without ipywidgets, even for a bar it never draws
        from tqdm import tqdm as plain

        return plain(total=cfg.steps, initial=start, disable=True)
    from tqdm.auto import tqdm

    return tqdm(total=cfg.steps, initial=start, desc=cfg.loss, leave=False)


def _take_snapshot(result: TrainResult) -> None:
    out = result.generate(result.fixed_noise)
    result.snapshots[result.step] = out if result.config.is_toy else to_uint8(out)


def train(cfg: TrainConfig, out_dir: str | Path | None = None, resume: bool = False,
          progress: bool | None = None, evaluate: Callable[[TrainResult], dict] | None = None,
          data_root: str | Path | None = None, verbose: bool = True,
          checkpoint_seconds: float = CHECKPOINT_SECONDS) -> TrainResult:
    """Train ``cfg``; with ``out_dir`` write checkpoint.pt, history.json and samples.png there.

    ``resume=True`` continues from ``out_dir/checkpoint.pt`` (the same config, ``steps`` may grow).
    ``evaluate(result)`` runs at every snapshot step and must return a dict, kept in ``result.evals``.
    With ``out_dir``, the folder is locked for this process (a second writer is refused), a checkpoint is
    written at the start (a folder that cannot take one fails before any training), every
    ``checkpoint_seconds`` and at the end. SIGINT and SIGTERM stop at the next step boundary, save a
    checkpoint and raise ``TrainingInterrupted``.
    """
    if not checkpoint_seconds > 0:
        raise GanlibError(f"checkpoint_seconds must be positive, got {checkpoint_seconds}")
    if evaluate is not None and not callable(evaluate):
        raise GanlibError(f"evaluate must be a function of the run that returns a dict, got {evaluate!r}")
    device = resolve_device(cfg.device)
    out = Path(out_dir) if out_dir is not None else None
    with ExitStack() as stack:
        if out is not None:
            stack.enter_context(lock_folder(out))  # one writer per run folder; proves it writable
            removed = remove_leftovers(out)
            if removed and verbose:
                print(f"ganlib train: removed {len(removed)} unfinished temporary file(s) left in {out} by a "
                      f"killed writer", file=sys.stderr)
        loaded = ckpt.prepare_out_dir(out, cfg.to_dict(), resume, verbose)
        stop = stack.enter_context(_deferred_signals())
        result, opt, gen = new_run(cfg, device)
        if loaded is not None:
            restore(loaded, out / ckpt.CHECKPOINT, result, opt, gen)
        sampler = make_sampler(cfg.dataset, device, data_root, verbose)
        recipe = cfg.recipe()
        threads = 1 if device.type == "cpu" and cfg.is_toy else torch.get_num_threads()
        if verbose:
            print(f"ganlib train: loss {cfg.loss} on {cfg.dataset}, {cfg.resolved_arch()} nets, "
                  f"steps {result.step}->{cfg.steps}, batch {cfg.batch_size}, n_critic {recipe.n_critic}, "
                  f"{recipe.optimizer} lr {recipe.lr:g}, seed {cfg.seed}, device {device}"
                  + (f" ({threads} thread{'s' * (threads > 1)})" if device.type == "cpu" else ""))
        with _cpu_threads(threads):
            _run_loop(result, opt, sampler, gen, out, progress, evaluate, stop, checkpoint_seconds)
        if result.step < cfg.steps:  # only a signal ends the loop early; its checkpoint is written
            raise TrainingInterrupted(_interrupted_message(stop, result, out), stop.signum or signal.SIGINT)
        check_finite_weights(result, out)
        if out is not None:
            write_outputs(result, opt, gen, out)
    return result


@contextmanager
def _cpu_threads(n: int) -> Iterator[None]:
    """Use n intra-op threads, then restore: the 2-D toys' tiny matrices run ~10x faster on one thread
    than on two, where thread hand-offs cost more than the arithmetic."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_loop(result: TrainResult, opt: _Optimisers, sampler, gen: torch.Generator, out: Path | None,
              progress: bool | None, evaluate: Callable[[TrainResult], dict] | None, stop: _StopFlag,
              checkpoint_seconds: float) -> None:
    """Train until ``cfg.steps`` or a stop signal; with ``out``, checkpoint at the start, every
    ``checkpoint_seconds``, every ``checkpoint_every`` steps and when a signal stops it early (the last
    step's checkpoint is written by ``train`` with the final outputs)."""
    cfg = result.config
    step_fn = TrainStep(result, opt, sampler, gen)
    stops = set(cfg.snapshot_steps) | {cfg.steps}
    if result.step == 0 and 0 in stops and 0 not in result.snapshots:  # resumed from the start checkpoint: kept
        _keep_snapshot(result, out, evaluate)
    if out is not None and result.step < cfg.steps:  # a finished run's checkpoint is written by train's end
        save_run(result, opt, gen, out)  # fail fast: a folder that cannot take a checkpoint fails before training
    saved_step = result.step
    buf = torch.zeros((cfg.check_every, 3), device=result.device)
    times: list[float] = []
    t0, elapsed0 = time.perf_counter(), result.elapsed
    c0, cpu0 = time.process_time(), result.cpu_elapsed
    last_save = t0
    bar = _progress_bar(cfg, result.step, progress)
    try:
        while result.step < cfg.steps and stop.signum is None:
            buf[len(times)] = step_fn()  # a device-side copy: no sync
            result.step += 1
            now = time.perf_counter()
            times.append(elapsed0 + now - t0)
            bar.update(1)
            save_now = out is not None and result.step < cfg.steps and (
                now - last_save >= checkpoint_seconds
                or bool(cfg.checkpoint_every and result.step % cfg.checkpoint_every == 0))
            if len(times) == cfg.check_every or result.step in stops or save_now:
                _flush(result, buf, times, out)  # syncs once; raises if a loss went non-finite or exploded
                result.elapsed = elapsed0 + time.perf_counter() - t0  # after the sync: true device time
                result.cpu_elapsed = cpu0 + time.process_time() - c0
                times = []
                bar.set_postfix(d=f"{result.history['d_loss'][-1]:.3f}", g=f"{result.history['g_loss'][-1]:.3f}")
                # snapshots, evaluations and checkpoints are not training time
                paused, cpu_paused = time.perf_counter(), time.process_time()
                if result.step in stops:
                    _keep_snapshot(result, out, evaluate)
                if save_now:
                    save_run(result, opt, gen, out)
                    saved_step, last_save = result.step, time.perf_counter()
                t0 += time.perf_counter() - paused
                c0 += time.process_time() - cpu_paused
        if times:  # a signal stopped the loop between flushes
            _flush(result, buf, times, out)
            result.elapsed = elapsed0 + time.perf_counter() - t0
            result.cpu_elapsed = cpu0 + time.process_time() - c0
        if out is not None and result.step < cfg.steps and result.step != saved_step:
            save_run(result, opt, gen, out)  # stopped by a signal: keep every step trained
    finally:
        bar.close()


def _keep_snapshot(result: TrainResult, out: Path | None, evaluate: Callable[[TrainResult], dict] | None) -> None:
    check_finite_weights(result, out)  # never show or score a diverged generator
    _take_snapshot(result)
    if evaluate is not None:
        values = evaluate(result)
        if not isinstance(values, Mapping):
            raise GanlibError(f"evaluate must return a dict of values, got {type(values).__name__} at step "
                              f"{result.step}; {ckpt.describe_kept(out)}")
        result.evals.append({"step": result.step, **values})


def check_finite_weights(result: TrainResult, out: Path | None) -> None:
    """Stop on NaN/Inf or exploded (past ``WEIGHT_LIMIT``) parameters or floating buffers (batch-norm
    running statistics): an update can break them before any loss shows it. One host sync."""
    tensors = [t for net in (result.generator, result.discriminator)
               for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()]
    with torch.no_grad():
        worst = torch.stack([t.detach().abs().max().float() for t in tensors if t.numel()]).max().item()
    if not worst <= WEIGHT_LIMIT:  # NaN compares false
        what = "non-finite" if not math.isfinite(worst) else f"exploded (|w| = {worst:.3g} > {WEIGHT_LIMIT:g})"
        raise TrainingDiverged(f"loss {result.config.loss!r} diverged: {what} weights or batch-norm statistics "
                               f"after step {result.step}; {ckpt.describe_kept(out)}")


def _flush(result: TrainResult, buf: torch.Tensor, times: list[float], out: Path | None) -> None:
    """Copy the buffered losses to the host history; stop with a clear message on NaN/Inf or on a loss
    past ``LOSS_LIMIT``."""
    n = len(times)
    values = buf[:n].tolist()
    first_step = result.step - n + 1
    for i, (d, g, gp) in enumerate(values):
        if not all(abs(v) <= LOSS_LIMIT for v in (d, g, gp)):  # NaN compares false
            bad_d = not (abs(d) <= LOSS_LIMIT and abs(gp) <= LOSS_LIMIT)
            value = max((d, gp) if bad_d else (g,), key=lambda v: abs(v) if math.isfinite(v) else math.inf)
            what = "non-finite" if not math.isfinite(value) else f"exploded ({value:.3g}, past ±{LOSS_LIMIT:g})"
            raise TrainingDiverged(f"loss {result.config.loss!r} diverged: {what} "
                                   f"{'discriminator' if bad_d else 'generator'} loss at step {first_step + i}; "
                                   f"{ckpt.describe_kept(out)}")
    h = result.history
    for i, (d, g, gp) in enumerate(values):
        h["step"].append(first_step + i)
        h["d_loss"].append(d)
        h["g_loss"].append(g)
        h["gp"].append(gp)
        h["time"].append(times[i])


class _StopFlag:
    """Set by the SIGINT/SIGTERM handler; the loop reads it at step boundaries (a Python read, no sync)."""

    signum: int | None = None


@contextmanager
def _deferred_signals() -> Iterator[_StopFlag]:
    """While training, SIGINT and SIGTERM only set a flag, so the loop can stop at a step boundary with
    a checkpoint; the previous handlers come back afterwards. Signals can be handled only in the main
    thread: elsewhere (a worker thread) they keep their usual effect."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame) -> None:
        flag.signum = signum

    before = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def _interrupted_message(stop: _StopFlag, result: TrainResult, out: Path | None) -> str:
    name = signal.Signals(stop.signum).name if stop.signum else "a signal"
    head = f"training interrupted by {name} at step {result.step} of {result.config.steps}"
    if out is None:
        return f"{head}; nothing was saved (no output folder)"
    return f"{head}; checkpoint saved at {out / ckpt.CHECKPOINT} (step {result.step}); continue with --resume"


def save_run(result: TrainResult, opt: _Optimisers, gen: torch.Generator, out: Path) -> None:
    """Write a checkpoint, after checking that the weights are sound (never save a diverged run)."""
    check_finite_weights(result, out)
    ckpt.save_checkpoint(_state(result, opt, gen), out)


def _state(result: TrainResult, opt: _Optimisers, gen: torch.Generator) -> dict:
    """What a checkpoint holds: everything a resumed run needs to continue bit for bit."""
    return {
        "format": ckpt.FORMAT,
        "config": result.config.to_dict(),
        "step": result.step,
        "device_type": result.device.type,
        "generator": result.generator.state_dict(),
        "discriminator": result.discriminator.state_dict(),
        "opt_g": opt.g.state_dict(),
        "opt_d": opt.d.state_dict(),
        "rng": gen.get_state(),
        "history": result.history,
        "snapshots": {str(k): v for k, v in result.snapshots.items()},
        "evals": result.evals,
        "fixed_noise": result.fixed_noise,
        "elapsed": result.elapsed,
        "cpu_elapsed": result.cpu_elapsed,
    }


def restore(state: dict, path: Path, result: TrainResult, opt: _Optimisers | None = None,
            gen: torch.Generator | None = None) -> None:
    """Load a checkpoint (from ``ckpt.load_checkpoint(path)``) into a fresh run built from the same config;
    with ``opt`` also the optimiser state and with ``gen`` the random state, so that training continues
    exactly where it stopped. Shapes are checked first: a checkpoint that does not fit is a one-line error."""
    if gen is not None and state["device_type"] != result.device.type:
        raise GanlibError(f"the checkpoint was written on {state['device_type']} and its random state only "
                          f"resumes there; resume with --device {state['device_type']} or start afresh")
    ckpt.check_tensors(state["generator"], result.generator.state_dict(), "generator", path)
    ckpt.check_tensors(state["discriminator"], result.discriminator.state_dict(), "discriminator", path)
    noise = state["fixed_noise"]
    if noise.shape != result.fixed_noise.shape:
        raise GanlibError(f"{path}: its fixed noise has shape {tuple(noise.shape)}, this config needs "
                          f"{tuple(result.fixed_noise.shape)}")
    if any(len(v) != len(noise) for v in state["snapshots"].values()):
        raise GanlibError(f"{path}: a snapshot does not hold {len(noise)} samples")
    result.generator.load_state_dict(state["generator"])
    result.discriminator.load_state_dict(state["discriminator"])
    if opt is not None:
        ckpt.check_optimiser(state["opt_g"], opt.g, "generator", path)
        ckpt.check_optimiser(state["opt_d"], opt.d, "discriminator", path)
    try:
        if opt is not None:
            opt.g.load_state_dict(state["opt_g"])
            opt.d.load_state_dict(state["opt_d"])
        if gen is not None:
            gen.set_state(state["rng"])
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise GanlibError(f"{path}: its optimiser or random state does not fit this run "
                          f"({type(exc).__name__})") from None
    result.step = state["step"]
    result.history = {k: list(v) for k, v in state["history"].items()}
    result.snapshots = {int(k): v for k, v in state["snapshots"].items()}
    result.evals = list(state["evals"])
    result.fixed_noise = noise
    result.elapsed = float(state["elapsed"])
    result.cpu_elapsed = float(state.get("cpu_elapsed", 0.0))  # checkpoints from before it was kept: 0


def write_outputs(result: TrainResult, opt: _Optimisers, gen: torch.Generator, out: Path) -> None:
    """checkpoint.pt, history.json (config, history, evaluations) and samples.png, in that order."""
    ckpt.save_checkpoint(_state(result, opt, gen), out)
    try:
        save_json({"config": result.config.to_dict(), "device": str(result.device), "step": result.step,
                   "elapsed_s": result.elapsed, "cpu_s": result.cpu_elapsed, "history": result.history,
                   "evals": result.evals}, out / ckpt.HISTORY)
        _save_last_snapshot(result, out / ckpt.SAMPLES)
    except OSError as exc:
        raise GanlibError(f"could not write the results in {out} ({os_reason(exc)}); the final checkpoint "
                          f"(step {result.step}) is complete: rerun with --resume to write them") from None


def _save_last_snapshot(result: TrainResult, path: Path) -> None:
    """The run's last snapshot as a PNG: an image grid, or the toy's points with its mode centres."""
    cfg, last = result.config, result.snapshots[max(result.snapshots)]
    if cfg.is_toy:
        save_samples(last, path, toy_mixture(cfg.dataset).centres, lim=cfg.toy_scale())
    else:
        save_samples(last, path)


def critic_estimate(history: Mapping[str, Sequence[float]], gp_lambda: float | None = None) -> np.ndarray:
    """The critic's Wasserstein estimate per step: −L_D, with λ·GP taken back out for WGAN-GP.

    ``history["d_loss"]`` is the loss the critic minimised, λ·GP included, so E[r] − E[f] = −(L_D − λ·GP).
    """
    d = np.asarray(history["d_loss"], dtype=float)
    if gp_lambda:
        d = d - gp_lambda * np.asarray(history["gp"], dtype=float)
    return -d


def load_run(run_dir: str | Path, device: str = "cpu") -> TrainResult:
    """Rebuild a trained run from ``run_dir/checkpoint.pt`` for sampling and evaluation."""
    path = Path(run_dir) / ckpt.CHECKPOINT
    state = ckpt.load_checkpoint(path)
    cfg = config_from_checkpoint(state, path)
    result, opt, _ = new_run(cfg, resolve_device(device))
    restore(state, path, result, opt)  # the optimiser state too: it is checked, though unused here
    return result


def config_from_checkpoint(state: dict, path: Path) -> TrainConfig:
    """The checkpoint's TrainConfig; a config this ganlib cannot build is a one-line error."""
    try:
        return TrainConfig.from_dict(state["config"])
    except (GanlibError, TypeError, ValueError) as exc:
        raise GanlibError(f"{path}: its config is not valid ({first_line(exc)})") from None


class _TrainModule(types.ModuleType):
    """This module, callable: ``ganlib.train`` is the module (``import ganlib.train as m`` gives it, and
    ``ganlib.train.TrainConfig`` works), and ``ganlib.train(cfg, ...)`` calls the function ``train``."""

    def __call__(self, *args, **kwargs) -> TrainResult:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _TrainModule
