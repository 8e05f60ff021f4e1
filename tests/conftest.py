"""Shared fixtures: the offline data root, small, fast training configs, and the built book."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the offline data root, in torchvision's raw layout (<root>/MNIST/raw/...); only the environment names it
DATA = os.environ.get("GANLIB_DATA", "")


@pytest.fixture(scope="session")
def offline_data() -> str:
    """The offline data root from GANLIB_DATA. Without it (or without MNIST there) the data tests skip,
    except under CI (``CI`` set), where they fail: CI must run them."""
    problem = ("GANLIB_DATA is not set" if not DATA else
               f"GANLIB_DATA={DATA} holds no MNIST/raw" if not (Path(DATA) / "MNIST" / "raw").is_dir() else "")
    if problem:
        message = f"{problem}; set GANLIB_DATA to the offline data root (<root>/MNIST/raw/*-idx?-ubyte[.gz])"
        if os.environ.get("CI"):
            pytest.fail(f"under CI the data tests must run: {message}", pytrace=False)
        pytest.skip(message)
    return DATA


@pytest.fixture
def data_root(offline_data: str, monkeypatch) -> str:
    """The offline root, also set as GANLIB_DATA for code that reads the environment (the metrics)."""
    monkeypatch.setenv("GANLIB_DATA", offline_data)
    return offline_data


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    """The built book, both editions: ``GANLIB_BOOK_HTML`` where CI has just built it, else one fresh build in a
    temporary folder for the whole test run (an incremental build can keep stale static files, so an old
    _build is not trusted)."""
    given = os.environ.get("GANLIB_BOOK_HTML")
    if given:
        missing = [part for part in ("book", "zh") if not (Path(given) / part).is_dir()]
        if missing:
            pytest.fail(f"GANLIB_BOOK_HTML={given} holds no {' or '.join(missing)}/ of the built book", pytrace=False)
        return Path(given)
    out = tmp_path_factory.mktemp("book")
    subprocess.run(["jupyter-book", "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
                   check=True, capture_output=True)
    return out / "_build" / "html"


def pytest_terminal_summary(terminalreporter) -> None:
    """The Chinese edition's coverage per chapter (translated / total blocks), printed after every run that
    collected tests/test_translation.py (untranslated blocks show in English on the Chinese pages), and the
    share of English on each Chinese page, after every run of tests/test_english_share.py."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    if any("test_translation.py" in r.nodeid for r in reports):
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "tools"))
        import translate

        terminalreporter.write_sep("-", "Chinese edition: translation coverage")
        terminalreporter.write_line(translate.report(translate.edition().coverage))
    if any("test_english_share.py" in r.nodeid for r in reports):
        from test_english_share import report

        terminalreporter.write_sep("-", "Chinese edition: share of English among the visible words of each page")
        terminalreporter.write_line(report())
