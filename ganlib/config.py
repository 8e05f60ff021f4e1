"""``TrainConfig``: everything that defines a run, checked whole when it is built.

A value outside its range is a one-line ``GanlibError`` naming the field and what it accepts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields

from .data import toy_mixture
from .datasets import DATASETS, TOY_DATASETS, DatasetSpec, dataset_spec
from .devices import check_device, no_graph_message
from .errors import GanlibError, check_choice
from .losses import LOSS_NAMES, GANLoss, Recipe, get_loss
from .models import ARCHS, NORMS

OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop")
SEED_LIMIT = 2**63  # torch.manual_seed takes seeds in [0, 2^63)

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
    arch: str | None = None  # None: the dataset's (``DatasetSpec.arch``: "dcgan" for images, "toy" for ring/grid)
    z_dim: int | None = None  # None: the dataset's (``DatasetSpec.z_dim``: 64 for images, 16 for the toys)
    optimizer: str | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    clip: float | None = None  # 0 switches WGAN's clipping off
    gp_lambda: float | None = None  # 0 switches WGAN-GP's penalty off
    d_norm: str | None = None
    snapshot_steps: tuple[int, ...] = ()  # fixed-noise samples kept here; the last step always
    n_snapshot: int | None = None  # None: the dataset's (``DatasetSpec.n_snapshot``: 64 images, 1000 toy points)
    check_every: int = 50  # steps between host syncs (NaN guard, progress display)
    checkpoint_every: int = 0  # 0: a checkpoint at the end only
    # the whole step as one CUDA graph (CUDA only). Off by default until the graph has been checked against
    # eager steps on a GPU (tests/test_gpu.py, run by benchmarks/gpu_check.sh); then the default becomes True.
    cuda_graph: bool = False
    # Aids besides the loss (chapter 6). Each is off at its default, and a run with all four off trains exactly as
    # before they existed (same random draws, same arithmetic, same checkpoint).
    r1_gamma: float = 0.0  # γ: L_D gains (γ/2)·E_x[‖∇_x D(x)‖²] on the real batch (losses.r1_penalty)
    instance_noise: float = 0.0  # σ at step 0 of the Gaussian noise added to D's real and fake inputs, → 0 linearly
    d_lr: float | None = None  # the discriminator's learning rate (TTUR); None: the generator's, the recipe's lr
    ema: float = 0.0  # β of the generator's weight average θ_ema ← β·θ_ema + (1 − β)·θ; 0: no average

    def __post_init__(self) -> None:
        for name, value in self._checked_fields().items():
            object.__setattr__(self, name, value)  # frozen: the checked, normalised value replaces the given one
        object.__setattr__(self, "snapshot_steps", _snapshot_steps(self.snapshot_steps, self.steps))
        if self.arch is not None and self.arch != self.spec.arch:
            raise GanlibError(f"architecture {self.arch!r} does not fit dataset {self.dataset!r}; "
                              f"use 'toy' for {', '.join(TOY_DATASETS)} and 'dcgan' for images")
        if self.cuda_graph and self.device in ("cpu", "mps"):
            raise GanlibError(no_graph_message(self.device))
        if self.cuda_graph and self.instance_noise:
            raise GanlibError("instance_noise cannot run inside a CUDA graph (its σ changes every step, a graph "
                              "replays fixed values); switch cuda_graph or instance_noise off")

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
            "r1_gamma": _number("r1_gamma", self.r1_gamma, "a non-negative number (R1's γ; 0 switches R1 off)"),
            "instance_noise": _number("instance_noise", self.instance_noise,
                                      "a non-negative number (the noise's σ at step 0; 0 switches it off)"),
            "d_lr": _optional(self.d_lr, lambda v: _number(
                "d_lr", v, "a positive number (None: the generator's learning rate)", positive=True)),
            "ema": _fraction("ema", self.ema, "a number in [0, 1) (the average's β; 0 switches it off)"),
        }

    @property
    def spec(self) -> DatasetSpec:
        """What the dataset settles: its kind, and the defaults of ``arch``, ``z_dim``, ``n_snapshot``, ``lr``."""
        return dataset_spec(self.dataset)

    @property
    def loss_fn(self) -> GANLoss:
        return get_loss(self.loss)

    def recipe(self) -> Recipe:
        """The loss's paper recipe with this config's overrides applied."""
        keys = [f.name for f in fields(Recipe)]
        recipe = self.loss_fn.recipe.with_overrides(**{k: getattr(self, k) for k in keys})
        if self.lr is None:
            recipe = recipe.with_overrides(lr=recipe.lr * self.spec.lr_scale)
        return recipe

    def resolved_d_lr(self) -> float:
        """The discriminator's learning rate: ``d_lr``, else the generator's (the recipe's, toy scale included)."""
        return self.d_lr if self.d_lr is not None else self.recipe().lr

    def resolved_arch(self) -> str:
        return self.arch or self.spec.arch

    def resolved_z_dim(self) -> int:
        return self.z_dim or self.spec.z_dim

    def toy_scale(self) -> float:
        """The toy generator's output bound: 1.5 × the largest centre coordinate (3 for the ring, 6 for the grid)."""
        return 1.5 * float(toy_mixture(self.dataset).centres.abs().max()) if self.spec.is_toy else 0.0

    def resolved_n_snapshot(self) -> int:
        return self.n_snapshot or self.spec.n_snapshot

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


def _fraction(name: str, value: object, valid: str) -> float:
    """``value`` as a float if it is a real number in [0, 1), else a one-line error."""
    if _is_real(value) and 0 <= value < 1:
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
