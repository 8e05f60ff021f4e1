"""The loss comparison, run: every loss × seed under two protocols (``ganlib.protocols``: ``paper`` and
``controlled``), and on MNIST a critic-normalisation factor and a learning-rate sweep, evaluated during
training; ``DIR/results.json``, from which ``ganlib.report`` draws the figures and tables.

Three modules by job: ``ganlib.compare_plan`` says which runs, with which settings, in which order and at
what cost; this module trains them (one process, or a pool of them) and writes results.json;
``ganlib.compare_results`` keeps the records, the statistics over seeds and results.json. This module also
gives the comparison's public names from the other two (``plan``, ``load_results`` ...).

The book's grid is trained on a 2-core CPU, two runs at once, over several invocations of one command
(from the repository root; ``--stop-at`` ends an invocation cleanly, and the same line resumes):

    python -m ganlib compare --budget book --dataset mnist,fashion-mnist --device cpu --jobs 2 --out book/results/grid

``--pilot STEPS`` estimates its hours first, ``--status`` says how much is done and left.

Interrupted (even by SIGKILL), it resumes: a run counts as finished only when its marker
(``compare_paths.DONE``, written last, after its checkpoint, history and sample grids) exists, and finished
runs are read back, never redone; an unfinished run continues from its last checkpoint. A run stopped
by the divergence guard is finished too, recorded as diverged. results.json and the figures are
rewritten from all runs at the end of every invocation, each file atomically.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .budget import Budget
from .checkpoint import CHECKPOINT
from .compare_paths import POINTS, RESULTS, run_dir, sample_png
from .compare_plan import (
    N_GRID,
    Job,
    check_seeds,
    command_line,
    distinct_runs,
    estimated_seconds,
    eval_steps,
    measured_costs,
    plan,
    run_config,
    run_cost,
    shared_runs,
    training_order,
)
from .compare_results import (
    IMAGE_METRICS,
    RUN_METRICS,
    SCHEMA,
    TOY_METRICS,
    check_out,
    comparison_meta,
    comparison_results,
    finished_runs,
    load_results,
    portable,
    previous_invocations,
    read_done,
    run_record,
    summarise,
    write_done,
)
from .config import TrainConfig
from .datasets import dataset_spec
from .devices import no_graph_message, resolve_device
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted
from .files import atomic_path, save_json
from .images import grid_array
from .loop import train
from .losses import LOSS_NAMES
from .metrics import FCD_SAMPLES, TRAJECTORY_SAMPLES, NonFiniteSamples, evaluate_run
from .protocols import PROTOCOLS, Experiment
from .step import TrainResult, new_run

__all__ = ["run_comparison", "load_results", "run_one", "RunSettings", "plan", "shared_runs", "distinct_runs",
           "estimated_seconds", "command_line", "summarise", "eval_steps", "check_seeds", "grid_status", "pilot", "Job",
           "run_dir", "sample_png", "RESULTS", "SCHEMA", "IMAGE_METRICS", "TOY_METRICS", "RUN_METRICS"]


# ----------------------------------------------------------------------------------------- one run

def _evaluator(n_critic: int) -> Callable[[TrainResult], dict]:
    """Metrics of a run at an evaluation step, with the compute spent so far: generator step (added by
    train), critic updates = step × n_critic, and training seconds (wall and CPU). The class histogram is
    left out. Images: ``TRAJECTORY_SAMPLES`` generated images along the run, ``FCD_SAMPLES`` at the final
    step, which also reports ``fcd_5000`` from the first 5,000 of them (the trajectory's N)."""
    def evaluate(result: TrainResult) -> dict:
        image = result.config.spec.is_image
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


@dataclass(frozen=True)
class RunSettings:
    """What every run of one comparison shares, sent with each run to the worker processes."""

    budget: Budget
    out: Path  # the comparison's output folder
    device: str  # "cpu", "cuda", ...: the device type (each worker resolves its own)
    data_root: str | Path | None = None
    progress: bool | None = None  # progress bars (None: only on a terminal)
    cuda_graph: bool = False
    command: str = ""  # the comparison's command line, recorded with each run
    layout: str = ""  # processes × threads, recorded with each run


def run_one(job: Job, settings: RunSettings) -> dict:
    """Train (or read back) one run and return its record; a finished run's marker is written last."""
    out, exp, budget = Path(settings.out), job.experiment, settings.budget
    steps = budget.steps_for(exp.dataset)
    folder = run_dir(out, exp.dataset, job.loss, job.seed, exp.variant)
    done = read_done(folder, steps)
    if done is not None:
        return done
    cfg = run_config(job, budget, settings.device, settings.cuda_graph)
    head = {"loss": job.loss, "seed": job.seed, "dataset": exp.dataset, "protocol": exp.protocol,
            "variant": exp.variant, "command": settings.command, "process_layout": settings.layout}
    started = time.perf_counter()
    try:
        result = train(cfg, folder, resume=(folder / CHECKPOINT).exists(), progress=settings.progress,
                       evaluate=_evaluator(cfg.recipe().n_critic), data_root=settings.data_root, verbose=False)
    except TrainingDiverged as exc:
        record = {**head, "diverged": portable(str(exc), out)}
    else:
        if cfg.spec.is_image:
            for step, imgs in result.snapshots.items():
                _save_grid_png(imgs, sample_png(out, exp.dataset, job.loss, job.seed, step, exp.variant))
        else:
            last = max(result.snapshots)
            points = np.round(result.snapshots[last].cpu().numpy(), 4).tolist()
            save_json({"step": last, "points": points}, folder / POINTS)
        record = {**head, **run_record(result, budget)}
    # the run's own wall time, evaluations and sample grids included (what a schedule must plan for)
    record["run_wall_s"] = round(time.perf_counter() - started, 1)
    write_done(folder, steps, record)
    return record


# a run is started only if its estimated seconds times this margin end before the stop time
STOP_MARGIN = 1.15


_STOPPING = False  # in a worker process of ``_run_pool``: one of its runs was interrupted


def _run_one_in_worker(job: Job, settings: RunSettings) -> dict:
    """``run_one`` in a worker process. SIGINT and SIGTERM reach every process of the group; once a run here
    has stopped for one, a run already queued for this worker is refused, not started."""
    global _STOPPING  # per process: each worker stops on its own signal
    if _STOPPING:
        raise TrainingInterrupted("not started: the comparison is stopping", signal.SIGINT)
    try:
        return run_one(job, settings)
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
                    or time.time() + STOP_MARGIN * run_cost(job, self.budget, self.measured) <= self.stop_at):
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


def _run_all(jobs_list: list[Job], settings: RunSettings, jobs: int, datasets: Sequence[str] = (),
             stop_at: float | None = None) -> dict[Job, dict]:
    """Every finished run read back, then the runs left in ``training_order`` (in ``jobs`` processes if
    > 1), each started only if ``run_cost`` says it ends before ``stop_at``; returns the finished records.
    A run that two experiments share (``shared_runs``) is trained once."""
    shared = shared_runs(jobs_list, settings.budget)
    trained = _train_all(distinct_runs(shared), settings, jobs, datasets, stop_at)
    # a run shared by two experiments appears in each, under each one's names
    return {j: {**trained[t], "protocol": j.experiment.protocol, "variant": j.experiment.variant}
            | ({} if t == j else {"trained_as": t.experiment.variant})
            for j, t in shared.items() if t in trained}


def _train_all(jobs_list: list[Job], settings: RunSettings, jobs: int, datasets: Sequence[str],
               stop_at: float | None) -> dict[Job, dict]:
    threads = max(1, torch.get_num_threads() // jobs) if jobs > 1 else torch.get_num_threads()
    layout = f"{jobs} process{'es' * (jobs > 1)} x {threads} thread{'s' * (threads > 1)}"
    settings = dataclasses.replace(settings, layout=layout)
    budget = settings.budget
    records = finished_runs(jobs_list, budget, settings.out)
    order = training_order([j for j in jobs_list if j not in records],
                           datasets or [j.experiment.dataset for j in jobs_list])
    sched = _Schedule(order, budget, stop_at, measured_costs(records))
    total = len(jobs_list)
    if jobs <= 1:
        while (job := sched.next()) is not None:
            timer = _stop_timer(stop_at, lambda: [os.getpid()])
            try:
                records[job] = run_one(job, settings)
            except TrainingInterrupted as exc:
                print(f"ganlib compare: stop time reached: {exc}", flush=True)
                break
            finally:
                if timer is not None:
                    timer.cancel()
            sched.measured = measured_costs(records)
            _say_done(len(records), total, records[job])
        return records
    return _run_pool(sched, records, settings, jobs, threads, total)


def _run_pool(sched: _Schedule, records: dict[Job, dict], settings: RunSettings, jobs: int, threads: int,
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
                    running[pool.submit(_run_one_in_worker, job, settings)] = job
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
    check_out(out)
    command = command_line(budget, losses, seeds, datasets, protocols, sweep, device, jobs, out, cuda_graph, norms)
    meta = comparison_meta(budget, datasets, protocols, dev, data_root, command, jobs)
    grid = plan(losses, seeds, datasets, budget, protocols, sweep, norms)
    exps = list(dict.fromkeys(j.experiment for j in grid))
    fcd = f"FCD on {FCD_SAMPLES:,} images, " if any(dataset_spec(d).is_image for d in datasets) else ""
    trainings = len(distinct_runs(shared_runs(grid, budget)))
    shared = (f", {trainings} to train: {len(grid) - trainings} shared by two experiments"
              if trainings < len(grid) else "")
    print(f"ganlib compare: budget {budget.name}, {len(grid)} runs{shared} "
          f"({', '.join(e.variant + ' ' + e.dataset for e in exps)}), "
          f"losses {', '.join(losses)}, seeds {seeds}, {fcd}device {dev}, {jobs} process{'es' * (jobs > 1)}",
          flush=True)
    start = time.perf_counter()
    settings = RunSettings(budget, out, str(dev.type), data_root, progress, cuda_graph, command)
    records = _run_all(grid, settings, jobs, datasets, stop_at)
    results = comparison_results(grid, records, datasets, budget, meta)
    meta["runs_planned"], meta["runs_finished"] = len(grid), len(records)
    meta["run_devices"] = sorted({r["device"] for r in records.values() if "device" in r})
    meta["total_wall_s"] = round(time.perf_counter() - start, 1)
    # a comparison finished in several invocations: each one that got this far, with its wall time
    meta["invocations"] = previous_invocations(out) + [
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
    cfg = dataclasses.replace(run_config(job, budget, "cpu"), steps=steps, snapshot_steps=(), check_every=steps)
    result = train(cfg, data_root=data_root, verbose=False)
    return {"ms_per_step": 1000 * result.elapsed / steps, "cpu_ms_per_step": 1000 * result.cpu_elapsed / steps}


def pilot(grid: Sequence[Job], budget: Budget, jobs: int, steps: int = 40, data_root=None) -> dict:
    """Measure each kind of run of ``grid`` (loss × protocol × critic normalisation; the image datasets share
    their networks, so MNIST stands for both) for ``steps`` generator steps, ``jobs`` at once in separate
    processes as the grid itself runs, and one evaluation; return the seconds per step and the grid's
    estimated hours at ``jobs`` runs at once."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    grid = distinct_runs(shared_runs(grid, budget))
    kinds: dict[tuple, Job] = {}
    for j in grid:
        e, image = j.experiment, dataset_spec(j.experiment.dataset).is_image
        kinds.setdefault((j.loss, e.protocol, e.d_norm, image),
                         Job(Experiment(e.protocol, "mnist" if image else e.dataset, d_norm=e.d_norm), j.loss, 0))
    threads = max(1, torch.get_num_threads() // jobs)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(threads,)) as pool:
        measured = dict(zip(kinds, pool.map(_pilot_worker, [(k, budget, steps, data_root) for k in kinds.values()])))
    per_run = {}
    traj_s, final_s = _eval_seconds(threads)
    total = 0.0
    for j in grid:
        e, image = j.experiment, dataset_spec(j.experiment.dataset).is_image
        m = measured[(j.loss, e.protocol, e.d_norm, image)]
        evals = (budget.eval_points - 1) * traj_s + final_s if image else 0.0
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
    (``run_cost``, from the finished runs' own seconds per step where there are any)."""
    grid = plan(losses, check_seeds(seeds), datasets, budget, protocols, sweep, norms)
    grid = distinct_runs(shared_runs(grid, budget))
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
            row["hours_left"] += run_cost(j, budget, measured) / 3600 / jobs
    left = [j for j in grid if j not in done]
    return {"experiments": rows, "finished": len(done), "left": len(left),
            "hours_left": estimated_seconds(left, budget, measured) / 3600 / jobs, "jobs": jobs,
            "measured_kinds": len(measured)}
