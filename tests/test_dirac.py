"""The Dirac-GAN: gradients in closed form, one step by hand, and what the penalties do."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganlib import GanlibError
from ganlib.dirac import dirac_gradients, dirac_trajectory

THETA, PSI = 1.0, 2.0  # f = ψθ = 2


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


# (∂L_D/∂ψ, ∂L_G/∂θ) at (θ, ψ) = (1, 2), r = 0, f = ψθ, written out by hand
HAND = {
    # L_D = softplus(−r) + softplus(f): ∂ψ = σ(f)·θ; L_G = −softplus(f): ∂θ = −σ(f)·ψ
    "minimax": (sig(2.0) * THETA, -sig(2.0) * PSI),
    # L_G = softplus(−f): ∂θ = −σ(−f)·ψ
    "nonsaturating": (sig(2.0) * THETA, -sig(-2.0) * PSI),
    # L_D = −r + f = ψθ, L_G = −ψθ
    "wgan": (THETA, -PSI),
    "wgan-gp": (THETA, -PSI),
    # L_D = ½(r − 1)² + ½f² = ½ + ½ψ²θ², L_G = ½(ψθ − 1)²
    "lsgan": (PSI * THETA ** 2, (PSI * THETA - 1) * PSI),
    # L_D = max(0, 1 − r) + max(0, 1 + f) = 1 + (1 + ψθ) here
    "hinge": (THETA, -PSI),
}


@pytest.mark.parametrize("loss", sorted(HAND))
def test_gradients_by_hand(loss):
    assert dirac_gradients(loss, THETA, PSI) == pytest.approx(HAND[loss], abs=1e-12)


def test_hinge_margin_stops_the_discriminator():
    # f = ψθ = −2 ≤ −1: the fake is beyond the margin, no gradient for ψ; the generator still gets −ψ
    assert dirac_gradients("hinge", -1.0, 2.0) == pytest.approx((0.0, -2.0))


def test_penalty_gradients_by_hand():
    # WGAN-GP: λ(|ψ| − 1)² adds 2λ(|ψ| − 1)·sign ψ = 2·10·1 = 20; R1: (γ/2)ψ² adds γψ = 0.5·2 = 1
    assert dirac_gradients("wgan", THETA, PSI, gp_lambda=10.0)[0] == pytest.approx(THETA + 20.0)
    assert dirac_gradients("wgan", THETA, PSI, r1_gamma=0.5)[0] == pytest.approx(THETA + 1.0)
    assert dirac_gradients("wgan", THETA, PSI, r1_gamma=0.5)[1] == pytest.approx(-PSI)  # G unaffected


def test_first_steps_by_hand():
    h = 0.1
    path = dirac_trajectory("nonsaturating", THETA, PSI, lr=h, steps=1)
    np.testing.assert_allclose(path[1], [THETA + h * sig(-2.0) * PSI, PSI - h * sig(2.0) * THETA])
    # alternating: ψ' = ψ − hθ, then θ' = θ + hψ'
    path = dirac_trajectory("wgan", THETA, PSI, lr=h, steps=1, mode="alternating")
    np.testing.assert_allclose(path[1], [THETA + h * (PSI - h * THETA), PSI - h * THETA])


def test_simultaneous_wgan_spirals_out_by_sqrt_1_plus_h2():
    h = 0.1
    path = dirac_trajectory("wgan", 1.0, 1.0, lr=h, steps=50)
    radius = np.hypot(path[:, 0], path[:, 1])
    np.testing.assert_allclose(radius[1:] / radius[:-1], math.sqrt(1 + h * h), rtol=1e-12)


def test_alternating_wgan_keeps_its_invariant():
    # the alternating map (ψ' = ψ − hθ, θ' = θ + hψ') preserves θ² + ψ² − hθψ: it circles forever
    h = 0.1
    path = dirac_trajectory("wgan", 1.0, 1.0, lr=h, steps=500, mode="alternating")
    invariant = path[:, 0] ** 2 + path[:, 1] ** 2 - h * path[:, 0] * path[:, 1]
    np.testing.assert_allclose(invariant, 2 - h, rtol=1e-10)


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan", "hinge"])
def test_r1_converges_and_no_penalty_does_not(loss):
    free = dirac_trajectory(loss, 1.0, 1.0, lr=0.1, steps=600)
    r1 = dirac_trajectory(loss, 1.0, 1.0, lr=0.1, steps=600, r1_gamma=1.0)
    assert np.hypot(*r1[-1]) < 1e-6
    assert np.hypot(*free[-1]) > 0.1


def test_gp_moves_the_generator_to_two_lambda():
    # started with ψ > 0, the penalty holds the slope near +1 and the fixed point is θ = 2λ, ψ = 0
    path = dirac_trajectory("wgan-gp", 1.0, 1.0, lr=0.1, steps=600, gp_lambda=1.0)
    np.testing.assert_allclose(path[-1], [2.0, 0.0], atol=1e-6)


def test_clip_bounds_psi():
    path = dirac_trajectory("wgan", 1.0, 0.0, lr=0.1, steps=200, clip=0.05)
    assert np.abs(path[:, 1]).max() <= 0.05 + 1e-15


def test_bad_arguments():
    with pytest.raises(GanlibError):
        dirac_trajectory("wgan", mode="sideways")
    with pytest.raises(GanlibError):
        dirac_trajectory("wgan", lr=0.0)
