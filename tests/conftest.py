"""Shared fixtures. Nothing in the test suite may write to the real home."""

from __future__ import annotations

from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point ATTNQUIZ_HOME (and HOME, for anything that ignores it) at a fresh temporary folder."""
    home = tmp_path / "attnquiz-home"
    monkeypatch.setenv("ATTNQUIZ_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return home


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the checkout: end-to-end tests run the installed console script from here."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert CHECKOUT not in folder.parents
    return folder
