"""How questions, verdicts and summaries look in the terminal (rich). Used by the CLI only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Mapping

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from attnquiz import schedule
from attnquiz.bank import Bank, Question, index_letter
from attnquiz.i18n import t
from attnquiz.markup import Wrapped, highlight_python
from attnquiz.markup import render as markdown
from attnquiz.quiz import Session, Verdict, numeric_relation


NEXT_REVIEW_GROUPS = 4  # "Next reviews" names this many groups, then "…"


def _code(question: Question) -> RenderableType:
    """Python through the tokenizer-based highlighter (fast start); other languages through Pygments."""
    numbered = question.type == "bug"
    if question.language.lower() in ("python", "py", "python3"):
        code = Wrapped(highlight_python(question.code or "", line_numbers=numbered), code=True)
        return Panel(code, border_style="dim", padding=(0, 1))
    from rich.syntax import Syntax

    return Syntax(question.code or "", question.language, theme="ansi_dark", line_numbers=numbered, word_wrap=True)


def question_panel(question: Question, index: int, total: int, lang: str) -> RenderableType:
    """The question as the learner first sees it: prompt, code, choices."""
    parts: list[RenderableType] = [markdown(question.prompt[lang])]
    if question.code:
        parts.append(_code(question))
    if question.choices:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        for i, choice in enumerate(question.choices):
            grid.add_row(f"{index_letter(i)}.", markdown(choice[lang]))
        parts.append(grid)
    title = f"{t('header', lang, i=index, n=total)} · {question.topic} · {t(question.type, lang)} · {t(question.difficulty, lang)}"
    return _TitledPanel(title, parts)


class _TitledPanel:
    """A question's panel: the header sits in the border when it fits, else on the first line inside
    (a border title is cut short on a narrow terminal; the header must stay whole)."""

    def __init__(self, title: str, parts: list[RenderableType]) -> None:
        self.title, self.parts = title, parts

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Panel]:
        if cell_len(self.title) + 6 <= options.max_width:
            yield Panel(Group(*self.parts), title=escape(self.title), title_align="left", border_style="blue", padding=(0, 1))
        else:
            header = Wrapped(Text(self.title, style="bold blue"))
            yield Panel(Group(header, *self.parts), border_style="blue", padding=(0, 1))


def prompt_text(question: Question, lang: str) -> str:
    mode = question.answer_mode
    if mode == "numeric" and question.unit:
        return t("ask_numeric_unit", lang, unit=question.unit_text(lang))
    return t(f"ask_{mode}", lang)


def answer_text(question: Question, lang: str) -> str:
    """The correct answer written out for the verdict."""
    mode = question.answer_mode
    if mode in ("single", "multi"):
        return "; ".join(f"{index_letter(i)}. {question.choices[i][lang]}" for i in question.correct_indices())
    if mode == "truefalse":
        return t("true" if question.answer else "false", lang)
    if mode == "numeric":
        value = question.answer
        text = f"{value:,}" if isinstance(value, int) else f"{value:g}"
        if question.tolerance:
            text += f" (± {question.tolerance:g})"
        return f"{text} {question.unit_text(lang)}" if question.unit else text
    if mode == "short":
        accepted = list(question.accept)
        if lang == "zh":  # lead with a Chinese answer when the question accepts one
            accepted.sort(key=lambda a: not any("\u4e00" <= ch <= "\u9fff" for ch in a))
        first, others = accepted[0], accepted[1:4]
        extra = f"  ({t('also_accepted', lang)}{t('colon', lang)}{', '.join(others)})" if others else ""
        return first + extra
    return ""


def verdict_panel(question: Question, verdict: Verdict, lang: str) -> Panel:
    if verdict.correct:
        head, style = t("correct_typo" if verdict.typo else "correct", lang), "green"
        mark = "✓"
    else:
        head, style = t("skipped" if verdict.skipped else "wrong", lang), "red"
        mark = "✗"
    parts: list[RenderableType] = [Text(f"{mark} {head}", style=f"bold {style}")]
    if not verdict.correct or verdict.typo or question.answer_mode == "short":
        parts.append(Wrapped(Text.assemble((f"{t('answer_is', lang)}{t('colon', lang)}", "bold"), answer_text(question, lang))))
    parts.extend(_what_was_wrong(question, verdict, lang))
    parts.extend(_explanation(question, lang))
    return Panel(Group(*parts), border_style=style, padding=(0, 1))


def _what_was_wrong(question: Question, verdict: Verdict, lang: str) -> list[RenderableType]:
    """Feedback on the answer itself: which picks were wrong or missing and why, how a number is off."""
    colon = t("colon", lang)
    lines: list[RenderableType] = []
    if verdict.picked and not verdict.correct:
        right = set(question.correct_indices())
        wrong = [i for i in verdict.picked if i not in right]
        missed = [i for i in sorted(right) if i not in verdict.picked]
        if question.answer_mode == "multi":
            if wrong:
                lines.append(Text.assemble((t("wrong_picks", lang) + colon, "bold"), ", ".join(index_letter(i) for i in wrong)))
            if missed:
                lines.append(Text.assemble((t("missed_picks", lang) + colon, "bold"), ", ".join(index_letter(i) for i in missed)))
        for i in wrong:
            why = question.choices[i].get("why")
            if why:
                lines.append(Wrapped(Text.assemble((f"{index_letter(i)}. ", "bold"), (why[lang], "italic"))))
    elif verdict.picked and verdict.correct:
        why = question.choices[verdict.picked[0]].get("why") if question.answer_mode == "single" else None
        if why:
            lines.append(Wrapped(Text(why[lang], style="italic")))
    if verdict.value is not None and not verdict.correct:
        shown = f"{verdict.value:,.0f}" if verdict.value == int(verdict.value) and abs(verdict.value) < 1e15 else f"{verdict.value:g}"
        said = t("you_typed", lang, value=shown)
        relation = numeric_relation(verdict.value, float(question.answer))
        if relation is not None:
            said += f"{t('colon', lang)}{t(relation.key, lang, **relation.args)}"
        lines.append(Text(said))
    return lines


def recall_panel(question: Question, mentioned: list[bool], lang: str) -> Panel:
    assert question.model_answer is not None
    parts: list[RenderableType] = [Text(t("model_answer", lang), style="bold"), markdown(question.model_answer[lang])]
    parts.append(Text(t("key_points", lang) + f" ({sum(mentioned)}/{len(mentioned)})", style="bold"))
    for point, hit in zip(question.key_points, mentioned):
        parts.append(Text(f"  {'✓' if hit else '✗'} {point.text[lang]}", style="green" if hit else "red"))
    parts.extend(_explanation(question, lang))
    return Panel(Group(*parts), border_style="magenta", padding=(0, 1))


def _explanation(question: Question, lang: str) -> list[RenderableType]:
    return [
        Text(t("why", lang), style="bold"),
        markdown(question.explanation[lang]),
        Wrapped(Text(f"{t('source', lang)}{t('colon', lang)}{question.source}", style="dim")),
    ]


def summary(console: Console, session: Session, lang: str) -> None:
    """Score by topic, then what to review."""
    done = len(session.results)
    if not done:
        console.print(t("none_answered", lang))
        return
    table = Table(title=t("summary", lang), title_style="bold", show_footer=True)
    table.add_column(t("topic", lang), footer=t("total", lang))
    total_pct = 100.0 * session.right / done
    table.add_column(t("score", lang), justify="right", footer=f"{session.right}/{done}  {total_pct:.0f}%")
    for topic, score in session.by_topic().items():
        style = "green" if score.right == score.total else ("red" if score.right == 0 else "yellow")
        table.add_row(topic, Text(f"{score.right}/{score.total}  {score.percent:.0f}%", style=style))
    console.print(table)
    if done < session.planned:
        console.print(t("stopped_early", lang, done=done, planned=session.planned), style="dim")
    review = session.to_review()
    if review:
        console.print(Text(t("review", lang) + ":", style="bold"))
        for q in review:
            console.print(f"  • {q.id}  [dim]({q.topic})[/]", highlight=False)
        console.print(t("review_hint", lang), style="dim")
    else:
        console.print(t("all_right", lang), style="green")


def when_text(due: datetime, at: datetime, lang: str) -> str:
    """'in 10 minutes', 'tomorrow', 'now'... in the learner's language."""
    return _bucket_text(schedule.when(due, at), lang)


def next_reviews(console: Console, due_by_id: Mapping[str, datetime], bank: Bank, at: datetime, lang: str) -> None:
    """One line: when the next reviews of questions still in the bank fall, grouped as people say it."""
    dues = [due for qid, due in due_by_id.items() if qid in bank.by_id]
    buckets = schedule.upcoming(dues, at)
    if not buckets:
        return
    shown = buckets[:NEXT_REVIEW_GROUPS]
    items = t("list_sep", lang).join(
        t("review_bucket", lang, count=count, when=_bucket_text(bucket, lang)) for bucket, count in shown
    )
    if len(buckets) > len(shown):  # say that the list goes on
        items += t("list_sep", lang) + t("more_buckets", lang)
    console.print(t("next_reviews", lang, items=items), style="cyan")


def _bucket_text(bucket: schedule.When, lang: str) -> str:
    if bucket.unit == "now":
        return t("when_now", lang)
    return t(f"when_{bucket.unit[:-1]}" if bucket.amount == 1 else f"when_{bucket.unit}", lang, n=bucket.amount)


def nothing_to_ask(mode: str, next_due: datetime | None, at: datetime, lang: str) -> Text:
    """Why a --due or --new session is empty, when the next review is, and what to try instead."""
    lines = [t("nothing_due" if mode == "due" else "nothing_new", lang)]
    if next_due is not None:
        lines.append(t("next_review_when", lang, when=when_text(next_due, at, lang)))
    lines.append(t("try_new_or_all" if mode == "due" else "try_due_or_all", lang))
    return Text("\n".join(lines))


def ahead_notice(next_due: datetime | None, at: datetime, lang: str) -> str:
    return t("ahead", lang, when=when_text(next_due, at, lang) if next_due else "—")
