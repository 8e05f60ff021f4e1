"""ganlib.report on hand-made results (partial grids, diverged losses, no seed 0, a sweep, the normalisation
factor, a one-setting study): tables hold the right numbers, nothing crashes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from ganlib import report, stats
from ganlib.budget import Budget
from ganlib.compare_results import experiment_block
from ganlib.errors import GanlibError
from ganlib.protocols import Experiment

B = Budget("hand", image_steps=100, toy_steps=100, batch_size=64, toy_batch_size=256, seeds=(1, 2, 3), eval_points=2)


def run(loss: str, seed: int, fcd: float, protocol: str = "paper", n_critic: int = 1, seconds: float = 10.0) -> dict:
    """A finished MNIST run record whose FCD falls linearly in time to ``fcd`` at step 100."""
    evals = [{"step": s, "critic_updates": s * n_critic, "train_s": seconds * s / 100, "fcd": fcd + (100 - s),
              "fcd_n": 5000, "fcd_reference": "mnist-test-odd", "classes_covered": 10, "kl_to_uniform": 0.1}
             for s in (0, 50, 100)]
    return {"loss": loss, "seed": seed, "dataset": "mnist", "protocol": protocol, "variant": protocol, "steps": 100,
            "n_critic": n_critic, "fcd": fcd, "fcd_n": 5000, "fcd_reference": "mnist-test-odd", "classes_covered": 10,
            "kl_to_uniform": 0.1, "wall_time_s": seconds, "images_per_s": 6400 / seconds, "evals": evals,
            "critic_estimate_at_evals": [None, 1.0, 0.5]}


def diverged(loss: str, seed: int, protocol: str = "paper") -> dict:
    return {"loss": loss, "seed": seed, "dataset": "mnist", "protocol": protocol, "variant": protocol,
            "diverged": "loss diverged: non-finite generator loss at step 7"}


@pytest.fixture
def hand_results() -> dict:
    paper = [run("nonsaturating", s, 10.0 + s) for s in (1, 2, 3)] + \
            [run("wgan-gp", s, 40.0 + s, n_critic=5, seconds=50.0) for s in (1, 2, 3)] + \
            [diverged("hinge", s) for s in (1, 2, 3)] + [run("lsgan", 2, 30.0), diverged("lsgan", 3)]
    controlled = [run("nonsaturating", s, 20.0 + s, "controlled") for s in (1, 2, 3)]
    sweep_lo = [{**run("nonsaturating", s, 60.0 + s, "controlled"), "variant": "controlled-lr6.3e-05"} for s in (1, 2)]
    exps = {"paper": experiment_block(Experiment("paper", "mnist"), paper, B),
            "controlled": experiment_block(Experiment("controlled", "mnist"), controlled, B),
            "controlled-lr6.3e-05": experiment_block(Experiment("controlled", "mnist", 6.3e-5), sweep_lo, B)}
    return {"schema": 2, "meta": {"notes": [], "statistics": {"rule": "the rule"}},
            "datasets": {"mnist": {"experiments": exps}}}


def test_summary_table_numbers_and_notes(hand_results):
    table = report.summary_table(hand_results, "mnist")
    lines = table.splitlines()
    assert lines[0] == "| loss | seeds | FCD ↓ | classes ↑ | KL to uniform ↓ | time (s) | images/s |"
    # nonsaturating: FCD 11, 12, 13 → mean 12.0, std 1.0; t interval 12 ± 4.302653 / √3 = [9.5, 14.5]
    ns = next(line for line in lines if line.startswith("| nonsaturating |"))
    assert ns.startswith("| nonsaturating | 3 | 12.0 ± 1.0 [9.5, 14.5] |")
    assert "| hinge | 0 (3 diverged) | – |" in table
    lsgan = next(line for line in lines if line.startswith("| lsgan |"))
    assert lsgan.startswith("| lsgan | 1 (1 diverged) | 30.0 (one seed) |")
    assert "hinge: every run diverged" in table and "lsgan: 1 of 2 runs diverged" in table
    assert "different seeds" in table  # lsgan ran seeds 2, 3 only


def test_ranking_and_pairwise(hand_results):
    assert [r[0] for r in report.ranking(hand_results, "mnist")] == ["nonsaturating", "lsgan", "wgan-gp"]
    pairs = report.pairwise_table(hand_results, "mnist")
    # nonsaturating − wgan-gp = 12 − 42 = −30 with 3 seeds each: Welch se = √(2/3), ν = 4, interval
    # −30 ± 2.776445 · 0.816497 = [−32.3, −27.7], the only pair with a p-value: resolved; lsgan has one seed: never
    # t = −30 / 0.816497 = −36.7 on 4 degrees of freedom: p ≈ 3·10⁻⁶, and Holm over one pair leaves it as it is
    line = next(line for line in pairs.splitlines() if line.startswith("| nonsaturating | wgan-gp |"))
    assert line == "| nonsaturating | wgan-gp | -30.0 | [-32.3, -27.7] | 0.000 | yes | – |"
    assert "| nonsaturating | lsgan | -18.0 | – | – | no | – |" in pairs and pairs.count("| no |") == 2
    assert "here the family is the 1 of the table's 3 pairs with at least 2 seeds on both sides" in pairs


def test_equal_compute_table_interpolates_at_the_common_time(hand_results):
    table = report.equal_compute_table(hand_results, "mnist", x="train_s")
    # every finished run reached 10 s; wgan-gp at 10 of its 50 s: step 20, FCD 40 + s + 80
    assert "| FCD ↓ (5,000 images) at 10.0 training seconds (wall) |" in table
    assert "| wgan-gp | 3 | 122.0 ± 1.0 | 20 |" in table
    assert "| nonsaturating | 3 | 12.0 ± 1.0 | 100 |" in table
    assert "| hinge | 0 (3 diverged) | – | – |" in table
    by_updates = report.equal_compute_table(hand_results, "mnist", x="critic_updates")
    assert "| wgan-gp | 3 | 122.0 ± 1.0 | 20 |" in by_updates  # 100 critic updates = 20 WGAN-GP steps


def test_equal_cpu_time_puts_each_run_at_its_loss_least_cost_per_step(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    # one seed of each loss ran on a busy machine: its CPU seconds are three times its step's cost
    cpu = {("nonsaturating", 1): 8.0, ("nonsaturating", 2): 10.0, ("nonsaturating", 3): 30.0,
           ("wgan-gp", 1): 40.0, ("wgan-gp", 2): 50.0, ("wgan-gp", 3): 150.0}
    timed = [{**r, "cpu_time_s": cpu[r["loss"], r["seed"]]} if (r["loss"], r["seed"]) in cpu else r
             for r in exps["paper"]["runs"]]
    exps["paper"] = experiment_block(Experiment("paper", "mnist"), timed, B)
    b = exps["paper"]
    # c = min(8, 10, 30) / 100 steps = 0.08 s; min(40, 50, 150) / 100 = 0.4 s
    assert report.step_cost(b, "nonsaturating") == pytest.approx(0.08)
    assert report.step_cost(b, "wgan-gp") == pytest.approx(0.4)
    assert report.step_cost(b, "hinge") is None  # every run diverged: no timed run
    busy = next(r for r in b["runs"] if r["loss"] == "nonsaturating" and r["seed"] == 3)
    assert [x for x, _ in report.axis_points(b, busy, "cost_cpu_s")] == pytest.approx([0.0, 4.0, 8.0])
    table = report.equal_compute_table(hand_results, "mnist", x="cost_cpu_s")
    # every run reaches 8.0 s (non-saturating's 100 steps × 0.08 s); WGAN-GP then stands at step 8 / 0.4 = 20,
    # FCD 40 + seed + (100 − 20): 121, 122, 123
    assert "at 8.0 CPU seconds (steps × least cost per step) |" in table.splitlines()[0]
    assert "| wgan-gp | 3 | 122.0 ± 1.0 | 20 |" in table
    assert "| nonsaturating | 3 | 12.0 ± 1.0 | 100 |" in table
    # 12 against 122, each ± 1 over three seeds: the one pair with values on both sides, resolved
    assert table.endswith("(Welch's t-test, Holm's correction over the pairs): nonsaturating vs wgan-gp.*")


def test_sweep_table_best_rate_and_spread(hand_results):
    table = report.sweep_table(hand_results, "mnist")
    assert table.splitlines()[0] == "| loss | lr 6.3e-05 | lr 0.0002 | best lr | spread |"
    # the rates are compared on their common seeds 1, 2: means 61.5 and 21.5, best 2e-4, spread 40.0
    assert "| nonsaturating | 61.5 ± 0.7 (2) | 22.0 ± 1.0 (3) | 0.0002 | 40.0 |" in table


def test_figures_survive_partial_grids(hand_results, tmp_path):
    for fig in (report.fcd_curves(hand_results, "mnist"), report.fcd_curves(hand_results, "mnist", x="train_s"),
                report.fcd_curves(hand_results, "mnist", "controlled", x="critic_updates"),
                report.critic_vs_fcd(hand_results, "mnist"), report.sample_grids(hand_results, tmp_path, "mnist"),
                report.sweep_figure(hand_results, "mnist")):
        plt.close(fig)
    report.write_figures(hand_results, tmp_path)
    assert (tmp_path / "fcd_vs_time_mnist.png").exists() and (tmp_path / "lr_sweep_mnist.png").exists()
    assert (tmp_path / "controlled_fcd_vs_step_mnist.png").exists()


def test_column_definitions_cover_every_column(hand_results):
    text = report.column_definitions(hand_results, "mnist")
    for c in ("fcd", "classes_covered", "kl_to_uniform", "wall_time_s", "images_per_s"):
        assert f"**{report.label(c)}**" in text
    assert "confidence" not in report.COLUMNS
    # where the runs record CPU seconds, the tables show them instead of wall seconds and images/s: so do these
    exps = hand_results["datasets"]["mnist"]["experiments"]
    timed = [{**r, "cpu_time_s": 5.0} for r in exps["controlled"]["runs"]]
    exps["controlled"] = experiment_block(Experiment("controlled", "mnist"), timed, B)
    text = report.column_definitions(hand_results, "mnist")
    assert f"**{report.label('cpu_time_s')}**" in text and f"**{report.label('wall_time_s')}**" not in text
    assert f"| {report.label('cpu_time_s')} |" in report.summary_table(hand_results, "mnist", "controlled")


def test_unknown_experiment_is_named(hand_results):

    with pytest.raises(GanlibError, match="no controlled experiment at lr 0.001 on mnist"):
        report.block(hand_results, "mnist", "controlled", 1e-3)
    with pytest.raises(GanlibError, match="no ring"):
        report.summary_table(hand_results, "ring")


def test_panels_come_three_to_a_row():
    fig, axes = report.panel_axes(6, 2.0, 2.0)
    assert len(axes) == 6 and fig.get_size_inches().tolist() == [6.0, 4.0]
    fig, axes = report.panel_axes(4, 2.0, 2.0)  # two rows, the last two cells switched off
    assert len(axes) == 4 and len(fig.axes) == 6 and not fig.axes[5].axison


def test_protocol_table_differences_and_changed_settings(hand_results):
    table = report.protocol_table(hand_results, "mnist", "fcd")
    lines = table.splitlines()
    assert lines[0] == "| loss | FCD ↓ paper | controlled | controlled − paper | 95 % interval | Holm p | resolved |"
    # nonsaturating: paper 11, 12, 13 and controlled 21, 22, 23 → d = 10, Welch se = √(1/3 + 1/3) = 0.816497 on
    # 4 degrees of freedom: 10 ± 2.776445 · 0.816497 = [7.7, 12.3]; t = 12.2, p ≈ 2.6·10⁻⁴, the only loss tested
    ns = next(line for line in lines if line.startswith("| nonsaturating |"))
    assert ns == "| nonsaturating | 12.0 ± 1.0 (3) | 22.0 ± 1.0 (3) | 10.0 | [7.7, 12.3] | 0.000 | yes |"
    # wgan-gp and lsgan ran under paper only, hinge diverged there: no difference, no crash
    assert "| wgan-gp | 42.0 ± 1.0 (3) | – | – | – | – | – |" in table
    assert "| lsgan | 30.0 ± 0.0 (1) | – | – | – | – | – |" in table
    assert "| hinge | – | – | – | – | – | – |" in table and "| minimax |" not in table
    # the settings that differ are listed under the table, one line per change: here only nonsaturating was
    # tested, under the same settings in both protocols
    assert table.endswith("Settings changed (paper → controlled):\n\n- nonsaturating: none")


def test_protocol_table_resolves_only_with_enough_seeds(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    paper = [r for r in exps["paper"]["runs"] if not (r["loss"] == "nonsaturating" and r["seed"] > 1)]
    controlled = [r for r in exps["controlled"]["runs"] if r["seed"] < 3]
    exps["paper"] = experiment_block(Experiment("paper", "mnist"), paper, B)
    exps["controlled"] = experiment_block(Experiment("controlled", "mnist"), controlled, B)
    table = report.protocol_table(hand_results, "mnist", "fcd")
    ns = next(line for line in table.splitlines() if line.startswith("| nonsaturating |"))
    # 11 against 21 and 22: d = 10.5, yet one paper seed has no spread to test against
    assert ns.startswith("| nonsaturating | 11.0 ± 0.0 (1) | 21.5 ± 0.7 (2) | 10.5 | – | – | no |")


def test_settings_changed_names_each_difference():
    wgan = {"optimizer": "rmsprop", "lr": 2.5e-4, "betas": [0.5, 0.999], "n_critic": 5, "d_norm": "batch"}
    wgan_gp = {"optimizer": "adam", "lr": 5e-4, "betas": [0.0, 0.9], "n_critic": 5, "d_norm": "layer"}
    controlled = {"optimizer": "adam", "lr": 1e-3, "betas": [0.5, 0.999], "n_critic": 1, "d_norm": "layer"}
    # RMSprop has no β, so they are not named
    assert report.settings_changed(wgan, controlled) == \
        "optimizer rmsprop → adam, lr 0.00025 → 0.001, n_critic 5 → 1, d_norm batch → layer"
    assert report.settings_changed(wgan_gp, controlled) == \
        "lr 0.0005 → 0.001, betas (0, 0.9) → (0.5, 0.999), n_critic 5 → 1"
    assert report.settings_changed(controlled, dict(controlled)) == "none"


def with_spectral(hand_results: dict) -> dict:
    """``hand_results`` plus a controlled-norm-spectral experiment: non-saturating at FCD 31 and 32."""
    runs = [{**run("nonsaturating", s, 30.0 + s, "controlled"), "variant": "controlled-norm-spectral",
             "d_norm": "spectral"} for s in (1, 2)]
    exps = hand_results["datasets"]["mnist"]["experiments"]
    exps["controlled-norm-spectral"] = experiment_block(Experiment("controlled", "mnist", d_norm="spectral"), runs, B)
    return hand_results


def test_best_rate_per_loss_is_the_best_mean_among_rates_with_two_seeds(hand_results):
    results = with_spectral(hand_results)
    best = report.best_rates(results, "mnist")
    # non-saturating: 61.5 at 6.3e-5 (2 seeds) and 22.0 at 2e-4 (3 seeds); the spectral runs are no rate
    assert set(best) == {"nonsaturating"} and best["nonsaturating"]["lr"] == 2e-4
    assert best["nonsaturating"]["rates"] == 2
    table = report.best_rate_table(results, "mnist")
    # 22 ± 4.302653 · 1/√3 = [19.5, 24.5]
    # the shared rate judged on the seeds both rates ran (1, 2), not on its third: 21.5 ± 0.7 (no interval at 2)
    assert best["nonsaturating"]["values"] == [21.0, 22.0] and best["nonsaturating"]["seeds"] == [1, 2]
    assert "| nonsaturating | 0.0002 (2 of 2) | 21.5 ± 0.7 (seeds 1, 2) | 22.0 ± 1.0 [19.5, 24.5] |" in table
    assert "| hinge | – | – | – |" in table
    header = report.sweep_table(results, "mnist").splitlines()[0]
    assert header == "| loss | lr 6.3e-05 | lr 0.0002 | best lr | spread |"  # the spectral runs are no rate


def test_normalisation_grid_and_heatmap(hand_results):
    grid = report.norm_grid(with_spectral(hand_results), "mnist")
    assert grid[("nonsaturating", "layer")]["mean"] == 22.0 and grid[("nonsaturating", "spectral")]["mean"] == 31.5
    assert ("nonsaturating", "batch") not in grid and len(grid) == 2
    fig = report.norm_heatmap(hand_results, "mnist")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "22.0\n(3)" in texts and any("not run" in t for t in texts)  # WGAN-GP × batch norm is marked
    plt.close(fig)


def test_pairwise_seeds_needed_is_the_power_simulation_of_the_pooled_spread():
    a, b = [0.0, 1.0, 2.0], [3.0, 4.0, 5.0]  # d = −3, both sample std 1, pooled 1
    assert report.seeds_needed(a, b, pairs=15) == stats.seeds_needed(-3.0, 1.0, 15, 0.8, report.SEEDS_NEEDED_MOST)
    assert report.seeds_needed([1.0], b, pairs=1) is None  # one seed: no spread to simulate with
    # the power at the returned n reaches 80 %, one seed fewer does not
    n = report.seeds_needed(a, b, pairs=15)
    assert stats.power(3.0, n, 15) >= 0.8 > stats.power(3.0, n - 1, 15)


def test_one_setting_table_compares_each_row_with_the_controlled_runs():
    from scipy.stats import ttest_ind

    ring_runs = [{"loss": "wgan", "seed": s, "dataset": "ring", "protocol": "controlled", "variant": "controlled",
                  "modes_covered": 0, "high_quality": 0.02} for s in (0, 1, 2)]
    ring = {"meta": {}, "datasets": {"ring": {"experiments": {
        "controlled": experiment_block(Experiment("controlled", "ring"), ring_runs, B)}}}}
    study = {"runs": [{"loss": "wgan", "setting": "n_critic", "value": 5, "seed": s, "modes_covered": m,
                       "high_quality": 0.06} for s, m in enumerate((3, 0, 5))]}
    table = report.one_setting_table(study, ring)
    row = next(line for line in table.splitlines() if line.startswith("| wgan |"))
    # 3, 0, 5: mean 2.67, std 2.52; against 0, 0, 0 Welch's se = 2.52/√3 on 2 degrees of freedom:
    # 2.67 ± 4.302653 · 1.453 = [−3.6, 8.9]
    p = ttest_ind([3, 0, 5], [0, 0, 0], equal_var=False).pvalue
    assert row == f"| wgan | n_critic 5 | 3, 0, 5 | 2.7 ± 2.5 | 0.06 | 2.7 | [-3.6, 8.9] | {p:.3f} | no |"


def test_progress_counts_planned_and_finished_runs(hand_results):
    planned = [("mnist", "paper")] * 18 + [("mnist", "controlled-norm-batch")] * 10
    table = report.progress_table(hand_results, planned)
    # paper holds 11 runs (4 of them diverged) of 4 losses; nothing of the normalisation factor yet
    assert "| mnist | paper protocol | 18 | 11 | 4 |" in table
    assert "| mnist | controlled protocol, batch norm critic | 10 | 0 | 0 |" in table


def test_trajectories_keep_one_n():
    final = {"step": 100, "fcd": 50.0, "fcd_n": 10000, "fcd_5000": 52.0}
    assert report.trajectory_value(final, "fcd") == 52.0
    assert report.trajectory_value({"step": 50, "fcd": 60.0, "fcd_n": 5000}, "fcd") == 60.0
    assert report.trajectory_value(final, "classes_covered") is None


def test_strip_plot_draws_a_dot_per_finished_seed(hand_results):
    fig = report.strip_plot(hand_results, "mnist", ["paper", "controlled"])
    dots = [len(c.get_offsets()) for c in fig.axes[0].collections if hasattr(c, "get_offsets")
            and c.get_offsets().ndim == 2 and len(c.get_offsets())]
    assert sum(dots) >= 7  # paper: non-saturating 3, WGAN-GP 3, LSGAN 1 (hinge diverged)
    plt.close(fig)


def test_no_best_rate_view_without_a_sweep_and_no_interval_below_three_seeds(hand_results):
    del hand_results["datasets"]["mnist"]["experiments"]["controlled-lr6.3e-05"]
    assert report.best_rate_table(hand_results, "mnist") == "*No learning-rate sweep on mnist in these results.*"
    # two seeds: t's 12.706 × s/√2 would reach far outside the metric's range, so the cell shows none
    two = stats.cell([61.0, 62.0])
    assert report._cell("fcd", two, "mnist") == "61.5 ± 0.7"
    # 2 ± 4.302653/√3 = [−0.5, 4.5], clipped to FCD's range [0, ∞)
    assert report._cell("fcd", stats.cell([1.0, 2.0, 3.0]), "mnist") == "2.0 ± 1.0 [0.0, 4.5]"
    assert report._cell("high_quality", stats.cell([0.9, 1.0, 1.0]), "ring") == "0.97 ± 0.06 [0.82, 1.00]"
    # the ring has 8 modes: 7 ± 1 over three seeds, [4.5, 9.5] by t, is shown as [4.5, 8.0]
    assert report._cell("modes_covered", stats.cell([6.0, 7.0, 8.0]), "ring") == "7.0 ± 1.0 [4.5, 8.0]"


def test_protocol_table_lists_losses_with_the_same_change_together(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    # wgan-gp's controlled runs keep n_critic 5 → 1 like the controlled protocol; lsgan and nonsaturating
    # keep every setting: two lines, the losses of one change on one line in the table's order
    controlled = exps["controlled"]["runs"] + [run("wgan-gp", s, 30.0 + s, "controlled") for s in (1, 2, 3)] + \
        [run("lsgan", s, 25.0 + s, "controlled") for s in (1, 2)]
    exps["controlled"] = experiment_block(Experiment("controlled", "mnist"), controlled, B)
    listed = report.protocol_table(hand_results, "mnist", "fcd").split("Settings changed (paper → controlled):\n\n")[1]
    assert listed.splitlines() == ["- nonsaturating, lsgan: none", "- wgan-gp: n_critic 5 → 1"]


def test_a_collapsed_run_is_counted_beside_the_seeds_and_left_out_of_the_statistics(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    # nonsaturating under paper: FCD 11, 12, 13; a fourth seed kept 1 class of 10 (below the rule's 5) at FCD 500
    fell = {**run("nonsaturating", 4, 500.0), "classes_covered": 1}
    exps["paper"] = experiment_block(Experiment("paper", "mnist"), exps["paper"]["runs"] + [fell], B)
    assert report.collapsed(fell) and not report.collapsed(run("nonsaturating", 1, 11.0))
    assert not report.collapsed({**fell, "classes_covered": report.COLLAPSED_BELOW})  # the rule is "fewer than"
    table = report.summary_table(hand_results, "mnist")
    # the cell is still 12.0 ± 1.0 over the three runs that learned, t interval [9.5, 14.5], and not the mean 134
    ns = next(line for line in table.splitlines() if line.startswith("| nonsaturating |"))
    assert ns.startswith("| nonsaturating | 3 (1 collapsed) | 12.0 ± 1.0 [9.5, 14.5] |")
    # Clopper–Pearson for 1 in 4: [1 − 0.975^(1/4), the 97.5 % point of Beta(2, 3)] = [0.6 %, 80.6 %]
    assert ("nonsaturating: 1 of 4 runs collapsed (seeds [4]: fewer than 5 of the 10 classes covered; 95 % "
            "interval of its collapse rate 1% to 81%)") in table
    # the equal-compute table follows the same rule
    equal = report.equal_compute_table(hand_results, "mnist", x="train_s")
    assert "| nonsaturating | 3 (1 collapsed) | 12.0 ± 1.0 | 100 |" in equal
    assert report.values(exps["paper"], "nonsaturating", "fcd") == [11.0, 12.0, 13.0]
    # the strip plot still draws it: four points in nonsaturating's colour, the collapsed one at 500
    fig = report.strip_plot(hand_results, "mnist", ["paper"])
    drawn = [y for c in fig.axes[0].collections for y in c.get_offsets()[:, 1] if len(c.get_offsets())]
    assert sorted(drawn)[-1] == 500.0 and sum(1 for y in drawn if y in (11.0, 12.0, 13.0, 500.0)) == 4


def test_the_sweep_figure_plots_the_runs_that_learned(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    fell = {**run("nonsaturating", 4, 900.0, "controlled"), "classes_covered": 1}
    exps["controlled"] = experiment_block(Experiment("controlled", "mnist"), exps["controlled"]["runs"] + [fell], B)
    fig = report.sweep_figure(hand_results, "mnist")
    # 6.3e-5: seeds 1, 2 (61, 62); 2e-4: seeds 1-3 (21, 22, 23) without the collapsed 900
    assert list(fig.axes[0].lines[0].get_ydata()) == [61.5, 22.0]
    plt.close(fig)


def test_a_rate_that_collapsed_on_a_seed_is_never_the_best_rate(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    low = exps["controlled-lr6.3e-05"]["runs"]
    # at 6.3e-5 seed 2 collapses: that rate no longer qualifies, so 2e-4 is chosen, measured on seeds 1, 2, and it
    # has no other rate to show a spread against
    runs = [low[0], {**low[1], "classes_covered": 1, "fcd": 900.0}]
    exps["controlled-lr6.3e-05"] = experiment_block(Experiment("controlled", "mnist", 6.3e-5), runs, B)
    best = report.best_rates(hand_results, "mnist")
    assert set(best) == {"nonsaturating"} and best["nonsaturating"]["lr"] == 2e-4
    assert best["nonsaturating"]["rates"] == 1 and best["nonsaturating"]["values"] == [21.0, 22.0]
    table = report.sweep_table(hand_results, "mnist")
    assert "| nonsaturating | 61.0 ± 0.0 (1) (1 collapsed) | 22.0 ± 1.0 (3) | 0.0002 | – |" in table
    table = report.best_rate_table(hand_results, "mnist")
    assert "| nonsaturating | 0.0002 (1 of 2) | 21.5 ± 0.7 (seeds 1, 2) | 22.0 ± 1.0 [19.5, 24.5] |" in table
    assert "Rates left out for such a run: nonsaturating 6.3e-05." in table
    # two seeds chose the rate and would test it: no pair is tested below three
    assert "(Welch's t-test, Holm's correction over the pairs of losses with at least 3 seeds): none." in table


def test_no_rate_is_chosen_before_the_rates_share_two_seeds(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    # 6.3e-5 has run seed 1 only: the rates share one seed, too few to choose on, however good it looks
    exps["controlled-lr6.3e-05"] = experiment_block(Experiment("controlled", "mnist", 6.3e-5),
                                                    exps["controlled-lr6.3e-05"]["runs"][:1], B)
    assert report.best_rates(hand_results, "mnist") == {}
    assert "| nonsaturating | 61.0 ± 0.0 (1) | 22.0 ± 1.0 (3) | – | – |" in report.sweep_table(hand_results, "mnist")
    # a rate that has runs of other losses only: non-saturating has run no seed there, so nothing is chosen yet
    others = [{**r, "loss": "lsgan"} for r in exps["controlled-lr6.3e-05"]["runs"]]
    exps["controlled-lr6.3e-05"] = experiment_block(Experiment("controlled", "mnist", 6.3e-5), others, B)
    assert "nonsaturating" not in report.best_rates(hand_results, "mnist")


def test_an_experiment_is_named_in_the_readers_language(monkeypatch):
    assert report.experiment_name("paper") == "paper protocol"
    assert report.experiment_name("controlled-lr6.3e-05") == "controlled protocol, lr 6.3e-05"
    assert report.experiment_name("controlled-norm-spectral") == "controlled protocol, spectral norm critic"
    monkeypatch.setenv("GANLIB_LANG", "zh_CN")
    assert report.experiment_name("controlled-norm-batch") == "受控实验方案，批归一化评论家"
    assert report.experiment_name("controlled-lr6.3e-04") == "受控实验方案，学习率 0.00063"
    with pytest.raises(GanlibError, match="unknown protocol 'sweep'; choose one of: paper, controlled"):
        report.experiment_name("sweep")
    with pytest.raises(GanlibError, match="unknown experiment 'paper-x'"):
        report.experiment_name("paper-x")
    with pytest.raises(GanlibError, match="unknown normalisation 'group'; choose one of: batch, layer, spectral, none"):
        report.norm_name("group")
