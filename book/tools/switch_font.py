"""Maintainers' tool: the web font that draws the label 中文 of the English pages' language link.

Every English page links to its Chinese twin with the label 中文 (``book/tools/editions.py``). A reader whose
system has no font with Chinese glyphs would see two boxes, so ``book/_static/custom.css`` gives that link
(and nothing else) a web font: a subset of WenQuanYi Micro Hei holding just the glyphs the label needs, a few
KB of WOFF2. This script makes it::

    python book/tools/switch_font.py            # writes book/_static/wqy-microhei-switch.woff2
    python book/tools/switch_font.py --check    # fails if the committed file is not what it would write
    python book/tools/switch_font.py FONT [--face N]

The source is Debian's fonts-wqy-microhei (``apt-get install fonts-wqy-microhei``), face 0 of its collection
(Micro Hei; face 1 is Micro Hei Mono). The font is dual-licensed Apache-2.0 / GPLv3 with the font exception;
the subset is shipped under Apache-2.0, whose notice is ``book/_static/wqy-microhei-switch.LICENSE.txt``.

Needs fontTools and brotli (``pip install fonttools brotli``): only maintainers run it, so neither is in
requirements.txt. The output depends only on the source font and those two packages' versions: the source's
timestamps are kept, not replaced by the time of the run.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian's fonts-wqy-microhei
FACE = 0  # WenQuanYi Micro Hei (1 is its monospaced face)
TEXT = "中文"  # the English pages' label (editions.add_language_link); the CSS's unicode-range names the same
OUTPUT = ROOT / "book" / "_static" / "wqy-microhei-switch.woff2"


def fail(problem: str) -> NoReturn:
    """Stop with one line that names the problem (no traceback: the fix is an install or a path)."""
    sys.exit(f"switch_font.py: {problem}")


def code_points(text: str) -> list[int]:
    """The distinct code points of ``text``, in order (the subset holds each glyph once)."""
    return sorted({ord(ch) for ch in text})


def subset(source: Path, face: int, text: str) -> bytes:
    """The WOFF2 bytes of face ``face`` of ``source``, reduced to the glyphs of ``text``."""
    try:
        from fontTools import subset as ft_subset
        from fontTools.ttLib import TTFont
    except ImportError:
        fail("fontTools is not installed (pip install fonttools brotli)")
    try:
        import brotli  # noqa: F401  (fontTools needs it to write WOFF2; checked here for a clear message)
    except ImportError:
        fail("brotli is not installed, and WOFF2 needs it (pip install brotli)")
    if not source.is_file():
        fail(f"no source font at {source} (Debian: apt-get install fonts-wqy-microhei, or pass its path)")
    # recalcTimestamp=False keeps the source's head.modified: the same input gives the same bytes
    font = TTFont(source, fontNumber=face, recalcTimestamp=False, lazy=False)
    missing = [f"U+{cp:04X}" for cp in code_points(text) if cp not in font.getBestCmap()]
    if missing:
        fail(f"face {face} of {source} has no glyph for {', '.join(missing)}")
    options = ft_subset.Options()
    options.flavor = "woff2"
    options.layout_features = []  # two ideographs: no ligatures, kerning or vertical forms to keep
    options.hinting = False  # the ideographs carry no hints, and browsers ignore most of them anyway
    options.desubroutinize = True
    options.drop_tables += ["FFTM"]  # FontForge's own timestamps: no use to a browser
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=code_points(text))
    subsetter.subset(font)
    out = io.BytesIO()
    ft_subset.save_font(font, out, options)
    return out.getvalue()


def covered(woff2: bytes) -> list[int]:
    """The code points a font file maps to glyphs (to check the subset before it is written)."""
    from fontTools.ttLib import TTFont

    return sorted(TTFont(io.BytesIO(woff2)).getBestCmap())


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so that no reader (or an
    interrupted run) ever sees half a font."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)  # a temporary file is private (0600); the font is served to everyone
    os.replace(tmp.name, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE,
                        help="WenQuanYi Micro Hei (.ttc or .ttf); default: Debian's fonts-wqy-microhei")
    parser.add_argument("--face", type=int, default=FACE, help="face index in a .ttc collection (default 0)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail if the committed subset differs from a fresh one")
    args = parser.parse_args(argv)
    data = subset(args.source, args.face, TEXT)
    if covered(data) != code_points(TEXT):
        fail(f"the subset maps {covered(data)}, not the code points of {TEXT}")
    shown = OUTPUT.relative_to(ROOT).as_posix()
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_bytes() != data:
            fail(f"{shown} is missing or differs from a fresh subset (run the script without --check)")
        print(f"{shown} is up to date ({len(data):,} bytes)")
        return 0
    write_atomically(OUTPUT, data)
    print(f"wrote {shown}: {len(data):,} bytes, glyphs for {TEXT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
