"""`attnquiz plan`: the days to the interview under a pinned clock (ATTNQUIZ_NOW), through the real CLI
in a subprocess, with a real progress file written by the store and real FSRS for the forecast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from attnquiz import schedule
from attnquiz.bank import load_bank
from attnquiz.katas import list_katas
from attnquiz.plan import parse_until, spread
from attnquiz.store import Store

NOW = "2026-03-02T09:00:00Z"  # a Monday
AT = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
BANK = load_bank()
LADDER = [k.name for k in list_katas()]


def attnquiz(*args: str, now: str = NOW, tz: str = "UTC", **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "TZ": tz, "ATTNQUIZ_NOW": now, **extra}
    return subprocess.run([sys.executable, "-m", "attnquiz", *args], capture_output=True, text=True, env=env, timeout=120)


def plan_json(*args: str, **kwargs: str) -> dict:
    result = attnquiz("plan", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def day_of(data: dict, day: str) -> dict:
    [found] = [d for d in data["days"] if d["date"] == day]
    return found


def where(data: dict, qid: str, key: str) -> list[str]:
    """The dates whose `key` list (review_ids, new_ids) holds `qid`."""
    return [d["date"] for d in data["days"] if qid in d[key]]


def answer_at(qid: str, moment: datetime, rating: str = "good") -> None:
    with Store.open() as store:
        store.record_answer(qid, "x", rating != "again", rating, 1.0, moment)


def good_days(card: str, qid: str, first: datetime, until: date) -> list[str]:
    """The UTC days a card is reviewed up to `until` when every review is rated Good as it falls due."""
    days, moment = [], first
    while moment.date() <= until:
        days.append(moment.date().isoformat())
        card, moment = schedule.review(card, qid, "good", moment)
    return list(dict.fromkeys(days))


# --------------------------------------------------------------------------- an empty store


def test_an_empty_store_spreads_every_question_and_kata_over_the_days_before_the_interview():
    data = plan_json("--until", "2026-03-08")
    assert (data["version"], data["today"], data["until"]) == (1, "2026-03-02", "2026-03-08")
    assert [d["date"] for d in data["days"]] == [(date(2026, 3, 2) + timedelta(days=i)).isoformat() for i in range(7)]
    assert [d["interview"] for d in data["days"]] == [False] * 6 + [True]
    study, last = data["days"][:-1], data["days"][-1]

    new_ids = [qid for d in study for qid in d["new_ids"]]
    assert sorted(new_ids) == sorted(q.id for q in BANK.questions) and len(set(new_ids)) == len(new_ids)
    counts = [d["new"] for d in study]
    assert counts == sorted(counts, reverse=True) and max(counts) - min(counts) <= 1, counts
    assert sum(counts) == data["total"]["new"] == len(BANK.questions) and data["new_left"] == 0
    topic = {q.id: q.topic for q in BANK.questions}
    assert [topic[qid] for qid in new_ids] == sorted(topic[qid] for qid in new_ids)  # a day covers neighbouring topics
    assert all(d["new_topics"] == list(dict.fromkeys(topic[qid] for qid in d["new_ids"])) for d in study)

    assert [name for d in study for name in d["katas"]] == LADDER
    assert max(len(d["katas"]) for d in study) - min(len(d["katas"]) for d in study) <= 1

    assert (last["new"], last["new_ids"], last["katas"]) == (0, [], [])
    assert all(d["reviews_scheduled"] == 0 for d in data["days"])
    assert data["days"][0]["reviews"] == 0  # today's new questions are new today, not reviews


def test_new_questions_come_back_as_forecast_reviews_where_fsrs_puts_them():
    data = plan_json("--until", "2026-03-08")
    introduced = {qid: d["date"] for d in data["days"] for qid in d["new_ids"]}
    for d in data["days"]:
        assert d["reviews"] == d["reviews_forecast"] == len(d["review_ids"]) == len(set(d["review_ids"]))
        assert all(introduced[qid] < d["date"] for qid in d["review_ids"])
    # The first question of the day after tomorrow, answered Good at 09:00 then Good whenever due:
    qid = data["days"][2]["new_ids"][0]
    card, due = schedule.review(None, qid, "good", AT + timedelta(days=2))
    expected: list[str] = []
    while due.date() <= date(2026, 3, 8):
        day = due.date().isoformat()
        if day != "2026-03-04" and day not in expected:  # its learning step that day is part of being new
            expected.append(day)
        card, due = schedule.review(card, qid, "good", due)
    assert expected, "FSRS brings a new question back within the week"
    assert where(data, qid, "review_ids") == expected
    assert data["total"]["reviews"] == sum(d["reviews"] for d in data["days"]) > 0


# --------------------------------------------------------------------------- a store with cards


def test_cards_are_counted_on_the_day_they_fall_due_and_overdue_ones_today():
    first, *_ = BANK.questions
    overdue, day2, last, after = (q.id for q in BANK.questions[1:5])
    answer_at(overdue, AT - timedelta(days=3))                      # due 3 days ago
    answer_at(day2, datetime(2026, 3, 4, 15, tzinfo=timezone.utc))   # due 2026-03-04 15:10
    answer_at(last, datetime(2026, 3, 8, 20, tzinfo=timezone.utc))   # due on the interview day
    answer_at(after, datetime(2026, 3, 9, 8, tzinfo=timezone.utc))   # due after it
    answer_at("removed.from-the-bank", AT - timedelta(days=1))
    with Store.open() as store:
        stored = store.cards()
    data = plan_json("--until", "2026-03-08")

    assert day_of(data, "2026-03-02")["review_ids"][:1] == [overdue]
    assert day_of(data, "2026-03-02")["reviews_scheduled"] == 1
    assert day_of(data, "2026-03-04")["reviews_scheduled"] == 1 and day2 in day_of(data, "2026-03-04")["review_ids"]
    assert day_of(data, "2026-03-08")["reviews_scheduled"] == 1 and last in day_of(data, "2026-03-08")["review_ids"]
    assert sum(d["reviews_scheduled"] for d in data["days"]) == 3
    assert where(data, after, "review_ids") == [] and where(data, "removed.from-the-bank", "review_ids") == []

    # After each review (rated Good when due, the overdue one now), FSRS's next date holds its forecast.
    assert where(data, overdue, "review_ids") == good_days(stored[overdue].card, overdue, AT, date(2026, 3, 8))
    assert where(data, day2, "review_ids") == good_days(stored[day2].card, day2, stored[day2].due, date(2026, 3, 8))
    assert len(where(data, day2, "review_ids")) >= 2, "a learning card comes back within the week"
    # Answered questions are not new; the others all are.
    new_ids = {qid for d in data["days"] for qid in d["new_ids"]}
    assert new_ids == {q.id for q in BANK.questions} - {overdue, day2, last, after} and first.id in new_ids


def test_days_are_the_learners_local_days():
    qid = BANK.questions[0].id
    # 17:00 UTC on the 3rd is 01:00 on the 4th at UTC+8 (POSIX writes it CST-8).
    answer_at(qid, datetime(2026, 3, 3, 16, 50, tzinfo=timezone.utc))
    data = plan_json("--until", "+4d", now="2026-03-01T20:00:00Z", tz="CST-8")
    assert data["today"] == "2026-03-02" and data["until"] == "2026-03-06"
    assert where(data, qid, "review_ids")[:1] == ["2026-03-04"]


def test_passed_katas_are_left_out_and_the_rest_keep_the_ladder_order():
    with Store.open() as store:
        store.record_kata_attempt(LADDER[0], True, 5, 5, 3.0, AT)
        store.record_kata_attempt(LADDER[1], False, 2, 5, 3.0, AT)
        store.record_kata_attempt(LADDER[2], False, 2, 5, 3.0, AT)
        store.record_kata_attempt(LADDER[2], True, 5, 5, 3.0, AT)
    data = plan_json("--until", "+3d")
    planned = [name for d in data["days"] for name in d["katas"]]
    assert planned == [LADDER[1], *LADDER[3:]]
    assert data["total"]["katas"] == len(LADDER) - 2


# --------------------------------------------------------------------------- the last day, limits


def test_an_interview_today_puts_everything_on_today():
    data = plan_json("--until", "+0d")
    [today] = data["days"]
    assert today["date"] == data["today"] == data["until"] == "2026-03-02" and today["interview"]
    assert today["new"] == len(BANK.questions) and today["katas"] == LADDER


def test_new_per_day_caps_the_days_and_counts_what_does_not_fit():
    data = plan_json("--until", "+2d", "--new-per-day", "5")
    assert [d["new"] for d in data["days"]] == [5, 5, 0]
    assert data["new_left"] == len(BANK.questions) - 10
    table = attnquiz("plan", "--until", "+2d", "--new-per-day", "5", "--lang", "en")
    assert table.returncode == 0, table.stderr
    assert f"{len(BANK.questions) - 10} new question(s) do not fit at --new-per-day 5" in table.stdout


def test_the_json_keys():
    data = plan_json("--until", "+1d")
    assert set(data) == {"version", "now", "today", "until", "days", "total", "new_left"}
    assert set(data["total"]) == {"reviews", "new", "katas"}
    assert datetime.fromisoformat(data["now"]) == AT
    for d in data["days"]:
        assert set(d) == {
            "date", "interview", "reviews", "reviews_scheduled", "reviews_forecast", "review_ids",
            "new", "new_ids", "new_topics", "katas",
        }  # fmt: skip
        assert d["reviews"] == d["reviews_scheduled"] + d["reviews_forecast"] and d["new"] == len(d["new_ids"])


@pytest.mark.parametrize("until", ["tomorrow", "2026-02-30", "2026-03-01", "03/08/2026", "+400d", "+-1d", "2026-3-8"])
def test_a_bad_date_is_one_line_and_exit_2(until):
    result = attnquiz("plan", "--until", until)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--until" in lines[0] and until in lines[0], result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


@pytest.mark.parametrize("until, words", [("2026-03-01", "已经过去"), ("next-friday", "不是日期"), ("+400d", "最多规划一年")])
def test_a_bad_date_is_one_line_in_chinese_too(until, words):
    result = attnquiz("plan", "--until", until, "--lang", "zh")
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--until {until}" in lines[0] and words in lines[0], result.stderr


@pytest.mark.parametrize("args", [["plan"], ["plan", "--until", "+3d", "--new-per-day", "-1"], ["plan", "--until", "+3d", "--lang", "fr"]])
def test_other_bad_options_are_one_line_and_exit_2(args):
    result = attnquiz(*args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- the table, both languages


@pytest.mark.parametrize(
    "lang, words",
    [
        ("en", ["Mon 03-02 today", "Sun 03-08 interview", "reviews only", "Katas to pass", LADDER[0]]),
        ("zh", ["3月2日 周一 今天", "3月8日 周日 面试", "只做复习", "待通过的编程练习", LADDER[0]]),
    ],
)
def test_the_table_in_both_languages(lang, words):
    result = attnquiz("plan", "--until", "2026-03-08", "--lang", lang)
    assert result.returncode == 0, result.stderr
    for word in words:
        assert word in result.stdout, (word, result.stdout)
    [total] = [line for line in result.stdout.splitlines() if line.split()[:1] in (["Total"], ["合计"])]
    assert f" {len(BANK.questions)} " in total and f" {len(LADDER)}" in total, total


def test_everything_answered_and_passed_says_the_days_are_reviews_only():
    with Store.open() as store:
        for name in LADDER:
            store.record_kata_attempt(name, True, 1, 1, 1.0, AT)
        for q in BANK.questions:
            store.record_answer(q.id, "x", True, "good", 1.0, AT - timedelta(days=1))
    data = plan_json("--until", "+1d")
    assert data["total"]["new"] == data["total"]["katas"] == 0 and data["total"]["reviews"] >= len(BANK.questions)
    result = attnquiz("plan", "--until", "+1d", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "the days ahead are reviews only" in result.stdout


# --------------------------------------------------------------------------- the core's small pieces


def test_spread_is_even_with_the_longer_runs_first():
    items = [str(i) for i in range(10)]
    assert [len(r) for r in spread(items, 3)[0]] == [4, 3, 3]
    assert sum(spread(items, 3)[0], []) == items
    runs, left = spread(items, 3, cap=2)
    assert runs == [["0", "1"], ["2", "3"], ["4", "5"]] and left == items[6:]
    assert spread(items[:2], 4) == ([["0"], ["1"], [], []], [])


def test_parse_until_forms():
    today = date(2026, 3, 2)
    assert parse_until("2026-03-09", today) == date(2026, 3, 9)
    assert parse_until(" +7d ", today) == date(2026, 3, 9)
    assert parse_until("+0d", today) == today == parse_until("2026-03-02", today)
    assert parse_until("+365d", today) == date(2027, 3, 2)
