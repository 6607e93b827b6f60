"""FSRS scheduling with a controllable clock: ratings to due dates, session order, human-sized buckets."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attnquiz import schedule
from attnquiz.bank import Bank, check as check_bank
from attnquiz.errors import UsageError
from attnquiz.quiz import select

DATA = Path(__file__).parent / "data"
POOL = select(Bank(check_bank([DATA])[0]), seed=5)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_again_comes_back_in_a_minute_good_in_ten_then_in_days():
    _, due = schedule.review(None, "q", "again", T0)
    assert due - T0 == timedelta(minutes=1)
    card, due = schedule.review(None, "q", "good", T0)
    assert due - T0 == timedelta(minutes=10)
    later = T0 + timedelta(minutes=10)
    card, due = schedule.review(card, "q", "good", later)
    assert due - later >= timedelta(days=1)
    assert json.loads(card)["state"] == 2  # Review: graduated from the learning steps


def test_easy_skips_learning_and_ratings_order_the_intervals():
    dues = {rating: schedule.review(None, "q", rating, T0)[1] for rating in schedule.RATINGS}
    assert dues["again"] < dues["hard"] < dues["good"] < dues["easy"]
    assert dues["easy"] - T0 >= timedelta(days=1)


def test_same_answers_at_the_same_times_give_the_same_dates():
    def run() -> datetime:
        card, at = None, T0
        for rating in ("good", "good", "hard", "again", "good"):
            card, due = schedule.review(card, "q", rating, at)
            at = due
        return at

    assert run() == run()


def test_retrievability_falls_with_time():
    card, due = schedule.review(None, "q", "easy", T0)
    soon, late = schedule.retrievability(card, T0 + timedelta(hours=1)), schedule.retrievability(card, T0 + timedelta(days=60))
    assert 0.0 < late < soon <= 1.0


def test_plan_due_first_then_new_and_the_rest_only_when_nothing_else():
    a, b, c, d = POOL[:4]
    dues = {a.id: T0 - timedelta(hours=1), b.id: T0 - timedelta(days=2), c.id: T0 + timedelta(hours=3)}
    default = schedule.plan(POOL, dues, "default", T0)
    assert [q.id for q in default.questions[:2]] == [b.id, a.id]  # most overdue first
    assert c not in default.questions and d in default.questions and not default.ahead
    assert default.next_due == T0 + timedelta(hours=3)
    assert schedule.plan(POOL, dues, "due", T0).questions == [b, a]
    assert schedule.plan(POOL, dues, "new", T0).questions == [q for q in POOL if q.id not in dues]
    assert schedule.plan(POOL, dues, "all", T0).questions == list(POOL)
    assert schedule.plan(POOL, dues, "default", T0, count=3).questions == [b, a, POOL[3]]


def test_plan_when_nothing_is_due_or_new():
    dues = {q.id: T0 + timedelta(minutes=10 * (len(POOL) - i)) for i, q in enumerate(POOL)}
    default = schedule.plan(POOL, dues, "default", T0)
    assert default.ahead and default.questions == list(reversed(POOL))
    assert default.next_due == T0 + timedelta(minutes=10)
    assert schedule.plan(POOL, dues, "due", T0).questions == []
    assert schedule.plan(POOL, dues, "new", T0).questions == []


def test_plan_keeps_the_seeded_order_among_equals():
    dues = {q.id: T0 - timedelta(minutes=1) for q in POOL[:3]}
    assert schedule.plan(POOL, dues, "default", T0).questions == list(POOL)


@pytest.mark.parametrize(
    "delta, unit, amount",
    [
        (timedelta(seconds=-5), "now", 0),
        (timedelta(seconds=0), "now", 0),
        (timedelta(seconds=20), "minutes", 1),
        (timedelta(minutes=9, seconds=58), "minutes", 10),
        (timedelta(hours=3, minutes=10), "hours", 3),
        (timedelta(hours=26), "days", 1),
        (timedelta(days=6, hours=2), "days", 6),
    ],
)
def test_when_buckets(delta, unit, amount):
    assert schedule.when(T0 + delta, T0) == schedule.When(unit, amount)


def test_upcoming_groups_and_orders_buckets():
    dues = [T0 + timedelta(minutes=10)] * 3 + [T0 + timedelta(days=1)] * 5 + [T0 - timedelta(hours=1)] + [T0 + timedelta(days=30)]
    assert schedule.upcoming(dues, T0) == [
        (schedule.When("now"), 1),
        (schedule.When("minutes", 10), 3),
        (schedule.When("days", 1), 5),
        (schedule.When("days", 30), 1),
    ]
    assert len(schedule.upcoming(dues, T0, limit=2)) == 2


def test_the_clock_can_be_pinned_for_tests(monkeypatch):
    monkeypatch.setenv("ATTNQUIZ_NOW", "2026-01-05T09:00:00Z")
    assert schedule.now() == T0
    monkeypatch.setenv("ATTNQUIZ_NOW", "2026-01-05T10:00:00+01:00")
    assert schedule.now() == T0
    monkeypatch.setenv("ATTNQUIZ_NOW", "yesterday")
    with pytest.raises(UsageError, match="ATTNQUIZ_NOW=yesterday"):
        schedule.now()
    monkeypatch.delenv("ATTNQUIZ_NOW")
    assert abs(schedule.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_core_modules_import_neither_typer_nor_rich_nor_fsrs_up_front():
    code = (
        "import sys, attnquiz.store, attnquiz.schedule, attnquiz.stats\n"
        "bad = [m for m in ('typer', 'rich', 'fsrs', 'torch') if m in sys.modules]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
