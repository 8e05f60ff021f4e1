"""Tables and figures of a loss comparison (``results.json`` written by ``ganlib.compare``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .data import IMAGE_DATASETS, toy_mixture
from .io import save_figure
from .losses import LOSS_NAMES
from .plot import LOSS_COLOURS, show_points

# column: (label, format, lower is better?)
COLUMNS = {
    "fcd": ("FCD ↓", "{:.2f}"),
    "classes_covered": ("classes ↑", "{:.1f}"),
    "kl_to_uniform": ("KL to uniform ↓", "{:.2f}"),
    "confidence": ("confidence ↑", "{:.2f}"),
    "modes_covered": ("modes covered ↑", "{:.1f}"),
    "high_quality": ("high-quality share ↑", "{:.2f}"),
    "wall_time_s": ("time (s)", "{:.0f}"),
    "images_per_s": ("images/s", "{:.0f}"),
}


def _losses(block: dict) -> list[str]:
    present = {r["loss"] for r in block["runs"]}
    return [name for name in LOSS_NAMES if name in present]


def summary_table(results: dict, dataset: str) -> str:
    """A Markdown table: one row per loss, mean ± std over seeds of every metric."""
    block = results["datasets"][dataset]
    first = block["summary"][_losses(block)[0]]
    cols = [c for c in COLUMNS if c in first]
    lines = ["| loss | seeds | " + " | ".join(COLUMNS[c][0] for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for loss in _losses(block):
        row = block["summary"][loss]
        n = max((row[c]["n"] for c in cols if c in row), default=0)
        cells = []
        for c in cols:
            fmt = COLUMNS[c][1]
            cells.append(f"{fmt.format(row[c]['mean'])} ± {fmt.format(row[c]['std'])}" if c in row else "–")
        diverged = f" ({row['diverged']} diverged)" if row.get("diverged") else ""
        lines.append(f"| {loss} | {n}{diverged} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ranking(results: dict, dataset: str, metric: str = "fcd") -> list[tuple[str, float, float]]:
    """Losses sorted by the mean of ``metric`` (best first: lowest FCD, most modes)."""
    block = results["datasets"][dataset]
    rows = [(loss, s[metric]["mean"], s[metric]["std"]) for loss, s in block["summary"].items() if metric in s]
    lower_better = metric in ("fcd", "kl_to_uniform")
    return sorted(rows, key=lambda r: r[1] if lower_better else -r[1])


def fcd_curves(results: dict, dataset: str = "mnist"):
    """FCD against generator step for every loss: mean over seeds, shaded min–max band."""
    block = results["datasets"][dataset]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for loss in _losses(block):
        runs = [r for r in block["runs"] if r["loss"] == loss and "evals" in r]
        steps = [e["step"] for e in runs[0]["evals"] if e["step"] > 0]
        vals = np.array([[e["fcd"] for e in r["evals"] if e["step"] > 0] for r in runs])
        ax.plot(steps, vals.mean(0), marker="o", ms=3, label=loss, color=LOSS_COLOURS[loss])
        ax.fill_between(steps, vals.min(0), vals.max(0), alpha=0.15, color=LOSS_COLOURS[loss])
    ax.set_yscale("log")
    ax.set_xlabel("generator step")
    ax.set_ylabel("Fréchet classifier distance (log)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def critic_vs_fcd(results: dict, dataset: str = "mnist"):
    """For the Wasserstein losses: the critic's distance estimate −L_D (penalty excluded) against FCD."""
    block = results["datasets"][dataset]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, loss in zip(axes, ("wgan", "wgan-gp")):
        for r in (r for r in block["runs"] if r["loss"] == loss and "evals" in r):
            pts = [(c, e["fcd"]) for c, e in zip(r["critic_estimate_at_evals"], r["evals"]) if c is not None]
            if pts:
                c, f = zip(*pts)
                ax.plot(c, f, marker="o", ms=4, color=LOSS_COLOURS[loss], alpha=0.7, label=f"seed {r['seed']}")
        ax.set_xlabel("critic estimate $-L_D$ (mean over recent steps)")
        ax.set_ylabel("FCD")
        ax.set_title(loss, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sample_grids(results: dict, out: str | Path, dataset: str = "mnist", seed: int = 0, step: int | None = None):
    """Final (or ``step``) fixed-noise sample grids of every loss side by side, the same noise for all."""
    from .compare import sample_png

    block = results["datasets"][dataset]
    losses = _losses(block)
    step = step or block["steps"]
    fig, axes = plt.subplots(1, len(losses), figsize=(2.3 * len(losses), 2.6), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        path = sample_png(Path(out), dataset, loss, seed, step)
        if path.exists():
            ax.imshow(plt.imread(path), cmap="gray")
        ax.set_title(loss, fontsize=10)
        ax.axis("off")
    fig.suptitle(f"{dataset}, seed {seed}, step {step} (same fixed noise)", fontsize=10)
    fig.tight_layout()
    return fig


def toy_panels(results: dict, out: str | Path, dataset: str = "ring", seed: int = 0):
    """Generated points of every loss on a 2-D mixture, with modes covered and high-quality share."""
    from .train import load_run
    from .compare import run_dir

    block = results["datasets"][dataset]
    losses = _losses(block)
    mixture = toy_mixture(dataset)
    fig, axes = plt.subplots(1, len(losses), figsize=(2.4 * len(losses), 2.7), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        rec = next(r for r in block["runs"] if r["loss"] == loss and r["seed"] == seed)
        if "diverged" in rec:
            ax.set_title(f"{loss}\ndiverged", fontsize=9)
            ax.axis("off")
            continue
        run = load_run(run_dir(Path(out), dataset, loss, seed))
        show_points(run.snapshots[max(run.snapshots)], mixture.centres, ax=ax, lim=3.2 if dataset == "ring" else 5.5,
                    title=f"{loss}\n{rec['modes_covered']} modes, HQ {rec['high_quality']:.2f}")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def write_figures(results: dict, out: str | Path) -> None:
    """Every figure of the comparison, as PNG files in ``out``."""
    out = Path(out)
    for dataset, block in results["datasets"].items():
        if not any("evals" in r for r in block["runs"]):
            continue
        if dataset in IMAGE_DATASETS:
            figs = {f"samples_{dataset}.png": sample_grids(results, out, dataset),
                    f"fcd_vs_step_{dataset}.png": fcd_curves(results, dataset)}
            if {"wgan", "wgan-gp"} & {r["loss"] for r in block["runs"]}:
                figs[f"critic_vs_fcd_{dataset}.png"] = critic_vs_fcd(results, dataset)
        else:
            figs = {f"toy_{dataset}.png": toy_panels(results, out, dataset)}
        for name, fig in figs.items():
            save_figure(fig, out / name)
            plt.close(fig)
