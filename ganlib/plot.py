"""Figures for the book: sample grids, loss curves, toy scatter plots. PNG only, on a white canvas
with mid-tone colours so they read on the book's light and dark themes alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .io import save_figure

if TYPE_CHECKING:
    from .train import TrainResult

# one colour per loss, the same in every chapter (colour-blind-safe Okabe-Ito palette)
LOSS_COLOURS = {"minimax": "#E69F00", "nonsaturating": "#0072B2", "wgan": "#009E73",
                "wgan-gp": "#CC79A7", "lsgan": "#D55E00", "hinge": "#56B4E9"}
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
                     "figure.dpi": 80, "savefig.format": "png"})


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, 1, 28, 28) images (uint8, or float in [−1, 1]) into one 2-D uint8 array."""
    if images.dtype != torch.uint8:
        images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    imgs = images.reshape(len(images), 28, 28).cpu().numpy()
    n = len(imgs)
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol_rows = int(np.ceil(n / nrow))
    canvas = np.full((ncol_rows * (28 + pad) + pad, nrow * (28 + pad) + pad), 64, np.uint8)
    for i, img in enumerate(imgs):
        r, c = divmod(i, nrow)
        canvas[pad + r * (28 + pad): pad + r * (28 + pad) + 28, pad + c * (28 + pad): pad + c * (28 + pad) + 28] = img
    return canvas


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
    ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.4, color="#0072B2", label="generated")
    if centres is not None:
        c = centres.cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, color="#D55E00", label="mode centres")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    return ax


def snapshot_figure(result: "TrainResult", steps: Sequence[int] | None = None):
    """The fixed-noise samples of a run at the given snapshot steps (all by default), side by side."""
    from .data import toy_mixture

    steps = sorted(result.snapshots) if steps is None else list(steps)
    fig, axes = plt.subplots(1, len(steps), figsize=(3 * len(steps), 3.2), squeeze=False)
    for ax, s in zip(axes[0], steps):
        if result.config.is_toy:
            show_points(result.snapshots[s], toy_mixture(result.config.dataset).centres, f"step {s}", ax)
        else:
            show_grid(result.snapshots[s], f"step {s}", ax)
    fig.suptitle(f"{result.config.loss} on {result.config.dataset}", fontsize=11)
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
        ax.set_xlabel("generator step")
        ax.set_ylabel({"d_loss": "discriminator loss $L_D$", "g_loss": "generator loss $L_G$"}.get(key, key))
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_samples(result: "TrainResult", path: str | Path) -> None:
    """The last snapshot of a run as ``samples.png``."""
    fig = snapshot_figure(result, [max(result.snapshots)])
    save_figure(fig, path)
    plt.close(fig)
