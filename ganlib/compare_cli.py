"""``python -m ganlib compare``: the command line of the loss comparison (``ganlib.compare``), its pilot
and status reports, and the figures it draws (``ganlib.report``) once the runs are in."""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

import torch

from .budget import Budget, get_budget
from .cli_args import checked, choice_list, positive_int
from .compare import grid_status, pilot, run_comparison
from .compare_plan import Job, check_seeds, command_line, plan
from .compare_results import cpu_name
from .datasets import DATASETS
from .devices import check_device
from .errors import GanlibError
from .files import save_json
from .losses import LOSS_NAMES
from .protocols import PROTOCOLS
from .report import write_figures


def add_parser(sub) -> None:

    p = sub.add_parser("compare", help="train every loss × seed under both protocols; write results.json and figures",
                       description="Compare the losses under the paper and the controlled protocol (and a "
                                   "learning-rate sweep on MNIST); resumable, finished runs are never redone.")
    p.add_argument("--losses", default="all", help=f"comma list or 'all' ({', '.join(LOSS_NAMES)})")
    p.add_argument("--seeds", default=None, help="comma list of seeds, 0 to 2^63-1 (default: the budget's)")
    p.add_argument("--dataset", default="mnist,ring",
                   help=f"comma list of datasets ({', '.join(DATASETS)}; default mnist,ring)")
    p.add_argument("--protocols", default="all", help=f"comma list or 'all' ({', '.join(PROTOCOLS)})")
    p.add_argument("--no-sweep", action="store_true", help="leave out the learning-rate sweep on MNIST")
    p.add_argument("--no-norms", action="store_true", help="leave out the critic normalisations on MNIST")
    p.add_argument("--stop-at", default=None, metavar="TIME",
                   help="start no run that cannot end before TIME (HH:MM, the next such local time, or "
                        "YYYY-MM-DDTHH:MM); a run still going then saves and stops; the same command resumes")
    p.add_argument("--pilot", type=positive_int, default=None, metavar="STEPS",
                   help="train nothing to keep: time every kind of run of the grid for STEPS steps at --jobs "
                        "runs at once, print the grid's estimated hours and write them to --out's pilot.json")
    p.add_argument("--status", action="store_true",
                   help="train nothing: print the runs finished and left in --out and the hours left")
    p.add_argument("--budget", default=None, help="smoke, book or full (default: GANLIB_BUDGET, else book)")
    p.add_argument("--device", default="auto", type=checked(check_device),
                   help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (resumes what is there)")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="runs trained at once, in separate processes (default 1)")
    p.add_argument("--cuda-graph", action="store_true",
                   help="train each step as one CUDA graph (CUDA only; see benchmarks/gpu_check.sh)")
    p.add_argument("--progress", action="store_true", help="progress bars even when not on a terminal")
    p.set_defaults(func=_cmd_compare)


def _parse_seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise GanlibError(f"--seeds must be a comma list of integers from 0 to 2^63 - 1, got {text!r}") from None


def _cmd_compare(args) -> None:

    budget = get_budget(args.budget)
    losses = choice_list(args.losses, LOSS_NAMES, "loss")
    datasets = choice_list(args.dataset, DATASETS, "dataset")
    protocols = choice_list(args.protocols, PROTOCOLS, "protocol")
    seeds = _parse_seeds(args.seeds) if args.seeds else list(budget.seeds)
    grid = dict(protocols=protocols, sweep=not args.no_sweep, norms=not args.no_norms)
    if args.status:
        _print_status(grid_status(losses, seeds, datasets, budget, args.out, jobs=args.jobs, **grid))
        return
    if args.pilot:
        command = command_line(budget, losses, seeds, datasets, protocols, not args.no_sweep, args.device, args.jobs,
                               Path(args.out), norms=not args.no_norms) + f" --pilot {args.pilot}"
        _cmd_pilot(args, plan(losses, check_seeds(seeds), datasets, budget, **grid), budget, command)
        return
    stop_at = parse_stop_time(args.stop_at) if args.stop_at else None
    results = run_comparison(losses, seeds, datasets, budget, args.out, args.device, progress=args.progress or None,
                             jobs=args.jobs, cuda_graph=args.cuda_graph, stop_at=stop_at, **grid)
    write_figures(results, Path(args.out))
    print(f"ganlib compare: figures written in {args.out}", flush=True)


def _cmd_pilot(args, grid: list[Job], budget: Budget, command: str) -> None:
    result = pilot(grid, budget, args.jobs, args.pilot)
    result = {"command": command, "cpu": cpu_name(), "cpu_cores": os.cpu_count(), "torch": torch.__version__,
              "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **result}
    for kind, m in result["ms_per_step"].items():
        print(f"{kind:40s} {m['ms_per_step']:8.1f} ms per step")
    print(f"ganlib compare: pilot of {result['runs']} runs: about {result['estimated_hours']:.1f} hours at "
          f"{args.jobs} run{'s' * (args.jobs > 1)} at once ({result['one_process_hours']:.1f} one-process hours)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    save_json(result, Path(args.out) / "pilot.json")


def parse_stop_time(text: str, now: _dt.datetime | None = None) -> float:
    """``HH:MM`` (the next such local time) or ``YYYY-MM-DDTHH:MM`` (local) as ``time.time()`` seconds."""
    now = now or _dt.datetime.now()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", text):
            hour, minute = map(int, text.split(":"))
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            when += _dt.timedelta(days=1) if when <= now else _dt.timedelta()
        else:
            when = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise GanlibError(f"--stop-at must be HH:MM or YYYY-MM-DDTHH:MM, got {text!r}") from None
    if when <= now:
        raise GanlibError(f"--stop-at {text} is already past; give a later time")
    return when.timestamp()


def _print_status(st: dict) -> None:
    for name, row in st["experiments"].items():
        print(f"{name:32s} {row['finished']:4d} finished {row['left']:4d} left  {row['hours_left']:6.2f} h")
    print(f"ganlib compare: {st['finished']} runs finished, {st['left']} left, about {st['hours_left']:.2f} hours "
          f"left at {st['jobs']} run{'s' * (st['jobs'] > 1)} at once (seconds per step measured on "
          f"{st['measured_kinds']} kinds of finished run, the rest from ganlib.budget's table)")
