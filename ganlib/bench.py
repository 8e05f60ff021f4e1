"""``python -m ganlib bench``: training throughput, side by side, in one process on one device.

Three ways to train the same networks (same initial weights, batch, recipe and device) are timed per loss:

- ``tutorial``: the loop as the PyTorch DCGAN example writes it, kept here for comparison only: a
  ``DataLoader`` over the dataset (one item per ``__getitem__``, converted like ``ToTensor()`` then
  ``Normalize((0.5,), (0.5,))``, shuffled, collated on the host by ``TUTORIAL_WORKERS`` worker
  processes and copied to the device every step),
  eager updates with ``zero_grad()`` (set to None), the generator update back-propagating through D's
  weights too, noise from the global random state, ``.item()`` of both losses every step, and torch's own
  layers (``stock_layers``: the generator's last layer runs on torch's default CPU kernel, not on
  ganlib's ``AtenConvTranspose2d``; the weights are the same, the outputs equal up to float rounding). It runs
  ganlib's algorithm (the loss's recipe, fresh noise for the generator update), so the ratio measures
  the implementation, not a change of algorithm;
- ``eager``: ganlib's ``TrainStep`` (data resident on the device, D frozen for the generator update,
  no host sync, ``AtenConvTranspose2d`` on the CPU);
- ``graph``: the same step captured as one CUDA graph and replayed (CUDA only).

Timing: every variant first takes ``WARMUP`` untimed steps (the graph is captured during them), then the
timed steps run in ``rounds`` rounds that alternate between the variants, so that a load change on a
shared machine hits all of them alike; each figure is the median over rounds. A step is one generator
step with its critic steps; images/s = batch size × generator steps / s. The device is synchronised
before and after each round, so queued GPU work is counted.

FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` counts the matrix multiplications and convolutions
(forward and backward) of one step of each variant; elementwise work and the optimiser updates are not
counted, so the achieved TFLOP/s is a lower bound. The tutorial counts its own step (it differs a little).

``--grid`` measures the comparison grid instead: losses × seeds runs, all at once (each in its own
process, ganlib's step) against the same runs one after another with the tutorial loop.

``--layouts`` measures how a CPU is best shared by a grid of runs: for each layout P×T (P processes of T
threads each; the runs dealt out to the processes in turn, each process training its runs one after
another, as ``compare --jobs P`` does), the grid's generator steps per second of wall time, in
alternating rounds (medians), and each layout's ratio to one process with every thread.
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import queue as queues
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from .cli_args import choice_list, nonnegative_int, positive_int
from .config import TrainConfig
from .data import ToySampler, gan_training_images, make_sampler, toy_mixture
from .datasets import DATASETS, dataset_spec
from .devices import resolve_device
from .errors import GanlibError, check_choice, first_line
from .files import save_json
from .losses import LOSS_NAMES, gradient_penalty
from .models import STOCK_LAYERS
from .step import TrainStep, new_run

VARIANTS: tuple[str, ...] = ("tutorial", "eager", "graph")
WARMUP = TrainStep.WARMUP + 2  # untimed steps per variant: the graph's warm-up, its capture, one replay
TUTORIAL_WORKERS = 2  # the DCGAN example's default --workers
TOY_POINTS = 60_000  # a toy "dataset" for the tutorial's DataLoader: as many points as MNIST has images


def default_steps(device: torch.device) -> int:
    """Timed generator steps per variant and loss: a GPU step takes milliseconds, a CPU step ~0.1 s."""
    return 300 if device.type == "cuda" else 20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _TutorialImages(Dataset):
    """A tutorial's image Dataset: one uint8 image per item, converted to a (1, 28, 28) float in [−1, 1]
    the way ``ToTensor()`` (u / 255) followed by ``Normalize((0.5,), (0.5,))`` ((x − 0.5) / 0.5) does."""

    def __init__(self, images_u8: torch.Tensor) -> None:
        self.images = images_u8

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i].unsqueeze(0).float().div(255).sub(0.5).div(0.5), 0


def tutorial_dataset(dataset: str, data_root) -> Dataset:
    """The tutorial loop's Dataset: the images one by one, or for a toy 60,000 points drawn once."""
    if dataset_spec(dataset).is_toy:
        points = ToySampler(toy_mixture(dataset), torch.device("cpu")).sample(
            TOY_POINTS, torch.Generator().manual_seed(0))
        return TensorDataset(points, torch.zeros(TOY_POINTS))
    return _TutorialImages(gan_training_images(dataset, data_root, verbose=False).images)


def stock_layers(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` as a tutorial builds it, from torch's own layers: each of ganlib's layers in
    ``STOCK_LAYERS`` becomes the torch layer it extends (the same weights, torch's default CPU kernels)."""
    net = copy.deepcopy(net)
    for m in net.modules():
        if type(m) in STOCK_LAYERS:
            m.__class__ = STOCK_LAYERS[type(m)]  # the subclasses add no state: the copy is a valid parent
    return net


class TutorialLoop:
    """One generator step of the tutorial-style loop per call (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, device: torch.device, data: Dataset, workers: int) -> None:
        result, _, _ = new_run(cfg, device)  # the same networks and initial weights as ganlib's run
        self.G, self.D = stock_layers(result.generator), stock_layers(result.discriminator)
        self.device, self.cfg = device, cfg
        self.loss, self.recipe = cfg.loss_fn, cfg.recipe()
        self.opt_g, self.opt_d = self._optimiser(self.G), self._optimiser(self.D)
        # persistent workers: the offline MNIST holds 10,000 images, not the 60,000 a tutorial trains on,
        # so its epochs end six times as often; restarting the workers each time would be charged to it
        self.loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                                 drop_last=True, persistent_workers=workers > 0)
        self.batches = iter(self.loader)
        self.losses: list[tuple[float, float]] = []

    def _optimiser(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        if self.recipe.optimizer == "rmsprop":
            return torch.optim.RMSprop(net.parameters(), lr=self.recipe.lr)
        return torch.optim.Adam(net.parameters(), lr=self.recipe.lr, betas=self.recipe.betas)

    def _real(self) -> torch.Tensor:
        try:
            x, _ = next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.loader)
            x, _ = next(self.batches)
        return x.to(self.device)

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.cfg.batch_size, self.cfg.resolved_z_dim(), device=self.device)

    def __call__(self) -> None:
        for _ in range(self.recipe.n_critic):
            real = self._real()
            self.D.zero_grad()
            fake = self.G(self._noise())
            loss_d = self.loss.d_loss(self.D(real), self.D(fake.detach()))
            if self.recipe.gp_lambda:
                loss_d = loss_d + self.recipe.gp_lambda * gradient_penalty(self.D, real, fake)
            loss_d.backward()
            self.opt_d.step()
            if self.recipe.clip:
                for p in self.D.parameters():
                    p.data.clamp_(-self.recipe.clip, self.recipe.clip)
        self.G.zero_grad()
        loss_g = self.loss.g_loss(self.D(self.G(self._noise())))
        loss_g.backward()
        self.opt_g.step()
        self.losses.append((loss_d.item(), loss_g.item()))


def _ganlib_step(cfg: TrainConfig, device: torch.device, data_root) -> Callable[[], None]:
    """ganlib's step as the training loop calls it: the losses copied into a device buffer, no sync."""
    result, opt, gen = new_run(cfg, device)
    step = TrainStep(result, opt, make_sampler(cfg.dataset, device, data_root, verbose=False), gen)
    buf = torch.zeros(3, device=device)
    return lambda: buf.copy_(step())


def _make_runner(variant: str, cfg: TrainConfig, device: torch.device, data_root, workers: int,
                 tutorial_data: Dataset | None) -> Callable[[], object]:
    if variant == "tutorial":
        return TutorialLoop(cfg, device, tutorial_data, workers)
    graph_cfg = TrainConfig(**{**cfg.to_dict(), "cuda_graph": variant == "graph"})
    return _ganlib_step(graph_cfg, device, data_root)


def _timed(run: Callable[[], object], steps: int, device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        run()
    _sync(device)
    return time.perf_counter() - t0


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: bench needs the total only, and torch's tracker
    cannot follow ``autograd.grad`` on a leaf input (WGAN-GP's penalty raises inside it)."""

    parents = {"Global"}

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc) -> None:
        return None


def counted_flops(run: Callable[[], object]) -> int:
    """Matrix-multiply and convolution FLOPs (forward and backward) of one call of ``run``."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        run()
    return counter.get_total_flops()


def check_variants(variants: list[str], device: torch.device) -> None:
    for v in variants:
        check_choice("variant", v, VARIANTS)
    if "graph" in variants and device.type != "cuda":
        raise GanlibError(f"variant 'graph' needs a CUDA device, but the device is {device.type!r}; "
                          f"choose variants tutorial,eager or device cuda")


def compare_variants(loss: str, variants: list[str], dataset: str = "mnist", batch_size: int = 64,
                     device: str = "auto", steps: int | None = None, rounds: int = 5,
                     workers: int = TUTORIAL_WORKERS, data_root=None) -> list[dict]:
    """Time ``variants`` of one loss's training step side by side; one result dict per variant."""
    dev = resolve_device(device)
    check_variants(variants, dev)
    steps = steps or default_steps(dev)
    per_round = max(1, steps // rounds)
    cfg = TrainConfig(loss=loss, dataset=dataset, batch_size=batch_size, device=device)
    tutorial_data = tutorial_dataset(dataset, data_root) if "tutorial" in variants else None
    runners = {v: _make_runner(v, cfg, dev, data_root, workers, tutorial_data) for v in variants}
    flops = {}
    for v, run in runners.items():
        flops[v] = counted_flops(run)  # the first warm-up step (eager, also for the graph variant)
        for _ in range(WARMUP - 1):
            run()
    seconds: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(rounds):
        for v, run in runners.items():
            seconds[v].append(_timed(run, per_round, dev) / per_round)
    base = statistics.median(seconds["tutorial"]) if "tutorial" in seconds else None
    results = []
    for v in variants:
        s = statistics.median(seconds[v])
        results.append({"loss": loss, "variant": v, "images_per_s": batch_size / s, "ms_per_step": 1000 * s,
                        "ratio_to_tutorial": base / s if base else None, "gflop_per_step": flops[v] / 1e9,
                        "tflop_per_s": flops[v] / s / 1e12, "ms_per_step_rounds": [1000 * x for x in seconds[v]],
                        "timed_steps": per_round * rounds})
    return results


def _timed_worker(spec: dict, barrier, queue) -> None:
    """One process of a grid: set up its runs (``spec["runs"]``, (loss, seed) pairs), wait for every process
    of the grid, then time ``steps`` steps of each run in turn (wall clock, comparable across processes)."""
    try:
        torch.set_num_threads(spec["threads"])
        dev = resolve_device(spec["device"])
        runs = [_ganlib_step(TrainConfig(loss=loss, dataset=spec["dataset"], batch_size=spec["batch_size"],
                                         seed=seed, device=spec["device"], cuda_graph=spec["graph"]),
                             dev, spec["data_root"])
                for loss, seed in spec["runs"]]
        for run in runs:
            for _ in range(WARMUP):
                run()
        _sync(dev)
    except Exception as exc:  # report it to the parent, and release the others from the barrier
        barrier.abort()
        names = ", ".join(f"{loss} seed {seed}" for loss, seed in spec["runs"])
        queue.put({"error": f"{names}: {first_line(exc)}"})
        return
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        queue.put({"error": "another process of the grid failed"})
        return
    start = time.time()
    for run in runs:
        for _ in range(spec["steps"]):
            run()
    _sync(dev)
    queue.put({"start": start, "end": time.time(), "steps": spec["steps"] * len(runs)})


def _timed_processes(specs: list[dict]) -> tuple[list[dict], float]:
    """One ``_timed_worker`` process per spec, timed from one barrier: their reports, and the wall seconds
    from the first start to the last report (start-up included); a failed run is a one-line GanlibError."""
    ctx = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
    barrier, queue = ctx.Barrier(len(specs)), ctx.Queue()
    t0 = time.time()
    procs = [ctx.Process(target=_timed_worker, args=(spec, barrier, queue)) for spec in specs]
    for p in procs:
        p.start()
    reports = _collect(queue, procs)
    wall = time.time() - t0
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise GanlibError(f"a grid run failed: {errors[0]}")
    return reports, wall


def grid_throughput(losses: list[str], seeds: int, steps: int, dataset: str = "mnist", batch_size: int = 64,
                    device: str = "auto", variant: str | None = None, workers: int = TUTORIAL_WORKERS,
                    data_root=None) -> dict:
    """Aggregate images/s of losses × seeds runs trained all at once, one process each, with ganlib's
    step (``variant`` graph or eager; graph on CUDA by default), against the same runs trained one after
    another with the tutorial loop in this process. Set-up and warm-up are not timed in either."""
    dev = resolve_device(device)
    variant = variant or ("graph" if dev.type == "cuda" else "eager")
    check_variants([variant], dev)
    if variant == "tutorial":
        raise GanlibError("the grid runs ganlib's step at once; choose variant eager or graph")
    runs = [(loss, seed) for loss in losses for seed in range(seeds)]
    tutorial_s = 0.0
    data = tutorial_dataset(dataset, data_root)
    for loss, seed in runs:
        cfg = TrainConfig(loss=loss, dataset=dataset, batch_size=batch_size, seed=seed, device=device)
        loop = TutorialLoop(cfg, dev, data, workers)
        for _ in range(WARMUP):
            loop()
        tutorial_s += _timed(loop, steps, dev)
    threads = max(1, (os.cpu_count() or 1) // len(runs))
    specs = [dict(runs=[run], dataset=dataset, batch_size=batch_size, device=device, steps=steps,
                  graph=variant == "graph", threads=threads, data_root=data_root) for run in runs]
    reports, wall = _timed_processes(specs)
    span = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    images = len(runs) * steps * batch_size
    return {"runs": len(runs), "losses": losses, "seeds": seeds, "steps_per_run": steps, "variant": variant,
            "threads_per_run": threads if dev.type == "cpu" else None,
            "at_once_images_per_s": images / span, "at_once_s": span, "at_once_wall_s_with_startup": wall,
            "tutorial_sequential_images_per_s": images / tutorial_s, "tutorial_sequential_s": tutorial_s,
            "ratio": tutorial_s / span}


def _layout_once(runs: list[tuple[str, int]], processes: int, threads: int, steps: int, dataset: str,
                 batch_size: int, data_root) -> float:
    """Generator steps per wall second of ``runs`` shared out to ``processes`` processes of ``threads`` threads."""
    specs = [dict(runs=runs[i::processes], threads=threads, steps=steps, dataset=dataset, batch_size=batch_size,
                  device="cpu", graph=False, data_root=data_root) for i in range(processes)]
    reports, _ = _timed_processes(specs)
    return sum(r["steps"] for r in reports) / (max(r["end"] for r in reports) - min(r["start"] for r in reports))


def layout_throughput(losses: list[str], steps: int, layouts: list[tuple[int, int]], dataset: str = "mnist",
                      batch_size: int = 64, rounds: int = 3, data_root=None) -> dict:
    """The grid throughput (generator steps per wall second, all runs together) of each CPU process layout
    (processes, threads), measured in ``rounds`` alternating rounds; medians, and each layout's ratio to the
    first one."""
    runs = [(loss, 0) for loss in losses]
    rates: dict[tuple[int, int], list[float]] = {layout: [] for layout in layouts}
    for _ in range(rounds):
        for layout in layouts:
            rates[layout].append(_layout_once(runs, *layout, steps, dataset, batch_size, data_root))
    base = statistics.median(rates[layouts[0]])
    return {"runs": len(runs), "losses": losses, "steps_per_run": steps, "rounds": rounds,
            "layouts": [{"processes": p, "threads": t, "steps_per_s": statistics.median(rates[(p, t)]),
                         "steps_per_s_rounds": rates[(p, t)],
                         "ratio_to_first": statistics.median(rates[(p, t)]) / base} for p, t in layouts]}


def _collect(queue, procs: list) -> list[dict]:
    """One report per process; a process that died without one (a crash) is reported, not waited for."""
    reports: list[dict] = []
    while len(reports) < len(procs):
        try:
            reports.append(queue.get(timeout=1.0))
        except queues.Empty:
            dead = [p for p in procs if not p.is_alive() and p.exitcode != 0]
            if dead and queue.empty():
                for p in procs:
                    p.kill()
                reports.append({"error": f"a run's process exited with code {dead[0].exitcode} and no report"})
                break
    for p in procs:
        p.join()
    return reports


def add_parser(sub) -> None:
    # the description is written out, not read from __doc__, which ``python -OO`` removes
    p = sub.add_parser("bench", help="training throughput: tutorial loop vs ganlib eager vs CUDA graph",
                       description="Training throughput, side by side, in one process on one device: the "
                                   "tutorial loop, ganlib's eager step and its CUDA graph. See ganlib/bench.py "
                                   "for the method.")
    p.add_argument("--losses", default="all", help="comma list or 'all'")
    p.add_argument("--variants", default="all",
                   help="comma list of tutorial, eager, graph, or 'all' (graph only where CUDA is)")
    p.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)} (default mnist)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="timed generator steps per variant, or per run with --grid (default 20 on the CPU, "
                        "300 on CUDA)")
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds the timed steps alternate in (default 5)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images per step (default 64)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--workers", type=nonnegative_int, default=TUTORIAL_WORKERS,
                   help=f"DataLoader workers of the tutorial loop (default {TUTORIAL_WORKERS}, as the DCGAN example)")
    p.add_argument("--grid", action="store_true",
                   help="measure the grid instead: losses x seeds runs at once vs one by one with the tutorial")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per loss in --grid (default 3)")
    p.add_argument("--layouts", default=None, metavar="PxT,...",
                   help="CPU only: compare process layouts, e.g. 1x2,2x1 (P processes of T threads, the first one "
                        "the baseline); each process trains its share of the runs one after another")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE (atomically)")
    p.set_defaults(func=_cmd)


def _json_target(path: str | None) -> Path | None:
    """Check the JSON target before measuring, so a bad path fails at once, not after minutes."""
    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        raise GanlibError(f"--json {path} is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlibError(f"cannot write --json {path}: {first_line(exc)}") from None
    return target


def _device_name(dev: torch.device) -> str:
    return f"cuda ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else dev.type


def _cmd(args: argparse.Namespace) -> None:

    layouts = _parse_layouts(args.layouts) if args.layouts is not None else None  # before any output
    losses = choice_list(args.losses, LOSS_NAMES, "loss")
    check_choice("dataset", args.dataset, DATASETS)
    dev = resolve_device(args.device)
    target = _json_target(args.json)
    variants = choice_list(args.variants, VARIANTS, "variant")
    if args.variants == "all" and dev.type != "cuda":
        variants.remove("graph")
        print(f"ganlib bench: variant graph needs CUDA; not measured on {dev.type}", file=sys.stderr)
    check_variants(variants, dev)
    steps = args.steps or default_steps(dev)
    how = (f"{steps} timed steps per run" if args.grid else
           f"{steps} timed steps per variant in {args.rounds} alternating rounds, medians")
    print(f"ganlib bench: {args.dataset}, batch {args.batch_size}, device {_device_name(dev)}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} CPU threads; {how}", file=sys.stderr)
    report = {"device": _device_name(dev), "torch": torch.__version__,
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "dataset": args.dataset,
              "batch_size": args.batch_size, "cpu_threads": torch.get_num_threads(), "results": []}
    if layouts is not None:
        _layouts(args, losses, steps, layouts, report)
    elif args.grid:
        _grid(args, losses, "graph" if "graph" in variants else "eager", steps, report)
    else:
        _side_by_side(args, losses, variants, steps, report, target)
    if target is not None:
        save_json(report, target)
        print(f"ganlib bench: wrote {target}", file=sys.stderr)


def _side_by_side(args: argparse.Namespace, losses: list[str], variants: list[str], steps: int, report: dict,
                  target: Path | None) -> None:
    """Measure and print every loss's variants; the JSON is rewritten after each loss, so that a run cut
    short (a time limit) keeps what it measured."""
    print(f"{'loss':14s} {'variant':9s} {'ms/step':>9s} {'images/s':>10s} {'x tutorial':>10s} {'TFLOP/s':>8s}")
    for loss in losses:
        for r in compare_variants(loss, variants, args.dataset, args.batch_size, args.device, steps,
                                  args.rounds, args.workers):
            ratio = f"{r['ratio_to_tutorial']:.2f}" if r["ratio_to_tutorial"] else "-"
            print(f"{loss:14s} {r['variant']:9s} {r['ms_per_step']:9.2f} {r['images_per_s']:10,.0f} "
                  f"{ratio:>10s} {r['tflop_per_s']:8.3f}", flush=True)
            report["results"].append(r)
        if target is not None:
            save_json(report, target)


def _parse_layouts(text: str) -> list[tuple[int, int]]:
    try:
        layouts = [tuple(int(v) for v in item.split("x")) for item in text.split(",")]
    except ValueError:
        layouts = []
    if not layouts or any(len(lay) != 2 or min(lay) < 1 for lay in layouts):
        raise GanlibError(f"--layouts must be a comma list of PxT with positive P and T (e.g. 1x2,2x1), got {text!r}")
    return layouts  # type: ignore[return-value]


def _layouts(args: argparse.Namespace, losses: list[str], steps: int, layouts: list[tuple[int, int]],
             report: dict) -> None:
    if resolve_device(args.device).type != "cpu":
        raise GanlibError("--layouts shares a CPU between processes; use --device cpu")
    report["layouts"] = g = layout_throughput(losses, steps, layouts, args.dataset, args.batch_size, args.rounds)
    for lay in g["layouts"]:
        print(f"{lay['processes']} process(es) x {lay['threads']} thread(s): {lay['steps_per_s']:.2f} generator "
              f"steps/s for the {g['runs']} runs together, {lay['ratio_to_first']:.2f}x the first layout")


def _grid(args: argparse.Namespace, losses: list[str], variant: str, steps: int, report: dict) -> None:
    report["grid"] = g = grid_throughput(losses, args.seeds, steps, args.dataset, args.batch_size, args.device,
                                         variant, args.workers)
    print(f"grid: {g['runs']} runs x {steps} steps; at once ({g['variant']}, one process each) "
          f"{g['at_once_images_per_s']:,.0f} images/s; one by one with the tutorial loop "
          f"{g['tutorial_sequential_images_per_s']:,.0f} images/s; ratio {g['ratio']:.2f}", flush=True)
