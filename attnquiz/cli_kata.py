"""Kata commands (kata, grade, hint, solution); filled in by the kata work."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the kata commands to the main app."""
