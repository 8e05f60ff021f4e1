"""The comparison explorer: one self-contained HTML view (its JavaScript is exercised in tests/test_browser.py)."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from ganlib import GanlibError
from ganlib.compare import run_comparison, sample_png
from ganlib.widgets import CSS_CLASS, diverged_note, explorer, explorer_data

STEPS = (0, 10, 20)


def _png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (4, 4), shade).save(buf, format="png")
    return buf.getvalue()


@pytest.fixture
def comparison(tmp_path):
    """A stored comparison of two losses × two seeds (hinge seed 1 diverged), with a grid per step; every
    step-0 grid is the same picture, as the runs of one seed share their starting generator."""
    runs = [{"loss": "lsgan", "seed": 1, "dataset": "mnist", "diverged": "NaN at step 7"}]
    for loss in ("hinge", "lsgan"):
        for seed in (0, 1):
            if (loss, seed) == ("lsgan", 1):
                continue
            evals = [{"step": s, "fcd": 100.0 - s - seed, "classes_covered": 10} for s in STEPS]
            runs.append({"loss": loss, "seed": seed, "dataset": "mnist", "evals": evals})
            for i, s in enumerate(STEPS):
                path = sample_png(tmp_path, "mnist", loss, seed, s)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(_png(0 if s == 0 else 40 * i + 10 * seed + (loss == "lsgan")))
    paper = {"protocol": "paper", "variant": "paper", "lr": None, "steps": 20, "batch_size": 64, "runs": runs}
    return {"meta": {}, "datasets": {"mnist": {"experiments": {"paper": paper}}}}, tmp_path


def test_data_lists_the_choices_in_the_books_order_and_shares_identical_grids(comparison):
    results, out = comparison
    data = explorer_data(results, out)
    assert data["losses"] == ["lsgan", "hinge"] and data["seeds"] == [0, 1] and data["steps"] == list(STEPS)
    assert set(data["runs"]) == {"hinge|0", "hinge|1", "lsgan|0"}  # the diverged run has no entry
    assert len(data["images"]) == 1 + 3 * 2  # one shared step-0 grid, two further steps per run
    hinge1 = data["runs"]["hinge|1"]
    assert data["images"][hinge1["images"][2]].startswith("data:image/png;base64,")
    assert "<td>fcd</td><td>79.000</td>" in hinge1["tables"][2]
    assert "<td>classes_covered</td><td>10</td>" in hinge1["tables"][2]


def test_html_opens_on_the_chosen_run_at_its_last_step_with_controls_off_until_its_script_runs(comparison):
    results, out = comparison
    page = explorer(results, out, loss="hinge")._repr_html_()
    assert f'class="{CSS_CLASS}"' in page and "<fieldset disabled>" in page
    assert '<option value="hinge" selected>' in page and '<option value="0" selected>' in page
    assert 'value="2"' in page and '<output name="step-label">20</output>' in page
    data = explorer_data(results, out)
    assert data["images"][data["runs"]["hinge|0"]["images"][2]] in page  # the picture shown without script
    payload = re.search(r'<script type="application/json">(.*?)</script>', page, re.S).group(1)
    assert json.loads(payload.replace("<\\/", "</")) == data


def test_a_loss_missing_from_the_comparison_opens_on_the_first_and_a_diverged_run_says_so(comparison):
    results, out = comparison
    assert '<option value="lsgan" selected>' in explorer(results, out, loss="wgan").html
    runs = results["datasets"]["mnist"]["experiments"]["paper"]["runs"]
    runs[:] = [r for r in runs if (r["loss"], r["seed"]) != ("hinge", 0)]
    runs.append({"loss": "hinge", "seed": 0, "dataset": "mnist", "diverged": "NaN at step 3"})
    page = explorer(results, out, loss="hinge").html  # opens on seed 0, which diverged for hinge
    view = page[page.index('<div class="ganlib-view">'):page.index('<script')]
    assert "<img hidden" in view and diverged_note() in view and "<table>" not in view


def test_bad_input_is_named(comparison):
    results, out = comparison
    with pytest.raises(GanlibError, match="unknown dataset 'ring'"):
        explorer(results, out, dataset="ring")
    sample_png(out, "mnist", "hinge", 1, 10).unlink()
    with pytest.raises(GanlibError, match="mnist_hinge_seed1_step10.png is missing"):
        explorer(results, out)


def test_explorer_of_a_real_comparison(tmp_path, data_root):
    from ganlib.budget import Budget

    tiny = Budget("tiny", image_steps=4, toy_steps=30, batch_size=32, toy_batch_size=64, seeds=(0,), eval_points=2)
    res = run_comparison(["hinge", "lsgan"], [0], ["mnist"], tiny, tmp_path, device="cpu", data_root=data_root,
                         protocols=("paper",), sweep=False)
    data = explorer_data(res, tmp_path)
    assert data["losses"] == ["lsgan", "hinge"] and data["steps"] == [2, 4]
    shown = data["images"][data["runs"]["hinge|0"]["images"][0]]  # step 2, the first evaluation
    grid = sample_png(tmp_path, "mnist", "hinge", 0, 2).read_bytes()
    assert shown == "data:image/png;base64," + base64.b64encode(grid).decode()
