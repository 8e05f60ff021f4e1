"""``train``: the training loop, with its signals, progress bar, snapshots and checkpoints.

Per generator step: ``n_critic`` critic steps (each on a fresh real batch and fresh noise, then
weight clipping for ``wgan``), then one generator step on fresh noise (``ganlib.step``). Losses are
written into a device buffer and read back only every ``check_every`` steps (one host-device sync),
where the NaN/Inf guard runs; the hot loop never calls ``.item()``.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import torch

from . import checkpoint as ckpt
from .checkpoint import check_finite_weights, restore, save_run, write_outputs
from .config import TrainConfig
from .data import make_sampler, to_uint8
from .devices import resolve_device
from .errors import GanlibError, TrainingDiverged, TrainingInterrupted
from .files import lock_folder, remove_leftovers
from .language import tr
from .step import LOSS_LIMIT, Optimisers, TrainResult, TrainStep, new_run

# With an output folder, a checkpoint is written at the start, every this many seconds of wall-clock time
# and at the end (``checkpoint_every`` adds checkpoints every N steps): a SIGKILL costs at most ~a minute.
CHECKPOINT_SECONDS = 60.0


def _progress_bar(cfg: TrainConfig, start: int, progress: bool | None):
    show = sys.stderr.isatty() if progress is None else progress
    if not show:  # tqdm.auto warns inside a notebook without ipywidgets, even for a bar it never draws
        from tqdm import tqdm as plain

        return plain(total=cfg.steps, initial=start, disable=True)
    from tqdm.auto import tqdm

    return tqdm(total=cfg.steps, initial=start, desc=cfg.loss, leave=False)


def _take_snapshot(result: TrainResult) -> None:
    out = result.generate(result.fixed_noise)
    result.snapshots[result.step] = to_uint8(out) if result.config.spec.is_image else out


def train(cfg: TrainConfig, out_dir: str | Path | None = None, resume: bool = False,
          progress: bool | None = None, evaluate: Callable[[TrainResult], dict] | None = None,
          data_root: str | Path | None = None, verbose: bool = True,
          checkpoint_seconds: float = CHECKPOINT_SECONDS) -> TrainResult:
    """Train ``cfg``; with ``out_dir`` write checkpoint.pt, history.json and samples.png there.

    ``resume=True`` continues from ``out_dir/checkpoint.pt`` (the same config, ``steps`` may grow).
    ``evaluate(result)`` runs at every snapshot step and must return a dict, kept in ``result.evals``.
    With ``out_dir``, the folder is locked for this process (a second writer is refused), a checkpoint is
    written at the start (a folder that cannot take one fails before any training), every
    ``checkpoint_seconds`` and at the end. SIGINT and SIGTERM stop at the next step boundary, save a
    checkpoint and raise ``TrainingInterrupted``.
    """
    if not checkpoint_seconds > 0:
        raise GanlibError(f"checkpoint_seconds must be positive, got {checkpoint_seconds}")
    if evaluate is not None and not callable(evaluate):
        raise GanlibError(f"evaluate must be a function of the run that returns a dict, got {evaluate!r}")
    device = resolve_device(cfg.device)
    out = Path(out_dir) if out_dir is not None else None
    with ExitStack() as stack:
        if out is not None:
            stack.enter_context(lock_folder(out))  # one writer per run folder; proves it writable
            removed = remove_leftovers(out)
            if removed and verbose:
                print(f"ganlib train: removed {len(removed)} unfinished temporary file(s) left in {out} by a "
                      f"killed writer", file=sys.stderr)
        loaded = ckpt.prepare_out_dir(out, cfg.to_dict(), resume, verbose)
        stop = stack.enter_context(_deferred_signals())
        result, opt, gen = new_run(cfg, device)
        if loaded is not None:
            restore(loaded, out / ckpt.CHECKPOINT, result, opt, gen)
        sampler = make_sampler(cfg.dataset, device, data_root, verbose)
        recipe = cfg.recipe()
        threads = 1 if device.type == "cpu" and cfg.spec.is_toy else torch.get_num_threads()
        if verbose:
            print(tr("ganlib train: loss {loss} on {dataset}, {arch} nets, steps {start}->{steps}, batch {batch}, "
                     "n_critic {n_critic}, {optimizer} lr {lr:g}, seed {seed}, device {device}", loss=cfg.loss,
                     dataset=cfg.dataset, arch=cfg.resolved_arch(), start=result.step, steps=cfg.steps,
                     batch=cfg.batch_size, n_critic=recipe.n_critic, optimizer=recipe.optimizer, lr=recipe.lr,
                     seed=cfg.seed, device=device)
                  + (_threads(threads) if device.type == "cpu" else "") + _aids(cfg))
        with _cpu_threads(threads):
            _run_loop(result, opt, sampler, gen, out, progress, evaluate, stop, checkpoint_seconds)
        if result.step < cfg.steps:  # only a signal ends the loop early; its checkpoint is written
            raise TrainingInterrupted(_interrupted_message(stop, result, out), stop.signum or signal.SIGINT)
        check_finite_weights(result, out)
        if out is not None:
            write_outputs(result, opt, gen, out)
    return result


def _threads(n: int) -> str:
    """The CPU threads, for the start line."""
    return tr(" ({n} threads)", n=n) if n > 1 else tr(" (1 thread)")


def _aids(cfg: TrainConfig) -> str:
    """The aids besides the loss that are on, by their TrainConfig names, for the start line (nothing when all are
    off)."""
    aids = {"d_lr": cfg.d_lr, "r1_gamma": cfg.r1_gamma, "instance_noise": cfg.instance_noise, "ema": cfg.ema}
    return "".join(f", {name} {value:g}" for name, value in aids.items() if value)


@contextmanager
def _cpu_threads(n: int) -> Iterator[None]:
    """Use n intra-op threads, then restore: the 2-D toys' tiny matrices run ~10x faster on one thread
    than on two, where thread hand-offs cost more than the arithmetic."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_loop(result: TrainResult, opt: Optimisers, sampler, gen: torch.Generator, out: Path | None,
              progress: bool | None, evaluate: Callable[[TrainResult], dict] | None, stop: _StopFlag,
              checkpoint_seconds: float) -> None:
    """Train until ``cfg.steps`` or a stop signal; with ``out``, checkpoint at the start, every
    ``checkpoint_seconds``, every ``checkpoint_every`` steps and when a signal stops it early (the last
    step's checkpoint is written by ``train`` with the final outputs)."""
    cfg = result.config
    step_fn = TrainStep(result, opt, sampler, gen)
    stops = set(cfg.snapshot_steps) | {cfg.steps}
    if result.step == 0 and 0 in stops and 0 not in result.snapshots:  # resumed from the start checkpoint: kept
        _keep_snapshot(result, out, evaluate)
    if out is not None and result.step < cfg.steps:  # a finished run's checkpoint is written by train's end
        save_run(result, opt, gen, out)  # fail fast: a folder that cannot take a checkpoint fails before training
    saved_step = result.step
    buf = torch.zeros((cfg.check_every, 3), device=result.device)
    times: list[float] = []
    t0, elapsed0 = time.perf_counter(), result.elapsed
    c0, cpu0 = time.process_time(), result.cpu_elapsed
    last_save = t0
    bar = _progress_bar(cfg, result.step, progress)
    try:
        while result.step < cfg.steps and stop.signum is None:
            buf[len(times)] = step_fn()  # a device-side copy: no sync
            result.step += 1
            now = time.perf_counter()
            times.append(elapsed0 + now - t0)
            bar.update(1)
            save_now = out is not None and result.step < cfg.steps and (
                now - last_save >= checkpoint_seconds
                or bool(cfg.checkpoint_every and result.step % cfg.checkpoint_every == 0))
            if len(times) == cfg.check_every or result.step in stops or save_now:
                _flush(result, buf, times, out)  # syncs once; raises if a loss went non-finite or exploded
                result.elapsed = elapsed0 + time.perf_counter() - t0  # after the sync: true device time
                result.cpu_elapsed = cpu0 + time.process_time() - c0
                times = []
                bar.set_postfix(d=f"{result.history['d_loss'][-1]:.3f}", g=f"{result.history['g_loss'][-1]:.3f}")
                # snapshots, evaluations and checkpoints are not training time
                paused, cpu_paused = time.perf_counter(), time.process_time()
                if result.step in stops:
                    _keep_snapshot(result, out, evaluate)
                if save_now:
                    save_run(result, opt, gen, out)
                    saved_step, last_save = result.step, time.perf_counter()
                t0 += time.perf_counter() - paused
                c0 += time.process_time() - cpu_paused
        if times:  # a signal stopped the loop between flushes
            _flush(result, buf, times, out)
            result.elapsed = elapsed0 + time.perf_counter() - t0
            result.cpu_elapsed = cpu0 + time.process_time() - c0
        if out is not None and result.step < cfg.steps and result.step != saved_step:
            save_run(result, opt, gen, out)  # stopped by a signal: keep every step trained
    finally:
        bar.close()


def _keep_snapshot(result: TrainResult, out: Path | None, evaluate: Callable[[TrainResult], dict] | None) -> None:
    check_finite_weights(result, out)  # never show or score a diverged generator
    _take_snapshot(result)
    if evaluate is not None:
        values = evaluate(result)
        if not isinstance(values, Mapping):
            raise GanlibError(f"evaluate must return a dict of values, got {type(values).__name__} at step "
                              f"{result.step}; {ckpt.describe_kept(out)}")
        result.evals.append({"step": result.step, **values})



def _flush(result: TrainResult, buf: torch.Tensor, times: list[float], out: Path | None) -> None:
    """Copy the buffered losses to the host history; stop with a clear message on NaN/Inf or on a loss
    past ``LOSS_LIMIT``."""
    n = len(times)
    values = buf[:n].tolist()
    first_step = result.step - n + 1
    for i, (d, g, gp) in enumerate(values):
        if not all(abs(v) <= LOSS_LIMIT for v in (d, g, gp)):  # NaN compares false
            bad_d = not (abs(d) <= LOSS_LIMIT and abs(gp) <= LOSS_LIMIT)
            value = max((d, gp) if bad_d else (g,), key=lambda v: abs(v) if math.isfinite(v) else math.inf)
            what = "non-finite" if not math.isfinite(value) else f"exploded ({value:.3g}, past ±{LOSS_LIMIT:g})"
            raise TrainingDiverged(f"loss {result.config.loss!r} diverged: {what} "
                                   f"{'discriminator' if bad_d else 'generator'} loss at step {first_step + i}; "
                                   f"{ckpt.describe_kept(out)}")
    h = result.history
    for i, (d, g, gp) in enumerate(values):
        h["step"].append(first_step + i)
        h["d_loss"].append(d)
        h["g_loss"].append(g)
        h["gp"].append(gp)
        h["time"].append(times[i])


class _StopFlag:
    """Set by the SIGINT/SIGTERM handler; the loop reads it at step boundaries (a Python read, no sync)."""

    signum: int | None = None


@contextmanager
def _deferred_signals() -> Iterator[_StopFlag]:
    """While training, SIGINT and SIGTERM only set a flag, so the loop can stop at a step boundary with
    a checkpoint; the previous handlers come back afterwards. Signals can be handled only in the main
    thread: elsewhere (a worker thread) they keep their usual effect."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame) -> None:
        flag.signum = signum

    before = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def _interrupted_message(stop: _StopFlag, result: TrainResult, out: Path | None) -> str:
    name = signal.Signals(stop.signum).name if stop.signum else "a signal"
    head = f"training interrupted by {name} at step {result.step} of {result.config.steps}"
    if out is None:
        return f"{head}; nothing was saved (no output folder)"
    return f"{head}; checkpoint saved at {out / ckpt.CHECKPOINT} (step {result.step}); continue with --resume"
