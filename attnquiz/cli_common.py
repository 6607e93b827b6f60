"""Pieces every command module shares: the consoles and the error boundary."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console

from attnquiz.errors import AttnquizError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])

USAGE_EXIT = 2


def fail(message: str, code: int = USAGE_EXIT) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True, highlight=False, emoji=False)
    return typer.Exit(code)


def translate_errors(func: F) -> F:
    """Turn domain errors raised by the core into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AttnquizError as exc:
            raise fail(_escape(str(exc))) from None
        except OSError as exc:  # the file system said no (permissions, a file where a folder should be...)
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(_escape(f"{where}{exc.strerror or exc}; check the path and its permissions")) from None

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
