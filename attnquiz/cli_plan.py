"""`attnquiz plan --until DATE`: the days to the interview as a rich table, or `--json`.

The plan itself comes from attnquiz.plan (no rich, no typer there); this module only renders it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from attnquiz.cli_common import console, resolve_lang, translate_errors
from attnquiz.errors import UsageError

if TYPE_CHECKING:
    from attnquiz.plan import Day, StudyPlan


def register(app: typer.Typer) -> None:
    """Add the plan command to the main app."""
    app.command("plan")(plan_command)


@translate_errors
def plan_command(
    until: str = typer.Option(..., "--until", "-u", help="The interview day: YYYY-MM-DD, or +Nd for N days from today (+0d: today)."),
    new_per_day: Optional[int] = typer.Option(None, "--new-per-day", help="At most N new questions a day (default: every unanswered one, spread evenly)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (stable keys, see the README)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Plan your own YAML files or folders too (repeatable)."),
) -> None:
    """What to do each day until the interview: reviews falling due (FSRS forecast), new questions, katas to pass."""
    from attnquiz import plan, schedule
    from attnquiz.bank import load_bank
    from attnquiz.i18n import t
    from attnquiz.katas import list_katas
    from attnquiz.store import Store

    language = resolve_lang(lang)
    at = schedule.now()
    try:
        until_day = plan.parse_until(until, plan.local_day(at))
        if new_per_day is not None and new_per_day < 0:
            raise plan.PlanError("plan_err_new_per_day", value=new_per_day)
    except plan.PlanError as exc:
        raise UsageError(t(exc.key, language, **exc.args_)) from None
    bank = load_bank(bank_paths or ())
    ladder = [kata.name for kata in list_katas()]
    with Store.open() as store:
        cards = store.cards()
        passed = {attempt.kata for attempt in store.kata_attempts() if attempt.passed}
    result = plan.build(bank.questions, cards, ladder, passed, at, until_day, new_per_day=new_per_day)
    if as_json:
        sys.stdout.write(json.dumps(plan.to_json(result), ensure_ascii=False, indent=2) + "\n")
        return
    _render(result, language, new_per_day)


def _day_label(day: Day, today: bool, lang: str) -> str:
    from attnquiz.i18n import t

    weekday = t("plan_weekdays", lang).split()[day.date.weekday()]
    label = t("plan_date", lang, weekday=weekday, month=day.date.month, day=day.date.day)
    marks = [t("plan_today", lang)] if today else []
    if day.interview:
        marks.append(f"[bold magenta]{t('plan_interview', lang)}[/]")
    return f"{label} {' · '.join(marks)}" if marks else label


def _render(result: StudyPlan, lang: str, new_per_day: int | None) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from attnquiz.i18n import t

    days = result.days
    table = Table(
        title=t("plan_title", lang, date=result.until.isoformat(), days=len(days)),
        title_justify="left",
        show_footer=True,
        box=box.SIMPLE_HEAD,
    )
    new_total = sum(len(d.new) for d in days)
    katas_total = sum(len(d.katas) for d in days)
    table.add_column(t("plan_day", lang), footer=t("total", lang), no_wrap=True)
    table.add_column(t("plan_reviews", lang), justify="right", footer=str(sum(d.reviews for d in days)), no_wrap=True)
    table.add_column(t("plan_new", lang), footer=str(new_total), overflow="fold", ratio=3)
    table.add_column(t("plan_katas", lang), footer=str(katas_total), overflow="fold", ratio=2)
    for i, day in enumerate(days):
        reviews = f"[bold yellow]{day.reviews}[/]" if day.reviews else "[dim]0[/]"
        if day.new:
            new = f"{len(day.new)}  [dim]{escape(', '.join(day.new_topics))}[/]"
        elif day.interview and len(days) > 1:
            new = f"[dim]{t('plan_interview_rest', lang)}[/]"
        else:
            new = "[dim]—[/]"
        katas = escape(", ".join(day.katas)) if day.katas else "[dim]—[/]"
        table.add_row(_day_label(day, i == 0, lang), reviews, new, katas, style="bold" if day.interview else None)
    console.print(table)
    console.print(t("plan_assumption", lang), style="dim")
    if result.new_left:
        console.print(t("plan_new_left", lang, n=len(result.new_left), per_day=new_per_day), style="yellow")
    if not new_total and not katas_total and not result.new_left:
        console.print(t("plan_only_reviews", lang), style="green")
    console.print(t("plan_how", lang), style="dim", highlight=False, markup=False)
