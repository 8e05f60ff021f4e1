"""What each discriminator loss estimates at its optimum, on discrete distributions in one dimension.

Notation (the book's): p and q are probability vectors on the same points x_1 < … < x_n (p the data,
q the generator), m = (p + q)/2 their mixture, logs natural. For a fixed generator the best
discriminator of each loss can be found point by point, and the smallest value of L_D is a
divergence between p and q:

    BCE (minimax, non-saturating)   min L_D = log 4 − 2·JSD(p, q)
    LSGAN, 0-1 coding               min L_D = 1/4 − Δ(p, q)/8
    hinge                           min L_D = 2 − 2·TV(p, q)
    Wasserstein, 1-Lipschitz critic min L_D = −W_1(p, q)

``optimal_d_loss`` minimises ganlib's own ``d_loss`` numerically, so the closed forms here can be
checked against the code that trains (chapter 5 does; ``tests/test_divergences.py`` too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .errors import GanlibError
from .losses import get_loss

ArrayLike = Sequence[float] | np.ndarray


def _pair(p: ArrayLike, q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two probability vectors of the same length (non-negative, each summing to 1), as float64."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1 or len(p) == 0:
        raise GanlibError(f"p and q must be 1-D of the same length, got shapes {p.shape} and {q.shape}")
    for name, v in (("p", p), ("q", q)):
        if (v < 0).any() or abs(v.sum() - 1.0) > 1e-9:
            raise GanlibError(f"{name} must be a probability vector (non-negative, summing to 1)")
    return p, q


def kl(p: ArrayLike, q: ArrayLike) -> float:
    """KL(p ‖ q) = Σ_i p_i log(p_i / q_i), with 0·log 0 = 0 and +inf where p_i > 0 = q_i."""
    p, q = _pair(p, q)
    s = p > 0
    if (q[s] == 0).any():
        return math.inf
    return float(np.sum(p[s] * np.log(p[s] / q[s])))


def jsd(p: ArrayLike, q: ArrayLike) -> float:
    """JSD(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2; between 0 and log 2."""
    p, q = _pair(p, q)
    m = (p + q) / 2
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def total_variation(p: ArrayLike, q: ArrayLike) -> float:
    """TV(p, q) = ½ Σ_i |p_i − q_i|; between 0 and 1."""
    p, q = _pair(p, q)
    return float(0.5 * np.abs(p - q).sum())


def triangular_discrimination(p: ArrayLike, q: ArrayLike) -> float:
    """Δ(p, q) = Σ_i (p_i − q_i)² / (p_i + q_i) over the points with p_i + q_i > 0; between 0 and 2.

    Δ = 2·χ²(p ‖ m): twice Pearson's χ² divergence of p from the mixture m = (p + q)/2.
    """
    p, q = _pair(p, q)
    s = (p + q) > 0
    return float(np.sum((p[s] - q[s]) ** 2 / (p[s] + q[s])))


def pearson_chi2(p: ArrayLike, q: ArrayLike) -> float:
    """χ²(p ‖ q) = Σ_i (p_i − q_i)² / q_i, +inf where p_i > 0 = q_i."""
    p, q = _pair(p, q)
    if ((q == 0) & (p > 0)).any():
        return math.inf
    s = q > 0
    return float(np.sum((p[s] - q[s]) ** 2 / q[s]))


def w1_1d(points: ArrayLike, p: ArrayLike, q: ArrayLike) -> float:
    """W_1(p, q) = ∫ |F_p(t) − F_q(t)| dt for p, q on the real points ``points`` (any order)."""
    p, q = _pair(p, q)
    x = np.asarray(points, dtype=np.float64)
    if x.shape != p.shape:
        raise GanlibError(f"points must have the shape of p, got {x.shape} and {p.shape}")
    order = np.argsort(x, kind="stable")
    x, p, q = x[order], p[order], q[order]
    gaps = np.diff(x)
    return float(np.sum(np.abs(np.cumsum(p - q)[:-1]) * gaps))


def optimal_d_loss_closed_form(loss: str, p: ArrayLike, q: ArrayLike,
                               points: ArrayLike | None = None) -> float:
    """The smallest discriminator loss min_D L_D of ``loss`` for data p and generator q (see the module)."""
    name = get_loss(loss).name
    if name in ("minimax", "nonsaturating"):
        return math.log(4.0) - 2.0 * jsd(p, q)
    if name == "lsgan":
        return 0.25 - triangular_discrimination(p, q) / 8.0
    if name == "hinge":
        return 2.0 - 2.0 * total_variation(p, q)
    if points is None:
        raise GanlibError(f"{name}: the Wasserstein optimum needs the points (it depends on distances)")
    return -w1_1d(points, p, q)  # wgan, wgan-gp (without the penalty): the critic restricted to 1-Lipschitz


def _batches(counts_p: Sequence[int], counts_q: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Index batches that repeat point i counts_p[i] (real) and counts_q[i] (fake) times."""
    idx = torch.arange(len(counts_p))
    cp, cq = torch.as_tensor(counts_p), torch.as_tensor(counts_q)
    if cp.shape != cq.shape or (cp < 0).any() or (cq < 0).any() or cp.sum() == 0 or cq.sum() == 0:
        raise GanlibError("counts must be non-negative integers of the same length, each with a positive sum")
    return idx.repeat_interleave(cp), idx.repeat_interleave(cq)


def optimal_d_loss(loss: str, counts_p: Sequence[int], counts_q: Sequence[int],
                   points: ArrayLike | None = None, iterations: int = 200) -> tuple[float, np.ndarray]:
    """Minimise ganlib's ``get_loss(loss).d_loss`` over the discriminator's values at the points.

    Data and generator are the empirical distributions p = counts_p / Σcounts_p and q likewise: the
    real batch holds point i counts_p[i] times, the fake batch counts_q[i] times, so ``d_loss`` on
    them is exactly the expectation under p and q. The discriminator is one free logit t_i per point;
    for the Wasserstein losses it is a 1-Lipschitz function of the point, t_i = Σ_{j<i} sin(u_j)·(x_{j+1} − x_j)
    on the sorted points (every slope in [−1, 1]). For the hinge, t_i = sin(u_i) ∈ [−1, 1]: moving a logit
    from beyond the margin back to ±1 never raises L_D, so the minimum lies there, and the kinks at ±1,
    where L-BFGS stalls, become smooth turning points. Returns (the minimum found by L-BFGS, the logits t).
    """
    gan_loss = get_loss(loss)
    real_idx, fake_idx = _batches(counts_p, counts_q)
    n = len(counts_p)
    lipschitz = gan_loss.name in ("wgan", "wgan-gp")
    if lipschitz:
        if points is None:
            raise GanlibError(f"{gan_loss.name}: the 1-Lipschitz critic needs the points")
        x = torch.as_tensor(np.asarray(points, dtype=np.float64))
        order = torch.argsort(x)
        gaps = torch.diff(x[order])
        u = torch.full((n - 1,), 0.1, dtype=torch.float64, requires_grad=True)
    else:
        u = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    margin = gan_loss.name == "hinge"

    def logits() -> torch.Tensor:
        if margin:
            return torch.sin(u)
        if not lipschitz:
            return u
        sorted_t = torch.cat([u.new_zeros(1), torch.cumsum(torch.sin(u) * gaps, 0)])
        return torch.empty_like(sorted_t).scatter(0, order, sorted_t)

    opt = torch.optim.LBFGS([u], lr=1.0, max_iter=iterations, tolerance_grad=1e-12,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        t = logits()
        value = gan_loss.d_loss(t[real_idx], t[fake_idx])
        value.backward()
        return value

    opt.step(closure)
    with torch.no_grad():
        t = logits()
        value = gan_loss.d_loss(t[real_idx], t[fake_idx]).item()
    return value, t.detach().numpy()
