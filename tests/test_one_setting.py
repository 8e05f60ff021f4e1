"""The one-setting study: each run is the controlled protocol's ring run with exactly one setting of a Wasserstein
recipe restored, and its stored file is read back or refused in one line."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ganlib import GanlibError, get_budget, get_loss
from ganlib.losses import TOY_LR_SCALE
from ganlib.one_setting import RESTORED, SCHEMA, config, load_study
from ganlib.protocols import CONTROLLED


@pytest.mark.parametrize("loss,key", RESTORED)
def test_each_run_differs_from_controlled_in_its_one_setting(loss, key):
    budget = get_budget("smoke")
    cfg = config(loss, key, seed=3, budget=budget)
    base = {**CONTROLLED, "lr": CONTROLLED["lr"] * TOY_LR_SCALE}  # the toys' rate: 5 × 2·10⁻⁴ = 10⁻³
    recipe = get_loss(loss).recipe
    expected = getattr(recipe, key) * TOY_LR_SCALE if key == "lr" else getattr(recipe, key)
    assert getattr(cfg, key) == expected
    for other, value in base.items():
        if other != key:
            assert getattr(cfg, other) == (tuple(value) if isinstance(value, list) else value), other
    assert (cfg.dataset, cfg.seed, cfg.steps, cfg.batch_size) == ("ring", 3, budget.toy_steps, budget.toy_batch_size)
    assert dataclasses.replace(cfg, **{key: base[key] if key != "betas" else tuple(base[key])}) != cfg


def test_wgan_gp_lr_is_its_paper_rate_on_the_toys_scale():
    # WGAN-GP's paper rate 10⁻⁴ × TOY_LR_SCALE 5 = 5·10⁻⁴, as the chapter says
    assert config("wgan-gp", "lr", 0, get_budget("smoke")).lr == pytest.approx(5e-4)


def test_a_missing_or_foreign_study_is_one_line(tmp_path):
    with pytest.raises(GanlibError, match=r"^no one-setting study at study.json; make it with: python -m ganlib "
                                          r"one-setting --budget book --out study.json$"):
        load_study(tmp_path / "study.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema": SCHEMA + 1, "runs": []}))
    with pytest.raises(GanlibError, match=r"^old.json has schema 2; this ganlib reads schema 1$"):
        load_study(tmp_path / "old.json")


def test_the_stored_study_is_complete():
    from pathlib import Path

    study = load_study(Path(__file__).resolve().parents[1] / "book" / "results" / "ring" / "one_setting.json")
    seeds = study["meta"]["seeds"]
    assert [(r["loss"], r["setting"], r["seed"]) for r in study["runs"]] == \
        [(loss, key, s) for loss, key in RESTORED for s in seeds]
    assert study["meta"]["command"] == ("python -m ganlib one-setting --budget book "
                                        "--out book/results/ring/one_setting.json")
