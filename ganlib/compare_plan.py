"""The plan of a loss comparison: which runs (``Job``: experiment × loss × seed), the training settings of
each (``run_config``), which runs two experiments share (``shared_runs``), the order they train in
(``training_order``) and what they cost (``run_cost``: measured seconds per step where runs of the same kind
have finished, else ``ganlib.budget``'s table). Nothing here trains or writes; ``ganlib.compare`` runs the
plan and ``ganlib.compare_results`` keeps what the runs return.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .budget import Budget, run_seconds
from .config import TrainConfig
from .datasets import dataset_spec
from .errors import GanlibError
from .losses import LOSS_NAMES
from .protocols import PROTOCOLS, Experiment, experiments, parse_variant

__all__ = ["Job", "MAX_SEED", "N_GRID", "eval_steps", "check_seeds", "run_config", "plan", "shared_runs",
           "distinct_runs", "training_order", "cost_key", "run_cost", "measured_costs", "estimated_seconds",
           "command_line"]

N_GRID = 36  # fixed-noise images kept per evaluation step (a 6×6 grid)


MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes at most a signed 64-bit integer


@dataclass(frozen=True)
class Job:
    """One run of the grid."""

    experiment: Experiment
    loss: str
    seed: int


def eval_steps(steps: int, points: int) -> tuple[int, ...]:
    """``points`` evenly spaced evaluation steps ending at ``steps`` (e.g. 2000, 5 → 400 … 2000)."""
    return tuple(sorted({max(1, round(steps * (i + 1) / points)) for i in range(points)}))


def check_seeds(seeds: Sequence[object]) -> list[int]:
    """The seeds as a list of distinct ints in 0 … 2⁶³ − 1, else a one-line ``GanlibError``."""
    out: list[int] = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) <= MAX_SEED:
            raise GanlibError(f"seeds must be integers from 0 to 2^63 - 1 (torch's seed range), got {s!r}")
        if int(s) in out:
            raise GanlibError(f"seed {s} is given twice")
        out.append(int(s))
    if not out:
        raise GanlibError("give at least one seed")
    return out


def run_config(job: Job, budget: Budget, device: str, cuda_graph: bool = False) -> TrainConfig:
    exp, steps = job.experiment, budget.steps_for(job.experiment.dataset)
    image = dataset_spec(exp.dataset).is_image
    return TrainConfig(loss=job.loss, dataset=exp.dataset, steps=steps, batch_size=budget.batch_for(exp.dataset),
                       seed=job.seed, device=device, snapshot_steps=eval_steps(steps, budget.eval_points),
                       n_snapshot=N_GRID if image else None, checkpoint_every=max(1, steps // 4),
                       check_every=min(100, steps), cuda_graph=cuda_graph, **exp.overrides())


def plan(losses: Sequence[str], seeds: Sequence[int], datasets: Sequence[str], budget: Budget,
         protocols: Sequence[str] = PROTOCOLS, sweep: bool = True, norms: bool = True) -> list[Job]:
    """Every run of a comparison: each experiment (``protocols.experiments``) × loss × seed, where each
    experiment takes the first ``budget.seed_count(variant, dataset)`` of ``seeds`` and the pairs of
    ``protocols.INVALID_PAIRS`` are left out."""
    exps = experiments(list(datasets), list(protocols), sweep and budget.sweep_seeds > 0,
                       norms and budget.norm_seeds > 0)
    return [Job(e, loss, s) for e in exps for loss in losses if e.runs_loss(loss)
            for s in seeds[:budget.seed_count(e.variant, e.dataset)]]


def shared_runs(grid: Sequence[Job], budget: Budget) -> dict[Job, Job]:
    """Each run of ``grid`` mapped to the run that trains it: the first one in ``grid`` with the same dataset,
    loss, seed and recipe. The paper recipe of minimax, non-saturating, LSGAN and hinge is the controlled
    protocol with a batch-norm critic, so those runs of the normalisation factor are the paper runs."""
    first: dict[tuple, Job] = {}
    out = {}
    for j in grid:
        key = (j.experiment.dataset, j.loss, j.seed, run_config(j, budget, "cpu").recipe())
        out[j] = first.setdefault(key, j)
    return out


def distinct_runs(shared: dict[Job, Job]) -> list[Job]:
    """The runs that are trained, each once, in the grid's order, from ``shared_runs``'s mapping."""
    return list(dict.fromkeys(shared.values()))


def _kind(exp: Experiment) -> int:
    """The order in which a grid trains its experiments on one dataset: the controlled protocol, the swept
    rates, the critic normalisations, then the paper protocol."""
    protocol, lr, d_norm = parse_variant(exp.variant)
    return 3 if protocol == "paper" else 1 if lr is not None else 2 if d_norm is not None else 0


def training_order(grid: Sequence[Job], datasets: Sequence[str]) -> list[Job]:
    """The runs in the order they are started: dataset by dataset, experiments by ``_kind``, then seed by
    seed over all losses, so that a grid stopped part-way holds whole seeds of its first experiments."""
    return sorted(grid, key=lambda j: (list(datasets).index(j.experiment.dataset), _kind(j.experiment), j.seed,
                                       LOSS_NAMES.index(j.loss) if j.loss in LOSS_NAMES else len(LOSS_NAMES)))


def cost_key(job: Job) -> tuple:
    """Runs that cost the same per step: the learning rate changes nothing, the recipe does."""
    e = job.experiment
    return e.dataset, job.loss, e.protocol, e.d_norm


def run_cost(job: Job, budget: Budget, measured: dict | None = None) -> float:
    """Seconds one run takes in this process layout: the median seconds per step of the finished runs of
    its kind (``cost_key``) in ``measured``, else ``budget.run_seconds``'s table."""
    steps = budget.steps_for(job.experiment.dataset)
    per_step = (measured or {}).get(cost_key(job))
    if per_step is not None:
        return per_step * steps
    evals = budget.eval_points if dataset_spec(job.experiment.dataset).is_image else 0
    return run_seconds(job.experiment.protocol, job.loss, steps, evals, job.experiment.d_norm)


def measured_costs(records: dict[Job, dict]) -> dict:
    """Median seconds per generator step of finished runs, by ``cost_key``: the training's CPU seconds plus
    the wall seconds outside training (evaluations, sample grids). CPU time, not the training's wall time,
    because a run's wall clock also counts whatever else the machine did meanwhile (a run in a one-thread
    process uses one core: its CPU seconds are its seconds on an otherwise idle machine)."""
    per: dict[tuple, list[float]] = {}
    for job, rec in records.items():
        if rec.get("run_wall_s") and rec.get("steps") and rec.get("cpu_time_s") is not None:
            outside = max(0.0, rec["run_wall_s"] - rec["wall_time_s"])
            per.setdefault(cost_key(job), []).append((rec["cpu_time_s"] + outside) / rec["steps"])
    return {k: float(np.median(v)) for k, v in per.items()}


def estimated_seconds(grid: Sequence[Job], budget: Budget, measured: dict | None = None) -> float:
    """One-process seconds of a grid (``run_cost``: measured where runs of the same kind finished)."""
    return sum(run_cost(j, budget, measured) for j in grid)


def command_line(budget: Budget, losses: Sequence[str], seeds: Sequence[int], datasets: Sequence[str],
                 protocols: Sequence[str], sweep: bool, device: str, jobs: int, out: Path,
                 cuda_graph: bool = False, norms: bool = True) -> str:
    """The one command that makes (or finishes) this comparison, whoever called ``run_comparison``:
    ``out`` relative to the working folder, or only its name when it lies outside (no machine paths)."""
    words = ["python", "-m", "ganlib", "compare", "--budget", budget.name, "--dataset", ",".join(datasets),
             "--losses", "all" if list(losses) == list(LOSS_NAMES) else ",".join(losses)]
    if list(seeds) != list(budget.seeds):
        words += ["--seeds", ",".join(map(str, seeds))]
    if list(protocols) != list(PROTOCOLS):
        words += ["--protocols", ",".join(protocols)]
    words += ["--no-sweep"] if not sweep else []
    words += ["--no-norms"] if not norms else []
    words += ["--cuda-graph"] if cuda_graph else []
    rel = os.path.relpath(out)
    words += ["--device", device, "--jobs", str(jobs), "--out", out.name if rel.startswith("..") else rel]
    return shlex.join(words)
