"""Execute the chapters top to bottom with nbclient and store their outputs (widget state included).

    python book/tools/run_notebooks.py                 # every chapter, GANLIB_BUDGET=book
    python book/tools/run_notebooks.py book/03_bce_loss.ipynb --budget smoke

    python book/tools/run_notebooks.py --install-cell-only   # rewrite the install cells, run nothing

This is the only way the stored outputs are made: the book builds with execution off, and nbval
compares a fresh run against them. Each notebook is written atomically, only if it ran cleanly and its
outputs pass book/tools/output_check.py (no absolute path, no repeated stderr line).
Every chapter's install cell is (re)written from one template, with the repository URL and branch
from _config.yml.

Then each chapter's Chinese notebook is made again (book/tools/translate.py: the English code, Chinese
comments and the Chinese install cell, which sets GANLIB_LANG=zh_CN) and run the same way, so that its
figures and printouts are drawn in Chinese; it is saved only if every output that nbval compares prints the
same numbers as the English run. ``--chinese-only`` runs just the Chinese notebooks.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ganlib.files import atomic_path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from output_check import problems  # noqa: E402

EXECUTED = "ganlib_outputs"  # the metadata of a Chinese notebook run here (translate.py keeps its outputs)

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
# The Chinese edition's install cell: the same, and it chooses the language of ganlib's figures and printouts
# (GANLIB_LANG, read by ganlib.language), so that the chapters' code is the same in both editions; the
# figures need a font with Chinese glyphs, which Colab lacks: there the cell installs Debian's.
INSTALL_CELL_ZH = """\
# ganlib-install：缺少 ganlib 时（如在 Colab 上），从课程仓库安装
import importlib, importlib.util, os, subprocess, sys
REPO = os.environ.get("GANLIB_REPO", "{url}")
BRANCH = "{branch}"
os.environ["GANLIB_LANG"] = "zh_CN"  # 中文版：ganlib 的图和输出用中文
if importlib.util.find_spec("ganlib") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", f"git+{{REPO}}@{{BRANCH}}"])
    importlib.invalidate_caches()
if "google.colab" in sys.modules and not subprocess.run(["fc-list", ":lang=zh"], capture_output=True).stdout:
    # Colab 没有中文字体：装上文泉驿微米黑，图中的中文才不会显示成方框
    subprocess.check_call("apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei", shell=True)"""
INSTALL_CELLS = {"en": INSTALL_CELL, "zh_CN": INSTALL_CELL_ZH}


def repository() -> tuple[str, str]:
    """The repository URL and branch, read from _config.yml (the single place they are set)."""
    text = (ROOT / "_config.yml").read_text()
    url = re.search(r"^\s+url:\s*(\S+)", text, re.M)
    branch = re.search(r"^\s+branch:\s*(\S+)", text, re.M)
    if not (url and branch):
        sys.exit("run_notebooks: no repository url or branch in _config.yml")
    return url.group(1), branch.group(1)


def install_cell(language: str = "en") -> str:
    """The install cell of the edition in ``language`` (``en`` or ``zh_CN``)."""
    url, branch = repository()
    return INSTALL_CELLS[language].format(url=url, branch=branch)


def set_install_cell(nb: nbformat.NotebookNode, source: str) -> None:
    """Replace the source of the chapter's install cell (found by its mark) with ``source``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source]
    if len(cells) != 1:
        sys.exit(f"run_notebooks: expected one install cell (marked {INSTALL_MARK!r}), found {len(cells)}")
    cells[0].source = source


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    with atomic_path(path) as tmp:
        nbformat.write(nb, str(tmp))


def run(path: Path, budget: str, timeout: int, language: str = "en") -> float:
    nb = nbformat.read(path, as_version=4)
    set_install_cell(nb, install_cell(language))
    # nbclient stores the state of the widgets this run creates, and keeps an old state when it creates
    # none: a stale state would make the book load the widget manager for nothing
    nb.metadata.pop("widgets", None)
    os.environ["GANLIB_BUDGET"] = budget
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    found = problems(nb) + missing_glyphs(nb)
    if language != "en":
        found += different_numbers(nbformat.read(ROOT / "book" / path.name, as_version=4), nb)
        nb.metadata[EXECUTED] = {"language": language, "budget": budget}
    if found:
        sys.exit(f"{path.name}: NOT saved, its outputs must not carry these:\n  " + "\n  ".join(found))
    save(nb, path)
    return time.perf_counter() - start


def missing_glyphs(nb: nbformat.NotebookNode) -> list[str]:
    """matplotlib's warnings of characters that its font lacks: a figure that shows them as boxes."""
    return [f"cell {i}: a figure lacks glyphs: {line.strip()[:120]}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("output_type") == "stream"
            for line in output.get("text", "").splitlines() if "missing from font" in line]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def numbers(cell: nbformat.NotebookNode) -> list[str]:
    """The numbers of a code cell's text outputs (printed text and plain-text results), in order."""
    text = "".join(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                   for o in cell.get("outputs", []) if o.output_type != "display_data" or "text/html" not in o.data)
    # a figure's repr (<Figure size 800x256 with 2 Axes>) says nothing about the run; 3,000 is 3000
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", re.sub(r"<Figure size [^>]*>", "", text))
    return _NUMBER.findall(text)


def different_numbers(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> list[str]:
    """Cells whose outputs, which nbval compares (not tagged nbval-ignore-output), print other numbers in the
    Chinese run than in the stored English one: the editions must show the same results. The numbers are
    compared as a multiset, since a Chinese sentence may put them in another order."""
    found = []
    for i, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type == "code" and "nbval-ignore-output" not in en.metadata.get("tags", []):
            only_en, only_zh = Counter(numbers(en)) - Counter(numbers(zh)), Counter(numbers(zh)) - Counter(numbers(en))
            if only_en or only_zh:
                found.append(f"cell {i}: numbers only the English run printed {sorted(only_en.elements())[:6]}, "
                             f"only the Chinese run printed {sorted(only_zh.elements())[:6]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to run (default: all of book/)")
    parser.add_argument("--budget", default="book", choices=("smoke", "book", "full"))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--install-cell-only", action="store_true",
                        help="rewrite each chapter's install cell from the template, execute nothing")
    parser.add_argument("--chinese-only", action="store_true",
                        help="run only the Chinese notebooks (after a change to the translations of the code)")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "book").glob("[0-9]*.ipynb"))
    for p in paths:
        if p.resolve().parent != ROOT / "book":
            sys.exit(f"run_notebooks: {p} is not an English chapter (book/*.ipynb); its Chinese notebook in "
                     "book/zh is made from it by book/tools/translate.py and run after it")
    import translate  # here: translate imports this module's install cell template

    for p in paths:
        if args.install_cell_only:
            nb = nbformat.read(p, as_version=4)
            set_install_cell(nb, install_cell())
            save(nb, p)
            continue
        if not args.chinese_only:
            print(f"{p.name}: running with GANLIB_BUDGET={args.budget} ...", flush=True)
            print(f"{p.name}: done in {run(p, args.budget, args.timeout):.0f} s", flush=True)
        # the Chinese notebook: the new English code with the Chinese comments and install cell, then run
        translate.main(["--chapter", p.stem])
        zh = ROOT / "book" / translate.ZH_FOLDER / p.name
        print(f"{zh.relative_to(ROOT)}: running in Chinese with GANLIB_BUDGET={args.budget} ...", flush=True)
        print(f"{zh.relative_to(ROOT)}: done in {run(zh, args.budget, args.timeout, 'zh_CN'):.0f} s", flush=True)
    translate.main([arg for p in paths for arg in ("--chapter", p.stem)])


if __name__ == "__main__":
    main()
