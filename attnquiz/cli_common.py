"""Pieces every command module shares: the consoles and the error boundary."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console

from attnquiz.errors import AttnquizError, UsageError

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
            raise fail(escape_markup(str(exc))) from None
        except BrokenPipeError:  # `attnquiz bank list | head`: the reader has all it wanted
            _silence_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:  # the file system said no (permissions, a file where a folder should be...)
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(escape_markup(f"{where}{exc.strerror or exc}; check the path and its permissions")) from None

    return wrapper  # type: ignore[return-value]


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def escape_markup(text: str) -> str:
    """Text shown through rich as it is: brackets in messages are not markup."""
    from rich.markup import escape

    return escape(text)


def resolve_lang(value: str | None) -> str:
    """--lang as given, else the locale's language (quiz and stats share it)."""
    from attnquiz.quiz import default_lang

    if value is None:
        return default_lang()
    if value not in ("en", "zh"):
        raise UsageError(f"--lang {value}: choose en or zh")
    return value
