"""`attnquiz stats`: the numbers (core), the JSON keys scripts rely on, the tables, and --reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from attnquiz import stats
from attnquiz.bank import check as check_bank
from attnquiz.store import Store, record_kata_attempt

DATA = Path(__file__).parent / "data"
SAMPLE = check_bank([DATA])[0]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
UTC = timezone.utc

TOPIC_KEYS = {"topic", "seen", "total", "answers", "right", "accuracy", "mastery", "due_now", "due_7d"}
KATA_KEYS = {"kata", "status", "attempts", "best_checks_passed", "checks_total", "last_attempt", "review_due", "reviews", "last_rating", "review_open"}
NO_REVIEW = {"review_due": None, "reviews": 0, "last_rating": None, "review_open": False}


def attnquiz(*args: str, stdin: str = "", now: str = "2026-01-05T12:00:00Z") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "TZ": "UTC", "ATTNQUIZ_NOW": now}
    return subprocess.run([sys.executable, "-m", "attnquiz", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


def _fill(store: Store) -> None:
    store.begin_session(T0)
    store.record_answer("sample.single", "b", True, "good", 2.0, T0)
    store.record_answer("sample.multi", "a", False, "again", 5.0, T0 + timedelta(minutes=1))
    store.record_answer("sample.multi", "a,b,d", True, "good", 4.0, T0 + timedelta(minutes=3))
    store.record_answer("gone.from.bank", "x", True, "good", 1.0, T0)
    store.record_kata_attempt("multihead", False, 4, 10, 3.0, at=T0)
    store.record_kata_attempt("multihead", True, 10, 10, 3.0, at=T0 + timedelta(hours=1))
    store.record_kata_attempt("attention", False, 2, 8, 3.0, at=T0 + timedelta(hours=2))


def test_per_topic_numbers_and_removed_questions_ignored():
    with Store.open() as store:
        _fill(store)
        data = stats.compute(store, SAMPLE, T0 + timedelta(minutes=5), kata_names=["attention", "generator", "multihead"], tz=UTC)
    sample = next(t for t in data["topics"] if t["topic"] == "sample")
    assert set(sample) == TOPIC_KEYS
    assert (sample["seen"], sample["total"], sample["answers"], sample["right"]) == (2, 6, 3, 2)
    assert sample["accuracy"] == round(2 / 3, 4)
    assert 0 < sample["mastery"] <= 2 / 6
    assert sample["due_now"] == 0 and sample["due_7d"] == 2
    numbers = next(t for t in data["topics"] if t["topic"] == "sample-numbers")
    assert numbers["seen"] == 0 and numbers["accuracy"] is None and numbers["mastery"] == 0.0
    assert data["total"]["answers"] == 3  # the answer to a question no longer in the bank is not counted
    assert data["total"]["due_now"] == 0
    with Store.open() as store:
        later = stats.compute(store, SAMPLE, T0 + timedelta(minutes=20), tz=UTC)
    assert later["total"]["due_now"] == 2 and later["total"]["due_7d"] == 0


def test_kata_table_rows():
    with Store.open() as store:
        _fill(store)
        katas = stats.compute(store, SAMPLE, T0, kata_names=["attention", "generator", "multihead"], tz=UTC)["katas"]
    assert [set(k) for k in katas] == [KATA_KEYS] * 3
    by_name = {k["kata"]: k for k in katas}
    assert by_name["multihead"] == {
        "kata": "multihead", "status": "passed", "attempts": 2, "best_checks_passed": 10, "checks_total": 10,
        "last_attempt": "2026-01-05T10:00:00.000000+00:00", **NO_REVIEW,
    }  # attempts written straight to the store rate no card; stats.compute itself writes nothing
    assert by_name["attention"]["status"] == "attempted" and by_name["attention"]["best_checks_passed"] == 2
    assert by_name["generator"] == {
        "kata": "generator", "status": "new", "attempts": 0, "best_checks_passed": None, "checks_total": None, "last_attempt": None,
        **NO_REVIEW,
    }


def test_streak_counts_consecutive_days_and_survives_until_today_ends():
    days = [T0 - timedelta(days=n) for n in (1, 2, 3, 6, 7)]
    assert stats.streak(days, T0, UTC) == {"current": 3, "longest": 3, "practised_today": False, "last_day": "2026-01-04"}
    assert stats.streak(days + [T0], T0, UTC)["current"] == 4
    assert stats.streak(days, T0 + timedelta(days=1), UTC)["current"] == 0
    assert stats.streak([], T0, UTC) == {"current": 0, "longest": 0, "practised_today": False, "last_day": None}
    late_evening = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert stats.streak([late_evening], T0, timezone(timedelta(hours=8)))["practised_today"] is True


def test_stats_json_has_stable_keys():
    result = attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en", stdin="b\n", now="2026-01-05T09:00:00Z")
    assert result.returncode == 0
    record_kata_attempt("attention", True, 8, 8, 2.5, at=T0)
    out = attnquiz("stats", "--json", "--bank", str(DATA))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"version", "now", "database", "topics", "total", "katas", "streak", "sessions", "interviews"}
    assert data["version"] == 1 and data["now"] == "2026-01-05T12:00:00.000000+00:00"
    assert all(set(t) == TOPIC_KEYS for t in data["topics"]) and set(data["total"]) == TOPIC_KEYS - {"topic"}
    assert all(set(k) == KATA_KEYS for k in data["katas"])
    assert set(data["streak"]) == {"current", "longest", "practised_today", "last_day"}
    assert data["streak"]["current"] == 1
    assert data["sessions"] == [
        {"started": "2026-01-05T09:00:00.000000+00:00", "ended": "2026-01-05T09:00:00.000000+00:00", "answered": 1, "right": 1}
    ]


def test_stats_tables_in_both_languages():
    attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en", stdin="b\n", now="2026-01-05T09:00:00Z")
    record_kata_attempt("attention", False, 3, 8, 2.5, at=T0)
    en = attnquiz("stats", "--bank", str(DATA), "--lang", "en")
    assert en.returncode == 0, en.stderr
    for text in ("Progress by topic", "Mastery", "Katas", "attention", "attempted", "3/8", "Streak: 1 day(s)", "Recent sessions", "1/1  100%"):
        assert text in en.stdout, text
    zh = attnquiz("stats", "--bank", str(DATA), "--lang", "zh")
    assert "各主题进度" in zh.stdout and "掌握度" in zh.stdout


def test_stats_on_a_fresh_home_says_how_to_start():
    result = attnquiz("stats", "--lang", "en")
    assert result.returncode == 0 and "No answers yet: start with attnquiz ask." in result.stdout


def test_reset_asks_first_keeps_a_backup_then_starts_over(_isolated_home):
    attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en", stdin="b\n")
    declined = attnquiz("stats", "--reset", "--lang", "en", stdin="n\n")
    assert declined.returncode == 1 and "Erase all progress" in declined.stdout and "Nothing was changed." in declined.stdout
    with Store.open() as store:
        assert len(store.answers()) == 1

    confirmed = attnquiz("stats", "--reset", "--lang", "en", stdin="y\n")
    assert confirmed.returncode == 0 and "Progress erased. Backup:" in confirmed.stdout
    [backup] = sorted(_isolated_home.glob("progress.sqlite3.*.bak"))
    assert backup.name == "progress.sqlite3.20260105T120000Z.bak"
    with Store.open(backup) as old:
        assert [a.question_id for a in old.answers()] == ["sample.single"]
    with Store.open() as store:
        assert store.answers() == [] and store.due_dates() == {}

    skipped = attnquiz("stats", "--reset", "--yes", "--lang", "en")
    assert skipped.returncode == 0 and "Erase all progress" not in skipped.stdout
    assert len(list(_isolated_home.glob("progress.sqlite3.*.bak"))) == 2
