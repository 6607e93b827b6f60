"""Shared fixtures. Nothing in the test suite may write to the real home."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point ATTNQUIZ_HOME (and HOME, for anything that ignores it) at a fresh temporary folder."""
    home = tmp_path / "attnquiz-home"
    monkeypatch.setenv("ATTNQUIZ_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return home
