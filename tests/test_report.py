"""ganlib.report on hand-made results (partial grids, diverged losses, no seed 0, a sweep) and on the
stored book results from before the protocols: tables hold the right numbers, nothing crashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from ganlib import report
from ganlib.budget import Budget
from ganlib.compare import LEGACY_NOTE, _block, load_results
from ganlib.protocols import Experiment

BOOK_RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"
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
    exps = {"paper": _block(Experiment("paper", "mnist"), paper, B),
            "controlled": _block(Experiment("controlled", "mnist"), controlled, B),
            "controlled-lr6.3e-05": _block(Experiment("controlled", "mnist", 6.3e-5), sweep_lo, B)}
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
    assert lsgan.startswith("| lsgan | 1 (1 diverged) | 30.0 ± 0.0 |")
    assert "hinge: every run diverged" in table and "lsgan: 1 of 2 runs diverged" in table
    assert "different seeds" in table  # lsgan ran seeds 2, 3 only


def test_ranking_and_pairwise(hand_results):
    assert [r[0] for r in report.ranking(hand_results, "mnist")] == ["nonsaturating", "lsgan", "wgan-gp"]
    pairs = report.pairwise_table(hand_results, "mnist")
    # nonsaturating − wgan-gp = 12 − 42 = −30 with 3 seeds each: Welch se = √(2/3), ν = 4, interval
    # −30 ± 2.776445 · 0.816497 = [−32.3, −27.7], the only pair with a p-value: resolved; lsgan has one seed: never
    line = next(line for line in pairs.splitlines() if line.startswith("| nonsaturating | wgan-gp |"))
    assert line.startswith("| nonsaturating | wgan-gp | -30.0 | [-32.3, -27.7] |") and line.endswith("| yes |")
    assert "| nonsaturating | lsgan | -18.0 | – | – | no |" in pairs and pairs.count("| no |") == 2
    assert "*Rule: the rule.*" in pairs


def test_equal_compute_table_interpolates_at_the_common_time(hand_results):
    table = report.equal_compute_table(hand_results, "mnist", x="train_s")
    # every finished run reached 10 s; wgan-gp at 10 of its 50 s: step 20, FCD 40 + s + 80
    assert "at 10.0 training seconds" in table
    assert "| wgan-gp | 3 | 122.0 ± 1.0 | 20 |" in table
    assert "| nonsaturating | 3 | 12.0 ± 1.0 | 100 |" in table
    assert "| hinge | 0 | – | – |" in table
    by_updates = report.equal_compute_table(hand_results, "mnist", x="critic_updates")
    assert "| wgan-gp | 3 | 122.0 ± 1.0 | 20 |" in by_updates  # 100 critic updates = 20 WGAN-GP steps


def test_sweep_table_best_rate_and_spread(hand_results):
    table = report.sweep_table(hand_results, "mnist")
    assert table.splitlines()[0] == "| loss | lr 6.3e-05 | lr 0.0002 | best lr | spread |"
    # means 61.5 at 6.3e-5 and 22.0 at 2e-4: best 2e-4, spread 39.5
    assert "| nonsaturating | 61.5 ± 0.7 (2) | 22.0 ± 1.0 (3) | 0.0002 | 39.5 |" in table


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
        assert f"**{report.COLUMNS[c].label}**" in text
    assert "confidence" not in report.COLUMNS


def test_unknown_experiment_is_named(hand_results):
    from ganlib import GanlibError

    with pytest.raises(GanlibError, match="no controlled experiment at lr 0.001 on mnist"):
        report.block(hand_results, "mnist", "controlled", 1e-3)
    with pytest.raises(GanlibError, match="no ring"):
        report.summary_table(hand_results, "ring")


@pytest.mark.skipif(not (BOOK_RESULTS / "results.json").is_file(), reason="no stored book results")
def test_stored_results_from_before_the_protocols_still_render(tmp_path):
    res = load_results(BOOK_RESULTS)
    assert res["meta"]["notes"][0] == LEGACY_NOTE and res["meta"]["legacy"]
    assert not [word for text in res["meta"]["data"].values() for word in text.split()
                if word.lstrip("(\"'`").startswith(("/", "~/"))], "no absolute path in the data descriptions"
    table = report.summary_table(res, "mnist")
    assert "confidence" not in table and LEGACY_NOTE in table
    assert report.ranking(res, "mnist")[0][0] == "wgan-gp"
    assert "recorded" in report.equal_compute_table(res, "mnist")  # no training seconds in old records
    for fig in (report.sample_grids(res, BOOK_RESULTS, "mnist"), report.fcd_curves(res, "mnist"),
                report.fcd_curves(res, "mnist", x="train_s"), report.critic_vs_fcd(res, "mnist")):
        plt.close(fig)
    shutil.copytree(BOOK_RESULTS / "samples", tmp_path / "samples")
    report.write_figures(res, tmp_path)  # the ring panels need checkpoints the repository does not keep
    assert (tmp_path / "samples_mnist.png").exists() and (tmp_path / "toy_ring.png").exists()
    # the old keys stay, so chapters written for them still run
    assert res["datasets"]["mnist"]["steps"] == 2000 and "summary" in res["datasets"]["mnist"]


def test_panels_come_three_to_a_row():
    fig, axes = report.panel_axes(6, 2.0, 2.0)
    assert len(axes) == 6 and fig.get_size_inches().tolist() == [6.0, 4.0]
    fig, axes = report.panel_axes(4, 2.0, 2.0)  # two rows, the last two cells switched off
    assert len(axes) == 4 and len(fig.axes) == 6 and not fig.axes[5].axison


def test_protocol_table_differences_and_changed_settings(hand_results):
    table = report.protocol_table(hand_results, "mnist", "fcd")
    lines = table.splitlines()
    assert lines[0].startswith("| loss | FCD ↓ paper | controlled | controlled − paper | 95 % interval | resolved |")
    # nonsaturating: paper 11, 12, 13 and controlled 21, 22, 23 → d = 22 − 12 = 10, every resample between 8 and 12
    ns = next(line for line in lines if line.startswith("| nonsaturating |"))
    assert ns.startswith("| nonsaturating | 12.0 ± 1.0 (3) | 22.0 ± 1.0 (3) | 10.0 | [")
    lo, hi = (float(v) for v in ns.split("[")[1].split("]")[0].split(", "))
    assert 8.0 <= lo < 10.0 < hi <= 12.0 and ns.endswith("| yes | none |")
    # wgan-gp and lsgan ran under paper only, hinge diverged there: no difference, no crash
    assert "| wgan-gp | 42.0 ± 1.0 (3) | – | – | – | – | – |" in table
    assert "| lsgan | 30.0 ± 0.0 (1) | – | – | – | – | – |" in table
    assert "| hinge | – | – | – | – | – | – |" in table and "| minimax |" not in table


def test_protocol_table_resolves_only_with_enough_seeds(hand_results):
    exps = hand_results["datasets"]["mnist"]["experiments"]
    paper = [r for r in exps["paper"]["runs"] if not (r["loss"] == "nonsaturating" and r["seed"] > 1)]
    controlled = [r for r in exps["controlled"]["runs"] if r["seed"] < 3]
    exps["paper"] = _block(Experiment("paper", "mnist"), paper, B)
    exps["controlled"] = _block(Experiment("controlled", "mnist"), controlled, B)
    table = report.protocol_table(hand_results, "mnist", "fcd")
    ns = next(line for line in table.splitlines() if line.startswith("| nonsaturating |"))
    # 11 against 21 and 22: d = 10.5 with every resample at 10 to 11, yet one paper seed is too few
    assert ns.startswith("| nonsaturating | 11.0 ± 0.0 (1) | 21.5 ± 0.7 (2) | 10.5 | [10.0, 11.0] | no |")


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
