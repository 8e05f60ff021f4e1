"""The six losses on hand-computed values, their gradients, the penalty and the recipes."""

from __future__ import annotations

import math

import pytest
import torch

import ganlib
from ganlib.losses import gradient_penalty

R = [0.0, 2.0]  # real logits r
F = [-1.0, 1.0]  # fake logits f


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


# L_D and L_G written out with math on the same logits, independently of torch and softplus
HAND = {
    "minimax": (-mean(math.log(sig(r)) for r in R) - mean(math.log(1 - sig(f)) for f in F),
                mean(math.log(1 - sig(f)) for f in F)),
    "nonsaturating": (-mean(math.log(sig(r)) for r in R) - mean(math.log(1 - sig(f)) for f in F),
                      -mean(math.log(sig(f)) for f in F)),
    "wgan": (-1.0 + 0.0, 0.0),  # -E[r] + E[f] = -1 + 0; -E[f] = 0
    "wgan-gp": (-1.0, 0.0),
    "lsgan": (0.5 * mean([1.0, 1.0]) + 0.5 * mean([1.0, 1.0]), 0.5 * mean([4.0, 0.0])),  # = 1.0, 1.0
    "hinge": (mean([1.0, 0.0]) + mean([0.0, 2.0]), 0.0),  # = 1.5, 0
}


def test_loss_names_in_order():
    assert ganlib.LOSS_NAMES == ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")


@pytest.mark.parametrize("name", list(HAND))
def test_losses_match_hand_computed_values(name):
    loss = ganlib.get_loss(name)
    d_hand, g_hand = HAND[name]
    assert loss.d_loss(torch.tensor(R), torch.tensor(F)).item() == pytest.approx(d_hand, abs=1e-6)
    assert loss.g_loss(torch.tensor(F)).item() == pytest.approx(g_hand, abs=1e-6)


def test_wasserstein_and_hinge_generator_losses_nonzero_case():
    f = torch.tensor([-1.0, 2.0])
    assert ganlib.get_loss("wgan").g_loss(f).item() == pytest.approx(-0.5)
    assert ganlib.get_loss("hinge").g_loss(f).item() == pytest.approx(-0.5)
    assert ganlib.get_loss("lsgan").g_loss(f).item() == pytest.approx(0.5 * (4 + 1) / 2)


@pytest.mark.parametrize("name", ganlib.LOSS_NAMES)
def test_logits_of_shape_b1_equal_shape_b(name):
    loss = ganlib.get_loss(name)
    r, f = torch.tensor(R), torch.tensor(F)
    assert torch.equal(loss.d_loss(r[:, None], f[:, None]), loss.d_loss(r, f))
    assert torch.equal(loss.g_loss(f[:, None]), loss.g_loss(f))


def test_bad_logit_shape_is_named():
    with pytest.raises(ganlib.GanlibError, match=r"shape \(B,\) or \(B, 1\), got \(2, 2\)"):
        ganlib.get_loss("hinge").g_loss(torch.zeros(2, 2))


def test_unknown_loss_names_all_six():
    with pytest.raises(ValueError) as info:
        ganlib.get_loss("nope")
    message = str(info.value)
    assert "'nope'" in message and "\n" not in message
    for name in ganlib.LOSS_NAMES:
        assert name in message


def _grad(fn, value: float) -> float:
    f = torch.tensor([value], requires_grad=True)
    fn(f).backward()
    return f.grad.item()


@pytest.mark.parametrize("f", [-10.0, -4.0, 0.0, 3.0])
def test_generator_gradients_with_respect_to_the_logit(f):
    # d/df log(1 - σ(f)) = -σ(f);  d/df -log σ(f) = -(1 - σ(f))
    assert _grad(ganlib.get_loss("minimax").g_loss, f) == pytest.approx(-sig(f), rel=1e-5)
    assert _grad(ganlib.get_loss("nonsaturating").g_loss, f) == pytest.approx(-(1 - sig(f)), rel=1e-5)


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    # a confident discriminator: σ(f) ≈ 4.5e-5
    sat = abs(_grad(ganlib.get_loss("minimax").g_loss, -10.0))
    nonsat = abs(_grad(ganlib.get_loss("nonsaturating").g_loss, -10.0))
    assert sat < 1e-4 and nonsat > 0.999


@pytest.mark.parametrize("name", ganlib.LOSS_NAMES)
def test_losses_stay_finite_for_extreme_logits(name):
    loss = ganlib.get_loss(name)
    r = torch.tensor([-200.0, 200.0], requires_grad=True)
    f = torch.tensor([-200.0, 200.0], requires_grad=True)
    total = loss.d_loss(r, f) + loss.g_loss(f)
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(r.grad).all() and torch.isfinite(f.grad).all()


def test_bce_d_loss_equals_torch_bce_with_logits():
    r, f = torch.randn(50, generator=torch.Generator().manual_seed(1)), torch.randn(50)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(r, torch.ones(50)) + bce(f, torch.zeros(50))
    assert ganlib.get_loss("nonsaturating").d_loss(r, f).item() == pytest.approx(expected.item(), rel=1e-6)


class Linear(torch.nn.Module):
    """D(x) = w·x + b: its input gradient is w everywhere, so GP = (‖w‖ − 1)²."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1, keepdim=True) + 0.3


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([2.0, 0.0, 0.0, 2.0])  # ‖w‖ = 2√2 on 2×2 "images"
    critic = Linear(w.clone())
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    gp = gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx((2 * math.sqrt(2) - 1) ** 2, rel=1e-6)
    gp.backward()  # create_graph: the penalty trains the critic, dGP/dw = 2(‖w‖ − 1) w/‖w‖
    norm = 2 * math.sqrt(2)
    assert critic.w.grad.tolist() == pytest.approx((2 * (norm - 1) * w / norm).tolist(), rel=1e-5)


def test_gradient_penalty_takes_the_norm_per_sample():
    # D(x) = ½‖x‖²: the gradient at x̂ is x̂ itself; real = fake makes x̂ = x whatever ε is
    x = torch.zeros(2, 1, 2, 2)
    x[0, 0, 0, 0] = 0.5  # ‖x₀‖ = 0.5
    x[1, 0, 1, 1] = 2.0  # ‖x₁‖ = 2
    gp = gradient_penalty(lambda t: 0.5 * t.flatten(1).pow(2).sum(1), x, x)
    per_sample = ((0.5 - 1) ** 2 + (2 - 1) ** 2) / 2  # 0.625
    whole_batch = (math.sqrt(0.25 + 4) - 1) ** 2  # ≈ 1.13, the common bug
    assert gp.item() == pytest.approx(per_sample)
    assert abs(gp.item() - whole_batch) > 0.4


def test_gradient_penalty_draws_epsilon_per_sample():
    # with D(x) = ½‖x‖², real = 1 and fake = 0 everywhere, x̂_i = ε_i·1: distinct ε give distinct norms
    real, fake = torch.ones(64, 1, 1, 1), torch.zeros(64, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    gp = gradient_penalty(lambda t: 0.5 * t.flatten(1).pow(2).sum(1), real, fake, generator=g)
    eps = torch.rand(64, 1, 1, 1, generator=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(((eps.flatten() - 1) ** 2).mean().item(), rel=1e-6)
    assert eps.std() > 0.2


def test_paper_recipes():
    for name in ("minimax", "nonsaturating", "lsgan", "hinge"):
        r = ganlib.get_loss(name).recipe
        assert (r.optimizer, r.lr, r.betas, r.n_critic, r.clip, r.gp_lambda) == (
            "adam", 2e-4, (0.5, 0.999), 1, None, None)
    w = ganlib.get_loss("wgan").recipe
    assert (w.optimizer, w.lr, w.n_critic, w.clip) == ("rmsprop", 5e-5, 5, 0.01)
    gp = ganlib.get_loss("wgan-gp").recipe
    assert (gp.optimizer, gp.lr, gp.betas, gp.n_critic, gp.gp_lambda) == ("adam", 1e-4, (0.0, 0.9), 5, 10.0)
    assert gp.d_norm != "batch"  # no batch norm in a gradient-penalised critic


def test_recipe_fields_are_overridable():
    cfg = ganlib.TrainConfig(loss="wgan", lr=1e-3, n_critic=2, dataset="mnist")
    r = cfg.recipe()
    assert (r.lr, r.n_critic, r.clip, r.optimizer) == (1e-3, 2, 0.01, "rmsprop")
    with pytest.raises(ganlib.GanlibError, match="unknown recipe field"):
        ganlib.get_loss("wgan").recipe.with_overrides(momentum=0.9)
