"""Figures of chapters 01-03: the generator-gradient figure against hand-derived derivatives, eval curves."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ganlib import plot  # noqa: E402
from ganlib.errors import GanlibError  # noqa: E402

F = [-6.0, -2.0, 0.0, 2.0]


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_generator_gradient_figure_plots_hand_derivatives_against_sigmoid():
    ax = plot.generator_gradient_figure(logits=F)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"minimax", "nonsaturating"}
    p = [sig(f) for f in F]
    # x axis is D(G(z)) = σ(f); |d/df log(1 − σ(f))| = σ(f), |d/df −log σ(f)| = 1 − σ(f)
    np.testing.assert_allclose(lines["minimax"].get_xdata(), p, rtol=1e-12)
    np.testing.assert_allclose(lines["minimax"].get_ydata(), p, rtol=1e-9)
    np.testing.assert_allclose(lines["nonsaturating"].get_ydata(), [1 - v for v in p], rtol=1e-9)
    assert ax.get_yscale() == "log"
    assert lines["minimax"].get_color() == plot.LOSS_COLOURS["minimax"]


def test_generator_gradient_figure_saturates_only_for_minimax():
    ax = plot.generator_gradient_figure(logits=[-8.0])
    ys = {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}
    assert ys["minimax"] < 1e-3 < 0.99 < ys["nonsaturating"]


RUNS = {
    "minimax seed 0": [{"step": 0, "a": 1.0, "b": 0.5}, {"step": 10, "a": 0.1, "b": 0.2}],
    "minimax seed 1": [{"step": 0, "a": 2.0, "b": 0.4}, {"step": 10, "a": 0.2, "b": 0.3}],
    "nonsaturating seed 0": [{"step": 0, "a": 3.0, "b": 0.1}, {"step": 10, "a": 4.0, "b": 0.9}],
}


def test_eval_curves_one_panel_per_key_with_the_recorded_values():
    fig = plot.eval_curves(RUNS, ["a", "b"], labels={"a": "A label"}, logy=["a"])
    ax_a, ax_b = fig.axes
    assert ax_a.get_ylabel() == "A label" and ax_b.get_ylabel() == "b"
    assert ax_a.get_yscale() == "log" and ax_b.get_yscale() == "linear"
    lines = {line.get_label(): line for line in ax_b.get_lines()}
    np.testing.assert_array_equal(lines["minimax seed 1"].get_xdata(), [0, 10])
    np.testing.assert_array_equal(lines["minimax seed 1"].get_ydata(), [0.4, 0.3])
    np.testing.assert_array_equal(lines["nonsaturating seed 0"].get_ydata(), [0.1, 0.9])


def test_eval_curves_same_loss_same_colour_different_style():
    fig = plot.eval_curves(RUNS, ["a"])
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    m0, m1, ns = lines["minimax seed 0"], lines["minimax seed 1"], lines["nonsaturating seed 0"]
    assert m0.get_color() == m1.get_color() == plot.LOSS_COLOURS["minimax"]
    assert ns.get_color() == plot.LOSS_COLOURS["nonsaturating"]
    assert m0.get_linestyle() != m1.get_linestyle()
    assert m0.get_linestyle() == ns.get_linestyle()  # the first run of each loss is solid


def test_eval_curves_names_a_missing_key_and_what_is_there():
    with pytest.raises(GanlibError, match=r"'c'.*a, b, step"):
        plot.eval_curves(RUNS, ["c"])


def test_eval_curves_rejects_no_runs():
    with pytest.raises(GanlibError):
        plot.eval_curves({}, ["a"])


def test_eval_curves_takes_train_results_directly():
    class Run:  # what eval_curves needs of a TrainResult
        evals = RUNS["nonsaturating seed 0"]

    fig = plot.eval_curves({"nonsaturating seed 0": Run()}, ["a"])
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 4.0])
