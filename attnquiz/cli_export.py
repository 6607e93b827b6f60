"""`attnquiz export anki` and `attnquiz export markdown`: the bank as an Anki deck or a cheat sheet.

The work is done in attnquiz.export (no rich, no typer there); this module parses and reports.
Everything is imported inside the commands, so `attnquiz --help` and `ask` pay nothing for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from attnquiz.cli_common import console, err_console, escape_markup, resolve_lang, translate_errors

export_app = typer.Typer(help="Export the questions: an Anki deck (.apkg) or a Markdown cheat sheet.", no_args_is_help=True)

_TOPIC_HELP = "Only this topic (repeatable). See `attnquiz bank list`."
_BANK_HELP = "Add your own YAML file or folder (repeatable); validated like the built-in bank."
_FORCE_HELP = "Replace --out even if attnquiz did not write it (an earlier export is always replaced)."


def register(app: typer.Typer) -> None:
    """Add the export command group to the main app."""
    app.add_typer(export_app, name="export")


@export_app.command("anki")
@translate_errors
def anki_command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="The .apkg file to write (default: attnquiz.apkg here; a folder gets that name inside)."),
    topic: Optional[List[str]] = typer.Option(None, "--topic", "-t", help=_TOPIC_HELP),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en, zh, or both (both languages on every card). Default: from the locale, else English."),
    force: bool = typer.Option(False, "--force", help=_FORCE_HELP),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help=_BANK_HELP),
) -> None:
    """An Anki deck: one note per question (prompt, code, options, answer, explanation, source).

    Each note's id comes from its question id, so importing a newer export updates the notes
    already in Anki (keeping their reviews) instead of adding copies.
    """
    from attnquiz import export, schedule
    from attnquiz.bank import load_bank
    from attnquiz.i18n import t
    from attnquiz.quiz import select

    langs = export.export_langs(lang) if lang is not None else (resolve_lang(None),)
    language = langs[0] if len(langs) == 1 else resolve_lang(None)  # the language these lines speak
    bank = load_bank(bank_paths or ())
    questions = export.in_bank_order(select(bank, topics=topic or ()), bank.questions)
    target = out if out is not None else Path(export.DEFAULT_APKG)
    written = export.write_apkg(questions, langs, target, schedule.now(), force=force)
    label = t("export_lang_both" if len(langs) > 1 else f"export_lang_{langs[0]}", language)
    console.print(t("export_anki_done", language, notes=written.questions, topics=written.topics, language=label, path=escape_markup(str(written.path))))
    if written.replaced:
        console.print(t("export_replaced", language), style="dim")
    console.print(t("export_anki_hint", language), style="dim")


@export_app.command("markdown")
@translate_errors
def markdown_command(
    missed: bool = typer.Option(False, "--missed", help="Only what you answered wrong (last time) or know weakly (FSRS recall under 90% now)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file (a folder gets attnquiz-cheatsheet.md inside); default: standard output."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or zh (default: from the locale, else English)."),
    topic: Optional[List[str]] = typer.Option(None, "--topic", "-t", help=_TOPIC_HELP),
    force: bool = typer.Option(False, "--force", help=_FORCE_HELP),
    bank_paths: Optional[List[Path]] = typer.Option(None, "--bank", help=_BANK_HELP),
) -> None:
    """A cheat sheet: every question (or only the missed ones) with its answer and explanation, by topic."""
    from attnquiz import export, schedule
    from attnquiz.bank import load_bank
    from attnquiz.i18n import t
    from attnquiz.quiz import select

    language = resolve_lang(lang)
    bank = load_bank(bank_paths or ())
    questions = export.in_bank_order(select(bank, topics=topic or ()), bank.questions)
    at = schedule.now()
    records = None
    if missed:
        from attnquiz.store import Store

        with Store.open() as store:
            answers = [(answer.question_id, answer.correct) for answer in store.answers()]
            cards = {qid: card.card for qid, card in store.cards().items()}
        records = export.records(answers, cards, at)
        answered = sum(q.id in records for q in questions)
        questions = export.missed(questions, records)
        if not questions:
            err_console.print(t("export_nothing_missed", language, answered=answered), markup=False)
            return
    text = export.cheat_sheet(questions, language, at, records)
    if out is None:
        sys.stdout.write(text)
        return
    written = export.write_text(text, out, force=force)
    console.print(t("export_sheet_done", language, n=len(questions), path=escape_markup(str(written.path))))
    if written.replaced:
        console.print(t("export_replaced", language), style="dim")
