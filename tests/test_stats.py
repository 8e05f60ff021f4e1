"""Statistics over seeds: hand-computed intervals and p-values, Holm's correction, and simulations that
measure the intervals' coverage, the family-wise false-positive rate and the power at the seeds used."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from ganlib import stats

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")


def test_cell_is_mean_std_and_student_t_interval():
    c = stats.cell([1.0, 2.0, 3.0])
    # mean 2, s = 1, t_{0.975, 2} = 4.302653: 2 ± 4.302653 / √3 = 2 ± 2.484138
    assert (c["mean"], c["std"], c["n"]) == (2.0, 1.0, 3)
    assert c["ci95"] == pytest.approx([2 - 2.484138, 2 + 2.484138], abs=1e-6)
    assert stats.cell([5.0]) == {"mean": 5.0, "std": 0.0, "n": 1, "ci95": None}
    with pytest.raises(ValueError):
        stats.cell([])


def test_welch_difference_by_hand_and_against_scipy():
    w = stats.welch([10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    # d = 9, se = √(1/3 + 1/3) = 0.816497, ν = (2/3)² / ((1/3)²/2 · 2) = 4, t_{0.975, 4} = 2.776445
    assert w["diff"] == 9.0 and w["ci95"] == pytest.approx([9 - 2.266958, 9 + 2.266958], abs=1e-6)
    ref = st.ttest_ind([10.0, 11.0, 12.0], [1.0, 2.0, 3.0], equal_var=False)
    assert w["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    uneven = stats.welch([1.0, 4.0, 2.0, 8.0], [3.0, 3.5])
    assert uneven["p"] == pytest.approx(st.ttest_ind([1.0, 4.0, 2.0, 8.0], [3.0, 3.5], equal_var=False).pvalue)
    assert stats.welch([1.0], [2.0, 3.0]) == {"diff": -1.5, "ci95": None, "p": None}
    assert stats.welch([2.0, 2.0], [2.0, 2.0])["p"] == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 → 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 1·0.04) = 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []


def test_pairwise_resolves_only_after_holm():
    far = {"a": [10.0, 11.0, 12.0], "b": [1.0, 2.0, 3.0], "c": [1.5, 2.5, 3.5], "d": []}
    pairs = stats.pairwise(far)
    assert [(p["a"], p["b"]) for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert pairs[0]["resolved"] and pairs[1]["resolved"] and not pairs[2]["resolved"]
    assert all(p["p_holm"] >= p["p"] for p in pairs)
    one_seed = stats.pairwise({"a": [100.0], "b": [1.0, 2.0, 3.0]})
    assert one_seed[0]["p_holm"] is None and not one_seed[0]["resolved"]


def _tables(rng: np.random.Generator, n: int, shift: float, count: int) -> list[list[dict]]:
    """``count`` tables of six losses with ``n`` seeds each, N(0, 1) values, the first loss shifted by ``shift``."""
    out = []
    for _ in range(count):
        x = rng.standard_normal((len(LOSSES), n))
        x[0] += shift
        out.append(stats.pairwise(dict(zip(LOSSES, x.tolist()))))
    return out


@pytest.mark.parametrize("n", [3, 5])
def test_student_interval_covers_the_true_mean(n):
    """Coverage measured on 10,000 simulated cells of normal values: 95 % within Monte Carlo error; on
    skewed (log-normal) values it is printed, not promised."""
    rng = np.random.default_rng(n)
    normal = rng.standard_normal((10_000, n))
    hits = [c["ci95"][0] <= 0 <= c["ci95"][1] for c in map(stats.cell, normal)]
    skewed = rng.lognormal(0, 1, (10_000, n))
    true = math.exp(0.5)
    skew_hits = [c["ci95"][0] <= true <= c["ci95"][1] for c in map(stats.cell, skewed)]
    print(f"t-interval coverage at n = {n}: normal {np.mean(hits):.3f}, log-normal {np.mean(skew_hits):.3f}")
    assert 0.94 <= np.mean(hits) <= 0.96  # 4.5 standard errors of 10,000 trials


# the power for a 2σ difference that chapter 7 quotes ("about 3 %" at three seeds, "about 26 %" at five)
CHAPTER_POWER = {3: 0.03, 5: 0.26}


@pytest.mark.parametrize("n", [3, 5])
def test_holm_keeps_the_family_wise_false_positive_rate_at_most_five_percent(n):
    """Six equal losses, 15 pairs per table, 4,000 tables: the share of tables with any resolved pair
    stays at most 5 %; the power for one loss 2σ away from the five others is measured and printed."""
    rng = np.random.default_rng(100 + n)
    fwer = np.mean([any(p["resolved"] for p in t) for t in _tables(rng, n, 0.0, 4000)])
    shifted = _tables(rng, n, 2.0, 2000)
    # power: the chance that a given true difference (loss 0 against loss 1) is resolved
    power = np.mean([next(p for p in t if (p["a"], p["b"]) == (LOSSES[0], LOSSES[1]))["resolved"] for t in shifted])
    bound = stats.power(2.0, n, 15)
    print(f"n = {n}: family-wise false-positive rate {fwer:.3f}; power for a 2σ difference {power:.3f} "
          f"(Welch at the Bonferroni level: {bound:.3f})")
    assert fwer <= 0.05
    assert power >= bound - 0.02  # Holm is at least as powerful as Bonferroni (0.02: Monte Carlo error)
    assert abs(power - CHAPTER_POWER[n]) <= 0.03  # 2,000 tables: a standard error of about 0.01


def test_seeds_needed_reaches_the_target_power():
    n = stats.seeds_needed(diff=2.0, std=1.0, pairs=15)
    assert stats.power(2.0, n, 15) >= 0.8 > stats.power(2.0, n - 1, 15)
    assert stats.seeds_needed(0.0, 1.0, 15) is None and stats.seeds_needed(1.0, 0.0, 15) is None
    assert stats.seeds_needed(0.01, 1.0, 15, most=50) is None


def test_two_constant_groups_get_the_exact_permutation_p_value():
    # t is undefined without spread; of the C(4, 2) = 6 ways to split [8, 8, 7, 7] in two, 2 differ by |1|
    assert stats.welch([8.0, 8.0], [7.0, 7.0])["p"] == pytest.approx(2 / 6)
    # five against five: the observed split and its mirror of C(10, 5) = 252
    assert stats.welch([8.0] * 5, [0.0] * 5)["p"] == pytest.approx(2 / 252)
    assert stats.welch([3.0] * 4, [3.0] * 4)["p"] == 1.0
    # two seeds each can no longer resolve a constant difference, however large
    assert not stats.pairwise({"a": [8.0, 8.0], "b": [0.0, 0.0]})[0]["resolved"]

