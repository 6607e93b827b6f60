"""Kata commands: `kata`, `grade`, `hint`, `solution`. Parse, call the core, render.

The core (attnquiz.katas, attnquiz.grading) is imported inside the commands so that
`attnquiz --help` stays fast; neither imports torch (only the grading judge and worker do).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from attnquiz.cli_common import console, escape_markup, fail, resolve_lang, translate_errors
from attnquiz.errors import AttnquizError

if TYPE_CHECKING:
    from attnquiz.grading import GradeResult

STATUS_STYLE = {"new": "dim", "started": "yellow", "passed": "green"}
MARK = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "error": "[red]✗[/]", "timeout": "[red]⏱[/]"}


MAX_TIMEOUT_S = 3600.0


def _check_timeout(value: float) -> float:
    """inf and nan pass Click's own range checks; a finite 1..3600 keeps the child's limits sane."""
    import math

    if not (math.isfinite(value) and 1.0 <= value <= MAX_TIMEOUT_S):
        raise typer.BadParameter(f"{value:g} is not a number of seconds from 1 to {MAX_TIMEOUT_S:g}")
    return value


def register(app: typer.Typer) -> None:
    """Add the kata commands to the main app."""
    app.command("kata")(kata_command)
    app.command("grade")(grade_command)
    app.command("hint")(hint_command)
    app.command("solution")(solution_command)


@translate_errors
def kata_command(
    name: Optional[str] = typer.Argument(None, help="Kata to start; omit to list them all."),
    directory: Optional[Path] = typer.Option(
        None, "--dir", help="Workspace folder (default: ./attnquiz-katas/NAME)."
    ),
    reset: bool = typer.Option(False, "--reset", help="Restore the starter file, keeping yours as a .bak-<time> copy."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh for titles, hints and fixes (default: from the locale)."),
) -> None:
    """List the coding katas, or create a workspace for one."""
    from rich.markup import escape
    from rich.table import Table

    from attnquiz import katas

    language = resolve_lang(lang)

    if name is None:
        table = Table(title="Katas, in ladder order", title_justify="left")
        table.add_column("name", no_wrap=True)  # what the learner types: never cut
        for column in ("title", "difficulty", "after", "status"):
            table.add_column(column)
        for k in katas.list_katas():
            status = katas.status(k.name)
            after = ", ".join(k.requires) or "—"
            table.add_row(k.name, escape(k.text("title", language)), k.difficulty, after, f"[{STATUS_STYLE[status]}]{status}[/]")
        console.print(table)
        console.print("Start one with [bold]attnquiz kata NAME[/]; the order is advice, nothing is locked.")
        return
    kata = katas.load_kata(name)
    ws = katas.create_workspace(kata, directory, reset=reset)
    where = escape(str(ws.path))
    if ws.backup is not None:
        console.print(f"Restored the starter; your previous file is saved as [bold]{escape(str(ws.backup))}[/].", emoji=False)
    elif ws.created:
        console.print(f"Created the [bold]{kata.name}[/] workspace in {where}", emoji=False)
    else:
        console.print(f"The workspace {where} already exists; your [bold]{kata.entry}[/] was left as it is.", emoji=False)
    console.print(
        f"\n[bold]{escape(kata.text('title', language))}[/]\n{escape(kata.text('description', language))}\n\nNext:\n"
        f"  cd {where}\n"
        f"  edit {kata.entry}  (its docstring is the full contract)\n"
        f"  python -m pytest -q            # a small sample test\n"
        f"  attnquiz grade                 # the hidden suite, with a diagnosis\n"
        f"  attnquiz hint                  # {len(kata.hints)} progressive hints",
        emoji=False,
    )


@translate_errors
def grade_command(
    name: Optional[str] = typer.Argument(None, help="Kata (default: this workspace's, else the last started)."),
    file: Optional[Path] = typer.Option(None, "--file", help="File to grade instead of the workspace's."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON and nothing else."),
    timeout: float = typer.Option(
        60.0, "--timeout", callback=_check_timeout, help="Seconds before the run is stopped (1 to 3600)."
    ),
    sample: bool = typer.Option(True, "--sample/--no-sample", help="On a pass, show your code at work (generator: text)."),
    memory: int = typer.Option(4096, "--memory", min=1024, max=1 << 20, help="MiB of memory your code may use (1024 or more)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh for titles, hints and fixes (default: from the locale)."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Grade again every time the file is saved, until Ctrl-C."),
) -> None:
    """Run a kata's hidden suite against your file. Exit 0: all checks pass; 1: some fail."""
    from attnquiz import grading, katas
    from attnquiz.cli_common import err_console

    language = resolve_lang(lang)

    kata, target = katas.resolve_target(name, file, Path.cwd())
    if watch:
        from attnquiz import cli_watch

        if as_json:
            raise fail(escape_markup(cli_watch.t("no_json", language)))
        raise typer.Exit(cli_watch.watch(kata, target, language, timeout, memory << 20, sample))
    try:
        result = grading.grade(kata, target, timeout=timeout, showcase=sample and not as_json, memory=memory << 20)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGHUP/SIGTERM (GradingInterrupted): child killed
        err_console.print("grading interrupted; nothing recorded", markup=False, emoji=False, highlight=False)
        raise typer.Exit(128 + getattr(exc, "signum", 2)) from None
    error = _record(kata.name, result)
    not_recorded = f"the attempt was not recorded: {error}" if error else None
    if as_json:
        report = {**result.to_json(), "recorded": not_recorded is None}
        if not_recorded:
            report["error"] = not_recorded
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _render(result, language)
    if not_recorded:
        raise fail(escape_markup(not_recorded))
    raise typer.Exit(0 if result.passed else 1)


def _record(kata: str, result: GradeResult) -> Optional[str]:
    """Record a graded attempt; the reason when it could not be (the verdict still shows)."""
    from attnquiz import katas

    passed, total = result.counts
    try:
        katas.record_attempt(kata, result.passed, passed, total, result.duration_s)
    except (AttnquizError, OSError) as exc:
        return str(exc)
    return None


def _render(result: GradeResult, lang: str = "en") -> None:
    from rich.markup import escape

    from attnquiz.cli_common import err_console

    console.print(f"Grading [bold]{result.kata}[/]: {escape(str(result.file))}", emoji=False)
    for notice in result.notices:
        err_console.print(f"note: {notice}", markup=False, emoji=False, highlight=False)
    for check in result.checks:
        line = f" {MARK[check.status]} {check.name}"
        if check.message:
            line += f" — {escape(check.message)}"
        console.print(line, soft_wrap=True, emoji=False)
    for d in result.diagnosis:
        lead = "This matches a known mistake" if d.full else "This partly matches a known mistake"
        title, fix = d.text(lang)
        console.print(f"\n[bold yellow]{lead}:[/] {escape(title)}\n  [bold]fix:[/] {escape(fix)}", soft_wrap=True, emoji=False)
    passed, total = result.counts
    if result.passed:
        console.print(f"\n[bold green]All {total} checks passed[/] in {result.duration_s:.1f} s — kata passed.", emoji=False)
        console.print(f"See the reference with [bold]attnquiz solution {result.kata}[/].", emoji=False)
        if result.showcase:
            console.print("\nYour code, generating from a small model trained on the project's text:\n", emoji=False)
            console.print(escape(result.showcase), soft_wrap=True, emoji=False)
    else:
        console.print(
            f"\n[bold red]{passed}/{total} checks passed[/] in {result.duration_s:.1f} s. "
            f"Fix the first ✗; [bold]attnquiz hint {result.kata}[/] gives a hint."
        )


@translate_errors
def hint_command(
    name: Optional[str] = typer.Argument(None, help="Kata (default: this workspace's, else the last started)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh for titles, hints and fixes (default: from the locale)."),
) -> None:
    """Show the next of a kata's progressive hints."""
    from rich.markup import escape

    from attnquiz import katas

    language = resolve_lang(lang)

    kata = katas.default_kata(name, Path.cwd())
    number, text = katas.next_hint(kata, language)
    console.print(f"[bold]Hint {number}/{len(kata.hints)}[/] for {kata.name}: {escape(text)}", soft_wrap=True)
    if number == len(kata.hints):
        console.print(f"That was the last hint; [bold]attnquiz solution {kata.name} --give-up[/] shows the reference.")


@translate_errors
def solution_command(
    name: str = typer.Argument(..., help="Kata whose reference solution to show."),
    give_up: bool = typer.Option(False, "--give-up", help="Show it even though the kata has not passed yet."),
) -> None:
    """Show a kata's reference solution (after it has passed, or with --give-up)."""
    from rich.syntax import Syntax

    from attnquiz import katas

    kata = katas.load_kata(name)
    source = katas.solution(kata, give_up=give_up)
    if not console.is_terminal:  # piped or redirected: the file as it is, no line cut at 80 columns
        sys.stdout.write(source if source.endswith("\n") else source + "\n")
        return
    console.print(Syntax(source, "python", theme="ansi_dark", line_numbers=False))

