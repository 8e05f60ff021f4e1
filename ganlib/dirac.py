"""The Dirac-GAN of Mescheder et al. (2018), run through ganlib's own losses.

Data p_data = δ_0 (every real sample is x = 0), generator G = δ_θ (every fake sample is θ), and a
linear discriminator D(x) = ψ·x. So the real logit is r = D(0) = 0 and the fake logit f = D(θ) = ψθ,
and one GAN training step is a step on the two numbers (θ, ψ):

    ψ ← ψ − h · ∂/∂ψ [L_D(r, f) + penalty],     θ ← θ − h · ∂/∂θ L_G(f),

with L_D, L_G the loss's ``d_loss``/``g_loss`` (gradients by autograd). The equilibrium is θ = 0 with
ψ = 0. Penalties on the discriminator: the WGAN-GP term λ·(‖∇_x D(x̂)‖ − 1)² = λ(|ψ| − 1)² (ganlib's
``gradient_penalty``), or R1 = (γ/2)·‖∇_x D(x)‖² at the real data, = (γ/2)ψ² (``losses.r1_penalty``, the
same function the image runs use with ``TrainConfig.r1_gamma``); WGAN's weight clipping
keeps ψ in [−c, c]. ``simultaneous`` steps both players from the same point; ``alternating`` moves the
discriminator first and the generator against the updated ψ.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .errors import GanlibError, check_choice
from .losses import get_loss, gradient_penalty, r1_penalty

MODES: tuple[str, ...] = ("simultaneous", "alternating")


def dirac_losses(loss: str, theta: Tensor, psi: Tensor, gp_lambda: float | None = None,
                 r1_gamma: float | None = None) -> tuple[Tensor, Tensor]:
    """(L_D + penalty, L_G) of the Dirac-GAN at (θ, ψ), through ``get_loss(loss)``."""
    gan_loss = get_loss(loss)
    real = torch.zeros(1, 1, dtype=theta.dtype)
    fake = theta.reshape(1, 1)
    critic = lambda x: psi * x  # noqa: E731  D(x) = ψ·x
    d = gan_loss.d_loss(critic(real), critic(fake.detach()))
    if gp_lambda:
        d = d + gp_lambda * gradient_penalty(critic, real, fake)
    if r1_gamma:  # the image runs' formula (losses.r1_penalty, TrainConfig.r1_gamma)
        x = real.detach().requires_grad_(True)
        d = d + 0.5 * r1_gamma * r1_penalty(x, critic(x))
    g = gan_loss.g_loss(critic(fake))
    return d, g


def dirac_gradients(loss: str, theta: float, psi: float, gp_lambda: float | None = None,
                    r1_gamma: float | None = None) -> tuple[float, float]:
    """(∂L_D/∂ψ, ∂L_G/∂θ) at (θ, ψ): the discriminator's and the generator's gradient."""
    t = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
    p = torch.tensor(float(psi), dtype=torch.float64, requires_grad=True)
    d, g = dirac_losses(loss, t, p, gp_lambda, r1_gamma)
    (d_psi,) = torch.autograd.grad(d, p)
    (g_theta,) = torch.autograd.grad(g, t)
    return float(d_psi), float(g_theta)


def dirac_trajectory(loss: str, theta0: float = 1.0, psi0: float = 1.0, lr: float = 0.1, steps: int = 500,
                     mode: str = "simultaneous", gp_lambda: float | None = None,
                     r1_gamma: float | None = None, clip: float | None = None) -> np.ndarray:
    """The points (θ_k, ψ_k), k = 0 … steps, of plain gradient descent with step ``lr`` (shape (steps+1, 2))."""
    check_choice("mode", mode, MODES)
    if steps < 0 or lr <= 0:
        raise GanlibError(f"need steps ≥ 0 and lr > 0, got steps={steps}, lr={lr}")
    theta, psi = float(theta0), float(psi0)
    path = [(theta, psi)]
    for _ in range(steps):
        d_psi, g_theta = dirac_gradients(loss, theta, psi, gp_lambda, r1_gamma)
        new_psi = psi - lr * d_psi
        if clip:
            new_psi = min(max(new_psi, -clip), clip)
        if mode == "alternating":  # the generator answers the updated discriminator
            g_theta = dirac_gradients(loss, theta, new_psi, gp_lambda, r1_gamma)[1]
        theta, psi = theta - lr * g_theta, new_psi
        path.append((theta, psi))
    return np.asarray(path)
