"""The six GAN losses of the course, on raw discriminator outputs (logits).

Notation (the book's): r = D(x) on real images, f = D(G(z)) on generated ones, σ the logistic
sigmoid, E the mean over the batch. Log-sigmoids are written with softplus, because
log σ(t) = −softplus(−t) and log(1 − σ(t)) = −softplus(t) stay finite for any logit, while
``torch.log(torch.sigmoid(t))`` overflows to −inf once σ(t) rounds to 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import GanlibError, check_choice

LOSS_NAMES: tuple[str, ...] = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")
# The paper recipes' learning rates are tuned for images and tens of thousands of steps; the 2-D toys
# get a few thousand, so their default rate is this many times the recipe's (an explicit lr wins).
TOY_LR_SCALE = 5.0


@dataclass(frozen=True)
class Recipe:
    """A loss's published training recipe (DCGAN's Adam settings for minimax, non-saturating, LSGAN and
    hinge, without the spectral normalisation that Miyato et al. 2018 pair the hinge loss with; WGAN's and
    WGAN-GP's own); every field can be overridden with ``replace``."""

    optimizer: str = "adam"  # "adam" or "rmsprop"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam only; RMSprop has none
    n_critic: int = 1  # critic steps per generator step
    clip: float | None = None  # WGAN weight clipping to [-clip, clip]
    gp_lambda: float | None = None  # WGAN-GP penalty weight λ
    d_norm: str = "batch"  # discriminator normalisation: "batch", "layer", "spectral" or "none"

    def with_overrides(self, **overrides: object) -> Recipe:
        """Return a copy with the fields given (``None`` values are ignored)."""
        unknown = set(overrides) - set(self.__dataclass_fields__)
        if unknown:
            raise GanlibError(f"unknown recipe field(s) {sorted(unknown)}; "
                              f"valid: {', '.join(self.__dataclass_fields__)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class GANLoss:
    """A GAN loss: ``d_loss(r, f)`` and ``g_loss(f)`` return scalar tensors; ``recipe`` its paper setup."""

    name: str
    d_loss_fn: Callable[[Tensor, Tensor], Tensor]
    g_loss_fn: Callable[[Tensor], Tensor]
    recipe: Recipe
    paper: str
    d_formula: str  # LaTeX, as shown in the book
    g_formula: str
    extra: dict = field(default_factory=dict)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Discriminator (critic) loss L_D; for ``wgan-gp`` without the penalty term."""
        return self.d_loss_fn(_flat(real_logits), _flat(fake_logits))

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        """Generator loss L_G."""
        return self.g_loss_fn(_flat(fake_logits))


def _flat(logits: Tensor) -> Tensor:
    """Accept logits of shape (B,) or (B, 1); anything else is a caller's bug worth naming."""
    if logits.dim() == 2 and logits.shape[1] == 1:
        return logits[:, 0]
    if logits.dim() != 1:
        raise GanlibError(f"logits must have shape (B,) or (B, 1), got {tuple(logits.shape)}")
    return logits


def bce_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """L_D = −E[log σ(r)] − E[log(1 − σ(f))] = E[softplus(−r)] + E[softplus(f)]."""
    return F.softplus(-r).mean() + F.softplus(f).mean()


def minimax_g_loss(f: Tensor) -> Tensor:
    """Saturating L_G = E[log(1 − σ(f))] = −E[softplus(f)]; its gradient vanishes as σ(f) → 0."""
    return -F.softplus(f).mean()


def nonsaturating_g_loss(f: Tensor) -> Tensor:
    """Non-saturating L_G = −E[log σ(f)] = E[softplus(−f)]."""
    return F.softplus(-f).mean()


def wasserstein_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """Critic loss L_D = −E[r] + E[f] (the negated Kantorovich-Rubinstein dual estimate)."""
    return -r.mean() + f.mean()


def wasserstein_g_loss(f: Tensor) -> Tensor:
    """L_G = −E[f]; also the generator loss of the hinge GAN."""
    return -f.mean()


def lsgan_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """L_D = ½E[(r − 1)²] + ½E[f²] (0-1 coding: a = 0, b = 1)."""
    return 0.5 * (r - 1).pow(2).mean() + 0.5 * f.pow(2).mean()


def lsgan_g_loss(f: Tensor) -> Tensor:
    """L_G = ½E[(f − 1)²] (c = 1)."""
    return 0.5 * (f - 1).pow(2).mean()


def hinge_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """L_D = E[max(0, 1 − r)] + E[max(0, 1 + f)]."""
    return F.relu(1 - r).mean() + F.relu(1 + f).mean()


_GAN_BCE_D = r"L_D = -\mathbb{E}_{x}[\log \sigma(r)] - \mathbb{E}_{z}[\log(1 - \sigma(f))]"
_W_D = r"L_D = -\mathbb{E}_{x}[r] + \mathbb{E}_{z}[f]"
_W_G = r"L_G = -\mathbb{E}_{z}[f]"

_LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(
        "minimax", bce_d_loss, minimax_g_loss, Recipe(),
        "Goodfellow et al. 2014, Eq. 1", _GAN_BCE_D,
        r"L_G = \mathbb{E}_{z}[\log(1 - \sigma(f))]"),
    "nonsaturating": GANLoss(
        "nonsaturating", bce_d_loss, nonsaturating_g_loss, Recipe(),
        "Goodfellow et al. 2014, §3", _GAN_BCE_D, r"L_G = -\mathbb{E}_{z}[\log \sigma(f)]"),
    "wgan": GANLoss(
        "wgan", wasserstein_d_loss, wasserstein_g_loss,
        Recipe(optimizer="rmsprop", lr=5e-5, n_critic=5, clip=0.01),
        "Arjovsky et al. 2017", _W_D, _W_G),
    "wgan-gp": GANLoss(
        "wgan-gp", wasserstein_d_loss, wasserstein_g_loss,
        Recipe(lr=1e-4, betas=(0.0, 0.9), n_critic=5, gp_lambda=10.0, d_norm="layer"),
        "Gulrajani et al. 2017", _W_D + r" + \lambda\,\mathrm{GP}", _W_G),
    "lsgan": GANLoss(
        "lsgan", lsgan_d_loss, lsgan_g_loss, Recipe(), "Mao et al. 2017",
        r"L_D = \tfrac12\mathbb{E}_{x}[(r - 1)^2] + \tfrac12\mathbb{E}_{z}[f^2]",
        r"L_G = \tfrac12\mathbb{E}_{z}[(f - 1)^2]"),
    "hinge": GANLoss(
        "hinge", hinge_d_loss, wasserstein_g_loss, Recipe(),
        "Lim & Ye 2017; Miyato et al. 2018",
        r"L_D = \mathbb{E}_{x}[\max(0, 1 - r)] + \mathbb{E}_{z}[\max(0, 1 + f)]", _W_G),
}


def get_loss(name: str) -> GANLoss:
    """Return the loss called ``name`` (one of ``LOSS_NAMES``)."""
    return _LOSSES[check_choice("loss", name, LOSS_NAMES)]


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """GP = E[(‖∇_x̂ D(x̂)‖₂ − 1)²] with x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per sample (no λ).

    The norm is taken per sample over all of its pixels, never over the whole batch.
    """
    if real.shape != fake.shape:
        raise GanlibError(f"real and fake batches differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return (norms - 1).pow(2).mean()


def r1_penalty(real: Tensor, real_logits: Tensor) -> Tensor:
    """R1 = E_x[‖∇_x D(x)‖₂²] over the real batch (Mescheder et al. 2018), without its weight γ/2.

    ``real`` must require gradients and ``real_logits`` be D(real) computed from it, so the penalty reuses
    the forward pass the loss already made. The squared norm is taken per sample over all of its pixels.
    Training adds (γ/2)·R1 to L_D (``TrainConfig.r1_gamma``); the Dirac-GAN (``ganlib.dirac``) adds the same
    term, which there is (γ/2)ψ².
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()
