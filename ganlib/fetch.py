"""The stored comparison a chapter shows: beside the notebook in a clone of the course repository, or,
where the notebook was opened on its own (Colab opens one .ipynb, without the repository), fetched from
the repository at the book's branch into ganlib's cache.

Fetching uses git: a shallow, sparse clone of ``book/results`` only (a few MB), made once and reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .compare_paths import RESULTS
from .data import default_cache
from .errors import GanlibError

RESULTS_IN_REPO = "book/results"  # where the repository keeps the stored comparisons
MARKER = Path("grid") / RESULTS  # the comparison grid's results, present in every copy of the stored results


def _git(*args: str) -> None:
    """Run git quietly; a failure becomes one clear line."""
    if shutil.which("git") is None:
        raise GanlibError("fetching the stored results needs git; install git, or clone the repository "
                          "and open the chapter from its book/ folder")
    proc = subprocess.run(["git", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        fatal = [ln for ln in proc.stderr.splitlines() if ln.startswith(("fatal:", "error:"))]
        raise GanlibError(f"git {args[0]} failed: {fatal[0] if fatal else f'exit status {proc.returncode}'}")


def fetch_results(repo: str, branch: str, cache: Path | None = None) -> Path:
    """The repository's stored results at ``branch``, cloned sparsely into the cache on first use.

    The clone is made in a temporary folder and renamed into place, so an interrupted fetch is redone,
    never half used. Delete the cache folder to fetch again (the results change only with the book).
    """
    key = hashlib.sha256(f"{repo}@{branch}".encode()).hexdigest()[:12]
    dest = (cache or default_cache()) / "stored" / key
    if not (dest / RESULTS_IN_REPO / MARKER).is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            clone = Path(tmp) / "repo"
            _git("clone", "--quiet", "--depth", "1", "--branch", branch, "--filter=blob:none", "--sparse",
                 repo, str(clone))
            _git("-C", str(clone), "sparse-checkout", "set", RESULTS_IN_REPO)
            if not (clone / RESULTS_IN_REPO / MARKER).is_file():
                raise GanlibError(f"{repo} at {branch} has no {RESULTS_IN_REPO}/{MARKER.as_posix()}")
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(clone, dest)
    return dest / RESULTS_IN_REPO


def find_results(candidates: Sequence[str | Path], repo: str, branch: str) -> Path:
    """The first folder of ``candidates`` that holds the stored comparisons (the notebook is in a clone of the
    repository), else the stored results of ``repo`` (a git URL) at ``branch``, fetched into the cache.
    Says which, in one line, the same line for every candidate (the English and the Chinese chapter, one
    folder apart, print the same)."""
    for local in map(Path, candidates):
        if (local / MARKER).is_file():
            print(f"stored results: {RESULTS_IN_REPO}/ of this copy of the repository")
            return local
    out = fetch_results(repo, branch)
    print(f"stored results: {RESULTS_IN_REPO}/ of {repo} at {branch}, fetched into ganlib's cache "
          f"(not beside this notebook)")
    return out
