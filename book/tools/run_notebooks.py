"""Execute the chapters top to bottom with nbclient and store their outputs (widget state included).

    python book/tools/run_notebooks.py                 # every chapter, GANLIB_BUDGET=book
    python book/tools/run_notebooks.py book/03_bce_loss.ipynb --budget smoke

This is the only way the stored outputs are made: the book builds with execution off, and nbval
compares a fresh run against them. Each notebook is written atomically, only if it ran cleanly.
It also writes the repository URL from _config.yml into every chapter's install cell.
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
from ganlib.io import atomic_path  # noqa: E402

INSTALL_MARK = "# ganlib-install"
URL_RE = re.compile(r'^REPO = ".*"$', re.M)


def repo_url() -> str:
    """The repository URL, read from _config.yml (the single place it is set)."""
    match = re.search(r"^\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M)
    if not match:
        sys.exit("run_notebooks: no repository url in _config.yml")
    return match.group(1)


def set_install_url(nb: nbformat.NotebookNode, url: str) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and INSTALL_MARK in cell.source:
            cell.source = URL_RE.sub(f'REPO = "{url}"', cell.source)


def run(path: Path, budget: str, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    set_install_url(nb, repo_url())
    os.environ["GANLIB_BUDGET"] = budget
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    with atomic_path(path) as tmp:
        nbformat.write(nb, str(tmp))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to run (default: all of book/)")
    parser.add_argument("--budget", default="book", choices=("smoke", "book", "full"))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "book").glob("[0-9]*.ipynb"))
    for p in paths:
        print(f"{p.name}: running with GANLIB_BUDGET={args.budget} ...", flush=True)
        print(f"{p.name}: done in {run(p, args.budget, args.timeout):.0f} s", flush=True)


if __name__ == "__main__":
    main()
