"""Where the learner stands, computed from the store and the bank as plain data (the `--json` shape).

Only questions still in the bank count; history of removed questions stays in the file, unused.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Iterable, Sequence

from attnquiz import schedule
from attnquiz.bank import Question
from attnquiz.store import InterviewRow, Store, to_text

JSON_VERSION = 1


def _topic_row(topic: str, questions: Sequence[Question], store_data: dict[str, Any], at: datetime) -> dict[str, Any]:
    cards, counts = store_data["cards"], store_data["counts"]
    seen = [q for q in questions if q.id in counts]
    answers = sum(counts[q.id][0] for q in seen)
    right = sum(counts[q.id][1] for q in seen)
    recall = [schedule.retrievability(cards[q.id].card, at) if q.id in cards else 0.0 for q in questions]
    dues = [cards[q.id].due for q in questions if q.id in cards]
    return {
        "topic": topic,
        "seen": len(seen),
        "total": len(questions),
        "answers": answers,
        "right": right,
        "accuracy": round(right / answers, 4) if answers else None,
        "mastery": round(sum(recall) / len(recall), 4) if recall else 0.0,
        "due_now": sum(d <= at for d in dues),
        "due_7d": sum(schedule.within(d, at, 7) for d in dues),
    }


def streak(times: Iterable[datetime], at: datetime, tz: tzinfo | None = None) -> dict[str, Any]:
    """Consecutive local days with practice. The current streak still counts until today ends unpractised."""
    days = {t.astimezone(tz).date() for t in times}
    today = at.astimezone(tz).date()
    current = 0
    day = today if today in days else today - timedelta(days=1)
    while day in days:
        current += 1
        day -= timedelta(days=1)
    longest, run, previous = 0, 0, None
    for day in sorted(days):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest, previous = max(longest, run), day
    last: date | None = max(days) if days else None
    return {"current": current, "longest": longest, "practised_today": today in days, "last_day": last.isoformat() if last else None}


def _katas(store: Store, kata_names: Sequence[str]) -> list[dict[str, Any]]:
    by_kata: dict[str, list] = {name: [] for name in kata_names}
    for attempt in store.kata_attempts():
        by_kata.setdefault(attempt.kata, []).append(attempt)
    reviews = store.kata_reviews()
    rows = []
    for name in sorted(by_kata):
        attempts = by_kata[name]
        best = max(attempts, key=lambda a: (a.passed, a.checks_passed), default=None)
        review = reviews.get(name)
        rows.append(
            {
                "kata": name,
                "status": "new" if not attempts else ("passed" if any(a.passed for a in attempts) else "attempted"),
                "attempts": len(attempts),
                "best_checks_passed": best.checks_passed if best else None,
                "checks_total": best.checks_total if best else None,
                "last_attempt": to_text(attempts[-1].attempted_at) if attempts else None,
                # the review card a first pass made: due, reviews since that pass, the last rating (the first pass's included)
                "review_due": to_text(review.due) if review else None,
                "reviews": review.reviews - 1 if review else 0,
                "last_rating": review.last_rating if review else None,
                "review_open": review is not None and review.fresh_since is not None,
            }
        )
    return rows


def compute(
    store: Store,
    questions: Sequence[Question],
    at: datetime,
    kata_names: Sequence[str] = (),
    tz: tzinfo | None = None,
    sessions: int = 5,
    interviews: int = 5,
) -> dict[str, Any]:
    """Everything `attnquiz stats` shows, with the stable keys documented in the README."""
    data = {"cards": store.cards(), "counts": store.answer_counts()}
    by_topic: dict[str, list[Question]] = {}
    for q in questions:
        by_topic.setdefault(q.topic, []).append(q)
    topics = [_topic_row(topic, by_topic[topic], data, at) for topic in sorted(by_topic)]
    total = _topic_row("all", list(questions), data, at)
    del total["topic"]
    return {
        "version": JSON_VERSION,
        "now": to_text(at),
        "database": str(store.path),
        "topics": topics,
        "total": total,
        "katas": _katas(store, kata_names),
        "streak": streak(store.practice_times(), at, tz),
        "sessions": [
            {"started": to_text(s.started_at), "ended": to_text(s.ended_at), "answered": s.answered, "right": s.right}
            for s in store.sessions(sessions)
        ],
        "interviews": [_interview(row) for row in store.interviews(interviews)],
    }


def _interview(row: InterviewRow) -> dict[str, Any]:
    """A past mock interview: when, how long, the kata, points, verdict and its phases (attnquiz.interview)."""
    try:
        phases = json.loads(row.report).get("phases", [])
    except (ValueError, AttributeError):
        phases = []
    return {
        "started": to_text(row.started_at),
        "ended": to_text(row.ended_at),
        "minutes": row.minutes,
        "kata": row.kata,
        "kata_passed": row.kata_passed,
        "points": row.points,
        "verdict": row.verdict,
        "phases": phases,
    }
