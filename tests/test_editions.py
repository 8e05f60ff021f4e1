"""book/tools/editions.py: what the English build prints of the Chinese build it runs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "tools"))

from editions import without_closing_box  # noqa: E402

EDGE = "\x1b[32m" + "=" * 79 + "\x1b[0m\n"  # jupyter-book's box edge, coloured on a terminal


def test_the_chinese_builds_closing_box_naming_its_work_folder_is_left_out():
    printed = ["reading sources... [100%] intro\n", "build succeeded.\n", "\n", EDGE, "\n",
               "Finished generating HTML for book.\n", "Your book's HTML pages are here:\n",
               "    _build/zh/_build/html/\n", "You can look at your book by opening this file in a browser:\n",
               "    _build/zh/_build/html/index.html\n", "\n", EDGE, "\n"]
    kept = "".join(without_closing_box(printed))
    assert kept == "reading sources... [100%] intro\nbuild succeeded.\n\n\n"
    assert "_build/zh/_build/html" not in kept


def test_every_other_line_is_kept_in_order():
    printed = ["a\n", "=====\n", "\n", "b\n", "WARNING: x\n", EDGE, "Error box\n", EDGE, "c"]
    assert list(without_closing_box(printed)) == printed
