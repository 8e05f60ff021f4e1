"""Figures of chapters 04 and 05: loss slices against hand-derived formulas, the figures' contents."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import ganlib  # noqa: E402
from ganlib import plot  # noqa: E402

T = [-3.0, -1.0, -0.5, 0.0, 0.5, 2.0]  # avoids the hinge kinks at ±1 (one-sided derivatives differ there)
OTHER = 0.7


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def sp(t: float) -> float:  # softplus written out: log(1 + e^t)
    return math.log(1.0 + math.exp(t))


def relu(t: float) -> float:
    return max(0.0, t)


def step(t: float) -> float:  # derivative of relu away from 0
    return 1.0 if t > 0 else 0.0


# per loss: slice -> (value(t), derivative(t)) derived by hand; o is the other logit
def hand(name: str, o: float) -> dict:
    bce = {"d_real": (lambda t: -math.log(sig(t)) - math.log(1 - sig(o)), lambda t: sig(t) - 1),
           "d_fake": (lambda t: -math.log(sig(o)) - math.log(1 - sig(t)), lambda t: sig(t))}
    wass = {"d_real": (lambda t: -t + o, lambda t: -1.0), "d_fake": (lambda t: -o + t, lambda t: 1.0),
            "g": (lambda t: -t, lambda t: -1.0)}
    table = {
        "minimax": {**bce, "g": (lambda t: math.log(1 - sig(t)), lambda t: -sig(t))},
        "nonsaturating": {**bce, "g": (lambda t: -math.log(sig(t)), lambda t: sig(t) - 1)},
        "wgan": wass,
        "wgan-gp": wass,
        "lsgan": {"d_real": (lambda t: 0.5 * (t - 1) ** 2 + 0.5 * o ** 2, lambda t: t - 1),
                  "d_fake": (lambda t: 0.5 * (o - 1) ** 2 + 0.5 * t ** 2, lambda t: t),
                  "g": (lambda t: 0.5 * (t - 1) ** 2, lambda t: t - 1)},
        "hinge": {"d_real": (lambda t: relu(1 - t) + relu(1 + o), lambda t: -step(1 - t)),
                  "d_fake": (lambda t: relu(1 - o) + relu(1 + t), lambda t: step(1 + t)),
                  "g": (lambda t: -t, lambda t: -1.0)},
    }
    return table[name]


@pytest.mark.parametrize("name", ganlib.LOSS_NAMES)
def test_loss_slices_match_hand_formulas(name):
    got = plot.loss_slices(name, T, other=OTHER)
    assert set(got) == set(plot.LOSS_SLICES)
    for key, (value, deriv) in hand(name, OTHER).items():
        values, derivs = got[key]
        assert values.shape == derivs.shape == (len(T),)
        np.testing.assert_allclose(values, [value(t) for t in T], rtol=1e-10, atol=1e-12, err_msg=f"{name} {key}")
        np.testing.assert_allclose(derivs, [deriv(t) for t in T], rtol=1e-10, atol=1e-12, err_msg=f"{name} {key}'")


def test_loss_slices_hand_values_spot_check():
    # independent of the helpers above: L_G of the minimax GAN at f = 0 is log(1/2), its slope −1/2
    values, derivs = plot.loss_slices("minimax", [0.0])["g"]
    assert values[0] == pytest.approx(-math.log(2))
    assert derivs[0] == pytest.approx(-0.5)
    # hinge L_D on a real sample beyond the margin: only the fake term (f = 0 → 1) remains, slope 0
    values, derivs = plot.loss_slices("hinge", [3.0])["d_real"]
    assert (values[0], derivs[0]) == (pytest.approx(1.0), pytest.approx(0.0))


def test_loss_slices_rejects_unknown_loss():
    with pytest.raises(ganlib.GanlibError):
        plot.loss_slices("vanilla", [0.0])


def test_loss_shapes_figure_draws_every_loss_in_every_panel():
    fig = plot.loss_shapes_figure(["wgan", "hinge"], logits=[-1.5, 0.0, 1.5], other=0.0)
    axes = fig.axes
    assert len(axes) == 6
    for ax in axes:
        labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert labels == ["wgan", "hinge"]
    # top-right panel, first line: L_G of wgan is −f
    line = axes[2].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [1.5, 0.0, -1.5])
    plt.close(fig)


def test_weight_histogram_counts_every_parameter_and_marks_the_clip():
    net = torch.nn.Linear(3, 2)  # 6 weights + 2 biases
    with torch.no_grad():
        net.weight.fill_(0.01)
        net.bias.fill_(-0.01)
    ax = plot.weight_histogram(net, clip=0.01, bins=10)
    assert sum(p.get_height() for p in ax.patches) == 8
    assert sorted(line.get_xdata()[0] for line in ax.get_lines()) == [-0.01, 0.01]
    plt.close(ax.figure)


def test_critic_estimate_takes_the_penalty_back_out():
    h = {"d_loss": [1.0, -2.0], "gp": [0.1, 0.3]}
    np.testing.assert_allclose(plot.critic_estimate(h), [-1.0, 2.0])
    np.testing.assert_allclose(plot.critic_estimate(h, gp_lambda=10.0), [0.0, 5.0])


def test_critic_curve_plots_the_estimate_of_a_wgan_gp_run():
    cfg = ganlib.TrainConfig(loss="wgan-gp", dataset="ring", steps=6, device="cpu", snapshot_steps=(3,),
                             check_every=3)
    result = ganlib.train(cfg, verbose=False, progress=False, evaluate=lambda r: {"x": float(r.step)})
    ax = plot.critic_curve(result, eval_key="x", smooth=2)
    y = plot.critic_estimate(result.history, 10.0)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), (y[1:] + y[:-1]) / 2)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [3.0, 6.0])
    plt.close(ax.figure)


def test_critic_curve_can_share_one_axis():
    cfg = ganlib.TrainConfig(loss="wgan", dataset="ring", steps=4, device="cpu", check_every=2)
    result = ganlib.train(cfg, verbose=False, progress=False, evaluate=lambda r: {"x": 0.5})
    ax = plot.critic_curve(result, eval_key="x", twin=False, smooth=1)
    assert len(ax.figure.axes) == 1
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), plot.critic_estimate(result.history))
    np.testing.assert_allclose(lines[1].get_ydata(), [0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()][1] == "x"
    plt.close(ax.figure)


def test_loss_shapes_figure_has_one_legend_naming_each_loss_once():
    fig = plot.loss_shapes_figure(["minimax", "lsgan"], logits=[0.0, 1.0])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["minimax", "lsgan"]
    plt.close(fig)
