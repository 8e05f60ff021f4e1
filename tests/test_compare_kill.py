"""SIGKILL at random moments during a comparison (training, evaluation, markers, results.json, figures):
after the last kill one more invocation ends with complete results and figures, equal to an
uninterrupted run of the same grid (timings aside). SIGINT to a comparison with several workers stops it:
the running runs save their checkpoints and no queued run starts."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import random
import signal
import time
from pathlib import Path

from ganlib.budget import Budget
from ganlib.compare import run_comparison
from ganlib.compare_paths import DONE, RESULTS
from ganlib.errors import TrainingInterrupted

from test_compare import without_timing

RING = Budget("kill", image_steps=4, toy_steps=60, batch_size=32, toy_batch_size=64, seeds=(0,), eval_points=2)
GRID = (["nonsaturating", "wgan"], [0], ["ring"], RING)
TRIALS = 10
MAX_ROUNDS = 3


def _quiet_comparison(out: str) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    run_comparison(*GRID, out, device="cpu")


def test_comparison_survives_random_sigkills(tmp_path):
    t0 = time.perf_counter()
    reference = run_comparison(*GRID, tmp_path / "reference", device="cpu")
    uninterrupted = time.perf_counter() - t0
    rng = random.Random(0)
    killed_before_end, rounds = 0, 0
    # a busy machine can make one round's kills land late: then a new round, in a fresh folder, adds more
    while killed_before_end < TRIALS // 2 and rounds < MAX_ROUNDS:
        out = tmp_path / f"killed{rounds}"
        killed, codes, final = _killed_then_finished(out, rng, uninterrupted)
        assert without_timing(final["datasets"]) == without_timing(reference["datasets"]), (rounds, codes)
        assert len(list((out / "runs").rglob(DONE))) == 4
        assert (out / RESULTS).stat().st_size > 0
        killed_before_end, rounds = killed_before_end + killed, rounds + 1
    assert killed_before_end >= TRIALS // 2, f"the kills should land before the comparison ends ({rounds} rounds)"
    print(f"uninterrupted {uninterrupted:.1f} s; {killed_before_end} kills before the end in {rounds} round(s) of "
          f"{TRIALS}; total {time.perf_counter() - t0:.1f} s")


def _killed_then_finished(out: Path, rng: random.Random, uninterrupted: float) -> tuple[int, list, dict]:
    """``TRIALS`` comparisons into ``out``, each SIGKILLed after a seeded random delay, then one that ends:
    the kills that landed before the end, the trials' exit codes and the final results."""
    ctx = mp.get_context("fork")  # torch is already imported here: a forked child starts at once
    killed, codes = 0, []
    for _ in range(TRIALS):
        child = ctx.Process(target=_quiet_comparison, args=(str(out),))
        child.start()
        # each trial gets on average a tenth of the uninterrupted time, so the kills spread over all of it
        child.join(rng.uniform(0.02, 2 * uninterrupted / TRIALS))
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            killed += 1
        child.join()
        codes.append(child.exitcode)
    return killed, codes, run_comparison(*GRID, out, device="cpu")


LONG = Budget("long", image_steps=4, toy_steps=100_000, batch_size=32, toy_batch_size=64, seeds=(0,), eval_points=2)


def _parallel_comparison_in_own_group(out: str) -> None:
    os.setpgrp()  # the test signals this group, as a terminal's Ctrl-C or timeout(1) signals theirs
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    run_comparison(["nonsaturating", "wgan", "lsgan", "hinge"], [0], ["ring"], LONG, out, device="cpu",
                   jobs=2, protocols=["paper"])


def _started(out: Path) -> list[Path]:
    return sorted({p.parent for p in (out / "runs").rglob("*") if p.is_file()}) if (out / "runs").exists() else []


def test_sigint_stops_a_parallel_comparison_before_any_queued_run(tmp_path):
    out = tmp_path / "parallel"
    child = mp.get_context("fork").Process(target=_parallel_comparison_in_own_group, args=(str(out),))
    child.start()
    deadline = time.monotonic() + 120
    while len(_started(out)) < 2 and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.2)  # both workers have spawned and begun a run (100,000 steps each: far from done)
    assert len(_started(out)) == 2, "two runs should have started"
    os.killpg(child.pid, signal.SIGINT)
    child.join(60)
    stopped = not child.is_alive()
    if not stopped:
        os.killpg(child.pid, signal.SIGKILL)
        child.join()
    assert stopped, "the comparison should stop within 60 s of SIGINT"
    assert len(_started(out)) == 2  # the two queued runs never began
    assert not list(out.rglob(DONE))
    assert all((folder / "checkpoint.pt").exists() for folder in _started(out))  # each saved where it stopped


def test_an_interrupted_run_pickles_from_a_worker_to_the_parent():
    back = pickle.loads(pickle.dumps(TrainingInterrupted("checkpoint saved at step 7", signal.SIGTERM)))
    assert isinstance(back, KeyboardInterrupt) and str(back) == "checkpoint saved at step 7"
    assert back.signum == signal.SIGTERM
