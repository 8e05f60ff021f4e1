"""Execute the chapters top to bottom with nbclient and store their outputs (widget state included).

    python book/tools/run_notebooks.py                 # every chapter, GANLIB_BUDGET=book
    python book/tools/run_notebooks.py book/03_bce_loss.ipynb --budget smoke

    python book/tools/run_notebooks.py --install-cell-only   # rewrite the install cells, run nothing

This is the only way the stored outputs are made: the book builds with execution off, and nbval
compares a fresh run against them. Each notebook is written atomically, only if it ran cleanly and its
outputs pass book/tools/output_check.py (no absolute path, no repeated stderr line).
Every chapter's install cell is (re)written from one template, with the repository URL and branch
from _config.yml. The Chinese notebooks of the chapters that ran are then made again
(book/tools/translate.py), since they carry the English code cells and outputs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ganlib.files import atomic_path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import translate  # noqa: E402
from output_check import problems  # noqa: E402

INSTALL_MARK = "# ganlib-install"
# The install cell of every chapter. It runs in Colab, in Jupyter and under nbval, and does nothing where
# ganlib is importable. REPO and BRANCH are also what chapter 7 fetches the stored results from;
# GANLIB_REPO replaces the URL (a fork, or a local clone as file:///path in tests/test_colab.py).
INSTALL_CELL = """\
# ganlib-install: where ganlib is missing (Colab), install it from the course repository
import importlib, importlib.util, os, subprocess, sys
REPO = os.environ.get("GANLIB_REPO", "{url}")
BRANCH = "{branch}"
if importlib.util.find_spec("ganlib") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", f"git+{{REPO}}@{{BRANCH}}"])
    importlib.invalidate_caches()"""


def repository() -> tuple[str, str]:
    """The repository URL and branch, read from _config.yml (the single place they are set)."""
    text = (ROOT / "_config.yml").read_text()
    url = re.search(r"^\s+url:\s*(\S+)", text, re.M)
    branch = re.search(r"^\s+branch:\s*(\S+)", text, re.M)
    if not (url and branch):
        sys.exit("run_notebooks: no repository url or branch in _config.yml")
    return url.group(1), branch.group(1)


def install_cell() -> str:
    url, branch = repository()
    return INSTALL_CELL.format(url=url, branch=branch)


def set_install_cell(nb: nbformat.NotebookNode, source: str) -> None:
    """Replace the source of the chapter's install cell (found by its mark) with ``source``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source]
    if len(cells) != 1:
        sys.exit(f"run_notebooks: expected one install cell (marked {INSTALL_MARK!r}), found {len(cells)}")
    cells[0].source = source


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    with atomic_path(path) as tmp:
        nbformat.write(nb, str(tmp))


def run(path: Path, budget: str, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    set_install_cell(nb, install_cell())
    # nbclient stores the state of the widgets this run creates, and keeps an old state when it creates
    # none: a stale state would make the book load the widget manager for nothing
    nb.metadata.pop("widgets", None)
    os.environ["GANLIB_BUDGET"] = budget
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    found = problems(nb)
    if found:
        sys.exit(f"{path.name}: NOT saved, its outputs must not carry these:\n  " + "\n  ".join(found))
    save(nb, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to run (default: all of book/)")
    parser.add_argument("--budget", default="book", choices=("smoke", "book", "full"))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--install-cell-only", action="store_true",
                        help="rewrite each chapter's install cell from the template, execute nothing")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "book").glob("[0-9]*.ipynb"))
    for p in paths:
        if p.resolve().parent != ROOT / "book":
            sys.exit(f"run_notebooks: {p} is not an English chapter (book/*.ipynb); the Chinese notebooks in "
                     "book/zh are made from the English ones by book/tools/translate.py")
    for p in paths:
        if args.install_cell_only:
            nb = nbformat.read(p, as_version=4)
            set_install_cell(nb, install_cell())
            save(nb, p)
        else:
            print(f"{p.name}: running with GANLIB_BUDGET={args.budget} ...", flush=True)
            print(f"{p.name}: done in {run(p, args.budget, args.timeout):.0f} s", flush=True)
    # the Chinese notebooks carry the English code and outputs: make them again from the new ones
    translate.main([arg for p in paths for arg in ("--chapter", p.stem)])


if __name__ == "__main__":
    main()
