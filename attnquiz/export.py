"""Exports of the question bank: an Anki deck (.apkg, built with genanki) and a Markdown cheat sheet.

Why it looks like this:
* a deck is for re-importing: each note's GUID is derived from its question id and the deck and
  note-type ids are constants, so importing a newer export updates the notes (and keeps their
  review history) instead of adding copies, whatever machine wrote it and in whichever language;
* nothing is lost silently: a file is written whole (a temporary file, then a rename), and an
  existing file is replaced only when attnquiz wrote it (an earlier export), else only with `force`;
* plain core: no typer, no rich; genanki is imported only when a deck is written.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from attnquiz.bank import Question, index_letter
from attnquiz.errors import AttnquizError, UsageError
from attnquiz.i18n import t
from attnquiz.lighttext import Block, blocks, spans

EXPORT_LANGS = ("en", "zh", "both")

# Anki matches an import to what it already holds by these ids: never change them. A change of
# FIELDS or the templates' meaning needs a new MODEL_ID (Anki would otherwise refuse the update).
DECK_ID = 1_873_602_455
DECK_NAME = "attnquiz"
MODEL_ID = 1_569_047_218
MODEL_NAME = "attnquiz question"
FIELDS = ("Id", "Topic", "Kind", "Prompt", "Code", "Choices", "Answer", "Explanation", "Source")
GUID_NAMESPACE = "attnquiz"

DEFAULT_APKG = "attnquiz.apkg"
DEFAULT_MARKDOWN = "attnquiz-cheatsheet.md"
SHEET_MARK = "<!-- attnquiz cheat sheet"
WEAK_RECALL = 0.9  # FSRS schedules for 90% recall: below it, a review is overdue

CSS = """\
.card { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-size: 18px; text-align: left; color: #222; background: #fff; max-width: 46em; margin: 0 auto; }
.nightMode.card, .night_mode .card { color: #ddd; background: #1e1e1e; }
.meta { color: #888; font-size: 13px; margin-bottom: .6em; }
code, pre { font-family: "JetBrains Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 15px; }
code { background: rgba(127,127,127,.15); padding: 0 .2em; border-radius: 3px; }
pre { background: rgba(127,127,127,.12); padding: .6em .8em; border-radius: 4px; overflow-x: auto; white-space: pre; }
pre code { background: none; padding: 0; }
pre .ln { color: #999; user-select: none; }
ol.choices { padding-left: 2em; }
.zh { margin-top: .3em; }
.en + .zh { color: #555; }
.nightMode .en + .zh, .night_mode .en + .zh { color: #aaa; }
.answer { margin: .6em 0; }
.why { margin: .6em 0; }
.source { color: #888; font-size: 13px; margin-top: 1em; }
"""

FRONT = """\
<div class="meta">{{Topic}} · {{Kind}}</div>
<div class="prompt">{{Prompt}}</div>
{{#Code}}{{Code}}{{/Code}}
{{#Choices}}{{Choices}}{{/Choices}}"""

BACK = """\
{{FrontSide}}
<hr id="answer">
<div class="answer">{{Answer}}</div>
<div class="why">{{Explanation}}</div>
<div class="source">{{Source}}</div>"""


class ExportError(AttnquizError):
    """An export cannot be written where asked; the message names the path and what to do."""


def export_langs(value: str) -> tuple[str, ...]:
    """--lang for a deck: en, zh, or both (English first, then Chinese, on each card)."""
    if value not in EXPORT_LANGS:
        raise UsageError(f"--lang {value}: choose en, zh or both")
    return ("en", "zh") if value == "both" else (value,)


def in_bank_order(pool: Iterable[Question], bank: Sequence[Question]) -> list[Question]:
    """The chosen questions in the bank's order (topic files, then as written), not a quiz's shuffle."""
    chosen = {q.id for q in pool}
    return [q for q in bank if q.id in chosen]


# --------------------------------------------------------------------------- answers, as data


def _number(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def numeric_answer(question: Question, lang: str) -> str:
    """A numeric question's answer with its tolerance and unit, as the quiz states it."""
    text = _number(question.answer)
    if question.tolerance:
        text += f" (± {question.tolerance:g})"
    unit = question.unit_text(lang)
    return f"{text} {unit}" if unit else text


def accepted_answers(question: Question, lang: str) -> list[str]:
    """Every accepted short answer, one in `lang` first when the question has one."""
    accepted = list(question.accept)
    if lang == "zh":
        accepted.sort(key=lambda a: not any("\u4e00" <= ch <= "\u9fff" for ch in a))
    return accepted


def _choice_notes(question: Question) -> list[tuple[int, Mapping[str, str]]]:
    """The choices that carry a reason (why an option is right or wrong), with their index."""
    return [(i, choice["why"]) for i, choice in enumerate(question.choices) if choice.get("why")]


# --------------------------------------------------------------------------- HTML for Anki


def _esc(text: str) -> str:
    """Text as HTML text (quotes stay as typed: they are not inside attributes)."""
    return html.escape(text, quote=False)


def _inline_html(text: str) -> str:
    out = []
    for span in spans(text):
        if span.kind == "code":
            out.append(f"<code>{_esc(span.text)}</code>")
        elif span.kind == "bold":
            out.append(f"<b>{_inline_html(span.text)}</b>")
        elif span.kind == "italic":
            out.append(f"<i>{_esc(span.text)}</i>")
        else:
            out.append(_esc(span.text))
    return "".join(out)


def markup_html(text: str) -> str:
    """The bank's light Markdown as HTML: paragraphs, bullet and numbered lists, inline code."""
    out: list[str] = []
    open_list = ""
    for block in blocks(text):
        kind = "" if not block.marker else ("ul" if block.marker == "-" else "ol")
        if kind != open_list:
            if open_list:
                out.append(f"</{open_list}>")
            if kind:
                out.append(f"<{kind}>")
            open_list = kind
        if not kind:
            out.append(f"<div>{_inline_html(block.text)}</div>")
        elif kind == "ul":
            out.append(f"<li>{_inline_html(block.text)}</li>")
        else:
            out.append(f'<li value="{block.marker[:-1]}">{_inline_html(block.text)}</li>')
    if open_list:
        out.append(f"</{open_list}>")
    return "".join(out)


def code_html(question: Question) -> str:
    """The question's code, monospace and escaped; a spot-the-bug snippet numbers its lines."""
    if not question.code:
        return ""
    lines = question.code.rstrip("\n").split("\n")
    if question.type == "bug":
        width = len(str(len(lines)))
        body = "\n".join(f'<span class="ln">{n:>{width}}</span>  {_esc(line)}' for n, line in enumerate(lines, 1))
    else:
        body = "\n".join(_esc(line) for line in lines)
    language = re.sub(r"[^a-z0-9+-]", "", question.language.lower())
    return f'<pre><code class="language-{language}">{body}</code></pre>'


def _per_lang(langs: Sequence[str], render: Callable[[str], str]) -> str:
    """One language as is; both as an English block and a Chinese one (once when they read the same)."""
    if len(langs) == 1:
        return render(langs[0])
    parts = {lang: render(lang) for lang in langs}
    shown = [lang for i, lang in enumerate(langs) if parts[lang] and parts[lang] not in [parts[k] for k in langs[:i]]]
    return "".join(f'<div class="{lang}" lang="{lang}">{parts[lang]}</div>' for lang in shown)


def _texts_html(texts: Mapping[str, str], langs: Sequence[str]) -> str:
    """A choice's or a key point's texts: one line per language, the second only if it differs."""
    shown = list(dict.fromkeys(texts[lang] for lang in langs))
    return "<br>".join(
        _inline_html(text) if i == 0 else f'<span class="zh">{_inline_html(text)}</span>' for i, text in enumerate(shown)
    )


def choices_html(question: Question, langs: Sequence[str]) -> str:
    """The options as written (lettered A, B, ...), so the answer's letters point at them."""
    if not question.choices:
        return ""
    items = "".join(f"<li>{_texts_html(choice, langs)}</li>" for choice in question.choices)
    return f'<ol type="A" class="choices">{items}</ol>'


def _answer_html(question: Question, lang: str) -> str:
    mode = question.answer_mode
    if mode in ("single", "multi"):
        return "<br>".join(f"<b>{index_letter(i)}.</b> {_inline_html(question.choices[i][lang])}" for i in question.correct_indices())
    if mode == "truefalse":
        return _esc(t("true" if question.answer else "false", lang))
    if mode == "numeric":
        return _esc(numeric_answer(question, lang))
    if mode == "short":
        first, *others = accepted_answers(question, lang)
        extra = f'<div class="also">{_esc(t("also_accepted", lang) + t("colon", lang) + " · ".join(others))}</div>' if others else ""
        return _esc(first) + extra
    assert question.model_answer is not None  # recall
    points = "".join(f"<li>{_inline_html(point.text[lang])}</li>" for point in question.key_points)
    return f'{markup_html(question.model_answer[lang])}<div><b>{_esc(t("export_key_points", lang))}</b></div><ul>{points}</ul>'


def _explanation_html(question: Question, lang: str) -> str:
    notes = "".join(f"<li><b>{index_letter(i)}.</b> {_inline_html(why[lang])}</li>" for i, why in _choice_notes(question))
    return markup_html(question.explanation[lang]) + (f"<ul>{notes}</ul>" if notes else "")


def anki_fields(question: Question, langs: Sequence[str]) -> dict[str, str]:
    """The note's fields as HTML, by name (see FIELDS); plain data, so tests read them without genanki."""
    kind = " / ".join(dict.fromkeys(f"{t(question.type, lang)} · {t(question.difficulty, lang)}" for lang in langs))
    return {
        "Id": _esc(question.id),
        "Topic": _esc(question.topic),
        "Kind": _esc(kind),
        "Prompt": _per_lang(langs, lambda lang: markup_html(question.prompt[lang])),
        "Code": code_html(question),
        "Choices": choices_html(question, langs),
        "Answer": _per_lang(langs, lambda lang: _answer_html(question, lang)),
        "Explanation": _per_lang(langs, lambda lang: _explanation_html(question, lang)),
        "Source": _esc(question.source),
    }


def note_guid(question_id: str) -> str:
    """The note's Anki GUID: the same for a question id on every machine and every run."""
    from genanki import guid_for

    return guid_for(GUID_NAMESPACE, question_id)


def note_tags(question: Question) -> list[str]:
    """Anki tags (no spaces allowed): attnquiz, and the topic and difficulty below it."""
    return ["attnquiz", f"attnquiz::{question.topic}", f"attnquiz::{question.difficulty}"]


def _genanki() -> ModuleType:
    """genanki, imported on demand: only the deck needs it, and it is an extra."""
    try:
        import genanki
    except ImportError:
        raise ExportError(
            "the Anki export needs genanki, which is not installed: pip install 'attnquiz[export]' (or pip install genanki)"
        ) from None
    return genanki


@dataclass(frozen=True)
class Written:
    """What an export wrote: where, how many questions, and whether it replaced an earlier file."""

    path: Path
    questions: int
    topics: int
    replaced: bool


def write_apkg(questions: Sequence[Question], langs: Sequence[str], target: Path, at: datetime, force: bool = False) -> Written:
    """Write the deck as an Anki package (one note per question) to `target`, whole or not at all.

    `at` stamps the notes' modification time: Anki updates a note from an import only when the
    import is newer, so it must be the current time, not a constant.
    """
    genanki = _genanki()
    target = resolve_target(target, DEFAULT_APKG)
    if target.suffix.lower() != ".apkg":
        raise ExportError(f"{target}: an Anki package must end in .apkg (Anki imports nothing else); choose another --out")
    replaced = _may_replace(target, is_our_apkg, force)
    model = genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[{"name": name, "font": "Menlo" if name == "Code" else "Arial"} for name in FIELDS],
        templates=[{"name": "Question", "qfmt": FRONT, "afmt": BACK}],
        css=CSS,
        sort_field_index=0,
    )
    deck = genanki.Deck(DECK_ID, DECK_NAME, description="Self-attention interview questions from attnquiz. Export again and re-import to update.")
    for question in questions:
        fields = anki_fields(question, langs)
        deck.add_note(genanki.Note(model=model, fields=[fields[name] for name in FIELDS], guid=note_guid(question.id), tags=note_tags(question)))
    _write_atomically(target, lambda tmp: _write_package(genanki.Package(deck), tmp, at.timestamp()))
    return Written(target, len(questions), len({q.topic for q in questions}), replaced)


def _write_package(package: object, path: Path, timestamp: float) -> None:
    """genanki's Package.write_to_file, minus the temporary database it leaves behind in /tmp."""
    import itertools
    import sqlite3
    import zipfile

    with tempfile.TemporaryDirectory(prefix="attnquiz-apkg-") as folder:
        database = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: no journal, no fsync (a third of the time)
            conn.execute("PRAGMA synchronous = OFF")
            package.write_to_db(conn.cursor(), timestamp, itertools.count(int(timestamp * 1000)))  # type: ignore[attr-defined]
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(database, "collection.anki2")
            archive.writestr("media", "{}")


def is_our_apkg(path: Path) -> bool:
    """Whether `path` is an Anki package this exporter wrote (its collection holds our note type)."""
    import json
    import sqlite3
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="attnquiz-apkg-") as folder:
            if "collection.anki2" not in archive.namelist():
                return False
            database = Path(archive.extract("collection.anki2", folder))
            conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
            finally:
                conn.close()
        return str(MODEL_ID) in models
    except (OSError, zipfile.BadZipFile, sqlite3.Error, ValueError, TypeError, IndexError):
        return False


# --------------------------------------------------------------------------- where files go


def resolve_target(target: Path, default_name: str) -> Path:
    """--out as given; a folder gets the default file name inside it; a missing folder is an error."""
    target = target.expanduser()
    if target.is_dir():
        return target / default_name
    parent = target.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise ExportError(f"{target}: the folder {parent} {what}; create it or choose another --out")
    return target


def _may_replace(target: Path, ours: Callable[[Path], bool], force: bool) -> bool:
    """True if `target` exists and may be replaced; an error if it exists and is not ours (without force)."""
    if not target.exists() and not target.is_symlink():
        return False
    if target.is_dir():
        raise ExportError(f"{target}: is a folder; choose a file name for --out")
    if force or ours(target):
        return True
    raise ExportError(f"{target}: the file exists and attnquiz did not write it; choose another --out, or add --force to replace it")


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file beside `target`, then rename: a crash leaves the old file whole."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(text: str, target: Path, force: bool = False) -> Written:
    """Write a cheat sheet to `target` (a folder gets DEFAULT_MARKDOWN), replacing only an earlier one."""
    target = resolve_target(target, DEFAULT_MARKDOWN)
    replaced = _may_replace(target, is_our_sheet, force)
    _write_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return Written(target, 0, 0, replaced)


def is_our_sheet(path: Path) -> bool:
    """Whether `path` starts like a cheat sheet this exporter wrote."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SHEET_MARK)) == SHEET_MARK.encode()
    except OSError:
        return False


# --------------------------------------------------------------------------- missed questions


class Record(NamedTuple):
    """The learner's history with one question: answers, right ones, the last verdict, recall now."""

    answers: int
    right: int
    last_correct: bool
    recall: float


def records(answers: Iterable[tuple[str, bool]], cards: Mapping[str, str], at: datetime) -> dict[str, Record]:
    """Per answered question: counts from (question id, correct) in the order given, FSRS recall at `at`."""
    from attnquiz import schedule

    counts: dict[str, list] = {}
    for qid, correct in answers:
        entry = counts.setdefault(qid, [0, 0, False])
        entry[0] += 1
        entry[1] += int(correct)
        entry[2] = correct
    return {
        qid: Record(n, right, last, schedule.retrievability(cards[qid], at) if qid in cards else 0.0)
        for qid, (n, right, last) in counts.items()
    }


def is_missed(record: Record | None) -> bool:
    """Answered wrong (the last answer) or weak (FSRS expects under 90% recall now); never answered is neither."""
    return record is not None and (not record.last_correct or record.recall < WEAK_RECALL)


def missed(questions: Sequence[Question], by_id: Mapping[str, Record]) -> list[Question]:
    """The missed questions, worst first: last answered wrong, then least likely to be recalled now,
    then the lowest share of right answers (the sheet groups them by topic afterwards)."""
    chosen = [q for q in questions if is_missed(by_id.get(q.id))]
    return sorted(chosen, key=lambda q: (by_id[q.id].last_correct, by_id[q.id].recall, by_id[q.id].right / by_id[q.id].answers))


# --------------------------------------------------------------------------- the cheat sheet

# Markdown's specials where they could act: an underscore only at a word's edge (d_k is safe).
_MD_SPECIAL = re.compile(r"[\\`*<\[\]]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def md_literal(text: str) -> str:
    """Text shown as typed (accepted answers, numbers, sources): Markdown's special characters escaped."""
    return _MD_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


def _inline_md(text: str) -> str:
    """Inline markup kept as Markdown (the bank writes the same syntax); a bare `<` must not open HTML."""
    out = []
    for span in spans(text):
        if span.kind == "code":
            fence = "``" if "`" in span.text else "`"
            out.append(f"{fence}{span.text}{fence}")
        elif span.kind == "bold":
            out.append(f"**{_inline_md(span.text)}**")
        elif span.kind == "italic":
            out.append(f"*{span.text.replace('<', '&lt;')}*")
        else:
            out.append(span.text.replace("<", "&lt;"))
    return "".join(out)


def markup_md(text: str, lead: str = "") -> str:
    """The bank's light Markdown, one line per paragraph or list item; `lead` starts the first paragraph."""
    lines: list[str] = []
    previous: Block | None = None
    for block in blocks(text):
        if previous is not None and not (block.marker and previous.marker):
            lines.append("")  # paragraphs apart; a list's items together
        if block.marker:
            if lead and previous is None:
                lines.extend([lead.rstrip(), ""])
            lines.append(f"{block.indent}{block.marker} {_inline_md(block.text)}")
        else:
            lines.append((lead if previous is None else "") + _inline_md(block.text))
        previous = block
    return "\n".join(lines)


def _fence(code: str, language: str) -> str:
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f"{ticks}{language}\n{code.rstrip()}\n{ticks}"


def _record_md(record: Record, lang: str) -> str:
    """Why the question is on a --missed sheet: a wrong last answer, or else the recall FSRS expects now."""
    key = "export_record_weak" if record.last_correct else "export_record_wrong"
    return t(key, lang, right=record.right, answers=record.answers, recall=f"{100 * record.recall:.0f}")


def _label(key: str, lang: str) -> str:
    """A bold label with its colon: **Answer:** or **答案：**."""
    return f"**{t(key, lang)}{t('colon', lang).rstrip()}**"


def question_md(question: Question, lang: str, record: Record | None = None) -> str:
    """One question of the cheat sheet: prompt, code, options, answer, why, source."""
    colon = t("colon", lang)
    meta = f"*{t(question.type, lang)} · {t(question.difficulty, lang)}*"
    if record is not None:
        meta += f" · {_record_md(record, lang)}"
    parts = [f"### {question.id}", meta, markup_md(question.prompt[lang])]
    if question.code:
        parts.append(_fence(question.code, question.language))
    if question.choices:
        parts.append("\n".join(f"- **{index_letter(i)}.** {_inline_md(choice[lang])}" for i, choice in enumerate(question.choices)))
    answer_label = _label("answer_is", lang)
    mode = question.answer_mode
    if mode in ("single", "multi"):
        right = [f"{index_letter(i)}. {_inline_md(question.choices[i][lang])}" for i in question.correct_indices()]
        parts.append(f"{answer_label} " + "; ".join(right))
    elif mode == "truefalse":
        parts.append(f"{answer_label} {t('true' if question.answer else 'false', lang)}")
    elif mode == "numeric":
        parts.append(f"{answer_label} {md_literal(numeric_answer(question, lang))}")
    elif mode == "short":
        first, *others = accepted_answers(question, lang)
        extra = f" ({t('also_accepted', lang)}{colon}{', '.join(md_literal(a) for a in others)})" if others else ""
        parts.append(f"{answer_label} {md_literal(first)}{extra}")
    else:
        assert question.model_answer is not None
        parts.append(markup_md(question.model_answer[lang], lead=_label("model_answer", lang) + " "))
        points = "\n".join(f"- {_inline_md(point.text[lang])}" for point in question.key_points)
        parts.append(f"{_label('export_key_points', lang)}\n\n{points}")
    parts.append(markup_md(question.explanation[lang], lead=_label("why", lang) + " "))
    notes = _choice_notes(question)
    if notes:
        parts.append("\n".join(f"- **{index_letter(i)}.** {_inline_md(why[lang])}" for i, why in notes))
    parts.append(f"*{t('source', lang)}{colon}{md_literal(question.source)}*")
    return "\n\n".join(parts)


def cheat_sheet(
    questions: Sequence[Question], lang: str, at: datetime, records_by_id: Mapping[str, Record] | None = None
) -> str:
    """The whole sheet, grouped by topic (topics in the order their first question comes).

    With `records_by_id` (the --missed sheet) each question shows the learner's record and the
    header states the rule that chose them.
    """
    topics: dict[str, list[Question]] = {}
    for question in questions:
        topics.setdefault(question.topic, []).append(question)
    day = at.astimezone().date().isoformat()
    head = [
        f"{SHEET_MARK}: written by `attnquiz export markdown`; attnquiz replaces this file when asked to write it again -->",
        f"# {t('export_title', lang)}",
        t("export_summary", lang, n=len(questions), topics=len(topics), date=day),
    ]
    if records_by_id is not None:
        head.append(t("export_missed_rule", lang, pct=f"{100 * WEAK_RECALL:.0f}"))
    head.append("\n".join(f"- [{topic}](#{topic}) ({len(qs)})" for topic, qs in topics.items()))
    body = []
    for topic, qs in topics.items():
        body.append(f"## {topic}")
        for question in qs:
            record = records_by_id.get(question.id) if records_by_id is not None else None
            body.append(question_md(question, lang, record))
            body.append("---")
    return "\n\n".join(head + body) + "\n"
