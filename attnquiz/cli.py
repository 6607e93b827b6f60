"""The command line: parse options, call the core, render. No logic lives here."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from attnquiz.cli_common import console, err_console, escape_markup, fail, resolve_lang, translate_errors
from attnquiz.errors import UsageError

if TYPE_CHECKING:
    from attnquiz.bank import Question
    from attnquiz.quiz import Result
    from attnquiz.store import Store

app = typer.Typer(
    name="attnquiz",
    help="Drill self-attention for transformer interviews: a bilingual quiz and graded coding katas.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
bank_app = typer.Typer(help="Check and list the question bank.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"attnquiz {version('attnquiz')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
) -> None:
    """Drill self-attention for transformer interviews: a bilingual quiz and graded coding katas."""


class _Stop(Exception):
    """The learner ended the session (end of input, :q or Ctrl-C)."""


def _read(prompt: str) -> str:
    try:
        line = console.input(f"[bold]{prompt}[/] › ")
    except EOFError:
        raise _Stop from None
    if not sys.stdin.isatty():
        console.print(line, highlight=False, markup=False)
    if line.strip() in (":q", ":quit"):
        raise _Stop
    return line


def _ask_until_valid(prompt: str, parse, lang: str):
    from attnquiz.i18n import t
    from attnquiz.quiz import InvalidAnswer

    while True:
        line = _read(prompt)
        try:
            return line, parse(line)
        except InvalidAnswer as exc:
            console.print(t(exc.key, lang, **exc.args_), style="yellow")


@app.command()
@translate_errors
def ask(
    topic: Optional[List[str]] = typer.Option(None, "--topic", "-t", help="Only this topic (repeatable). See `attnquiz bank list`."),
    qtype: Optional[str] = typer.Option(None, "--type", help="Only this type: single, multi, truefalse, numeric, short, recall, bug."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Only easy, medium or hard."),
    count: Optional[int] = typer.Option(None, "--count", "-n", help="Ask at most N questions."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for a reproducible order."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Add your own YAML file or folder (repeatable); validated like the built-in bank."),
    qid: Optional[str] = typer.Option(None, "--id", help="Ask this one question."),
    due_only: bool = typer.Option(False, "--due", help="Only reviews that are due now."),
    new_only: bool = typer.Option(False, "--new", help="Only questions you have never answered."),
    everything: bool = typer.Option(False, "--all", help="Ignore the review schedule: every matching question, in random order."),
    weak: bool = typer.Option(False, "--weak", help="Drill what you know least: answered questions, weakest topic and lowest recall first, due or not."),
) -> None:
    """Quiz yourself: due reviews first, then new questions. Answers come one per line, so a session can be piped in.

    Every answer is saved at once and rescheduled with FSRS (see `attnquiz stats`).
    """
    from attnquiz import render, schedule
    from attnquiz.bank import load_bank
    from attnquiz.i18n import t
    from attnquiz.quiz import check_count, presented, select
    from attnquiz.store import Store

    language = resolve_lang(lang)
    if difficulty is not None and difficulty not in ("easy", "medium", "hard"):
        raise UsageError(f"--difficulty {difficulty}: choose easy, medium or hard")
    if due_only + new_only + everything + weak > 1:
        raise UsageError("--due, --new, --all and --weak: choose one")
    mode = "due" if due_only else "new" if new_only else "all" if everything else "default"
    check_count(count)
    bank = load_bank(bank_paths or ())
    pool = select(bank, topics=topic or (), qtype=qtype, difficulty=difficulty, qid=qid, seed=seed)
    with Store.open() as store:
        started = schedule.now()
        if weak and not qid:
            cards = {qid_: card.card for qid_, card in store.cards().items()}
            questions = schedule.weakest(pool, cards, store.answer_counts(), started, count)
            if not questions:
                console.print(t("nothing_weak", language))
                return
        else:
            plan = schedule.plan(pool, store.due_dates(), "all" if qid else mode, started, count)
            if not plan.questions:
                console.print(render.nothing_to_ask(mode, plan.next_due, started, language))
                cli_next.kata_notice(console, language)
                return
            if plan.ahead:
                console.print(render.ahead_notice(plan.next_due, started, language), style="yellow")
            questions = plan.questions
        store.begin_session(started)
        _run_session(store, presented(questions, seed), language)
        render.next_reviews(console, store.due_dates(), bank, schedule.now(), language)
    cli_next.kata_notice(console, language)


def _run_session(store: Store, questions: list[Question], language: str) -> None:
    """Ask each question, saving every answer the moment it is given; the summary comes whatever ends it."""
    from attnquiz import render
    from attnquiz.i18n import t
    from attnquiz.quiz import Session, check, mentioned_points, parse_rating

    session = Session(planned=len(questions))
    console.print(t("keys_hint", language), style="dim")
    try:
        for i, question in enumerate(questions, 1):
            console.print(render.question_panel(question, i, len(questions), language))
            started = time.monotonic()
            if question.type == "recall":
                given = _read(render.prompt_text(question, language))
                console.print(render.recall_panel(question, mentioned_points(question, given), language))
                _, rating = _ask_until_valid(t("ask_rating", language), parse_rating, language)
                _save(store, session.record(question, given, rating != "again", time.monotonic() - started, rating))
            else:
                given, verdict = _ask_until_valid(render.prompt_text(question, language), lambda line, q=question: check(q, line), language)
                _save(store, session.record(question, given, verdict.correct, time.monotonic() - started))
                console.print(render.verdict_panel(question, verdict, language))
    except (_Stop, KeyboardInterrupt):
        console.print()
    render.summary(console, session, language)


def _save(store: Store, result: Result) -> None:
    """Commit the answer before showing anything else, so a crash after it loses nothing."""
    from attnquiz import schedule

    store.record_answer(result.question.id, result.given, result.correct, result.rating, result.seconds, schedule.now())


@bank_app.command("check")
@translate_errors
def bank_check(
    paths: Optional[List[Path]] = typer.Argument(None, help="Files or folders to check (default: the built-in bank)."),
) -> None:
    """Validate question files: every problem as file:line: question-id: what is wrong. Exit 2 if any."""
    from attnquiz.bank import check

    questions, problems = check(paths or None)
    for problem in problems:
        console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        err_console.print(f"{len(problems)} problem(s) found; {len(questions)} question(s) valid.")
        raise typer.Exit(2)
    files = len({q.file for q in questions})
    console.print(f"[green]✓[/] {len(questions)} questions in {files} file(s): no problems.")


@bank_app.command("list")
@translate_errors
def bank_list(
    topic: Optional[List[str]] = typer.Option(None, "--topic", "-t", help="Only this topic (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Add your own YAML file or folder (repeatable)."),
) -> None:
    """List the questions: id, topic, type, difficulty, source."""
    from attnquiz.bank import load_bank
    from attnquiz.quiz import select

    bank = load_bank(bank_paths or ())
    questions = sorted(select(bank, topics=topic or ()), key=lambda q: (q.topic, q.id))
    rows = [{"id": q.id, "topic": q.topic, "type": q.type, "difficulty": q.difficulty, "source": q.source} for q in questions]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if not console.is_terminal:  # piped (`| grep`, `| less`): whole lines, tab-separated, never cut
        for row in rows:
            sys.stdout.write("\t".join(row[c] for c in ("id", "topic", "type", "difficulty", "source")) + "\n")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("id", "topic", "type", "difficulty", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(row[c] for c in ("id", "topic", "type", "difficulty", "source")))
    console.print(table)
    console.print(f"{len(rows)} questions, {len({r['topic'] for r in rows})} topics.")


from attnquiz import cli_kata, cli_next, cli_plan, cli_stats  # noqa: E402

cli_kata.register(app)
cli_stats.register(app)
cli_next.register(app)
cli_plan.register(app)

from attnquiz import cli_export  # noqa: E402

cli_export.register(app)

from attnquiz import cli_interview  # noqa: E402

cli_interview.register(app)


def main() -> None:
    """The console script: like `app()`, but a mistyped command line is one line on stderr, exit 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:
        # Click's usage errors (vendored by newer typer, so matched by shape rather than by class).
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # typer has printed the help already
            sys.exit(0)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        fail(f"{escape_markup(exc.format_message())}{hint}")
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
