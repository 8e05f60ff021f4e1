"""The loss comparison: every loss × every seed, the same networks and generator steps, evaluated
several times during training; results in ``DIR/results.json`` plus figures and sample grids.

    python -m ganlib compare --budget book --out book/results

Interrupted, it resumes: finished runs (``history.json`` at the final step) are read back, not redone;
unfinished ones continue from their last checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .budget import Budget, get_budget
from .checkpoint import CHECKPOINT, HISTORY
from .data import IMAGE_DATASETS, DATASETS, load_images
from .errors import GanlibError, TrainingDiverged
from .io import atomic_path, save_json
from .losses import LOSS_NAMES
from .plot import critic_estimate
from .train import TrainConfig, TrainResult, resolve_device, train

RESULTS = "results.json"
N_GRID = 36  # fixed-noise images kept per evaluation step (a 6×6 grid)
IMAGE_METRICS = ("fcd", "classes_covered", "kl_to_uniform", "confidence")
TOY_METRICS = ("modes_covered", "high_quality")
RUN_METRICS = ("wall_time_s", "images_per_s")


def eval_steps(steps: int, points: int) -> tuple[int, ...]:
    """``points`` evenly spaced evaluation steps ending at ``steps`` (e.g. 2000, 5 → 400 … 2000)."""
    return tuple(sorted({max(1, round(steps * (i + 1) / points)) for i in range(points)}))


def run_dir(out: Path, dataset: str, loss: str, seed: int) -> Path:
    return out / "runs" / dataset / loss / f"seed{seed}"


def sample_png(out: Path, dataset: str, loss: str, seed: int, step: int) -> Path:
    return out / "samples" / f"{dataset}_{loss}_seed{seed}_step{step}.png"


def _evaluator(n: int) -> Callable[[TrainResult], dict]:
    """Metrics of a run on n fresh samples (the class histogram is left out of the records)."""
    from .metrics import evaluate_run

    return lambda result: {k: v for k, v in evaluate_run(result, n=n).items() if k != "histogram"}


def _save_grid_png(images_u8: torch.Tensor, path: Path) -> None:
    """A 6×6 grid as an 8-bit greyscale PNG (a few KB: the book keeps every evaluation step's grid)."""
    from PIL import Image

    from .plot import grid_array

    with atomic_path(path) as tmp:
        Image.fromarray(grid_array(images_u8[:N_GRID], nrow=6), mode="L").save(tmp, format="png", optimize=True)


def _steps_for(budget: Budget, dataset: str) -> int:
    return budget.image_steps if dataset in IMAGE_DATASETS else budget.toy_steps


def _batch_for(budget: Budget, dataset: str) -> int:
    return budget.batch_size if dataset in IMAGE_DATASETS else budget.toy_batch_size


def run_one(loss: str, seed: int, dataset: str, budget: Budget, out: Path, device: str,
            data_root: str | Path | None, progress: bool | None) -> dict:
    """Train (or read back) one run of the grid and return its record for results.json."""
    steps = _steps_for(budget, dataset)
    folder = run_dir(out, dataset, loss, seed)
    done = _finished(folder, steps)
    if done is None:
        cfg = TrainConfig(loss=loss, dataset=dataset, steps=steps, batch_size=_batch_for(budget, dataset), seed=seed,
                          device=device, snapshot_steps=(0,) + eval_steps(steps, budget.eval_points),
                          n_snapshot=None if dataset not in IMAGE_DATASETS else N_GRID,
                          checkpoint_every=max(1, steps // 4), check_every=min(100, steps))
        resume = (folder / CHECKPOINT).exists()
        try:
            result = train(cfg, folder, resume=resume, progress=progress,
                           evaluate=_evaluator(budget.eval_samples), data_root=data_root)
        except TrainingDiverged as exc:
            print(f"ganlib compare: {exc}", file=sys.stderr)
            return {"loss": loss, "seed": seed, "dataset": dataset, "diverged": str(exc)}
        if dataset in IMAGE_DATASETS:
            for step, imgs in result.snapshots.items():
                _save_grid_png(imgs, sample_png(out, dataset, loss, seed, step))
        done = _finished(folder, steps)
    return _record(loss, seed, dataset, done, budget)


def _run_one_packed(args: tuple) -> dict:
    return run_one(*args)


def _run_all(jobs_list: list[tuple], jobs: int) -> list[dict]:
    """Every run of the grid, in order; in ``jobs`` worker processes when more than one."""
    if jobs <= 1:
        return [run_one(*a) for a in jobs_list]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: CUDA cannot be re-initialised in a forked child; each worker pins one CPU thread
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(max(1, (torch.get_num_threads()) // jobs),)) as pool:
        return list(pool.map(_run_one_packed, jobs_list))


def _finished(folder: Path, steps: int) -> dict | None:
    path = folder / HISTORY
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    return saved if saved["step"] == steps else None


def _record(loss: str, seed: int, dataset: str, saved: dict, budget: Budget) -> dict:
    """Final metrics, the metric trajectory and throughput of one finished run."""
    h, evals = saved["history"], saved["evals"]
    recipe = TrainConfig.from_dict(saved["config"]).recipe()  # the run's own recipe, overrides included
    final = {k: v for k, v in evals[-1].items() if k != "step"}
    critic = critic_estimate(h, recipe.gp_lambda)  # −L_D without the penalty term
    eval_at = [e["step"] for e in evals]
    window = max(1, saved["step"] // 20)
    critic_at = [float(np.mean(critic[max(0, s - window):s])) if s > 0 else None for s in eval_at]
    elapsed = saved["elapsed_s"]
    return {"loss": loss, "seed": seed, "dataset": dataset, "steps": saved["step"], "device": saved["device"],
            **final, "wall_time_s": elapsed,
            "images_per_s": saved["step"] * _batch_for(budget, dataset) / elapsed if elapsed > 0 else None,
            "evals": evals, "critic_estimate_at_evals": critic_at}


def summarise(records: list[dict], metrics: Sequence[str]) -> dict:
    """Mean and sample standard deviation (ddof = 1) over seeds, per loss, of each metric."""
    table: dict = {}
    for rec in records:
        if "diverged" in rec:
            table.setdefault(rec["loss"], {}).setdefault("diverged", 0)
            table[rec["loss"]]["diverged"] += 1
            continue
        for m in metrics:
            if rec.get(m) is not None:
                table.setdefault(rec["loss"], {}).setdefault(m, []).append(rec[m])
    out: dict = {}
    for loss, cols in table.items():
        out[loss] = {}
        for m, vals in cols.items():
            if m == "diverged":
                out[loss][m] = vals
                continue
            arr = np.asarray(vals, dtype=float)
            out[loss][m] = {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
                            "n": len(arr)}
    return out


def _meta(budget: Budget, datasets: Sequence[str], device: torch.device, data_root, argv: Sequence[str]) -> dict:
    data = {d: load_images(d, "all", data_root, verbose=False).describe() for d in datasets if d in IMAGE_DATASETS}
    from .classifier import load_record

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    classifiers = {d: load_record(d).get("weights_sha256", "")[:16] for d in datasets if d in IMAGE_DATASETS}
    return {"command": "python -m ganlib " + " ".join(argv), "budget": budget.as_dict(), "device": str(device),
            "gpu": gpu, "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "data": data, "classifier_sha256_16": classifiers,
            "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def run_comparison(losses: Sequence[str], seeds: Sequence[int], datasets: Sequence[str], budget: Budget,
                   out: str | Path, device: str = "auto", data_root: str | Path | None = None,
                   progress: bool | None = None, argv: Sequence[str] = (), jobs: int = 1) -> dict:
    """Run (or finish) the whole grid and write results.json and the figures; returns the results.

    ``jobs > 1`` trains that many runs at once in separate processes (sharing one GPU, or the CPU cores).
    """
    out = Path(out)
    dev = resolve_device(device)
    meta = _meta(budget, datasets, dev, data_root, argv)
    print(f"ganlib compare: budget {budget.name} ({budget.image_steps} image / {budget.toy_steps} toy generator "
          f"steps, batch {budget.batch_size} / {budget.toy_batch_size}), losses {', '.join(losses)}, seeds {list(seeds)}, device {dev}",
          flush=True)
    for d, text in meta["data"].items():
        print(f"ganlib compare: data {text}", flush=True)
    results: dict = {"meta": meta, "datasets": {}}
    start = time.perf_counter()
    jobs_list = [(loss, seed, dataset, budget, out, str(dev.type), data_root, progress)
                 for dataset in datasets for loss in losses for seed in seeds]
    all_records = _run_all(jobs_list, jobs)
    for dataset in datasets:
        records = [r for r in all_records if r["dataset"] == dataset]
        names = (IMAGE_METRICS if dataset in IMAGE_DATASETS else TOY_METRICS) + RUN_METRICS
        results["datasets"][dataset] = {"steps": _steps_for(budget, dataset), "runs": records,
                                        "summary": summarise(records, names)}
    results["meta"]["jobs"] = jobs
    # finished runs are read back, so the runs may have been trained elsewhere: say where
    results["meta"]["run_devices"] = sorted({r["device"] for r in all_records if "device" in r})
    results["meta"]["total_wall_s"] = time.perf_counter() - start
    save_json(results, out / RESULTS)
    from .report import write_figures

    write_figures(results, out)
    print(f"ganlib compare: wrote {out / RESULTS} and figures in {time.perf_counter() - start:.0f} s", flush=True)
    return results


def load_results(out: str | Path) -> dict:
    """Read a comparison's results.json (clear error if it is missing or not ours)."""
    path = Path(out) / RESULTS
    if not path.is_file():
        raise GanlibError(f"no {RESULTS} in {out}; run `python -m ganlib compare --out {out}` first")
    try:
        res = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GanlibError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not {"meta", "datasets"} <= set(res):
        raise GanlibError(f"{path} is not a ganlib comparison (no meta/datasets)")
    return res


def add_parser(sub) -> None:
    from .cli import positive_int

    p = sub.add_parser("compare", help="train every loss × seed and write results.json and figures",
                       description="Compare losses with the same networks and generator steps; resumable.")
    p.add_argument("--losses", default="all", help=f"comma list or 'all' ({', '.join(LOSS_NAMES)})")
    p.add_argument("--seeds", default=None, help="comma list of seeds (default: the budget's)")
    p.add_argument("--dataset", default="mnist,ring",
                   help=f"comma list of datasets ({', '.join(DATASETS)}; default mnist,ring)")
    p.add_argument("--budget", default=None, help="smoke, book or full (default: GANLIB_BUDGET, else book)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (resumes what is there)")
    p.add_argument("--jobs", type=positive_int, default=1, help="runs trained at once, in separate processes (default 1)")
    p.add_argument("--progress", action="store_true", help="progress bars even when not on a terminal")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> None:
    from .cli import choice_list

    budget = get_budget(args.budget)
    losses = choice_list(args.losses, LOSS_NAMES, "loss")
    datasets = choice_list(args.dataset, DATASETS, "dataset")
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else list(budget.seeds)
    except ValueError:
        raise GanlibError(f"--seeds must be a comma list of non-negative integers, got {args.seeds!r}") from None
    if any(s < 0 for s in seeds):
        raise GanlibError(f"--seeds must be non-negative, got {seeds}")
    run_comparison(losses, seeds, datasets, budget, args.out, args.device, progress=args.progress or None,
                   argv=sys.argv[1:], jobs=args.jobs)
