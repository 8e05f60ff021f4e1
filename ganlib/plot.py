"""Figures for the book: sample grids, loss curves, toy scatter plots. PNG only, on a white canvas
with mid-tone colours so they read on the book's light and dark themes alike.

Importing this module (``import ganlib`` does not) sets matplotlib's ``STYLE`` rcParams for the whole
process, so that the chapters' own figures match the ones drawn here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import matplotlib.pyplot as plt
import numpy as np
import torch

from .images import grid_array  # plot.grid_array and plot.critic_estimate stay where callers found them
from .language import tr, use_language_font
from .step import critic_estimate


class Run(Protocol):
    """What the figures read from a run; ``train.TrainResult`` is one."""

    config: Any
    snapshots: Mapping[int, torch.Tensor]
    history: Mapping[str, Sequence[float]]
    evals: Sequence[Mapping[str, float]]


# one colour per loss, the same in every chapter (colour-blind-safe Okabe-Ito palette)
LOSS_COLOURS = {"minimax": "#E69F00", "nonsaturating": "#0072B2", "wgan": "#009E73",
                "wgan-gp": "#CC79A7", "lsgan": "#D55E00", "hinge": "#56B4E9"}
# a white canvas at 80 dpi for every figure of the process (see the module's docstring)
STYLE = {"figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
         "figure.dpi": 80, "savefig.format": "png"}
plt.rcParams.update(STYLE)
use_language_font()  # GANLIB_LANG=zh_CN: a font with Chinese glyphs, or a one-line error


def show_grid(images: torch.Tensor, title: str = "", ax=None, nrow: int | None = None):
    """Draw a sample grid on ``ax`` (a new figure if none) and return the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid_array(images, nrow), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return ax


def show_points(points: torch.Tensor, centres: torch.Tensor | None = None, title: str = "", ax=None, lim: float = 5.5):
    """Scatter generated 2-D points, with the mixture's mode centres as crosses."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    p = points.detach().cpu().numpy()
    ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.4, color="#0072B2", label=tr("generated"))
    if centres is not None:
        c = centres.cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, color="#D55E00", label=tr("mode centres"))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    return ax


def snapshot_figure(result: Run, steps: Sequence[int] | None = None):
    """The fixed-noise samples of a run at the given snapshot steps (all by default), side by side."""
    from .data import toy_mixture

    steps = sorted(result.snapshots) if steps is None else list(steps)
    fig, axes = plt.subplots(1, len(steps), figsize=(3 * len(steps), 3.2), squeeze=False)
    for ax, s in zip(axes[0], steps):
        if result.config.spec.is_toy:
            show_points(result.snapshots[s], toy_mixture(result.config.dataset).centres, tr("step {step}", step=s), ax)
        else:
            show_grid(result.snapshots[s], tr("step {step}", step=s), ax)
    fig.suptitle(tr("{loss} on {dataset}", loss=result.config.loss, dataset=result.config.dataset), fontsize=11)
    fig.tight_layout()
    return fig


def loss_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], smooth: int = 20, keys=("d_loss", "g_loss")):
    """Loss curves of several runs (name → history), moving-average smoothed over ``smooth`` steps."""
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, h in histories.items():
            y = np.asarray(h[key], dtype=float)
            k = max(1, min(smooth, len(y)))
            ys = np.convolve(y, np.ones(k) / k, mode="valid")
            ax.plot(np.asarray(h["step"])[k - 1:], ys, label=name, color=LOSS_COLOURS.get(name.split(" ")[0]))
        ax.set_xlabel(tr("generator step"))
        ax.set_ylabel({"d_loss": tr("discriminator loss $L_D$"), "g_loss": tr("generator loss $L_G$")}.get(key, key))
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- chapters 04 and 05: loss shapes, critic weights, the critic's estimate over training ---

# line styles that keep losses with identical curves apart (e.g. wgan and wgan-gp share L_D without the penalty)
LOSS_STYLES = {"minimax": "-", "nonsaturating": "--", "wgan": "-", "wgan-gp": ":", "lsgan": "-", "hinge": "-."}
LOSS_SLICES: tuple[str, ...] = ("d_real", "d_fake", "g")


def loss_slices(name: str, logits: Sequence[float] | torch.Tensor, other: float = 0.0
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-sample values and derivatives of loss ``name``, computed with ganlib's own loss functions.

    For each logit t (batches of one sample):
    ``d_real``: L_D(r = t, f = other) and ∂L_D/∂r; ``d_fake``: L_D(r = other, f = t) and ∂L_D/∂f;
    ``g``: L_G(f = t) and dL_G/df. For ``wgan-gp`` L_D is the critic loss without the penalty.
    Returns {slice: (values, derivatives)} as float64 arrays of the logits' length.
    """
    from torch.func import grad, vmap

    from .losses import get_loss

    loss = get_loss(name)
    t = torch.as_tensor(logits, dtype=torch.float64).reshape(-1)
    o = torch.tensor([other], dtype=torch.float64)
    fns = {"d_real": lambda s: loss.d_loss(s.reshape(1), o),
           "d_fake": lambda s: loss.d_loss(o, s.reshape(1)),
           "g": lambda s: loss.g_loss(s.reshape(1))}
    return {k: (vmap(fn)(t).numpy(), vmap(grad(fn))(t).numpy()) for k, fn in fns.items()}


def loss_shapes_figure(names: Sequence[str] | None = None, logits: Sequence[float] | torch.Tensor | None = None,
                       other: float = 0.0, ylim: tuple[float, float] = (-5.0, 8.0)):
    """One figure of the losses against the discriminator's logit: values (top) and derivatives (bottom).

    Columns: L_D on a real sample (r = t, f = ``other``), on a fake sample (r = ``other``, f = t), and
    L_G (f = t); see ``loss_slices``. Value panels are cut to ``ylim`` (the least-squares parabolas grow fast).
    """
    from .losses import LOSS_NAMES

    names = list(LOSS_NAMES if names is None else names)
    t = torch.linspace(-4, 4, 161, dtype=torch.float64) if logits is None else torch.as_tensor(logits)
    x = t.numpy()
    titles = {"d_real": tr("$L_D$ on a real sample ($f = {other:g}$)", other=other),
              "d_fake": tr("$L_D$ on a fake sample ($r = {other:g}$)", other=other), "g": tr("$L_G$ on a fake sample")}
    xlabels = {"d_real": tr("real logit $r$"), "d_fake": tr("fake logit $f$"), "g": tr("fake logit $f$")}
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4), sharex=True)
    for name in names:
        slices = loss_slices(name, t, other)
        for col, key in enumerate(LOSS_SLICES):
            for row in range(2):
                axes[row][col].plot(x, slices[key][row], label=name, color=LOSS_COLOURS.get(name),
                                    linestyle=LOSS_STYLES.get(name, "-"), linewidth=2.2 if row == 0 else 1.8)
    for col, key in enumerate(LOSS_SLICES):
        axes[0][col].set_title(titles[key], fontsize=10)
        axes[0][col].set_ylim(*ylim)
        axes[1][col].set_xlabel(xlabels[key])
        for row in range(2):
            axes[row][col].grid(alpha=0.3)
            axes[row][col].axvline(0, color="grey", linewidth=0.6)
    axes[0][0].set_ylabel(tr("loss"))
    axes[1][0].set_ylabel(tr("derivative w.r.t. the logit"))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room for the legend below the panels
    return fig


def weight_histogram(module: torch.nn.Module, clip: float | None = None, title: str = "", ax=None, bins: int = 60):
    """Histogram of all of a network's parameters, with dashed lines at ±``clip`` (WGAN weight clipping)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    w = torch.cat([p.detach().reshape(-1).float().cpu() for p in module.parameters()]).numpy()
    ax.hist(w, bins=bins, color="#009E73")
    if clip is not None:
        for v in (-clip, clip):
            ax.axvline(v, color="#D55E00", linestyle="--", linewidth=1)
    ax.set_xlabel(tr("parameter value"))
    ax.set_ylabel(tr("count"))
    ax.set_title(title, fontsize=10)
    return ax


def critic_curve(result: Run, eval_key: str | None = None, eval_label: str | None = None,
                 smooth: int = 50, twin: bool = True, ax=None):
    """The critic's estimate E[r] − E[f] over training (smoothed), and optionally ``result.evals[eval_key]``
    (e.g. an independent distance between generated and real samples): on a second axis when ``twin``
    (the clipped critic's estimate is that distance times an unknown constant), else on the same axis."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    h = result.history
    y = critic_estimate(h, result.config.recipe().gp_lambda)
    k = max(1, min(smooth, len(y)))
    colour = LOSS_COLOURS.get(result.config.loss, "#0072B2")
    ax.plot(np.asarray(h["step"])[k - 1:], np.convolve(y, np.ones(k) / k, mode="valid"), color=colour,
            label=tr(r"critic estimate $-L_D$ (smoothed)"))
    ax.set_xlabel(tr("generator step"))
    ax.set_ylabel(r"$\mathbb{E}[r] - \mathbb{E}[f]$", color=colour if twin and eval_key else "black")
    ax.grid(alpha=0.3)
    handles = list(ax.get_lines())
    if eval_key is not None:
        ax2 = ax.twinx() if twin else ax
        steps = [e["step"] for e in result.evals]
        handles += ax2.plot(steps, [e[eval_key] for e in result.evals], "o--", color="#000000",
                            label=eval_label or eval_key)
        if twin:
            ax2.set_ylabel(eval_label or eval_key)
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set_title(tr("{loss} on {dataset}", loss=result.config.loss, dataset=result.config.dataset), fontsize=10)
    return ax


# --- chapters 01-03: the generator's gradient against D(G(z)), quantities evaluated during training ---

def generator_gradient_figure(names: Sequence[str] = ("minimax", "nonsaturating"),
                              logits: Sequence[float] | torch.Tensor | None = None, ax=None):
    """|dL_G/df| of each loss against D(G(z)) = σ(f), log scale, from ganlib's own losses (``loss_slices``).

    For the saturating L_G = log(1 − σ(f)) the derivative is −σ(f), which vanishes as σ(f) → 0; for the
    non-saturating L_G = −log σ(f) it is −(1 − σ(f)), which tends to −1 there.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4))
    t = torch.linspace(-10, 10, 401, dtype=torch.float64) if logits is None else torch.as_tensor(logits)
    p = torch.sigmoid(t.to(torch.float64)).numpy()
    for name in names:
        _, deriv = loss_slices(name, t)["g"]
        ax.plot(p, np.abs(deriv), label=name, color=LOSS_COLOURS.get(name), linestyle=LOSS_STYLES.get(name, "-"))
    ax.set_yscale("log")
    ax.set_xlabel(r"$D(G(z)) = \sigma(f)$")
    ax.set_ylabel(r"$|\partial L_G / \partial f|$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax


_RUN_STYLES = ("-", "--", ":", "-.")


def eval_curves(runs: Mapping[str, Run | Sequence[Mapping[str, float]]], keys: Sequence[str],
                labels: Mapping[str, str] | None = None, logy: Sequence[str] = ()):
    """Values recorded by ``train(..., evaluate=fn)`` against the step, one panel per key. Each run is a
    TrainResult (its ``evals`` are used) or such a list of dicts. Runs are named "<loss> <anything>": runs
    of one loss share its colour and differ in line style (first solid, then dashed, dotted, dash-dotted).
    Keys in ``logy`` get a log y axis."""
    from .errors import GanlibError

    if not runs:
        raise GanlibError("eval_curves needs at least one run")
    labels = labels or {}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.2), squeeze=False)
    seen: dict[str, int] = {}
    for name, run in runs.items():
        evals = run.evals if hasattr(run, "evals") else run
        loss = name.split(" ")[0]
        style = _RUN_STYLES[seen.get(loss, 0) % len(_RUN_STYLES)]
        seen[loss] = seen.get(loss, 0) + 1
        for ax, key in zip(axes[0], keys):
            missing = [e for e in evals if key not in e]
            if missing:
                raise GanlibError(f"run {name!r} has no {key!r} in its evals; it has: {', '.join(sorted(missing[0]))}")
            ax.plot([e["step"] for e in evals], [e[key] for e in evals], marker="o", markersize=3,
                    linestyle=style, color=LOSS_COLOURS.get(loss), label=name)
    for ax, key in zip(axes[0], keys):
        ax.set_xlabel(tr("generator step"))
        ax.set_ylabel(labels.get(key, key))
        if key in logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig
