"""`attnquiz next`, and the kata-review notice at the end of `attnquiz ask`. Parse, call the core, word it.

The decision lives in attnquiz.nextstep (plain core); this module only puts it in one line, in
English or Chinese, or in JSON for scripts. Nothing here imports torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer
from rich.console import Console

from attnquiz.cli_common import console, resolve_lang, translate_errors

if TYPE_CHECKING:
    from datetime import datetime

    from attnquiz.nextstep import Step

JSON_VERSION = 1


def register(app: typer.Typer) -> None:
    """Add the next command to the main app."""
    app.command("next")(next_command)


@translate_errors
def next_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (stable keys, see the README)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help="Count your own YAML files or folders too (repeatable)."),
) -> None:
    """The single best next step, with the command to run: due reviews, a due kata, the next kata, or your weakest topic."""
    from attnquiz import schedule
    from attnquiz.nextstep import next_step

    language = resolve_lang(lang)
    at = schedule.now()
    step = next_step(at, bank_paths or ())
    text = describe(step, at, language)
    if as_json:
        from attnquiz.store import to_text

        data = {
            "version": JSON_VERSION,
            "kind": step.kind,
            "command": step.command,
            "text": text,
            "count": step.count,
            "kata": step.kata,
            "due": to_text(step.due) if step.due else None,
            "topic": step.topic,
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    from rich.markup import escape

    from attnquiz.i18n import t

    # soft_wrap: one line whatever the width (the terminal folds it), so `attnquiz next | ...` reads one line
    console.print(t("next_line", language, text=escape(text), command=f"[bold]{escape(step.command)}[/]"), soft_wrap=True, emoji=False)


def describe(step: Step, at: datetime, lang: str) -> str:
    """Why this step, in one sentence in LANG (the command follows it)."""
    from attnquiz.i18n import t

    if step.kind == "reviews":
        return t("next_reviews_one", lang) if step.count == 1 else t("next_reviews_many", lang, n=step.count)
    if step.kind == "kata_review":
        if step.opened:
            return t("next_kata_review_open", lang, kata=step.kata)
        return t("next_kata_review", lang, kata=step.kata, date=_local_date(step.due))
    if step.kind == "kata":
        from attnquiz.katas import load_kata

        title = load_kata(step.kata or "").text("title", lang)
        if step.file is not None:
            return t("next_kata_started", lang, kata=step.kata, title=title, file=str(step.file))
        return t("next_kata", lang, kata=step.kata, title=title)
    if step.kind == "weakest":
        return t("next_weakest", lang, topic=step.topic)
    return t("next_quiz", lang)


def _local_date(moment: Optional[datetime]) -> str:
    return moment.astimezone().strftime("%Y-%m-%d") if moment else "—"


def kata_notice(out: Console, lang: str) -> None:
    """The one line at the end of `attnquiz ask` when a kata review is due (or open): which, and the command."""
    from attnquiz import katas, schedule
    from attnquiz.i18n import t

    due = katas.due_reviews(schedule.now())
    if not due:
        return
    opened = next((r for r in due if r.fresh_since is not None), None)
    if opened is not None:
        line = t("kata_review_open", lang, kata=opened.kata)
    elif len(due) == 1:
        line = t("kata_due_one", lang, kata=due[0].kata)
    else:
        line = t("kata_due_many", lang, n=len(due), kata=due[0].kata)
    out.print(line, style="cyan", markup=False, highlight=False, emoji=False, soft_wrap=True)
