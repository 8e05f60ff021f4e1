"""What a loss comparison keeps: each run's record and completion marker (``read_done``, ``write_done``),
results.json (``comparison_results``, ``comparison_meta``; read back by ``load_results``, which also reads
results from before the protocols, marked as such), and the summaries over seeds in it, computed with
``ganlib.stats``.

Every run records its evaluations against generator steps, critic updates and training seconds, and
every FCD its number of generated images (``ganlib.metrics.FCD_SAMPLES``) and its reference. Each cell
(experiment × loss) gets mean ± std over seeds and a Student t 95 % interval, and each pair of losses
the interval of their difference and whether the seeds resolve it (``ganlib.stats.RULE``). Records carry
no machine paths.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from . import stats
from .budget import Budget
from .classifier import load_record
from .compare_paths import DONE, RESULTS, run_dir
from .compare_plan import Job
from .data import REFERENCES, gan_training_images
from .datasets import dataset_spec
from .errors import GanlibError
from .files import save_json
from .losses import LOSS_NAMES
from .metrics import FCD_SAMPLES, TOY_REFERENCE_SAMPLES
from .protocols import PROTOCOLS, Experiment, describe
from .step import TrainResult, critic_estimate

__all__ = ["SCHEMA", "IMAGE_METRICS", "TOY_METRICS", "RUN_METRICS", "read_done", "write_done", "finished_runs",
           "run_record", "summarise", "experiment_stats", "experiment_block", "comparison_results",
           "comparison_meta", "cpu_name", "previous_invocations", "check_out", "load_results", "portable"]

SCHEMA = 2


IMAGE_METRICS = ("fcd", "classes_covered", "kl_to_uniform")


TOY_METRICS = ("modes_covered", "high_quality")


RUN_METRICS = ("wall_time_s", "images_per_s")


PAIRWISE = {"image": ("fcd",), "toy": ("modes_covered", "high_quality")}


# ------------------------------------------------------------------------------------- one run

def portable(text: str, out: Path) -> str:
    """``text`` with the output folder's absolute path taken out (records carry no machine paths)."""
    for prefix in {str(out.resolve()), str(out)}:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    return text


def read_done(folder: Path, steps: int) -> dict | None:
    """The record of a finished run (its marker matches ``steps``), else None."""
    path = folder / DONE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError:  # cannot happen with atomic writes; a hand-edited file is redone
        return None
    return saved["record"] if saved.get("steps") == steps else None


def write_done(folder: Path, steps: int, record: dict) -> None:
    """A run's completion marker, written last (atomically): its record, valid for a budget of ``steps``."""
    save_json({"steps": steps, "record": record}, folder / DONE)


def finished_runs(grid: Sequence[Job], budget: Budget, out: Path) -> dict[Job, dict]:
    """The records of the runs of ``grid`` whose completion marker in ``out`` matches the budget's steps."""
    found = {}
    for j in grid:
        e = j.experiment
        rec = read_done(run_dir(out, e.dataset, j.loss, j.seed, e.variant), budget.steps_for(e.dataset))
        if rec is not None:
            found[j] = rec
    return found


def run_record(result: TrainResult, budget: Budget) -> dict:
    """Final metrics, the metric trajectory (step, critic updates, seconds) and the recipe of a run."""
    cfg, recipe = result.config, result.config.recipe()
    evals = result.evals
    final = {k: v for k, v in evals[-1].items() if k not in ("step", "critic_updates", "train_s")}
    critic = critic_estimate(result.history, recipe.gp_lambda)  # −L_D without the penalty term
    window = max(1, result.step // 20)
    critic_at = [float(np.mean(critic[max(0, e["step"] - window):e["step"]])) if e["step"] > 0 else None
                 for e in evals]
    elapsed = result.elapsed
    return {"lr": recipe.lr, "optimizer": recipe.optimizer, "betas": list(recipe.betas), "n_critic": recipe.n_critic,
            "d_norm": recipe.d_norm, "clip": recipe.clip, "gp_lambda": recipe.gp_lambda,
            "steps": result.step, "critic_updates": result.step * recipe.n_critic, "device": str(result.device),
            **final, "wall_time_s": elapsed, "cpu_time_s": round(result.cpu_elapsed, 3),
            "images_per_s": result.step * budget.batch_for(cfg.dataset) / elapsed if elapsed > 0 else None,
            "evals": evals, "critic_estimate_at_evals": critic_at}


# ---------------------------------------------------------------------------------- statistics

def summarise(records: list[dict], metrics: Sequence[str]) -> dict:
    """Per loss: ``stats.cell`` (mean, sample std, n, 95 % t interval) of each metric over its finished
    seeds, the finished ``seeds`` and the number ``diverged``."""
    out: dict = {}
    for rec in records:
        row = out.setdefault(rec["loss"], {"seeds": [], "diverged": 0})
        if "diverged" in rec:
            row["diverged"] += 1
        else:
            row["seeds"].append(rec["seed"])
    for loss, row in out.items():
        for m in metrics:
            vals = [r[m] for r in records if r["loss"] == loss and r.get(m) is not None]
            if vals:
                row[m] = stats.cell(vals)
    return out


def _pairwise(records: list[dict], metrics: Sequence[str]) -> dict:
    losses = [name for name in LOSS_NAMES if any(r["loss"] == name for r in records)]
    return {m: stats.pairwise({loss: [r[m] for r in records if r["loss"] == loss and r.get(m) is not None]
                                   for loss in losses}) for m in metrics}


def experiment_stats(dataset: str, records: list[dict]) -> dict:
    """The summary over seeds and the pairwise differences of one experiment's runs on ``dataset``."""
    kind = dataset_spec(dataset).kind
    metrics = (IMAGE_METRICS if kind == "image" else TOY_METRICS) + RUN_METRICS
    return {"summary": summarise(records, metrics), "pairwise": _pairwise(records, PAIRWISE[kind])}


def experiment_block(exp: Experiment, records: list[dict], budget: Budget) -> dict:
    return {"protocol": exp.protocol, "variant": exp.variant, "lr": exp.resolved_lr,
            "steps": budget.steps_for(exp.dataset), "batch_size": budget.batch_for(exp.dataset), "runs": records,
            **experiment_stats(exp.dataset, records)}


def comparison_results(grid: Sequence[Job], records: dict[Job, dict], datasets: Sequence[str], budget: Budget,
                       meta: dict) -> dict:
    """results.json's content: ``meta``, and per dataset each experiment's block of its finished runs."""
    results: dict = {"schema": SCHEMA, "meta": meta, "datasets": {}}
    for d in datasets:
        results["datasets"][d] = {"data": meta["data"][d], "experiments": {}}
    for e in dict.fromkeys(j.experiment for j in grid):
        recs = [records[j] for j in grid if j.experiment == e and j in records]
        if recs:
            results["datasets"][e.dataset]["experiments"][e.variant] = experiment_block(e, recs, budget)
    return results


# ------------------------------------------------------------------------------------------- meta

def data_meta(dataset: str, data_root) -> dict:
    """Which images the GANs train on and which ones FCD is measured against, without machine paths."""
    if dataset_spec(dataset).is_toy:
        return {"gan_training": f"{dataset}: samples drawn afresh from the 2-D mixture at every step"}
    data = gan_training_images(dataset, data_root, verbose=False)  # what train's sampler loads
    rec = load_record(dataset)
    ref = rec.get("reference", {})
    return {"gan_training": f"{len(data.images):,} images ({'+'.join(data.splits)} split) from {data.kind}",
            "fcd_reference": {"name": ref.get("name", REFERENCES[dataset]), "images": ref.get("images"),
                              "n": ref.get("n")},
            "classifier": {"sha256": rec["weights_sha256"], "sha256_16": rec["weights_sha256"][:16],
                           "command": rec["command"], "trained_on": rec["split"],
                           "heldout_accuracy": rec["heldout_accuracy"], "n_heldout": rec["n_heldout"],
                           "reference_accuracy": ref.get("classifier_accuracy")}}


def cpu_name() -> str:
    """The processor's model name (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def comparison_meta(budget: Budget, datasets: Sequence[str], protocols: Sequence[str], device: torch.device, data_root,
          command: str, jobs: int) -> dict:
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    data = {d: data_meta(d, data_root) for d in datasets}
    stated = describe()
    return {"command": command, "budget": budget.as_dict(),
            "protocols": {p: stated[p] for p in protocols} | {k: v for k, v in stated.items() if k not in PROTOCOLS},
            "device": str(device), "gpu": gpu, "cpu": cpu_name(), "cpu_cores": os.cpu_count(),
            "cpu_threads": torch.get_num_threads(), "jobs": jobs,
            "torch": torch.__version__, "python": platform.python_version(),
            "data": data,
            "fcd": {"samples": FCD_SAMPLES, "toy_samples": TOY_REFERENCE_SAMPLES,
                    "references": {d: REFERENCES[d] for d in datasets if dataset_spec(d).is_image}},
            "statistics": {"rule": stats.RULE, "level": stats.LEVEL, "min_seeds": stats.MIN_SEEDS},
            "notes": [],
            "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def previous_invocations(out: Path) -> list[dict]:
    """The invocations recorded in ``out``'s results.json."""
    try:
        meta = json.loads((out / RESULTS).read_text())["meta"]
        return list(meta.get("invocations", []))
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return []


def check_out(out: Path) -> None:
    """Fail before any training if ``out`` cannot be the output folder."""
    if out.exists() and not out.is_dir():
        raise GanlibError(f"--out {out} is a file, not a folder; name a folder for the comparison")
    old = out / RESULTS
    if old.is_file():
        try:
            legacy = "schema" not in json.loads(old.read_text())
        except (json.JSONDecodeError, TypeError):
            legacy = False  # replaced at the end like any results.json of ours
        if legacy:
            raise GanlibError(f"{old} holds results from before the protocols; move that folder away (or "
                              f"git rm -r it) before a new comparison writes there")
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise GanlibError(f"cannot write in --out {out} ({exc.strerror or exc}); choose a writable folder") from None


# ----------------------------------------------------------------------------------------- reading

def load_results(out: str | Path) -> dict:
    """Read a comparison's results.json; a one-line error if it is missing, not ours, from before the
    protocols (no schema) or of another schema."""
    path = Path(out) / RESULTS
    if not path.is_file():
        raise GanlibError(f"no {RESULTS} in {out}; run `python -m ganlib compare --out {out}` first")
    try:
        res = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GanlibError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(res, dict) or not {"meta", "datasets"} <= set(res):
        raise GanlibError(f"{path} is not a ganlib comparison (no meta/datasets)")
    if res.get("schema") is None:
        raise GanlibError(f"{path} holds results from before the protocols (no schema); this ganlib reads "
                          f"schema {SCHEMA}")
    if res["schema"] != SCHEMA:
        raise GanlibError(f"{path} has results schema {res['schema']}; this ganlib reads schema {SCHEMA}")
    return res
