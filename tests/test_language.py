"""ganlib.language: GANLIB_LANG chooses English or Simplified Chinese for ganlib's figures and printouts; a
missing translation or a missing Chinese font is a one-line error, never English text or tofu boxes."""

from __future__ import annotations

import os

import pytest

from ganlib import language
from ganlib.errors import GanlibError


def test_english_is_the_default_and_fields_are_filled(monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)
    assert language.language() == "en"
    assert language.tr("step {step}", step=7) == "step 7"
    assert language.tr("not in any catalogue") == "not in any catalogue"  # English needs no catalogue


def test_chinese_comes_from_the_catalogue_with_the_same_fields(monkeypatch):
    monkeypatch.setenv(language.ENV, "zh_CN")
    assert language.tr("step {step}", step=7) == "第 7 步"
    assert language.tr("generator step") == "生成器步数"
    assert language.tr("$L_D$ on a real sample ($f = {other:g}$)", other=0.5) == "真实样本上的 $L_D$（$f = 0.5$）"


def test_a_message_without_its_chinese_and_an_unknown_language_are_refused(monkeypatch):
    monkeypatch.setenv(language.ENV, "zh_CN")
    with pytest.raises(GanlibError, match="no zh_CN translation of 'not in any catalogue'"):
        language.tr("not in any catalogue")
    monkeypatch.setenv(language.ENV, "fr")
    with pytest.raises(GanlibError, match="unknown GANLIB_LANG 'fr'; choose one of: en, zh_CN"):
        language.tr("step")


def test_chinese_figures_get_a_cjk_font_or_a_one_line_error_saying_how_to_install_one(monkeypatch):
    import matplotlib

    monkeypatch.setenv(language.ENV, "zh_CN")
    with matplotlib.rc_context():
        monkeypatch.setattr(language, "CJK_FONTS", ("No Such Font SC",))
        with pytest.raises(GanlibError) as error:
            language.use_language_font()
        assert "\n" not in str(error.value) and "apt-get install fonts-wqy-microhei" in str(error.value)
    monkeypatch.undo()
    monkeypatch.setenv(language.ENV, "zh_CN")
    font = language.cjk_font()
    if font is None:
        missing = "no font with Chinese glyphs on this machine (.ci/run installs fonts-wqy-microhei)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must have one", pytrace=False)
        pytest.skip(missing)
    with matplotlib.rc_context():
        language.use_language_font()
        assert matplotlib.rcParams["font.sans-serif"][0] == font
        # the font really has the glyphs: matplotlib finds 步 in it, not in a fallback
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        path = font_manager.findfont(font_manager.FontProperties(family=font), fallback_to_default=False)
        assert FT2Font(path).get_char_index(ord("步")) != 0


def test_english_leaves_matplotlib_fonts_alone(monkeypatch):
    import matplotlib

    monkeypatch.setenv(language.ENV, "en")
    with matplotlib.rc_context():
        before = list(matplotlib.rcParams["font.sans-serif"])
        language.use_language_font()
        assert matplotlib.rcParams["font.sans-serif"] == before
