"""Shared fixtures: the offline data root and small, fast training configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = os.environ.get("GANLIB_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture(scope="session")
def offline_data() -> str:
    """The offline data root (CI sets GANLIB_DATA; a checkout beside ../shared works too)."""
    if not (Path(DATA) / "MNIST" / "raw").is_dir():
        pytest.skip(f"offline MNIST not found under {DATA}; set GANLIB_DATA to the offline data root")
    return DATA


@pytest.fixture
def data_root(offline_data: str, monkeypatch) -> str:
    """The offline root, also set as GANLIB_DATA for code that reads the environment (the metrics)."""
    monkeypatch.setenv("GANLIB_DATA", offline_data)
    return offline_data
