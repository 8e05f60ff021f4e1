"""Argument types shared by the command-line interface and the modules that add subcommands to it
(compare, bench, evaluate): kept below all of them, so no module imports ``cli`` back."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeVar

from .errors import GanlibError, check_choice

T = TypeVar("T")


def _int_at_least(minimum: int, what: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _int_at_least(1, "positive", text)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer ≥ 0 (seeds)."""
    return _int_at_least(0, "non-negative", text)


def checked(check: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a ganlib check (``devices.check_device``, say): its ``GanlibError`` becomes
    argparse's one-line error for that argument."""
    def convert(text: str) -> T:
        try:
            return check(text)
        except GanlibError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = getattr(check, "__name__", "value")  # argparse names the type in some messages
    return convert


def choice_list(text: str, choices: Sequence[str], what: str) -> list[str]:
    """A comma list of names, or 'all' for every choice; an unknown name is a one-line GanlibError."""
    items = list(choices) if text == "all" else [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        check_choice(what, item, tuple(choices))
    return items
