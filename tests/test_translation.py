"""The Chinese edition (book/tools/translate.py): made from the English sources and the catalogues, never
edited by hand, with the English code (its comments translated) and outputs of its own that print the English
numbers; translations that keep every formula, code name and number; English edits that show up as
untranslated instead of breaking anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "tools"))
import translate  # noqa: E402

NOTEBOOKS = [c for c in translate.chapters() if translate.source(c).suffix == ".ipynb"]


@pytest.fixture(scope="module")
def edition() -> translate.Edition:
    return translate.edition()


def test_blocks_put_back_together_are_the_text_and_fences_and_formulas_stay_whole():
    text = "# Title\n\nA $x$ line.\nSecond line.\n\n\n```python\na = 1\n\nb = 2\n```\n\n$$\nx\n\ny\n$$\n\nEnd"
    pieces = translate.split_blocks(text)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, gap in pieces if not gap] == [
        "# Title\n", "A $x$ line.\nSecond line.\n", "```python\na = 1\n\nb = 2\n```\n", "$$\nx\n\ny\n$$\n", "End"]
    for chapter in translate.chapters():
        for _, cell in translate.markdown_cells(chapter):
            assert "".join(p for p, _ in translate.split_blocks(cell)) == cell


def test_only_blocks_with_words_are_messages():
    assert translate.has_prose("The **generator** $G$.")
    assert translate.has_prose(":::{dropdown} Derivation\n$$x$$\n")
    assert translate.has_prose("```{note}\nA note.\n```")
    for block in ("$$\nL_D = \\mathbb{E}[\\text{loss}]\n$$", "```python\nloss = model(x)\n```", "(sec-label)=",
                  "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x.org/a)",
                  "```{bibliography}\n```"):
        assert not translate.has_prose(block), block


def test_the_checks_catch_a_changed_formula_number_role_or_structure_and_accept_a_faithful_translation():
    english = "The **generator** $G$ trains for 1,500 steps; see {doc}`01_gan_basics` and `ganlib.train`."
    assert translate.problems(english, "**生成器** $G$ 训练 1500 步；见 {doc}`01_gan_basics` 和 `ganlib.train`。") == []
    for wrong in ("**生成器** $G_1$ 训练 1500 步；见 {doc}`01_gan_basics` 和 `ganlib.train`。",
                  "**生成器** $G$ 训练 1600 步；见 {doc}`01_gan_basics` 和 `ganlib.train`。",
                  "**生成器** $G$ 训练 1500 步；见 {doc}`02_minimax_loss` 和 `ganlib.train`。",
                  "生成器 $G$ 训练 1500 步；见 {doc}`01_gan_basics` 和 `ganlib.train`。",
                  "**生成器** $G$ 训练 1500 步；见 {doc}`01_gan_basics` 和 ganlib.train。"):
        assert translate.problems(english, wrong), wrong
    assert translate.problems("- one\n- two", "- 一、二")
    assert translate.problems("One. Two.", "一。\n\n二。") == []  # a long paragraph may be split in two
    assert translate.problems("## Notation", "### 记号")
    assert translate.problems(":::{dropdown} Proof\nText.\n:::", "证明\n文本。")


def test_the_glossary_check_wants_the_glossarys_term_and_lets_a_longer_term_hide_a_shorter_one():
    pairs = [("batch size", "批大小"), ("critic", "评论家"), ("batch", "批")]
    entry = translate.Entry("The critic sees a batch; the batch size is 64.", "判别器看到一批数据；批大小为 64。")
    assert translate.term_misses(entry, pairs) == ["critic -> 评论家"]
    entry.comments = [f"{translate.EXEMPT} critic"]
    assert translate.term_misses(entry, pairs) == []
    assert translate.term_misses(translate.Entry("Use `critic` and $batch$.", "用 `critic` 和 $batch$。"), pairs) == []
    assert ("generator", "生成器") in translate.glossary()
    assert ("Pearson χ² divergence", "皮尔逊卡方散度") in translate.glossary()


def test_catalogues_keep_backslashes_quotes_newlines_and_flags(tmp_path):
    entries = [translate.Entry('A "quoted" $\\frac{a}{b}$\nsecond line', '一个“引号” $\\frac{a}{b}$\n第二行',
                               cells=[3, 5], comments=["glossary-exempt: mode"]),
               translate.Entry("New text\tend", "旧译文", fuzzy=True, previous="Old text", cells=[0])]
    path = tmp_path / "x.po"
    path.write_text(translate.write_catalogue("intro", entries))
    read = translate.read_catalogue(path)
    assert [(e.msgid, e.msgstr, e.fuzzy, e.previous, e.comments) for e in read.values()] == [
        (e.msgid, e.msgstr, e.fuzzy, e.previous, e.comments) for e in entries]


def test_merge_keeps_translations_offers_a_changed_block_as_fuzzy_and_drops_vanished_ones():
    old = {"The generator maps noise to samples.": translate.Entry("The generator maps noise to samples.",
                                                                   "生成器把噪声映射为样本。",
                                                                   comments=["glossary-exempt: noise"]),
           "Kept paragraph.": translate.Entry("Kept paragraph.", "保留的段落。"),
           "Something unrelated that was deleted entirely.": translate.Entry(
               "Something unrelated that was deleted entirely.", "删除的段落。")}
    merged = translate.merge(old, {"Kept paragraph.": [1], "The generator maps noise to images.": [2],
                                   "A completely new sentence here.": [4]})
    kept, changed, new = merged
    assert (kept.msgstr, kept.fuzzy) == ("保留的段落。", False)
    assert (changed.msgstr, changed.fuzzy, changed.previous) == ("生成器把噪声映射为样本。", True,
                                                                 "The generator maps noise to samples.")
    assert changed.comments == ["glossary-exempt: noise"]  # the translator's notes go with the translation
    assert (new.msgstr, new.fuzzy) == ("", False)
    assert not translate.usable(changed) and not translate.usable(new)


def test_the_chinese_edition_is_up_to_date_with_the_english_text_and_the_catalogues(edition):
    stale = [p.relative_to(ROOT).as_posix() for p in translate.stale(edition.files)]
    assert not stale, f"out of date: {stale}; run python3 book/tools/translate.py"
    made = {p.relative_to(ROOT).as_posix() for p in edition.files}
    # what git would commit there (tracked or new, not ignored: runs/ of an executed notebook is ignored)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "book/zh", "book/locale"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    on_disk = {p for p in listed.splitlines() if (ROOT / p).exists()}
    assert on_disk <= made, f"files in book/zh or the catalogues that translate.py does not make: {on_disk - made}"


def test_every_translation_keeps_formulas_code_and_numbers(edition):
    assert not edition.failures, "\n".join(edition.failures)


@pytest.mark.parametrize("chapter", NOTEBOOKS)
def test_the_chinese_notebook_has_the_english_code_and_cells_and_its_own_install_cell(chapter):
    from run_notebooks import EXECUTED, different_numbers, install_cell, missing_glyphs

    english = nbformat.read(translate.source(chapter), as_version=4)
    chinese = nbformat.read(translate.ZH / f"{chapter}.ipynb", as_version=4)
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    for en, zh in zip(english.cells, chinese.cells):
        if en.cell_type != "code":
            continue
        if translate.is_install_cell(en.source):
            assert zh.source == install_cell("zh_CN"), "the Chinese install cell is not run_notebooks.py's template"
        else:
            # the same code; only the comments are translated
            assert translate.without_comments(zh.source) == translate.without_comments(en.source), \
                f"code cell {en.get('id')} differs from the English one"
        assert zh.metadata == en.metadata
    assert {k: v for k, v in chinese.metadata.items() if k not in (EXECUTED, "widgets")} == \
        {k: v for k, v in english.metadata.items() if k != "widgets"}
    if EXECUTED in chinese.metadata:  # run in Chinese: the same numbers wherever nbval compares outputs
        assert different_numbers(english, chinese) == []
        assert missing_glyphs(chinese) == [], "a figure of the Chinese notebook shows boxes for missing characters"
    else:
        assert [c.get("outputs") for c in chinese.cells] == [c.get("outputs") for c in english.cells]
    colab = f"/blob/main/book/zh/{chapter}.ipynb"
    assert colab in chinese.cells[0].source, f"the Chinese notebook's Colab badge does not open {colab}"


def test_comments_are_translated_and_ignored_when_the_editions_code_is_compared():
    code = 'x = "# not a comment"  # the grid step\n# exercise 4: again\ny = 2'
    table = {"the grid step": "网格步长", "exercise 4: again": "练习 4：再来一次"}
    assert translate.translate_comments(code, table) == 'x = "# not a comment"  # 网格步长\n# 练习 4：再来一次\ny = 2'
    assert translate.without_comments(code) == translate.without_comments(translate.translate_comments(code, table))
    assert translate.without_comments(code) == 'x = "# not a comment"\n\ny = 2'
    assert translate.without_comments(code) != translate.without_comments(code.replace("y = 2", "y = 3"))


def test_chapter_cross_references_read_di_n_zhang_and_a_titled_reference_keeps_its_target():
    assert translate.chapter_titles("与 {doc}`04_wasserstein` 一样，见 {doc}`intro`") == \
        "与 {doc}`第 4 章 <04_wasserstein>` 一样，见 {doc}`intro`"
    assert translate.chapter_titles("| {doc}`04_wasserstein` | 评论家 |") == "| {doc}`04_wasserstein` | 评论家 |"
    english = "As in {doc}`04_wasserstein`."
    assert translate.problems(english, "与 {doc}`第 4 章 <04_wasserstein>` 一样。") == []
    assert translate.problems(english, "与 {doc}`第 5 章 <05_more_losses>` 一样。")


def test_every_message_that_ganlib_draws_or_prints_has_its_chinese(edition):
    counts = edition.coverage["ganlib messages"]
    assert counts["translated"] == counts["total"], "untranslated tr() messages in ganlib's catalogue"
    messages = translate.tr_messages()
    assert "generator step" in messages and "ganlib/plot.py" in messages["generator step"]


def test_the_chinese_book_configuration_follows_the_english_one():
    import yaml

    english, chinese = (yaml.safe_load(p.read_text()) for p in (ROOT / "_config.yml", translate.ZH / "_config.yml"))
    assert chinese["sphinx"]["config"]["language"] == "zh_CN"
    assert chinese["repository"]["path_to_book"] == "book/zh"
    # the Chinese edition adds the theme's missing Simplified Chinese (book/tools/zh_theme.py)
    assert set(chinese["sphinx"]["local_extensions"]) == set(english["sphinx"]["local_extensions"]) | {"zh_theme"}
    for name, folder in chinese["sphinx"]["local_extensions"].items():
        assert (translate.ZH / folder / f"{name}.py").exists()
    assert all((translate.ZH / p).exists() for p in chinese["bibtex_bibfiles"])
    toc = yaml.safe_load((translate.ZH / "_toc.yml").read_text())
    assert [toc["root"]] + [c["file"] for c in toc["chapters"]] == translate.chapters()


def test_an_english_edit_shows_up_as_untranslated_and_an_old_translation_as_fuzzy(tmp_path, monkeypatch):
    """Edit a translated English paragraph in a copy of the book: the script still makes the Chinese page (with
    that paragraph in English), the coverage drops by one, and the old translation waits as fuzzy."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "book", copy / "book", ignore=shutil.ignore_patterns("results", "_build", "runs"))
    shutil.copytree(ROOT / "ganlib", copy / "ganlib", ignore=shutil.ignore_patterns("weights", "__pycache__"))
    for name in ("_toc.yml", "_config.yml"):
        shutil.copy(ROOT / name, copy / name)
    catalogues = copy / "book" / "locale" / "zh_CN" / "LC_MESSAGES"
    for name, value in (("ROOT", copy), ("BOOK", copy / "book"), ("ZH", copy / "book" / "zh"),
                        ("CATALOGUES", catalogues), ("CODE_CATALOGUE", catalogues / "code.po"),
                        ("GANLIB_CATALOGUE", copy / translate.GANLIB_CATALOGUE.relative_to(ROOT))):
        monkeypatch.setattr(translate, name, value)
    before = translate.edition()
    chapter = next(c for c in NOTEBOOKS if before.coverage[c]["translated"])
    entries = translate.read_catalogue(translate.catalogue_path(chapter))
    target = next(e for e in entries.values() if translate.usable(e) and len(e.msgid) > 80)
    edited = target.msgid.replace(" ", " really ", 1)
    nb = nbformat.read(translate.source(chapter), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and target.msgid in c.source)
    cell.source = cell.source.replace(target.msgid, edited)
    nbformat.write(nb, str(translate.source(chapter)))

    assert translate.main([]) == 0
    after = translate.edition()
    assert after.coverage[chapter]["translated"] == before.coverage[chapter]["translated"] - 1
    assert after.coverage[chapter]["total"] == before.coverage[chapter]["total"]
    entry = translate.read_catalogue(translate.catalogue_path(chapter))[edited]
    assert entry.fuzzy and entry.msgstr == target.msgstr and entry.previous == target.msgid
    chinese = nbformat.read(translate.ZH / f"{chapter}.ipynb", as_version=4)
    assert any(edited in c.source for c in chinese.cells if c.cell_type == "markdown")
    assert not translate.stale(after.files)


def test_the_search_dictionary_holds_the_glossarys_chinese_words_only():
    words = translate.search_terms().splitlines()
    assert {"判别器", "生成器", "梯度惩罚", "模式崩溃", "评论家"} <= set(words)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in w) and " " not in w for w in words)
    assert not any(w.isascii() for w in words)


def test_each_page_links_to_its_twin_and_a_chinese_page_counts_its_english_blocks(tmp_path):
    import json
    from types import SimpleNamespace

    import editions

    (tmp_path / "translation.json").write_text(json.dumps(
        {"language": "zh_CN", "chapters": {"03_bce_loss": {"translated": 37, "total": 39, "fuzzy": 1}}}))
    chinese = SimpleNamespace(config=SimpleNamespace(language="zh_CN"), srcdir=str(tmp_path),
                              env=SimpleNamespace(found_docs={"intro", "03_bce_loss"}))
    context = {"body": "<p>正文</p>"}
    editions.add_language_link(chinese, "03_bce_loss", "page.html", context, None)
    assert 'href="../book/03_bce_loss.html" hreflang="en"' in context["body"]
    assert "本页有 2 段尚未翻译" in context["body"] and context["body"].endswith("<p>正文</p>")
    context = {"body": ""}
    editions.add_language_link(chinese, "genindex", "genindex.html", context, None)
    assert 'href="../genindex.html"' in context["body"] and "尚未翻译" not in context["body"]
    english = SimpleNamespace(config=SimpleNamespace(language=None), srcdir=str(tmp_path), env=None)
    context = {"body": "<p>text</p>", "metatags": ""}
    editions.add_language_link(english, "book/03_bce_loss", "page.html", context, None)
    assert 'href="../zh/03_bce_loss.html" hreflang="zh-CN"' in context["body"]
    assert '<link rel="alternate" hreflang="zh-CN" href="../zh/03_bce_loss.html" />' in context["metatags"]


def test_the_themes_english_interface_texts_are_put_in_chinese_and_the_articles_text_is_not():
    import zh_theme

    page = ('<button title="Toggle primary sidebar">Main</button><a title="Launch on Colab">x</a>'
            '<p>© Copyright 2026.</p><p>Main text here, Color mode</p><span>列印成 PDF</span>')
    assert zh_theme.translate_markup(page) == (
        '<button title="显示或隐藏左侧栏">正文</button><a title="在 Colab 中打开">x</a>'
        '<p>© 版权所有 2026.</p><p>Main text here, Color mode</p><span>打印为 PDF</span>')


def test_the_chinese_install_cell_chooses_chinese_and_installs_nothing_where_ganlib_and_a_font_are(tmp_path):
    import os

    from run_notebooks import install_cell

    env = {**os.environ, "GANLIB_REPO": f"file://{tmp_path}/no-such-repository", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", install_cell("zh_CN") + "\nprint(os.environ['GANLIB_LANG'])"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "zh_CN"
    assert install_cell("zh_CN").splitlines()[0].startswith("# ganlib-install")  # found by its mark


# --- paragraph length ----------------------------------------------------------------------------------------

PARAGRAPH_LIMIT = 300  # characters of one Chinese paragraph or list item; longer ones read as translated English


def paragraphs(markdown: str) -> list[str]:
    """The prose paragraphs and list items of a Markdown block, each formula counted as one character and each
    role (a citation, a cross-reference) as none; tables, fences and directive lines are left out."""
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", "x", markdown, flags=re.S)
    text = re.sub(r"\{[a-z]+\}`[^`]*`", "", text)
    out = []
    for block in re.split(r"\n\s*\n", text):
        if block.lstrip().startswith(("|", ":::", "```", "<")):
            continue
        out += [item.strip() for item in re.split(r"\n(?=\s*(?:[-*]|\d+\.) )", block) if item.strip()]
    return out


def test_the_paragraph_measure_counts_prose_and_leaves_out_tables_and_formulas():
    block = "甲" * 10 + "$a + b$。\n\n| 表 | 格 |\n|---|---|\n\n- 第一项{cite}`x2020`\n- 第二项"
    assert paragraphs(block) == ["甲" * 10 + "x。", "- 第一项", "- 第二项"]


def test_no_chinese_paragraph_is_over_300_characters():
    too_long = [f"{po.name}: {len(p)} characters: {p[:40]}…"
                for po in sorted((ROOT / "book" / "locale" / "zh_CN" / "LC_MESSAGES").glob("*.po"))
                if po.name != "code.po"
                for entry in polib.pofile(str(po)) for p in paragraphs(entry.msgstr) if len(p) > PARAGRAPH_LIMIT]
    assert not too_long, "split these Chinese paragraphs:\n" + "\n".join(too_long)
