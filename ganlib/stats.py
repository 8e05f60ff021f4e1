"""Statistics over seeds: means with Student t intervals, Welch's test for each pair of losses, and Holm's
correction over the pairs of one table.

For the values x_1 … x_n of one cell (one loss, one experiment, one metric, n finished seeds):
mean x̄ = (1/n) Σ x_i, sample std s = √(Σ (x_i − x̄)² / (n − 1)), and the 95 % interval of the mean
x̄ ± t_{0.975, n−1} · s / √n (Student's t with n − 1 degrees of freedom; exact when the seeds' values are
normal, whatever n; ``tests/test_stats.py`` measures its coverage by simulation).

For two losses a and b: d = x̄_a − x̄_b, Welch's standard error se = √(s_a²/n_a + s_b²/n_b), its
Welch–Satterthwaite degrees of freedom ν, the 95 % interval d ± t_{0.975, ν} · se and the two-sided
p-value of t = d / se. When neither loss's values spread (se = 0), t is undefined and the p-value is the exact
permutation test's: with [8, 8] against [7, 7] only 2 of the C(4, 2) = 6 relabellings differ by 1, so p = 1/3.

Rule (``RULE``): within one table (one experiment and metric), the k = L(L − 1)/2 pairs of its L losses
are one family. Holm's step-down correction orders their p-values p_(1) ≤ … ≤ p_(k) and adjusts them to
p̃_(i) = max_{j ≤ i} min(1, (k − j + 1) p_(j)); a pair is resolved when both losses have at least
``MIN_SEEDS`` finished seeds and p̃ < ``ALPHA``. This keeps the chance of calling any two equal losses
different at most ``ALPHA`` for the whole table (the family-wise error rate). Diverged runs have no value:
they are counted beside the cell and left out of its statistics, which favours a loss that sometimes
diverges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from scipy import special as _sp
from scipy import stats as _st

LEVEL = 0.95
ALPHA = 1 - LEVEL
MIN_SEEDS = 2  # the fewest values with a sample variance
RULE = (f"Welch's t-test for each pair of losses, Holm's correction over the table's pairs: a difference is "
        f"resolved when both losses have at least {MIN_SEEDS} finished seeds and its Holm-adjusted p-value is "
        f"below {ALPHA:.2f}, which keeps the chance of any false difference in the table at most {ALPHA:.0%}; "
        f"intervals are {LEVEL:.0%} Student (cells) and Welch (differences) t intervals")


def _t_quantile(df: float) -> float:
    """t_{(1 + LEVEL)/2, df}, Student's t quantile (scipy.special.stdtrit: the same value as
    ``scipy.stats.t.ppf`` without its per-call overhead, which dominates the simulations in the tests)."""
    return float(_sp.stdtrit(df, (1 + LEVEL) / 2))


def cell(values: Sequence[float]) -> dict:
    """``{"mean", "std", "n", "ci95"}`` of one cell: the Student t interval of the mean (``None`` for one
    value, which has no spread to measure)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise ValueError("a cell needs at least one value")
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "std": 0.0, "n": 1, "ci95": None}
    std = float(x.std(ddof=1))
    half = _t_quantile(len(x) - 1) * std / math.sqrt(len(x))
    return {"mean": mean, "std": std, "n": len(x), "ci95": [mean - half, mean + half]}


def welch(a: Sequence[float], b: Sequence[float]) -> dict:
    """d = mean(a) − mean(b), Welch's 95 % interval of d and the two-sided p-value (``None`` for both when
    a side has fewer than ``MIN_SEEDS`` values). When neither side has any spread, Welch's t is undefined: the
    p-value is then the exact permutation test's (``_permutation_p``) and the interval is [d, d]."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = float(xa.mean() - xb.mean())
    if min(len(xa), len(xb)) < MIN_SEEDS:
        return {"diff": d, "ci95": None, "p": None}
    va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
    se = math.sqrt(va + vb)
    if se == 0:  # both sides constant: t is undefined, so the p-value is the exact permutation test's
        return {"diff": d, "ci95": [d, d], "p": _permutation_p(xa, xb)}
    df = (va + vb) ** 2 / (va ** 2 / (len(xa) - 1) + vb ** 2 / (len(xb) - 1))
    half = _t_quantile(df) * se
    p = float(2 * _sp.stdtr(df, -abs(d) / se))  # two-sided: 2 P(T_ν > |t|)
    return {"diff": d, "ci95": [d - half, d + half], "p": p}


def _permutation_p(xa: np.ndarray, xb: np.ndarray) -> float:
    """The exact two-sided permutation p-value of mean(a) − mean(b), over every relabelling of the pooled values
    (scipy.stats.permutation_test; a handful of seeds has at most a few hundred)."""
    test = _st.permutation_test((xa, xb), lambda x, y: np.mean(x) - np.mean(y), permutation_type="independent",
                                n_resamples=np.inf)
    return float(test.pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: p̃_(i) = max_{j ≤ i} min(1, (k − j + 1) p_(j))."""
    k = len(pvalues)
    order = sorted(range(k), key=lambda i: pvalues[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def pairwise(groups: dict[str, Sequence[float]]) -> list[dict]:
    """Every pair (a, b) of ``groups`` (in their order; groups without values left out) with ``welch(a, b)``,
    its Holm-adjusted p-value over the pairs that have one, and whether ``RULE`` resolves it."""
    names = [k for k, v in groups.items() if len(v) > 0]
    pairs = [{"a": a, "b": b, **welch(groups[a], groups[b])} for a, b in combinations(names, 2)]
    tested = [p for p in pairs if p["p"] is not None]
    for p, adj in zip(tested, holm([p["p"] for p in tested])):
        p["p_holm"] = adj
    for p in pairs:
        p.setdefault("p_holm", None)
        p["resolved"] = p["p_holm"] is not None and p["p_holm"] < ALPHA
    return pairs


def power(diff_in_sd: float, n: int, pairs: int, draws: int = 20_000) -> float:
    """The chance that Welch's test resolves a true difference of ``diff_in_sd`` standard deviations between
    two losses with ``n`` normal values each, at the Bonferroni level ALPHA / ``pairs`` (the strictest step
    of Holm's, so a lower bound for it), estimated from ``draws`` simulated pairs (seeded: the same every time)."""
    if n < MIN_SEEDS:
        return 0.0
    rng = np.random.default_rng(0)
    a = rng.standard_normal((draws, n)) + diff_in_sd
    b = rng.standard_normal((draws, n))
    va, vb = a.var(axis=1, ddof=1) / n, b.var(axis=1, ddof=1) / n
    df = (va + vb) ** 2 / ((va ** 2 + vb ** 2) / (n - 1))
    p = 2 * _st.t.sf(np.abs(a.mean(1) - b.mean(1)) / np.sqrt(va + vb), df)
    return float(np.mean(p < ALPHA / pairs))


def seeds_needed(diff: float, std: float, pairs: int, target: float = 0.8, most: int = 100) -> int | None:
    """The fewest seeds per loss at which ``power`` reaches ``target`` for a true difference ``diff`` between
    two losses whose seeds spread by ``std``; ``None`` if more than ``most`` (or no difference). Power grows
    with the seeds, so a bisection over n in [MIN_SEEDS, most] finds it with a few simulations."""
    if std <= 0 or diff == 0:
        return None
    effect = abs(diff) / std
    if power(effect, most, pairs) < target:
        return None
    low, high = MIN_SEEDS - 1, most  # power(low) < target (or low is below the range), power(high) >= target
    while high - low > 1:
        mid = (low + high) // 2
        if mid >= MIN_SEEDS and power(effect, mid, pairs) >= target:
            high = mid
        else:
            low = mid
    return high
