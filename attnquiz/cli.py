"""The command line: parse options, call the core, render. No logic lives here."""

from __future__ import annotations

from typing import Optional

import typer

from attnquiz.cli_common import console

app = typer.Typer(
    name="attnquiz",
    help="Drill self-attention for transformer interviews: a bilingual quiz and graded coding katas.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"attnquiz {version('attnquiz')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Drill self-attention for transformer interviews: a bilingual quiz and graded coding katas."""


from attnquiz import cli_kata  # noqa: E402

cli_kata.register(app)
