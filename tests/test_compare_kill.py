"""SIGKILL at random moments during a comparison (training, evaluation, markers, results.json, figures):
after the last kill one more invocation ends with complete results and figures, equal to an
uninterrupted run of the same grid (timings aside)."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time


from ganlib.budget import Budget
from ganlib.compare import run_comparison
from ganlib.layout import DONE, RESULTS

from test_compare import without_timing

RING = Budget("kill", image_steps=4, toy_steps=60, batch_size=32, toy_batch_size=64, seeds=(0,), eval_points=2)
GRID = (["nonsaturating", "wgan"], [0], ["ring"], RING)
TRIALS = 10


def _quiet_comparison(out: str) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    run_comparison(*GRID, out, device="cpu")


def test_comparison_survives_random_sigkills(tmp_path):
    t0 = time.perf_counter()
    reference = run_comparison(*GRID, tmp_path / "reference", device="cpu")
    uninterrupted = time.perf_counter() - t0
    out = tmp_path / "killed"
    rng = random.Random(0)
    ctx = mp.get_context("fork")  # torch is already imported here: a forked child starts at once
    killed_before_end, codes = 0, []
    for _ in range(TRIALS):
        child = ctx.Process(target=_quiet_comparison, args=(str(out),))
        child.start()
        # each trial gets on average a tenth of the uninterrupted time, so the kills spread over all of it
        child.join(rng.uniform(0.02, 2 * uninterrupted / TRIALS))
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            killed_before_end += 1
        child.join()
        codes.append(child.exitcode)
    final = run_comparison(*GRID, out, device="cpu")
    assert killed_before_end >= TRIALS // 2, f"the kills should land before the comparison ends (exit codes {codes})"
    assert without_timing(final["datasets"]) == without_timing(reference["datasets"])
    assert len(list((out / "runs").rglob(DONE))) == 4
    for name in (RESULTS, "toy_ring.png", "controlled_toy_ring.png"):
        assert (out / name).stat().st_size > 0
    print(f"uninterrupted {uninterrupted:.1f} s; {killed_before_end} of {TRIALS} kills before the end; "
          f"total {time.perf_counter() - t0:.1f} s")
