"""Stored outputs carry nothing of the machine that made them: every committed chapter and the stored
comparison results are free of absolute paths, and no chapter prints the same stderr line twice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "tools"))
from output_check import absolute_paths, problems  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def _strings(obj) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_outputs_are_clean(path):
    found = problems(nbformat.read(path, as_version=4))
    assert not found, f"{path.name} (re-run it with book/tools/run_notebooks.py after fixing the source):\n  " + \
        "\n  ".join(found)


STORED = sorted((ROOT / "book" / "results").rglob("results.json"))


@pytest.mark.parametrize("path", STORED, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_results_name_no_machine_path(path):
    found = [p for s in _strings(json.loads(path.read_text())) for p in absolute_paths(s)]
    assert not found, f"{path.relative_to(ROOT)}: {found}"


def test_the_stored_results_are_found():
    # the grid trained on the 2-core CPU (book/results/grid) and the ring's grid
    assert [p.relative_to(ROOT).as_posix() for p in STORED] == ["book/results/grid/results.json",
                                                                "book/results/ring/results.json"]


def test_the_check_finds_paths_and_repeated_stderr_lines_but_not_urls_or_ratios():
    assert absolute_paths("loaded from /srv/ann/data (test split)") == ["/srv/ann/data"]
    assert absolute_paths("see https://github.com/a/b/blob/main/x.ipynb, 64 images/s, 1/2, and/or") == []
    assert absolute_paths('<img src="data:image/png;base64,AAA+/usr/lib/BBB=">') == []
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="ganlib data: mnist, 10,000 images\n"),
        nbformat.v4.new_output("stream", name="stderr", text="ganlib data: mnist, 10,000 images\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "'/opt/x/y'"}, execution_count=1)])])
    found = problems(nb)
    assert any("absolute path '/opt/x/y'" in p for p in found) and any("printed 2 times" in p for p in found)
