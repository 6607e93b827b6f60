"""The mock interview's core: which kata, which questions, the clock, the rubric, the stored rows
and the saves that trigger a grading. Real bank, real katas, real SQLite file, real watchfiles."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attnquiz import interview, katas
from attnquiz import store as store_mod
from attnquiz.bank import load_bank
from attnquiz.grading import onsave
from attnquiz.interview import Answered, Interview, KataChoice, KataTry
from attnquiz.quiz import Verdict
from attnquiz.store import MIGRATIONS, SCHEMA_VERSION, KataAttempt, Store

BANK = load_bank()
LADDER = katas.list_katas()
BY_NAME = {k.name: k for k in LADDER}
T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def attempt(kata: str, passed: bool, minutes: int = 0) -> KataAttempt:
    return KataAttempt(kata, T0 + timedelta(minutes=minutes), passed, 8 if passed else 3, 8, 1.0)


# --------------------------------------------------------------------------- the kata


def test_every_kata_names_bank_topics_with_enough_follow_up_questions():
    topics = set(BANK.topics())
    for kata in LADDER:
        assert kata.topics, f"{kata.name}: kata.yaml has no topics:"
        assert set(kata.topics) <= topics, f"{kata.name}: {set(kata.topics) - topics} are not bank topics"
        quick = [q for q in BANK.questions if q.topic in kata.topics and q.type != "recall"]
        assert len(quick) >= interview.FOLLOWUPS, kata.name


def test_the_kata_is_the_weakest_first_struggled_then_next_then_shaky_then_oldest():
    first, second = LADDER[0].name, LADDER[1].name
    assert interview.choose_kata(LADDER, [], {}) == KataChoice(LADDER[0], "next")
    tried = [attempt(second, False)]
    assert interview.choose_kata(LADDER, tried, {}) == KataChoice(BY_NAME[second], "struggled"), "tried and failed beats untried"
    assert interview.choose_kata(LADDER, [], {second: T0}) == KataChoice(BY_NAME[second], "struggled"), "gave up, never passed"
    passed_all = [attempt(k.name, True, i) for i, k in enumerate(LADDER)]
    assert interview.choose_kata(LADDER, passed_all, {}) == KataChoice(LADDER[0], "oldest"), "all passed: the one passed longest ago"
    shaky = [attempt(second, False, -3), attempt(second, False, -2), attempt(second, False, -1)] + passed_all
    assert interview.choose_kata(LADDER, shaky, {}) == KataChoice(BY_NAME[second], "shaky"), "passed after 3 failed gradings"
    peeked = interview.choose_kata(LADDER, passed_all, {LADDER[-1].name: T0 - timedelta(days=1)})
    assert peeked == KataChoice(LADDER[-1], "shaky"), "passed after reading the reference"
    later_peek = interview.choose_kata(LADDER, passed_all, {LADDER[-1].name: T0 + timedelta(days=1)})
    assert later_peek.reason == "oldest", "reading the reference after passing is no weakness"
    named = BY_NAME["kv_cache"]
    assert interview.choose_kata(LADDER, [], {}, named=named) == KataChoice(named, "named")
    on_topic = interview.choose_kata(LADDER, [], {}, topics=["kv-cache"])
    assert "kv-cache" in on_topic.kata.topics and on_topic.reason == "next", "--topic prefers a kata on it"
    assert first != on_topic.kata.name


# --------------------------------------------------------------------------- the questions


def choice(name: str = "kv_cache") -> KataChoice:
    return KataChoice(BY_NAME[name], "named")


def test_the_plan_mixes_types_keeps_follow_ups_on_the_kata_and_never_asks_twice():
    plan = interview.plan(BANK, choice("kv_cache"), {}, T0, minutes=45, seed=3)
    assert len(plan.concepts) == interview.concept_count(45) == 9
    assert plan.explain is not None and plan.explain.type == "recall"
    assert all(q.type != "recall" for q in (*plan.concepts, *plan.followups))
    assert len(plan.followups) == interview.FOLLOWUPS and all(q.topic in ("kv-cache", "decoding") for q in plan.followups)
    ids = [q.id for q in (*plan.concepts, *plan.followups)]
    assert len(ids) == len(set(ids)), "no question is asked twice"
    types = Counter(q.type for q in plan.concepts)
    assert len(types) >= 5 and max(types.values()) <= 2, types
    again = interview.plan(BANK, choice("kv_cache"), {}, T0, minutes=45, seed=3)
    assert again == plan, "the same seed and progress give the same interview, choices shuffled alike"
    other = interview.plan(BANK, choice("kv_cache"), {}, T0, minutes=45, seed=4)
    assert [q.id for q in other.concepts] != [q.id for q in plan.concepts]


def test_due_reviews_come_first_and_topics_narrow_the_concepts_and_the_recall():
    due = {"rope.rotation-short": T0 - timedelta(days=2), "scaling.why-sqrt-dk": T0 - timedelta(days=1)}
    assert set(due) <= set(BANK.by_id)
    plan = interview.plan(BANK, choice("multihead"), due, T0, minutes=45, seed=1)
    assert [q.id for q in plan.concepts[: len(due)]] == sorted(due, key=due.get), "most overdue first"
    narrow = interview.plan(BANK, choice("multihead"), {}, T0, minutes=45, seed=1, topics=["softmax", "masking"])
    assert {q.topic for q in narrow.concepts} <= {"softmax", "masking"}
    assert all(q.topic == "multi-head" for q in narrow.followups), "follow-ups stay on the kata's topics"
    no_recall = interview.plan(BANK, choice("multihead"), {}, T0, minutes=45, seed=1, topics=["alibi"])
    assert no_recall.explain is not None and no_recall.explain.type == "recall", "no recall on the topic: any recall question"


@pytest.mark.parametrize("minutes, count", [(0.1, 3), (10, 3), (20, 4), (45, 9), (90, 12), (600, 12)])
def test_the_number_of_concept_questions_follows_the_time(minutes, count):
    assert interview.concept_count(minutes) == count
    assert len(interview.plan(BANK, choice(), {}, T0, minutes=minutes, seed=1).concepts) == count
    assert len(interview.plan(BANK, choice(), {}, T0, minutes=minutes, seed=1, count=5).concepts) == 5


@pytest.mark.parametrize("minutes", [0, 0.05, 601, float("nan"), float("inf")])
def test_minutes_out_of_range_are_refused(minutes):
    with pytest.raises(interview.UsageError, match="--minutes"):
        interview.check_minutes(minutes)


def test_the_clock_gives_each_phase_its_share_and_passes_unused_time_on():
    plan = interview.plan(BANK, choice(), {}, T0, minutes=10, seed=1)
    now = [100.0]
    clock = interview.Clock(plan, clock=lambda: now[0])
    assert [round(plan.budget(p)) for p in interview.PHASES] == [150, 60, 300, 90]
    assert [round(clock.deadline(p) - 100) for p in interview.PHASES] == [150, 210, 510, 600]
    now[0] += 30  # phase 1 done early: phase 2 has its own minute and the two unused
    assert clock.left("explain") == pytest.approx(180) and clock.left() == pytest.approx(570)
    now[0] += 1000
    assert clock.left("followup") == 0 and clock.left() == 0


# --------------------------------------------------------------------------- the rubric


def run_of(*, concepts: int, explain: str | None, kata: list[tuple[bool, int, int]], followups: int, stopped: bool = False) -> Interview:
    plan = interview.plan(BANK, choice(), {}, T0, minutes=45, seed=1)
    record = Interview.start(plan)
    for i, q in enumerate(plan.concepts):
        record.phases["concepts"].answers.append(Answered(q, "x", i < concepts, "good", 1.0, Verdict(i < concepts)))
    if explain is not None:
        record.phases["explain"].answers.append(Answered(plan.explain, "x", explain != "again", explain, 1.0, None, (True, False)))
    record.phases["kata"].tries.extend(KataTry(p, c, n, 1.0) for p, c, n in kata)
    for i, q in enumerate(plan.followups):
        record.phases["followup"].answers.append(Answered(q, "x", i < followups, "good", 1.0, Verdict(i < followups)))
    record.stopped = stopped
    return record


def test_the_rubric_points_and_verdicts():
    best = run_of(concepts=9, explain="easy", kata=[(False, 3, 8), (True, 8, 8)], followups=3)
    assert best.total() == 100 and best.verdict() == "ready"
    no_kata = run_of(concepts=9, explain="good", kata=[(False, 4, 8)], followups=3)
    assert no_kata.points("kata") == 10 and no_kata.total() == 70 and no_kata.verdict() == "borderline"
    strong_without_kata = run_of(concepts=9, explain="good", kata=[(False, 8, 9)], followups=3)
    assert strong_without_kata.total() >= interview.READY and strong_without_kata.verdict() == "borderline", "ready needs the kata"
    weak = run_of(concepts=3, explain="again", kata=[], followups=1)
    assert weak.total() == round(30 * 3 / 9 + 15 / 3) and weak.verdict() == "not_yet"
    hard = run_of(concepts=0, explain="hard", kata=[], followups=0)
    assert hard.points("explain") == 7.5
    stopped = run_of(concepts=9, explain="good", kata=[(True, 8, 8)], followups=3, stopped=True)
    assert stopped.verdict() == "incomplete"
    assert [a.question.id for a in weak.mistakes()] == [
        *(q.id for q in weak.plan.concepts[3:]), weak.plan.explain.id, *(q.id for q in weak.plan.followups[1:])
    ]


def test_unanswered_questions_count_as_wrong_and_are_listed():
    record = run_of(concepts=0, explain=None, kata=[], followups=0)
    record.phases["concepts"].answers.clear()
    record.phases["concepts"].answers.append(Answered(record.plan.concepts[0], "x", True, "good", 1.0, Verdict(True)))
    assert record.credit("concepts") == pytest.approx(1 / 9)
    assert record.not_answered("concepts") == list(record.plan.concepts[1:])
    assert record.not_answered("explain") == [record.plan.explain]


def test_the_readme_states_the_rubric_the_code_applies():
    section = README.split("### `attnquiz interview`", 1)[1].split("\n### ", 1)[0]
    flat = " ".join(section.split())
    for phase, points in interview.POINTS.items():
        assert f"{points} points" in flat, phase
    assert f"{interview.READY} points or more and the kata passed" in flat
    assert f"{interview.BORDERLINE} points or more" in flat
    assert f"{round(interview.KATA_PARTIAL * interview.POINTS['kata'])} points" in flat
    assert "Hard earns half" in flat


def test_the_report_json_has_stable_keys():
    data = run_of(concepts=5, explain="good", kata=[(False, 2, 8)], followups=2).to_json()
    assert set(data) == {"version", "minutes", "kata", "points", "verdict", "phases"}
    common = {"phase", "planned", "points", "max_points", "seconds", "allowed_seconds", "budget_seconds", "ended"}
    concepts, explain, kata, followup = data["phases"]
    assert set(concepts) == set(followup) == common | {"answered", "right", "questions"}
    assert set(explain) == common | {"answered", "right", "questions", "key_points", "key_points_total"}
    assert set(kata) == common | {"kata", "chosen", "passed", "gradings", "best_checks_passed", "checks_total"}
    assert (kata["best_checks_passed"], kata["checks_total"], kata["points"]) == (2, 8, 5.0)


# --------------------------------------------------------------------------- the store


def test_a_database_from_before_interviews_upgrades_and_keeps_its_data(_isolated_home):
    step = next(i for i, s in enumerate(MIGRATIONS) if any("CREATE TABLE interviews" in sql for sql in s))
    path = _isolated_home / "progress.sqlite3"
    _isolated_home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:step]:
        for sql in statements:
            conn.execute(sql)
    conn.execute("INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds) VALUES ('q', ?, 'x', 1, 'good', 1.0)", (store_mod.to_text(T0),))
    conn.execute("INSERT INTO kata_attempts (kata, attempted_at, passed, checks_passed, checks_total, seconds) VALUES ('attention', ?, 1, 8, 8, 2.0)", (store_mod.to_text(T0),))
    conn.execute(f"PRAGMA user_version = {step}")
    conn.commit()
    conn.close()
    with Store.open() as store:
        assert store.version == SCHEMA_VERSION
        assert [a.question_id for a in store.answers()] == ["q"] and len(store.kata_attempts()) == 1
        assert store.interviews() == []
        store.begin_session(T0)
        first = store.begin_interview(T0, 45, "attention")
        [row] = store.interviews()
        assert (row.id, row.verdict, row.kata, row.minutes, row.session_id) == (first, "unfinished", "attention", 45.0, None)
        store.record_answer("q", "x", True, "good", 1.0, T0 + timedelta(minutes=1))
        store.save_interview(first, T0 + timedelta(minutes=40), True, 88, "ready", json.dumps({"phases": []}))
        second = store.begin_interview(T0 + timedelta(days=1), 30, None)
    with Store.open() as store:
        newest, older = store.interviews()
        assert newest.id == second and newest.verdict == "unfinished", "a row is there from the start"
        assert (older.points, older.verdict, older.kata_passed, older.ended_at) == (88, "ready", True, T0 + timedelta(minutes=40))
        assert older.session_id == store.answers()[-1].session_id is not None, "its answers are a session of their own"
        store.reset(T0)
        assert store.interviews() == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --------------------------------------------------------------------------- grading on save


def collect(file: Path, baseline: bytes | None, act, stop_after: float) -> list[bytes]:
    stop = threading.Event()
    seen: list[bytes] = []

    def later() -> None:
        act()
        time.sleep(stop_after)
        stop.set()

    worker = threading.Thread(target=later)
    worker.start()
    for content in onsave._saves(file, baseline, stop):
        seen.append(content)
    worker.join()
    return seen


def test_saves_start_from_the_baseline_and_see_every_change(tmp_path):
    file = tmp_path / "solution.py"
    file.write_text("starter\n")
    assert collect(file, b"starter\n", lambda: None, 0.3) == [], "the starter as it was is not a save"

    def edits() -> None:
        time.sleep(0.2)
        file.write_text("one\n")
        time.sleep(0.3)
        file.write_text("one\n")  # the same content again: no new grading
        time.sleep(0.3)
        (tmp_path / "other.py").write_text("noise\n")
        replacement = tmp_path / "solution.py.tmp"
        replacement.write_text("two\n")
        replacement.replace(file)  # an editor's atomic save

    assert collect(file, b"starter\n", edits, 0.6) == [b"one\n", b"two\n"]
    file.write_text("written before watching\n")
    assert collect(file, b"starter\n", lambda: None, 0.2) == [b"written before watching\n"], "an early save is graded at once"


# --------------------------------------------------------------------------- start-up


def test_the_core_imports_no_cli_libraries_and_help_no_torch(tmp_path):
    for module in (interview, onsave):
        source = Path(module.__file__).read_text(encoding="utf-8")
        for banned in ("import typer", "import rich", "from rich", "import torch", "from typer"):
            assert banned not in source, (module.__name__, banned)
    code = (
        "import sys; sys.argv = ['attnquiz', 'interview', '--help']\n"
        "from attnquiz.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0\n"
        "assert 'torch' not in sys.modules and 'watchfiles' not in sys.modules, 'heavy import for --help'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"--minutes", done.stdout) and "--kata" in done.stdout
