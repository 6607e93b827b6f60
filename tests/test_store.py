"""The progress store on a real SQLite file: migrations, persistence, katas, reset, refusals, concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from attnquiz import store as store_mod
from attnquiz.errors import AttnquizError
from attnquiz.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_the_database_lives_in_attnquiz_home(_isolated_home):
    with Store.open() as store:
        assert store.path == _isolated_home / "progress.sqlite3"
        assert store.version == SCHEMA_VERSION
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (_isolated_home / "progress.sqlite3").is_file()


def test_answers_survive_reopening_and_reschedule():
    with Store.open() as store:
        store.begin_session(T0)
        card = store.record_answer("q.one", "b", True, "good", 3.5, T0)
        store.record_answer("q.two", "", False, "again", 1.0, T0 + timedelta(seconds=30))
    assert card.due == T0 + timedelta(minutes=10)
    with Store.open() as store:
        answers = store.answers()
        assert [(a.question_id, a.given, a.correct, a.rating, a.seconds) for a in answers] == [
            ("q.one", "b", True, "good", 3.5),
            ("q.two", "", False, "again", 1.0),
        ]
        assert answers[0].answered_at == T0
        assert store.due_dates() == {"q.one": T0 + timedelta(minutes=10), "q.two": T0 + timedelta(seconds=90)}
        assert store.answer_counts() == {"q.one": (1, 1), "q.two": (1, 0)}
        [session] = store.sessions()
        assert (session.started_at, session.ended_at, session.answered, session.right) == (T0, T0 + timedelta(seconds=30), 2, 1)
        card = store.record_answer("q.one", "b", True, "good", 2.0, T0 + timedelta(minutes=10))
        assert card.reviews == 2 and card.due - T0 > timedelta(days=1)


def test_a_session_without_answers_leaves_no_row():
    with Store.open() as store:
        store.begin_session(T0)
        assert store.sessions() == []


def test_kata_attempts_are_recorded_by_the_module_function():
    store_mod.record_kata_attempt("multihead", False, 3, 10, 4.2, at=T0)
    store_mod.record_kata_attempt("multihead", True, 10, 10, 3.9, at=T0 + timedelta(hours=1))
    store_mod.record_kata_attempt("attention", False, 0, 8, 1.0)
    with Store.open() as store:
        attempts = store.kata_attempts("multihead")
        assert [(a.passed, a.checks_passed, a.checks_total, a.seconds) for a in attempts] == [(False, 3, 10, 4.2), (True, 10, 10, 3.9)]
        assert attempts[1].attempted_at == T0 + timedelta(hours=1)
        assert [a.kata for a in store.kata_attempts()] == ["multihead", "multihead", "attention"]


def test_an_old_schema_is_migrated_and_keeps_its_data(_isolated_home):
    path = _isolated_home / "progress.sqlite3"
    _isolated_home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds) VALUES ('q', ?, 'x', 1, 'good', 1.0)", (store_mod.to_text(T0),))
    # The old reset bug: an answer pointing at a session row that no longer exists.
    conn.execute("INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds, session_id) VALUES ('r', ?, 'x', 1, 'good', 1.0, 7)", (store_mod.to_text(T0),))
    conn.execute("INSERT INTO sessions (id, started_at, ended_at, answered, right) VALUES (3, ?, ?, 1, 1)", (store_mod.to_text(T0),) * 2)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store.open() as store:
        assert store.version == SCHEMA_VERSION == 5
        assert sorted(a.question_id for a in store.answers()) == ["q", "r"]
        assert [a.session_id for a in store.answers("r")] == [None], "a dangling session id is detached"
        assert [s.id for s in store.sessions()] == [3]
        store.record_kata_attempt("attention", True, 8, 8, 1.0, at=T0)
        assert len(store.kata_attempts()) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_v3_database_upgrades_to_v4_and_keeps_its_kata_progress(_isolated_home):
    """Schema 4 adds what `attnquiz hint` reads: the checks an attempt failed and which hints were shown."""
    path = _isolated_home / "progress.sqlite3"
    _isolated_home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        for statement in step:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO kata_attempts (kata, attempted_at, passed, checks_passed, checks_total, seconds) VALUES ('attention', ?, 0, 5, 12, 2.0)",
        (store_mod.to_text(T0),),
    )
    conn.execute("INSERT INTO kata_state (kata, started_at, workspace, hints_shown) VALUES ('attention', ?, '/w/a', 2)", (store_mod.to_text(T0),))
    conn.execute("INSERT INTO settings (key, value) VALUES ('last_kata', 'attention')")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    offered: list[frozenset[int]] = []

    def pick(number: int):
        return lambda seen: offered.append(seen) or number

    with Store.open() as store:
        assert store.version == SCHEMA_VERSION == 5
        [old] = store.kata_attempts("attention")
        assert (old.passed, old.checks_passed, old.checks_total) == (False, 5, 12)
        assert store.last_failed_checks("attention") is None, "graded before schema 4: not known"
        state = store.kata_states()["attention"]
        assert (state.hints_shown, state.workspace, store.last_kata()) == (2, "/w/a", "attention")
        assert store.take_hint("attention", pick(4)) == 4
        assert offered[-1] == {1, 2}, "the hints counted before schema 4 are the first ones"
        assert store.take_hint("attention", pick(3)) == 3 and offered[-1] == {1, 2, 4}
        assert store.kata_states()["attention"].hints_shown == 4
        store.record_kata_attempt("attention", False, 9, 12, 1.0, at=T0, failed_checks=["mask_2d", "gradients"])
        assert store.last_failed_checks("attention") == ["mask_2d", "gradients"]
        store.record_kata_attempt("attention", True, 12, 12, 1.0, at=T0, failed_checks=[])
        assert store.last_failed_checks("attention") == []
        assert store.last_failed_checks("multihead") is None
    with sqlite3.connect(path) as db:  # another command restarts the count without knowing the list
        db.execute("UPDATE kata_state SET hints_shown = 0 WHERE kata = 'attention'")
    with Store.open() as store:
        store.take_hint("attention", pick(1))
        assert offered[-1] == frozenset(), "a list that disagrees with the count is not trusted"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and every file SQLite could add beside it (-wal, -shm, -journal)."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.glob(path.name + "*"))


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database\n" * 200,
        b"SQLite format 3\x00" + bytes(range(256)) * 16,
        b"\x00" * 50,
    ],
    ids=["text", "sqlite-header-then-garbage", "short-zeros"],
)
def test_a_damaged_file_is_reported_and_left_untouched(_isolated_home, content):
    path = _isolated_home / "progress.sqlite3"
    _isolated_home.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    before = _snapshot(path)
    with pytest.raises(StoreError) as caught:
        Store.open()
    assert isinstance(caught.value, AttnquizError)
    message = str(caught.value)
    assert str(path) in message and "left untouched" in message and "move it aside" in message
    assert _snapshot(path) == before


def _foreign_database(home: Path, *statements: str) -> Path:
    """A database made by something other than this attnquiz."""
    path = home / "progress.sqlite3"
    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    "statements, refusal, named",
    [
        (("CREATE TABLE future (x)", f"PRAGMA user_version = {SCHEMA_VERSION + 7}"), "newer attnquiz", "Upgrade attnquiz"),
        (("CREATE TABLE contacts (name TEXT)", "INSERT INTO contacts VALUES ('Ada')"), "another program", "contacts"),
    ],
    ids=["newer-attnquiz", "another-program"],
)
def test_a_database_that_is_not_ours_is_refused_untouched(_isolated_home, statements, refusal, named):
    path = _foreign_database(_isolated_home, *statements)
    before = _snapshot(path)
    with pytest.raises(StoreError, match=refusal) as caught:
        Store.open()
    assert str(path) in str(caught.value) and named in str(caught.value)
    assert _snapshot(path) == before


def test_reset_keeps_a_backup_and_starts_over(_isolated_home):
    with Store.open() as store:
        store.begin_session(T0)
        store.record_answer("q.one", "b", True, "good", 1.0, T0)
        store.record_kata_attempt("attention", True, 8, 8, 1.0, at=T0)
        backup = store.reset(at=T0)
        assert backup == _isolated_home / "progress.sqlite3.20260105T090000Z.bak"
        assert store.answers() == [] and store.cards() == {} and store.sessions() == [] and store.kata_attempts() == []
        second = store.reset(at=T0)
        assert second != backup and second.exists()
    with Store.open(backup) as old:
        assert [a.question_id for a in old.answers()] == ["q.one"]
        assert len(old.kata_attempts()) == 1


WRITER = """
import sys
from datetime import datetime, timezone
from attnquiz.store import Store
name, n = sys.argv[1], int(sys.argv[2])
with Store.open() as store:
    store.begin_session(datetime.now(timezone.utc))
    for i in range(n):
        store.record_answer(f"{name}.{i % 7}", str(i), i % 2 == 0, "good" if i % 2 == 0 else "again", 0.1, datetime.now(timezone.utc))
        store.record_kata_attempt(name, i % 3 == 0, i % 5, 5, 0.1)
print("done", name)
"""


def test_concurrent_writers_all_land_and_never_see_a_lock():
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{k}", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(4)
    ]
    results = [w.communicate(timeout=120) for w in writers]
    for w, (out, err) in zip(writers, results):
        assert w.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    with Store.open() as store:
        assert len(store.answers()) == 240
        assert len(store.kata_attempts()) == 240
        assert sorted(s.answered for s in store.sessions(10)) == [60, 60, 60, 60]
        assert sum(c.reviews for c in store.cards().values()) == 240



def test_a_first_open_racing_another_does_not_call_our_tables_foreign(tmp_path, monkeypatch):
    """Two terminals on a fresh folder: the other one creates the schema right after this one read
    the (empty) version. The version and the table list must come from one snapshot, or our own new
    tables look like another program's."""
    path = tmp_path / "progress.sqlite3"
    original = Store._refuse_newer
    raced: list[int] = []

    def refuse_newer_then_race(self, version):
        if not raced:
            raced.append(version)
            Store.open(path).close()  # the other terminal, migrating in between
        return original(self, version)

    monkeypatch.setattr(Store, "_refuse_newer", refuse_newer_then_race)
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
    assert raced == [0]
