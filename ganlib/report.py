"""Tables and figures of a loss comparison, from the results ``ganlib.compare`` writes (results.json).

Every function takes the results dict and names the dataset and the experiment: by ``variant``
(``paper``, ``controlled``, ``controlled-lr6.3e-05``, ``controlled-norm-spectral``, ...), or by ``protocol``
and, for the learning-rate sweep, ``lr``. Statistics over seeds are computed here from the run records with
``ganlib.stats``. Nothing here trains or evaluates. Missing pieces never crash a table or a figure: losses
whose every seed diverged, seeds that are absent (no seed 0) and experiments that are only partly run each
get a visible note (``notes``, and a line under each table) or a "–".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import binomtest

from . import stats
from .compare_paths import POINTS, run_dir, sample_png
from .data import toy_mixture
from .datasets import dataset_spec
from .errors import GanlibError, check_choice
from .files import save_figure
from .language import tr
from .losses import LOSS_NAMES
from .models import NORMS
from .plot import LOSS_COLOURS, show_points
from .protocols import INVALID_PAIRS, parse_variant


@dataclass(frozen=True)
class Column:
    """A table column: its number format and which direction is better; ``label()`` gives its header and
    ``definition()`` its definition, both in the reader's language."""

    fmt: str
    better: str | None  # "lower", "higher" or None
    # the values the metric can take: a mean's interval is clipped to them (the true mean lies inside, so the
    # clipped interval covers it whenever the t interval does)
    bounds: tuple[float, float] = (-math.inf, math.inf)  # modes covered: see metric_bounds


COLUMNS: dict[str, Column] = {
    "fcd": Column("{:.1f}", "lower", (0.0, math.inf)),
    "classes_covered": Column("{:.1f}", "higher", (0.0, 10.0)),
    "kl_to_uniform": Column("{:.2f}", "lower", (0.0, math.log(10))),
    "modes_covered": Column("{:.1f}", "higher", (0.0, math.inf)),
    "high_quality": Column("{:.2f}", "higher", (0.0, 1.0)),
    "cpu_time_s": Column("{:.0f}", None),
    "wall_time_s": Column("{:.0f}", None),
    "images_per_s": Column("{:.0f}", None),
}
def label(c: str) -> str:
    """Column ``c``'s header in the reader's language (``ganlib.language``)."""
    return {"fcd": tr("FCD ↓"), "classes_covered": tr("classes ↑"), "kl_to_uniform": tr("KL to uniform ↓"),
            "modes_covered": tr("modes covered ↑"), "high_quality": tr("high-quality share ↑"),
            "cpu_time_s": tr("CPU s"), "wall_time_s": tr("time (s)"), "images_per_s": tr("images/s")}[c]


def definition(c: str) -> str:
    """Column ``c``'s definition in the reader's language (the English text is the msgid below)."""
    return {
        "fcd": tr("Fréchet classifier distance ‖μ_g − μ_r‖² + Tr(Σ_g + Σ_r − 2(Σ_g Σ_r)^{1/2}) between Gaussians "
                  "fitted to the 128-d penultimate features of the dataset's classifier on the generated images "
                  "(10,000 at the end of a run) and on the dataset's reference images (results.json names the "
                  "reference and N beside every value); lower is better, 0 for identical statistics."),
        "classes_covered": tr("Number of the 10 classes that receive at least half of their uniform share (5 %) "
                              "of the classifier's predictions on the generated images; 10 is best."),
        "kl_to_uniform": tr("KL(h ‖ uniform) = Σ_k h_k ln(10 h_k) in nats of the histogram h of predicted classes; "
                            "0 when every class is equally frequent, ln 10 ≈ 2.30 for a single class."),
        "modes_covered": tr("Modes of the 2-D mixture that are the nearest mode of at least 20 in 2,500 generated "
                            "points lying within 3 standard deviations of it."),
        "high_quality": tr("Share of generated points within 3 standard deviations of their nearest mode."),
        "cpu_time_s": tr("Process CPU seconds of the run's training (evaluations excluded), one thread per run: "
                         "they grow far less than wall seconds when other work shares the machine."),
        "wall_time_s": tr("Training seconds of the run (evaluations excluded), with as many runs sharing the "
                          "device as results.json's meta.jobs says: comparable within one comparison only."),
        "images_per_s": tr("Generator steps × batch size per training second; critic steps are its cost."),
    }[c]


def x_axis(x: str) -> str:
    """The name of a compute axis (one of ``X_AXES``) in the reader's language."""
    check_choice("x axis", x, X_AXES)
    return {"step": tr("generator step"), "critic_updates": tr("critic updates"),
            "train_s": tr("training seconds (wall)"), "train_cpu_s": tr("training CPU seconds"),
            "cost_cpu_s": tr("CPU seconds (steps × least cost per step)")}[x]


def _yes(flag: bool) -> str:
    return tr("yes") if flag else tr("no")


X_AXES = ("step", "critic_updates", "train_s", "train_cpu_s", "cost_cpu_s")
# axes whose values are seconds (printed with one decimal)
SECONDS_AXES = ("train_s", "train_cpu_s", "cost_cpu_s")


def norm_name(norm: str) -> str:
    """A critic normalisation (``ganlib.models.NORMS``) named in the reader's language."""
    check_choice("normalisation", norm, NORMS)
    return {"batch": tr("batch norm"), "layer": tr("layer norm"), "spectral": tr("spectral norm"),
            "none": tr("no normalisation")}[norm]


def experiment_name(variant: str) -> str:
    """An experiment (``paper``, ``controlled``, ``controlled-lr6.3e-05``, ``controlled-norm-spectral``) named
    in the reader's language: its protocol, and the swept rate or critic normalisation that sets it apart."""
    protocol, lr, d_norm = parse_variant(variant)
    name = tr("paper protocol") if protocol == "paper" else tr("controlled protocol")
    if lr is not None:
        return tr("{protocol}, lr {lr:g}", protocol=name, lr=lr)
    if d_norm is not None:
        return tr("{protocol}, {norm} critic", protocol=name, norm=norm_name(d_norm))
    return name


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


def experiment(results: dict, dataset: str, variant: str) -> dict:
    """The results of one experiment by its variant name (``paper``, ``controlled``, ``controlled-lr6.3e-05``,
    ``controlled-norm-spectral``, ...)."""
    if dataset not in results["datasets"]:
        raise GanlibError(f"no {dataset} in these results; they hold {', '.join(results['datasets'])}")
    exps = {b["variant"]: b for b in results["datasets"][dataset]["experiments"].values()}
    if variant not in exps:
        raise GanlibError(f"no experiment {variant!r} on {dataset}; there are: {', '.join(exps)}")
    return exps[variant]


def _finished(b: dict, loss: str | None = None) -> list[dict]:
    return [r for r in b["runs"] if "diverged" not in r and (loss is None or r["loss"] == loss)]


# A finished image run whose final samples cover fewer than half of the 10 classes has collapsed. One fixed rule
# for every loss: such a run is counted beside the seeds and left out of the cells and the tests, which then
# compare the runs that learned; the strip plot still shows it.
COLLAPSED_BELOW = 5


def collapsed(r: dict) -> bool:
    """Whether finished run ``r`` covers fewer than ``COLLAPSED_BELOW`` classes (toy runs have no classes)."""
    return "diverged" not in r and r.get("classes_covered") is not None and r["classes_covered"] < COLLAPSED_BELOW


def _learned(b: dict, loss: str | None = None) -> list[dict]:
    return [r for r in _finished(b, loss) if not collapsed(r)]


def collapse_rate_interval(k: int, n: int) -> tuple[float, float]:
    """The exact (Clopper–Pearson) 95 % interval of a loss's collapse rate from ``k`` collapsed runs in ``n``
    (scipy.stats.binomtest): a few seeds measure a failure rate only roughly, and this says how roughly."""
    ci = binomtest(k, n).proportion_ci(stats.LEVEL, method="exact")
    return float(ci.low), float(ci.high)


def failures(b: dict, loss: str) -> str:
    """The runs of ``loss`` in experiment ``b`` that have no value in a cell, as " (k diverged) (k collapsed)"
    ("" when none): every table counts them beside the runs it uses."""
    div = sum(1 for r in b["runs"] if r["loss"] == loss and "diverged" in r)
    fell = sum(1 for r in b["runs"] if r["loss"] == loss and collapsed(r))
    return (tr(" ({k} diverged)", k=div) if div else "") + (tr(" ({k} collapsed)", k=fell) if fell else "")


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
            notes.append(tr("{loss}: every run diverged (seeds {seeds}); it has no values", loss=loss, seeds=bad))
        elif bad:
            notes.append(tr("{loss}: {k} of {n} runs diverged (seeds {seeds}); its statistics use the others only",
                            loss=loss, k=len(bad), n=len(seeds[loss]), seeds=bad))
        fell = [r["seed"] for r in b["runs"] if r["loss"] == loss and collapsed(r)]
        if fell:
            low, high = collapse_rate_interval(len(fell), len(seeds[loss]))
            notes.append(tr("{loss}: {k} of {n} runs collapsed (seeds {seeds}: fewer than {min} of the 10 classes "
                            "covered; 95 % interval of its collapse rate {low:.0%} to {high:.0%}); its statistics "
                            "use the runs that learned", loss=loss, k=len(fell), n=len(seeds[loss]), seeds=fell,
                            min=COLLAPSED_BELOW, low=low, high=high))
    if len({tuple(s) for s in seeds.values()}) > 1:
        notes.append(tr("the losses were run with different seeds: {seeds}",
                        seeds="; ".join(f"{loss} {s}" for loss, s in seeds.items())))
    return notes


def notes(results: dict, dataset: str | None = None) -> list[str]:
    """Every note the results carry: the comparison's own (e.g. results that predate the protocols), and
    per experiment diverged runs, missing losses and uneven seeds."""
    out = list(results["meta"].get("notes", []))
    for d, entry in results["datasets"].items():
        if dataset is not None and d != dataset:
            continue
        for b in entry["experiments"].values():
            out += [f"{d}, {experiment_name(b['variant'])}: {n}" for n in block_notes(b)]
    return out


def column_definitions(results: dict, dataset: str) -> str:
    """A Markdown list defining every column of ``dataset``'s tables."""
    cols = _columns(results, dataset)
    lines = [f"- **{label(c)}**: {definition(c)}" for c in cols]
    note = tr("Each cell: mean ± sample standard deviation over the seeds that learned, and for the quality metrics "
              "in brackets the 95 % Student t interval of the mean (ganlib.stats), from three seeds on, clipped to "
              "the values the metric can take.")
    seeds = tr("- **seeds**: the runs that learned, behind each cell; diverged and collapsed runs are counted beside "
               "them.")
    return "\n".join([seeds] + lines + [f"\n{note}"])


def _shown(present: set[str]) -> list[str]:
    """The columns a summary table shows of the metrics ``present``: wall seconds on a shared machine measure
    the machine's load as much as the run, so where CPU seconds exist they replace wall seconds and images/s."""
    cols = [c for c in COLUMNS if c in present]
    if "cpu_time_s" in cols:
        cols = [c for c in cols if c not in ("wall_time_s", "images_per_s")]
    return cols


def _present(b: dict) -> set[str]:
    """The columns that some finished run of experiment ``b`` records."""
    return {c for c in COLUMNS if any(r.get(c) is not None for r in _finished(b))}


def _columns(results: dict, dataset: str) -> list[str]:
    """The columns of ``dataset``'s summary tables, all experiments together."""
    return _shown(set().union(*(_present(b) for b in results["datasets"][dataset]["experiments"].values())))


# -------------------------------------------------------------------------------------------- tables

INTERVAL_MIN_SEEDS = 3  # with two seeds t's 12.7 × s/√2 reaches far outside any metric's range: no interval


def metric_bounds(c: str, dataset: str) -> tuple[float, float]:
    """The values metric ``c`` can take on ``dataset``: ``Column.bounds``, and for the modes covered at most the
    toy mixture's number of modes."""
    low, high = COLUMNS[c].bounds
    if c == "modes_covered" and dataset_spec(dataset).is_toy:
        high = float(len(toy_mixture(dataset).centres))
    return low, high


def _cell(c: str, cell: dict | None, dataset: str) -> str:
    """"mean ± std [95 % t interval]" (the interval for the quality metrics from three seeds on, clipped to the
    metric's range on ``dataset``, ``metric_bounds``), or
    "mean (one seed)", which has no spread to show; "–" for no value."""
    if cell is None:
        return "–"
    fmt = COLUMNS[c].fmt
    if cell["n"] == 1:
        return f"{fmt.format(cell['mean'])} {tr('(one seed)')}"
    text = f"{fmt.format(cell['mean'])} ± {fmt.format(cell['std'])}"
    if cell.get("ci95") is not None and cell["n"] >= INTERVAL_MIN_SEEDS and COLUMNS[c].better:
        low, high = metric_bounds(c, dataset)
        text += f" [{fmt.format(max(cell['ci95'][0], low))}, {fmt.format(min(cell['ci95'][1], high))}]"
    return text


def _cell_n(c: str, cell: dict | None) -> str:
    """A summary cell as "mean ± std (n)", "–" when there is none."""
    if cell is None:
        return "–"
    fmt = COLUMNS[c].fmt
    return f"{fmt.format(cell['mean'])} ± {fmt.format(cell['std'])} ({cell['n']})"


def values(b: dict, loss: str, metric: str) -> list[float]:
    """The values of ``metric`` for ``loss`` in experiment ``b`` over the runs that learned (diverged runs have
    none; collapsed ones are left out, see ``COLLAPSED_BELOW``)."""
    return [float(r[metric]) for r in _learned(b, loss) if r.get(metric) is not None]


def cells(b: dict, metric: str) -> dict[str, dict]:
    """``stats.cell`` of ``metric`` for every loss of experiment ``b`` that has a finished value."""
    return {loss: stats.cell(v) for loss in _losses(b) if (v := values(b, loss, metric))}


def summary_table(results: dict, dataset: str, protocol: str = "paper", lr: float | None = None,
                  variant: str | None = None) -> str:
    """A Markdown table, one row per loss: the seeds that learned (diverged and collapsed ones beside them) and
    each metric's mean ± std [95 % Student t interval] over them, computed from the run records; notes below it."""
    b = experiment(results, dataset, variant) if variant else block(results, dataset, protocol, lr)
    cols = _shown(_present(b))
    per_metric = {c: cells(b, c) for c in cols}
    lines = [f"| {tr('loss')} | {tr('seeds')} | " + " | ".join(label(c) for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for loss in _losses(b):
        lines.append(f"| {loss} | {len(_learned(b, loss))}{failures(b, loss)} | " +
                     " | ".join(_cell(c, per_metric[c].get(loss), dataset) for c in cols) + " |")
    extra = block_notes(b) + [n for n in results["meta"].get("notes", [])]
    return "\n".join(lines) + "".join(f"\n\n*{tr('Note: {note}', note=n)}*" for n in extra)


def ranking(results: dict, dataset: str, metric: str = "fcd", protocol: str = "paper",
            lr: float | None = None, variant: str | None = None) -> list[tuple[str, float, float]]:
    """Losses with a value of ``metric``, sorted by its mean (best first: lowest FCD, most modes)."""
    b = experiment(results, dataset, variant) if variant else block(results, dataset, protocol, lr)
    rows = [(loss, c["mean"], c["std"]) for loss, c in cells(b, metric).items()]
    lower = COLUMNS[metric].better == "lower" if metric in COLUMNS else False
    return sorted(rows, key=lambda r: r[1] if lower else -r[1])


SEEDS_NEEDED_MOST = 30  # beyond this, "> 30": a grid on a 2-core CPU cannot afford it anyway
POWER_TARGET = 0.8


def seeds_needed(a: list[float], b: list[float], pairs: int) -> int | None:
    """Seeds per loss at which a true difference equal to the observed one, with the pair's pooled spread
    s = √((s_a² + s_b²)/2), would be resolved with 80 % power (``stats.seeds_needed``); None: more than 30."""
    if min(len(a), len(b)) < stats.MIN_SEEDS:
        return None
    spread = float(np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2))
    diff = float(np.mean(a) - np.mean(b))
    return stats.seeds_needed(diff, spread, pairs, POWER_TARGET, SEEDS_NEEDED_MOST)


def pairs_rule(pairs: int, rows: int) -> str:
    """The rule under a pairwise table of ``rows`` pairs, ``pairs`` of them tested (two seeds on both sides),
    with the seeds-needed definition."""
    # stats.RULE's words (results.json records them in English), in the reader's language
    return tr("Rule: Welch's t-test for each pair of losses, Holm's correction over the table's pairs: a difference "
              "is resolved when both losses have at least {min_seeds} finished seeds and its Holm-adjusted p-value "
              "is below {alpha}, which keeps the chance of any false difference in the table at most {fwer}; "
              "intervals are {level} Student (cells) and Welch (differences) t intervals; here the family is the "
              "{pairs} of the table's {rows} pairs with at least {min_seeds} seeds on both sides (it grows as seeds "
              "finish). Seeds needed (unresolved pairs): the fewest seeds per loss at which a true difference as "
              "large as the observed one, with the pair's pooled spread, would be resolved with {power} power at "
              "the Bonferroni level {alpha}/{pairs} (simulated; Holm is at least as powerful); \"> {most}\" when "
              "more.", min_seeds=stats.MIN_SEEDS, alpha=f"{stats.ALPHA:.2f}", fwer=f"{stats.ALPHA:.0%}",
              level=f"{stats.LEVEL:.0%}", pairs=pairs, rows=rows, power=f"{POWER_TARGET:.0%}",
              most=SEEDS_NEEDED_MOST)


def pairwise_table(results: dict, dataset: str, protocol: str = "paper", metric: str = "fcd",
                   lr: float | None = None, variant: str | None = None) -> str:
    """A Markdown table of every pair of losses, recomputed from the run records with ``stats.pairwise``:
    difference of means (a − b), its 95 % Welch interval, the Holm-adjusted p-value over the table's pairs,
    whether the rule resolves it, and for unresolved pairs the seeds it would take (``seeds_needed``)."""
    b = experiment(results, dataset, variant) if variant else block(results, dataset, protocol, lr)
    groups = {loss: values(b, loss, metric) for loss in _losses(b)}
    pairs = stats.pairwise(groups)
    tested = sum(p["p"] is not None for p in pairs)
    fmt = COLUMNS[metric].fmt
    lines = [tr("| a | b | {metric} a − b | 95 % interval | Holm p | resolved | seeds needed |",
                metric=label(metric).split()[0]),
             "|---|---|---|---|---|---|---|"]
    for p in pairs:
        ci = "–" if p["ci95"] is None else f"[{fmt.format(p['ci95'][0])}, {fmt.format(p['ci95'][1])}]"
        adj = "–" if p["p_holm"] is None else f"{p['p_holm']:.3f}"
        need = "–"
        if p["p"] is not None and not p["resolved"] and p["diff"] != 0:
            n = seeds_needed(groups[p["a"]], groups[p["b"]], tested)
            need = f"> {SEEDS_NEEDED_MOST}" if n is None else str(n)
        lines.append(f"| {p['a']} | {p['b']} | {fmt.format(p['diff'])} | {ci} | {adj} | "
                     f"{_yes(p['resolved'])} | {need} |")
    if not tested:
        return "\n".join(lines) + "\n\n*" + tr("No pair has {n} finished seeds on both sides yet.",
                                                 n=stats.MIN_SEEDS) + "*"
    return "\n".join(lines) + f"\n\n*{pairs_rule(tested, len(pairs))}*"


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
    return ", ".join(changed) or tr("none")


def protocol_table(results: dict, dataset: str, metric: str) -> str:
    """A Markdown table, one row per loss: ``metric`` under ``paper`` and under ``controlled`` (mean ± std,
    seeds), the difference d = x̄_controlled − x̄_paper with its 95 % Welch interval, its Holm-adjusted
    p-value over the table's rows (one family) and whether ``stats.RULE`` resolves it. Under the table, which
    training settings differ between the two protocols' runs of each loss (read from the run records), losses
    with the same change named together: a list, since a column of them is wider than a book's page. Where
    only one setting differs, d measures that setting's effect on this dataset and these seeds."""
    paper, controlled = block(results, dataset, "paper"), block(results, dataset, "controlled")
    fmt = COLUMNS[metric].fmt
    losses = [name for name in LOSS_NAMES if name in _losses(paper) + _losses(controlled)]
    tests = {loss: stats.welch(values(controlled, loss, metric), values(paper, loss, metric)) for loss in losses
             if values(controlled, loss, metric) and values(paper, loss, metric)}
    with_p = [loss for loss, t in tests.items() if t["p"] is not None]
    adjusted = dict(zip(with_p, stats.holm([tests[loss]["p"] for loss in with_p])))
    lines = [tr("| loss | {metric} paper | controlled | controlled − paper | 95 % interval | Holm p | resolved |",
                metric=label(metric)), "|---" * 7 + "|"]
    cp_all, cc_all = cells(paper, metric), cells(controlled, metric)
    changes: dict[str, list[str]] = {}
    for loss in losses:
        cp, cc = cp_all.get(loss), cc_all.get(loss)
        if loss not in tests:
            lines.append(f"| {loss} | {_cell_n(metric, cp)} | {_cell_n(metric, cc)} | – | – | – | – |")
            continue
        t = tests[loss]
        ci = "–" if t["ci95"] is None else f"[{fmt.format(t['ci95'][0])}, {fmt.format(t['ci95'][1])}]"
        p = adjusted.get(loss)
        resolved = p is not None and p < stats.ALPHA
        lines.append(f"| {loss} | {_cell_n(metric, cp)} | {_cell_n(metric, cc)} | {fmt.format(t['diff'])} | {ci} | "
                     f"{'–' if p is None else f'{p:.3f}'} | {_yes(resolved)} |")
        change = settings_changed(_finished(paper, loss)[0], _finished(controlled, loss)[0])
        changes.setdefault(change, []).append(loss)
    rule = tr("(n): finished seeds. Rule: Welch's t-test per loss, Holm's correction over the {k} losses tested; "
              "resolved when the adjusted p-value is below {alpha} and both protocols have at least {min_seeds} "
              "seeds.", k=len(with_p), alpha=f"{stats.ALPHA:.2f}", min_seeds=stats.MIN_SEEDS)
    listed = "".join(f"\n- {', '.join(group)}: {change}" for change, group in changes.items())
    return "\n".join(lines) + f"\n\n*{rule}*" + (
        "\n\n" + tr("Settings changed (paper → controlled):") + "\n" + listed if changes else "")


def trajectory_value(e: dict, metric: str) -> float | None:
    """``metric`` at one evaluation on one footing along a run: the final evaluation's FCD on 10,000 images
    is replaced by its ``fcd_5000``, the N of the evaluations before it."""
    if metric == "fcd" and "fcd_5000" in e:
        return e["fcd_5000"]
    return e.get(metric)


def one_setting_table(study: dict, ring: dict, metric: str = "modes_covered") -> str:
    """A Markdown table of a one-setting study (``ganlib.one_setting``): per restored setting, ``metric``
    per seed, mean ± std, the high-quality share, and the difference from the controlled grid's runs of the
    same loss (Welch's 95 % interval, Holm's correction over the table's rows)."""
    controlled = block(ring, "ring", "controlled")
    def show(v: object) -> str:
        return f"({', '.join(f'{x:g}' for x in v)})" if isinstance(v, list) else f"{v:g}"

    rows: dict[tuple[str, str, str], list[dict]] = {}
    for r in study["runs"]:
        rows.setdefault((r["loss"], r["setting"], show(r["value"])), []).append(r)
    tests = {k: stats.welch([r[metric] for r in v], values(controlled, k[0], metric)) for k, v in rows.items()}
    keys = [k for k, t in tests.items() if t["p"] is not None]
    adjusted = dict(zip(keys, stats.holm([tests[k]["p"] for k in keys])))
    fmt = COLUMNS[metric].fmt
    lines = [tr("| loss | restored setting | {metric} per seed | mean ± std | high-quality share | difference from "
                "controlled | 95 % interval | Holm p | resolved |", metric=label(metric)), "|---" * 9 + "|"]
    for (loss, key, value), runs in rows.items():
        c, t = stats.cell([r[metric] for r in runs]), tests[(loss, key, value)]
        ci = "–" if t["ci95"] is None else f"[{fmt.format(t['ci95'][0])}, {fmt.format(t['ci95'][1])}]"
        p = adjusted.get((loss, key, value))
        lines.append(f"| {loss} | {key} {value} | {', '.join(str(r[metric]) for r in runs)} | "
                     f"{fmt.format(c['mean'])} ± {fmt.format(c['std'])} | "
                     f"{np.mean([r['high_quality'] for r in runs]):.2f} | {fmt.format(t['diff'])} | {ci} | "
                     f"{'–' if p is None else f'{p:.3f}'} | {_yes(p is not None and p < stats.ALPHA)} |")
    return "\n".join(lines) + "\n\n*" + tr(
        "Rule: Welch's t-test of each row against the controlled grid's runs of its loss, Holm's correction over the "
        "{k} rows; resolved when the adjusted p-value is below {alpha}.", k=len(keys), alpha=f"{stats.ALPHA:.2f}") + "*"


def step_cost(b: dict, loss: str) -> float | None:
    """The CPU cost of one generator step of ``loss`` in experiment ``b``: c = min_i T_i / S_i over all the
    loss's finished runs i, collapsed ones included (a step costs the same whatever it learns; T: training CPU
    seconds, S: generator steps); None without a timed run. Other work on a shared machine adds to a run's CPU
    seconds (cache and memory contention; two seeds of one loss here differ by up to 28 %) and never takes from
    them, so the run least slowed by it, the fastest, measures the step best; every run of the loss is then
    placed with that cost, a model of its CPU time rather than its own measurement."""
    costs = [r["cpu_time_s"] / r["steps"] for r in _finished(b, loss) if r.get("cpu_time_s") and r.get("steps")]
    return min(costs) if costs else None


def axis_points(b: dict, run: dict, x: str) -> list[tuple[float, dict]]:
    """``run``'s evaluations with their position on axis ``x``: the recorded value, or for ``cost_cpu_s`` the
    evaluation's generator step s times its loss's cost per step, s · c (``step_cost``)."""
    check_choice("x axis", x, X_AXES)
    if x != "cost_cpu_s":
        return [(e[x], e) for e in run["evals"] if x in e]
    c = step_cost(b, run["loss"])
    return [] if c is None else [(e["step"] * c, e) for e in run["evals"]]


def _interp_at(b: dict, run: dict, x: str, at: float, metric: str) -> float | None:
    pts = [(v, trajectory_value(e, metric)) for v, e in axis_points(b, run, x) if metric in e]
    if not pts or at > pts[-1][0]:
        return None
    xs, ys = zip(*pts)
    return float(np.interp(at, xs, ys))


def equal_compute_values(b: dict, x: str, metric: str) -> tuple[float, dict[str, list[tuple[float, float]]]] | None:
    """Every run that learned in experiment ``b`` read at the same compute: the largest value ``at`` of ``x``
    (one of ``X_AXES``) that all of them reached, and per loss each run's (``metric``, generator step) there, by
    linear interpolation between its evaluations (FCD on the evaluations' 5,000 images, ``trajectory_value``).
    None where no run recorded ``x``."""
    runs = [r for r in _learned(b) if axis_points(b, r, x)]
    if not runs:
        return None
    at = min(axis_points(b, r, x)[-1][0] for r in runs)
    values: dict[str, list[tuple[float, float]]] = {}
    for r in runs:
        v = _interp_at(b, r, x, at, metric)
        if v is not None:
            values.setdefault(r["loss"], []).append((v, _interp_at(b, r, x, at, "step")))
    return at, values


def equal_compute_table(results: dict, dataset: str, protocol: str = "paper", x: str = "train_s",
                        metric: str = "fcd", variant: str | None = None) -> str:
    """``metric`` of every loss at the same compute (``equal_compute_values``): mean ± std over the runs that
    learned, diverged and collapsed runs counted beside them as in every table, and the pairs that the
    pairwise rule (Welch, Holm over the table's pairs) resolves at that point."""
    b = experiment(results, dataset, variant) if variant else block(results, dataset, protocol)
    read = equal_compute_values(b, x, metric)
    if read is None:
        return "*" + tr("No run of the {experiment} on {dataset} recorded {axis} (results made before they were).",
                        experiment=experiment_name(b["variant"]), dataset=dataset, axis=x_axis(x)) + "*"
    at, values = read
    fmt = COLUMNS[metric].fmt
    at_text = f"{at:.1f}" if x in SECONDS_AXES else fmt.format(at)
    name = tr("FCD ↓ (5,000 images)") if metric == "fcd" else label(metric)
    lines = [tr("| loss | seeds | {metric} at {at} {axis} | generator steps by then |", metric=name,
                at=at_text, axis=x_axis(x)), "|---|---|---|---|"]
    for loss in _losses(b):
        if loss not in values:
            lines.append(f"| {loss} | 0{failures(b, loss)} | – | – |")
            continue
        m, steps = np.array([v for v, _ in values[loss]]), np.array([st for _, st in values[loss]])
        std = m.std(ddof=1) if len(m) > 1 else 0.0
        lines.append(f"| {loss} | {len(m)}{failures(b, loss)} | {fmt.format(m.mean())} ± {fmt.format(std)} | "
                     f"{steps.mean():.0f} |")
    groups = {loss: [v for v, _ in vals] for loss, vals in values.items()}
    resolved = [f"{p['a']} vs {p['b']}" for p in stats.pairwise(groups) if p["resolved"]]
    tail = tr("Pairs resolved at this point (Welch's t-test, Holm's correction over the pairs): {pairs}.",
              pairs=", ".join(resolved) if resolved else tr("none"))
    return "\n".join(lines) + f"\n\n*{tail}*"


def _sweep_blocks(results: dict, dataset: str) -> list[dict]:
    """The controlled protocol's experiments on ``dataset`` at each swept learning rate (its own rate and the
    sweep's), by rate; the normalisation factor's experiments are left out."""
    experiments = results["datasets"].get(dataset, {"experiments": {}})["experiments"].values()
    return sorted((b for b in experiments if b["protocol"] == "controlled" and "-norm-" not in b["variant"]),
                  key=lambda b: b["lr"])


def sweep_table(results: dict, dataset: str = "mnist", metric: str = "fcd") -> str:
    """The learning-rate sweep under ``controlled``: per loss, ``metric`` (mean ± std, seeds, failures) at each
    rate, and where ``best_rates`` chooses one, the best rate and the spread (largest minus smallest mean over the
    candidate rates, on their common seeds)."""
    blocks = _sweep_blocks(results, dataset)
    if len(blocks) < 2:
        return "*" + tr("No learning-rate sweep on {dataset} in these results.", dataset=dataset) + "*"
    fmt = COLUMNS[metric].fmt
    lines = [f"| {tr('loss')} | " + " | ".join(f"lr {b['lr']:.2g}" for b in blocks) +
             f" | {tr('best lr')} | {tr('spread')} |", "|---|" + "---|" * (len(blocks) + 2)]
    per_rate = [cells(b, metric) for b in blocks]
    best = best_rates(results, dataset, metric)
    for loss in [name for name in LOSS_NAMES if any(r["loss"] == name for b in blocks for r in b["runs"])]:
        row = [_cell_n(metric, c.get(loss)) + failures(b, loss) for b, c in zip(blocks, per_rate)]
        tail = "– | –"
        if loss in best:
            means = best[loss]["means"].values()
            # one qualifying rate has no spread to show: its row's failures say what the other rates did
            spread = fmt.format(max(means) - min(means)) if len(means) > 1 else "–"
            tail = f"{best[loss]['lr']:.2g} | {spread}"
        lines.append(f"| {loss} | " + " | ".join(row) + f" | {tail} |")
    note = tr("(n): seeds that learned. Best lr and spread (largest minus smallest mean over the candidate rates, on "
              "their common seeds) follow the best-rate rule below; – where it chooses no rate, or has only one "
              "candidate.")
    return "\n".join(lines) + f"\n\n*{note}*"


def _rate_options(blocks: list[dict], loss: str, metric: str) -> tuple[list[int], dict[float, list[float]],
                                                                      list[float]]:
    """The seeds that every swept rate has finished or failed for ``loss`` (a rate without a run of it yet
    leaves none), per rate without a diverged or collapsed run on them the values of ``metric`` there, and the
    rates left out for such a run."""
    runs = {b["lr"]: {r["seed"]: r for r in b["runs"] if r["loss"] == loss} for b in blocks}
    if not runs:
        return [], {}, []
    common = sorted(set.intersection(*(set(by_seed) for by_seed in runs.values())))
    options, failed = {}, []
    for lr, by_seed in runs.items():
        chosen = [by_seed[seed] for seed in common]
        if all("diverged" not in r and not collapsed(r) and r.get(metric) is not None for r in chosen):
            options[lr] = [float(r[metric]) for r in chosen]
        else:
            failed.append(lr)
    return common, options, failed


def best_rates(results: dict, dataset: str = "mnist", metric: str = "fcd") -> dict[str, dict]:
    """Per loss, the swept rate with the best mean ``metric`` (lowest FCD). Every rate is judged on the same
    seeds, those that all of the loss's rates have run, so that a rate with more seeds gains nothing from it;
    a rate is chosen once there are at least ``stats.MIN_SEEDS`` of them, the best among the rates with no
    diverged or collapsed run on them (a rate that fails on a seed is no rate to recommend; where every other rate
    failed, the one left is the choice).
    ``{"lr", "cell", "values", "seeds", "means", "rates", "failed"}`` (means: per qualifying rate; rates: how
    many; failed: the rates left out for a failed run). The choice and the values come from the same seeds, so
    the best cell is optimistic."""
    lower = COLUMNS[metric].better == "lower"
    out = {}
    for loss in LOSS_NAMES:
        seeds, options, failed = _rate_options(_sweep_blocks(results, dataset), loss, metric)
        if len(seeds) >= stats.MIN_SEEDS and options:
            means = {lr: float(np.mean(v)) for lr, v in options.items()}
            lr = (min if lower else max)(means, key=means.get)
            out[loss] = {"lr": lr, "cell": stats.cell(options[lr]), "values": options[lr], "seeds": seeds,
                         "means": means, "rates": len(options), "failed": failed}
    return out


# the best-rate table tests a pair only with this many seeds on both sides: its values also chose the rate, and
# with two of them a Welch test rests on about one degree of freedom
BEST_RATE_TEST_SEEDS = 3


def best_rate_table(results: dict, dataset: str = "mnist", metric: str = "fcd") -> str:
    """Lucic et al.'s equal-budget view: every loss at its own best swept rate (``best_rates``), beside its
    value at the shared rate, with the pairwise rule applied to the best-rate values of the losses with at least
    ``BEST_RATE_TEST_SEEDS`` seeds."""
    blocks = _sweep_blocks(results, dataset)
    if len([b for b in blocks if _finished(b)]) < 2:
        return "*" + tr("No learning-rate sweep on {dataset} in these results.", dataset=dataset) + "*"
    best = best_rates(results, dataset, metric)
    shared_block = experiment(results, dataset, "controlled")
    shared = cells(shared_block, metric)
    lines = [tr("| loss | best lr (candidate rates) | {metric} at best lr (seeds) | at the shared lr |",
                metric=label(metric)), "|---|---|---|---|"]
    for loss in LOSS_NAMES:
        at_shared = _cell(metric, shared.get(loss), dataset) + failures(shared_block, loss)
        if loss not in best:
            lines.append(f"| {loss} | – | – | {at_shared} |")
            continue
        c = best[loss]
        rates = tr("{k} of {n}", k=c["rates"], n=len(blocks))
        seeds = tr("seeds {seeds}", seeds=", ".join(map(str, c["seeds"])))
        lines.append(f"| {loss} | {c['lr']:.2g} ({rates}) | {_cell(metric, c['cell'], dataset)} ({seeds}) | "
                     f"{at_shared} |")
    tested = {k: v["values"] for k, v in best.items() if len(v["values"]) >= BEST_RATE_TEST_SEEDS}
    resolved = [f"{p['a']} vs {p['b']}" for p in stats.pairwise(tested) if p["resolved"]]
    failed = [f"{loss} {', '.join(f'{lr:.2g}' for lr in c['failed'])}" for loss, c in best.items() if c["failed"]]
    tail = tr("Rule: each loss's rates are compared on the seeds that all of them have run; once there are at least "
              "{n} such seeds, the chosen rate is the best of those with no diverged or collapsed run on them (the "
              "bracket counts them; –: none chosen). Rates left out for such a run: {failed}. The shared lr column "
              "is the controlled table's, over all its seeds. Pairs resolved at the best rates (Welch's t-test, "
              "Holm's correction over the pairs of losses with at least {m} seeds): {pairs}. The best rate is chosen "
              "on the same seeds that measure it, so its value is optimistic, and the test does not account for the "
              "choice.", n=stats.MIN_SEEDS, m=BEST_RATE_TEST_SEEDS, failed="; ".join(failed) if failed else tr("none"),
              pairs=", ".join(resolved) if resolved else tr("none"))
    return "\n".join(lines) + f"\n\n*{tail}*"


FACTOR_NORMS = ("layer", "batch", "spectral")  # the controlled protocol's critic, and the factor's two alternatives


def norm_grid(results: dict, dataset: str = "mnist", metric: str = "fcd") -> dict[tuple[str, str], dict]:
    """``stats.cell`` of ``metric`` for every (loss, critic normalisation) under controlled at the shared rate:
    layer from the controlled grid, batch and spectral from ``controlled-norm-…``; absent pairs left out."""
    out = {}
    for norm in FACTOR_NORMS:
        variant = "controlled" if norm == "layer" else f"controlled-norm-{norm}"
        exps = {b["variant"] for b in results["datasets"].get(dataset, {"experiments": {}})["experiments"].values()}
        if variant in exps:
            for loss, c in cells(experiment(results, dataset, variant), metric).items():
                out[(loss, norm)] = c
    return out


def norm_heatmap(results: dict, dataset: str = "mnist", metric: str = "fcd"):
    """Kurach et al.'s question as a picture: mean ``metric`` for each loss (rows) and critic normalisation
    (columns) on a log colour scale, each cell annotated "mean (seeds)"; grey where no run finished."""
    grid = norm_grid(results, dataset, metric)
    data = np.full((len(LOSS_NAMES), len(FACTOR_NORMS)), np.nan)
    for (loss, norm), c in grid.items():
        data[LOSS_NAMES.index(loss), FACTOR_NORMS.index(norm)] = c["mean"]
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    shown = np.ma.masked_invalid(np.log10(data))
    im = ax.imshow(shown, cmap=plt.get_cmap("viridis_r").with_extremes(bad="0.85"), aspect="auto")
    for (loss, norm), c in grid.items():
        i, j = LOSS_NAMES.index(loss), FACTOR_NORMS.index(norm)
        ax.text(j, i, f"{COLUMNS[metric].fmt.format(c['mean'])}\n({c['n']})", ha="center", va="center", fontsize=8,
                color="white" if shown[i, j] > np.nanmean(shown) else "black")
    for loss, norm in INVALID_PAIRS:
        ax.text(FACTOR_NORMS.index(norm), LOSS_NAMES.index(loss), tr("not run:\nbatch norm\ncouples the GP"),
                ha="center", va="center", fontsize=7, color="0.3")
    ax.set_xticks(range(len(FACTOR_NORMS)), [norm_name(n) for n in FACTOR_NORMS])
    ax.set_yticks(range(len(LOSS_NAMES)), LOSS_NAMES)
    ax.set_title(tr("{dataset}: mean {metric} (seeds), controlled protocol, shared lr", dataset=dataset,
                    metric=label(metric)), fontsize=10)
    fig.colorbar(im, ax=ax, label=tr("log10 of the mean {metric}", metric=label(metric).split()[0]))
    fig.tight_layout()
    return fig


def strip_plot(results: dict, dataset: str, variants: list[str], metric: str = "fcd"):
    """Every finished seed's ``metric`` as a dot, one column per loss and one panel per experiment, with the
    mean as a bar and its 95 % t interval as a line; log scale for FCD, whose failed runs are 10× the rest."""
    fig, axes = plt.subplots(1, len(variants), figsize=(max(5.5, 3.4 * len(variants) + 0.6), 3.6), squeeze=False,
                             sharey=True)
    rng = np.random.default_rng(0)  # a fixed horizontal jitter, so the figure is the same on every run
    for ax, variant in zip(axes[0], variants):
        b = experiment(results, dataset, variant)
        for i, loss in enumerate(LOSS_NAMES):
            fell = [float(r[metric]) for r in _finished(b, loss) if collapsed(r) and r.get(metric) is not None]
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(fell)), fell, s=22, marker="x", color=LOSS_COLOURS[loss],
                       zorder=3)
            v = values(b, loss, metric)
            if not v:
                continue
            c = stats.cell(v)
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=14, color=LOSS_COLOURS[loss], zorder=3)
            ax.hlines(c["mean"], i - 0.3, i + 0.3, color="k", lw=1.2)
            if c["ci95"] is not None:
                ax.vlines(i + 0.34, max(c["ci95"][0], min(v) / 2), c["ci95"][1], color="0.4", lw=1)
        ax.set_xticks(range(len(LOSS_NAMES)), LOSS_NAMES, rotation=45, ha="right", fontsize=8)
        ax.set_title(experiment_name(variant), fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel(label(metric) + (tr(" (log)") if metric == "fcd" else ""))
    if metric == "fcd":
        axes[0][0].set_yscale("log")
    fig.suptitle(tr("{dataset}: a dot per seed (×: collapsed), bar: mean of the runs that learned, line: 95 % t "
                    "interval", dataset=dataset), fontsize=9)
    fig.tight_layout()
    return fig


def progress_table(results: dict, planned: list[tuple[str, str]]) -> str:
    """A Markdown table of how much of a planned grid the results hold: per (dataset, variant), the runs
    planned (``planned`` lists one (dataset, variant) pair per planned run, e.g. from ``compare.plan``), the
    runs finished (diverged ones included) and the losses with at least one of them."""
    counts: dict[tuple[str, str], int] = {}
    for key in planned:
        counts[key] = counts.get(key, 0) + 1
    lines = [tr("| dataset | experiment | runs planned | finished | losses with a run |"), "|---|---|---|---|---|"]
    for (dataset, variant), n in counts.items():
        exps = {b["variant"]: b for b in results["datasets"].get(dataset, {"experiments": {}})["experiments"].values()}
        runs = exps[variant]["runs"] if variant in exps else []
        losses = [name for name in LOSS_NAMES if any(r["loss"] == name for r in runs)]
        lines.append(f"| {dataset} | {experiment_name(variant)} | {n} | {len(runs)} | {len(losses)} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- figures

def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, wrap=True)


def fcd_curves(results: dict, dataset: str = "mnist", protocol: str = "paper", x: str = "step",
               lr: float | None = None, variant: str | None = None, ax=None):
    """FCD against ``x`` (one of ``X_AXES``) for every loss: median over the finished seeds at each evaluation,
    shaded min–max band (log scale); every point on the same N of generated images (``trajectory_value``)."""
    check_choice("x axis", x, X_AXES)
    b = experiment(results, dataset, variant) if variant else block(results, dataset, protocol, lr)
    fig, ax = plt.subplots(figsize=(6.5, 3.8)) if ax is None else (ax.figure, ax)
    for loss in _losses(b):
        points = [p for r in _finished(b, loss) if len(p := axis_points(b, r, x)) == len(r["evals"])]
        if not points:
            continue
        k = min(len(p) for p in points)
        runs = [[e for _, e in p[:k]] for p in points]
        xs = np.array([[v for v, _ in p[:k]] for p in points]).mean(0)
        vals = np.array([[trajectory_value(e, "fcd") for e in evals] for evals in runs])
        keep = xs > 0
        # the median, not the mean: a failed seed would drag a mean curve where no run went
        ax.plot(xs[keep], np.median(vals, 0)[keep], marker="o", ms=3, label=f"{loss} ({len(runs)})",
                color=LOSS_COLOURS[loss])
        ax.fill_between(xs[keep], vals.min(0)[keep], vals.max(0)[keep], alpha=0.15, color=LOSS_COLOURS[loss])
    if ax.lines:
        ax.set_yscale("log")
        ax.legend(fontsize=8, ncol=2, title=tr("loss (seeds)"), title_fontsize=8)
    else:
        _no_data(ax, tr("no finished run with {axis} recorded", axis=x_axis(x)))
    # a recorded time differs between seeds (hence their mean); the cost axis puts every seed at one point
    ax.set_xlabel(x_axis(x) + (tr(" (mean over seeds)") if x in ("train_s", "train_cpu_s") else ""))
    ax.set_ylabel(tr("FCD on 5,000 images (log)"))
    ax.set_title(tr("{what}, {experiment}", what=dataset, experiment=experiment_name(b["variant"])), fontsize=10)
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
                ax.plot(c, f, marker="o", ms=4, color=LOSS_COLOURS[loss], alpha=0.7,
                        label=tr("seed {seed}", seed=r["seed"]))
        ax.set_xlabel(tr("critic estimate $-L_D$ (mean over recent steps)"))
        ax.set_ylabel("FCD")
        ax.set_title(tr("{what}, {experiment}", what=loss, experiment=experiment_name(b["variant"])), fontsize=10)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            _no_data(ax, tr("no finished {loss} run", loss=loss))
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
            why = (tr("no run") if rec is None else tr("diverged") if "diverged" in rec else tr("no grid"))
            ax.set_title(loss + "\n" + tr("({why})", why=why), fontsize=9)
        ax.axis("off")
    fig.suptitle(tr("{dataset}, {experiment}, seed {seed}, step {step} (the same fixed noise)", dataset=dataset,
                    experiment=experiment_name(b["variant"]), seed=seed, step=step), fontsize=10)
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
            why = tr("no run") if rec is None else tr("diverged") if "diverged" in rec else tr("no samples")
            ax.set_title(loss + "\n" + tr("({why})", why=why), fontsize=9)
            ax.axis("off")
            continue
        final = torch.tensor(json.loads(points.read_text())["points"])
        show_points(final, mixture.centres, ax=ax, lim=3.2 if dataset == "ring" else 5.5,
                    title=tr("{loss}\n{modes} modes, high-quality share {share:.2f}", loss=loss,
                             modes=rec["modes_covered"], share=rec["high_quality"]))
        ax.tick_params(labelsize=7)
    fig.suptitle(tr("{dataset}, {experiment}, seed {seed}", dataset=dataset, experiment=experiment_name(b["variant"]),
                    seed=seed), fontsize=10)
    fig.tight_layout()
    return fig


def sweep_figure(results: dict, dataset: str = "mnist", metric: str = "fcd"):
    """``metric`` against the learning rate under ``controlled``, one line per loss (mean ± std over the runs that
    learned, as in the tables)."""
    blocks = _sweep_blocks(results, dataset)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    per_rate = [(b["lr"], cells(b, metric)) for b in blocks]
    for loss in LOSS_NAMES:
        pts = [(lr, c[loss]) for lr, c in per_rate if loss in c]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1]["mean"] for p in pts], yerr=[p[1]["std"] for p in pts],
                        marker="o", ms=4, capsize=3, label=loss, color=LOSS_COLOURS[loss])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(tr("learning rate (controlled protocol)"))
    ax.set_ylabel(label(metric))
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def figure_names(dataset: str, variant: str) -> dict[str, str]:
    """File names of an experiment's figures (the paper protocol keeps the names of older results)."""
    prefix = "" if variant == "paper" else f"{variant}_"
    if dataset_spec(dataset).is_toy:
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
            if dataset_spec(dataset).is_image:
                figs = {names["samples"]: sample_grids(results, out, dataset, protocol=p),
                        names["fcd_vs_step"]: fcd_curves(results, dataset, p),
                        names["fcd_vs_time"]: fcd_curves(results, dataset, p, x="cost_cpu_s")}
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
