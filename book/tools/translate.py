"""The Chinese edition: message catalogues, and the Chinese sources made from them and the English ones.

English is the source text. Every markdown cell of a chapter (and the text of the two markdown pages) is cut
into blocks at blank lines; each block with prose is one message of its chapter's catalogue,
``book/locale/zh_CN/LC_MESSAGES/<chapter>.po`` (gettext PO: ``msgid`` English, ``msgstr`` Chinese). From the
English sources and the catalogues this script writes ``book/zh/``: the Chinese notebooks (code cells, outputs
and widget state copied from the English notebooks), the two markdown pages, the Chinese book's ``_config.yml``
and ``_toc.yml`` (derived from the English ones), ``translation.json`` (the coverage of every chapter) and
``search_terms.txt`` (the glossary's Chinese words, for the search index).
Nothing under ``book/zh/`` is edited by hand.

A block without a translation, with a fuzzy one (its English changed since it was translated) or with one that
fails the checks below stays in English and counts as untranslated: an English edit never breaks the Chinese
build, it lowers the coverage. The checks compare each translation with its English block through the MyST
parser the book uses: the same markdown structure (headings, lists, tables, emphasis, links, directives), the
same formulas, code, roles and link targets, and the same numbers in the text; and the terms of the glossary
(chapter 8) translated as the glossary says, unless a translator's comment exempts the block.

    python3 book/tools/translate.py            # update the catalogues, write book/zh/, print the coverage
    python3 book/tools/translate.py --check    # write nothing; exit 1 if a file is out of date or a check fails
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import re
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import polib
import yaml
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ganlib.files import write_bytes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the files of book/zh that the Sphinx extension reads (coverage, search words) and the folder's name
from editions import COVERAGE, SEARCH_TERMS  # noqa: E402
from editions import ZH as ZH_FOLDER  # noqa: E402  (editions is found through the sys.path entry above)
from run_notebooks import INSTALL_MARK, install_cell  # noqa: E402

BOOK = ROOT / "book"
LANGUAGE = "zh_CN"
CATALOGUES = BOOK / "locale" / LANGUAGE / "LC_MESSAGES"
ZH = BOOK / ZH_FOLDER
ZH_TITLE = "GAN Loss Lab（中文版）"
# an old translation is offered (as fuzzy) for a changed English block this similar to its old English
FUZZY_CUTOFF = 0.6

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_COLAB = re.compile(r"(https://colab\.research\.google\.com/github/[^)\s]*/blob/[^/)\s]+/book/)([\w.-]+\.ipynb)")


# --- the English sources -----------------------------------------------------------------------------------

def chapters() -> list[str]:
    """The book's pages in the order of _toc.yml, as names under book/ without a suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    return [Path(n).name for n in names]


def source(chapter: str) -> Path:
    notebook = BOOK / f"{chapter}.ipynb"
    return notebook if notebook.exists() else BOOK / f"{chapter}.md"


def markdown_cells(chapter: str) -> list[tuple[int, str]]:
    """(cell number, text) of every markdown cell; a markdown page is one cell, number 0."""
    path = source(chapter)
    if path.suffix == ".md":
        return [(0, path.read_text())]
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def _closes(fence: str, stripped: str) -> bool:
    """Whether a (stripped) line closes a code fence opened by ``fence``: as many fence characters or more."""
    return stripped.startswith(fence) and not stripped.strip(fence[0])


def split_blocks(text: str) -> list[tuple[str, bool]]:
    """``text`` as pieces ``(piece, is_gap)`` whose concatenation is ``text``: blocks, and the blank lines
    between them. A fenced block (```...```) or a display formula ($$...$$) is never cut."""
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    fence, math = "", False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not fence and not math and not stripped:
            if current:
                pieces.append(("".join(current), False))
                current = []
            if pieces and pieces[-1][1]:
                pieces[-1] = (pieces[-1][0] + line, True)
            else:
                pieces.append((line, True))
            continue
        current.append(line)
        if fence:
            if _closes(fence, stripped):
                fence = ""
        elif math:
            math = not (stripped.startswith("$$") or stripped.endswith("$$"))
        elif match := _FENCE.match(line):
            fence = match.group(1)
        elif stripped.startswith("$$") and "$$" not in stripped[2:]:
            math = True
    if current:
        pieces.append(("".join(current), False))
    return pieces


def _without_markup(block: str) -> str:
    """The block's words: no code fences (a directive's body stays), formulas, code, roles, image alt texts,
    link targets, labels or HTML comments."""
    lines, fence, directive = [], "", False
    for line in block.splitlines():
        stripped = line.strip()
        if fence:
            if _closes(fence, stripped):
                fence = ""
            elif directive:
                lines.append(line)
            continue
        if match := _FENCE.match(line):
            # a directive (```{note}) holds text; a code block does not
            fence, directive = match.group(1), stripped[len(match.group(1)):].startswith("{")
            continue
        lines.append(line)
    text = "\n".join(line for line in lines if not re.fullmatch(r"\s*\([\w:-]+\)=\s*", line))
    for pattern in (r"\$\$.*?\$\$", r"\$[^$]*\$", r"\{[\w:-]+\}`[^`]*`", r"`[^`]*`", r"!\[[^\]]*\]\([^)]*\)",
                    r"\]\([^)]*\)", r"<!--.*?-->", r"^\s*:{3,}\{[\w-]+\}", r"^\s*:{3,}\s*$", r"https?://\S+"):
        text = re.sub(pattern, " ", text, flags=re.S | re.M)
    return text


def has_prose(block: str) -> bool:
    """Whether the block has words to translate (a formula, a code block, a label or a badge has none)."""
    return re.search(r"[A-Za-z]{2,}", _without_markup(block)) is not None


def _msgid(block: str) -> str:
    return block.rstrip("\n")


def messages(chapter: str) -> dict[str, list[int]]:
    """Every distinct prose block of the chapter (in order) and the cells it appears in."""
    found: dict[str, list[int]] = {}
    for cell, text in markdown_cells(chapter):
        for piece, gap in split_blocks(text):
            if not gap and has_prose(piece):
                found.setdefault(_msgid(piece), []).append(cell)
    return found


# --- catalogues ----------------------------------------------------------------------------------------------

@dataclass
class Entry:
    """One message of a catalogue: the English block, its translation, whether that is only a suggestion
    (fuzzy: the English changed since), the English it was made for, the translator's comments."""
    msgid: str
    msgstr: str = ""
    fuzzy: bool = False
    previous: str = ""
    comments: list[str] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # "file:place" references, where cells do not say it


def catalogue_path(chapter: str) -> Path:
    return CATALOGUES / f"{chapter}.po"


def read_catalogue(path: Path) -> dict[str, Entry]:
    """The messages of a PO file (none if it does not exist); the header is not a message."""
    if not path.exists():
        return {}
    return {e.msgid: Entry(e.msgid, e.msgstr, "fuzzy" in e.flags, e.previous_msgid or "",
                           e.tcomment.split("\n") if e.tcomment else [])
            for e in polib.pofile(str(path), wrapwidth=0) if e.msgid}


def merge(old: dict[str, Entry], current: dict[str, list]) -> list[Entry]:
    """The catalogue for the current English blocks: translations kept where the English is unchanged; for a
    new block, the translation of the most similar vanished block offered as fuzzy (used by nobody until a
    translator checks it and removes the flag); blocks no longer in the English dropped."""
    vanished = {k: e for k, e in old.items() if k not in current and e.msgstr}
    merged = []
    for msgid, cells in current.items():
        if msgid in old:
            entry = old[msgid]
            entry.cells = cells
        else:
            entry = Entry(msgid, cells=cells)
            close = difflib.get_close_matches(msgid, list(vanished), n=1, cutoff=FUZZY_CUTOFF)
            if close:
                entry.msgstr, entry.fuzzy = vanished[close[0]].msgstr, True
                entry.previous = vanished[close[0]].previous or close[0]
                entry.comments = list(vanished[close[0]].comments)
        merged.append(entry)
    return merged


def _po_text(header: str, entries: list[Entry], reference: str) -> str:
    """A catalogue as PO text (polib, lines never wrapped; deterministic: no dates, no tool versions):
    ``header`` as its leading comment, each entry with its references ``reference:cell``."""
    po = polib.POFile(wrapwidth=0)
    po.header = header
    po.metadata = {"Project-Id-Version": "GAN Loss Lab", "Language": LANGUAGE, "MIME-Version": "1.0",
                   "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit"}
    for entry in entries:
        po.append(polib.POEntry(
            msgid=entry.msgid, msgstr=entry.msgstr, tcomment="\n".join(entry.comments),
            occurrences=[(ref, "") for ref in entry.refs or [f"{reference}:{c}" for c in sorted(set(entry.cells))]],
            flags=["fuzzy"] if entry.fuzzy else [], previous_msgid=entry.previous if entry.fuzzy else None))
    return str(po)


def write_catalogue(chapter: str, entries: list[Entry]) -> str:
    """The PO text of a chapter's catalogue."""
    header = (f"Chinese translation of the GAN Loss Lab page {source(chapter).relative_to(ROOT).as_posix()}.\n"
              "Updated by book/tools/translate.py; translators edit only msgstr, comments and the fuzzy flag.")
    return _po_text(header, entries, source(chapter).name)


# --- checks of a translation ---------------------------------------------------------------------------------

# the parser of the book itself: the MyST extensions that _config.yml enables
_PARSER = create_md_parser(MdParserConfig(enable_extensions=set(
    yaml.safe_load((ROOT / "_config.yml").read_text())["parse"]["myst_enable_extensions"])), RendererHTML)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# tokens whose content must be the same in both languages (formulas, code, roles)
_VERBATIM = {"math_inline", "math_block", "math_block_label", "amsmath", "code_inline", "code_block", "fence",
             "myst_role", "myst_target", "html_inline", "html_block"}


_TITLED_ROLES = {"doc", "ref"}


def _role_target(content: str) -> str:
    """The target of a cross-reference role: ``04_x`` of ``04_x`` and of ``title <04_x>``."""
    match = re.fullmatch(r"(?s).*<([^<>]+)>\s*", content)
    return (match.group(1) if match else content).strip()


def _features(text: str) -> tuple[Counter, Counter]:
    """What a translation must keep: the markdown structure (where its paragraphs break aside) and the
    verbatim pieces, and the numbers of the text (thousands separators ignored)."""
    structure: Counter = Counter()
    numbers: Counter = Counter()

    def walk(tokens) -> None:
        for token in tokens:
            if token.type in ("paragraph_open", "paragraph_close"):
                continue  # a translation may split a long paragraph in two: Chinese reads best in short ones
            if token.type in ("text", "softbreak", "hardbreak", "inline"):
                if token.type == "text":
                    numbers.update(n.replace(",", "") for n in _NUMBER.findall(token.content))
                walk(token.children or [])
                continue
            if token.type == "colon_fence":
                structure[("colon_fence", token.info.split()[0] if token.info else "")] += 1
                walk(_PARSER.parse(token.content))
                continue
            if token.type == "fence" and token.info.startswith("{"):
                structure[("directive", token.info.split()[0])] += 1
                walk(_PARSER.parse(token.content))
                continue
            key = token.type
            if token.type == "myst_role" and token.meta.get("name") in _TITLED_ROLES:
                # a cross-reference keeps its target; its title is the translator's ({doc}`第 4 章 <04_x>`)
                key = (token.type, token.meta["name"], _role_target(token.content))
            elif token.type in _VERBATIM:
                key = (token.type, token.meta.get("name", ""), token.content, token.info)
            elif token.type == "heading_open":
                key = (token.type, token.tag)
            elif token.type in ("link_open", "image"):
                key = (token.type, token.attrs.get("href", token.attrs.get("src", "")))
            structure[key] += 1
            walk(token.children or [])

    walk(_PARSER.parse(text))
    return structure, numbers


def problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation changes that it must keep; empty when it keeps everything."""
    english, chinese = _features(msgid), _features(msgstr)
    found = []
    for what, en, zh in (("markdown, formulas or code", *[f[0] for f in (english, chinese)]),
                         ("numbers", english[1], chinese[1])):
        missing, extra = en - zh, zh - en
        if missing or extra:
            found.append(f"{what} differ: only in the English {sorted(map(str, missing))}, "
                         f"only in the translation {sorted(map(str, extra))}")
    return found


def usable(entry: Entry) -> bool:
    return bool(entry.msgstr) and not entry.fuzzy and not problems(entry.msgid, entry.msgstr)


# --- terminology ---------------------------------------------------------------------------------------------

GLOSSARY_PAGE = "08_summary"
EXEMPT = "glossary-exempt:"  # a translator comment: "glossary-exempt: mode; batch" (the term is used otherwise)


def _glossary_rows() -> list[list[str]]:
    """The cells of each term row of the summary's glossary table (header and rule left out; a ``\\|``
    inside a formula is no cell border)."""
    text = source(GLOSSARY_PAGE).read_text()
    section = text.split("## Glossary", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))] for line in section.splitlines()
            if line.startswith("|")]
    return [cells for cells in rows if len(cells) >= 3 and cells[0] != "English" and cells[0].strip("-")]


def glossary() -> list[tuple[str, str]]:
    """(English term, Chinese term) pairs of the glossary table of the summary: a row's comma-separated
    terms pair up in order; parenthesised notes are not part of a term. Longest English terms first."""
    pairs = []
    for cells in _glossary_rows():
        english = [t.strip() for t in re.sub(r"\s*\([^)]*\)", "", cells[0]).split(",")]
        chinese = [t.strip() for t in re.split(r"[，,]", re.sub(r"（[^）]*）", "", cells[1]))]
        if len(english) == len(chinese):
            pairs += [(e, c) for e, c in zip(english, chinese) if e and c]
    return sorted(pairs, key=lambda p: -len(p[0]))


def search_terms() -> str:
    """The Chinese words of the glossary's 中文 column, one a line: a jieba user dictionary, so that the
    Chinese search index holds 判别器 as a word (jieba alone cuts it into 判别 and 器)."""
    words = set()
    for cells in _glossary_rows():
        words.update(w.strip() for w in re.split(r"[，、（）/；;]|也常称|又称", cells[1]))
    chinese_word = r"[\u4e00-\u9fff·-]*[\u4e00-\u9fff][\u4e00-\u9fff·-]*"
    return "".join(f"{w}\n" for w in sorted(words) if re.fullmatch(chinese_word, w))


def term_misses(entry: Entry, pairs: list[tuple[str, str]]) -> list[str]:
    """Glossary terms of the English block whose Chinese term the translation does not use. A longer term
    hides the shorter ones inside it ("batch size" is not also "batch")."""
    prose = _without_markup(entry.msgid).replace("–", "-")  # Jensen–Shannon and Jensen-Shannon alike
    exempt = {t.strip().lower() for c in entry.comments if c.startswith(EXEMPT)
              for t in c[len(EXEMPT):].split(";")}
    misses = []
    for english, chinese in pairs:
        pattern = re.compile(rf"(?<![\w-]){re.escape(english.replace('–', '-'))}(?:s|es)?(?![\w-])", re.I)
        if pattern.search(prose):
            prose = pattern.sub(" ", prose)
            if chinese not in entry.msgstr and english.lower() not in exempt:
                misses.append(f"{english} -> {chinese}")
    return misses


# --- the Chinese sources -------------------------------------------------------------------------------------

# a bare reference to a numbered chapter, except as the first cell of a table row (a table of chapters, where
# the chapter's full Chinese title reads better)
_BARE_DOC = re.compile(r"(?<!^\| )\{doc\}`((\d+)_[\w-]+)`", re.M)


def chapter_titles(text: str) -> str:
    """Cross-references to a numbered chapter written bare in a sentence ({doc}`04_wasserstein`, which shows
    the chapter's full title) given the title 第 4 章, the number being its file's, as the text counts them."""
    return _BARE_DOC.sub(lambda m: f"{{doc}}`第 {int(m.group(2))} 章 <{m.group(1)}>`", text)


def translate_text(text: str, table: dict[str, str]) -> str:
    """``text`` with every block that has a usable translation in ``table`` replaced by it; Colab links point
    at the Chinese notebooks; bare cross-references to chapters read 第 N 章."""
    out = []
    for piece, gap in split_blocks(text):
        key = _msgid(piece)
        if not gap and key in table:
            piece = chapter_titles(table[key]) + piece[len(key):]
        out.append(piece)
    text = _COLAB.sub(lambda m: m.group(1) + "zh/" + m.group(2), "".join(out))
    return text.replace("[![Open In Colab]", "[![在 Colab 中打开]")


# --- the code: comments, the messages ganlib prints and draws, outputs ---------------------------------------

# where the Chinese notebooks' code comments are translated (one catalogue for the code of every chapter)
CODE_CATALOGUE = CATALOGUES / "code.po"
# ganlib's own catalogue: the messages of tr("...") calls in ganlib and in the chapters' code, which ganlib
# translates at run time (ganlib/language.py) from the compiled .mo shipped with the package
GANLIB_CATALOGUE = ROOT / "ganlib" / "locale" / LANGUAGE / "LC_MESSAGES" / "ganlib.po"
# the metadata key that marks a Chinese notebook whose outputs come from running it (run_notebooks.py)
EXECUTED = "ganlib_outputs"


def _comments(code: str) -> list[tokenize.TokenInfo]:
    """The comment tokens of a cell's code."""
    try:
        return [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError) as exc:
        raise SystemExit(f"translate: a code cell does not tokenize as Python ({exc}):\n{code[:200]}") from exc


def comment_text(token: tokenize.TokenInfo) -> str:
    return token.string.lstrip("#").strip()


def is_install_cell(code: str) -> bool:
    return INSTALL_MARK in code


def code_cells(chapter: str) -> list[tuple[int, str]]:
    """(cell number, source) of every code cell of a notebook chapter, the install cell left out (each edition
    has its own, from run_notebooks.py's template)."""
    path = source(chapter)
    if path.suffix != ".ipynb":
        return []
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not is_install_cell(c.source)]


def comment_messages() -> dict[str, list[str]]:
    """Every distinct code comment with words, of every chapter, and where it is (``chapter.ipynb:cell``)."""
    found: dict[str, list[str]] = {}
    for chapter in chapters():
        for cell, code in code_cells(chapter):
            for token in _comments(code):
                text = comment_text(token)
                if has_prose(text) and not text.startswith("noqa"):
                    found.setdefault(text, []).append(f"{source(chapter).name}:{cell}")
    return found


def translate_comments(code: str, table: dict[str, str]) -> str:
    """``code`` with each comment that has a translation in ``table`` replaced by it."""
    lines = code.split("\n")
    for token in reversed(_comments(code)):
        text = comment_text(token)
        if text in table:
            (row, col), (_, end) = token.start, token.end
            lines[row - 1] = lines[row - 1][:col] + "# " + table[text] + lines[row - 1][end:]
    return "\n".join(lines)


def without_comments(code: str) -> str:
    """``code`` without its comments (and the spaces they leave at line ends): what both editions share."""
    lines = code.split("\n")
    for token in reversed(_comments(code)):
        (row, col), (_, end) = token.start, token.end
        lines[row - 1] = (lines[row - 1][:col] + lines[row - 1][end:]).rstrip()
    return "\n".join(lines)


def _tr_literal(node: ast.AST) -> str | None:
    """The message of a ``tr("...")`` call with a literal first argument, else None."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    name = getattr(node.func, "id", getattr(node.func, "attr", ""))
    return node.args[0].value if name == "tr" and isinstance(node.args[0].value, str) else None


def tr_messages() -> dict[str, list[str]]:
    """The messages of every ``tr("...")`` call in ganlib's modules and in the chapters' code, and where."""
    found: dict[str, list[str]] = {}
    places = [(p.relative_to(ROOT).as_posix(), p.read_text()) for p in sorted((ROOT / "ganlib").glob("*.py"))]
    places += [(f"{source(c).name}:{cell}", code) for c in chapters() for cell, code in code_cells(c)]
    for place, code in places:
        for node in ast.walk(ast.parse(code)):
            message = _tr_literal(node)
            if message is not None and place not in found.setdefault(message, []):
                found[message].append(place)
    return found


def _catalogue_with_refs(path: Path, current: dict[str, list[str]]) -> list[Entry]:
    entries = merge(read_catalogue(path), {k: [] for k in current})
    for entry in entries:
        entry.refs = current[entry.msgid]
    return entries


def code_catalogue() -> list[Entry]:
    return _catalogue_with_refs(CODE_CATALOGUE, comment_messages())


def ganlib_catalogue() -> list[Entry]:
    return _catalogue_with_refs(GANLIB_CATALOGUE, tr_messages())


def compiled(entries: list[Entry]) -> bytes:
    """The gettext .mo of a catalogue's translated entries (what ganlib reads at run time)."""
    po = polib.POFile()
    po.metadata = {"Language": LANGUAGE, "Content-Type": "text/plain; charset=UTF-8"}
    for msgid, msgstr in usable_table(entries).items():
        po.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    return po.to_binary()


def usable_table(entries: list[Entry]) -> dict[str, str]:
    return {e.msgid: e.msgstr for e in entries if e.msgstr and not e.fuzzy}


def chinese_notebook(chapter: str, table: dict[str, str], comments: dict[str, str]) -> str:
    """The Chinese notebook: translated markdown; the English code with Chinese comments and the Chinese
    install cell; the outputs of its last run in Chinese (run_notebooks.py) while the code (comments aside)
    is unchanged since, else the English notebook's outputs, and then it is no longer marked as run."""
    nb = nbformat.read(source(chapter), as_version=4)
    old_path = ZH / source(chapter).name
    old = nbformat.read(old_path, as_version=4) if old_path.exists() else None
    executed = old is not None and EXECUTED in old.metadata and len(old.cells) == len(nb.cells)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = translate_text(cell.source, table)
        elif cell.cell_type == "code":
            before = old.cells[i] if executed else None
            if is_install_cell(cell.source):
                cell.source = install_cell(LANGUAGE)
            else:
                executed = executed and before.cell_type == "code" and \
                    without_comments(before.source) == without_comments(cell.source)
                cell.source = translate_comments(cell.source, comments)
    if executed:
        for cell, before in zip(nb.cells, old.cells):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = before.outputs, before.get("execution_count")
        nb.metadata.pop("widgets", None)
        nb.metadata.update({k: old.metadata[k] for k in (EXECUTED, "widgets") if k in old.metadata})
    return nbformat.writes(nb) + "\n"


def chinese_page(chapter: str, table: dict[str, str], comments: dict[str, str] | None = None) -> str:
    """The Chinese text of a chapter: a notebook (see ``chinese_notebook``) or a translated markdown page."""
    path = source(chapter)
    if path.suffix == ".md":
        return translate_text(path.read_text(), table)
    return chinese_notebook(chapter, table, comments or {})


def _relative_to_zh(path: str) -> str:
    """A path of the English configuration (relative to the repository root) as seen from book/zh."""
    return "../" + Path(path).relative_to("book").as_posix() if path.startswith("book/") else path


def chinese_config() -> str:
    """book/zh/_config.yml: the English configuration with the Chinese title, language and paths."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = ZH_TITLE
    config["exclude_patterns"] = ["_build", "**.ipynb_checkpoints", "**/.pytest_cache", "**/runs"]
    config["repository"]["path_to_book"] = "book/zh"
    config["bibtex_bibfiles"] = [_relative_to_zh(p) for p in config["bibtex_bibfiles"]]
    sphinx = config["sphinx"]
    sphinx["local_extensions"] = {k: _relative_to_zh(v) for k, v in sphinx["local_extensions"].items()}
    sphinx["config"]["html_static_path"] = [_relative_to_zh(p) for p in sphinx["config"]["html_static_path"]]
    sphinx["config"]["language"] = LANGUAGE
    # the theme's interface texts that its zh_CN catalogues leave in English (book/tools/zh_theme.py)
    sphinx["local_extensions"]["zh_theme"] = "../tools"
    # the label of a hidden cell's toggle (myst-nb's default, "Show code cell {type}", is English)
    sphinx["config"]["nb_code_prompt_show"] = "显示代码"
    sphinx["config"]["nb_code_prompt_hide"] = "隐藏代码"
    header = "# Made by book/tools/translate.py from the English _config.yml: edit that one, then run the script.\n"
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)


def chinese_toc() -> str:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    toc["root"] = Path(toc["root"]).name
    toc["chapters"] = [{**c, "file": Path(c["file"]).name} for c in toc["chapters"]]
    header = "# Made by book/tools/translate.py from the English _toc.yml.\n"
    return header + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True)


@dataclass
class Edition:
    """Everything the script writes (path -> text), the coverage of each chapter, and the failed checks."""
    files: dict[Path, str | bytes]
    coverage: dict[str, dict[str, int]]
    failures: list[str]


def edition(only: list[str] | None = None) -> Edition:
    """The Chinese edition; with ``only``, just those chapters' catalogues and pages (no config, no coverage
    file), so that a translator can check one chapter while others edit theirs."""
    files: dict[Path, str | bytes] = {}
    coverage: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    terms = glossary()
    code_entries = code_catalogue()
    comments = usable_table(code_entries)
    for chapter in only or chapters():
        entries = merge(read_catalogue(catalogue_path(chapter)), messages(chapter))
        files[catalogue_path(chapter)] = write_catalogue(chapter, entries)
        table = {}
        for entry in (e for e in entries if e.msgstr and not e.fuzzy):
            found = problems(entry.msgid, entry.msgstr)
            failures += [f"{chapter}.po, cells {entry.cells}: {p} (English: {entry.msgid[:60]!r}...)" for p in found]
            failures += [f"{chapter}.po, cells {entry.cells}: not the glossary's term: {m} (or a "
                         f"'# {EXEMPT} ...' comment; English: {entry.msgid[:60]!r}...)"
                         for m in term_misses(entry, terms)]
            if not found:  # the same test as usable()
                table[entry.msgid] = entry.msgstr
        coverage[chapter] = {"translated": len(table), "total": len(entries),
                             "fuzzy": sum(e.fuzzy for e in entries)}
        files[ZH / source(chapter).name] = chinese_page(chapter, table, comments)
    if only:
        return Edition(files, coverage, failures)
    files[CODE_CATALOGUE] = _po_text(
        "Chinese translation of the code comments of the GAN Loss Lab chapters.\n"
        "Updated by book/tools/translate.py; translators edit only msgstr, comments and the fuzzy flag.",
        code_entries, "")
    coverage["code comments"] = _count(code_entries)
    ganlib_entries = ganlib_catalogue()
    files[GANLIB_CATALOGUE] = _po_text(
        "Chinese messages of ganlib's figures and printouts: tr(\"...\") in ganlib and in the chapters' code.\n"
        "Updated by book/tools/translate.py; translators edit only msgstr, comments and the fuzzy flag.",
        ganlib_entries, "")
    files[GANLIB_CATALOGUE.with_suffix(".mo")] = compiled(ganlib_entries)
    coverage["ganlib messages"] = _count(ganlib_entries)
    files[ZH / "_config.yml"] = chinese_config()
    files[ZH / "_toc.yml"] = chinese_toc()
    files[ZH / SEARCH_TERMS] = search_terms()
    files[ZH / COVERAGE] = json.dumps({"language": LANGUAGE, "chapters": coverage}, indent=1) + "\n"
    return Edition(files, coverage, failures)


def _count(entries: list[Entry]) -> dict[str, int]:
    return {"translated": len(usable_table(entries)), "total": len(entries), "fuzzy": sum(e.fuzzy for e in entries)}


def report(coverage: dict[str, dict[str, int]]) -> str:
    """The coverage table: translated / total strings of each chapter."""
    lines = [f"{'chapter':<24} {'translated':>10} {'total':>6} {'coverage':>9} {'fuzzy':>6}"]
    for chapter, c in coverage.items():
        share = c["translated"] / c["total"] if c["total"] else 1.0
        lines.append(f"{chapter:<24} {c['translated']:>10} {c['total']:>6} {share:>8.1%} {c['fuzzy']:>6}")
    return "\n".join(lines)


def stale(files: dict[Path, str | bytes]) -> list[Path]:
    """The files whose content on disk is not what the script would write."""
    return [p for p, data in files.items()
            if not p.exists() or p.read_bytes() != (data if isinstance(data, bytes) else data.encode())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    parser.add_argument("--chapter", action="append", choices=chapters(), metavar="NAME",
                        help="only this chapter (repeatable): its catalogue and Chinese page")
    args = parser.parse_args(argv)
    result = edition(args.chapter)
    print(report(result.coverage))
    for failure in result.failures:
        print("translation check failed:", failure)
    changed = stale(result.files)
    if args.check:
        for path in changed:
            print(f"out of date: {path.relative_to(ROOT).as_posix()} (run python3 book/tools/translate.py)")
        return 1 if changed or result.failures else 0
    for path in changed:
        data = result.files[path]
        # atomic: a killed run leaves the old file or the new
        write_bytes(data if isinstance(data, bytes) else data.encode(), path)
        print("wrote", path.relative_to(ROOT).as_posix())
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
