"""The command line: one-line errors, --help, and a tiny run end to end."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganlib
from ganlib.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, data_root: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if data_root:
        env["GANLIB_DATA"] = data_root
    return subprocess.run([sys.executable, "-m", "ganlib", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_unknown_loss_is_one_line_naming_all_six(tmp_path):
    line = one_line_error(cli("train", "--loss", "nope", "--out", str(tmp_path)))
    assert "'nope'" in line
    for name in ganlib.LOSS_NAMES:
        assert name in line


@pytest.mark.parametrize("args, needles", [
    (["train", "--loss", "hinge", "--steps", "0", "--out", "x"], ["positive integer"]),
    (["train", "--loss", "hinge", "--dataset", "cifar", "--out", "x"], ["cifar", *ganlib.DATASETS]),
    (["train", "--loss", "hinge", "--device", "tpu", "--out", "x"], ["tpu", "auto", "cpu", "cuda", "mps"]),
    (["train", "--loss", "hinge", "--device", "cuda:x", "--out", "x"], ["--device", "'cuda:x'", "cuda:N"]),
    (["evaluate", "x", "--device", "cuda:x"], ["--device", "'cuda:x'", "cuda:N"]),
    (["evaluate", "nope", "--device", "cuda:1"], ["no run folder nope"]),  # cuda:N is accepted
    (["train", "--loss", "hinge"], ["--out"]),
    (["fly"], ["invalid choice", "train", "compare"]),
    (["compare", "--losses", "hinge,nope", "--out", "x"], ["'nope'", *ganlib.LOSS_NAMES]),
    (["compare", "--seeds", "1,x", "--out", "x"], ["--seeds"]),
    (["train", "--loss", "hinge", "--seed", str(2**63), "--out", "x"], ["seed must be an integer in 0..2^63-1"]),
    (["train", "--loss", "hinge", "--seed", "-1", "--out", "x"], ["non-negative"]),
    (["train", "--loss", "hinge", "--out", str(ROOT / "README.md")], ["README.md exists and is not a folder"]),
])
def test_bad_arguments_get_one_line(args, needles):
    line = one_line_error(cli(*args))
    for needle in needles:
        assert needle in line


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _stated_default(text: str) -> str | None:
    """The default a help text states ("... (default 500)", "...; default mnist,ring)"), else None."""
    found = re.search(r"\bdefault:? ([^\s);]+?)(?=[\s);]|, |$)", text)
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def top_help() -> str:
    return cli("--help").stdout


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_help_describes_every_option_with_the_default_the_parser_applies(command, top_help):
    """Every option of every command has a description in ``--help``, and a default the help states is the
    one the parser applies when the option is left out."""
    parser = _subcommands()[command]
    text = cli(command, "--help").stdout
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help and action.help.strip(), f"{command} {name} has no description"
        assert name in text or (action.metavar or "") in text, (command, name)
        stated = _stated_default(action.help)
        if stated is not None and action.default not in (None, False):
            assert stated == str(action.default), (command, name, stated, action.default)
    assert command in top_help


def test_train_end_to_end_then_refuse_overwrite_then_resume(tmp_path):
    run = tmp_path / "run"
    ok = cli("train", "--loss", "hinge", "--dataset", "ring", "--steps", "20", "--device", "cpu", "--out", str(run))
    assert ok.returncode == 0, ok.stderr
    assert {p.name for p in run.iterdir()} >= {"checkpoint.pt", "history.json", "samples.png"}
    again = cli("train", "--loss", "hinge", "--dataset", "ring", "--steps", "20", "--device", "cpu", "--out", str(run))
    assert "--resume" in one_line_error(again)
    more = cli("train", "--loss", "hinge", "--dataset", "ring", "--steps", "30", "--device", "cpu",
               "--out", str(run), "--resume")
    assert more.returncode == 0, more.stderr
    history = json.loads((run / "history.json").read_text())
    assert history["history"]["step"] == list(range(1, 31))


def test_train_on_offline_mnist_says_what_data_it_used(tmp_path, data_root):
    proc = cli("train", "--loss", "nonsaturating", "--dataset", "mnist", "--steps", "3", "--batch-size", "8",
               "--device", "cpu", "--out", str(tmp_path / "m"), data_root=data_root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("MNIST: 60,000 images, train split (offline data)") == 1
    assert "device cpu" in proc.stdout and proc.stderr == ""


def test_missing_offline_data_is_one_line(tmp_path):
    proc = cli("train", "--loss", "hinge", "--dataset", "fashion-mnist", "--steps", "3", "--device", "cpu",
               "--out", str(tmp_path / "f"), data_root=str(tmp_path))
    assert "FashionMNIST" in one_line_error(proc)
