"""`attnquiz plan`: what to do each day from today to the interview, as plain data.

Three kinds of work fill the days:
* reviews: the questions whose stored due date falls on the day (an overdue one counts today), and
  the reviews FSRS would schedule after them, forecast by assuming every review is rated Good at
  the moment it falls due (the forecast a learner who keeps up can expect; a wrong answer adds more);
* new questions: the ones never answered, spread evenly over the study days, earlier days taking
  the remainder; each is assumed answered right that day, so its own later reviews join the forecast;
* katas still to pass, in ladder order, spread the same way.

The study days are the days before the interview; the interview day itself keeps only its reviews,
unless the interview is today. Days are the learner's local calendar days.

Plain core: no typer, no rich, no torch; fsrs is imported by attnquiz.schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from attnquiz import schedule
from attnquiz.errors import UsageError
from attnquiz.i18n import t
from attnquiz.store import Card, to_text

if TYPE_CHECKING:
    from attnquiz.bank import Question

JSON_VERSION = 1
MAX_DAYS = 366  # a year ahead at most: a plan, not a calendar
MAX_REVIEWS_PER_CARD = 64  # every Good review moves a card at least a minute on; this only guards the loop
DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(r"\+(\d{1,4})d")


class PlanError(UsageError):
    """A bad --until or --new-per-day; `key` and `args` name its message in attnquiz.i18n (the
    command shows it in --lang), str() is the English."""

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(t(key, "en", **args))
        self.key, self.args_ = key, args


@dataclass
class Day:
    """One day of the plan. `scheduled` are reviews the store already has on this day; `forecast`
    are the further reviews FSRS would set if every review so far were rated Good."""

    date: date
    interview: bool = False
    scheduled: list[str] = field(default_factory=list)
    forecast: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    new_topics: list[str] = field(default_factory=list)
    katas: list[str] = field(default_factory=list)

    @property
    def reviews(self) -> int:
        return len(self.scheduled) + len(self.forecast)


@dataclass
class StudyPlan:
    """The days from today to the interview day (both included) and what did not fit in them."""

    now: datetime
    days: list[Day]
    new_left: list[str] = field(default_factory=list)  # unanswered questions beyond --new-per-day

    @property
    def today(self) -> date:
        return self.days[0].date

    @property
    def until(self) -> date:
        return self.days[-1].date


def local_day(moment: datetime, tz: tzinfo | None = None) -> date:
    """The calendar day of `moment` where the learner is (tz None: the machine's local time zone)."""
    return moment.astimezone(tz).date()


def parse_until(text: str, today: date) -> date:
    """The interview day from --until: YYYY-MM-DD or +Nd; a PlanError saying what to type otherwise."""
    value = text.strip()
    example = (today + timedelta(days=7)).isoformat()
    if _ISO_DATE.fullmatch(value):
        try:
            until = date.fromisoformat(value)
        except ValueError:
            raise PlanError("plan_err_no_such_date", value=text, example=example) from None
    elif match := _RELATIVE.fullmatch(value):
        until = today + timedelta(days=int(match.group(1)))
    else:
        raise PlanError("plan_err_not_a_date", value=text, example=example)
    if until < today:
        raise PlanError("plan_err_past", value=text, today=today.isoformat())
    if (until - today).days >= MAX_DAYS:
        raise PlanError("plan_err_too_far", value=text, days=MAX_DAYS - 1)
    return until


def spread(items: Sequence[str], slots: int, cap: int | None = None) -> tuple[list[list[str]], list[str]]:
    """Cut `items` into `slots` consecutive runs as even as possible, the longer runs first, each at
    most `cap` long. Returns the runs and what did not fit."""
    if slots <= 0:
        return [], list(items)
    base, extra = divmod(len(items), slots)
    runs, start = [], 0
    for i in range(slots):
        size = base + (i < extra)
        if cap is not None:
            size = min(size, cap)
        runs.append(list(items[start : start + size]))
        start += size
    return runs, list(items[start:]) if cap is not None else []


def _reviews(
    card_json: str | None, qid: str, first: datetime, last_day: date, tz: tzinfo | None
) -> Iterable[datetime]:
    """The moments a card is reviewed up to the end of `last_day`, each rated Good when it falls due.
    With card_json None, `first` is when a new question is first answered (not itself a review)."""
    moment = first
    if card_json is None:
        card_json, moment = schedule.review(None, qid, "good", first)
    for _ in range(MAX_REVIEWS_PER_CARD):
        if local_day(moment, tz) > last_day:
            return
        yield moment
        card_json, moment = schedule.review(card_json, qid, "good", moment)


def build(
    questions: Sequence[Question],
    cards: Mapping[str, Card],
    ladder: Sequence[str],
    passed: Iterable[str],
    at: datetime,
    until: date,
    tz: tzinfo | None = None,
    new_per_day: int | None = None,
) -> StudyPlan:
    """The plan from `at` to the interview day `until`.

    `questions` are the bank's (cards of questions no longer in it are ignored), `cards` the store's
    by question id, `ladder` every kata name in ladder order, `passed` the katas already passed.
    """
    if new_per_day is not None and new_per_day < 0:
        raise PlanError("plan_err_new_per_day", value=new_per_day)
    today = local_day(at, tz)
    if until < today:
        raise PlanError("plan_err_past", value=until.isoformat(), today=today.isoformat())
    days = [Day(today + timedelta(days=i)) for i in range((until - today).days + 1)]
    days[-1].interview = True
    index = {day.date: day for day in days}

    in_bank = {q.id for q in questions}
    for qid, card in sorted(((qid, c) for qid, c in cards.items() if qid in in_bank), key=lambda item: item[1].due):
        seen: set[date] = set()
        for n, moment in enumerate(_reviews(card.card, qid, max(card.due, at), until, tz)):
            day = local_day(moment, tz)
            if day not in seen:  # a same-day learning step is the same question to review
                seen.add(day)
                (index[day].scheduled if n == 0 else index[day].forecast).append(qid)

    study = days[:-1] or days
    fresh = sorted(
        (q for q in questions if q.id not in cards), key=lambda q: (q.topic, DIFFICULTY_ORDER.get(q.difficulty, 9), q.id)
    )
    topic_of = {q.id: q.topic for q in fresh}
    runs, left = spread([q.id for q in fresh], len(study), new_per_day)
    for offset, (day, run) in enumerate(zip(study, runs)):
        day.new = run
        day.new_topics = list(dict.fromkeys(topic_of[qid] for qid in run))
        answered = at + timedelta(days=offset)  # same clock time as now, on that day
        for qid in run:
            for moment in _reviews(None, qid, answered, until, tz):
                later = index[local_day(moment, tz)]
                if later is not day and qid not in later.forecast:
                    later.forecast.append(qid)

    done = set(passed)
    kata_runs, _ = spread([name for name in ladder if name not in done], len(study))
    for day, run in zip(study, kata_runs):
        day.katas = run
    return StudyPlan(at, days, left)


def to_json(plan: StudyPlan) -> dict[str, Any]:
    """The `--json` shape (stable keys, documented in the README)."""
    days = [
        {
            "date": day.date.isoformat(),
            "interview": day.interview,
            "reviews": day.reviews,
            "reviews_scheduled": len(day.scheduled),
            "reviews_forecast": len(day.forecast),
            "review_ids": day.scheduled + day.forecast,
            "new": len(day.new),
            "new_ids": day.new,
            "new_topics": day.new_topics,
            "katas": day.katas,
        }
        for day in plan.days
    ]
    return {
        "version": JSON_VERSION,
        "now": to_text(plan.now),
        "today": plan.today.isoformat(),
        "until": plan.until.isoformat(),
        "days": days,
        "total": {
            "reviews": sum(d["reviews"] for d in days),
            "new": sum(d["new"] for d in days),
            "katas": sum(len(d["katas"]) for d in days),
        },
        "new_left": len(plan.new_left),
    }
