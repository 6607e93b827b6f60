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


def fail(message: str, code: int = USAGE_EXIT, lang: str = "en") -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    from attnquiz.i18n import t

    prefix = t("error", lang)  # "error: " / "错误：" (a full-width colon needs no space)
    head, gap = prefix.rstrip(), prefix[len(prefix.rstrip()) :]
    err_console.print(f"[bold red]{head}[/]{gap}{message}", markup=True, soft_wrap=True, highlight=False, emoji=False)
    return typer.Exit(code)


def translate_errors(func: F) -> F:
    """Turn domain errors raised by the core into one line on stderr and exit code 2, in the
    command's --lang (or the locale's language) when the error's message is an i18n Text."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AttnquizError as exc:
            lang = _error_lang(kwargs.get("lang"))
            raise fail(escape_markup(error_text(exc, lang)), lang=lang) from None
        except BrokenPipeError:  # `attnquiz bank list | head`: the reader has all it wanted
            _silence_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:  # the file system said no (permissions, a file where a folder should be...)
            from attnquiz.i18n import t

            lang = _error_lang(kwargs.get("lang"))
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(escape_markup(t("err_os", lang, where=where, reason=exc.strerror or exc)), lang=lang) from None

    return wrapper  # type: ignore[return-value]


def error_text(exc: BaseException, lang: str) -> str:
    """An error's message in LANG (domain errors carry an i18n Text; others stay as written)."""
    from attnquiz.i18n import localized

    message = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return localized(message, lang)


def _error_lang(value: Any) -> str:
    """The language of an error line: --lang when valid, else the locale's (never a second error)."""
    if value in ("en", "zh"):
        return str(value)
    from attnquiz.quiz import default_lang

    return default_lang() if value is None else "en"


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
