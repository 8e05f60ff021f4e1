"""The loss comparison: grid under both protocols, statistics over seeds, completion markers and
resumption, provenance, bad input, results.json, figures, explorer."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from ganlib import GanlibError, TrainingDiverged, cli, compare, compare_cli, stats
from ganlib.budget import Budget
from ganlib.classifier import load_record
from ganlib.compare import check_seeds, eval_steps, load_results, run_comparison, run_dir, sample_png, summarise
from ganlib.compare_paths import DONE, POINTS
from ganlib.report import block, notes, ranking, summary_table, toy_panels, write_figures

TINY = Budget("tiny", image_steps=4, toy_steps=30, batch_size=32, toy_batch_size=64, seeds=(0, 1), eval_points=2,
              sweep_seeds=1)
# fields that differ between two runs of the same grid: what measures time, and the command (it names the folder)
TIMING = {"wall_time_s", "images_per_s", "train_s", "total_wall_s", "created", "invocations", "run_wall_s",
          "cpu_time_s", "train_cpu_s", "command"}


def without_timing(x):
    """``x`` without the fields that measure time (they differ between two runs of the same grid)."""
    if isinstance(x, dict):
        return {k: without_timing(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [without_timing(v) for v in x]
    return x


def test_eval_steps_are_evenly_spaced_and_end_at_the_last_step():
    assert eval_steps(2000, 5) == (400, 800, 1200, 1600, 2000)
    assert eval_steps(20, 2) == (10, 20)
    assert eval_steps(3, 10) == (1, 2, 3)


def test_summarise_mean_std_interval_and_diverged():
    recs = [{"loss": "hinge", "seed": 0, "fcd": 1.0}, {"loss": "hinge", "seed": 1, "fcd": 3.0},
            {"loss": "wgan", "seed": 0, "fcd": 5.0}, {"loss": "wgan", "seed": 1, "diverged": "boom"}]
    s = summarise(recs, ["fcd"])
    # 1 and 3: mean 2, s = √2, t_{0.975, 1} = 12.706205: 2 ± 12.706205 · √2 / √2 = 2 ± 12.706205
    assert s["hinge"]["fcd"]["mean"] == 2.0 and s["hinge"]["fcd"]["std"] == pytest.approx(math.sqrt(2.0))
    assert s["hinge"]["fcd"]["ci95"] == pytest.approx([2 - 12.706205, 2 + 12.706205])
    assert s["hinge"]["seeds"] == [0, 1] and s["hinge"]["diverged"] == 0
    assert s["wgan"]["fcd"] == {"mean": 5.0, "std": 0.0, "n": 1, "ci95": None}
    assert s["wgan"]["diverged"] == 1 and s["wgan"]["seeds"] == [0]


def test_seeds_are_range_checked():
    assert check_seeds([0, 2 ** 63 - 1]) == [0, 2 ** 63 - 1]
    for bad in ([-1], [2 ** 63], [True], [1.5], [3, 3], []):
        with pytest.raises(GanlibError) as info:
            check_seeds(bad)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("args, words", [
    (["--seeds", "-1"], "0 to 2^63 - 1"),
    (["--seeds", str(2 ** 63)], "0 to 2^63 - 1"),
    (["--seeds", "1,x"], "comma list"),
    (["--protocols", "fair"], "paper, controlled"),
    (["--cuda-graph", "--device", "cpu"], "cuda_graph needs a CUDA device"),
])
def test_cli_bad_seeds_and_protocols_are_one_line_errors(tmp_path, capsys, args, words):
    assert cli.main(["compare", "--dataset", "ring", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "o").exists(), "nothing is written before the input is checked"


def test_cli_out_naming_a_file_is_a_one_line_error(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert cli.main(["compare", "--dataset", "ring", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err
    assert target.read_text() == "keep me"


@pytest.fixture(scope="module")
def ring_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    res = run_comparison(["nonsaturating", "wgan"], [0, 1], ["ring"], TINY, out, device="cpu")
    write_figures(res, out)  # what `python -m ganlib compare` does after the runs
    return out, res


def test_ring_grid_holds_both_protocols_with_their_settings(ring_results):
    out, res = ring_results
    saved = json.loads((out / "results.json").read_text())
    assert saved["schema"] == compare.SCHEMA and saved["meta"]["budget"]["name"] == "tiny"
    exps = saved["datasets"]["ring"]["experiments"]
    assert set(exps) == {"paper", "controlled"}  # no sweep without MNIST
    for b in exps.values():
        assert {(r["loss"], r["seed"]) for r in b["runs"]} == {
            (loss, s) for loss in ("nonsaturating", "wgan") for s in (0, 1)}
        for r in b["runs"]:
            assert [e["step"] for e in r["evals"]] == [15, 30]
            assert [e["critic_updates"] for e in r["evals"]] == [15 * r["n_critic"], 30 * r["n_critic"]]
            assert 0 < r["evals"][0]["train_s"] <= r["evals"][1]["train_s"]
            first, last = r["evals"][0]["train_cpu_s"], r["evals"][1]["train_cpu_s"]
            assert 0 < first <= last == pytest.approx(r["cpu_time_s"], abs=1e-3)
            assert r["process_layout"].startswith("1 process x ") and r["command"] == saved["meta"]["command"]
            assert 0 <= r["modes_covered"] <= 8 and 0.0 <= r["high_quality"] <= 1.0
    paper_wgan = next(r for r in exps["paper"]["runs"] if r["loss"] == "wgan")
    assert (paper_wgan["optimizer"], paper_wgan["n_critic"], paper_wgan["clip"]) == ("rmsprop", 5, 0.01)
    for r in exps["controlled"]["runs"]:  # the loss is the only difference; clipping stays with WGAN
        settings = (r["optimizer"], r["lr"], r["betas"], r["n_critic"], r["d_norm"])
        assert settings == ("adam", 1e-3, [0.5, 0.999], 1, "layer")
        assert r["clip"] == (0.01 if r["loss"] == "wgan" else None)
    summary = exps["paper"]["summary"]
    hinge = [r["modes_covered"] for r in exps["paper"]["runs"] if r["loss"] == "wgan"]
    assert summary["wgan"]["modes_covered"]["mean"] == pytest.approx(sum(hinge) / 2)
    assert [p["a"] + "/" + p["b"] for p in exps["paper"]["pairwise"]["modes_covered"]] == ["nonsaturating/wgan"]
    assert (out / "toy_ring.png").stat().st_size > 1000 and (out / "controlled_toy_ring.png").stat().st_size > 1000
    table = summary_table(saved, "ring")
    assert table.splitlines()[0].startswith("| loss | seeds | modes covered")
    assert len(table.splitlines()) == 4
    assert summary_table(saved, "ring", "controlled").splitlines()[2].startswith("| nonsaturating | 2 |")
    assert {r[0] for r in ranking(saved, "ring", "modes_covered")} == {"nonsaturating", "wgan"}


def test_results_carry_the_command_and_no_absolute_path(ring_results):
    out, _ = ring_results
    meta = load_results(out)["meta"]
    assert meta["command"].startswith("python -m ganlib compare --budget tiny --dataset ring")
    assert "--device cpu" in meta["command"] and meta["torch"] and meta["statistics"]["rule"] == stats.RULE
    assert set(meta["protocols"]) >= {"paper", "controlled"}
    keys = {"created", "total_wall_s", "device", "gpu", "jobs", "runs_finished"}
    assert [set(x) for x in meta["invocations"]] == [keys] * len(meta["invocations"])
    assert meta["runs_planned"] == meta["runs_finished"] == 8
    texts = [(out / "results.json").read_text()] + [p.read_text() for p in (out / "runs").rglob(DONE)]
    texts += [p.read_text() for p in (out / "runs").rglob("history.json")]
    for text in texts:
        assert str(out) not in text and str(Path.home()) not in text and str(Path.cwd()) not in text


def test_finished_runs_are_not_redone(ring_results):
    out, res = ring_results
    folder = run_dir(out, "ring", "wgan", 0, "controlled")
    before = [(folder / name).stat().st_mtime_ns for name in ("checkpoint.pt", DONE)]
    again = run_comparison(["nonsaturating", "wgan"], [0, 1], ["ring"], TINY, out, device="cpu")
    assert [(folder / name).stat().st_mtime_ns for name in ("checkpoint.pt", DONE)] == before
    assert again["datasets"] == res["datasets"]
    assert len(again["meta"]["invocations"]) == len(res["meta"]["invocations"]) + 1


def test_a_run_without_its_marker_is_completed_not_retrained(ring_results, tmp_path):
    out, res = ring_results
    folder = run_dir(out, "ring", "nonsaturating", 1)
    (folder / DONE).unlink()  # as if killed after its checkpoint and history, before the marker
    again = run_comparison(["nonsaturating", "wgan"], [0, 1], ["ring"], TINY, out, device="cpu")
    assert (folder / DONE).is_file()
    assert without_timing(again["datasets"]) == without_timing(res["datasets"])


def test_toy_figures_are_drawn_from_the_runs_points_without_checkpoints(ring_results, tmp_path):
    """Finished runs brought back without their checkpoints (copied from another machine, say): the
    invocation that finishes the grid still draws every toy panel, from each run's points file."""
    out, res = ring_results
    packed = tmp_path / "packed"
    shutil.copytree(out, packed, ignore=shutil.ignore_patterns("*.pt"))
    again = run_comparison(["nonsaturating", "wgan"], [0, 1], ["ring"], TINY, packed, device="cpu")
    assert without_timing(again["datasets"]) == without_timing(res["datasets"])  # read back, not retrained
    assert not list(packed.rglob("*.pt"))
    for protocol in ("paper", "controlled"):
        titles = [ax.get_title() for ax in toy_panels(again, packed, "ring", protocol=protocol).axes]
        assert len(titles) == 2 and all("modes, high-quality share" in t for t in titles), titles
    points = json.loads((run_dir(packed, "ring", "wgan", 0) / POINTS).read_text())
    assert points["step"] == TINY.toy_steps and len(points["points"]) == 1000
    assert all(len(p) == 2 and max(abs(p[0]), abs(p[1])) <= 3 for p in points["points"])  # G's bound s = 3


def test_an_interrupted_run_is_resumed(tmp_path):
    from ganlib import TrainConfig, train

    folder = run_dir(tmp_path, "ring", "lsgan", 0)
    train(TrainConfig(loss="lsgan", dataset="ring", steps=15, batch_size=64, seed=0, device="cpu",
                      snapshot_steps=(0, 15), check_every=15), folder, verbose=False)  # as if stopped at 15
    res = run_comparison(["lsgan"], [0], ["ring"], TINY, tmp_path, device="cpu", protocols=["paper"])
    rec = res["datasets"]["ring"]["experiments"]["paper"]["runs"][0]
    assert rec["steps"] == 30 and [e["step"] for e in rec["evals"]][-1] == 30


def test_diverged_losses_and_missing_seed_zero_are_noted_not_fatal(tmp_path, monkeypatch):
    real_train = compare.train

    def train_or_diverge(cfg, folder, **kw):
        if cfg.loss == "hinge" or (cfg.loss == "lsgan" and cfg.seed == 2):
            raise TrainingDiverged(f"loss {cfg.loss!r} diverged: non-finite generator loss at step 7; the last "
                                   f"good checkpoint is kept at {Path(folder).resolve() / 'checkpoint.pt'} (step 5)")
        return real_train(cfg, folder, **kw)

    monkeypatch.setattr(compare, "train", train_or_diverge)
    res = run_comparison(["lsgan", "hinge"], [1, 2], ["ring"], TINY, tmp_path, device="cpu", protocols=["paper"])
    write_figures(res, tmp_path)
    b = block(res, "ring")
    hinge = [r for r in b["runs"] if r["loss"] == "hinge"]
    assert all("diverged" in r and str(tmp_path) not in r["diverged"] for r in hinge)
    assert "runs/ring/hinge/seed1/checkpoint.pt" in hinge[0]["diverged"]
    assert b["summary"]["hinge"] == {"seeds": [], "diverged": 2}
    assert b["summary"]["lsgan"]["modes_covered"]["n"] == 1
    table = summary_table(res, "ring")
    assert "| hinge | 0 (2 diverged) | – |" in table and "every run diverged" in table
    assert "1 of 2 runs diverged" in table
    assert any("hinge: every run diverged" in n for n in notes(res))
    assert (tmp_path / "toy_ring.png").exists()  # drawn with seed 1: there is no seed 0
    # a diverged run is finished: the next invocation reads it back and trains nothing
    monkeypatch.setattr(compare, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    assert run_comparison(["lsgan", "hinge"], [1, 2], ["ring"], TINY, tmp_path, device="cpu",
                          protocols=["paper"])["datasets"] == res["datasets"]


@pytest.fixture(scope="module")
def mnist_results(tmp_path_factory, offline_data):
    out = tmp_path_factory.mktemp("mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANLIB_DATA", offline_data)
        res = run_comparison(["hinge", "lsgan"], [0], ["mnist"], TINY, out, device="cpu", data_root=offline_data,
                             protocols=["paper"], sweep=False)
        write_figures(res, out)
    return out, res


def test_mnist_grid_records_fcd_with_its_reference_and_n(mnist_results):
    out, res = mnist_results
    rec = block(res, "mnist")["runs"][0]
    assert {"fcd", "classes_covered", "kl_to_uniform"} <= set(rec) and "confidence" not in rec
    # the final FCD of 10,000 images, and of the first 5,000 of them: the N of the trajectory before it
    assert rec["fcd"] > 0 and rec["fcd_n"] == 10_000 and rec["fcd_reference"] == "mnist-test"
    assert rec["fcd_5000"] > 0 and rec["fcd_5000"] != rec["fcd"]
    assert [e["fcd_n"] for e in rec["evals"]] == [5000, 10_000]
    assert all(e["fcd_reference"] == "mnist-test" for e in rec["evals"])
    assert rec["evals"][0]["fcd_5000"] == rec["evals"][0]["fcd"]
    data = res["meta"]["data"]["mnist"]
    # the GANs trained on the train split; the FCD reference is the whole test split
    assert data["gan_training"] == "60,000 images (train split) from offline root (GANLIB_DATA)"
    assert data["fcd_reference"]["name"] == "mnist-test" and data["fcd_reference"]["n"] == 10_000
    assert data["classifier"]["sha256"] == load_record("mnist")["weights_sha256"]
    for step in (2, 4):
        assert sample_png(out, "mnist", "lsgan", 0, step).exists()
    for name in ("samples_mnist.png", "fcd_vs_step_mnist.png", "fcd_vs_time_mnist.png"):
        assert (out / name).exists()


def test_missing_or_foreign_results_are_named(tmp_path):
    with pytest.raises(GanlibError, match="no results.json"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(GanlibError, match="not valid JSON"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(GanlibError, match="not a ganlib comparison"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text('{"schema": 99, "meta": {}, "datasets": {}}')
    with pytest.raises(GanlibError, match="schema 99"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text('{"meta": {}, "datasets": {}}')
    with pytest.raises(GanlibError, match=r"from before the protocols \(no schema\); this ganlib reads schema"):
        load_results(tmp_path)


def test_book_grid_has_every_experiment_with_its_seeds_and_shares_identical_runs():
    from ganlib.budget import get_budget
    from ganlib.compare import distinct_runs, plan, shared_runs
    from ganlib.losses import LOSS_NAMES

    book = get_budget("book")
    assert book.steps_for("mnist") >= 3000 and book.steps_for("fashion-mnist") >= 2000 and book.eval_points >= 6
    grid = plan(LOSS_NAMES, book.seeds, ["mnist", "fashion-mnist"], book)
    seeds = {}
    for j in grid:
        seeds.setdefault((j.experiment.variant, j.experiment.dataset), set()).add(j.seed)
    # the controlled protocol's 5 seeds and the sweep's 3 rates with 3 seeds each are never cut
    assert len(seeds["controlled", "mnist"]) == 5
    assert len(seeds["controlled-lr6.3e-05", "mnist"]) == len(seeds["controlled-lr6.3e-04", "mnist"]) == 3
    assert len(seeds["paper", "mnist"]) >= 3 and len(seeds["controlled-norm-spectral", "mnist"]) >= 2
    assert len(seeds["paper", "fashion-mnist"]) >= 3 and len(seeds["controlled", "fashion-mnist"]) >= 3
    # no batch norm with WGAN-GP's per-sample penalty
    assert {j.loss for j in grid if j.experiment.variant == "controlled-norm-batch"} == set(LOSS_NAMES) - {"wgan-gp"}
    shared = shared_runs(grid, book)
    reused = {(j.experiment.variant, t.experiment.variant, j.loss) for j, t in shared.items() if j != t}
    # the paper recipe of the four DCGAN-recipe losses is the controlled protocol with batch norm
    assert reused == {("controlled-norm-batch", "paper", loss)
                      for loss in ("minimax", "nonsaturating", "lsgan", "hinge")}
    # 142 runs planned, 134 trained: each trained run once, in the plan's order
    trained = distinct_runs(shared)
    assert (len(grid), len(trained)) == (142, 134) and trained == [j for j in grid if shared[j] == j]


def test_shared_runs_are_trained_once_and_appear_under_both_experiments(tmp_path, monkeypatch):
    from ganlib.protocols import Experiment

    trained = []
    real = compare.run_one
    monkeypatch.setattr(compare, "run_one", lambda job, *a, **k: trained.append(job) or real(job, *a, **k))
    budget = Budget("tiny", image_steps=2, toy_steps=20, batch_size=8, toy_batch_size=64, seeds=(0,), eval_points=1,
                    norm_seeds=1)
    grid = compare.plan(["hinge"], [0], ["ring"], budget)
    assert [j.experiment.variant for j in grid] == ["paper", "controlled"]  # the factor runs on MNIST only
    jobs = [compare.Job(Experiment("paper", "ring"), "hinge", 0),
            compare.Job(Experiment("controlled", "ring", d_norm="batch"), "hinge", 0)]
    # on the ring the paper recipe's rate is scaled and the controlled one too: the two are the same run
    assert compare.shared_runs(jobs, budget)[jobs[1]] == jobs[0]
    records = compare._run_all(jobs, compare.RunSettings(budget, tmp_path, "cpu"), jobs=1)
    assert trained == [jobs[0]]
    assert records[jobs[1]]["variant"] == "controlled-norm-batch" and records[jobs[1]]["trained_as"] == "paper"
    assert {k: v for k, v in records[jobs[1]].items() if k not in ("variant", "protocol", "trained_as")} == \
        {k: v for k, v in records[jobs[0]].items() if k not in ("variant", "protocol")}


def test_a_stop_time_starts_no_run_that_cannot_finish_and_a_later_call_resumes(tmp_path, capsys):
    import time

    budget = Budget("tiny", image_steps=2, toy_steps=40, batch_size=8, toy_batch_size=64, seeds=(0, 1), eval_points=1)
    args = (["nonsaturating", "lsgan"], [0, 1], ["ring"], budget, tmp_path)
    # the table's estimate of a 40-step toy run is 40 × 0.2 s = 8 s: no run fits in 5 s
    res = run_comparison(*args, device="cpu", protocols=["paper"], stop_at=time.time() + 5)
    assert res["meta"]["runs_finished"] == 0 and res["datasets"]["ring"]["experiments"] == {}
    assert "0 of 4 runs finished, 4 left" in capsys.readouterr().out
    res = run_comparison(*args, device="cpu", protocols=["paper"], stop_at=time.time() + 600)
    assert res["meta"]["runs_finished"] == 4 and len(res["meta"]["invocations"]) == 2
    status = compare.grid_status(*args, protocols=["paper"])
    assert (status["finished"], status["left"], status["hours_left"]) == (4, 0, 0.0)


def test_a_run_going_at_the_stop_time_saves_its_checkpoint_and_stops(tmp_path, capsys, monkeypatch):
    import time

    budget = Budget("tiny", image_steps=2, toy_steps=200_000, batch_size=8, toy_batch_size=64, seeds=(0,),
                    eval_points=1)
    # an estimate far too short, as if the machine had slowed down: the run starts and is cut by the stop time
    monkeypatch.setattr(compare, "run_cost", lambda job, budget, measured=None: 0.01)
    res = run_comparison(["hinge"], [0], ["ring"], budget, tmp_path, device="cpu", protocols=["paper"],
                         stop_at=time.time() + 4)
    assert res["meta"]["runs_finished"] == 0 and "stop time reached" in capsys.readouterr().out
    state = __import__("ganlib").checkpoint.load_checkpoint(run_dir(tmp_path, "ring", "hinge", 0) / "checkpoint.pt")
    assert 0 < state["step"] < 200_000 and state["cpu_elapsed"] > 0


@pytest.mark.parametrize("text", ["25:00", "tomorrow", "2020-01-01T00:00"])
def test_bad_or_past_stop_times_are_one_line_errors(text):
    with pytest.raises(GanlibError, match="--stop-at") as info:
        compare_cli.parse_stop_time(text)
    assert "\n" not in str(info.value)


def test_stop_time_hh_mm_is_the_next_such_time():
    import datetime as dt

    now = dt.datetime(2026, 1, 1, 12, 0)
    assert compare_cli.parse_stop_time("13:30", now) == dt.datetime(2026, 1, 1, 13, 30).timestamp()
    assert compare_cli.parse_stop_time("11:30", now) == dt.datetime(2026, 1, 2, 11, 30).timestamp()


def test_a_folder_with_pre_protocol_results_is_not_mixed_into(tmp_path):
    (tmp_path / "results.json").write_text('{"meta": {}, "datasets": {}}')
    with pytest.raises(GanlibError, match="from before the protocols"):
        run_comparison(["hinge"], [0], ["ring"], TINY, tmp_path, device="cpu")


def test_a_generator_that_makes_nan_samples_is_recorded_as_diverged(tmp_path, monkeypatch):
    from ganlib import TrainResult

    real_sample = TrainResult.sample

    def nan_after_start(self, n, seed=0, batch=1000):
        out = real_sample(self, n, seed, batch)
        return out * float("nan") if self.step > 0 and self.config.loss == "lsgan" else out

    monkeypatch.setattr(TrainResult, "sample", nan_after_start)
    res = run_comparison(["lsgan", "hinge"], [0], ["ring"], TINY, tmp_path, device="cpu", protocols=["paper"])
    runs = {r["loss"]: r for r in block(res, "ring")["runs"]}
    assert "points hold NaN" in runs["lsgan"]["diverged"] and "at step 15" in runs["lsgan"]["diverged"]
    assert "diverged" not in runs["hinge"]
