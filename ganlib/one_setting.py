"""One setting at a time: the controlled protocol on the ring with one setting of a Wasserstein recipe
restored, to ask whether a Wasserstein loss needs that particular setting of its paper's recipe.

For each (loss, setting) of ``RESTORED`` and each seed, the run is the controlled protocol's run of that loss
(``protocols.CONTROLLED`` at the ring's rate, ``DatasetSpec.lr_scale`` = ``TOY_LR_SCALE`` times the images') with
the one setting taken from the loss's paper recipe. Its modes covered and high-quality share are compared with the
controlled grid's runs of the same loss and seeds (``ganlib.report.one_setting_table``).

    python -m ganlib one-setting --budget book --out book/results/ring/one_setting.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
from pathlib import Path

import torch

from .budget import BUDGET_NAMES, Budget, get_budget
from .config import TrainConfig
from .datasets import dataset_spec
from .errors import GanlibError
from .files import save_json
from .loop import train
from .losses import get_loss
from .metrics import evaluate_run
from .protocols import Experiment

DATASET = "ring"
# the settings in which the Wasserstein recipes differ from the controlled protocol
RESTORED: tuple[tuple[str, str], ...] = (("wgan", "n_critic"), ("wgan-gp", "n_critic"), ("wgan-gp", "betas"),
                                         ("wgan-gp", "lr"))
SCHEMA = 1


def restored_value(loss: str, key: str) -> object:
    """The paper recipe's value of ``key`` for ``loss``, on the ring's scale (rates × ``DatasetSpec.lr_scale``)."""
    value = getattr(get_loss(loss).recipe, key)
    return value * dataset_spec(DATASET).lr_scale if key == "lr" else value


def config(loss: str, key: str, seed: int, budget: Budget) -> TrainConfig:
    """The controlled protocol's ring run of ``loss`` and ``seed`` with the recipe's ``key`` restored."""
    controlled = Experiment("controlled", DATASET).overrides()  # the rate already on the ring's scale
    return TrainConfig(loss=loss, dataset=DATASET, steps=budget.toy_steps, batch_size=budget.toy_batch_size,
                       seed=seed, **{**controlled, key: restored_value(loss, key)})


def run_study(budget: Budget, out: str | Path | None = None, command: str | None = None) -> dict:
    """Train every (loss, setting, seed) once and return the study (written to ``out`` atomically if given):
    ``{"schema", "meta": {command, budget, seeds, steps, batch_size, torch, cpu_threads}, "runs": [...]}``,
    each run with loss, setting, value, seed, modes_covered, high_quality and train_cpu_s."""
    runs = []
    for loss, key in RESTORED:
        for seed in budget.seeds:
            result = train(config(loss, key, seed, budget), progress=False, verbose=False)
            metrics = evaluate_run(result)
            value = restored_value(loss, key)
            runs.append({"loss": loss, "setting": key, "value": list(value) if isinstance(value, tuple) else value,
                         "seed": seed, "modes_covered": metrics["modes_covered"],
                         "high_quality": metrics["high_quality"], "train_cpu_s": round(result.cpu_elapsed, 2)})
    study = {"schema": SCHEMA,
             "meta": {"command": command or f"python -m ganlib one-setting --budget {budget.name}",
                      "budget": budget.name, "dataset": DATASET, "seeds": list(budget.seeds),
                      "steps": budget.toy_steps, "batch_size": budget.toy_batch_size,
                      "torch": torch.__version__, "python": platform.python_version(),
                      "cpu_threads": torch.get_num_threads()},
             "runs": runs}
    if out is not None:
        save_json(study, out)
    return study


def load_study(path: str | Path) -> dict:
    """A study written by ``run_study``; a one-line error if it is missing or of another schema."""
    path = Path(path)
    if not path.is_file():
        raise GanlibError(f"no one-setting study at {path.name}; make it with: python -m ganlib one-setting "
                          f"--budget book --out {path.name}")
    study = json.loads(path.read_text())
    if study.get("schema") != SCHEMA:
        raise GanlibError(f"{path.name} has schema {study.get('schema')!r}; this ganlib reads schema {SCHEMA}")
    return study


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``one-setting`` to the ``python -m ganlib`` subcommands."""
    p = sub.add_parser("one-setting", help="ring runs of the controlled protocol with one Wasserstein setting "
                                           "restored; write a JSON study",
                       description="Train the controlled protocol on the ring with one setting of a Wasserstein "
                                   "recipe restored (" + ", ".join(f"{loss} {key}" for loss, key in RESTORED) +
                                   "), every seed of the budget, and write the study as JSON.")
    p.add_argument("--budget", default=None, choices=BUDGET_NAMES, metavar="NAME",
                   help=f"{', '.join(BUDGET_NAMES)} (default: GANLIB_BUDGET, else book)")
    p.add_argument("--out", required=True, metavar="FILE", help="the JSON file to write")
    p.set_defaults(func=_cmd_one_setting)


def _cmd_one_setting(args: argparse.Namespace) -> None:
    budget = get_budget(args.budget)
    command = "python -m ganlib " + shlex.join(sys.argv[1:]) if sys.argv[1:] else None
    study = run_study(budget, args.out, command)
    print(f"ganlib one-setting: {len(study['runs'])} runs, wrote {args.out}")
