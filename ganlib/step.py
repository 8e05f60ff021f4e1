"""The training step: ``n_critic`` critic updates then one generator update, on the device.

Also what a step works on: the run (``TrainResult``), its optimisers and ``new_run``, which builds them
from a config. Everything random is drawn on the training device from one ``torch.Generator``, so a
checkpoint that stores its state resumes the exact same run.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .config import OPTIMIZERS, TrainConfig
from .devices import no_graph_message
from .errors import GanlibError, check_choice
from .losses import Recipe, gradient_penalty, r1_penalty
from .models import build_models

# d_loss is what the critic minimised, λ·GP included for wgan-gp; gp is the penalty alone (0 elsewhere)
HISTORY_KEYS: tuple[str, ...] = ("step", "d_loss", "g_loss", "gp", "time")
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


@dataclass
class TrainResult:
    """A trained (or partly trained) run: models, history, fixed-noise snapshots and evaluations.

    With ``config.ema`` > 0, ``generator_ema`` holds the average of the generator's weights, and ``generate``,
    ``sample``, the snapshots and every evaluation use it; ``average=False`` samples the trained generator.
    """

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
    generator_ema: nn.Module | None = None  # the weight average G_ema, with config.ema > 0 (else None)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, batch: int = 1000, average: bool = True) -> torch.Tensor:
        """G(z) on the CPU, in eval mode (batch-norm running statistics), in batches of ``batch``; G is the
        weight average when there is one and ``average`` is true, with batch-norm statistics of its own
        (``refresh_batch_norm``)."""
        net = self.generator_ema if average and self.generator_ema is not None else self.generator
        if net is self.generator_ema:
            refresh_batch_norm(net, self.config.resolved_z_dim(), self.device)
        was_training = net.training
        net.eval()
        try:
            out = [net(z[i:i + batch].to(self.device)).float().cpu() for i in range(0, len(z), batch)]
        finally:
            net.train(was_training)
        return torch.cat(out)

    def sample(self, n: int, seed: int = 0, batch: int = 1000, average: bool = True) -> torch.Tensor:
        """n generated samples (images in [−1, 1] or 2-D points) on the CPU, from noise seeded by ``seed``
        (from the weight average, if any, unless ``average`` is false)."""
        z = torch.randn(n, self.config.resolved_z_dim(), generator=torch.Generator().manual_seed(seed))
        return self.generate(z, batch, average)


@dataclass
class Optimisers:
    g: torch.optim.Optimizer
    d: torch.optim.Optimizer


def make_optimisers(recipe: Recipe, G: nn.Module, D: nn.Module, device: torch.device,
                    d_lr: float | None = None) -> Optimisers:
    """The recipe's optimiser for each player; the discriminator's at ``d_lr`` if given (TTUR), else at the
    recipe's rate, like the generator's."""
    def make(params, lr: float) -> torch.optim.Optimizer:
        if recipe.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        # fused Adam: one kernel for all parameters on CUDA, no host sync
        return torch.optim.Adam(params, lr=lr, betas=recipe.betas, fused=device.type == "cuda")
    check_choice("optimizer", recipe.optimizer, OPTIMIZERS)
    return Optimisers(make(G.parameters(), recipe.lr), make(D.parameters(), recipe.lr if d_lr is None else d_lr))


def new_run(cfg: TrainConfig, device: torch.device) -> tuple[TrainResult, Optimisers, torch.Generator]:
    """Fresh models (initialised from ``cfg.seed`` on the CPU, so every device starts alike)."""
    recipe = cfg.recipe()
    torch.manual_seed(cfg.seed)
    G, D = build_models(cfg.resolved_arch(), cfg.resolved_z_dim(), recipe.d_norm, cfg.toy_scale())
    G, D = G.to(device), D.to(device)
    fixed = torch.randn(cfg.resolved_n_snapshot(), cfg.resolved_z_dim(),
                        generator=torch.Generator().manual_seed(cfg.seed))
    # the average starts at the initial weights; it never trains, so it needs no gradients
    G_ema = copy.deepcopy(G).requires_grad_(False) if cfg.ema else None
    result = TrainResult(cfg, G, D, device, fixed_noise=fixed, generator_ema=G_ema)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    return result, make_optimisers(recipe, G, D, device, cfg.resolved_d_lr()), gen


def instance_noise_std(sigma: float, step: int, steps: int) -> float:
    """The instance noise's σ_t = σ·(1 − t/T) at generator step t = 0 … T − 1 of a T-step run (Sønderby et al.
    2017): σ at the first step, annealed linearly to 0 at the end of the run, never below 0."""
    return sigma * max(0.0, 1.0 - step / steps)


@torch.no_grad()
def update_average(average: nn.Module, net: nn.Module, beta: float) -> None:
    """θ_ema ← β·θ_ema + (1 − β)·θ for every parameter (Karras et al. 2018; Yazici et al. 2019). Batch norm's
    running statistics are not averaged: ``refresh_batch_norm`` measures the average's own before it samples."""
    for p_avg, p in zip(average.parameters(), net.parameters()):
        p_avg.mul_(beta).add_(p, alpha=1 - beta)


# noise for the weight average's batch-norm statistics: 8 batches of 500, from a seed of their own
REFRESH_BATCHES, REFRESH_BATCH, REFRESH_SEED = 8, 500, 12345


@torch.no_grad()
def refresh_batch_norm(net: nn.Module, z_dim: int, device: torch.device) -> None:
    """Set the running statistics of ``net``'s batch-norm layers to those of its own activations: μ and σ² of
    each layer averaged over ``REFRESH_BATCHES`` batches of ``REFRESH_BATCH`` noise vectors (batch norm's
    ``momentum=None``, a cumulative average; σ² per batch is the unbiased one, as in training). A weight
    average needs this: the trained generator's statistics describe another network's activations."""
    layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return
    momenta = [m.momentum for m in layers]
    was_training = net.training
    gen = torch.Generator().manual_seed(REFRESH_SEED)
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None
        net.train()
        for _ in range(REFRESH_BATCHES):
            net(torch.randn(REFRESH_BATCH, z_dim, generator=gen).to(device, next(net.parameters()).dtype))
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        net.train(was_training)


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

    The aids besides the loss (``TrainConfig``'s last four fields) act here, and only when switched on:
    ``r1_gamma`` adds (γ/2)·R1 to L_D, on the batch of real inputs D saw (the returned L_D includes it; GP stays
    WGAN-GP's penalty alone); ``instance_noise`` adds σ_t·ε, ε ~ N(0, I), to every real and fake input of D, in
    the critic and the generator updates, with σ_t from ``instance_noise_std`` (fresh ε from the run's
    generator: real, then fake); ``d_lr`` is in the discriminator's optimiser; ``ema`` updates the weight
    average after each generator update, outside any CUDA graph.
    """

    WARMUP = 3  # eager steps before capture (optimiser state, cuDNN choices, autograd's lazy setup)

    def __init__(self, result: TrainResult, opt: Optimisers, sampler, gen: torch.Generator) -> None:
        cfg = result.config
        self.G, self.D, self.opt, self.sampler, self.gen = result.generator, result.discriminator, opt, sampler, gen
        self.loss, self.recipe = cfg.loss_fn, cfg.recipe()
        self.batch, self.z_dim, self.device = cfg.batch_size, cfg.resolved_z_dim(), result.device
        self.zero = torch.zeros((), device=result.device)
        self.result, self.r1_gamma, self.noise_std, self.ema = result, cfg.r1_gamma, cfg.instance_noise, cfg.ema
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

    def noisy(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as D sees it: with instance noise, x + σ_t·ε at this generator step t."""
        if not self.noise_std:
            return x
        sigma = instance_noise_std(self.noise_std, self.result.step, self.result.config.steps)
        return x + sigma * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=self.gen)

    def critic_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.sampler.sample(self.batch, self.gen)
        with torch.no_grad():
            fake = self.G(self.noise())
        real, fake = self.noisy(real), self.noisy(fake)
        if self.r1_gamma:  # R1 differentiates D(real) with respect to its input
            real = real.detach().requires_grad_(True)
        real_logits = self.D(real)
        loss = self.loss.d_loss(real_logits, self.D(fake))
        gp = self.zero
        if self.recipe.gp_lambda:
            gp = gradient_penalty(self.D, real, fake, generator=self.gen)
            loss = loss + self.recipe.gp_lambda * gp
        if self.r1_gamma:
            loss = loss + 0.5 * self.r1_gamma * r1_penalty(real, real_logits)
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
            loss = self.loss.g_loss(self.D(self.noisy(self.G(self.noise()))))
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
        out = self._step()
        if self.ema:
            update_average(self.result.generator_ema, self.G, self.ema)
        return out

    def _step(self) -> torch.Tensor:
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


def critic_estimate(history: Mapping[str, Sequence[float]], gp_lambda: float | None = None) -> np.ndarray:
    """The critic's Wasserstein estimate per step: −L_D, with λ·GP taken back out for WGAN-GP.

    ``history["d_loss"]`` is the loss the critic minimised, λ·GP included, so E[r] − E[f] = −(L_D − λ·GP).
    """
    d = np.asarray(history["d_loss"], dtype=float)
    if gp_lambda:
        d = d - gp_lambda * np.asarray(history["gp"], dtype=float)
    return -d
