"""The divergences on hand-computed values, and each loss's optimal L_D against its closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganlib import GanlibError
from ganlib import divergences as dv

# p = (0.4, 0.3, 0.2, 0.1) and q its mirror image on the points 0, 1, 2, 3 (counts out of 10)
CP, CQ, X = [4, 3, 2, 1], [1, 2, 3, 4], [0.0, 1.0, 2.0, 3.0]
P, Q = np.array(CP) / 10, np.array(CQ) / 10


def test_total_variation_by_hand():
    assert dv.total_variation(P, Q) == pytest.approx(0.5 * (0.3 + 0.1 + 0.1 + 0.3))  # 0.4
    assert dv.total_variation([1, 0], [0, 1]) == pytest.approx(1.0)
    assert dv.total_variation(P, P) == 0.0


def test_triangular_discrimination_by_hand():
    # (0.3² + 0.1² + 0.1² + 0.3²) / 0.5 = 0.2 / 0.5
    assert dv.triangular_discrimination(P, Q) == pytest.approx(0.4)
    assert dv.triangular_discrimination([1, 0], [0, 1]) == pytest.approx(2.0)  # its maximum


def test_triangular_is_twice_pearson_to_the_mixture():
    m = (P + Q) / 2
    assert dv.triangular_discrimination(P, Q) == pytest.approx(2 * dv.pearson_chi2(P, m))


def test_pearson_chi2_by_hand():
    # (0.25² / 0.25) + (0.25² / 0.75) = 0.25 + 1/12
    assert dv.pearson_chi2([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 + 1 / 12)
    assert dv.pearson_chi2([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_kl_and_jsd_by_hand():
    # m = (3/4, 1/4): KL(p‖m) = ½ log(2/3) + ½ log 2, KL(q‖m) = log(4/3)
    p, q = [0.5, 0.5], [1.0, 0.0]
    assert dv.kl(p, q) == math.inf
    expected = 0.5 * (0.5 * math.log(2 / 3) + 0.5 * math.log(2)) + 0.5 * math.log(4 / 3)
    assert dv.jsd(p, q) == pytest.approx(expected)
    assert dv.jsd([1, 0], [0, 1]) == pytest.approx(math.log(2))  # disjoint supports: log 2
    assert dv.jsd(P, P) == 0.0


def test_w1_by_hand():
    assert dv.w1_1d([0.0, 1.0, 3.0], [1, 0, 0], [0, 0, 1]) == pytest.approx(3.0)  # all mass moves 3
    # P → Q on 0..3: cumulative differences 0.3, 0.4, 0.3 over unit gaps
    assert dv.w1_1d(X, P, Q) == pytest.approx(1.0)
    # the order of the points does not matter
    assert dv.w1_1d([3.0, 0.0, 1.0], [0, 1, 0], [1, 0, 0]) == pytest.approx(3.0)


def test_inputs_are_checked():
    with pytest.raises(GanlibError):
        dv.jsd([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(GanlibError):
        dv.total_variation([1.0], [0.5, 0.5])
    with pytest.raises(GanlibError):
        dv.optimal_d_loss_closed_form("wgan", P, Q)  # W1 needs the points


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp"])
@pytest.mark.parametrize("counts", [(CP, CQ), ([3, 1, 5, 1], [1, 4, 1, 4]), ([2, 2, 3, 3], [2, 2, 3, 3])])
def test_minimised_d_loss_matches_the_closed_form(loss, counts):
    cp, cq = counts
    p, q = np.array(cp) / sum(cp), np.array(cq) / sum(cq)
    value, _ = dv.optimal_d_loss(loss, cp, cq, X)
    assert value == pytest.approx(dv.optimal_d_loss_closed_form(loss, p, q, X), abs=1e-7)


def test_closed_forms_by_hand():
    assert dv.optimal_d_loss_closed_form("nonsaturating", P, P) == pytest.approx(math.log(4))
    assert dv.optimal_d_loss_closed_form("lsgan", P, Q) == pytest.approx(0.25 - 0.4 / 8)  # 0.2
    assert dv.optimal_d_loss_closed_form("hinge", P, Q) == pytest.approx(2 - 0.8)  # 1.2
    assert dv.optimal_d_loss_closed_form("wgan", P, Q, X) == pytest.approx(-1.0)


def test_optimal_discriminators_by_hand():
    # LSGAN (0-1 coding): D* = p/(p + q); BCE: σ(D*) = p/(p + q), so D* = log(p/q); hinge: sign(p − q)
    _, t = dv.optimal_d_loss("lsgan", CP, CQ)
    np.testing.assert_allclose(t, P / (P + Q), atol=1e-7)
    _, t = dv.optimal_d_loss("nonsaturating", CP, CQ)
    np.testing.assert_allclose(t, np.log(P / Q), atol=1e-6)
    _, t = dv.optimal_d_loss("hinge", CP, CQ)
    np.testing.assert_allclose(t, np.sign(P - Q), atol=1e-6)
    # the best 1-Lipschitz critic falls with slope 1 where F_p > F_q (everywhere here)
    _, t = dv.optimal_d_loss("wgan", CP, CQ, X)
    np.testing.assert_allclose(np.diff(t), [-1.0, -1.0, -1.0], atol=1e-6)


def test_d_loss_is_weighted_by_the_counts():
    # p = (1/2, 1/2) from counts (1, 1), q = (1/4, 3/4) from counts (1, 3): D* = p/(p + q) = (2/3, 2/5)
    # and min L_D = Σ ½·p·q/(p + q) = ½·(1/6 + 3/10) = 7/30
    value, t = dv.optimal_d_loss("lsgan", [1, 1], [1, 3])
    np.testing.assert_allclose(t, [2 / 3, 2 / 5], atol=1e-7)
    assert value == pytest.approx(7 / 30)
    assert dv.optimal_d_loss_closed_form("lsgan", [0.5, 0.5], [0.25, 0.75]) == pytest.approx(7 / 30)
