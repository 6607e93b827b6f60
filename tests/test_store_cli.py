"""Progress through the real CLI in real subprocesses: crashes, Ctrl-C, two terminals at once, damaged
files, and reviews that come back on FSRS's schedule under a pinned clock (ATTNQUIZ_NOW)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from attnquiz.bank import Bank, check as check_bank
from attnquiz.quiz import select
from attnquiz.store import SCHEMA_VERSION, Store

DATA = Path(__file__).parent / "data"
SAMPLE = check_bank([DATA])[0]
SAMPLE_ARGS = ["--bank", str(DATA), "--topic", "sample", "--topic", "sample-numbers", "--lang", "en"]
RIGHT = {
    "sample.single": ["b"],
    "sample.multi": ["a,b,d"],
    "sample.truefalse": ["f"],
    "sample.numeric": ["1050624"],
    "sample.short": ["sqrt(d_k)"],
    "sample.recall": ["weighted sum of values, weights from query key similarity", "3"],
    "sample.bug": ["A"],
}


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "100", "PYTHONUNBUFFERED": "1", "TZ": "UTC", **extra}


def attnquiz(*args: str, stdin: str = "", now: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = {"ATTNQUIZ_NOW": now} if now else {}
    return subprocess.run(
        [sys.executable, "-m", "attnquiz", *args], input=stdin, capture_output=True, text=True, env=env(**extra), timeout=60
    )


def order(seed: int) -> list[str]:
    return [q.id for q in select(Bank(SAMPLE), topics=["sample", "sample-numbers"], seed=seed)]


def lines_for(ids: list[str]) -> str:
    return "".join(line + "\n" for qid in ids for line in RIGHT[qid])


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "attnquiz", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()
    )


def wait_for(proc: subprocess.Popen[bytes], marker: bytes, then: bytes = b"", timeout: float = 30) -> bytes:
    """Read the output until `marker`, and `then` after it (e.g. the prompt after a question)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout

    def found() -> bool:
        return marker in seen and then in seen.split(marker, 1)[1]

    while not found() and time.monotonic() < deadline:
        chunk = proc.stdout.read1(4096)
        if not chunk:
            break
        seen += chunk
    assert found(), seen.decode(errors="replace")[-2000:]
    return seen


# --------------------------------------------------------------------------- crashes and Ctrl-C


def test_kill_9_mid_session_loses_no_answer_given():
    ids = order(3)
    proc = start("ask", *SAMPLE_ARGS, "--seed", "3", "--all")
    assert proc.stdin is not None
    proc.stdin.write(lines_for(ids[:2]).encode())
    proc.stdin.flush()
    wait_for(proc, b"Question 3/7", then="›".encode())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store.open() as store:
        assert [a.question_id for a in store.answers()] == ids[:2]
        assert all(a.correct for a in store.answers())
        [session] = store.sessions()
        assert (session.answered, session.right) == (2, 2)
        assert set(store.due_dates()) == set(ids[:2])


def test_ctrl_c_keeps_the_answers_and_shows_the_summary_and_next_reviews():
    ids = order(4)
    proc = start("ask", *SAMPLE_ARGS, "--seed", "4", "--all")
    assert proc.stdin is not None
    proc.stdin.write(lines_for(ids[:1]).encode())
    proc.stdin.flush()
    wait_for(proc, b"Question 2/7", then="›".encode())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"Stopped after 1 of 7 questions." in out and b"Next reviews: 1 due in" in out
    assert b"Traceback" not in out + err
    with Store.open() as store:
        assert [a.question_id for a in store.answers()] == ids[:1]


def test_two_terminals_at_once_both_record_every_answer():
    ids = order(9)
    procs = [start("ask", *SAMPLE_ARGS, "--seed", "9", "--all") for _ in range(3)]
    outputs = [p.communicate(input=lines_for(ids).encode(), timeout=90) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert b"7/7  100%" in out
        assert b"locked" not in out + err and b"Traceback" not in out + err
    with Store.open() as store:
        assert len(store.answers()) == 21
        assert sorted(s.answered for s in store.sessions()) == [7, 7, 7]
        assert {c.reviews for c in store.cards().values()} == {3}


# --------------------------------------------------------------------------- files we must not touch


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and every file SQLite could add beside it (-wal, -shm, -journal)."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.glob(path.name + "*"))


def _prepare(home: Path, content: bytes | None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "progress.sqlite3"
    if content is not None:
        path.write_bytes(content)
    else:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE from_the_future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
        conn.close()
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    return path


@pytest.mark.parametrize(
    "content, says",
    [(b"\x8f\x01garbage" * 500, "is damaged or not an attnquiz progress database"), (None, "newer attnquiz")],
    ids=["garbage", "newer-schema"],
)
@pytest.mark.parametrize(
    "args",
    [["ask", "--bank", str(DATA), "--id", "sample.single"], ["stats"], ["stats", "--json"], ["stats", "--reset", "--yes"]],
    ids=["ask", "stats", "stats-json", "reset"],
)
def test_an_unusable_database_gives_one_line_exit_2_and_stays_untouched(_isolated_home, content, says, args):
    path = _prepare(_isolated_home, content)
    before = _snapshot(path)
    result = attnquiz(*args, stdin="b\n")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _snapshot(path) == before


# --------------------------------------------------------------------------- the schedule through the CLI


def test_reviews_come_back_on_the_fsrs_schedule():
    one = ["ask", "--bank", str(DATA), "--topic", "sample-numbers", "--lang", "en"]
    first = attnquiz(*one, stdin="1050624\n", now="2026-03-02T08:00:00Z")
    assert "1/1  100%" in first.stdout and "Next reviews: 1 due in 10 minutes" in first.stdout

    early = attnquiz(*one, "--due", now="2026-03-02T08:05:00Z")
    assert early.returncode == 0
    assert "Nothing is due for review now." in early.stdout and "The next review is due in 5 minutes." in early.stdout
    assert "Question" not in early.stdout

    on_time = attnquiz(*one, "--due", stdin="1050624\n", now="2026-03-02T08:11:00Z")
    assert "Question 1/1" in on_time.stdout and "1/1  100%" in on_time.stdout
    assert "Next reviews: 1 due in 2 days" in on_time.stdout  # graduated from the learning steps
    with Store.open() as store:
        due = store.due_dates()["sample.numeric"]
    assert due.isoformat().startswith("2026-03-04T08:11")

    forgot = attnquiz(*one, stdin="7\n", now=due.isoformat())
    assert "Question 1/1" in forgot.stdout and "Next reviews: 1 due in 10 minutes" in forgot.stdout  # relearning step


def test_default_order_due_first_then_new_and_a_notice_when_only_early_reviews_remain():
    ids = order(2)
    first = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--count", "2", stdin=lines_for(ids[:2]), now="2026-03-02T08:00:00Z")
    assert "2/2  100%" in first.stdout
    later = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", stdin="", now="2026-03-02T08:30:00Z")
    assert "Question 1/7" in later.stdout  # two due reviews, then five new
    new_only = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--new", stdin="", now="2026-03-02T08:30:00Z")
    assert "Question 1/5" in new_only.stdout
    due_only = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--due", stdin="", now="2026-03-02T08:30:00Z")
    assert "Question 1/2" in due_only.stdout

    everything = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--all", stdin=lines_for(ids), now="2026-03-02T08:31:00Z")
    assert "7/7  100%" in everything.stdout
    ahead = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", stdin="", now="2026-03-02T08:32:00Z")
    assert "Nothing is due and nothing is new: practising ahead of schedule" in ahead.stdout
    assert "Question 1/7" in ahead.stdout
    none_new = attnquiz("ask", *SAMPLE_ARGS, "--new", now="2026-03-02T08:32:00Z")
    assert none_new.returncode == 0 and "No new questions left" in none_new.stdout and "--all" in none_new.stdout


def test_the_same_seed_and_progress_give_the_same_session():
    ids = order(6)
    attnquiz("ask", *SAMPLE_ARGS, "--seed", "6", "--count", "3", stdin=lines_for(ids[:3]), now="2026-03-02T08:00:00Z")
    runs = [attnquiz("ask", *SAMPLE_ARGS, "--seed", "6", stdin="", now="2026-03-02T09:00:00Z").stdout for _ in range(2)]
    assert runs[0] == runs[1] and "Question 1/7" in runs[0]


def test_schedule_flags_exclude_each_other():
    result = attnquiz("ask", "--due", "--new")
    assert result.returncode == 2 and "--due, --new, --all and --weak: choose one" in result.stderr


def test_editing_a_question_keeps_its_history_and_a_removed_one_is_ignored(tmp_path):
    bank = tmp_path / "mine.yaml"
    original = (DATA / "sample-bank.yaml").read_text(encoding="utf-8")
    bank.write_text(original, encoding="utf-8")
    args = ["--bank", str(bank), "--lang", "en"]
    assert attnquiz("ask", *args, "--id", "sample.single", stdin="b\n").returncode == 0
    assert attnquiz("ask", *args, "--id", "sample.numeric", stdin="1050624\n").returncode == 0

    bank.write_text(original.replace("Which function turns", "Which function converts"), encoding="utf-8")

    reworded = json.loads(attnquiz("stats", "--json", *args[:2]).stdout)
    sample = next(t for t in reworded["topics"] if t["topic"] == "sample")
    assert sample["seen"] == 1 and sample["answers"] == 1

    removed = original.split("  - id: sample.numeric")[0] + "  - id: sample.short" + original.split("  - id: sample.short")[1]
    bank.write_text(removed, encoding="utf-8")
    stats = attnquiz("stats", "--json", *args[:2])
    assert stats.returncode == 0, stats.stderr
    topics = {t["topic"] for t in json.loads(stats.stdout)["topics"]}
    assert "sample-numbers" not in topics
    again = attnquiz("ask", *args, "--topic", "sample", "--seed", "1", stdin="")
    assert again.returncode == 0 and "Traceback" not in again.stderr


# --------------------------------------------------------------------------- two terminals, one reset


def _consistent(path: Path) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        dangling = db.execute("SELECT COUNT(*) FROM answers WHERE session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM sessions)").fetchone()[0]
        assert dangling == 0, "an answer points at a session that no longer exists"
        for sid, answered, right in db.execute("SELECT id, answered, right FROM sessions"):
            got = db.execute("SELECT COUNT(*), COALESCE(SUM(correct), 0) FROM answers WHERE session_id = ?", (sid,)).fetchone()
            assert got == (answered, right), f"session {sid} counts {answered}/{right} but holds {got}"


def test_a_reset_during_a_session_misattributes_nothing(_isolated_home):
    ids = order(5)
    quiz = start("ask", *SAMPLE_ARGS, "--seed", "5", "--all")
    assert quiz.stdin is not None
    quiz.stdin.write(lines_for(ids[:2]).encode())
    quiz.stdin.flush()
    wait_for(quiz, b"Question 3/7", then="›".encode())
    with Store.open() as store:
        [before] = store.sessions()
    reset = attnquiz("stats", "--reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    out, err = quiz.communicate(input=lines_for(ids[2:5]).encode(), timeout=60)
    assert quiz.returncode == 0 and b"Traceback" not in out + err, err
    later = attnquiz("ask", *SAMPLE_ARGS, "--seed", "5", "--all", "--count", "2", stdin=lines_for(ids[:2]))
    assert later.returncode == 0, later.stderr
    with Store.open() as store:
        sessions = store.sessions()
        assert sorted(s.answered for s in sessions) == [2, 3], "after the reset: the running session's 3, then 2"
        assert all(s.id > before.id for s in sessions), "a session id was reused after the reset"
        assert [a.question_id for a in store.answers()] == ids[2:5] + ids[:2]
    _consistent(_isolated_home / "progress.sqlite3")


def test_concurrent_kata_bookkeeping_loses_nothing(_isolated_home):
    """Four processes counting hints and grading attempts at once: every increment lands."""
    code = (
        "import sys\nfrom attnquiz import katas\nk = katas.load_kata('multihead')\n"
        "for i in range(25):\n"
        "    katas.record_attempt('attention', False, i, 12, 0.1)\n"
        "    katas.mark_started('multihead', __import__('pathlib').Path('/tmp/ws'))\n"
    )
    hints = (
        "from attnquiz import katas\nfrom attnquiz.store import Store\nk = katas.load_kata('generator')\n"
        "for _ in range(50):\n    katas.next_hint(k)\n"
        "    with Store.open() as store:\n        store.next_hint('counter', 10_000)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", c], env=env(), stderr=subprocess.PIPE) for c in (code, code, hints, hints)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), b"".join(errors).decode()[-1500:]
    with Store.open() as store:
        assert len(store.kata_attempts("attention")) == 50
        states = store.kata_states()
    from attnquiz import katas

    assert states["generator"].hints_shown == len(katas.load_kata("generator").hints)  # capped at the last hint
    assert states["counter"].hints_shown == 100, "a read-modify-write lost increments"
    assert states["multihead"].workspace == "/tmp/ws" and katas.last_started() in ("attention", "multihead")
    _consistent(_isolated_home / "progress.sqlite3")
