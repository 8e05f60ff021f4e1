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
import difflib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from babel.messages.pofile import read_po, unescape
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


def catalogue_path(chapter: str) -> Path:
    return CATALOGUES / f"{chapter}.po"


def read_catalogue(path: Path) -> dict[str, Entry]:
    """The messages of a PO file (none if it does not exist); the header is not a message."""
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, charset="utf-8")
    entries = {}
    for message in catalog:
        if not message.id:
            continue
        # Babel reads the "#| msgid" lines (the English a fuzzy translation was made for) as comments
        comments = [c for c in message.user_comments if not c.startswith("|")]
        previous = "".join(unescape(c[1:].strip().removeprefix("msgid").strip())
                           for c in message.user_comments if c.startswith("|"))
        entries[message.id] = Entry(message.id, message.string or "", message.fuzzy, previous, comments)
    return entries


def merge(old: dict[str, Entry], current: dict[str, list[int]]) -> list[Entry]:
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


def _po_string(keyword: str, text: str) -> str:
    """``keyword "..."`` in PO syntax, one source line per line of ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'{keyword} "{lines[0]}"\n'
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return f'{keyword} ""\n' + "".join(f'"{p}"\n' for p in parts)


def write_catalogue(chapter: str, entries: list[Entry]) -> str:
    """The PO text of a chapter's catalogue (deterministic: no dates, no tool versions)."""
    out = [
        f"# Chinese translation of the GAN Loss Lab page {source(chapter).relative_to(ROOT).as_posix()}.\n",
        "# Updated by book/tools/translate.py; translators edit only msgstr, comments and the fuzzy flag.\n",
        'msgid ""\n',
        'msgstr ""\n',
        '"Project-Id-Version: GAN Loss Lab\\n"\n',
        f'"Language: {LANGUAGE}\\n"\n',
        '"MIME-Version: 1.0\\n"\n',
        '"Content-Type: text/plain; charset=UTF-8\\n"\n',
        '"Content-Transfer-Encoding: 8bit\\n"\n',
    ]
    name = source(chapter).name
    for entry in entries:
        out.append("\n")
        out.extend(f"# {c}\n" if c else "#\n" for c in entry.comments)
        out.append("#: " + " ".join(f"{name}:{cell}" for cell in sorted(set(entry.cells))) + "\n")
        if entry.fuzzy:
            out.append("#, fuzzy\n")
            out.append("".join("#| " + line for line in _po_string("msgid", entry.previous).splitlines(True)))
        out.append(_po_string("msgid", entry.msgid))
        out.append(_po_string("msgstr", entry.msgstr))
    return "".join(out)


# --- checks of a translation ---------------------------------------------------------------------------------

# the parser of the book itself: the MyST extensions that _config.yml enables
_PARSER = create_md_parser(MdParserConfig(enable_extensions=set(
    yaml.safe_load((ROOT / "_config.yml").read_text())["parse"]["myst_enable_extensions"])), RendererHTML)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# tokens whose content must be the same in both languages (formulas, code, roles)
_VERBATIM = {"math_inline", "math_block", "math_block_label", "amsmath", "code_inline", "code_block", "fence",
             "myst_role", "myst_target", "html_inline", "html_block"}


def _features(text: str) -> tuple[Counter, Counter]:
    """What a translation must keep: the markdown structure and the verbatim pieces, and the numbers of the
    text (thousands separators ignored)."""
    structure: Counter = Counter()
    numbers: Counter = Counter()

    def walk(tokens) -> None:
        for token in tokens:
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
            if token.type in _VERBATIM:
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

def translate_text(text: str, table: dict[str, str]) -> str:
    """``text`` with every block that has a usable translation in ``table`` replaced by it; Colab links point
    at the Chinese notebooks."""
    out = []
    for piece, gap in split_blocks(text):
        key = _msgid(piece)
        if not gap and key in table:
            piece = table[key] + piece[len(key):]
        out.append(piece)
    text = _COLAB.sub(lambda m: m.group(1) + "zh/" + m.group(2), "".join(out))
    return text.replace("[![Open In Colab]", "[![在 Colab 中打开]")


def chinese_page(chapter: str, table: dict[str, str]) -> str:
    """The Chinese text of a chapter: a notebook whose markdown cells are translated and whose code cells,
    outputs and metadata are the English notebook's, or a translated markdown page."""
    path = source(chapter)
    if path.suffix == ".md":
        return translate_text(path.read_text(), table)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_text(cell.source, table)
    return nbformat.writes(nb) + "\n"


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
    files: dict[Path, str]
    coverage: dict[str, dict[str, int]]
    failures: list[str]


def edition(only: list[str] | None = None) -> Edition:
    """The Chinese edition; with ``only``, just those chapters' catalogues and pages (no config, no coverage
    file), so that a translator can check one chapter while others edit theirs."""
    files: dict[Path, str] = {}
    coverage: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    terms = glossary()
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
        files[ZH / source(chapter).name] = chinese_page(chapter, table)
    if only:
        return Edition(files, coverage, failures)
    files[ZH / "_config.yml"] = chinese_config()
    files[ZH / "_toc.yml"] = chinese_toc()
    files[ZH / SEARCH_TERMS] = search_terms()
    files[ZH / COVERAGE] = json.dumps({"language": LANGUAGE, "chapters": coverage}, indent=1) + "\n"
    return Edition(files, coverage, failures)


def report(coverage: dict[str, dict[str, int]]) -> str:
    """The coverage table: translated / total strings of each chapter."""
    lines = [f"{'chapter':<24} {'translated':>10} {'total':>6} {'coverage':>9} {'fuzzy':>6}"]
    for chapter, c in coverage.items():
        share = c["translated"] / c["total"] if c["total"] else 1.0
        lines.append(f"{chapter:<24} {c['translated']:>10} {c['total']:>6} {share:>8.1%} {c['fuzzy']:>6}")
    return "\n".join(lines)


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose content on disk is not what the script would write."""
    return [p for p, text in files.items() if not p.exists() or p.read_text() != text]


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
        write_bytes(result.files[path].encode(), path)  # atomic: a killed run leaves the old file or the new
        print("wrote", path.relative_to(ROOT).as_posix())
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
