"""The language of ganlib's figures and printouts: English, or Simplified Chinese for the book's Chinese edition.

One environment variable chooses it, ``GANLIB_LANG``: ``en`` (the default) or ``zh_CN``. The chapters' code is
the same in both editions; the install cell of each Chinese notebook sets ``GANLIB_LANG=zh_CN`` (in Jupyter,
on Colab, under nbval and in ``book/tools/run_notebooks.py`` alike), so its figures and printouts come out in
Chinese while every number is the English run's.

``tr(text, **fields)`` translates an English message through the gettext catalogue
``ganlib/locale/zh_CN/LC_MESSAGES/ganlib.mo`` (made from ``ganlib.po`` by ``book/tools/translate.py``) and fills
its ``{fields}`` with ``str.format``. A message the catalogue lacks is an error under ``zh_CN``, never English
text on a Chinese page. Chinese figures need a font with Chinese glyphs: ``use_language_font()`` (called when
``ganlib.plot`` is imported) puts one first in matplotlib's sans-serif list, or fails with one line that says
how to install one.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

from .errors import GanlibError, check_choice

ENV = "GANLIB_LANG"
LANGUAGES = ("en", "zh_CN")
DOMAIN = "ganlib"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# fonts with Simplified Chinese glyphs, in order of preference: what Debian's fonts-wqy-microhei and
# fonts-noto-cjk install, and what Windows and macOS ship
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
             "SimHei", "PingFang SC", "Heiti SC")
FONT_HELP = ("install one: 'apt-get install fonts-wqy-microhei' (Debian, Ubuntu, Colab; the Chinese chapters' "
             "first cell does it on Colab), then restart the kernel")


def language() -> str:
    """The language chosen by ``GANLIB_LANG`` (``en`` when unset)."""
    return check_choice(ENV, os.environ.get(ENV) or "en", LANGUAGES)


@cache
def _catalogue(lang: str) -> gettext.GNUTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.exists():
        raise GanlibError(f"ganlib has no {lang} message catalogue ({path.name} is missing from ganlib/locale)")
    with path.open("rb") as f:
        return gettext.GNUTranslations(f)


def tr(text: str, **fields: object) -> str:
    """``text`` in the chosen language, with ``{name}`` fields filled from ``fields`` (``str.format``)."""
    lang = language()
    if lang != "en":
        translated = _catalogue(lang)._catalog.get(text)  # gettext() would return the English silently
        if not translated:
            raise GanlibError(f"no {lang} translation of {text!r} in ganlib's catalogue "
                              f"(ganlib/locale/{lang}/LC_MESSAGES/{DOMAIN}.po)")
        text = translated
    return text.format(**fields) if fields else text


def cjk_font() -> str | None:
    """The first font of ``CJK_FONTS`` that matplotlib knows, or None. A font installed after matplotlib
    cached its list of fonts (the Chinese chapters' first cell installs one on Colab) is added first."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = _first_known(manager)
    if found is None:
        known = {f.fname for f in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a damaged or unsupported font file: not one to use
                    continue
        found = _first_known(manager)
    return found


def _first_known(manager) -> str | None:
    known = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in known), None)


def use_language_font() -> None:
    """For a language other than English, put a font with its glyphs first in matplotlib's sans-serif list
    (glyphs it lacks, such as some maths symbols, come from the next font); fail if there is none."""
    if language() == "en":
        return
    import matplotlib

    font = cjk_font()
    if font is None:
        raise GanlibError(f"{ENV}={language()} needs a font with Chinese glyphs for the figures, and matplotlib "
                          f"finds none of {', '.join(CJK_FONTS)}; {FONT_HELP}")
    rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f != font]
    matplotlib.rcParams.update({"font.family": "sans-serif", "font.sans-serif": [font, *rest]})
