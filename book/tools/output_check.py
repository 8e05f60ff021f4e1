"""What a stored output must not carry: an absolute file path (it names the machine that ran the notebook,
and means nothing to a reader) or a stderr line printed more than once in a chapter (noise).

run_notebooks.py refuses to save a notebook that fails these checks; tests/test_outputs.py applies them
to every committed notebook and to the stored comparison results.
"""

from __future__ import annotations

import re
from collections import Counter

import nbformat

# An absolute path of at least two parts ("/srv/ann/data", not "images/s", "1/2" or a URL's path).
ABS_PATH = re.compile(r"(?<![\w.:/~\\-])/(?:[\w.+-]+/)+[\w.+-]*")
# Embedded images are base64, whose alphabet includes "/": they are not text a reader sees.
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]*")


def absolute_paths(text: str) -> list[str]:
    """Every absolute path in ``text`` (data URIs skipped)."""
    return ABS_PATH.findall(DATA_URI.sub("", text))


def _texts(output: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(kind, text) of everything textual in one output: streams, tracebacks, text/* and JSON data."""
    if output.output_type == "stream":
        return [(output.name, output.text)]
    if output.output_type == "error":
        return [("error", "\n".join(output.traceback))]
    texts = []
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            texts.append((mime, value if isinstance(value, str) else str(value)))
    return texts


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """One line per problem: the cell (counting code cells from 1 as Jupyter shows them) and what is wrong."""
    found: list[str] = []
    stderr_lines: Counter = Counter()
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, 1):
        for output in cell.get("outputs", []):
            for kind, text in _texts(output):
                found += [f"code cell {number}: absolute path {p!r} in its {kind} output"
                          for p in absolute_paths(text)]
                if kind == "stderr":
                    stderr_lines.update(line.strip() for line in text.splitlines() if line.strip())
    found += [f"stderr line printed {n} times: {line[:100]!r}" for line, n in stderr_lines.items() if n > 1]
    return found
