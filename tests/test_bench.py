"""``python -m ganlib bench`` on the CPU at a tiny size: its JSON, its variants, its FLOP count, its errors."""

from __future__ import annotations

import json

import pytest
import torch

from ganlib.bench import TutorialLoop, compare_variants, counted_flops, grid_throughput, stock_layers, tutorial_dataset
from ganlib.cli import main
from ganlib.config import TrainConfig
from ganlib.models import STOCK_LAYERS, DCGANGenerator

TINY = ["--device", "cpu", "--dataset", "ring", "--batch-size", "8", "--steps", "2", "--rounds", "2",
        "--workers", "0"]


def test_json_holds_every_variant_measured(tmp_path, capsys):
    out = tmp_path / "sub" / "bench.json"
    assert main(["bench", "--losses", "hinge,wgan", *TINY, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"device", "torch", "created", "results"} <= set(report)
    assert report["device"] == "cpu" and report["torch"] == torch.__version__
    assert [(r["loss"], r["variant"]) for r in report["results"]] == [
        ("hinge", "tutorial"), ("hinge", "eager"), ("wgan", "tutorial"), ("wgan", "eager")]
    for r in report["results"]:
        assert r["images_per_s"] == pytest.approx(8 * 1000 / r["ms_per_step"])
        assert r["ms_per_step"] > 0 and r["gflop_per_step"] > 0 and len(r["ms_per_step_rounds"]) == 2
    tutorial, eager = report["results"][:2]
    assert tutorial["ratio_to_tutorial"] == 1.0
    assert eager["ratio_to_tutorial"] == pytest.approx(tutorial["ms_per_step"] / eager["ms_per_step"])
    printed = capsys.readouterr()
    assert "graph needs CUDA; not measured on cpu" in printed.err  # said, not silently dropped
    assert "hinge          eager" in printed.out


def test_ganlib_step_skips_exactly_d_weight_gradients_of_the_generator_update():
    """The tutorial loop back-propagates the generator loss into D's weights too; ganlib freezes D. Both
    run the same forward passes, so the FLOP counts differ by D's weight gradients for one batch:
    2·B·(in·out) per linear layer of the toy critic (2→128, 128→128, 128→1)."""
    b = 8
    results = compare_variants("hinge", ["tutorial", "eager"], "ring", b, "cpu", steps=1, rounds=1, workers=0)
    tutorial, eager = (r["gflop_per_step"] * 1e9 for r in results)
    assert tutorial - eager == pytest.approx(2 * b * (2 * 128 + 128 * 128 + 128 * 1))


def test_flop_counter_on_a_hand_computed_layer():
    layer = torch.nn.Linear(3, 5)
    assert counted_flops(lambda: layer(torch.ones(4, 3))) == 2 * 4 * 3 * 5


def test_wgan_gp_is_measured_with_its_penalty_flops():
    # the penalty's autograd.grad on a leaf input broke torch's module tracker inside the flop counter
    (gp,) = compare_variants("wgan-gp", ["eager"], "ring", batch_size=8, device="cpu", steps=1, rounds=1, workers=0)
    (wgan,) = compare_variants("wgan", ["eager"], "ring", batch_size=8, device="cpu", steps=1, rounds=1, workers=0)
    assert gp["gflop_per_step"] > wgan["gflop_per_step"] > 0  # the same five critic steps plus the penalty


def test_tutorial_loop_reads_its_loss_every_step_and_starts_a_new_epoch():
    cfg = TrainConfig(loss="nonsaturating", dataset="ring", batch_size=20_000, device="cpu")
    loop = TutorialLoop(cfg, torch.device("cpu"), tutorial_dataset("ring", None), workers=0)
    for _ in range(4):  # 60,000 points make 3 batches: the 4th step starts the second epoch
        loop()
    assert len(loop.losses) == 4 and all(isinstance(v, float) for pair in loop.losses for v in pair)


def test_grid_runs_at_once_and_one_by_one():
    g = grid_throughput(["hinge"], seeds=2, steps=2, dataset="ring", batch_size=8, device="cpu", workers=0)
    assert g["runs"] == 2 and g["variant"] == "eager" and g["threads_per_run"] >= 1
    assert g["at_once_images_per_s"] == pytest.approx(2 * 2 * 8 / g["at_once_s"])
    assert g["ratio"] == pytest.approx(g["tutorial_sequential_s"] / g["at_once_s"])


@pytest.mark.parametrize("args, message", [
    (["--variants", "graph"], "variant 'graph' needs a CUDA device, but the device is 'cpu'"),
    (["--variants", "eager,fast"], "unknown variant 'fast'; choose one of: tutorial, eager, graph"),
    (["--losses", "nope"], "unknown loss 'nope'"),
    (["--dataset", "cifar"], "unknown dataset 'cifar'"),
])
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_bad_requests_are_one_line_errors(args, message, capsys):
    assert main(["bench", *TINY, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_json_into_a_folder_fails_before_measuring(tmp_path, capsys):
    assert main(["bench", *TINY, "--json", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "is a folder; give a file name" in captured.err and captured.out == ""


def test_stock_layers_copies_a_network_with_torchs_own_layers():
    G = DCGANGenerator()
    stock = stock_layers(G)
    assert not {type(m) for m in stock.modules()} & set(STOCK_LAYERS)
    assert {type(m) for m in G.modules()} & set(STOCK_LAYERS)  # the original is untouched
    z = torch.randn(4, G.z_dim)
    G.eval(), stock.eval()
    torch.testing.assert_close(stock(z), G(z))
    assert stock.state_dict().keys() == G.state_dict().keys()


def test_layouts_measure_every_layout_against_the_first():
    from ganlib.bench import layout_throughput

    out = layout_throughput(["hinge", "lsgan"], steps=2, layouts=[(1, 2), (2, 1)], dataset="ring", rounds=1)
    assert [(lay["processes"], lay["threads"]) for lay in out["layouts"]] == [(1, 2), (2, 1)]
    assert out["layouts"][0]["ratio_to_first"] == 1.0 and all(lay["steps_per_s"] > 0 for lay in out["layouts"])
    second = out["layouts"][1]
    assert second["ratio_to_first"] == pytest.approx(second["steps_per_s"] / out["layouts"][0]["steps_per_s"])


@pytest.mark.parametrize("text", ["1x2,2x0", "2", "ax1", ""])
def test_bad_layouts_are_one_line_errors(text, capsys):
    from ganlib import cli

    assert cli.main(["bench", "--device", "cpu", "--layouts", text]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layouts must be" in err
