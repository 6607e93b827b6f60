"""Katas come back: a passed kata is an FSRS card; `kata NAME --fresh` opens its review; the next
grading rates it; `attnquiz next`, the end of `attnquiz ask` and `attnquiz stats` say when.

The review cycle runs end to end through the installed console script from a folder outside the
checkout, grading real files (the reference, a known mistake, the untouched starter), with the
clock pinned by ATTNQUIZ_NOW. The other tests set up progress through the core and run the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attnquiz import katas, schedule
from attnquiz.bank import load_bank
from attnquiz.store import Store, from_text

SCRIPT = Path(sys.executable).parent / ("attnquiz.exe" if os.name == "nt" else "attnquiz")
DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
KATA = katas.load_kata("multihead")
REFERENCE = KATA.reference.read_text(encoding="utf-8")
STARTER = KATA.starter.read_text(encoding="utf-8")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cli(*args: str, at: datetime, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The console script a learner runs, at a pinned time, in UTC. PYTHONPATH stays as this suite
    has it, so the script runs the copy under test (the wheel in CI, a developer's tree otherwise)."""
    env = {**os.environ, "ATTNQUIZ_NOW": stamp(at), "TZ": "UTC", "COLUMNS": "200"}
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=180)


def grade(ws: Path, source: str | None, at: datetime, *extra: str) -> dict:
    """Write SOURCE (None: leave the file as it is) and grade it with --file, as JSON."""
    if source is not None:
        (ws / "multihead.py").write_text(source, encoding="utf-8")
    result = cli("grade", "multihead", "--file", str(ws / "multihead.py"), "--json", "--no-sample", *extra, at=at, cwd=ws.parent)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"exit {result.returncode}: {result.stdout[-600:]!r} {result.stderr[-600:]!r}") from None
    assert result.returncode == (0 if report["passed"] else 1), result.stderr
    return report


def _card(kata: str) -> str:
    with Store.open() as store:
        return store._read("SELECT card FROM cards WHERE question_id = ?", ("kata:" + kata,))[0][0]


def next_json(at: datetime, cwd: Path, *extra: str) -> dict:
    result = cli("next", "--json", *extra, at=at, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_review_cycle_end_to_end(outside):
    ws = outside / "ws"
    assert cli("kata", "multihead", "--dir", "ws", at=T0, cwd=outside).returncode == 0

    # A first pass makes the card: no hints, so Good, back in two days (no learning steps of minutes).
    first = grade(ws, REFERENCE, T0)
    assert first["passed"] and first["review"]["first"] is True and first["review"]["rating"] == "good"
    due = from_text(first["review"]["due"])
    assert due - T0 == timedelta(days=2)
    assert next_json(T0 + timedelta(days=1), outside)["kind"] == "kata"  # not due yet: the ladder goes on

    # Time passes: the kata is due; `next` and the end of `ask` say so, with the command.
    later = due + timedelta(hours=1)
    step = next_json(later, outside)
    assert (step["kind"], step["kata"], step["command"]) == ("kata_review", "multihead", "attnquiz kata multihead --fresh")
    quiz = cli("ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "en", at=later, cwd=outside, stdin="1050624\n")
    assert quiz.returncode == 0 and "A kata review is due: multihead. Run: attnquiz kata multihead --fresh" in quiz.stdout

    # --fresh from another folder: the recorded workspace's file is archived, the starter is back.
    fresh = cli("kata", "multihead", "--fresh", "--lang", "en", at=later, cwd=outside.parent)
    assert fresh.returncode == 0, fresh.stderr
    assert "Review of multihead" in fresh.stdout and "rates the review" in fresh.stdout
    assert (ws / "multihead.py").read_text(encoding="utf-8") == STARTER
    archived = [p for p in ws.iterdir() if p.name.startswith("multihead.py.bak-")]
    assert [p.read_text(encoding="utf-8") for p in archived] == [REFERENCE] and archived[0].name in fresh.stdout
    assert not (outside.parent / "attnquiz-katas").exists()
    assert next_json(later, outside)["command"] == "attnquiz grade multihead"  # open: finish it

    # The untouched starter rates nothing; the solution is hidden again while the review is open.
    untouched = cli("grade", "multihead", "--no-sample", "--lang", "zh", at=later, cwd=ws)
    assert untouched.returncode == 1 and "未改动的初始代码" in untouched.stdout
    assert next_json(later, outside)["command"] == "attnquiz grade multihead"
    hidden = cli("solution", "multihead", at=later, cwd=outside)
    assert hidden.returncode == 2 and "--give-up" in hidden.stderr and "class MultiHeadSelfAttention" not in hidden.stdout

    # Passed from memory: Good, and the interval grows well past the first one.
    good = grade(ws, REFERENCE, later + timedelta(minutes=20))
    assert good["review"] == {"rating": "good", "due": good["review"]["due"], "first": False}
    good_due = from_text(good["review"]["due"])
    assert good_due - (later + timedelta(minutes=20)) > due - T0
    regrade = grade(ws, None, later + timedelta(minutes=30))
    assert regrade["passed"] and regrade["review"] is None  # one grading per review; without --fresh, none

    # Next time, with a hint seen after --fresh: Hard, sooner than Good would have been.
    at = good_due + timedelta(hours=2)
    assert cli("kata", "multihead", "--fresh", at=at, cwd=outside).returncode == 0
    assert cli("hint", "multihead", at=at, cwd=outside).returncode == 0
    card = _card("multihead")
    hard = grade(ws, REFERENCE, at + timedelta(minutes=15))
    assert hard["review"]["rating"] == "hard"
    hard_due = from_text(hard["review"]["due"])
    _, good_instead = schedule.review(card, "kata:multihead", "good", at + timedelta(minutes=15), kata=True)
    assert at + timedelta(days=1) <= hard_due < good_instead

    # And failing the review: Again, back tomorrow; a pass right after rates nothing more.
    at = hard_due + timedelta(hours=1)
    assert cli("kata", "multihead", "--fresh", at=at, cwd=outside).returncode == 0
    mistake = next(m for m in katas.load_mistakes(KATA.path) if m.name == "merge_without_transpose")
    card = _card("multihead")
    again = grade(ws, mistake.apply(REFERENCE), at + timedelta(minutes=10))
    assert not again["passed"] and again["review"]["rating"] == "again"
    _, hard_instead = schedule.review(card, "kata:multihead", "hard", at + timedelta(minutes=10), kata=True)
    assert at + timedelta(days=1) <= from_text(again["review"]["due"]) < hard_instead

    stats = json.loads(cli("stats", "--json", at=at + timedelta(minutes=13), cwd=outside).stdout)
    row = next(k for k in stats["katas"] if k["kata"] == "multihead")
    assert (row["reviews"], row["last_rating"], row["review_open"]) == (3, "again", False)
    assert row["review_due"] == again["review"]["due"]


def test_early_fresh_says_when_it_is_due_and_still_counts(outside):
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)  # the first pass: due in 2 days
    result = cli("kata", "multihead", "--fresh", "--dir", "ws", "--lang", "en", at=T0 + timedelta(days=1), cwd=outside)
    assert result.returncode == 0, result.stderr
    assert "not due for review yet (due tomorrow, 2026-03-04)" in result.stdout and "rates the review" in result.stdout
    zh = cli("kata", "multihead", "--fresh", "--dir", "ws", "--lang", "zh", at=T0 + timedelta(days=1), cwd=outside)
    assert "还没到复习时间" in zh.stdout and "2026-03-04" in zh.stdout
    assert (outside / "ws" / "multihead.py").read_text(encoding="utf-8") == STARTER
    assert len(list((outside / "ws").glob("multihead.py.bak-*"))) == 1  # the starter archived by the second --fresh
    report = grade(outside / "ws", REFERENCE, T0 + timedelta(days=1, minutes=5))
    assert report["review"]["rating"] == "good" and report["review"]["first"] is False


def test_fresh_on_a_kata_passed_before_reviews_existed_opens_its_review(outside):
    with Store.open() as store:  # an attempt recorded by an attnquiz without reviews: no card
        store.record_kata_attempt("multihead", True, 12, 12, 2.0, at=T0)
    result = cli("kata", "multihead", "--fresh", "--dir", "ws", "--lang", "en", at=T0 + timedelta(days=3), cwd=outside)
    assert result.returncode == 0 and "Review of multihead" in result.stdout, result.stdout + result.stderr
    assert next_json(T0 + timedelta(days=3), outside)["command"] == "attnquiz grade multihead"


def test_fresh_on_a_kata_that_never_passed_is_a_restart(outside):
    result = cli("kata", "attention", "--fresh", "--dir", "ws", "--lang", "en", at=T0, cwd=outside)
    assert result.returncode == 0, result.stderr
    assert "has not passed yet" in result.stdout and "rates the review" not in result.stdout
    with Store.open() as store:
        assert store.kata_reviews() == {}


def test_reading_the_solution_during_a_review_rates_it_again(outside):
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)
    at = T0 + timedelta(days=3)
    assert cli("kata", "multihead", "--fresh", "--dir", "ws", at=at, cwd=outside).returncode == 0
    shown = cli("solution", "multihead", "--give-up", at=at, cwd=outside)
    assert shown.returncode == 0 and "class MultiHeadSelfAttention" in shown.stdout
    report = grade(outside / "ws", REFERENCE, at + timedelta(minutes=5))
    assert report["passed"] and report["review"]["rating"] == "again"


def test_the_grade_screen_says_how_the_review_was_rated(outside):
    ws = outside / "ws"
    assert cli("kata", "multihead", "--dir", "ws", at=T0, cwd=outside).returncode == 0
    (ws / "multihead.py").write_text(REFERENCE, encoding="utf-8")
    en = cli("grade", "multihead", "--no-sample", "--lang", "en", at=T0, cwd=ws)
    assert en.returncode == 0, en.stderr
    assert "multihead is now a review card (Good): due in 2 days, 2026-03-04. Then: attnquiz kata multihead --fresh" in en.stdout
    assert cli("kata", "multihead", "--fresh", at=T0 + timedelta(days=2), cwd=outside).returncode == 0
    (ws / "multihead.py").write_text(REFERENCE, encoding="utf-8")
    zh = cli("grade", "multihead", "--no-sample", "--lang", "zh", at=T0 + timedelta(days=2, minutes=9), cwd=ws)
    assert zh.returncode == 0 and "multihead 的复习评分：良好" in zh.stdout, zh.stdout[-400:]


# --------------------------------------------------------------------------- attnquiz next


def _pass_every_kata(at: datetime) -> None:
    for name in katas.kata_names():
        katas.record_attempt(name, True, 5, 5, 1.0, when=at)


def test_next_due_question_reviews_come_first(outside):
    question = load_bank().questions[0]
    with Store.open() as store:
        store.record_answer(question.id, "", False, "again", 1.0, T0)  # back in a minute
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0 - timedelta(days=5))  # a kata due too
    step = next_json(T0 + timedelta(hours=1), outside)
    assert (step["kind"], step["count"], step["command"]) == ("reviews", 1, "attnquiz ask --due")
    assert next_json(T0 + timedelta(hours=1), outside, "--bank", str(DATA))["command"] == f"attnquiz ask --due --bank {DATA}"


def test_next_a_due_kata_review(outside):
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)
    step = next_json(T0 + timedelta(days=3), outside)
    assert step == {
        "version": 1, "kind": "kata_review", "command": "attnquiz kata multihead --fresh",
        "text": "Kata multihead is due for review (since 2026-03-04).", "count": 0, "kata": "multihead",
        "due": "2026-03-04T09:00:00.000000+00:00", "topic": None,
    }  # fmt: skip


def test_next_the_next_kata_on_the_ladder(outside):
    ladder = katas.list_katas()
    step = next_json(T0, outside)
    assert (step["kind"], step["kata"], step["command"]) == ("kata", ladder[0].name, f"attnquiz kata {ladder[0].name}")
    katas.record_attempt(ladder[0].name, True, 5, 5, 1.0, when=T0)
    assert cli("kata", ladder[1].name, "--dir", "ws", at=T0, cwd=outside).returncode == 0
    step = next_json(T0 + timedelta(hours=1), outside)
    assert (step["kata"], step["command"]) == (ladder[1].name, f"attnquiz grade {ladder[1].name}")  # started: go on
    line = cli("next", "--lang", "en", at=T0 + timedelta(hours=1), cwd=outside).stdout
    assert line.count("\n") == 1 and str(outside / "ws" / ladder[1].entry) in line and line.rstrip().endswith(step["command"])


def test_next_the_weakest_topic_once_everything_is_done(outside):
    _pass_every_kata(T0)
    bank = load_bank()
    strong = bank.questions[0]
    weak = next(q for q in bank.questions if q.topic != strong.topic)
    with Store.open() as store:
        store.record_answer(strong.id, "", True, "easy", 1.0, T0)
        store.record_answer(weak.id, "", False, "hard", 1.0, T0)  # not due for minutes, and wrong
    step = next_json(T0 + timedelta(minutes=2), outside)
    assert (step["kind"], step["topic"]) == ("weakest", weak.topic)
    assert step["command"] == f"attnquiz ask --weak --topic {weak.topic}"
    zh = cli("next", "--lang", "zh", at=T0 + timedelta(minutes=2), cwd=outside)
    assert f"最薄弱的主题是 {weak.topic}" in zh.stdout and "运行：attnquiz ask --weak" in zh.stdout


def test_next_with_nothing_answered_and_every_kata_passed_says_start_the_quiz(outside):
    _pass_every_kata(T0)
    step = next_json(T0 + timedelta(hours=1), outside)
    assert (step["kind"], step["command"]) == ("quiz", "attnquiz ask")


# --------------------------------------------------------------------------- ask, stats


def test_ask_says_at_the_end_when_kata_reviews_are_due(outside):
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)
    katas.record_attempt("attention", True, 9, 9, 2.0, when=T0 - timedelta(hours=12))  # due at T0 + 1.5 days
    quiz = ["ask", "--bank", str(DATA), "--id", "sample.numeric"]
    before = cli(*quiz, "--lang", "en", at=T0 + timedelta(days=1), cwd=outside, stdin="1050624\n")
    assert before.returncode == 0 and "1/1  100%" in before.stdout and "kata review" not in before.stdout
    at = T0 + timedelta(days=3)
    en = cli(*quiz, "--lang", "en", at=at, cwd=outside, stdin="1050624\n")
    assert en.stdout.rstrip().splitlines()[-1] == "2 kata reviews are due, attention first. Run: attnquiz kata attention --fresh"
    zh = cli(*quiz, "--lang", "zh", at=at, cwd=outside, stdin="")
    assert "有 2 个编程练习到期复习，先做 attention。运行：attnquiz kata attention --fresh" in zh.stdout
    nothing = cli("ask", "--bank", str(DATA), "--topic", "sample-numbers", "--due", "--lang", "en", at=at, cwd=outside)
    assert "Nothing is due for review now." in nothing.stdout and "2 kata reviews are due" in nothing.stdout


def test_stats_show_kata_reviews_in_both_languages_and_json(outside):
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)
    with Store.open() as store:  # a pass from before kata reviews existed: no card yet
        store.record_kata_attempt("attention", True, 9, 9, 2.0, at=T0 - timedelta(days=10))
    at = T0 + timedelta(days=1)
    data = json.loads(cli("stats", "--json", at=at, cwd=outside).stdout)
    rows = {k["kata"]: k for k in data["katas"]}
    assert {k: rows["multihead"][k] for k in ("review_due", "reviews", "last_rating", "review_open")} == {
        "review_due": "2026-03-04T09:00:00.000000+00:00", "reviews": 0, "last_rating": "good", "review_open": False,
    }  # fmt: skip
    assert rows["attention"]["review_due"] == "2026-02-22T09:00:00.000000+00:00"  # adopted: first pass + 2 days
    assert rows["softmax"]["review_due"] is None and rows["softmax"]["reviews"] == 0
    en = cli("stats", "--lang", "en", at=at, cwd=outside)
    reviews = en.stdout.split("Kata reviews", 1)[1]  # the title comes first
    rows = [line.split() for line in reviews.splitlines() if line.strip().startswith(("attention", "multihead"))]
    assert rows == [
        ["attention", "now", "·", "2026-02-22", "09:00", "0", "Good"],
        ["multihead", "tomorrow", "·", "2026-03-04", "09:00", "0", "Good"],
    ]  # soonest first; katas without a card are not listed
    assert "Kata reviews due now: 1. See attnquiz next." in reviews and "softmax" not in reviews
    zh = cli("stats", "--lang", "zh", at=at, cwd=outside)
    assert "编程练习复习" in zh.stdout and "上次评分" in zh.stdout and "良好" in zh.stdout and "现在到期的编程练习复习：1 个" in zh.stdout


# --------------------------------------------------------------------------- the store and the schedule


def test_kata_cards_stay_out_of_the_question_readers():
    katas.record_attempt("multihead", True, 12, 12, 2.0, when=T0)
    with Store.open() as store:
        store.record_answer("sample.single", "b", True, "good", 1.0, T0)
        assert set(store.cards()) == set(store.due_dates()) == {"sample.single"}
        assert set(store.kata_reviews()) == {"multihead"}


def test_the_rating_of_a_grading():
    assert schedule.kata_rating(passed=True, hints_seen=False, saw_solution=False) == "good"
    assert schedule.kata_rating(passed=True, hints_seen=True, saw_solution=False) == "hard"
    assert schedule.kata_rating(passed=True, hints_seen=False, saw_solution=True) == "again"
    assert schedule.kata_rating(passed=False, hints_seen=False, saw_solution=False) == "again"


def test_only_the_first_pass_and_the_grading_after_fresh_rate(_isolated_home):
    with Store.open() as store:
        assert store.rate_kata("multihead", False, 1.0, T0) is None  # failing before any pass: no card
        first = store.rate_kata("multihead", True, 1.0, T0)
        assert first is not None and first.first and first.rating == "good"
        assert store.rate_kata("multihead", True, 1.0, T0 + timedelta(hours=1)) is None  # no --fresh: no review
        store.next_hint("multihead", 3)
        opened = store.open_kata_review("multihead", T0 + timedelta(days=2))
        assert opened is not None and opened.fresh_since == T0 + timedelta(days=2)
        assert store.kata_states()["multihead"].hints_shown == 0  # hints count again from --fresh
        rated = store.rate_kata("multihead", True, 1.0, T0 + timedelta(days=2, minutes=5))
        assert rated is not None and rated.rating == "good" and not rated.first
        review = store.kata_reviews()["multihead"]
        assert (review.reviews, review.last_rating, review.fresh_since) == (2, "good", None)
        assert store.open_kata_review("attention", T0) is None  # never passed: nothing to open


def test_katas_passed_before_reviews_existed_are_adopted_once(_isolated_home):
    with Store.open() as store:
        store.record_kata_attempt("attention", False, 3, 9, 1.0, at=T0 - timedelta(days=2))
        store.record_kata_attempt("attention", True, 9, 9, 1.0, at=T0 - timedelta(days=1))
        store.record_kata_attempt("gone", True, 1, 1, 1.0, at=T0)
        assert store.adopt_passed_katas(["attention", "multihead"]) == ["attention"]
        assert store.adopt_passed_katas(["attention", "multihead"]) == []
        review = store.kata_reviews()["attention"]
        assert (review.due, review.reviews, review.last_rating) == (T0 + timedelta(days=1), 1, "good")
