"""Faults and bad input: every case gets a one-line GanlibError, TrainingDiverged or
TrainingInterrupted, and nothing already written is lost. The "Faults and bad input" table of docs/maintainers.md
lists these cases; the SIGKILL and two-process cases are in test_kill.py."""

from __future__ import annotations

import errno
import gzip
import importlib
import math
import os
import pickle
import signal
import subprocess
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import ganlib
import ganlib.files
from ganlib import GanlibError, TrainConfig, TrainingDiverged, train
from ganlib.checkpoint import CHECKPOINT, HISTORY, check_finite_weights, load_checkpoint, load_run
from ganlib.errors import TrainingInterrupted
from ganlib.files import LOCK_FILE, atomic_path, lock_folder
from ganlib.step import LOSS_LIMIT, WEIGHT_LIMIT, new_run


def toy(**kw) -> TrainConfig:
    base = dict(loss="hinge", dataset="ring", steps=30, batch_size=32, seed=0, device="cpu", check_every=5)
    return TrainConfig(**{**base, **kw})


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg and "weights_only=False" not in msg, msg
    return msg


# --- one writer per run folder -------------------------------------------------------------------

def test_a_second_writer_is_refused_naming_the_folder_and_pid(tmp_path):
    with lock_folder(tmp_path / "run"):
        with pytest.raises(GanlibError) as info:
            train(toy(seed=1), tmp_path / "run", verbose=False)
        msg = one_line(info)
        assert str(tmp_path / "run") in msg and f"PID {os.getpid()}" in msg
    assert not (tmp_path / "run" / LOCK_FILE).exists()  # released and removed
    train(toy(steps=3), tmp_path / "run", verbose=False)  # free again


def test_a_lock_file_left_by_a_dead_process_is_no_lock(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text("999999\n")  # what a killed owner leaves: the file, not the lock
    train(toy(steps=3), run, verbose=False)
    assert (run / CHECKPOINT).exists() and not (run / LOCK_FILE).exists()


# --- fail fast; nothing written is overwritten or lost -------------------------------------------

def test_output_path_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(GanlibError) as info:
        train(toy(), tmp_path / "f", verbose=False)
    assert "exists and is not a folder" in one_line(info)
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("resume", [False, True])
def test_history_without_checkpoint_is_neither_overwritten_nor_resumed(tmp_path, resume):
    (tmp_path / HISTORY).write_text('{"kept": true}\n')
    with pytest.raises(GanlibError) as info:
        train(toy(), tmp_path, resume=resume, verbose=False)
    assert f"holds {HISTORY} but no {CHECKPOINT}" in one_line(info)
    assert (tmp_path / HISTORY).read_text() == '{"kept": true}\n'


def test_leftover_temporary_files_are_removed_at_the_next_start(tmp_path, capsys):
    train(toy(steps=5), tmp_path, verbose=False)
    leftovers = [tmp_path / ".checkpoint.pt.k3x_9ab2.tmp.pt", tmp_path / ".history.json.abcdefgh.tmp.json"]
    for f in leftovers:
        f.write_bytes(b"")  # what a SIGKILL during a save leaves
    (tmp_path / "notes.tmp").write_text("mine")  # not ganlib's: untouched
    train(toy(steps=8), tmp_path, resume=True)
    assert not any(f.exists() for f in leftovers) and (tmp_path / "notes.tmp").exists()
    assert "removed 2 unfinished temporary file(s)" in capsys.readouterr().err


def test_a_checkpoint_is_written_at_the_start_then_by_time(tmp_path):
    """With an output folder the start is saved at once (a folder that cannot take it fails before any
    training); then one every ``checkpoint_seconds``: 60 s by default, 0.02 s here."""
    seen = {}

    def record(result):
        seen[result.step] = load_checkpoint(result_dir / CHECKPOINT)["step"]
        return {}

    for result_dir, seconds in ((tmp_path / "default", 60.0), (tmp_path / "fast", 0.02)):
        train(toy(steps=200, snapshot_steps=(150,)), result_dir, evaluate=record, verbose=False,
              checkpoint_seconds=seconds)
        if seconds == 60.0:
            assert seen[150] == 0  # only the start so far
        else:
            assert 0 < seen[150] <= 150, seen
    with pytest.raises(GanlibError, match="checkpoint_seconds must be positive"):
        train(toy(), tmp_path / "x", checkpoint_seconds=0)


@contextmanager
def small_filesystem(path: Path, size: int, read_only: bool = False):
    """A tmpfs of ``size`` bytes at ``path``; yields False where mounting is not allowed."""
    path.mkdir()
    opts = f"size={size}" + (",ro" if read_only else "")
    ok = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                                              capture_output=True).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(path)], check=True)


def test_disk_full_is_one_line_and_the_last_checkpoint_stays(tmp_path, monkeypatch):
    """A real full tmpfs where the machine allows mounting, else a simulated full disk (said in a
    warning). The disk fills up at step 12, between the checkpoints of steps 10 and 15."""
    disk = tmp_path / "disk"
    with small_filesystem(disk, 8 << 20) as mounted:
        if not mounted:
            warnings.warn("disk full simulated (a failing writer): this machine does not allow mounting a tmpfs",
                          stacklevel=2)

        def fill_disk(result):
            if mounted:
                with open(disk / "filler", "wb", buffering=0) as fh:
                    while True:
                        try:
                            fh.write(bytes(1 << 16))
                            fh.flush()
                        except OSError:
                            break
            else:
                monkeypatch.setattr(ganlib.files, "write_bytes", _failing_writer(1000))
            return {}

        run = disk / "run"
        with pytest.raises(GanlibError) as info:
            train(toy(steps=30, checkpoint_every=5, snapshot_steps=(12,)), run, evaluate=fill_disk, verbose=False)
        msg = one_line(info)
        assert "No space left on device" in msg and "checkpoint is kept" in msg and "(step 10)" in msg, msg
        assert load_checkpoint(run / CHECKPOINT)["step"] == 10  # intact and loadable
        assert sorted(p.name for p in run.iterdir()) == [CHECKPOINT]  # no temporary file, no lock left


def _failing_writer(limit: int):
    """A stand-in for ganlib.files.write_bytes on a disk with ``limit`` bytes left: writes a partial
    temporary file, then fails as a full disk does."""
    def write_bytes(data, path):
        with atomic_path(path) as tmp:
            tmp.write_bytes(bytes(data[:limit]))
            if len(data) > limit:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return write_bytes


def test_a_failed_final_write_keeps_the_checkpoint_and_resume_finishes(tmp_path, monkeypatch):
    checkpoint_module = importlib.import_module("ganlib.checkpoint")  # write_outputs writes history.json

    def full(obj, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:
        m.setattr(checkpoint_module, "save_json", full)
        with pytest.raises(GanlibError) as info:
            train(toy(steps=10), tmp_path, verbose=False)
    assert "No space left on device); the final checkpoint (step 10) is complete" in one_line(info)
    assert not (tmp_path / HISTORY).exists() and load_checkpoint(tmp_path / CHECKPOINT)["step"] == 10
    train(toy(steps=10), tmp_path, resume=True, verbose=False)  # nothing left to train: writes the results
    assert (tmp_path / HISTORY).exists() and (tmp_path / "samples.png").exists()


def test_read_only_output_fails_before_training(tmp_path, monkeypatch):
    with small_filesystem(tmp_path / "ro", 1 << 20, read_only=True) as mounted:
        if not mounted:
            warnings.warn("read-only folder simulated: this machine does not allow mounting a tmpfs", stacklevel=2)

            def refuse(*args, **kwargs):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            monkeypatch.setattr(ganlib.files.os, "open", refuse)
            (tmp_path / "ro" / "run").mkdir()
        with pytest.raises(GanlibError) as info:
            train(toy(), tmp_path / "ro" / "run", evaluate=pytest.fail, verbose=False)
    assert "Read-only file system" in one_line(info)


# --- signals -----------------------------------------------------------------------------------

def test_sigint_saves_the_step_reached_and_resumes_exactly(tmp_path):
    def interrupt(result):
        if result.step == 12:
            os.kill(os.getpid(), signal.SIGINT)
        return {}

    whole = train(toy(steps=30), tmp_path / "whole", verbose=False)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        train(toy(steps=30, snapshot_steps=(12,)), tmp_path / "cut", evaluate=interrupt, verbose=False)
    assert signal.getsignal(signal.SIGINT) is before  # the handler is given back
    msg = one_line(info)
    assert "interrupted by SIGINT at step 12 of 30" in msg and "(step 12)" in msg and info.value.signum == 2
    assert load_checkpoint(tmp_path / "cut" / CHECKPOINT)["step"] == 12
    resumed = train(toy(steps=30), tmp_path / "cut", resume=True, verbose=False)
    assert resumed.history["step"] == list(range(1, 31))
    for key in ("d_loss", "g_loss", "gp"):
        assert resumed.history[key] == whole.history[key]
    for p, q in zip(whole.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(p, q)


def test_sigterm_without_output_folder_says_nothing_was_saved():
    def terminate(result):
        os.kill(os.getpid(), signal.SIGTERM)
        return {}

    with pytest.raises(TrainingInterrupted) as info:
        train(toy(snapshot_steps=(7,)), evaluate=terminate, verbose=False)
    assert "SIGTERM at step 7 of 30; nothing was saved" in one_line(info) and info.value.signum == 15


# --- divergence --------------------------------------------------------------------------------

def test_a_finite_explosion_is_divergence(tmp_path):
    def blow_up(result):  # first and last critic layers ×1e4: weights stay far below their limit (≤ ~1e3),
        if result.step == 12:  # the (un-normalised) critic's logits grow 1e8-fold
            with torch.no_grad():
                linear = [m for m in result.discriminator.modules() if isinstance(m, torch.nn.Linear)]
                for m in (linear[0], linear[-1]):
                    m.weight.mul_(1e4)
        return {}

    cfg = toy(snapshot_steps=(12,), checkpoint_every=5, d_norm="none")
    with pytest.raises(TrainingDiverged) as info:
        train(cfg, tmp_path, evaluate=blow_up, verbose=False)
    msg = one_line(info)
    assert "exploded" in msg and "discriminator loss at step 13" in msg and "(step 10)" in msg, msg
    assert load_checkpoint(tmp_path / CHECKPOINT)["step"] == 10


def test_a_broken_batch_norm_statistic_stops_the_run_before_snapshot_and_save(tmp_path, data_root):
    """Training-mode batch norm ignores its running statistics, so no loss shows an Inf running_var;
    the check of buffers before each snapshot, evaluation and checkpoint does."""
    calls = []

    def poison(result):
        calls.append(result.step)
        if result.step == 2:
            bn = next(m for m in result.generator.modules() if isinstance(m, torch.nn.BatchNorm2d))
            bn.running_var.fill_(float("inf"))
        return {}

    cfg = TrainConfig(loss="lsgan", dataset="mnist", steps=6, batch_size=8, device="cpu", check_every=3,
                      snapshot_steps=(2, 4), checkpoint_every=3)
    with pytest.raises(TrainingDiverged) as info:
        train(cfg, tmp_path, evaluate=poison, data_root=data_root, verbose=False)
    msg = one_line(info)
    assert "non-finite weights or batch-norm statistics after step 3" in msg and "(step 2)" not in msg, msg
    assert calls == [2]
    state = load_checkpoint(tmp_path / CHECKPOINT)
    assert state["step"] == 0 and all(torch.isfinite(v).all() for v in state["generator"].values()
                                      if v.is_floating_point())


def test_weights_past_the_limit_are_divergence():
    result, _, _ = new_run(toy(), torch.device("cpu"))
    check_finite_weights(result, None)
    with torch.no_grad():
        next(result.generator.parameters())[0].fill_(2 * WEIGHT_LIMIT)
    with pytest.raises(TrainingDiverged, match="exploded"):
        check_finite_weights(result, None)


@pytest.mark.parametrize("loss", ganlib.LOSS_NAMES)
def test_healthy_runs_stay_far_below_the_divergence_limits(loss):
    """The limits must never stop a healthy run: 400 ring steps of every loss with its paper recipe stay
    at least a thousand times below them (the full measured maxima are in docs/maintainers.md)."""
    r = train(toy(loss=loss, steps=400, batch_size=64, check_every=50), verbose=False)
    worst_loss = max(abs(v) for k in ("d_loss", "g_loss", "gp") for v in r.history[k])
    worst_weight = max(t.abs().max().item() for net in (r.generator, r.discriminator)
                       for t in (*net.parameters(), *net.buffers()) if t.is_floating_point())
    assert worst_loss < LOSS_LIMIT / 1e3 and worst_weight < WEIGHT_LIMIT / 1e3, (worst_loss, worst_weight)


def test_seed_is_range_checked():
    for bad in (-1, 2**63, 1.5, True):
        with pytest.raises(GanlibError, match=r"seed must be an integer in 0\.\.2\^63-1"):
            toy(seed=bad)
    assert toy(seed=2**63 - 1).seed == 2**63 - 1


# --- damaged or foreign checkpoints ------------------------------------------------------------

@pytest.fixture(scope="module")
def good_state(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("good")
    train(toy(steps=4), out, verbose=False)
    return load_checkpoint(out / CHECKPOINT)


def _mutations() -> dict:
    def drop(key):
        return lambda s: {k: v for k, v in s.items() if k != key}

    def with_(key, value):
        return lambda s: {**s, key: value(s) if callable(value) else value}

    def net(key, change):
        return lambda s: {**s, key: change(dict(s[key]))}

    first = "net.0.weight"
    return {
        "not a dict": (lambda s: [s], "holds a list, not a dict"),
        "format 2": (with_("format", 2), "not a ganlib checkpoint of format 1"),
        "no config": (drop("config"), "lacks config"),
        "no generator": (drop("generator"), "lacks generator"),
        "config a list": (with_("config", [1]), "'config' is a list"),
        "config unknown loss": (with_("config", lambda s: {**s["config"], "loss": "nope"}),
                                "config is not valid (unknown loss 'nope'"),
        "config missing field": (with_("config", lambda s: {k: v for k, v in s["config"].items() if k != "steps"}),
                                 "config lacks steps"),
        "extra weight": (net("generator", lambda d: {**d, "extra.weight": torch.zeros(2)}), "unexpected extra.weight"),
        "missing weight": (net("generator", lambda d: {k: v for k, v in d.items() if k != first}),
                           f"missing {first}"),
        "wrong shape": (net("discriminator", lambda d: {**d, first: torch.zeros(3, 3)}), "has shape (3, 3)"),
        "not tensors": (net("generator", lambda d: {**d, first: [1.0]}), "not a dict of named tensors"),
        "history gap": (with_("history", lambda s: {**s["history"], "step": [1, 2, 4, 4]}),
                        "does not hold steps 1..4 exactly once"),
        "optimiser moment shape": (with_("opt_d", lambda s: {**s["opt_d"], "state": {
            0: {**s["opt_d"]["state"][0], "exp_avg": torch.zeros(5)}}}), "exp_avg for parameter 0 has shape (5,)"),
        "fixed noise shape": (with_("fixed_noise", torch.zeros(3, 16)), "fixed noise has shape (3, 16)"),
    }


@pytest.mark.parametrize("name", list(_mutations()))
def test_malformed_checkpoints_are_one_line_errors(tmp_path, good_state, name):
    mutate, needle = _mutations()[name]
    run = tmp_path / "run"
    run.mkdir()
    torch.save(mutate(good_state), run / CHECKPOINT)
    with pytest.raises(GanlibError) as info:
        load_run(run)
    assert needle in one_line(info), (name, str(info.value))
    with pytest.raises(GanlibError) as info:  # resuming it: the same check, or the settings comparison
        train(toy(steps=8), run, resume=True, verbose=False)
    assert str(run / CHECKPOINT) in one_line(info)


class Evil:
    """Unpickling this would create the marker file: a checkpoint that runs code."""

    def __reduce__(self):
        return (Path.touch, (Path(os.environ["GANLIB_TEST_MARKER"]),))


@pytest.mark.parametrize("packing", ["torch.save", "pickle"])
def test_a_crafted_pickle_is_refused_and_nothing_runs(tmp_path, monkeypatch, packing):
    marker = tmp_path / "ran"
    monkeypatch.setenv("GANLIB_TEST_MARKER", str(marker))
    run = tmp_path / "run"
    run.mkdir()
    payload = {"format": 1, "config": Evil()}
    if packing == "pickle":
        (run / CHECKPOINT).write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, run / CHECKPOINT)
    for attempt in (lambda: load_run(run), lambda: train(toy(), run, resume=True, verbose=False)):
        with pytest.raises(GanlibError) as info:
            attempt()
        assert "not a readable ganlib checkpoint" in one_line(info) and "refused without running" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "empty", "random bytes"])
def test_unreadable_checkpoint_files_are_one_line_errors(tmp_path, damage):
    train(toy(steps=3), tmp_path / "ok", verbose=False)
    data = (tmp_path / "ok" / CHECKPOINT).read_bytes()
    (tmp_path / "bad").mkdir()
    bad = {"truncated": data[: len(data) // 2], "empty": b"", "random bytes": os.urandom(1000)}[damage]
    (tmp_path / "bad" / CHECKPOINT).write_bytes(bad)
    with pytest.raises(GanlibError) as info:
        load_run(tmp_path / "bad")
    assert "not a readable ganlib checkpoint" in one_line(info)


# --- damaged data files ------------------------------------------------------------------------

def _idx(arr: torch.Tensor) -> bytes:
    head = (2048 + arr.dim()).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return head + arr.to(torch.uint8).numpy().tobytes()


def _root(tmp_path: Path, images: bytes, labels: bytes, gz: bool = False) -> Path:
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem, data in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        (raw / (stem + ".gz" * gz)).write_bytes(data)
    return tmp_path / "data"


IMAGES = _idx(torch.arange(10 * 28 * 28).reshape(10, 28, 28) % 256)
LABELS = _idx(torch.arange(10) % 10)
DAMAGE = {
    "truncated images": (IMAGES[:-16], LABELS, False, "images-idx3-ubyte: truncated"),
    "truncated labels": (IMAGES, LABELS[:-3], False, "labels-idx1-ubyte: truncated"),
    "trailing bytes": (IMAGES + b"xx", LABELS, False, "too long"),
    "six-byte file": (IMAGES[:6], LABELS, False, "6 bytes, shorter than an IDX header"),
    "bad magic": (b"\x00\x00\x08\x07" + IMAGES[4:], LABELS, False, "not an IDX file of images"),
    "labels given as images": (LABELS, LABELS, False, "not an IDX file of images (magic 2049"),
    "wrong image size": (_idx(torch.zeros(10, 32, 32)), LABELS, False, "32×32 pixels"),
    "label out of range": (IMAGES, _idx(torch.full((10,), 11)), False, "a label of 11"),
    "count mismatch": (IMAGES, _idx(torch.arange(9) % 10), False, "holds 10 images but"),
    "truncated gzip": (gzip.compress(IMAGES)[:-40], gzip.compress(LABELS), True, "gzip stream is truncated"),
    "corrupt gzip": (b"\x1f\x8b" + bytes(50), gzip.compress(LABELS), True, "gzip stream is truncated or corrupt"),
    "not gzip at all": (IMAGES, gzip.compress(LABELS), True, "gzip stream is truncated or corrupt"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_data_files_are_one_line_errors_naming_file_and_variable(tmp_path, name):
    images, labels, gz, needle = DAMAGE[name]
    root = _root(tmp_path, images, labels, gz)
    with pytest.raises(GanlibError) as info:
        ganlib.load_images("mnist", root=root, verbose=False)
    msg = one_line(info)
    assert needle in msg and "GANLIB_DATA" in msg and str(root / "MNIST" / "raw") in msg, msg


def test_undamaged_files_still_load(tmp_path):
    root = _root(tmp_path, gzip.compress(IMAGES), gzip.compress(LABELS), gz=True)
    data = ganlib.load_images("mnist", root=root, verbose=False)
    assert data.images.shape == (10, 28, 28) and data.labels.tolist() == [i % 10 for i in range(10)]
    assert math.isclose(float(data.images.float().mean()), float((torch.arange(7840) % 256).float().mean()))
