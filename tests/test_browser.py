"""The built book as readers meet it: every page in headless Chromium (Debian's ``chromium`` driven by
Playwright), at 1280 px in light and dark mode and at 390 px (a phone).

The book is built into a temporary folder (or taken from ``GANLIB_BOOK_HTML``, where tools/test.sh has just
built it) and served on localhost. The pages' CDN scripts (MathJax) are served from npm copies by request
interception, since CI has no internet: ``tools/test.sh`` installs them into ``.cache/web`` (or
``GANLIB_WEB_CACHE``). Screenshots are left in ``_build/screenshots``. Without Chromium, Playwright or
the npm copies the tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
WEB_CACHE = Path(os.environ.get("GANLIB_WEB_CACHE", ROOT / ".cache" / "web")) / "node_modules"
CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.*)")
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def _missing(what: str) -> None:
    """CI must have everything (.ci/run and tools/test.sh install it); elsewhere a missing browser only skips."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}: CI must install it (see .ci/run and tools/test.sh)", pytrace=False)
    pytest.skip(what)


# --- the book, served ------------------------------------------------------------------------------------

def serve(folder: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve ``folder`` on a free localhost port, quietly, in a daemon thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="module")
def site(html_dir):
    base, server = serve(html_dir)
    yield base
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("GANLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("no chromium on PATH (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python playwright is not installed (pip install playwright)")
    if not (WEB_CACHE / "mathjax" / "package.json").exists():
        _missing(f"no npm copy of MathJax in {WEB_CACHE} (npm install --prefix .cache/web mathjax@3)")
    with sync_playwright() as pw:
        # root in a container: Chromium's sandbox needs user namespaces it may not have
        b = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def pages(html: Path) -> list[str]:
    """Every page of the book in both languages (English in book/, Chinese in zh/), relative to the site root."""
    return sorted(p.relative_to(html).as_posix() for folder in ("book", "zh") for p in (html / folder).glob("*.html"))


def chapter_pages() -> list[str]:
    """The pages the table of contents names, English then Chinese (known without building, for parametrising)."""
    toc = (ROOT / "_toc.yml").read_text()
    english = [f"{name}.html" for name in re.findall(r"(?:root|file):\s*(\S+)", toc)]
    return english + [f"zh/{Path(name).name}" for name in english]


def notebook(path: str) -> Path:
    """The notebook a page is made from: book/X.html from book/X.ipynb, zh/X.html from book/zh/X.ipynb."""
    return ROOT / "book" / path.replace(".html", ".ipynb") if path.startswith("zh/") else \
        ROOT / path.replace(".html", ".ipynb")


def twin(path: str) -> str:
    """The same page in the other language."""
    return f"zh/{path.removeprefix('book/')}" if path.startswith("book/") else f"book/{path.removeprefix('zh/')}"


# --- what a page must satisfy ----------------------------------------------------------------------------

def route_cdn(context, unserved: list[str]) -> None:
    """Serve jsDelivr npm URLs from the npm copies; block (and record) every other external request."""
    def handle(route):
        url = route.request.url
        if urlparse(url).hostname in ("127.0.0.1", "localhost") or url.startswith("data:"):
            return route.continue_()
        m = CDN.match(url)
        if m:
            name, version, path = m.groups()
            local = WEB_CACHE / name / path.split("?")[0]
            if local.is_file() and _version_ok(name, version):
                return route.fulfill(path=str(local))
        unserved.append(url)
        return route.abort()
    context.route("**/*", handle)


def _version_ok(name: str, wanted: str) -> bool:
    """The npm copy matches the version range the page asks for (``3`` or ``3.2.2``)."""
    import json

    have = json.loads((WEB_CACHE / name / "package.json").read_text())["version"]
    return have == wanted or have.startswith(wanted + ".")


MATH_REPORT = """() => {
  const out = {untypeset: 0, errors: [], wide: []};
  document.querySelectorAll('div.math, span.math').forEach(el => {
    if (!el.querySelector('mjx-container')) out.untypeset += 1;
  });
  for (const item of MathJax.startup.document.math) {
    const box = item.typesetRoot;
    if (!box) continue;
    const err = box.querySelector('[data-mjx-error]');
    if (err) out.errors.push(err.getAttribute('data-mjx-error') + ' in ' + item.math.slice(0, 80));
    // an undefined macro is no error to MathJax 3 (its noundefined package): it shows the name in red
    if (item.root) item.root.walkTree(node => {
      if (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red')
        out.errors.push('undefined macro ' + node.childNodes.map(c => c.text || '').join('') + ' in ' +
                        item.math.slice(0, 80));
    });
    const math = box.querySelector('mjx-math');
    const column = box.closest('div.math') || box.parentElement;
    if (item.display && math && column.offsetParent !== null &&
        math.getBoundingClientRect().width > column.clientWidth + 1)
      out.wide.push(Math.round(math.getBoundingClientRect().width) + ' px > ' + column.clientWidth +
                    ' px: ' + item.math.trim().slice(0, 60));
  }
  return out;
}"""

# Images served by the book itself (external ones, such as the Colab badge, cannot load without internet).
IMAGES = """() => Array.from(document.images).filter(i => !i.hidden && (i.src.startsWith(location.origin) ||
  i.src.startsWith('data:'))).filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => i.getAttribute('src').slice(0, 100))"""

# Characters that no font of the page can draw show as a box ("tofu"): a Chinese page without a CJK font, or a
# symbol the fonts lack. Each distinct non-ASCII character of the visible text is drawn on a canvas in its
# element's font (with the browser's font fallback, as in the page) and compared with a private-use character,
# which no text font has: the same pixels mean the same missing-glyph box.
GLYPHS = """() => {
  const canvas = document.createElement('canvas');
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (ch, font) => {
    ctx.clearRect(0, 0, 48, 48); ctx.font = font; ctx.fillText(ch, 4, 36);
    return ctx.getImageData(0, 0, 48, 48).data.join(',');
  };
  const byFont = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('mjx-container, script, style') || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden') continue;
    const font = `${s.fontStyle} ${s.fontWeight} 32px ${s.fontFamily}`;
    if (!byFont.has(font)) byFont.set(font, new Set());
    for (const ch of node.textContent) if (ch.codePointAt(0) > 127 && ch.trim()) byFont.get(font).add(ch);
  }
  const missing = new Set();
  for (const [font, chars] of byFont) {
    const box = draw('\uE000', font);
    for (const ch of chars) if (draw(ch, font) === box) missing.add(ch);
  }
  return Array.from(missing);
}"""

OVERFLOW = """() => {
  const bad = [];
  document.querySelectorAll('article pre').forEach(el => {
    if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
      bad.push('code/output scrolls: ' + el.textContent.trim().slice(0, 50));
  });
  document.querySelectorAll('article table').forEach(t => {
    const box = t.parentElement;
    if (t.offsetParent !== null && t.getBoundingClientRect().width > box.clientWidth + 1)
      bad.push('table wider than the column: ' + t.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50));
  });
  return bad;
}"""


def open_page(context, url: str) -> tuple[object, list[str]]:
    """Load ``url``; return the page and the problems seen while loading (console errors, failed loads)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text[:160]}")
            if m.type == "error" and _own(m.location.get("url", "")) else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {str(e)[:160]}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
    page.evaluate("() => MathJax.startup.promise")
    return page, problems


def _own(url: str) -> bool:
    """A console message from the book's own code (served from localhost), not a blocked external load."""
    return not url or urlparse(url).hostname in ("127.0.0.1", "localhost")


def check_page(page, wide_formulas: bool = True) -> list[str]:
    """Formulas, images and glyphs: everything a reader would see broken. A display formula wider than the column
    counts as broken at desktop width (``wide_formulas``); on a phone it scrolls inside its box."""
    problems = []
    # formulas inside closed dropdowns (the exercises' solutions) have no width until opened
    page.evaluate("""() => document.querySelectorAll('details:not([open])')
                               .forEach(d => { d.dataset.testOpened = 1; d.open = true; })""")
    math = page.evaluate(MATH_REPORT)
    page.evaluate("() => document.querySelectorAll('details[data-test-opened]').forEach(d => { d.open = false; })")
    problems += [f"{math['untypeset']} formula(s) not typeset"] if math["untypeset"] else []
    problems += [f"MathJax error: {e}" for e in math["errors"]]
    problems += [f"formula wider than the column: {w}" for w in math["wide"]] if wide_formulas else []
    problems += [f"image does not load: {src}" for src in page.evaluate(IMAGES)]
    missing = page.evaluate(GLYPHS)
    if missing:
        problems.append(f"characters without a glyph (drawn as boxes): {''.join(sorted(missing))[:40]}")
    return problems


def check_column(page) -> list[str]:
    """At 1280 px: code, output and tables fit the column (or wrap)."""
    return page.evaluate(OVERFLOW)


def check_phone(page) -> list[str]:
    """At 390 px: the page itself never scrolls sideways (wide things scroll in their own boxes); output
    figures keep their natural size, so their labels stay as readable as on a desktop."""
    problems = []
    if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"):
        problems.append("the page scrolls sideways on a phone")
    small = page.evaluate("""() => Array.from(document.querySelectorAll('div.cell_output img'))
        .filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width + 1 < i.naturalWidth)
        .map(i => i.naturalWidth + ' px shown at ' + Math.round(i.getBoundingClientRect().width))""")
    problems += [f"figure shrunk on a phone: {s}" for s in small]
    return problems


def check_colab_links(page, path: str) -> list[str]:
    """Every Colab link on a chapter's page opens that chapter's .ipynb on main of the book's repository."""
    repo = re.search(r"^\s+url:\s*https://github\.com/(\S+)", (ROOT / "_config.yml").read_text(), re.M).group(1)
    source = notebook(path)
    want = f"https://colab.research.google.com/github/{repo}/blob/main/{source.relative_to(ROOT).as_posix()}"
    links = page.evaluate("() => Array.from(document.querySelectorAll('a[href*=\"colab.research\"]'), a => a.href)")
    if not source.exists():
        return [f"Colab link on a page without a notebook: {h}" for h in links]
    if not links:
        return ["no Colab link on a notebook chapter"]
    return [f"Colab link {h} is not {want}" for h in links if h != want]


def check_explorers(page, path: str) -> list[str]:
    """A chapter that makes an explorer shows one, and changing each control of each explorer changes its
    picture and its numbers."""
    problems = []
    source = notebook(path)
    boxes = page.locator(".ganlib-explorer").all()
    if source.exists() and "explorer(" in source.read_text() and not boxes:
        problems.append("the chapter makes an explorer, but the page shows none")
    def state(box) -> tuple[str | None, str]:
        """What an explorer shows: its picture's source and its numbers."""
        return box.locator("img").get_attribute("src"), box.locator(".ganlib-metrics").inner_text()

    for n, box in enumerate(boxes):
        if box.locator("fieldset").evaluate("f => f.disabled"):
            problems.append(f"explorer {n}: controls still disabled (its script did not run)")
            continue
        for name in ("loss", "seed"):
            before, select = state(box), box.locator(f"select[name={name}]")
            others = [v for v in select.locator("option").evaluate_all("os => os.map(o => o.value)")
                      if v != select.input_value()]
            if not others:
                continue
            select.select_option(others[0])
            after = state(box)
            problems += [f"explorer {n}: {name} {others[0]} leaves the {what} unchanged"
                         for what, b, a in (("picture", before[0], after[0]), ("numbers", before[1], after[1]))
                         if a == b]
        before, slider = state(box), box.locator("input[name=step]")
        slider.focus()
        page.keyboard.press("Home")  # the first step, as a keyboard user would move it
        after = state(box)
        problems += [f"explorer {n}: the step slider leaves the {what} unchanged"
                     for what, b, a in (("picture", before[0], after[0]), ("numbers", before[1], after[1]))
                     if a == b]
    return problems


# The English pages' label 中文 must draw without a font with Chinese glyphs on the reader's system: the first
# family of the link's font is a web font (custom.css, book/tools/switch_font.py) with a face that loads for
# each non-ASCII character of the label. document.fonts.load gives only faces declared by @font-face whose
# unicode-range holds the character, so a system font (or a face the CSS no longer declares) finds none, and
# a face whose file is missing fails to load.
SWITCH_FONT = """async link => {
  const style = getComputedStyle(link);
  const family = style.fontFamily.split(',')[0].trim();
  const font = `${style.fontStyle} ${style.fontWeight} 16px ${family}`;
  const problems = [];
  for (const ch of new Set(link.textContent.trim())) {
    if (ch.codePointAt(0) < 128) continue;
    let faces;
    try {
      faces = await document.fonts.load(font, ch);
    } catch (e) {
      problems.push(`${ch}: the web font ${family} does not load (${e.name})`);
      continue;
    }
    if (!faces.some(f => f.status === 'loaded'))
      problems.push(`${ch}: no loaded web font covers it (first family: ${family})`);
    else if (!document.fonts.check(font, ch))
      problems.push(`${ch}: ${family} is not ready to draw it`);
  }
  return problems;
}"""


def check_switch_font(page) -> list[str]:
    """The language link's non-ASCII label (中文 on English pages) is drawn by the book's own web font."""
    link = page.locator("a.edition-link")
    if link.count() != 1:
        return []  # check_language_link reports it
    return [f"language link {p}" for p in link.evaluate(SWITCH_FONT)]


def check_language_link(page, site: str, path: str) -> list[str]:
    """The page links to the same page in the other language, whose own link leads back here; the page
    declares its language (zh-CN or en) for fonts, hyphenation and screen readers; an English page's label
    中文 has its web font."""
    problems = []
    want_lang = "zh-CN" if path.startswith("zh/") else "en"
    if page.evaluate("() => document.documentElement.lang") != want_lang:
        problems.append(f"the page does not declare lang={want_lang}")
    link = page.locator("a.edition-link")
    if link.count() != 1:
        return problems + [f"{link.count()} links to the other language (want 1)"]
    problems += check_switch_font(page)
    link.click()
    page.wait_for_load_state("load")
    if page.url != f"{site}/{twin(path)}":
        return problems + [f"the language link leads to {page.url}, not {twin(path)}"]
    page.locator("a.edition-link").click()
    page.wait_for_load_state("load")
    if page.url != f"{site}/{path}":
        problems.append(f"the way back from {twin(path)} leads to {page.url}")
    return problems


def _shot(page, name: str) -> None:
    """A full-page screenshot for people to look at (JPEG: a tall page encodes several times faster)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True, type="jpeg", quality=80)


# --- the tests -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", chapter_pages())
def test_page_as_readers_see_it(browser, site, html_dir, path):
    assert path in pages(html_dir), f"{path} was not built"
    problems: list[str] = []
    for scheme, viewport in (("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE)):
        unserved: list[str] = []
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        route_cdn(context, unserved)
        page, loading = open_page(context, f"{site}/{path}")
        found = loading + check_page(page, wide_formulas=viewport is DESKTOP)
        if viewport is DESKTOP and scheme == "light":
            found += check_column(page) + check_colab_links(page, path) + check_explorers(page, path)
        if viewport is PHONE:
            found += check_phone(page)
        if viewport is DESKTOP and scheme == "dark":
            found += check_language_link(page, site, path)
        found += [f"script from the internet not served locally: {u}" for u in unserved
                  if u.endswith(".js") or "/npm/" in u]
        theme = page.evaluate("() => document.documentElement.dataset.theme")
        if theme != scheme:
            found.append(f"the page shows theme {theme!r} where the reader's system asks for {scheme!r}")
        _shot(page, f"{path.removesuffix('.html').replace('/', '-')}-{viewport['width']}-{scheme}.jpg")
        problems += [f"[{viewport['width']} px {scheme}] {p}" for p in found]
        context.close()
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path, word", [("search.html", "discriminator"), ("zh/search.html", "判别器")])
def test_search_finds_words_in_both_languages(browser, site, path, word):
    """The search page of each edition finds a word of its own language (the Chinese index needs jieba to
    cut words; without it only Latin words would be found)."""
    context = browser.new_context(viewport=DESKTOP)
    route_cdn(context, [])
    page = context.new_page()
    page.goto(f"{site}/{path}?q={word}", wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0 || "
                           "(document.querySelector('#search-results p') || {}).textContent", timeout=30000)
    found = page.locator("#search-results ul.search li").count()
    context.close()
    assert found > 0, f"{path}?q={word} found nothing"


def test_the_checks_catch_broken_formulas_a_missing_image_and_a_dead_explorer(browser, html_dir, tmp_path):
    """The checks above can fail: a copy of the book with a formula MathJax rejects, one it cannot even
    find the end of, a formula far wider than the column, an image removed, characters no font can draw, an
    explorer whose script never enables its controls and the language link's web font removed must each be
    reported."""
    copy = tmp_path / "html"
    shutil.copytree(html_dir, copy)
    page_file = copy / "book" / "07_mnist_comparison.html"
    text = page_file.read_text()
    image = re.search(r'src="\.\./(_images/[^"]+\.png)"', text).group(1)
    (copy / image).unlink()
    (copy / "_static" / "wqy-microhei-switch.woff2").unlink()
    broken = "".join(rf'<div class="math notranslate nohighlight">\[{tex}\]</div>'
                     for tex in (r"x^2^3", r"\frac{1}{2}\notamacro{x}", r"\frac{1}{"))
    long_sum = " + ".join(f"x_{{{i}}}^2" for i in range(120))
    wide = rf'<div class="math notranslate nohighlight">\[{long_sum}\]</div>'
    enable = 'root.querySelector("fieldset").disabled = false;'
    assert enable in text
    tofu = "<p>\ue001\ue002</p>"  # private-use characters: no text font draws them
    page_file.write_text(text.replace("</article>", broken + wide + tofu + "</article>", 1).replace(enable, ""))
    base, server = serve(copy)
    try:
        context = browser.new_context(viewport=DESKTOP)
        route_cdn(context, [])
        page, loading = open_page(context, f"{base}/book/07_mnist_comparison.html")
        found = "\n".join(loading + check_page(page) + check_explorers(page, "book/07_mnist_comparison.html") +
                          check_switch_font(page))
        context.close()
    finally:
        server.shutdown()
    assert "MathJax error: Double exponent" in found, found
    assert "MathJax error: undefined macro \\notamacro" in found, found
    assert "1 formula(s) not typeset" in found, found
    assert "formula wider than the column" in found, found
    assert f"image does not load: ../{image}" in found, found
    assert "explorer 0: controls still disabled" in found, found
    assert "characters without a glyph (drawn as boxes): \ue001\ue002" in found, found
    assert "language link 中: the web font" in found, found
