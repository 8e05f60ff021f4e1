"""A local Sphinx extension of the Chinese edition only (named in book/zh/_config.yml, which translate.py writes):
the theme's interface in Simplified Chinese.

``language: zh_CN`` translates most of it through the themes' own catalogues, but not all: some of their
templates write English text directly ("Toggle primary sidebar", "Color mode"), Sphinx's zh_CN catalogue lacks
"Link to this heading", and the book theme's zh_CN catalogue holds a Traditional Chinese "列印成 PDF". After
the build, ``INTERFACE`` replaces those texts in the theme's markup of every page (attribute values and the
text of its buttons, never the article's own text); the search box's placeholder is a theme option.
"""

from __future__ import annotations

import re
from pathlib import Path

# the themes' English (or Traditional Chinese) interface texts and their Simplified Chinese
INTERFACE = {
    "Toggle primary sidebar": "显示或隐藏左侧栏",
    "Toggle secondary sidebar": "显示或隐藏右侧栏",
    "Color mode": "颜色模式",
    "System Settings": "跟随系统",
    "Launch interactive content": "启动交互式内容",
    "Launch on Colab": "在 Colab 中打开",
    "Link to this heading": "指向本节标题的链接",
    "Link to this code": "指向本段代码的链接",
    "Link to this image": "指向本图的链接",
    "Link to this table": "指向本表的链接",
    "Toggle hidden content": "显示或隐藏内容",
    "列印成 PDF": "打印为 PDF",
    "Main": "正文",
    "Page": "本页",
    "Section Navigation": "本章导航",
    "Site navigation": "全站导航",
    "Copy": "复制",
    "Copied!": "已复制！",
}
SEARCH_PLACEHOLDER = "搜索本书……"
# where the theme puts interface text: attribute values, and button or link labels between tags
_ATTRIBUTE = re.compile(r'\b(title|aria-label|data-bs-title|placeholder|alt|data-tooltip)="([^"]*)"')
_LABEL = re.compile(r">(\s*)([^<>]+?)(\s*)<")


def translate_markup(page: str) -> str:
    """``page`` with the interface texts of ``INTERFACE`` in Chinese: whole attribute values, and labels that
    are the whole text between two tags (a sentence of the article that merely contains such words is kept)."""
    page = page.replace("© Copyright ", "© 版权所有 ")  # the footer, from a template Sphinx's catalogue leaves English
    page = _ATTRIBUTE.sub(lambda m: f'{m.group(1)}="{INTERFACE.get(m.group(2), m.group(2))}"', page)
    return _LABEL.sub(lambda m: f">{m.group(1)}{INTERFACE.get(m.group(2), m.group(2))}{m.group(3)}<", page)


def search_placeholder(app, config) -> None:
    config.html_theme_options = {**(config.html_theme_options or {}), "search_bar_text": SEARCH_PLACEHOLDER}


def translate_pages(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        new = translate_markup(text)
        if new != text:
            path.write_text(new, encoding="utf-8")


def setup(app) -> dict:
    app.connect("config-inited", search_placeholder)
    app.connect("build-finished", translate_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
