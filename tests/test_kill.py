"""``python -m ganlib train`` killed at random moments, two processes on one folder, and signals.

The many short runs go through a fork server (tests/forkrun.py) that imports ganlib once; each run is
``ganlib.cli.main(argv)`` in a fresh child, as ``python -m ganlib`` runs it. One run uses a real
``python -m ganlib`` subprocess. Budget: about 60 s on CI's 2-core CPU.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganlib.checkpoint import CHECKPOINT, HISTORY, load_checkpoint
from ganlib.files import LOCK_FILE

from forkrun import ROOT, ForkServer

STEPS = 100
TRIALS = 20  # each one killed, resumed and compared bit for bit with the uninterrupted run
MID_RUN = TRIALS // 4  # kills that must land while the process trains (not before it starts or after it ends)
MAX_TRIALS = 3 * TRIALS  # on a busy machine more trials may be needed to land them; never more than this
SEED = 7  # the delays' seed: the same kills every run, not a new draw each time
ARGS = ("train", "--loss", "hinge", "--dataset", "ring", "--device", "cpu", "--checkpoint-every", "4")


@pytest.fixture(scope="module")
def server():
    s = ForkServer()
    yield s
    s.close()


def _run(server: ForkServer, log: Path, out: Path, steps: int = STEPS, *extra: str) -> int:
    return server.run(log, *ARGS, "--steps", str(steps), "--out", str(out), *extra)


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.005)


def _final(out: Path) -> tuple[dict, dict]:
    history = json.loads((out / HISTORY).read_text())["history"]
    return history, load_checkpoint(out / CHECKPOINT)["generator"]


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory) -> tuple[dict, dict, float]:
    """The uninterrupted run, and how long one run takes here."""
    out = tmp_path_factory.mktemp("kill") / "whole"
    t0 = time.monotonic()
    assert server.wait(_run(server, out.with_suffix(".log"), out)) == "exit 0"
    return (*_final(out), time.monotonic() - t0)


def test_sigkill_at_random_moments_loses_nothing_once_resumed(server, reference, tmp_path):
    duration = reference[2]
    rng = random.Random(SEED)
    landed = []  # (delay, checkpoint step at the kill) for kills that hit a running process
    mid_run = []
    trial = 0
    while trial < TRIALS or (len(mid_run) < MID_RUN and trial < MAX_TRIALS):
        _kill_resume_and_compare(server, tmp_path, trial, rng.uniform(0.0, 1.1 * duration), landed, reference)
        mid_run = [step for _, step in landed if step is not None and 0 < step < STEPS]
        trial += 1
    # the kills really hit training, not only start or end (a slower machine may take more trials for it)
    assert len(mid_run) >= MID_RUN, (SEED, trial, landed)
    print(f"seed {SEED}: {len(landed)} of {trial} kills hit a running process, {len(mid_run)} of them mid-run "
          f"(run time {duration:.2f} s); checkpoint steps then: {landed}")


def _kill_resume_and_compare(server: ForkServer, tmp_path: Path, trial: int, delay: float, landed: list,
                             reference: tuple[dict, dict, float]) -> None:
    """One run SIGKILLed after ``delay`` seconds, then resumed: it must end exactly as the uninterrupted run."""
    whole_history, whole_generator, _ = reference
    out = tmp_path / f"t{trial}"
    pid = _run(server, tmp_path / f"t{trial}.log", out)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    status = server.wait(pid)
    if status == "signal 9":
        step = load_checkpoint(out / CHECKPOINT)["step"] if (out / CHECKPOINT).exists() else None
        landed.append((round(delay, 3), step))
    else:
        assert status == "exit 0", (trial, status, (tmp_path / f"t{trial}.log").read_text())
    resumed = server.wait(_run(server, tmp_path / f"r{trial}.log", out, STEPS, "--resume"))
    log = (tmp_path / f"r{trial}.log").read_text()
    assert resumed == "exit 0", (SEED, trial, delay, log)
    history, generator = _final(out)
    assert history["step"] == list(range(1, STEPS + 1)), (SEED, trial, delay)  # every step exactly once
    for key in ("d_loss", "g_loss", "gp"):
        assert history[key] == whole_history[key], (SEED, trial, delay, key)  # bit for bit
    assert all(torch.equal(generator[k], whole_generator[k]) for k in whole_generator), (SEED, trial, delay)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], (SEED, trial, leftovers)  # no temporary files, no lock file


def test_a_second_process_on_the_same_folder_is_refused_and_a_killed_holder_leaves_no_lock(server, tmp_path):
    out = tmp_path / "run"
    first = _run(server, tmp_path / "first.log", out, 3000)
    _wait_for(out / CHECKPOINT)  # the first process holds the folder and has begun
    for n, extra in enumerate([("--seed", "1"), ("--resume",)]):
        second = _run(server, tmp_path / f"second{n}.log", out, 3000, *extra)
        assert server.wait(second) == "exit 2"
        lines = (tmp_path / f"second{n}.log").read_text().strip().splitlines()
        assert len(lines) == 1 and str(out) in lines[0] and f"(PID {first})" in lines[0], lines
    os.kill(first, signal.SIGKILL)
    assert server.wait(first) == "signal 9"
    assert (out / LOCK_FILE).exists()  # the file stays behind; the lock died with its process
    step = load_checkpoint(out / CHECKPOINT)["step"]
    before = (out / CHECKPOINT).stat().st_ino
    third = _run(server, tmp_path / "third.log", out, 3000, "--resume")
    end = time.monotonic() + 60
    while (out / CHECKPOINT).stat().st_ino == before:  # its start checkpoint: training has begun
        assert time.monotonic() < end
        time.sleep(0.005)
    time.sleep(0.2)
    os.kill(third, signal.SIGINT)  # ... and Ctrl-C saves where it stopped
    assert server.wait(third) == "exit 130"
    message = (tmp_path / "third.log").read_text().strip().splitlines()[-1]
    saved = load_checkpoint(out / CHECKPOINT)["step"]
    assert saved >= step and f"interrupted by SIGINT at step {saved} of 3000" in message, message
    assert f"checkpoint saved at {out / CHECKPOINT} (step {saved})" in message


def test_sigterm_to_python_m_ganlib_saves_and_says_so(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "ganlib", *ARGS, "--steps", "100000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    _wait_for(out / CHECKPOINT, timeout=120)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    lines = err.strip().splitlines()
    step = load_checkpoint(out / CHECKPOINT)["step"]
    assert len(lines) == 1 and lines[0] == (f"ganlib: training interrupted by SIGTERM at step {step} of 100000; "
                                            f"checkpoint saved at {out / CHECKPOINT} (step {step}); continue "
                                            f"with --resume"), err
    assert step > 0 and not (out / LOCK_FILE).exists()
