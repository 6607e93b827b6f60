"""Kata commands: `kata`, `grade`, `hint`, `solution`. Parse, call the core, render.

The core (attnquiz.katas, attnquiz.grading) is imported inside the commands so that
`attnquiz --help` stays fast; neither imports torch (only the grading judge and worker do).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from attnquiz.cli_common import console, escape_markup, fail, resolve_lang, translate_errors
from attnquiz.errors import AttnquizError

if TYPE_CHECKING:
    from datetime import datetime

    from attnquiz.grading import GradeResult
    from attnquiz.katas import Kata, Workspace
    from attnquiz.store import KataRating, KataReview

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
    fresh: bool = typer.Option(
        False, "--fresh", help="Review a passed kata: like --reset, in its last workspace; the next grading rates the review."
    ),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh for titles, hints and fixes (default: from the locale)."),
) -> None:
    """List the coding katas, or create a workspace for one (--fresh: review one that has passed)."""
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
    opened = None
    if fresh:
        ws, opened = katas.fresh_start(kata, directory)
    else:
        ws = katas.create_workspace(kata, directory, reset=reset)
    where = escape(str(ws.path))
    if fresh:
        _say_fresh(kata, ws, opened, language)
    elif ws.backup is not None:
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
) -> None:
    """Run a kata's hidden suite against your file. Exit 0: all checks pass; 1: some fail."""
    from attnquiz import grading, katas
    from attnquiz.cli_common import err_console

    language = resolve_lang(lang)

    kata, target = katas.resolve_target(name, file, Path.cwd())
    untouched = katas.is_untouched(kata, target)  # read before grading: the file may change meanwhile
    try:
        result = grading.grade(kata, target, timeout=timeout, showcase=sample and not as_json, memory=memory << 20)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGHUP/SIGTERM (GradingInterrupted): child killed
        err_console.print("grading interrupted; nothing recorded", markup=False, emoji=False, highlight=False)
        raise typer.Exit(128 + getattr(exc, "signum", 2)) from None
    passed, total = result.counts
    not_recorded = None
    rated = None
    try:
        rated = katas.record_attempt(kata.name, result.passed, passed, total, result.duration_s, review=not untouched)
    except (AttnquizError, OSError) as exc:  # the verdict still shows; the exit code says it was not saved
        not_recorded = f"the attempt was not recorded: {exc}"
    if as_json:
        report = {**result.to_json(), "recorded": not_recorded is None, "review": _review_json(rated)}
        if not_recorded:
            report["error"] = not_recorded
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _render(result, language)
        _say_rating(kata.name, rated, untouched and not_recorded is None, language)
    if not_recorded:
        raise fail(escape_markup(not_recorded))
    raise typer.Exit(0 if result.passed else 1)


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


def _local_date(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d")


def _say(text: str, style: str = "") -> None:
    """One of the review lines: plain text (paths may hold brackets), in the given style, wrapped at spaces."""
    console.print(text, style=style or None, markup=False, highlight=False, emoji=False)


def _say_fresh(kata: Kata, ws: Workspace, opened: Optional[KataReview], lang: str) -> None:
    """What `--fresh` did: due or early (and when) or nothing to review, where the old file went, what rates it."""
    from attnquiz import schedule
    from attnquiz.i18n import t
    from attnquiz.render import when_text

    at = schedule.now()
    if opened is None:
        _say(t("fresh_unpassed", lang, kata=kata.name), "yellow")
    elif opened.due > at:
        _say(t("fresh_early", lang, kata=kata.name, when=when_text(opened.due, at, lang), date=_local_date(opened.due)), "yellow")
    else:
        _say(t("fresh_due", lang, kata=kata.name), "bold")
    if ws.backup is not None:
        _say(t("fresh_archived", lang, backup=str(ws.backup), entry=kata.entry))
    elif ws.created:
        _say(t("fresh_created", lang, kata=kata.name, path=str(ws.path)))
    if opened is not None:
        _say(t("fresh_rates", lang, kata=kata.name), "cyan")


def _review_json(rated: Optional[KataRating]) -> Optional[dict[str, Any]]:
    """The review a grading rated, for --json: {"rating", "due", "first"}, or None."""
    if rated is None:
        return None
    from attnquiz.store import to_text

    return {"rating": rated.rating, "due": to_text(rated.due), "first": rated.first}


def _say_rating(name: str, rated: Optional[KataRating], untouched: bool, lang: str) -> None:
    """After the verdict: how the grading rated the kata's review card, when it comes back."""
    from attnquiz import katas, schedule
    from attnquiz.i18n import t

    if rated is None:
        if untouched and katas.review_open(name):
            _say("\n" + t("review_untouched", lang, kata=name), "yellow")
        return
    from attnquiz.render import when_text

    at = schedule.now()
    key = "review_first" if rated.first else "review_rated"
    rating = t("rating_" + rated.rating, lang)
    _say("\n" + t(key, lang, kata=name, rating=rating, when=when_text(rated.due, at, lang), date=_local_date(rated.due)), "cyan")


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

