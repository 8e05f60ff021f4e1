"""A fork server for the kill tests: ``python -m ganlib train`` runs without paying Python's and torch's
start-up (~5 s on CI's CPU) for each of dozens of runs.

The server imports ganlib once, runs no torch operation (so no thread pool exists to break at fork),
then serves lines on stdin:
  ``run LOG ARG...`` forks a child that runs ``ganlib.cli.main([ARG...])`` with stdout and stderr in LOG
  (exactly what ``python -m ganlib ARG...`` runs) and answers its PID;
  ``wait PID`` answers ``exit N`` or ``signal N`` once that child has ended.
The test kills children by PID; the server reaps them, since they are its children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(log: str, argv: list[str]) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)  # fresh, unbuffered state
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL if s == signal.SIGTERM else signal.default_int_handler)
    code = 1
    try:
        from ganlib.cli import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from io import BytesIO

    import matplotlib.pyplot as plt
    import torch
    import tqdm.auto  # noqa: F401  (imported by the training loop)

    import ganlib.cli

    ganlib.cli.build_parser()  # imports every command module
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # the first optimiser imports torch._dynamo (~5 s)
    fig = plt.figure()
    fig.text(0.5, 0.5, "warm")  # loads matplotlib's font cache once, not in every child
    fig.savefig(BytesIO(), format="png")
    plt.close(fig)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "run":
            pid = os.fork()
            if pid == 0:
                _child(words[1], words[2:])
            print(pid, flush=True)
        elif words[0] == "wait":
            _, status = os.waitpid(int(words[1]), 0)
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            print(f"signal {sig}" if sig else f"exit {os.WEXITSTATUS(status)}", flush=True)


class ForkServer:
    """The test side: start the server, run commands, wait for them."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=ROOT)
        assert self._read() == "ready"

    def _read(self) -> str:
        line = self.proc.stdout.readline().strip()
        if not line:
            raise RuntimeError(f"fork server ended (status {self.proc.poll()})")
        return line

    def run(self, log: Path, *args: str) -> int:
        """Start ``python -m ganlib ARGS`` (arguments without spaces); return its PID."""
        assert not any(" " in a for a in (str(log), *args))
        self.proc.stdin.write(" ".join(["run", str(log), *args]) + "\n")
        self.proc.stdin.flush()
        return int(self._read())

    def wait(self, pid: int) -> str:
        """``exit N`` or ``signal N``."""
        self.proc.stdin.write(f"wait {pid}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    serve()
