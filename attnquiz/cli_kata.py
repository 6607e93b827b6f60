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

from attnquiz.cli_common import console, error_text, escape_markup, fail, resolve_lang, translate_errors
from attnquiz.errors import AttnquizError

if TYPE_CHECKING:
    from datetime import datetime

    from attnquiz.grading import GradeResult
    from attnquiz.katas import Kata, Workspace
    from attnquiz.store import KataRating, KataReview

STATUS_STYLE = {"new": "dim", "started": "yellow", "passed": "green"}
STATUS_KEY = {"new": "kata_new", "started": "kata_started", "passed": "kata_passed"}  # attnquiz.i18n keys
LANG_HELP = "en or zh for the kata's texts, check messages and these commands' lines (default: from the locale)."
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
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help=LANG_HELP),
) -> None:
    """List the coding katas, or create a workspace for one (--fresh: review one that has passed)."""
    from rich.markup import escape
    from rich.table import Table

    from attnquiz import katas
    from attnquiz.i18n import t

    language = resolve_lang(lang)

    if name is None:
        table = Table(title=t("katas_ladder", language), title_justify="left")
        table.add_column(t("col_name", language), no_wrap=True)  # what the learner types: never cut
        for column in ("col_title", "col_difficulty", "col_after", "col_status"):
            table.add_column(t(column, language))
        for k in katas.list_katas():
            status = katas.status(k.name)
            after = ", ".join(k.requires) or "—"
            difficulty = t(k.difficulty, language) if k.difficulty in ("easy", "medium", "hard") else k.difficulty
            shown = f"[{STATUS_STYLE[status]}]{t(STATUS_KEY[status], language)}[/]"
            table.add_row(k.name, escape(k.text("title", language)), difficulty, after, shown)
        console.print(table)
        console.print(t("katas_start", language, command="[bold]attnquiz kata NAME[/]"))
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
        console.print(t("ws_restored", language, backup=f"[bold]{escape(str(ws.backup))}[/]"), emoji=False)
    elif ws.created:
        console.print(t("ws_created", language, kata=f"[bold]{kata.name}[/]", where=where), emoji=False)
    else:
        console.print(t("ws_exists", language, where=where, entry=f"[bold]{kata.entry}[/]"), emoji=False)
    console.print(
        f"\n[bold]{escape(kata.text('title', language))}[/]\n{escape(kata.text('description', language))}\n\n{t('ws_next', language)}\n"
        f"  cd {where}\n"
        f"  {t('ws_edit', language, entry=kata.entry)}\n"
        f"  {'python -m pytest -q':<30} {t('ws_sample', language)}\n"
        f"  {'attnquiz grade':<30} {t('ws_grade', language)}\n"
        f"  {'attnquiz hint':<30} {t('ws_hints', language, n=len(kata.hints))}",
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
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help=LANG_HELP),
    watch: bool = typer.Option(False, "--watch", "-w", help="Grade again every time the file is saved, until Ctrl-C."),
) -> None:
    """Run a kata's hidden suite against your file. Exit 0: all checks pass; 1: some fail."""
    from attnquiz import grading, katas
    from attnquiz.cli_common import err_console
    from attnquiz.i18n import t

    language = resolve_lang(lang)

    kata, target = katas.resolve_target(name, file, Path.cwd())
    if watch:
        from attnquiz import cli_watch

        if as_json:
            raise fail(escape_markup(cli_watch.t("no_json", language)), lang=language)
        raise typer.Exit(cli_watch.watch(kata, target, language, timeout, memory << 20, sample))
    untouched = katas.is_untouched(kata, target)  # read before grading: the file may change meanwhile
    try:
        result = grading.grade(kata, target, timeout=timeout, showcase=sample and not as_json, memory=memory << 20)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGHUP/SIGTERM (GradingInterrupted): child killed
        err_console.print(t("grading_interrupted", language), markup=False, emoji=False, highlight=False)
        raise typer.Exit(128 + getattr(exc, "signum", 2)) from None
    not_recorded, rated = _record(kata.name, result, review=not untouched)
    if as_json:  # English, whatever --lang says: a stable format for scripts
        report = {**result.to_json(), "recorded": not_recorded is None, "review": _review_json(rated)}
        if not_recorded:
            report["error"] = t("not_recorded", "en", reason=not_recorded)
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _render(result, language, kata)
        _say_rating(kata.name, rated, untouched and not_recorded is None, language)
    if not_recorded:
        reason = error_text(not_recorded, language)
        raise fail(escape_markup(t("not_recorded", language, reason=reason)), lang=language)
    raise typer.Exit(0 if result.passed else 1)


def _record(kata: str, result: GradeResult, review: bool = True) -> tuple[Optional[BaseException], Optional[KataRating]]:
    """Record a graded attempt (with its failed checks, for `attnquiz hint`) and let it rate the
    kata's review when REVIEW; (the reason it could not be recorded, the rating). The verdict
    shows either way."""
    from attnquiz import katas

    passed, total = result.counts
    failed = [c.name for c in result.checks if not c.passed]
    try:
        rated = katas.record_attempt(kata, result.passed, passed, total, result.duration_s, failed_checks=failed, review=review)
    except (AttnquizError, OSError) as exc:
        return exc, None
    return None, rated


def _render(result: GradeResult, lang: str = "en", kata: Optional[Kata] = None) -> None:
    """The verdict as a person reads it. In Chinese each check also says what it verifies, and
    its message follows on the next line (the grader's messages translated, a suite's own as written)."""
    from rich.markup import escape

    from attnquiz.cli_common import err_console
    from attnquiz.i18n import localized, t

    if lang == "zh" and kata is None:  # a caller that has only the result: the descriptions are in the manifest
        from attnquiz import katas

        kata = katas.load_kata(result.kata)
    console.print(t("grading", lang, kata=f"[bold]{result.kata}[/]", file=escape(str(result.file))), emoji=False)
    for notice in result.notices:
        err_console.print(t("note", lang, text=localized(notice, lang)), markup=False, emoji=False, highlight=False)
    drawn = False  # the weights of the first failed check that has them; later ones only say their case
    for check in result.checks:
        message = escape(localized(check.message, lang))
        if lang == "zh":
            about = kata.check_text(check.name, lang) if kata is not None else ""
            line = f" {MARK[check.status]} {check.name}" + (f"：{escape(about)}" if about else "")
            line += f"\n     {message}" if message else ""
        else:
            line = f" {MARK[check.status]} {check.name}" + (f" — {message}" if message else "")
        console.print(line, soft_wrap=True, emoji=False)
        if check.case and not check.passed:
            drawn = _render_case(check.case, lang, draw=not drawn) or drawn
    for d in result.diagnosis:
        lead = _label(t("mistake_full" if d.full else "mistake_partial", lang), "bold yellow")
        title, fix = d.text(lang)
        console.print(f"\n{lead}{escape(title)}\n  {_label(t('fix', lang), 'bold')}{escape(fix)}", soft_wrap=True, emoji=False)
    passed, total = result.counts
    seconds = f"{result.duration_s:.1f}"
    if result.passed:
        head = f"[bold green]{t('all_checks_passed', lang, total=total)}[/]"
        console.print("\n" + t("kata_passed_in", lang, head=head, seconds=seconds), emoji=False)
        console.print(t("see_reference", lang, command=f"[bold]attnquiz solution {result.kata}[/]"), emoji=False)
        if result.showcase:
            console.print(f"\n{t('showcase', lang)}\n", emoji=False)
            console.print(escape(result.showcase), soft_wrap=True, emoji=False)
    else:
        head = f"[bold red]{t('checks_passed', lang, passed=passed, total=total)}[/]"
        console.print("\n" + t("fix_first", lang, head=head, seconds=seconds, command=f"[bold]attnquiz hint {result.kata}[/]"))


def _label(text: str, style: str) -> str:
    """A styled label before a value: a space after "fix:", none after a full-width "修正："."""
    return f"[{style}]{text}[/]" + ("" if text.endswith("：") else " ")


def _render_case(case: dict, lang: str, draw: bool = True) -> bool:
    """The smallest failing case under its ✗ line: inputs, worst element, and (DRAW) the weights
    drawn, shaded with colour, digits under NO_COLOR or in a pipe. Returns whether it drew them."""
    from rich.text import Text

    from attnquiz import failures

    indent = "     "
    for text in failures.case_lines(case, lang):
        console.print(Text(indent + text, style="dim"), soft_wrap=True, emoji=False)
    if not (draw and case.get("weights")):
        return False
    color = console.color_system is not None and not console.no_color
    for line in failures.heatmap_lines(case["weights"], color, lang):
        console.print(Text.assemble(indent, *line), soft_wrap=True, emoji=False)
    return True


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
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help=LANG_HELP),
) -> None:
    """Show the next of a kata's progressive hints."""
    from rich.markup import escape

    from attnquiz import katas
    from attnquiz.i18n import t

    language = resolve_lang(lang)

    kata = katas.default_kata(name, Path.cwd())
    hint = katas.take_hint(kata, language)
    number, text = hint.number, hint.text
    if hint.check:
        console.print(t("hint_for_check", language, check=f"[bold]{escape(hint.check)}[/]"), soft_wrap=True, emoji=False)
    head = f"[bold]{t('hint_head', language, number=number, total=len(kata.hints))}[/]"
    console.print(t("hint_line", language, head=head, kata=kata.name, text=escape(text)), soft_wrap=True)
    if hint.all_seen:
        console.print(t("last_hint", language, command=f"[bold]attnquiz solution {kata.name} --give-up[/]"))


@translate_errors
def solution_command(
    name: str = typer.Argument(..., help="Kata whose reference solution to show."),
    give_up: bool = typer.Option(False, "--give-up", help="Show it even though the kata has not passed yet."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help=LANG_HELP),
) -> None:
    """Show a kata's reference solution (after it has passed, or with --give-up)."""
    from rich.syntax import Syntax

    from attnquiz import katas

    resolve_lang(lang)  # an unknown --lang is a usage error here too; the errors follow it
    kata = katas.load_kata(name)
    source = katas.solution(kata, give_up=give_up)
    if not console.is_terminal:  # piped or redirected: the file as it is, no line cut at 80 columns
        sys.stdout.write(source if source.endswith("\n") else source + "\n")
        return
    console.print(Syntax(source, "python", theme="ansi_dark", line_numbers=False))

