"""A local Sphinx extension (named in both editions' _config.yml): the English and the Chinese edition.

Every page links to the same page in the other language (a visible link at the top of the article, and
``<link rel="alternate" hreflang>`` for search engines); a Chinese page with untranslated blocks says how
many (they are shown in English). The English build, once it has finished without an error, builds the
Chinese edition from ``book/zh`` (made by ``book/tools/translate.py``) with the same strictness (``-W``,
``-n``, ``--keep-going``) and copies it to ``<html>/zh``: one ``jupyter-book build .`` builds both, and a
warning in either fails it.
"""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from sphinx.errors import ExtensionError

ZH = "zh"  # the Chinese edition's folder, in the sources (book/zh) and in the built site (<html>/zh)
ENGLISH_PREFIX = "book/"  # the English chapters' page names start with it (the book's root is the repository)
COVERAGE = "translation.json"  # translate.py writes both into book/zh
SEARCH_TERMS = "search_terms.txt"  # a jieba user dictionary: the glossary's Chinese words


def is_english(app) -> bool:
    return app.config.language in (None, "", "en")


def other_page(app, pagename: str) -> str:
    """The site path (from the site's root, .html included) of ``pagename``'s twin in the other language."""
    if is_english(app):
        return f"{ZH}/{pagename.removeprefix(ENGLISH_PREFIX)}.html"
    chapter = pagename in app.env.found_docs
    return f"{ENGLISH_PREFIX if chapter else ''}{pagename}.html"


def _untranslated(app, pagename: str) -> int:
    """How many blocks of a Chinese page are still English (from translate.py's coverage file)."""
    path = Path(app.srcdir) / COVERAGE
    if is_english(app) or not path.exists():
        return 0
    counts = json.loads(path.read_text())["chapters"].get(pagename)
    return counts["total"] - counts["translated"] if counts else 0


def add_language_link(app, pagename, templatename, context, doctree) -> None:
    site_path = pagename if is_english(app) else f"{ZH}/{pagename}"
    href = posixpath.relpath(other_page(app, pagename), posixpath.dirname(site_path) or ".")
    if is_english(app):
        label, lang, title = "中文", "zh-CN", "本页的中文版"
    else:
        label, lang, title = "English", "en", "This page in English"
    note = ""
    missing = _untranslated(app, pagename)
    if missing:
        note = f'<span class="edition-note">本页有 {missing} 段尚未翻译，以英文原文显示。</span>'
    link = (f'<div class="edition-switch"><a class="edition-link" href="{html.escape(href)}" hreflang="{lang}" '
            f'lang="{lang}" title="{title}">{label}</a>{note}</div>\n')
    if "body" in context:
        context["body"] = link + context["body"]
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{lang}" href="{html.escape(href)}" />')


def chinese_search_words(app) -> None:
    """Sphinx's Chinese search index cuts text into words with jieba; the glossary's terms, written by
    translate.py into search_terms.txt, are added to its dictionary (Sphinx loads it from this path)."""
    terms = Path(app.srcdir) / SEARCH_TERMS
    if not is_english(app) and terms.exists():
        app.config.html_search_options = {**(app.config.html_search_options or {}), "dict": str(terms)}


BORDER = re.compile(r"^(\x1b\[[0-9;]*m)*=+(\x1b\[[0-9;]*m)*$")  # jupyter-book's box edge, maybe coloured


def without_closing_box(lines: Iterable[str]) -> Iterator[str]:
    """The Chinese build's output without jupyter-book's closing box, which calls the build's work folder
    (``_build/zh/_build/html``) "your book's HTML pages": readers open its copy in ``<html>/zh``, said after."""
    held: list[str] = []  # a box edge and what follows it, until it is clear whether this is the closing box
    skipping = False
    for line in lines:
        if skipping:
            skipping = not BORDER.match(line.strip())
            continue
        if held and "Finished generating HTML" in line:
            held, skipping = [], True
            continue
        if BORDER.match(line.strip()) or (held and not line.strip()):
            held.append(line)
            continue
        yield from held
        held = []
        yield line
    yield from held


def build_chinese(app, exception) -> None:
    """After a clean English HTML build: build book/zh the same way and copy it to <html>/zh."""
    if exception is not None or not is_english(app) or app.builder.name != "html":
        return
    source = Path(app.srcdir) / "book" / ZH
    work = Path(app.outdir).parent / ZH  # jupyter-book writes <work>/_build/html
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(source),
               "--path-output", str(work)]
    command += ["-W"] * app.warningiserror + ["-n"] * app.config.nitpicky
    command += ["--keep-going"] * bool(getattr(app, "keep_going", False))
    print(f"building the Chinese edition from book/{ZH} (book/tools/editions.py)", flush=True)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as build:
        for line in without_closing_box(build.stdout):
            print(line, end="", flush=True)
    if build.returncode != 0:
        raise ExtensionError(f"the Chinese edition (book/{ZH}) failed to build: see its messages above")
    shutil.copytree(work / "_build" / "html", Path(app.outdir) / ZH, dirs_exist_ok=True)
    print(f"the Chinese edition is in {os.path.relpath(Path(app.outdir) / ZH)}{os.sep}", flush=True)


def setup(app) -> dict:
    app.connect("builder-inited", chinese_search_words)
    app.connect("html-page-context", add_language_link)
    app.connect("build-finished", build_chinese)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
