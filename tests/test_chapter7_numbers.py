"""The numbers and claims of chapter 7's prose, recomputed from the stored results.

Each check pairs a phrase of the chapter's Markdown with what ganlib computes from ``book/results``: prose that
drifts from the results, or results that stop supporting the prose, fail here. The ring's grid and its
one-setting study are complete, so their numbers are quoted exactly; the MNIST grid grows as its runs finish,
so the answer box's claims about it are checked as claims (which runs failed, which learned).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import fisher_exact

import ganlib
from ganlib import compare, protocols, report, stats
from ganlib.one_setting import load_study

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
CHAPTER = ROOT / "book" / "07_mnist_comparison.ipynb"


@pytest.fixture(scope="module")
def prose() -> str:
    """The chapter's Markdown, every run of whitespace made one space."""
    cells = json.loads(CHAPTER.read_text())["cells"]
    return " ".join(" ".join("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")


@pytest.fixture(scope="module")
def ring() -> dict:
    return compare.load_results(RESULTS / "ring")


def quoted(prose: str, phrase: str) -> None:
    assert " ".join(phrase.split()) in prose, f"chapter 7 no longer says: {phrase}"


def num(x: float, fmt: str = "{:.1f}") -> str:
    """A number as the chapter writes it, with a true minus sign."""
    return fmt.format(x).replace("-", "−")


def pm(values: list[float], fmt: str = "{:.1f}") -> str:
    """``mean ± std`` as the chapter writes it."""
    c = stats.cell(values)
    return f"{num(c['mean'], fmt)} ± {num(c['std'], fmt)}"


def modes(ring: dict, protocol: str, loss: str) -> list[float]:
    return report.values(report.block(ring, "ring", protocol), loss, "modes_covered")


def share(ring: dict, protocol: str, loss: str) -> list[float]:
    return report.values(report.block(ring, "ring", protocol), loss, "high_quality")


def pairs(ring: dict, protocol: str) -> tuple[dict, list[dict]]:
    b = report.block(ring, "ring", protocol)
    groups = {loss: report.values(b, loss, "modes_covered") for loss in report._losses(b)}
    return groups, stats.pairwise(groups)


def test_the_ring_under_the_paper_protocol(prose, ring):
    assert modes(ring, "paper", "minimax") == modes(ring, "paper", "nonsaturating") == [8.0] * 5
    quoted(prose, "covered all eight modes on all five seeds** (high-quality shares "
                  f"{pm(share(ring, 'paper', 'minimax'), '{:.2f}')} and "
                  f"{pm(share(ring, 'paper', 'nonsaturating'), '{:.2f}')}), hinge {pm(modes(ring, 'paper', 'hinge'))}")
    failed = ["lsgan", "wgan-gp", "wgan"]
    quoted(prose, ": " + ", ".join(pm(modes(ring, "paper", loss)) for loss in failed[:2])
           + f" and {pm(modes(ring, 'paper', 'wgan'))} modes, each with a seed that covered no mode or one")
    assert all(min(modes(ring, "paper", loss)) <= 1 for loss in failed)
    groups, tested = pairs(ring, "paper")
    assert not any(p["resolved"] for p in tested) and len(tested) == 15
    quoted(prose, "Five seeds resolve none of the 15 differences")
    largest = max(tested, key=lambda p: abs(p["diff"]))
    need = report.seeds_needed(groups[largest["a"]], groups[largest["b"]], len(tested))
    quoted(prose, f"The largest gap, {abs(largest['diff']):.1f} modes between the saturating or non-saturating loss "
                  f"and WGAN, would need about {need} seeds per loss")


def test_the_ring_paper_protocol_at_equal_cpu_time(prose, ring):
    b = report.block(ring, "ring", "paper")
    cpu = {loss: np.mean([r["train_cpu_s"] for r in report._finished(b, loss)]) for loss in report._losses(b)}
    others = [cpu[loss] for loss in ("minimax", "nonsaturating", "lsgan", "hinge")]
    quoted(prose, f"a run took {cpu['wgan']:.0f} CPU s (WGAN) and {cpu['wgan-gp']:.0f} CPU s (WGAN-GP), against "
                  f"about {np.mean(others):.0f} CPU s for the other losses")
    at, read = report.equal_compute_values(b, "cost_cpu_s", "modes_covered")
    # a run's CPU time: its generator steps × its loss's least CPU seconds per step
    assert at == pytest.approx(min(r["steps"] * report.step_cost(b, r["loss"]) for r in report._finished(b)))
    steps = {loss: round(float(np.mean([st for _, st in read[loss]])), -1) for loss in read}
    others = [steps[loss] for loss in ("minimax", "nonsaturating", "lsgan", "hinge")]
    quoted(prose, f"At {at:.1f} CPU seconds (steps × least cost per step), the most every run reached, WGAN had taken "
                  f"about {steps['wgan']:.0f} generator steps and WGAN-GP about {steps['wgan-gp']:.0f}, while the "
                  f"other four losses had taken {min(others):,.0f} to {max(others):,.0f}.")
    # the last evaluation before that point, and what the Wasserstein runs covered there
    before = {r["loss"]: max(e["step"] for e in r["evals"] if e["step"] * report.step_cost(b, r["loss"]) <= at)
              for r in report._finished(b) if r["loss"] in ("wgan", "wgan-gp")}
    assert set(before.values()) == {333}
    assert all(e["modes_covered"] == 0 for r in report._finished(b) if r["loss"] in ("wgan", "wgan-gp")
               for e in r["evals"] if e["step"] == 333)
    quoted(prose, "At the last evaluation before that point (step 333) no WGAN or WGAN-GP seed covered a mode")
    pairs = stats.pairwise({loss: [v for v, _ in vals] for loss, vals in read.items()})
    resolved = {frozenset((p["a"], p["b"])) for p in pairs if p["resolved"]}
    assert resolved == {frozenset((w, o)) for w in ("wgan", "wgan-gp") for o in ("minimax", "nonsaturating", "hinge")}
    quoted(prose, "the table resolves both Wasserstein losses against minimax, the non-saturating loss and hinge.")


def test_the_ring_under_the_controlled_protocol(prose, ring):
    quoted(prose, f"still covered nearly every mode**: {pm(modes(ring, 'controlled', 'minimax'))} and "
                  f"{pm(modes(ring, 'controlled', 'hinge'))}")
    lsgan = modes(ring, "controlled", "lsgan")
    assert (min(lsgan), max(lsgan)) == (4.0, 8.0)
    quoted(prose, f"LSGAN covered {pm(lsgan)} modes**, between four and eight")
    ns = modes(ring, "controlled", "nonsaturating")
    assert set(ns) == {3.0, 4.0}
    best_share = max(report.cells(report.block(ring, "ring", "controlled"), "high_quality").items(),
                     key=lambda kv: kv[1]["mean"])[0]
    assert best_share == "nonsaturating"
    quoted(prose, f"three or four modes on every seed** ({pm(ns)}), with the highest high-quality share of all "
                  f"({pm(share(ring, 'controlled', 'nonsaturating'), '{:.2f}')})")
    assert modes(ring, "controlled", "wgan") == [0.0] * 5
    quoted(prose, f"WGAN covered no mode, WGAN-GP {pm(modes(ring, 'controlled', 'wgan-gp'))} modes")
    groups, tested = pairs(ring, "controlled")
    open_pairs = {frozenset((p["a"], p["b"])) for p in tested if not p["resolved"]}
    quoted(prose, f"Five seeds resolve {len(tested) - len(open_pairs)} of the {len(tested)} differences")
    assert open_pairs == {frozenset(p) for p in (("wgan", "wgan-gp"), ("minimax", "hinge"), ("lsgan", "minimax"),
                                                 ("lsgan", "nonsaturating"), ("lsgan", "hinge"))}
    needs = [report.seeds_needed(groups[p["a"]], groups[p["b"]], len(tested)) for p in tested
             if not p["resolved"] and "lsgan" in (p["a"], p["b"])]
    gaps = [abs(p["diff"]) for p in tested if not p["resolved"] and "lsgan" not in (p["a"], p["b"])]
    assert all(round(g, 1) == 0.2 for g in gaps)
    quoted(prose, f"three pairs about 2 modes apart that would need {min(needs)} to {max(needs)} seeds per loss")


def test_the_ring_from_one_protocol_to_the_other(prose, ring):
    def welch(loss: str, metric: str) -> dict:
        values = modes if metric == "modes_covered" else share
        return stats.welch(values(ring, "controlled", loss), values(ring, "paper", loss))

    ns = welch("nonsaturating", "modes_covered")
    quoted(prose, f"cost the non-saturating loss {-ns['diff']:.1f} of its 8 modes** (interval "
                  f"[{num(ns['ci95'][0])}, {num(ns['ci95'][1])}])")
    quoted(prose, f"cost the non-saturating loss {-ns['diff']:.1f} of its 8 modes, and changed no mode count")
    losses = ["minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge"]
    tests = {loss: welch(loss, "modes_covered") for loss in losses}
    resolved = dict(zip(losses, (p < stats.ALPHA for p in stats.holm([tests[loss]["p"] for loss in losses]))))
    assert resolved == {"minimax": False, "nonsaturating": True, "wgan": False, "wgan-gp": True, "lsgan": False,
                        "hinge": False}
    before, after = (np.mean(share(ring, protocol, "minimax")) for protocol in ("paper", "controlled"))
    quoted(prose, f"lowered the saturating loss's high-quality share from {before:.2f} to {after:.2f} without a "
                  "resolved change in modes")
    quoted(prose, f"WGAN-GP's drop of {-tests['wgan-gp']['diff']:.1f} modes is resolved, WGAN's of "
                  f"{-tests['wgan']['diff']:.1f} is not")
    assert (min(modes(ring, "paper", "wgan")), max(modes(ring, "paper", "wgan"))) == (0.0, 8.0)
    for protocol in ("paper", "controlled"):
        assert min(modes(ring, protocol, "hinge")) >= 7  # the answer box: at least seven of eight, every seed


def test_the_ring_one_setting_at_a_time(prose, ring):
    study = load_study(RESULTS / "ring" / "one_setting.json")
    rows: dict[tuple[str, str], list[float]] = {}
    for r in study["runs"]:
        rows.setdefault((r["loss"], r["setting"]), []).append(r["modes_covered"])
    control = {loss: modes(ring, "controlled", loss) for loss in ("wgan", "wgan-gp")}
    tests = {k: stats.welch(v, control[k[0]]) for k, v in rows.items()}
    adjusted = dict(zip(tests, stats.holm([t["p"] for t in tests.values()])))
    assert not any(p < stats.ALPHA for p in adjusted.values())
    quoted(prose, f"moved WGAN from no mode on any seed to {pm(rows['wgan', 'n_critic'])} modes**, close to the "
                  f"{pm(modes(ring, 'paper', 'wgan'))} of its whole recipe")
    quoted(prose, f"the difference is not resolved (adjusted p {adjusted['wgan', 'n_critic']:.2f})")
    gp = [np.mean(rows["wgan-gp", key]) for key in ("n_critic", "betas", "lr")]
    whole = np.mean(modes(ring, "paper", "wgan-gp"))
    quoted(prose, f"it covered {gp[0]:.1f}, {gp[1]:.1f} and {gp[2]:.1f} modes on average, against "
                  f"{np.mean(control['wgan-gp']):.1f} under controlled and {whole:.1f} with its whole recipe")


def test_the_answer_box_claims_about_mnist_hold_for_every_finished_run(prose):
    grid = compare.load_results(RESULTS / "grid")
    runs = [r for b in grid["datasets"]["mnist"]["experiments"].values() for r in b["runs"] if "diverged" not in r]
    failed = [r for r in runs if report.collapsed(r)]
    learned = [r for r in runs if not report.collapsed(r)]
    quoted(prose, "Every MNIST run that has failed so far is a minimax run: it stayed on a single class to the end "
                  "and ended with an FCD above 1,800, where no run that learned ended above 190")
    assert {r["loss"] for r in failed} <= {"minimax"}
    # "stayed": one class at every evaluation, not only at the last
    assert all(e["classes_covered"] == 1 for r in failed for e in r["evals"])
    assert min(r["fcd"] for r in failed) > 1800 and max(r["fcd"] for r in learned) <= 190
    quoted(prose, "Here neither has failed on a finished MNIST seed")
    assert not [r for r in failed if r["loss"] in ("nonsaturating", "hinge")]
    quoted(prose, "On MNIST, under the controlled protocol, every WGAN and WGAN-GP run learned")
    shared_rate = report.experiment(grid, "mnist", "controlled")
    assert all(not report.collapsed(r) for r in shared_rate["runs"] if r["loss"] in ("wgan", "wgan-gp"))


def test_the_answer_box_ranks_the_wasserstein_losses_on_mnist_as_the_controlled_table_does(prose):
    grid = compare.load_results(RESULTS / "grid")
    ranked = [loss for loss, _, _ in report.ranking(grid, "mnist", variant="controlled")]
    assert (ranked[0], ranked[-1]) == ("wgan-gp", "wgan")
    b = report.experiment(grid, "mnist", "controlled")
    pairs = stats.pairwise({loss: report.values(b, loss, "fcd") for loss in report._losses(b)})
    resolved = {frozenset((p["a"], p["b"])) for p in pairs if p["resolved"]}
    assert {frozenset(("wgan-gp", "nonsaturating")), frozenset(("wgan-gp", "hinge"))} <= resolved
    assert {frozenset(("wgan", other)) for other in report._losses(b) if other != "wgan"} <= resolved
    assert frozenset(("wgan-gp", "minimax")) not in resolved
    others = [loss for loss in report._losses(b) if loss not in ("wgan-gp", "minimax")]
    assert {frozenset(("wgan-gp", other)) for other in others} <= resolved
    quoted(prose, "at the shared rate WGAN-GP has the lowest mean FCD, resolved against every other loss except "
                  "minimax, whose learned seeds spread widely, and WGAN the highest, resolved against every other "
                  "loss.")
    _, read = report.equal_compute_values(b, "cost_cpu_s", "fcd")
    pairs = stats.pairwise({loss: [v for v, _ in vals] for loss, vals in read.items()})
    gp_hinge = next(p for p in pairs if {p["a"], p["b"]} == {"wgan-gp", "hinge"})
    assert (gp_hinge["a"], gp_hinge["b"]) == ("wgan-gp", "hinge") and not gp_hinge["resolved"]
    gp_steps = round(float(np.mean([st for _, st in read["wgan-gp"]])), -2)
    low, high = gp_hinge["ci95"]
    quoted(prose, f"At equal CPU time, where WGAN-GP has taken about {gp_steps:,.0f} of its 3,000 steps, WGAN-GP and "
                  f"hinge are not resolved (WGAN-GP minus hinge: {gp_hinge['diff']:.1f} FCD, 95 % interval "
                  f"{num(low)} to {num(high)}).")


def test_the_answer_box_on_the_learning_rate_follows_the_complete_sweep(prose):
    grid = compare.load_results(RESULTS / "grid")
    blocks = report._sweep_blocks(grid, "mnist")
    book = ganlib.get_budget("book")
    assert [b["lr"] for b in blocks] == sorted(protocols.SWEEP_LRS)
    # the sweep is complete: every loss has its planned seeds at every rate
    assert all(sorted(r["seed"] for r in b["runs"] if r["loss"] == loss) == list(book.seeds[:book.sweep_seeds])
               or b["variant"] == "controlled" for b in blocks for loss in ganlib.LOSS_NAMES)
    best = report.best_rates(grid, "mnist")
    mean = {loss: c["cell"]["mean"] for loss, c in best.items()}
    assert all(c["seeds"] == [0, 1, 2] for c in best.values())
    # the shared rate's resolved lead (five seeds) ...
    shared_block = report.experiment(grid, "mnist", "controlled")
    shared = {frozenset((p["a"], p["b"])): p for p in
              stats.pairwise({loss: report.values(shared_block, loss, "fcd") for loss in report._losses(shared_block)})}
    assert all(shared[frozenset(("wgan-gp", other))]["resolved"] for other in ("nonsaturating", "hinge"))
    # ... is gone at the best rates: lower means, and no resolved gap among the three
    assert mean["hinge"] < mean["wgan-gp"] and mean["nonsaturating"] < mean["wgan-gp"]
    tested = {k: v["values"] for k, v in best.items() if len(v["values"]) >= report.BEST_RATE_TEST_SEEDS}
    resolved = {frozenset((p["a"], p["b"])) for p in stats.pairwise(tested) if p["resolved"]}
    assert not resolved & {frozenset(pair) for pair in (("hinge", "wgan-gp"), ("nonsaturating", "wgan-gp"),
                                                       ("hinge", "nonsaturating"))}
    quoted(prose, "WGAN-GP's resolved lead over the non-saturating loss and hinge at the shared rate disappears when "
                  f"each loss gets its best of three rates (hinge {mean['hinge']:.1f}, non-saturating "
                  f"{mean['nonsaturating']:.1f}, WGAN-GP {mean['wgan-gp']:.1f} on seeds 0 to 2; these gaps are not "
                  "resolved).")
    highest, shared_lr = max(protocols.SWEEP_LRS), protocols.CONTROLLED["lr"]
    assert {loss for loss, c in best.items() if c["lr"] == highest} == {"minimax", "nonsaturating", "lsgan", "hinge"}
    assert {loss for loss, c in best.items() if c["lr"] == shared_lr} == {"wgan", "wgan-gp"}
    quoted(prose, "At 3,000 steps the non-saturating loss, LSGAN and hinge did best at the highest rate tried, the "
                  "edge of the sweep, so the sweep does not show where their best rate lies; WGAN and WGAN-GP had "
                  "their lowest means at the shared rate, inside the sweep.")
    collapsed = {b["lr"]: (sum(report.collapsed(r) for r in b["runs"] if r["loss"] == "minimax"),
                           sum(r["loss"] == "minimax" for r in b["runs"])) for b in blocks}
    assert collapsed == {min(protocols.SWEEP_LRS): (3, 3), shared_lr: (1, 5), highest: (0, 3)}
    # 1 of 5 against 0 of 3: Fisher's exact test cannot tell them apart
    assert fisher_exact([[1, 4], [0, 3]]).pvalue == pytest.approx(1.0)
    quoted(prose, "Minimax collapsed on all three seeds at the lowest rate, on one of five at the shared rate and on "
                  "none of three at the highest, counts that cannot tell the last two apart.")


def test_the_equal_compute_section_on_what_a_step_costs(prose):
    grid = compare.load_results(RESULTS / "grid")
    b = report.experiment(grid, "mnist", "controlled")
    cost = {loss: report.step_cost(b, loss) for loss in report._losses(b)}
    same = [cost[loss] for loss in ("minimax", "nonsaturating", "wgan", "lsgan", "hinge")]
    assert round(max(same) / min(same) - 1, 2) == 0.05
    assert round(cost["wgan-gp"] / np.mean(same), 1) == 1.5
    quoted(prose, "come out within about 5 % of each other (exercise 2 prints each loss's cost), inside that noise, "
                  "and a WGAN-GP step costs about 1.5 times theirs.")


def test_the_chapters_statistical_asides(prose):
    from scipy.stats import chi2, mannwhitneyu, permutation_test
    from test_stats import CHAPTER_POWER

    def span(df: int) -> float:
        """How many times wider the top of a standard deviation's 95 % interval is than its bottom."""
        return float(np.sqrt(chi2.ppf(0.975, df) / chi2.ppf(0.025, df)))

    # a pair's pooled spread over five seeds per loss has 8 degrees of freedom, over two seeds 2
    quoted(prose, f"its 95 % interval still spans a factor of about {span(8):.1f} (about {span(2):.0f} with two seeds)")
    quoted(prose, f"uncertain by a factor of about {span(8):.1f} (about {span(2):.0f} with two)")
    quoted(prose, f"two standard deviations about {CHAPTER_POWER[5]:.0%}".replace("%", " %"))
    quoted(prose, f"two standard deviations about {CHAPTER_POWER[3]:.0%}".replace("%", " %"))
    # a rank or permutation test keeping failed runs: five against five at the most extreme ordering (252
    # equally likely splits, two as extreme), against Holm's first step
    low, high = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
    smallest = mannwhitneyu(low, high, method="exact").pvalue
    by_permutation = permutation_test((low, high), lambda a, b: np.mean(a) - np.mean(b), permutation_type="independent",
                                      n_resamples=np.inf).pvalue
    assert smallest == pytest.approx(2 / 252) == by_permutation and smallest > stats.ALPHA / 15
    quoted(prose, f"any exact rank or permutation test's smallest two-sided p-value is 2/252 ≈ {smallest:.3f}, above "
                  f"the 0.05/15 ≈ {stats.ALPHA / 15:.3f} that Holm's rule asks of the first of 15 pairs")



@pytest.mark.parametrize("page", ["intro.md", "08_summary.md"])
def test_the_answer_on_the_intro_and_summary_pages_holds_for_the_stored_runs(page, ring):
    text = " ".join((ROOT / "book" / page).read_text().split())
    grid = compare.load_results(RESULTS / "grid")
    runs = [r for b in grid["datasets"]["mnist"]["experiments"].values() for r in b["runs"] if "diverged" not in r]
    quoted(text, "both Wasserstein losses learned, and every failed run is one of the saturating loss's")
    assert {r["loss"] for r in runs if report.collapsed(r)} <= {"minimax"}
    assert not [r for r in runs if r["loss"] in ("wgan", "wgan-gp") and report.collapsed(r)]
    # the page sends the reader to chapter 7 for spectral normalisation: the grid plans it and the chapter shows it
    quoted(text, "[chapter 7](07_mnist_comparison.ipynb) compares a spectrally normalised critic with batch and layer "
                 "norm on MNIST")
    book = ganlib.get_budget("book")
    assert "controlled-norm-spectral" in {j.experiment.variant for j in compare.plan(ganlib.LOSS_NAMES, book.seeds,
                                                                                      ["mnist"], book)}
    code = "".join("".join(c["source"]) for c in json.loads(CHAPTER.read_text())["cells"] if c["cell_type"] == "code")
    assert 'report.norm_heatmap(results, "mnist")' in code
    ns = stats.welch(modes(ring, "controlled", "nonsaturating"), modes(ring, "paper", "nonsaturating"))
    quoted(text, f"cost the non-saturating loss {-ns['diff']:.1f} of 8 modes while the saturating loss kept "
                 f"{np.mean(modes(ring, 'controlled', 'minimax')):.1f}")
