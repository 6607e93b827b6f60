"""`attnquiz stats`: where the learner stands, as rich tables or `--json`; `--reset` to start over.

The numbers come from attnquiz.stats (no rich, no typer there); this module only renders them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from attnquiz.cli_common import console, resolve_lang, translate_errors

BAR_WIDTH = 8


def register(app: typer.Typer) -> None:
    """Add the stats command to the main app."""
    app.command("stats")(stats_command)


@translate_errors
def stats_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (stable keys, see the README)."),
    reset: bool = typer.Option(False, "--reset", help="Erase all progress, keeping a timestamped backup of the database."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --reset: do not ask for confirmation."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Count your own YAML files or folders too (repeatable)."),
) -> None:
    """Progress per topic (seen, accuracy, FSRS mastery, due), katas, streak and recent sessions."""
    from attnquiz import schedule
    from attnquiz.i18n import t
    from attnquiz.store import Store

    language = resolve_lang(lang)
    with Store.open() as store:
        if reset:
            if not yes and not typer.confirm(t("reset_confirm", language, path=store.path), default=False):
                console.print(t("reset_cancelled", language))
                raise typer.Exit(1)
            backup = store.reset()
            console.print(t("reset_done", language, backup=backup), highlight=False, markup=False)
            return
        from attnquiz import stats
        from attnquiz.bank import load_bank

        bank = load_bank(bank_paths or ())
        names = _kata_names()
        store.adopt_passed_katas(names)  # katas passed before reviews existed get their card
        data = stats.compute(store, bank.questions, schedule.now(), kata_names=names)
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    _render(data, language)


def _kata_names() -> list[str]:
    """Every kata in the bundle, so untried ones show as new."""
    from attnquiz.katas import kata_names

    return list(kata_names())


def _bar(fraction: float, style: str) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH)
    return f"[{style}]{'█' * filled}[/][dim]{'░' * (BAR_WIDTH - filled)}[/]"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _local(stamp: str | None) -> str:
    if not stamp:
        return "—"
    from attnquiz.store import from_text

    return from_text(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


def _render(data: dict[str, Any], lang: str) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from attnquiz.i18n import t
    from attnquiz.store import from_text

    topics = Table(title=t("stats_title", lang), title_justify="left", show_footer=True, box=box.SIMPLE_HEAD)
    total = data["total"]
    topics.add_column(t("topic", lang), footer=t("total", lang), no_wrap=True, overflow="ellipsis")
    topics.add_column(t("seen", lang), justify="right", footer=f"{total['seen']}/{total['total']}", no_wrap=True)
    topics.add_column(t("accuracy", lang), justify="right", footer=_pct(total["accuracy"]), no_wrap=True)
    topics.add_column(t("mastery", lang), footer=f"{_bar(total['mastery'], 'cyan')} {_pct(total['mastery'])}", no_wrap=True)
    topics.add_column(t("due_now", lang), justify="right", footer=str(total["due_now"]), no_wrap=True)
    topics.add_column(t("due_7d", lang), justify="right", footer=str(total["due_7d"]), no_wrap=True)
    for row in data["topics"]:
        accuracy = row["accuracy"]
        style = "dim" if accuracy is None else "green" if accuracy >= 0.8 else "yellow" if accuracy >= 0.5 else "red"
        topics.add_row(
            escape(row["topic"]),
            f"{row['seen']}/{row['total']}",
            f"[{style}]{_pct(accuracy)}[/]",
            f"{_bar(row['mastery'], 'cyan')} {_pct(row['mastery'])}",
            f"[bold yellow]{row['due_now']}[/]" if row["due_now"] else "0",
            str(row["due_7d"]),
        )
    console.print(topics)

    if data["katas"]:
        katas = Table(title=t("katas_title", lang), title_justify="left", box=box.SIMPLE_HEAD)
        for key in ("kata", "status", "attempts", "best", "last_attempt"):
            katas.add_column(t(key, lang), justify="right" if key in ("attempts", "best") else "left")
        colours = {"new": "dim", "attempted": "yellow", "passed": "green"}
        for row in data["katas"]:
            best = "—" if row["best_checks_passed"] is None else f"{row['best_checks_passed']}/{row['checks_total']}"
            status = f"[{colours[row['status']]}]{t('kata_' + row['status'], lang)}[/]"
            katas.add_row(escape(row["kata"]), status, str(row["attempts"]), best, _local(row["last_attempt"]))
        console.print(katas)
        _render_kata_reviews(data, lang)

    streak = data["streak"]
    console.print(t("streak", lang, current=streak["current"], longest=streak["longest"]), style="bold")
    if streak["current"] and not streak["practised_today"]:
        console.print(t("streak_today", lang), style="yellow")

    if data["sessions"]:
        sessions = Table(title=t("sessions_title", lang), title_justify="left", box=box.SIMPLE_HEAD)
        for key in ("started", "duration", "score"):
            sessions.add_column(t(key, lang), justify="left" if key == "started" else "right")
        for row in data["sessions"]:
            minutes = (from_text(row["ended"]) - from_text(row["started"])).total_seconds() / 60
            score = f"{row['right']}/{row['answered']}  {100 * row['right'] / row['answered']:.0f}%"
            sessions.add_row(_local(row["started"]), f"{minutes:.0f} min", score)
        console.print(sessions)
    elif not total["seen"]:
        console.print(t("no_progress", lang), style="dim")
    if data["interviews"]:
        _render_interviews(data["interviews"], lang)
    console.print(f"[dim]{t('database', lang)}{t('colon', lang)}{escape(data['database'])}[/]", highlight=False)


def _render_kata_reviews(data: dict[str, Any], lang: str) -> None:
    """The katas that are review cards, soonest due first: when, reviews since the first pass, last rating."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from attnquiz.i18n import t
    from attnquiz.render import when_text
    from attnquiz.store import from_text

    rows = sorted((row for row in data["katas"] if row["review_due"]), key=lambda row: row["review_due"])
    if not rows:
        return
    now = from_text(data["now"])
    table = Table(title=t("kata_reviews_title", lang), title_justify="left", box=box.SIMPLE_HEAD)
    for key in ("kata", "kata_review", "kata_reviews", "kata_last_rating"):
        table.add_column(t(key, lang), justify="right" if key == "kata_reviews" else "left", no_wrap=key == "kata")
    due_now = 0
    for row in rows:
        due = from_text(row["review_due"])
        due_now += due <= now
        when = f"{when_text(due, now, lang)} · {_local(row['review_due'])}"
        rating = t("rating_" + row["last_rating"], lang) if row["last_rating"] else "—"
        table.add_row(escape(row["kata"]), f"[bold yellow]{when}[/]" if due <= now else when, str(row["reviews"]), rating)
    console.print(table)
    if due_now:
        console.print(t("kata_reviews_due", lang, n=due_now), style="yellow")


def _render_interviews(rows: list[dict[str, Any]], lang: str) -> None:
    """Past mock interviews, newest first: when, the kata, points and verdict."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from attnquiz.cli_interview import t as it

    table = Table(title=it("interviews_title", lang), title_justify="left", box=box.SIMPLE_HEAD)
    for key in ("col_started", "col_kata", "col_points", "col_verdict"):
        table.add_column(it(key, lang), justify="right" if key == "col_points" else "left")
    colours = {"ready": "green", "borderline": "yellow", "not_yet": "red"}
    for row in rows:
        kata = escape(row["kata"] or "—") + (" ✓" if row["kata_passed"] else "")
        verdict = f"[{colours.get(row['verdict'], 'dim')}]{it('v_' + row['verdict'], lang)}[/]"
        table.add_row(_local(row["started"]), kata, f"{row['points']}/100", verdict)
    console.print(table)
