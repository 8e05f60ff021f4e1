"""How much English a reader meets on the Chinese pages: the share of English among the visible words of each
built Chinese page's article, printouts included, code left out.

Counted: the article's visible text (its prose, tables, captions, notes and the chapters' printed outputs).
Left out: code (code cells, code blocks, inline code), formulas, citations and the bibliography, URLs, the
heading anchors and the language switch, the glossary's column of English terms (a table headed "English"),
and words that Chinese technical writing keeps in Latin letters: the losses' and metrics' names, symbols
and abbreviations (a word in capitals, or with a digit), the names of the cited authors (from
book/references.bib), and the Latin words that the glossary (chapter 8) itself keeps.
A Chinese word is 1.6 Chinese characters (the average length of a word of modern Chinese text). A page fails
above ``LIMIT``; the share of every page is printed at the end of the test run.

The book is the one CI has just built (``GANLIB_BOOK_HTML``, set by .ci/run), or a fresh build.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "tools"))
import translate  # noqa: E402

bs4 = pytest.importorskip("bs4")  # installed with the book's theme

LIMIT = 0.05
CHARACTERS_PER_WORD = 1.6
# names that stay Latin in Chinese ML writing: the six losses, the metrics, the datasets, tools and maths names
LATIN = {
    "minimax", "nonsaturating", "non-saturating", "wgan", "wgan-gp", "lsgan", "hinge", "bce", "gan", "gans",
    "dcgan", "fcd", "fid", "jsd", "kl", "tv", "w1", "logit", "logits", "mnist", "fashion-mnist", "fashion", "colab",
    "ganlib", "pytorch", "torch", "numpy", "scipy", "matplotlib", "jupyter", "python", "adam", "rmsprop", "sgd",
    "relu", "leakyrelu", "tanh", "sigmoid", "softmax", "batchnorm", "layernorm", "lipschitz", "fréchet", "frechet",
    "wasserstein", "jensen", "shannon", "jensen-shannon", "kullback", "leibler", "pearson", "gaussian", "dirac",
    "cuda", "cpu", "gpu", "nvidia", "et", "al", "vs", "max", "min", "log", "exp", "sign", "std", "mean", "ok",
    "kantorovich", "rubinstein", "student", "welch", "holm", "bonferroni", "monte", "carlo", "sha",
}
# what is not prose: code, formulas, citations, anchors, the language switch
SKIP = ("div.cell_input", "div[class*='highlight-python']", "div[class*='highlight-ipython']",
        "div[class*='highlight-default']", "div[class*='highlight-bash']", "div[class*='highlight-text']",
        "code", "span.math", "div.math", "mjx-container", ".bibtex-citation", "div.citation", "div.citation-list",
        "dl.citation", "a.headerlink", "div.edition-switch", "script", "style", "img")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:[-'][A-Za-zÀ-ÿ]+)*")
_URL = re.compile(r"https?://\S+|\b[\w.-]+\.(?:com|org|net|io|work|html|ipynb|py|json|md)\b")


def author_names() -> set[str]:
    """The surnames and given names in book/references.bib's author fields, lower case."""
    bib = (ROOT / "book" / "references.bib").read_text()
    authors = " ".join(re.findall(r"author\s*=\s*[{\"](.*?)[}\"],?\s*$", bib, re.M | re.I))
    return {w.lower() for w in _WORD.findall(authors)}


def glossary_latin() -> set[str]:
    """Latin words that the glossary's Chinese column itself uses (the glossary keeps them in Latin)."""
    return {w.lower() for _, chinese in translate.glossary() for w in _WORD.findall(chinese)}


KEPT = LATIN | author_names() | glossary_latin()


def is_english(word: str) -> bool:
    """A word of English prose: not a kept name, an abbreviation (two capitals or more), a symbol (one letter)."""
    return len(word) > 1 and word.lower() not in KEPT and sum(c.isupper() for c in word) < 2


def visible_text(page: str) -> str:
    """The article's text that a reader sees as prose or printout, without what ``SKIP`` leaves out."""
    soup = bs4.BeautifulSoup(page, "html.parser")
    article = soup.select_one("article.bd-article") or soup
    for selector in SKIP:
        for element in article.select(selector):
            element.decompose()
    for table in article.select("table"):  # the glossary's column of English terms
        header = table.select_one("thead th, tr th")
        if header is not None and header.get_text(strip=True) == "English":
            for row in table.select("tr"):
                cells = row.find_all(["th", "td"], recursive=False)
                if cells:
                    cells[0].decompose()
    return _URL.sub(" ", article.get_text(" "))


def measure(text: str) -> tuple[float, list[str]]:
    """The English share of ``text`` (English words over English words plus Chinese words) and its English
    words."""
    english = [w for w in _WORD.findall(text) if is_english(w)]
    chinese_words = len(_CJK.findall(text)) / CHARACTERS_PER_WORD
    total = len(english) + chinese_words
    return (len(english) / total if total else 0.0), english


# --- the measure can fail, and counts as documented --------------------------------------------------------

def test_the_measure_counts_english_prose_and_leaves_out_code_math_names_and_citations():
    page = """<article class="bd-article"><p>生成器学习得很快。Note: these results predate the rule.</p>
      <div class="cell_input"><pre>print("a long English comment in code")</pre></div>
      <div class="cell_output"><pre>step 10: loss 0.5</pre></div>
      <p><span class="math">\\(\\mathbb{E} x\\)</span> <code>train(cfg)</code> WGAN-GP FCD minimax W1 Goodfellow
      <span class="bibtex-citation">Arjovsky et al.</span> https://example.org/a 见 x 和 y。</p>
      <table><thead><tr><th>English</th><th>中文</th></tr></thead>
      <tbody><tr><td>mode collapse</td><td>模式崩溃</td></tr></tbody></table></article>"""
    text = visible_text(page)
    share, english = measure(text)
    assert english == ["Note", "these", "results", "predate", "the", "rule", "step", "loss"]
    chinese = len("生成器学习得很快见和中文模式崩溃") / CHARACTERS_PER_WORD
    assert share == pytest.approx(8 / (8 + chinese))
    assert measure("只有中文。")[0] == 0.0 and measure("only English here")[0] == 1.0


# --- the Chinese pages ---------------------------------------------------------------------------------------

SHARES: dict[str, tuple[float, int]] = {}  # page -> (share, English words): printed by tests/conftest.py


@pytest.mark.parametrize("chapter", translate.chapters())
def test_a_chinese_page_is_at_most_five_percent_english(html_dir, chapter):
    page = html_dir / "zh" / f"{chapter}.html"
    assert page.exists(), f"{page} was not built"
    share, english = measure(visible_text(page.read_text(encoding="utf-8")))
    SHARES[chapter] = (share, len(english))
    common = ", ".join(f"{w} ({n})" for w, n in Counter(w.lower() for w in english).most_common(25))
    assert share <= LIMIT, (f"zh/{chapter}.html: {share:.1%} of the visible words are English, above {LIMIT:.0%} "
                            f"({len(english)} words; most frequent: {common})")


def report() -> str:
    """The measured share of every page, for the end of the test run."""
    lines = [f"{'page':<24} {'English':>8} {'words':>6}"]
    lines += [f"{page:<24} {share:>7.1%} {n:>6}" for page, (share, n) in SHARES.items()]
    return "\n".join(lines)
