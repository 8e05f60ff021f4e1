"""Tables and figures of a loss comparison, from the results ``ganlib.compare`` writes (results.json).

Every function takes the results dict and names the dataset and the experiment: ``protocol``
(``paper`` or ``controlled``) and, for the learning-rate sweep, ``lr``. Nothing here trains or
evaluates. Missing pieces never crash a table or a figure: losses whose every seed diverged, seeds
that are absent (no seed 0), experiments that are only partly run, or results from before the
protocols each get a visible note (``notes``, and a line under each table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import bootstrap
from .data import IMAGE_DATASETS, toy_mixture
from .errors import GanlibError
from .io import save_figure
from .layout import POINTS, run_dir, sample_png
from .losses import LOSS_NAMES
from .plot import LOSS_COLOURS, show_points


@dataclass(frozen=True)
class Column:
    """A table column: its header, number format, which direction is better, and its definition."""

    label: str
    fmt: str
    better: str | None  # "lower", "higher" or None
    definition: str


COLUMNS: dict[str, Column] = {
    "fcd": Column("FCD ↓", "{:.1f}", "lower",
                  "Fréchet classifier distance ‖μ_g − μ_r‖² + Tr(Σ_g + Σ_r − 2(Σ_g Σ_r)^{1/2}) between Gaussians "
                  "fitted to the 128-d penultimate features of the dataset's classifier on 5,000 generated images "
                  "and on the dataset's fixed reference images (results.json names the reference and N beside "
                  "every value); lower is better, 0 for identical statistics."),
    "classes_covered": Column("classes ↑", "{:.1f}", "higher",
                              "Number of the 10 classes that receive at least half of their uniform share (5 %) "
                              "of the classifier's predictions on the generated images; 10 is best."),
    "kl_to_uniform": Column("KL to uniform ↓", "{:.2f}", "lower",
                            "KL(h ‖ uniform) = Σ_k h_k ln(10 h_k) in nats of the histogram h of predicted classes; "
                            "0 when every class is equally frequent, ln 10 ≈ 2.30 for a single class."),
    "modes_covered": Column("modes covered ↑", "{:.1f}", "higher",
                            "Modes of the 2-D mixture that are the nearest mode of at least 20 in 2,500 generated "
                            "points lying within 3 standard deviations of it."),
    "high_quality": Column("high-quality share ↑", "{:.2f}", "higher",
                           "Share of generated points within 3 standard deviations of their nearest mode."),
    "wall_time_s": Column("time (s)", "{:.0f}", None,
                          "Training seconds of the run (evaluations excluded), with as many runs sharing the "
                          "device as results.json's meta.jobs says: comparable within one comparison only."),
    "images_per_s": Column("images/s", "{:.0f}", None,
                           "Generator steps × batch size per training second; critic steps are its cost."),
}
TABLE_NOTE = ("Each cell: mean ± sample standard deviation over the finished seeds, and for the quality metrics "
              "in brackets the 95 % percentile-bootstrap interval of the mean.")
X_AXES = {"step": "generator step", "critic_updates": "critic updates", "train_s": "training seconds"}


# ------------------------------------------------------------------------------------ lookups, notes

def block(results: dict, dataset: str, protocol: str = "paper", lr: float | None = None) -> dict:
    """The results of one experiment: ``protocol`` on ``dataset`` (at the swept ``lr`` if given)."""
    if dataset not in results["datasets"]:
        raise GanlibError(f"no {dataset} in these results; they hold {', '.join(results['datasets'])}")
    exps = results["datasets"][dataset]["experiments"]
    for b in exps.values():
        if b["protocol"] == protocol and (lr is None and b["variant"] == protocol or lr is not None and b["lr"] == lr):
            return b
    have = ", ".join(f"{b['protocol']}" + (f" lr {b['lr']:g}" if b["variant"] != b["protocol"] else "")
                     for b in exps.values())
    raise GanlibError(f"no {protocol} experiment{f' at lr {lr:g}' if lr else ''} on {dataset}; there are: {have}")


def _finished(b: dict, loss: str | None = None) -> list[dict]:
    return [r for r in b["runs"] if "diverged" not in r and (loss is None or r["loss"] == loss)]


def _losses(b: dict) -> list[str]:
    present = {r["loss"] for r in b["runs"]}
    return [name for name in LOSS_NAMES if name in present]


def block_notes(b: dict) -> list[str]:
    """Diverged runs, losses with no finished run, and seeds that differ between losses, in words."""
    notes = []
    seeds = {loss: sorted(r["seed"] for r in b["runs"] if r["loss"] == loss) for loss in _losses(b)}
    for loss in _losses(b):
        bad = [r["seed"] for r in b["runs"] if r["loss"] == loss and "diverged" in r]
        if bad and len(bad) == len(seeds[loss]):
            notes.append(f"{loss}: every run diverged (seeds {bad}); it has no values")
        elif bad:
            notes.append(f"{loss}: {len(bad)} of {len(seeds[loss])} runs diverged (seeds {bad}); its statistics "
                         f"use the others only")
    if len({tuple(s) for s in seeds.values()}) > 1:
        notes.append("the losses were run with different seeds: " +
                     "; ".join(f"{loss} {s}" for loss, s in seeds.items()))
    return notes


def notes(results: dict, dataset: str | None = None) -> list[str]:
    """Every note the results carry: the comparison's own (e.g. results that predate the protocols), and
    per experiment diverged runs, missing losses and uneven seeds."""
    out = list(results["meta"].get("notes", []))
    for d, entry in results["datasets"].items():
        if dataset is not None and d != dataset:
            continue
        for b in entry["experiments"].values():
            out += [f"{d}, {b['variant']}: {n}" for n in block_notes(b)]
    return out


def column_definitions(results: dict, dataset: str) -> str:
    """A Markdown list defining every column of ``dataset``'s tables."""
    cols = _columns(results, dataset)
    lines = [f"- **{COLUMNS[c].label}**: {COLUMNS[c].definition}" for c in cols]
    return "\n".join(["- **seeds**: finished runs (and diverged ones) behind each cell."] + lines + [f"\n{TABLE_NOTE}"])


def _columns(results: dict, dataset: str) -> list[str]:
    present = set()
    for b in results["datasets"][dataset]["experiments"].values():
        for row in b["summary"].values():
            present |= set(row)
    return [c for c in COLUMNS if c in present]


# -------------------------------------------------------------------------------------------- tables

def _cell(c: str, cell: dict | None) -> str:
    if cell is None:
        return "–"
    fmt = COLUMNS[c].fmt
    text = f"{fmt.format(cell['mean'])} ± {fmt.format(cell['std'])}"
    if cell.get("ci95") is not None and cell["n"] > 1 and COLUMNS[c].better:  # intervals for the quality metrics
        text += f" [{fmt.format(cell['ci95'][0])}, {fmt.format(cell['ci95'][1])}]"
    return text


def _cell_n(c: str, cell: dict | None) -> str:
    """A summary cell as "mean ± std (n)", "–" when there is none."""
    if cell is None:
        return "–"
    fmt = COLUMNS[c].fmt
    return f"{fmt.format(cell['mean'])} ± {fmt.format(cell['std'])} ({cell['n']})"


def summary_table(results: dict, dataset: str, protocol: str = "paper", lr: float | None = None) -> str:
    """A Markdown table, one row per loss: finished seeds (diverged ones) and each metric's
    mean ± std [95 % interval] over seeds; notes on diverged or missing runs below it."""
    b = block(results, dataset, protocol, lr)
    cols = [c for c in _columns(results, dataset) if any(c in row for row in b["summary"].values())]
    lines = ["| loss | seeds | " + " | ".join(COLUMNS[c].label for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for loss in _losses(b):
        row = b["summary"].get(loss, {})
        n = len(_finished(b, loss))
        div = sum(1 for r in b["runs"] if r["loss"] == loss and "diverged" in r)
        lines.append(f"| {loss} | {n}{f' ({div} diverged)' if div else ''} | " +
                     " | ".join(_cell(c, row.get(c)) for c in cols) + " |")
    extra = block_notes(b) + [n for n in results["meta"].get("notes", [])]
    return "\n".join(lines) + "".join(f"\n\n*Note: {n}*" for n in extra)


def ranking(results: dict, dataset: str, metric: str = "fcd", protocol: str = "paper",
            lr: float | None = None) -> list[tuple[str, float, float]]:
    """Losses with a value of ``metric``, sorted by its mean (best first: lowest FCD, most modes)."""
    b = block(results, dataset, protocol, lr)
    rows = [(loss, s[metric]["mean"], s[metric]["std"]) for loss, s in b["summary"].items() if metric in s]
    lower = COLUMNS[metric].better == "lower" if metric in COLUMNS else False
    return sorted(rows, key=lambda r: r[1] if lower else -r[1])


def pairwise_table(results: dict, dataset: str, protocol: str = "paper", metric: str = "fcd",
                   lr: float | None = None) -> str:
    """A Markdown table of every pair of losses: difference of means (a − b), its 95 % bootstrap
    interval, and whether the seeds resolve it (results.json's meta.statistics.rule)."""
    b = block(results, dataset, protocol, lr)
    pairs = b.get("pairwise", {}).get(metric, [])
    fmt = COLUMNS[metric].fmt
    holm = any("p_holm" in p for p in pairs)  # results made with ganlib.stats (older ones: bootstrap only)
    head = f"| a | b | {COLUMNS[metric].label.split()[0]} a − b | 95 % interval |" + (" Holm p |" if holm else "")
    lines = [head + " resolved |", "|---|---|---|---|" + ("---|" if holm else "") + "---|"]
    for p in pairs:
        ci = "–" if p["ci95"] is None else f"[{fmt.format(p['ci95'][0])}, {fmt.format(p['ci95'][1])}]"
        adj = ("" if not holm else " – |" if p.get("p_holm") is None else f" {p['p_holm']:.3f} |")
        lines.append(f"| {p['a']} | {p['b']} | {fmt.format(p['diff'])} | {ci} |{adj} "
                     f"{'yes' if p['resolved'] else 'no'} |")
    rule = results["meta"].get("statistics", {}).get("rule")
    return "\n".join(lines) + (f"\n\n*Rule: {rule}.*" if rule else "")


# the training settings a protocol may change; clip and gp_lambda stay with their loss in both
SETTINGS: tuple[str, ...] = ("optimizer", "lr", "betas", "n_critic", "d_norm")


def settings_changed(before: dict, after: dict) -> str:
    """The training settings that differ between two run records, as "name old → new" (comma-separated;
    "none" when they match). Adam's β are named only where both runs use Adam (RMSprop has none)."""
    optimizers = (before.get("optimizer"), after.get("optimizer"))
    keys = [k for k in SETTINGS if not (k == "betas" and "rmsprop" in optimizers)]

    def show(v: object) -> str:
        if isinstance(v, float):
            return f"{v:g}"
        return f"({', '.join(f'{x:g}' for x in v)})" if isinstance(v, list) else str(v)

    changed = [f"{k} {show(before.get(k))} → {show(after.get(k))}" for k in keys if before.get(k) != after.get(k)]
    return ", ".join(changed) or "none"


def protocol_table(results: dict, dataset: str, metric: str) -> str:
    """A Markdown table, one row per loss: ``metric`` under ``paper`` and under ``controlled`` (mean ± std,
    seeds), the difference d = x̄_controlled − x̄_paper with its 95 % bootstrap interval, whether the seeds
    resolve it (``bootstrap.RULE``), and which training settings differ between the two protocols' runs of
    that loss (read from the run records). Where only one setting differs, d measures that setting's
    effect on this dataset and these seeds."""
    paper, controlled = block(results, dataset, "paper"), block(results, dataset, "controlled")
    fmt = COLUMNS[metric].fmt
    lines = [f"| loss | {COLUMNS[metric].label} paper | controlled | controlled − paper | 95 % interval | resolved | "
             "settings changed (paper → controlled) |", "|---|---|---|---|---|---|---|"]
    for loss in (name for name in LOSS_NAMES if name in _losses(paper) + _losses(controlled)):
        # the summaries hold each protocol's cell (mean, std, n) of the same finished values
        cp, cc = (b["summary"].get(loss, {}).get(metric) for b in (paper, controlled))
        if cp is None or cc is None:
            lines.append(f"| {loss} | {_cell_n(metric, cp)} | {_cell_n(metric, cc)} | – | – | – | – |")
            continue
        runs_p, runs_c = _finished(paper, loss), _finished(controlled, loss)
        d = bootstrap.difference(*([r[metric] for r in runs if r.get(metric) is not None]
                                   for runs in (runs_c, runs_p)))
        lo, hi = d["ci95"]
        lines.append(f"| {loss} | {_cell_n(metric, cp)} | {_cell_n(metric, cc)} | {fmt.format(d['diff'])} | "
                     f"[{fmt.format(lo)}, {fmt.format(hi)}] | {'yes' if d['resolved'] else 'no'} | "
                     f"{settings_changed(runs_p[0], runs_c[0])} |")
    return "\n".join(lines) + (f"\n\n*(n): finished seeds. Resolved: both protocols have at least "
                               f"{bootstrap.MIN_SEEDS} finished seeds and the {bootstrap.LEVEL:.0%} "
                               f"percentile-bootstrap interval ({bootstrap.RESAMPLES:,} resamples of the seeds) "
                               f"of the difference excludes 0.*")


def _interp_at(run: dict, x: str, at: float, metric: str) -> float | None:
    pts = [(e[x], e[metric]) for e in run["evals"] if x in e and metric in e]
    if not pts or at > pts[-1][0]:
        return None
    xs, ys = zip(*pts)
    return float(np.interp(at, xs, ys))


def equal_compute_table(results: dict, dataset: str, protocol: str = "paper", x: str = "train_s",
                        metric: str = "fcd") -> str:
    """``metric`` of every loss at the same compute: the largest value of ``x`` (training seconds,
    critic updates or generator steps) that every finished run reached, by linear interpolation
    between its evaluations. Mean ± std over seeds."""
    b = block(results, dataset, protocol)
    runs = [r for r in _finished(b) if any(x in e for e in r.get("evals", []))]
    if not runs:
        return f"*No run of {protocol} on {dataset} recorded {X_AXES.get(x, x)} (results made before they were).*"
    at = min(max(e[x] for e in r["evals"] if x in e) for r in runs)
    fmt = COLUMNS[metric].fmt
    lines = [f"| loss | seeds | {COLUMNS[metric].label} at {fmt.format(at) if x != 'train_s' else f'{at:.1f}'} "
             f"{X_AXES.get(x, x)} | generator steps by then |", "|---|---|---|---|"]
    for loss in _losses(b):
        vals = [(_interp_at(r, x, at, metric), _interp_at(r, x, at, "step")) for r in runs if r["loss"] == loss]
        vals = [v for v in vals if v[0] is not None]
        if not vals:
            lines.append(f"| {loss} | 0 | – | – |")
            continue
        m, s = np.array([v[0] for v in vals]), np.array([v[1] for v in vals])
        std = m.std(ddof=1) if len(m) > 1 else 0.0
        lines.append(f"| {loss} | {len(m)} | {fmt.format(m.mean())} ± {fmt.format(std)} | {s.mean():.0f} |")
    return "\n".join(lines)


def _sweep_blocks(results: dict, dataset: str) -> list[dict]:
    """The controlled protocol's experiments on ``dataset`` (its own rate and the sweep's), by learning rate."""
    experiments = results["datasets"].get(dataset, {"experiments": {}})["experiments"].values()
    return sorted((b for b in experiments if b["protocol"] == "controlled"), key=lambda b: b["lr"])


def sweep_table(results: dict, dataset: str = "mnist", metric: str = "fcd") -> str:
    """The learning-rate sweep under ``controlled``: per loss, ``metric`` (mean ± std, seeds) at each
    rate, the best rate and the spread (largest minus smallest mean over the rates)."""
    blocks = _sweep_blocks(results, dataset)
    if len(blocks) < 2:
        return f"*No learning-rate sweep on {dataset} in these results.*"
    fmt = COLUMNS[metric].fmt
    lower = COLUMNS[metric].better == "lower"
    lines = ["| loss | " + " | ".join(f"lr {b['lr']:.2g}" for b in blocks) + " | best lr | spread |",
             "|---|" + "---|" * (len(blocks) + 2)]
    losses = [name for name in LOSS_NAMES if any(name in b["summary"] for b in blocks)]
    for loss in losses:
        cells, means = [], {}
        for b in blocks:
            c = b["summary"].get(loss, {}).get(metric)
            cells.append(_cell_n(metric, c))
            if c:
                means[b["lr"]] = c["mean"]
        if means:
            best = (min if lower else max)(means, key=means.get)
            tail = f"{best:.2g} | {fmt.format(max(means.values()) - min(means.values()))}"
        else:
            tail = "– | –"
        lines.append(f"| {loss} | " + " | ".join(cells) + f" | {tail} |")
    return "\n".join(lines) + "\n\n*(n): finished seeds. Spread: largest minus smallest mean over the rates.*"


# ------------------------------------------------------------------------------------------- figures

def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, wrap=True)


def fcd_curves(results: dict, dataset: str = "mnist", protocol: str = "paper", x: str = "step",
               lr: float | None = None):
    """FCD against ``x`` (``step``, ``critic_updates`` or ``train_s``) for every loss: mean over the
    finished seeds at each evaluation, shaded min–max band (log scale)."""
    if x not in X_AXES:
        raise GanlibError(f"unknown x axis {x!r}; choose one of: {', '.join(X_AXES)}")
    b = block(results, dataset, protocol, lr)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for loss in _losses(b):
        runs = [r for r in _finished(b, loss) if all(x in e for e in r["evals"])]
        if not runs:
            continue
        k = min(len(r["evals"]) for r in runs)
        xs = np.array([[e[x] for e in r["evals"][:k]] for r in runs]).mean(0)
        vals = np.array([[e["fcd"] for e in r["evals"][:k]] for r in runs])
        keep = xs > 0
        ax.plot(xs[keep], vals.mean(0)[keep], marker="o", ms=3, label=f"{loss} ({len(runs)})", color=LOSS_COLOURS[loss])
        ax.fill_between(xs[keep], vals.min(0)[keep], vals.max(0)[keep], alpha=0.15, color=LOSS_COLOURS[loss])
    if ax.lines:
        ax.set_yscale("log")
        ax.legend(fontsize=8, ncol=2, title="loss (seeds)", title_fontsize=8)
    else:
        _no_data(ax, f"no finished run with {X_AXES[x]} recorded")
    ax.set_xlabel(X_AXES[x] + (" (mean over seeds)" if x == "train_s" else ""))
    ax.set_ylabel("Fréchet classifier distance (log)")
    ax.set_title(f"{dataset}, {b['variant']}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def critic_vs_fcd(results: dict, dataset: str = "mnist", protocol: str = "paper"):
    """For the Wasserstein losses: the critic's distance estimate −L_D (penalty excluded) against FCD."""
    b = block(results, dataset, protocol)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, loss in zip(axes, ("wgan", "wgan-gp")):
        for r in _finished(b, loss):
            pts = [(c, e["fcd"]) for c, e in zip(r.get("critic_estimate_at_evals", []), r["evals"]) if c is not None]
            if pts:
                c, f = zip(*pts)
                ax.plot(c, f, marker="o", ms=4, color=LOSS_COLOURS[loss], alpha=0.7, label=f"seed {r['seed']}")
        ax.set_xlabel("critic estimate $-L_D$ (mean over recent steps)")
        ax.set_ylabel("FCD")
        ax.set_title(f"{loss} ({b['variant']})", fontsize=10)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            _no_data(ax, f"no finished {loss} run")
    fig.tight_layout()
    return fig


def _common_seed(b: dict, losses: list[str], seed: int | None) -> int | None:
    """``seed`` if given, else the smallest seed every loss finished, else the smallest finished at all."""
    if seed is not None:
        return seed
    sets = [{r["seed"] for r in _finished(b, loss)} for loss in losses]
    common = set.intersection(*sets) if sets else set()
    anyone = set.union(*sets) if sets else set()
    return min(common) if common else (min(anyone) if anyone else None)


PANELS_PER_ROW = 3  # six losses as 2 × 3: readable on a phone-width page, where a row of six is not


def panel_axes(n: int, width: float, height: float) -> tuple[plt.Figure, list]:
    """A figure with ``n`` panels of ``width`` × ``height`` inches, at most ``PANELS_PER_ROW`` per row;
    unused cells of the last row are switched off."""
    n = max(1, n)
    cols = min(n, PANELS_PER_ROW)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def sample_grids(results: dict, out: str | Path, dataset: str = "mnist", seed: int | None = None,
                 step: int | None = None, protocol: str = "paper"):
    """Fixed-noise sample grids of every loss side by side at the last (or ``step``) evaluation, one
    seed (default: the smallest seed every loss finished), so every panel starts from the same noise."""
    b = block(results, dataset, protocol)
    losses = _losses(b)
    seed = _common_seed(b, losses, seed)
    step = step or b["steps"]
    fig, axes = panel_axes(len(losses), 2.3, 2.6)
    for ax, loss in zip(axes, losses):
        path = sample_png(Path(out), dataset, loss, seed, step, b["variant"]) if seed is not None else None
        rec = next((r for r in b["runs"] if r["loss"] == loss and r["seed"] == seed), None)
        if path is not None and path.exists() and rec is not None and "diverged" not in rec:
            ax.imshow(plt.imread(path), cmap="gray")
            ax.set_title(loss, fontsize=10)
        else:
            why = "diverged" if rec is not None and "diverged" in rec else "no run" if rec is None else "no grid"
            ax.set_title(f"{loss}\n({why})", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{dataset}, {b['variant']}, seed {seed}, step {step} (same fixed noise)", fontsize=10)
    fig.tight_layout()
    return fig


def toy_panels(results: dict, out: str | Path, dataset: str = "ring", seed: int | None = None,
               protocol: str = "paper"):
    """Generated points of every loss on a 2-D mixture (from the runs' checkpoints), with modes covered
    and high-quality share; one seed (default: the smallest seed every loss finished)."""

    b = block(results, dataset, protocol)
    losses = _losses(b)
    seed = _common_seed(b, losses, seed)
    mixture = toy_mixture(dataset)
    fig, axes = panel_axes(len(losses), 2.4, 2.7)
    for ax, loss in zip(axes, losses):
        rec = next((r for r in b["runs"] if r["loss"] == loss and r["seed"] == seed), None)
        points = run_dir(Path(out), dataset, loss, seed, b["variant"]) / POINTS
        if rec is None or "diverged" in rec or not points.exists():
            why = "no run" if rec is None else "diverged" if "diverged" in rec else "no samples"
            ax.set_title(f"{loss}\n({why})", fontsize=9)
            ax.axis("off")
            continue
        final = torch.tensor(json.loads(points.read_text())["points"])
        show_points(final, mixture.centres, ax=ax, lim=3.2 if dataset == "ring" else 5.5,
                    title=f"{loss}\n{rec['modes_covered']} modes, HQ {rec['high_quality']:.2f}")
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{dataset}, {b['variant']}, seed {seed}", fontsize=10)
    fig.tight_layout()
    return fig


def sweep_figure(results: dict, dataset: str = "mnist", metric: str = "fcd"):
    """``metric`` against the learning rate under ``controlled``, one line per loss (mean ± std)."""
    blocks = _sweep_blocks(results, dataset)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for loss in LOSS_NAMES:
        pts = [(b["lr"], b["summary"][loss][metric]) for b in blocks if metric in b["summary"].get(loss, {})]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1]["mean"] for p in pts], yerr=[p[1]["std"] for p in pts],
                        marker="o", ms=4, capsize=3, label=loss, color=LOSS_COLOURS[loss])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (controlled protocol)")
    ax.set_ylabel(COLUMNS[metric].label)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def figure_names(dataset: str, variant: str) -> dict[str, str]:
    """File names of an experiment's figures (the paper protocol keeps the names of older results)."""
    prefix = "" if variant == "paper" else f"{variant}_"
    if dataset not in IMAGE_DATASETS:
        return {"toy": f"{prefix}toy_{dataset}.png"}
    return {"samples": f"{prefix}samples_{dataset}.png", "fcd_vs_step": f"{prefix}fcd_vs_step_{dataset}.png",
            "fcd_vs_time": f"{prefix}fcd_vs_time_{dataset}.png",
            "critic_vs_fcd": f"{prefix}critic_vs_fcd_{dataset}.png"}


def write_figures(results: dict, out: str | Path) -> None:
    """Every figure of the comparison, as PNG files in ``out`` (each written atomically)."""
    out = Path(out)
    for dataset, entry in results["datasets"].items():
        for b in entry["experiments"].values():
            if b["variant"] != b["protocol"] or not _finished(b):
                continue  # sweep rates: one figure for the sweep below; nothing finished: nothing to draw
            names = figure_names(dataset, b["variant"])
            p = b["protocol"]
            if dataset in IMAGE_DATASETS:
                figs = {names["samples"]: sample_grids(results, out, dataset, protocol=p),
                        names["fcd_vs_step"]: fcd_curves(results, dataset, p),
                        names["fcd_vs_time"]: fcd_curves(results, dataset, p, x="train_s")}
                if {"wgan", "wgan-gp"} & set(_losses(b)):
                    figs[names["critic_vs_fcd"]] = critic_vs_fcd(results, dataset, p)
            else:
                figs = {names["toy"]: toy_panels(results, out, dataset, protocol=p)}
            for name, fig in figs.items():
                save_figure(fig, out / name)
                plt.close(fig)
        if sum(b["protocol"] == "controlled" for b in entry["experiments"].values()) > 1:
            fig = sweep_figure(results, dataset)
            save_figure(fig, out / f"lr_sweep_{dataset}.png")
            plt.close(fig)
