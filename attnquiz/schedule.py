"""Spaced review with FSRS: a rating to the next due date, the order of a session, when reviews fall.

The algorithm is the `fsrs` package's, not ours. It is imported only when a card is reviewed or its
retrievability read, so `attnquiz ask` shows its first question without paying for it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import zlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from attnquiz.errors import UsageError

if TYPE_CHECKING:
    from attnquiz.bank import Question

RATINGS = ("again", "hard", "good", "easy")  # the learner's self-ratings, and what auto-grading maps to
MODES = ("default", "due", "new", "all")
NOW_ENV = "ATTNQUIZ_NOW"


def now() -> datetime:
    """The current time in UTC; ATTNQUIZ_NOW (ISO 8601, UTC if no offset) pins it, so tests never sleep."""
    pinned = os.environ.get(NOW_ENV)
    if not pinned:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{NOW_ENV}={pinned}: not an ISO 8601 time such as 2026-01-31T09:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@functools.lru_cache(maxsize=2)
def _scheduler(kata: bool = False) -> Any:
    """FSRS with its default parameters; no fuzz, so the same answers at the same times give the same dates.

    A kata is written again from its starter, not answered in seconds, so its card has no learning
    steps of minutes: the same parameters and retention, but its shortest interval is a day.
    """
    from fsrs import Scheduler

    if kata:
        return Scheduler(enable_fuzzing=False, learning_steps=(), relearning_steps=())
    return Scheduler(enable_fuzzing=False)


def warm_up() -> None:
    """Import fsrs now rather than inside a write transaction, which should stay short."""
    _scheduler()


def review(card_json: str | None, question_id: str, rating: str, at: datetime, kata: bool = False) -> tuple[str, datetime]:
    """The card after one review: (card as JSON to store, when it is next due).

    `card_json` is None for a question never answered. The card id is derived from the question
    id because fsrs would otherwise sleep a millisecond to make one from the clock. `kata` picks
    the kata cards' day-sized steps (see _scheduler).
    """
    from fsrs import Card, Rating

    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    card = Card.from_dict(json.loads(card_json)) if card_json else Card(card_id=zlib.crc32(question_id.encode("utf-8")))
    card, _ = _scheduler(kata).review_card(card, Rating[rating.capitalize()], review_datetime=at)
    return json.dumps(card.to_dict()), card.due


def kata_rating(passed: bool, hints_seen: bool, saw_solution: bool) -> str:
    """How a graded kata rates its card: failed or solved after reading the reference -> again,
    passed after a hint -> hard, passed from memory alone -> good."""
    if not passed or saw_solution:
        return "again"
    return "hard" if hints_seen else "good"


def retrievability(card_json: str, at: datetime) -> float:
    """FSRS's estimate (0..1) that the learner would recall this card at `at`."""
    from fsrs import Card

    return float(_scheduler().get_card_retrievability(Card.from_dict(json.loads(card_json)), current_datetime=at))


# --------------------------------------------------------------------------- what to ask


class Plan(NamedTuple):
    """The questions of a session and why these.

    `ahead` is True when nothing was due or new and the default mode fell back to the questions
    reviewed soonest; `next_due` is the earliest future review among the pool (None if none).
    """

    questions: list[Question]
    ahead: bool = False
    next_due: datetime | None = None


def plan(
    pool: Sequence[Question],
    due_by_id: Mapping[str, datetime],
    mode: str,
    at: datetime,
    count: int | None = None,
) -> Plan:
    """Order a filtered pool (already in seeded order) for a session.

    default: due reviews (most overdue first), then new questions; if neither exists, the rest,
    soonest due first, so `attnquiz ask` always has something to practise.
    due / new: only those (possibly nothing). all: the pool as given, ignoring the schedule.
    Ties keep the pool's seeded order, so --seed stays reproducible.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    future = [due_by_id[q.id] for q in pool if q.id in due_by_id and due_by_id[q.id] > at]
    next_due = min(future) if future else None
    due = sorted((q for q in pool if q.id in due_by_id and due_by_id[q.id] <= at), key=lambda q: due_by_id[q.id])
    new = [q for q in pool if q.id not in due_by_id]
    ahead = False
    if mode == "all":
        chosen = list(pool)
    elif mode == "due":
        chosen = due
    elif mode == "new":
        chosen = new
    else:
        chosen = due + new
        if not chosen:
            chosen = sorted(pool, key=lambda q: due_by_id[q.id])
            ahead = bool(chosen)
    return Plan(chosen[:count] if count else chosen, ahead, next_due)


def weakest(
    pool: Sequence[Question],
    cards_json: Mapping[str, str],
    counts: Mapping[str, tuple[int, int]],
    at: datetime,
    count: int | None = None,
) -> list[Question]:
    """The drill for the week before: answered questions, weakest topic first, then the questions
    least likely to be recalled now; due or not. Weak is FSRS's recall probability, then the share
    of right answers (cards still in their first learning steps all read 0). Ties keep the pool's
    seeded order."""
    answered = [q for q in pool if q.id in cards_json]
    recall = {q.id: retrievability(cards_json[q.id], at) for q in answered}
    accuracy = {q.id: counts[q.id][1] / counts[q.id][0] if counts.get(q.id, (0, 0))[0] else 0.0 for q in answered}
    topics: dict[str, list[Question]] = {}
    for q in answered:
        topics.setdefault(q.topic, []).append(q)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    topic_key = {
        topic: (mean([recall[q.id] for q in qs]), mean([accuracy[q.id] for q in qs])) for topic, qs in topics.items()
    }
    chosen = sorted(answered, key=lambda q: (*topic_key[q.topic], recall[q.id], accuracy[q.id]))
    return chosen[:count] if count else chosen


# --------------------------------------------------------------------------- when reviews fall


class When(NamedTuple):
    """A moment relative to now, for people: unit is now, minutes, hours or days (days=1: tomorrow)."""

    unit: str
    amount: int = 0


def when(due: datetime, at: datetime) -> When:
    """Round a due date into the bucket a learner thinks in: 'in 10 minutes', 'in 3 hours', 'tomorrow'."""
    seconds = (due - at).total_seconds()
    if seconds <= 0:
        return When("now")
    if seconds < 3600:
        return When("minutes", max(1, math.ceil(seconds / 60)))
    if seconds < 86400:
        return When("hours", max(1, round(seconds / 3600)))
    return When("days", max(1, round(seconds / 86400)))


def upcoming(dues: Iterable[datetime], at: datetime, limit: int | None = None) -> list[tuple[When, int]]:
    """The buckets of reviews (the first `limit`, if given), soonest first, each with how many fall in it."""
    counts: dict[When, int] = {}
    first: dict[When, datetime] = {}
    for due in sorted(dues):
        bucket = when(due, at)
        counts[bucket] = counts.get(bucket, 0) + 1
        first.setdefault(bucket, due)
    ordered = [(bucket, counts[bucket]) for bucket in sorted(counts, key=first.__getitem__)]
    return ordered if limit is None else ordered[:limit]


def within(due: datetime, at: datetime, days: float) -> bool:
    """Due after `at` but no later than `days` from it."""
    return at < due <= at + timedelta(days=days)
