"""The loss comparison: every loss × seed under two protocols (``ganlib.protocols``: ``paper`` and
``controlled``), and on MNIST a critic-normalisation factor and a learning-rate sweep, evaluated during
training; ``DIR/results.json``, from which ``ganlib.report`` draws the figures and tables.

The book's grid is trained on a 2-core CPU, two runs at once, over several invocations of one command
(from the repository root; ``--stop-at`` ends an invocation cleanly, and the same line resumes):

    python -m ganlib compare --budget book --dataset mnist,fashion-mnist --device cpu --jobs 2 --out book/results/grid

``--pilot STEPS`` estimates its hours first, ``--status`` says how much is done and left.

Every run records its evaluations against generator steps, critic updates and training seconds, and
every FCD its number of generated images (``ganlib.metrics.FCD_SAMPLES``) and its reference. Each cell
(experiment × loss) gets mean ± std over seeds and a Student t 95 % interval, and each pair of losses
the interval of their difference and whether the seeds resolve it (``ganlib.stats.RULE``).

Interrupted (even by SIGKILL), it resumes: a run counts as finished only when its marker
(``layout.DONE``, written last, after its checkpoint, history and sample grids) exists, and finished
runs are read back, never redone; an unfinished run continues from its last checkpoint. A run stopped
by the divergence guard is finished too, recorded as diverged. results.json and the figures are
rewritten from all runs at the end of every invocation, each file atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import re
import shlex
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import stats
from .budget import Budget, run_seconds
from .checkpoint import CHECKPOINT
from .classifier import load_record
from .config import TrainConfig
from .data import IMAGE_DATASETS, REFERENCES, gan_training_images
from .devices import no_graph_message, resolve_device
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted
from .files import atomic_path, save_json
from .images import grid_array
from .layout import DONE, POINTS, RESULTS, run_dir, sample_png
from .loop import train
from .losses import LOSS_NAMES
from .metrics import FCD_SAMPLES, TOY_REFERENCE_SAMPLES, TRAJECTORY_SAMPLES, NonFiniteSamples, evaluate_run
from .protocols import PROTOCOLS, Experiment, describe, experiments
from .step import TrainResult, critic_estimate

__all__ = ["run_comparison", "load_results", "run_one", "plan", "estimated_seconds", "command_line", "summarise",
           "eval_steps", "check_seeds", "Job", "run_dir", "sample_png", "RESULTS", "SCHEMA", "IMAGE_METRICS",
           "TOY_METRICS", "RUN_METRICS"]

SCHEMA = 2
N_GRID = 36  # fixed-noise images kept per evaluation step (a 6×6 grid)
IMAGE_METRICS = ("fcd", "classes_covered", "kl_to_uniform")
TOY_METRICS = ("modes_covered", "high_quality")
RUN_METRICS = ("wall_time_s", "images_per_s")
PAIRWISE = {"image": ("fcd",), "toy": ("modes_covered", "high_quality")}
MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes at most a signed 64-bit integer
LEGACY_NOTE = ("These results predate the two protocols and the clean metric: one protocol (each loss's paper "
               "recipe), 3 seeds, and an FCD whose classifier trained on 8,000 of the 10,000 MNIST test images "
               "that were also its reference and the GANs' training data; its numbers do not compare with "
               "those of newer results.")


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


# ----------------------------------------------------------------------------------------- one run

def _evaluator(n_critic: int) -> Callable[[TrainResult], dict]:
    """Metrics of a run at an evaluation step, with the compute spent so far: generator step (added by
    train), critic updates = step × n_critic, and training seconds (wall and CPU). The class histogram is
    left out. Images: ``TRAJECTORY_SAMPLES`` generated images along the run, ``FCD_SAMPLES`` at the final
    step, which also reports ``fcd_5000`` from the first 5,000 of them (the trajectory's N)."""
    def evaluate(result: TrainResult) -> dict:
        image = not result.config.is_toy
        n = (FCD_SAMPLES if result.step == result.config.steps else TRAJECTORY_SAMPLES) if image else None
        try:
            metrics = {k: v for k, v in evaluate_run(result, n, subset=TRAJECTORY_SAMPLES if image else None).items()
                       if k != "histogram"}
        except NonFiniteSamples as exc:  # weights can stay finite while batch-norm statistics do not
            raise TrainingDiverged(f"loss {result.config.loss!r} diverged: {exc} at step {result.step}") from None
        return {"critic_updates": result.step * n_critic, "train_s": round(result.elapsed, 3),
                "train_cpu_s": round(result.cpu_elapsed, 3), **metrics}
    return evaluate


def _save_grid_png(images_u8: torch.Tensor, path: Path) -> None:
    """A 6×6 grid as an 8-bit greyscale PNG (a few KB: the book keeps every evaluation step's grid)."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(grid_array(images_u8[:N_GRID], nrow=6), mode="L").save(tmp, format="png", optimize=True)


def _config(job: Job, budget: Budget, device: str, cuda_graph: bool = False) -> TrainConfig:
    exp, steps = job.experiment, budget.steps_for(job.experiment.dataset)
    image = exp.dataset in IMAGE_DATASETS
    return TrainConfig(loss=job.loss, dataset=exp.dataset, steps=steps, batch_size=budget.batch_for(exp.dataset),
                       seed=job.seed, device=device, snapshot_steps=eval_steps(steps, budget.eval_points),
                       n_snapshot=N_GRID if image else None, checkpoint_every=max(1, steps // 4),
                       check_every=min(100, steps), cuda_graph=cuda_graph, **exp.overrides(not image))


def _portable(text: str, out: Path) -> str:
    """``text`` with the output folder's absolute path taken out (records carry no machine paths)."""
    for prefix in {str(out.resolve()), str(out)}:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    return text


def _read_done(folder: Path, steps: int) -> dict | None:
    """The record of a finished run (its marker matches ``steps``), else None."""
    path = folder / DONE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError:  # cannot happen with atomic writes; a hand-edited file is redone
        return None
    return saved["record"] if saved.get("steps") == steps else None


def finished_runs(grid: Sequence[Job], budget: Budget, out: Path) -> dict[Job, dict]:
    """The records of the runs of ``grid`` whose completion marker in ``out`` matches the budget's steps."""
    found = {}
    for j in grid:
        e = j.experiment
        rec = _read_done(run_dir(out, e.dataset, j.loss, j.seed, e.variant), budget.steps_for(e.dataset))
        if rec is not None:
            found[j] = rec
    return found


def run_one(job: Job, budget: Budget, out: str | Path, device: str, data_root: str | Path | None = None,
            progress: bool | None = None, cuda_graph: bool = False, command: str = "",
            layout: str = "") -> dict:
    """Train (or read back) one run and return its record; a finished run's marker is written last.
    ``command`` (the comparison's command line) and ``layout`` (processes × threads) go into the record."""
    out, exp = Path(out), job.experiment
    steps = budget.steps_for(exp.dataset)
    folder = run_dir(out, exp.dataset, job.loss, job.seed, exp.variant)
    done = _read_done(folder, steps)
    if done is not None:
        return done
    cfg = _config(job, budget, device, cuda_graph)
    head = {"loss": job.loss, "seed": job.seed, "dataset": exp.dataset, "protocol": exp.protocol,
            "variant": exp.variant, "command": command, "process_layout": layout}
    started = time.perf_counter()
    try:
        result = train(cfg, folder, resume=(folder / CHECKPOINT).exists(), progress=progress,
                       evaluate=_evaluator(cfg.recipe().n_critic), data_root=data_root, verbose=False)
    except TrainingDiverged as exc:
        record = {**head, "diverged": _portable(str(exc), out)}
    else:
        if exp.dataset in IMAGE_DATASETS:
            for step, imgs in result.snapshots.items():
                _save_grid_png(imgs, sample_png(out, exp.dataset, job.loss, job.seed, step, exp.variant))
        else:
            last = max(result.snapshots)
            points = np.round(result.snapshots[last].cpu().numpy(), 4).tolist()
            save_json({"step": last, "points": points}, folder / POINTS)
        record = {**head, **_record(result, budget)}
    # the run's own wall time, evaluations and sample grids included (what a schedule must plan for)
    record["run_wall_s"] = round(time.perf_counter() - started, 1)
    save_json({"steps": steps, "record": record}, folder / DONE)
    return record


def _record(result: TrainResult, budget: Budget) -> dict:
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


# ------------------------------------------------------------------------------------------ the grid

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
        key = (j.experiment.dataset, j.loss, j.seed, _config(j, budget, "cpu").recipe())
        out[j] = first.setdefault(key, j)
    return out


def _kind(exp: Experiment) -> int:
    """The order in which a grid trains its experiments on one dataset: the controlled protocol, the swept
    rates, the critic normalisations, then the paper protocol."""
    return 0 if exp.variant == "controlled" else 1 if "-lr" in exp.variant else 2 if "-norm-" in exp.variant else 3


def training_order(grid: Sequence[Job], datasets: Sequence[str]) -> list[Job]:
    """The runs in the order they are started: dataset by dataset, experiments by ``_kind``, then seed by
    seed over all losses, so that a grid stopped part-way holds whole seeds of its first experiments."""
    return sorted(grid, key=lambda j: (list(datasets).index(j.experiment.dataset), _kind(j.experiment), j.seed,
                                       LOSS_NAMES.index(j.loss) if j.loss in LOSS_NAMES else len(LOSS_NAMES)))


def _cost_key(job: Job) -> tuple:
    """Runs that cost the same per step: the learning rate changes nothing, the recipe does."""
    e = job.experiment
    return e.dataset, job.loss, e.protocol, e.d_norm


def _cost(job: Job, budget: Budget, measured: dict | None = None) -> float:
    """Seconds one run takes in this process layout: the median seconds per step of the finished runs of
    its kind (``_cost_key``) in ``measured``, else ``budget.run_seconds``'s table."""
    steps = budget.steps_for(job.experiment.dataset)
    per_step = (measured or {}).get(_cost_key(job))
    if per_step is not None:
        return per_step * steps
    evals = budget.eval_points if job.experiment.dataset in IMAGE_DATASETS else 0
    return run_seconds(job.experiment.protocol, job.loss, steps, evals, job.experiment.d_norm)


def measured_costs(records: dict[Job, dict]) -> dict:
    """Median seconds per generator step of finished runs, by ``_cost_key``: the training's CPU seconds plus
    the wall seconds outside training (evaluations, sample grids). CPU time, not the training's wall time,
    because a run's wall clock also counts whatever else the machine did meanwhile (a run in a one-thread
    process uses one core: its CPU seconds are its seconds on an otherwise idle machine)."""
    per: dict[tuple, list[float]] = {}
    for job, rec in records.items():
        if rec.get("run_wall_s") and rec.get("steps") and rec.get("cpu_time_s") is not None:
            outside = max(0.0, rec["run_wall_s"] - rec["wall_time_s"])
            per.setdefault(_cost_key(job), []).append((rec["cpu_time_s"] + outside) / rec["steps"])
    return {k: float(np.median(v)) for k, v in per.items()}


def estimated_seconds(grid: Sequence[Job], budget: Budget, measured: dict | None = None) -> float:
    """One-process seconds of a grid (``_cost``: measured where runs of the same kind finished)."""
    return sum(_cost(j, budget, measured) for j in grid)


# a run is started only if its estimated seconds times this margin end before the stop time
STOP_MARGIN = 1.15

_STOPPING = False  # in a worker process of ``_run_all``: one of its runs was interrupted


def _run_one_packed(args: tuple) -> dict:
    """``run_one`` in a worker process. SIGINT and SIGTERM reach every process of the group; once a run here
    has stopped for one, a run already queued for this worker is refused, not started."""
    global _STOPPING  # per process: each worker stops on its own signal
    if _STOPPING:
        raise TrainingInterrupted("not started: the comparison is stopping", signal.SIGINT)
    try:
        return run_one(*args)
    except KeyboardInterrupt:
        _STOPPING = True
        raise


def _say_done(i: int, total: int, rec: dict) -> None:
    what = f"{rec['variant']} {rec['dataset']} {rec['loss']} seed {rec['seed']}"
    if "diverged" in rec:
        text = f"diverged ({rec['diverged'].split(';')[0]})"
    else:
        score = f"FCD {rec['fcd']:.2f}" if "fcd" in rec else f"{rec['modes_covered']} modes"
        text = f"{score}, {rec['steps']} steps, {rec['wall_time_s']:.0f} s"
    print(f"ganlib compare: [{i}/{total}] {what}: {text}", flush=True)


@dataclass
class _Schedule:
    """The runs left to start, in training order, and the stop time (``time.time()`` seconds, or None)."""

    todo: list[Job]
    budget: Budget
    stop_at: float | None
    measured: dict

    def next(self) -> Job | None:
        """The first run left whose estimated time ends before the stop time (removed from ``todo``)."""
        for job in self.todo:
            if (self.stop_at is None
                    or time.time() + STOP_MARGIN * _cost(job, self.budget, self.measured) <= self.stop_at):
                self.todo.remove(job)
                return job
        return None


def _stop_timer(stop_at: float | None, pids: Callable[[], list[int]]) -> threading.Timer | None:
    """At the stop time, SIGTERM to the training processes: each saves its checkpoint and stops."""
    if stop_at is None:
        return None
    timer = threading.Timer(max(0.0, stop_at - time.time()),
                            lambda: [os.kill(pid, signal.SIGTERM) for pid in pids()])
    timer.daemon = True
    timer.start()
    return timer


def _run_all(jobs_list: list[Job], budget: Budget, out: Path, device: str, data_root, progress,
             jobs: int, cuda_graph: bool = False, command: str = "", datasets: Sequence[str] = (),
             stop_at: float | None = None) -> dict[Job, dict]:
    """Every finished run read back, then the runs left in ``training_order`` (in ``jobs`` processes if
    > 1), each started only if ``_cost`` says it ends before ``stop_at``; returns the finished records.
    A run that two experiments share (``shared_runs``) is trained once."""
    shared = shared_runs(jobs_list, budget)
    trained = _train_all(list(dict.fromkeys(shared.values())), budget, out, device, data_root, progress, jobs,
                         cuda_graph, command, datasets, stop_at)
    # a run shared by two experiments appears in each, under each one's names
    return {j: {**trained[t], "protocol": j.experiment.protocol, "variant": j.experiment.variant}
            | ({} if t == j else {"trained_as": t.experiment.variant})
            for j, t in shared.items() if t in trained}


def _train_all(jobs_list: list[Job], budget: Budget, out: Path, device: str, data_root, progress,
               jobs: int, cuda_graph: bool, command: str, datasets: Sequence[str],
               stop_at: float | None) -> dict[Job, dict]:
    threads = max(1, torch.get_num_threads() // jobs) if jobs > 1 else torch.get_num_threads()
    layout = f"{jobs} process{'es' * (jobs > 1)} x {threads} thread{'s' * (threads > 1)}"
    records = finished_runs(jobs_list, budget, out)
    order = training_order([j for j in jobs_list if j not in records],
                           datasets or [j.experiment.dataset for j in jobs_list])
    sched = _Schedule(order, budget, stop_at, measured_costs(records))
    total = len(jobs_list)
    args = lambda j: (j, budget, out, device, data_root, progress, cuda_graph, command, layout)  # noqa: E731
    if jobs <= 1:
        while (job := sched.next()) is not None:
            timer = _stop_timer(stop_at, lambda: [os.getpid()])
            try:
                records[job] = run_one(*args(job))
            except TrainingInterrupted as exc:
                print(f"ganlib compare: stop time reached: {exc}", flush=True)
                break
            finally:
                if timer is not None:
                    timer.cancel()
            sched.measured = measured_costs(records)
            _say_done(len(records), total, records[job])
        return records
    return _run_pool(sched, records, args, jobs, threads, total)


def _run_pool(sched: _Schedule, records: dict[Job, dict], args: Callable[[Job], tuple], jobs: int, threads: int,
              total: int) -> dict[Job, dict]:
    """``_run_all`` in ``jobs`` worker processes, at most ``jobs`` runs in flight."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn: CUDA cannot be re-initialised in a forked child; each worker gets its share of CPU threads
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(threads,)) as pool:
        timer = _stop_timer(sched.stop_at, lambda: list(pool._processes or {}))
        running: dict = {}
        try:
            while True:
                while len(running) < jobs and (job := sched.next()) is not None:
                    running[pool.submit(_run_one_packed, args(job))] = job
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = running.pop(fut)
                    try:
                        records[job] = fut.result()
                    except TrainingInterrupted as exc:
                        if sched.stop_at is None or time.time() < sched.stop_at:
                            raise
                        sched.todo.clear()  # the stop time: the runs in flight save and stop, none starts
                        print(f"ganlib compare: stop time reached: {exc}", flush=True)
                        continue
                    sched.measured = measured_costs(records)
                    _say_done(len(records), total, records[job])
        except BaseException:  # interrupted, or a run failed: no queued run starts; running ones stop
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if timer is not None:
                timer.cancel()
    return records


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


def _stats(dataset: str, records: list[dict]) -> dict:
    """The summary over seeds and the pairwise differences of one experiment's runs on ``dataset``."""
    kind = "image" if dataset in IMAGE_DATASETS else "toy"
    metrics = (IMAGE_METRICS if kind == "image" else TOY_METRICS) + RUN_METRICS
    return {"summary": summarise(records, metrics), "pairwise": _pairwise(records, PAIRWISE[kind])}


def _block(exp: Experiment, records: list[dict], budget: Budget) -> dict:
    return {"protocol": exp.protocol, "variant": exp.variant, "lr": exp.resolved_lr,
            "steps": budget.steps_for(exp.dataset), "batch_size": budget.batch_for(exp.dataset), "runs": records,
            **_stats(exp.dataset, records)}


# ------------------------------------------------------------------------------------------- meta

def _data_meta(dataset: str, data_root) -> dict:
    """Which images the GANs train on and which ones FCD is measured against, without machine paths."""
    if dataset not in IMAGE_DATASETS:
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


def cpu_name() -> str:
    """The processor's model name (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meta(budget: Budget, datasets: Sequence[str], protocols: Sequence[str], device: torch.device, data_root,
          command: str, jobs: int) -> dict:
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    data = {d: _data_meta(d, data_root) for d in datasets}
    stated = describe()
    return {"command": command, "budget": budget.as_dict(),
            "protocols": {p: stated[p] for p in protocols} | {k: v for k, v in stated.items() if k not in PROTOCOLS},
            "device": str(device), "gpu": gpu, "cpu": cpu_name(), "cpu_cores": os.cpu_count(),
            "cpu_threads": torch.get_num_threads(), "jobs": jobs,
            "torch": torch.__version__, "python": platform.python_version(),
            "data": data,
            "fcd": {"samples": FCD_SAMPLES, "toy_samples": TOY_REFERENCE_SAMPLES,
                    "references": {d: REFERENCES[d] for d in datasets if d in IMAGE_DATASETS}},
            "statistics": {"rule": stats.RULE, "level": stats.LEVEL, "min_seeds": stats.MIN_SEEDS},
            "notes": [],  # new results have none; load_results adds the legacy note to older ones
            "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _previous_invocations(out: Path) -> list[dict]:
    """The invocations recorded in ``out``'s results.json."""
    try:
        meta = json.loads((out / RESULTS).read_text())["meta"]
        return list(meta.get("invocations", []))
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return []


def _check_out(out: Path) -> None:
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


def run_comparison(losses: Sequence[str], seeds: Sequence[int], datasets: Sequence[str], budget: Budget,
                   out: str | Path, device: str = "auto", data_root: str | Path | None = None,
                   progress: bool | None = None, jobs: int = 1,
                   protocols: Sequence[str] = PROTOCOLS, sweep: bool = True, cuda_graph: bool = False,
                   norms: bool = True, stop_at: float | None = None) -> dict:
    """Run (or go on with) the whole grid and write results.json from every finished run; return the results
    (``ganlib.report.write_figures`` draws the figures from them).

    The grid (``plan``): ``protocols`` × ``datasets`` × ``losses`` × ``seeds``, plus on MNIST under
    ``controlled`` the critic normalisations (``norms``) and the two other learning rates (``sweep``).
    ``jobs > 1`` trains that many runs at once in separate processes, each on its share of the CPU
    threads. With ``stop_at`` (``time.time()`` seconds) no run starts that its estimated time says cannot
    end before then, and a run still going then saves its checkpoint and stops; a later call resumes.
    """
    out = Path(out)
    seeds = check_seeds(seeds)
    for name in losses:
        if name not in LOSS_NAMES:
            raise GanlibError(f"unknown loss {name!r}; choose from {', '.join(LOSS_NAMES)}")
    dev = resolve_device(device)
    if cuda_graph and dev.type != "cuda":
        raise GanlibError(no_graph_message(dev.type))
    _check_out(out)
    command = command_line(budget, losses, seeds, datasets, protocols, sweep, device, jobs, out, cuda_graph, norms)
    meta = _meta(budget, datasets, protocols, dev, data_root, command, jobs)
    grid = plan(losses, seeds, datasets, budget, protocols, sweep, norms)
    exps = list(dict.fromkeys(j.experiment for j in grid))
    fcd = f"FCD on {FCD_SAMPLES:,} images, " if any(d in IMAGE_DATASETS for d in datasets) else ""
    print(f"ganlib compare: budget {budget.name}, {len(grid)} runs "
          f"({', '.join(e.variant + ' ' + e.dataset for e in exps)}), "
          f"losses {', '.join(losses)}, seeds {seeds}, {fcd}device {dev}, {jobs} process{'es' * (jobs > 1)}",
          flush=True)
    start = time.perf_counter()
    records = _run_all(grid, budget, out, str(dev.type), data_root, progress, jobs, cuda_graph, command,
                       datasets, stop_at)
    results: dict = {"schema": SCHEMA, "meta": meta, "datasets": {}}
    for d in datasets:
        results["datasets"][d] = {"data": meta["data"][d], "experiments": {}}
    for e in exps:
        recs = [records[j] for j in grid if j.experiment == e and j in records]
        if recs:
            results["datasets"][e.dataset]["experiments"][e.variant] = _block(e, recs, budget)
    meta["runs_planned"], meta["runs_finished"] = len(grid), len(records)
    meta["run_devices"] = sorted({r["device"] for r in records.values() if "device" in r})
    meta["total_wall_s"] = round(time.perf_counter() - start, 1)
    # a comparison finished in several invocations: each one that got this far, with its wall time
    meta["invocations"] = _previous_invocations(out) + [
        {k: meta[k] for k in ("created", "total_wall_s", "device", "gpu", "jobs", "runs_finished")}]
    save_json(results, out / RESULTS)
    left = len(grid) - len(records)
    print(f"ganlib compare: wrote {out / RESULTS} in {time.perf_counter() - start:.0f} s; "
          f"{len(records)} of {len(grid)} runs finished"
          + (f", {left} left (run the same command again)" if left else ""),
          flush=True)
    return results


def _pilot_worker(args: tuple) -> dict:
    """Train one kind of run for a few steps without an output folder; its seconds per step."""
    job, budget, steps, data_root = args
    cfg = dataclasses.replace(_config(job, budget, "cpu"), steps=steps, snapshot_steps=(), check_every=steps)
    result = train(cfg, data_root=data_root, verbose=False)
    return {"ms_per_step": 1000 * result.elapsed / steps, "cpu_ms_per_step": 1000 * result.cpu_elapsed / steps}


def pilot(grid: Sequence[Job], budget: Budget, jobs: int, steps: int = 40, data_root=None) -> dict:
    """Measure each kind of run of ``grid`` (loss × protocol × critic normalisation; the image datasets share
    their networks, so MNIST stands for both) for ``steps`` generator steps, ``jobs`` at once in separate
    processes as the grid itself runs, and one evaluation; return the seconds per step and the grid's
    estimated hours at ``jobs`` runs at once."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    grid = list(dict.fromkeys(shared_runs(grid, budget).values()))
    kinds: dict[tuple, Job] = {}
    for j in grid:
        e = j.experiment
        kinds.setdefault((j.loss, e.protocol, e.d_norm, e.dataset in IMAGE_DATASETS),
                         Job(Experiment(e.protocol, "mnist" if e.dataset in IMAGE_DATASETS else e.dataset,
                                        d_norm=e.d_norm), j.loss, 0))
    threads = max(1, torch.get_num_threads() // jobs)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(threads,)) as pool:
        measured = dict(zip(kinds, pool.map(_pilot_worker, [(k, budget, steps, data_root) for k in kinds.values()])))
    per_run = {}
    traj_s, final_s = _eval_seconds(threads)
    total = 0.0
    for j in grid:
        e = j.experiment
        m = measured[(j.loss, e.protocol, e.d_norm, e.dataset in IMAGE_DATASETS)]
        evals = (budget.eval_points - 1) * traj_s + final_s if e.dataset in IMAGE_DATASETS else 0.0
        total += m["ms_per_step"] / 1000 * budget.steps_for(e.dataset) + evals
    for (loss, protocol, d_norm, image), m in measured.items():
        per_run[f"{protocol}{'' if d_norm is None else '-norm-' + d_norm} {loss}{'' if image else ' (toy)'}"] = {
            k: round(v, 1) for k, v in m.items()}
    return {"steps": steps, "jobs": jobs, "threads_per_process": threads,
            "eval_seconds": {"trajectory": round(traj_s, 2), "final": round(final_s, 2)},
            "ms_per_step": per_run, "runs": len(grid), "one_process_hours": round(total / 3600, 2),
            "estimated_hours": round(total / 3600 / jobs, 2)}


def _eval_seconds(threads: int) -> tuple[float, float]:
    """Seconds of an intermediate and of the final evaluation of an image run (``_evaluator``), on
    ``threads`` threads, with an untrained generator (the networks' cost does not depend on training)."""
    from .step import new_run

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result, _, _ = new_run(TrainConfig(loss="hinge", dataset="mnist", steps=1, device="cpu"), torch.device("cpu"))
        evaluate_run(result, 2)  # loads the classifier and the reference statistics once
        seconds = []
        for n in (TRAJECTORY_SAMPLES, FCD_SAMPLES):
            t0 = time.perf_counter()
            evaluate_run(result, n, subset=TRAJECTORY_SAMPLES)
            seconds.append(time.perf_counter() - t0)
        return seconds[0], seconds[1]
    finally:
        torch.set_num_threads(before)


def grid_status(losses: Sequence[str], seeds: Sequence[int], datasets: Sequence[str], budget: Budget,
                out: str | Path, protocols: Sequence[str] = PROTOCOLS, sweep: bool = True, norms: bool = True,
                jobs: int = 1) -> dict:
    """Runs finished and left per experiment, and the estimated hours left at ``jobs`` runs at once
    (``_cost``, from the finished runs' own seconds per step where there are any)."""
    grid = plan(losses, check_seeds(seeds), datasets, budget, protocols, sweep, norms)
    grid = list(dict.fromkeys(shared_runs(grid, budget).values()))
    done = finished_runs(grid, budget, Path(out))
    measured = measured_costs(done)
    rows = {}
    for j in grid:
        row = rows.setdefault(f"{j.experiment.variant} {j.experiment.dataset}",
                              {"finished": 0, "left": 0, "hours_left": 0.0})
        if j in done:
            row["finished"] += 1
        else:
            row["left"] += 1
            row["hours_left"] += _cost(j, budget, measured) / 3600 / jobs
    left = [j for j in grid if j not in done]
    return {"experiments": rows, "finished": len(done), "left": len(left),
            "hours_left": estimated_seconds(left, budget, measured) / 3600 / jobs, "jobs": jobs,
            "measured_kinds": len(measured)}


# ----------------------------------------------------------------------------------------- reading

def _upgrade_legacy(res: dict) -> dict:
    """A results.json from before the protocols (schema 1) in today's layout, marked with a note; its
    data descriptions lose the machine paths they carried."""
    meta = dict(res["meta"])
    meta["notes"] = [LEGACY_NOTE] + list(meta.get("notes", []))
    meta["legacy"] = True
    meta["data"] = {d: re.sub(r"(offline root|download cache) \S+", r"\1 (path removed)", text)
                    for d, text in meta.get("data", {}).items()}
    data = {d: {"gan_training": text.split(": ", 1)[-1]} for d, text in meta["data"].items()}
    datasets = {}
    for d, old in res["datasets"].items():  # the old keys stay: chapters written for them still run
        runs = [{**r, "protocol": "paper", "variant": "paper"} for r in old["runs"]]
        batch = meta["budget"]["batch_size" if d in IMAGE_DATASETS else "toy_batch_size"]
        block = {"protocol": "paper", "variant": "paper", "lr": None, "steps": old["steps"], "batch_size": batch,
                 "runs": runs, **_stats(d, runs)}
        datasets[d] = {**old, "data": data.get(d, {}), "experiments": {"paper": block}}
    return {"schema": SCHEMA, "meta": meta, "datasets": datasets}


def load_results(out: str | Path) -> dict:
    """Read a comparison's results.json (clear error if it is missing or not ours); results from before
    the protocols come back in today's layout with a note saying so (``meta["notes"]``)."""
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
        return _upgrade_legacy(res)
    if res["schema"] != SCHEMA:
        raise GanlibError(f"{path} has results schema {res['schema']}; this ganlib reads schema {SCHEMA}")
    return res
