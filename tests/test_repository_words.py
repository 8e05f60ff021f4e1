"""The repository speaks only of itself: no tracked text file names the machines it was built on or the
process it was built with (work sessions, lent devices and the tool that lent them, numbered issues), and
none holds an absolute path of a build machine. Measured figures say what they ran on ("on a 2-core CPU").

The Chinese edition (book/zh, book/locale) is made from the English sources, which this test reads.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_FOLDERS = ("book/locale/", "book/zh/")
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

WORDS = {  # what it means: pattern (case-insensitive)
    "a work session": r"\bsessions?\b",
    "the device tool": r"\bdevice tool\b",
    "the tool's carry argument": r"\bcarry\s*=|\bcarry (it|them|\.data)\b",
    "the tool's output folder": r"\bfiles_at\b|\$OUT is set by",
    "the tool's upload limit": r"\b64 MiB\b",
    "the brief": r"\bthe brief\b",
    "a numbered issue": r"\bissues? ?#?\d+",
    "a lent device": r"\blent\b",
    "an absolute path of a build machine": r"(^|[^\w.])/(work|tmp|root|home)/\w",
}
PATTERN = re.compile("|".join(f"(?:{p})" for p in WORDS.values()), re.IGNORECASE)
# text that uses a listed word for something else: pytest's fixture scope
ALLOWED = re.compile(r"""scope=["']session["']""")


def tracked_text_files() -> list[Path]:
    """Every file git tracks, but the skipped ones, binary files (a NUL byte or not UTF-8) and this test."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = []
    for name in names.decode().split("\0"):
        if not name or name == THIS_FILE or name.startswith(SKIPPED_FOLDERS):
            continue
        path = ROOT / name
        try:
            data = path.read_bytes()
            if b"\0" not in data:
                data.decode("utf-8")
                files.append(path)
        except (OSError, UnicodeDecodeError):  # deleted in the working tree, or binary
            continue
    return files


def hits(path: Path) -> list[str]:
    """``file:line: text`` for every line of ``path`` that holds a listed word or path."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = PATTERN.search(ALLOWED.sub("", line))
        if match:
            found.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {match.group(0)!r} in {line.strip()[:160]}")
    return found


def test_the_patterns_find_what_they_should_and_pass_ordinary_text():
    for text in ("the next GPU session", "one call of the device tool", 'run(..., carry=[".data"])',
                 "cat <files_at>/x", "the tree may take 64 MiB", "as the brief says", "see issue 8",
                 "issue #10", "a machine lent for it", "data in /work/shared/data", "cd /tmp/x", "~ /home/ann"):
        assert PATTERN.search(text), text
    for text in ('@pytest.fixture(scope="session")', "records carry no paths", "a relevant result",
                 "runs/tmp/x", "http://example.org/home/x", "./work/x", "an issue of timing", "excellent"):
        assert not PATTERN.search(ALLOWED.sub("", text)), text


def test_no_tracked_file_speaks_of_the_build_process_or_machine_paths():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = [hit for path in tracked_text_files() for hit in hits(path)]
    assert not found, f"{len(found)} line(s) name the build process or a machine path:\n" + "\n".join(found)
