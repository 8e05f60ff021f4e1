"""The chapters as a Colab user opens them: one .ipynb, alone, in an environment without ganlib.

The install cell installs ganlib from the repository (here a local clone of this repository's HEAD,
through GANLIB_REPO, so committed code is what gets tested) and chapter 7 then finds the stored results
without the repository beside it, fetched into the cache, and trains nothing. The install cell does
nothing where ganlib is importable. Every chapter's install cell is run_notebooks.py's template.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "tools"))
from run_notebooks import INSTALL_MARK, install_cell  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))
CHAPTER = ROOT / "book" / "07_mnist_comparison.ipynb"

# Runs inside the fresh environment: the chapter's first cells, with that environment's kernel.
DRIVER = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="colab-like").execute()
code = [c for c in nb.cells if c.cell_type == "code"]
print(json.dumps([[o.get("text", "") or o.get("ename", "") for o in c.outputs] for c in code]))
"""


def _install_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_install_cell_is_the_template_below_the_title(path):
    nb = nbformat.read(path, as_version=4)
    cell = _install_cell(nb)
    assert cell.source == install_cell(), f"{path.name}: run book/tools/run_notebooks.py --install-cell-only"
    assert nb.cells.index(cell) == 1 and nb.cells[0].source.startswith("# ")
    assert "remove-cell" in cell.metadata.get("tags", [])


def test_install_cell_does_nothing_where_ganlib_is_importable(tmp_path):
    # a repository that does not exist: any attempt to install would fail
    env = {**os.environ, "GANLIB_REPO": f"file://{tmp_path}/no-such-repository"}
    subprocess.run([sys.executable, "-c", install_cell()], check=True, env=env, cwd=tmp_path)


def _clone_head(dest: Path) -> None:
    """A clone of this repository's HEAD, its branch named as the book's (main)."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "-B", "main"], check=True)


def _fresh_env(venv: Path) -> dict:
    """A virtual environment without ganlib that sees this machine's packages (torch, Jupyter, pip itself)
    through PYTHONPATH, where no .pth file (such as an editable ganlib's) is processed. Packages pip
    installs go into the environment."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    paths = [p for p in site.getsitepackages() + [site.getusersitepackages()] if Path(p).is_dir()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANLIB_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=os.pathsep.join(paths), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
               # offline: torch & co. come from this machine; "0" is how pip spells --no-build-isolation here
               PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('ganlib'))"], env=env,
                           cwd=venv, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "None", "the fresh environment already sees ganlib"
    subprocess.run([python, "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "colab-like"], env=env,
                   check=True, capture_output=True)
    return env


def test_chapter_7_opened_alone_in_a_fresh_environment(tmp_path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to clone the repository", pytrace=False)
    _clone_head(tmp_path / "clone")
    env = _fresh_env(tmp_path / "venv")
    env.update(GANLIB_REPO=f"file://{tmp_path / 'clone'}", GANLIB_CACHE=str(tmp_path / "cache"))
    # Colab's copy of the chapter: its first cells (title, install, how the results were made, loading),
    # then where ganlib came from
    nb = nbformat.read(CHAPTER, as_version=4)
    load = next(i for i, c in enumerate(nb.cells) if "find_results" in c.source)
    nb.cells = nb.cells[:load + 1] + [nbformat.v4.new_code_cell("print(ganlib.__file__)")]
    alone = tmp_path / "content" / CHAPTER.name
    alone.parent.mkdir()
    nbformat.write(nb, alone)
    run = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-c", DRIVER, str(alone)], env=env,
                         cwd=alone.parent, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    outputs = json.loads(run.stdout.splitlines()[-1])
    text = "\n".join(t for cell in outputs for t in cell)
    assert f"book/results/ of file://{tmp_path / 'clone'} at main, fetched into ganlib's cache" in text, text
    assert "results: budget book" in text and "training the grid afresh" not in text, text
    assert outputs[-1][0].startswith(str(tmp_path / "venv")), f"ganlib imported from {outputs[-1]}"
    assert (tmp_path / "cache" / "stored").is_dir() and not (alone.parent / "runs").exists()


def test_results_beside_the_notebook_are_used_as_they_are(tmp_path, capsys):
    from ganlib.fetch import find_results

    (tmp_path / "results" / "grid").mkdir(parents=True)
    (tmp_path / "results" / "grid" / "results.json").write_text("{}")
    # the Chinese notebook (book/zh) finds book/results one folder up, and says the same as the English one
    candidates = [tmp_path / "zh" / "results", tmp_path / "results"]
    assert find_results(candidates, "file:///no/such/repository", "main") == tmp_path / "results"
    assert capsys.readouterr().out == "stored results: book/results/ of this copy of the repository\n"


def test_a_failed_fetch_is_one_clear_line(tmp_path, monkeypatch):
    from ganlib import GanlibError
    from ganlib.fetch import find_results

    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(GanlibError, match=r"^git clone failed: fatal: .*no-such-repository"):
        find_results([tmp_path / "results"], f"file://{tmp_path}/no-such-repository", "main")
    assert not list((tmp_path / "cache" / "stored").iterdir())  # nothing half-fetched is left to be reused
