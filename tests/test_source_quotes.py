"""Quotations of the source article are verbatim.

The course grew from 郭震's article "13 只生成改善GAN训练之使用不同的损失函数" (IT教程网,
https://zglg.work/gan-network-tutorial/13/, 2024-08-10; ``guo2024losses`` in book/references.bib). The book quotes it
in Chinese, in the English pages (beside an English translation) and in the Chinese catalogues alike.

The marker: a quotation of the article is the text between Chinese corner brackets, 「…」, and nothing else in the
book's sources uses these brackets. A quotation is copied from the article character for character, including the
article's ASCII punctuation ("," and "(" where the article has them), and stays on one line of its source
(a line break inside it would show as a space on the page). An empty pair, 「」, names the marker and quotes
nothing.

Where the quotations are collected: the English pages (``book/*.md``) and the markdown cells of the chapters
(``book/*.ipynb``), and every ``msgid`` and ``msgstr`` of the catalogues
(``book/locale/zh_CN/LC_MESSAGES/*.po``). ``book/zh/`` is made from these by book/tools/translate.py and is not read.

The article's text is not part of the repository: ``GANLIB_SOURCE_ARTICLE`` names the file (UTF-8, the article as
published). Without it, or without the file, the test against the article skips; the check that each Chinese
translation keeps the quotations of its English block needs no article and always runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CATALOGUES = BOOK / "locale" / "zh_CN" / "LC_MESSAGES"
ARTICLE = os.environ.get("GANLIB_SOURCE_ARTICLE", "")
QUOTE = re.compile(r"「([^」]*)」")


def quotes(text: str) -> list[str]:
    """The quotations in ``text``: what stands between 「 and 」 (an empty pair quotes nothing)."""
    return [q for q in QUOTE.findall(text) if q]


def english_sources() -> dict[str, str]:
    """Every English markdown text of the book: the markdown pages, and each chapter's markdown cells."""
    texts = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in sorted(BOOK.glob("*.md"))}
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                texts[f"{path.relative_to(ROOT).as_posix()}, cell {i}"] = cell.source
    return texts


def catalogue_messages() -> list[tuple[str, str, str, bool]]:
    """(where, msgid, msgstr, fuzzy) of every message of the Chinese catalogues."""
    found = []
    for path in sorted(CATALOGUES.glob("*.po")):
        with path.open("rb") as f:
            catalog = read_po(f, charset="utf-8")
        for message in catalog:
            if message.id:
                where = f"{path.relative_to(ROOT).as_posix()}: {message.id[:50]!r}"
                found.append((where, message.id, message.string or "", message.fuzzy))
    return found


def all_quotations() -> list[tuple[str, str]]:
    """(where, quotation) of every quotation in the English sources and in the catalogues."""
    found = [(where, q) for where, text in english_sources().items() for q in quotes(text)]
    for where, msgid, msgstr, _ in catalogue_messages():
        found += [(f"{where} (msgid)", q) for q in quotes(msgid)]
        found += [(f"{where} (msgstr)", q) for q in quotes(msgstr)]
    return found


def test_the_book_quotes_the_article_in_both_languages():
    """The marker is in use on both sides; the Chinese side is the catalogues' translations."""
    english = [q for text in english_sources().values() for q in quotes(text)]
    chinese = [q for _, _, msgstr, _ in catalogue_messages() for q in quotes(msgstr)]
    assert english, "no 「…」 quotation of the source article in the English pages"
    assert chinese, "no 「…」 quotation of the source article in the Chinese catalogues"


def test_every_quotation_stays_on_one_line():
    broken = [f"{where}: 「{q}」" for where, q in all_quotations() if "\n" in q]
    assert not broken, "quotations broken across lines:\n" + "\n".join(broken)


def test_each_translation_keeps_the_quotations_of_its_english_block():
    """A block that quotes the article in English quotes the same words in its Chinese translation."""
    missing = []
    for where, msgid, msgstr, fuzzy in catalogue_messages():
        if msgstr and not fuzzy:
            lost = [q for q in quotes(msgid) if q not in quotes(msgstr)]
            missing += [f"{where}: 「{q}」" for q in lost]
    assert not missing, "quotations of the English missing from its translation:\n" + "\n".join(missing)


@pytest.fixture(scope="module")
def article() -> str:
    if not ARTICLE:
        pytest.skip("GANLIB_SOURCE_ARTICLE is not set (the path of the source article's text)")
    path = Path(ARTICLE)
    if not path.is_file():
        pytest.skip(f"GANLIB_SOURCE_ARTICLE={ARTICLE} is not a file")
    return path.read_text(encoding="utf-8")


def test_every_quotation_is_in_the_article_verbatim(article):
    found = all_quotations()
    wrong = [f"{where}: 「{q}」" for where, q in found if q not in article]
    assert not wrong, "quotations not found verbatim in the source article:\n" + "\n".join(wrong)
    assert len({q for _, q in found}) >= 5, "expected the book to quote at least five passages of the article"


def test_the_quote_check_catches_a_paraphrase_and_a_changed_comma(article):
    """Full-width punctuation, or a single changed character, is not the article's text."""
    sentence = "WGAN有助于解决模式崩溃问题,并在生成样本分布与真实样本分布更接近时实现了更好的性能"
    assert sentence in article
    assert sentence.replace(",", "，") not in article
    assert "WGAN有助于解决模式坍塌问题" not in article
    assert quotes("说「WGAN有助于解决模式崩溃问题」（见第 4 章）与「」") == ["WGAN有助于解决模式崩溃问题"]
