"""Statistics over seeds: mean ± sample standard deviation, percentile-bootstrap 95 % intervals, and the
rule that says which differences between two losses the seeds resolve.

For the values x_1 … x_n of one cell (one loss, one experiment, one metric, n finished seeds):
mean x̄ = (1/n) Σ x_i, std s = √(Σ (x_i − x̄)² / (n − 1)), and the 95 % interval of the mean is the
2.5 and 97.5 percentiles of the means of ``RESAMPLES`` bootstrap resamples (n values drawn with
replacement from x_1 … x_n). For two losses a and b the difference of means d = x̄_a − x̄_b gets the
same interval from independent resamples of each loss's seeds.

Rule (``RULE``): the seeds resolve the difference between a and b when both have at least
``MIN_SEEDS`` finished seeds and the 95 % bootstrap interval of d excludes 0; otherwise the seeds do not
order them. With 5 seeds the percentile bootstrap is known to be somewhat too narrow, so a resolved
difference whose interval nearly touches 0 deserves more seeds. Diverged runs have no value: they are
counted beside the cell and left out of its statistics, which favours a loss that sometimes diverges.
The generator is seeded (``SEED``), so the same values always give the same intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

RESAMPLES = 10_000
SEED = 0
MIN_SEEDS = 3
LEVEL = 0.95
RULE = (f"a difference between two losses is resolved when both have at least {MIN_SEEDS} finished seeds and "
        f"the {LEVEL:.0%} percentile-bootstrap interval ({RESAMPLES:,} resamples of the seeds) of the "
        f"difference of their means excludes 0")


def _interval(stats: np.ndarray) -> list[float]:
    lo, hi = np.quantile(stats, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return [float(lo), float(hi)]


def _resampled_means(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(RESAMPLES, len(values)))
    return values[idx].mean(1)


def cell(values: Sequence[float]) -> dict:
    """``{"mean", "std", "n", "ci95"}`` of one cell; std is 0 and the interval a point for one value."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise ValueError("a cell needs at least one value")
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    ci = _interval(_resampled_means(x, np.random.default_rng(SEED))) if len(x) > 1 else [mean, mean]
    return {"mean": mean, "std": std, "n": len(x), "ci95": ci}


def difference(a: Sequence[float], b: Sequence[float]) -> dict:
    """d = mean(a) − mean(b) with its 95 % bootstrap interval and whether ``RULE`` resolves it."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(SEED)
    d = float(xa.mean() - xb.mean())
    ci = _interval(_resampled_means(xa, rng) - _resampled_means(xb, rng))
    enough = min(len(xa), len(xb)) >= MIN_SEEDS
    return {"diff": d, "ci95": ci, "resolved": bool(enough and (ci[0] > 0 or ci[1] < 0))}


def pairwise(groups: dict[str, Sequence[float]]) -> list[dict]:
    """Every pair (a, b) of ``groups`` (in their order) with ``difference(a, b)``; groups without
    values are left out."""
    names = [k for k, v in groups.items() if len(v) > 0]
    return [{"a": a, "b": b, **difference(groups[a], groups[b])} for a, b in combinations(names, 2)]
