"""ganlib as a package a stranger installs: importing it is quiet (no pyplot, no changed matplotlib settings),
works without POSIX's fcntl, survives ``python -OO``, keeps its layers, and has one version."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ganlib

ROOT = Path(__file__).resolve().parents[1]
# lower layers first; a module may import from its own layer and the layers before it, never from a later one
LAYERS = [
    {"errors", "language", "files", "cli_args", "compare_paths", "source_code", "devices"},
    {"datasets", "data", "models", "losses", "images", "divergences", "dirac"},
    {"config", "step", "checkpoint", "loop"},  # training, in that order (tested below)
    {"classifier", "metrics", "bench"},
]
TRAINING_ORDER = ["config", "step", "checkpoint", "loop"]


def fresh_python(code: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter from the repository root, with matplotlib's defaults (no backend
    from the environment, an empty config folder), and return the finished process."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(MPLCONFIGDIR=str(tmp_path / "mpl"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *flags, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_ganlib_leaves_pyplot_and_matplotlib_settings_alone(tmp_path):
    done = fresh_python("""
        import sys
        import ganlib
        assert "matplotlib.pyplot" not in sys.modules, "import ganlib imported matplotlib.pyplot"
        import matplotlib
        # dict.__getitem__: reading rcParams["backend"] the usual way would import pyplot to resolve it
        changed = [k for k in matplotlib.rcParamsDefault
                   if dict.__getitem__(matplotlib.rcParams, k) != dict.__getitem__(matplotlib.rcParamsDefault, k)]
        assert not changed, f"import ganlib changed rcParams {changed}"
        print("ok")
        """, tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_ganlib_works_without_fcntl_and_says_so_when_it_cannot_lock(tmp_path):
    done = fresh_python(f"""
        import sys, warnings
        sys.modules["fcntl"] = None  # as on a system without it: import fcntl raises ImportError
        import ganlib
        from ganlib.files import lock_folder
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with lock_folder({str(tmp_path / "run")!r}):
                pass
        assert len(seen) == 1 and "not locked" in str(seen[0].message), [str(w.message) for w in seen]
        print(str(seen[0].message))
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "has no fcntl" in done.stdout


def test_the_cli_help_works_without_docstrings(tmp_path):
    # the top-level help builds every subcommand's parser (and so reads their descriptions)
    for command in ([], ["bench"]):
        done = subprocess.run([sys.executable, "-OO", "-m", "ganlib", *command, "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "usage:" in done.stdout, (command, done.stderr[-2000:])


def test_the_protocols_and_the_classifiers_record_need_no_docstrings(tmp_path):
    # compare writes describe() into results.json and train-classifier records ARCHITECTURE: neither may
    # read a docstring, which python -OO removes
    done = fresh_python("""
        from ganlib import protocols, classifier
        protocols.describe()
        """, tmp_path, "-OO")
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_version_is_written_once():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ganlib.__version__"}
    setuptools = pytest.importorskip("setuptools.config.pyprojecttoml")
    # what a build of the package would write as its version
    assert setuptools.read_configuration(ROOT / "pyproject.toml")["project"]["version"] == ganlib.__version__


def test_ganlib_train_is_the_training_function_and_nothing_else():
    from ganlib import loop, train

    assert train is ganlib.train is loop.train and "ganlib.train" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        __import__("ganlib.train")
    result = train(ganlib.TrainConfig(loss="hinge", dataset="ring", steps=2, batch_size=8, device="cpu"),
                   verbose=False, progress=False)
    assert result.step == 2


def test_the_training_modules_import_only_those_before_them():
    for i, name in enumerate(TRAINING_ORDER):
        later = imported_modules(ROOT / "ganlib" / f"{name}.py") & set(TRAINING_ORDER[i + 1:])
        assert not later, f"ganlib/{name}.py imports {sorted(later)}, which build on it"


def imported_modules(path: Path) -> set[str]:
    """The ganlib modules ``path`` imports anywhere, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganlib."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ganlib.")}
    return names


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_no_module_imports_from_a_later_layer(layer):
    allowed = set().union(*LAYERS[:layer + 1])
    for name in sorted(LAYERS[layer]):
        upward = imported_modules(ROOT / "ganlib" / f"{name}.py") - allowed
        assert not upward, f"ganlib/{name}.py imports {sorted(upward)}, which build on it"
