"""The loss comparison: grid, aggregation over seeds, resumption, results.json, figures."""

from __future__ import annotations

import json
import math

import pytest

from ganlib import GanlibError
from ganlib.budget import Budget
from ganlib.compare import eval_steps, load_results, run_comparison, run_dir, sample_png, summarise
from ganlib.report import ranking, summary_table

TINY = Budget("tiny", image_steps=4, toy_steps=30, batch_size=32, toy_batch_size=64, seeds=(0, 1), eval_points=2, eval_samples=200)


def test_eval_steps_are_evenly_spaced_and_end_at_the_last_step():
    assert eval_steps(2000, 5) == (400, 800, 1200, 1600, 2000)
    assert eval_steps(20, 2) == (10, 20)
    assert eval_steps(3, 10) == (1, 2, 3)


def test_summarise_mean_and_sample_std():
    recs = [{"loss": "hinge", "fcd": 1.0}, {"loss": "hinge", "fcd": 3.0}, {"loss": "wgan", "fcd": 5.0},
            {"loss": "wgan", "diverged": "boom"}]
    s = summarise(recs, ["fcd"])
    assert s["hinge"]["fcd"] == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2}
    assert s["wgan"]["fcd"] == {"mean": 5.0, "std": 0.0, "n": 1} and s["wgan"]["diverged"] == 1


@pytest.fixture(scope="module")
def ring_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    res = run_comparison(["nonsaturating", "hinge"], [0, 1], ["ring"], TINY, out, device="cpu")
    return out, res


def test_ring_grid_writes_results_and_figures(ring_results):
    out, res = ring_results
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["budget"]["name"] == "tiny" and saved["meta"]["device"] == "cpu"
    runs = saved["datasets"]["ring"]["runs"]
    assert {(r["loss"], r["seed"]) for r in runs} == {(l, s) for l in ("nonsaturating", "hinge") for s in (0, 1)}
    for r in runs:
        assert [e["step"] for e in r["evals"]] == [0, 15, 30]
        assert 0 <= r["modes_covered"] <= 8 and 0.0 <= r["high_quality"] <= 1.0
        assert r["images_per_s"] > 0
    summary = saved["datasets"]["ring"]["summary"]
    hinge = [r["modes_covered"] for r in runs if r["loss"] == "hinge"]
    assert summary["hinge"]["modes_covered"]["mean"] == pytest.approx(sum(hinge) / 2)
    assert (out / "toy_ring.png").stat().st_size > 1000
    table = summary_table(saved, "ring")
    assert table.splitlines()[0].startswith("| loss | seeds | modes covered")
    assert len(table.splitlines()) == 4
    assert [r[0] for r in ranking(saved, "ring", "modes_covered")] in (["nonsaturating", "hinge"], ["hinge", "nonsaturating"])


def test_finished_runs_are_not_redone(ring_results):
    out, res = ring_results
    ckpt = run_dir(out, "ring", "hinge", 0) / "checkpoint.pt"
    before = ckpt.stat().st_mtime_ns
    again = run_comparison(["nonsaturating", "hinge"], [0, 1], ["ring"], TINY, out, device="cpu")
    assert ckpt.stat().st_mtime_ns == before
    assert again["datasets"]["ring"]["runs"] == res["datasets"]["ring"]["runs"]


def test_an_interrupted_run_is_resumed(tmp_path):
    from ganlib.train import TrainConfig, train

    folder = run_dir(tmp_path, "ring", "lsgan", 0)
    train(TrainConfig(loss="lsgan", dataset="ring", steps=15, batch_size=64, seed=0, device="cpu",
                      snapshot_steps=(0, 15), check_every=15), folder, verbose=False)  # as if stopped at 15
    res = run_comparison(["lsgan"], [0], ["ring"], TINY, tmp_path, device="cpu")
    rec = res["datasets"]["ring"]["runs"][0]
    assert rec["steps"] == 30 and [e["step"] for e in rec["evals"]][-1] == 30


def test_mnist_grid_has_image_metrics_and_sample_grids(tmp_path, data_root):
    res = run_comparison(["lsgan"], [0], ["mnist"], TINY, tmp_path, device="cpu", data_root=data_root)
    rec = res["datasets"]["mnist"]["runs"][0]
    assert {"fcd", "classes_covered", "kl_to_uniform", "confidence"} <= set(rec)
    assert rec["fcd"] > 0 and "10,000 images" in res["meta"]["data"]["mnist"]
    for step in (0, 2, 4):
        assert sample_png(tmp_path, "mnist", "lsgan", 0, step).exists()
    assert (tmp_path / "samples_mnist.png").exists() and (tmp_path / "fcd_vs_step_mnist.png").exists()


def test_missing_or_foreign_results_are_named(tmp_path):
    with pytest.raises(GanlibError, match="no results.json"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(GanlibError, match="not valid JSON"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(GanlibError, match="not a ganlib comparison"):
        load_results(tmp_path)
