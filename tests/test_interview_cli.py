"""`attnquiz interview` as a learner's script drives it: through the console script, from a folder
outside the checkout, answers on stdin, the kata solution written into the workspace while the
interview waits (a real grading), Ctrl-C half-way, and time running out in every phase."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from attnquiz import interview, katas
from attnquiz.bank import Question, index_letter, load_bank
from attnquiz.store import Store

SCRIPT = Path(sys.executable).parent / ("attnquiz.exe" if os.name == "nt" else "attnquiz")  # as tests/test_installed.py finds it
NOW = "2026-03-02T09:00:00Z"
WORKSPACE_LINE = re.compile(rb"workspace: (\S[^\r\n]*)\r?\n")


def start(*args: str, cwd: Path, stdin: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """The console script in a real process; PYTHONPATH (if any) is kept, so a worktree tests its own code."""
    env = {**os.environ, "COLUMNS": "110", "PYTHONUNBUFFERED": "1", "ATTNQUIZ_NOW": NOW, "TZ": "UTC"}
    return subprocess.Popen(
        [str(SCRIPT), "interview", *args], cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def silent_run(*args: str, cwd: Path) -> tuple[int, str, str]:
    """An interview whose stdin stays open and says nothing: only the clock moves it on."""
    read_end, write_end = os.pipe()
    try:
        proc = start(*args, cwd=cwd, stdin=read_end)
        os.close(read_end)
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(write_end)
    return proc.returncode, out.decode(), err.decode()


def read_until(proc: subprocess.Popen[bytes], pattern: re.Pattern[bytes], seen: bytes = b"", timeout: float = 60) -> tuple[bytes, re.Match[bytes]]:
    """The output so far (SEEN and what follows) once PATTERN is in it."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(seen)
        if found:
            return seen, found
        chunk = proc.stdout.read1(4096)
        if not chunk:
            break
        seen += chunk
    raise AssertionError(f"{pattern.pattern!r} not seen; output so far:\n{seen.decode(errors='replace')[-3000:]}")


def right_answer(question: Question) -> list[str]:
    """The lines that answer QUESTION (as shown, choices shuffled) correctly."""
    mode = question.answer_mode
    if mode in ("single", "multi"):
        return [",".join(index_letter(i) for i in question.correct_indices())]
    if mode == "truefalse":
        return ["t" if question.answer else "f"]
    if mode == "numeric":
        return [repr(question.answer)]
    if mode == "short":
        return [question.accept[0]]
    return [" ".join(point.keywords[0] for point in question.key_points), "3"]


def wrong_answer(question: Question) -> list[str]:
    mode = question.answer_mode
    if mode in ("single", "multi"):
        return [index_letter(next(i for i in range(len(question.choices)) if i not in question.correct_indices()))]
    if mode == "truefalse":
        return ["f" if question.answer else "t"]
    if mode == "numeric":
        return [repr(question.answer * 3 + 7)]
    return ["no idea at all"]


def the_plan(minutes: float, seed: int) -> interview.Plan:
    """What a fresh learner's interview asks with this seed (the CLI computes the same)."""
    choice = interview.choose_kata(katas.list_katas(), [], {})
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    return interview.plan(load_bank(), choice, {}, at, minutes=minutes, seed=seed)


def stats_json(cwd: Path) -> dict:
    done = subprocess.run([str(SCRIPT), "stats", "--json"], cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ, "ATTNQUIZ_NOW": NOW})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_scripted_interview_runs_end_to_end_with_a_real_grading(outside):
    plan = the_plan(10, seed=5)
    kata = plan.kata.kata
    assert plan.kata.reason == "next" and kata.name == katas.list_katas()[0].name, "a fresh learner gets the ladder's first kata"
    assert len(plan.concepts) == 3 and plan.explain is not None and len(plan.followups) == 3
    missed = plan.concepts[1]
    lines = [*right_answer(plan.concepts[0]), *wrong_answer(missed), *right_answer(plan.concepts[2]), *right_answer(plan.explain)]
    lines += [line for q in plan.followups for line in right_answer(q)]
    proc = start("--minutes", "10", "--seed", "5", "--lang", "en", cwd=outside)
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for line in lines).encode())
    proc.stdin.flush()  # all answers are there at once: the kata phase must not eat the follow-ups'

    before, found = read_until(proc, WORKSPACE_LINE)
    workspace = Path(found.group(1).decode())
    assert workspace.parent == Path(os.environ["ATTNQUIZ_HOME"]) / "interviews", "the fresh workspace lives in the data folder"
    assert (workspace / kata.entry).read_text(encoding="utf-8") == kata.starter.read_text(encoding="utf-8")
    assert before.count(b"Noted.") == 3 and b"Correct" not in before and b"Why" not in before.split(b"Phase 2/4")[0], "no verdict before the end"
    assert len(re.findall(rb"\(\d\d:\d\d left\) \xe2\x80\xba", before)) >= 5, "a scripted run prints the time left with each prompt"
    (workspace / kata.entry).write_text(kata.reference.read_text(encoding="utf-8"), encoding="utf-8")

    out, err = proc.communicate(timeout=240)
    text = (before + out).decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in text + err.decode()
    assert "Grading your save" in text and "kata passed" in text
    report = text.split("Interview report", 1)[1]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"│ (\d)\. [^\n]*", report)}
    assert "2/3 right" in rows["1"] and "20/30" in rows["1"] and "finished" in rows["1"]
    assert "rated Good" in rows["2"] and "15/15" in rows["2"]
    assert f"{kata.name}: passed (1 grading(s))" in rows["3"] and "40/40" in rows["3"]
    assert "3/3 right" in rows["4"] and "15/15" in rows["4"]
    assert "90/100" in report and "Verdict: ready — 90 points and the kata passed." in report
    assert "Rubric: " in report and "Ready: 75 points or more and the kata passed" in report.replace("\n", " ")
    mistakes = report.split("Mistakes, with their explanations", 1)[1]
    flat = re.sub(r"[│╭╮╰╯─\s]+", " ", mistakes)
    assert "Question 1/1" in flat and "Why" in flat and " ".join(missed.source.split()[:3]) in flat, "the wrong answer comes with its explanation"

    with Store.open() as store:
        answers = store.answers()
        assert [a.question_id for a in answers] == [q.id for q in (*plan.concepts, plan.explain, *plan.followups)]
        assert [a.correct for a in answers] == [True, False, True, True, True, True, True]
        assert set(store.due_dates()) == {a.question_id for a in answers}, "every answer feeds the review schedule"
        assert [(a.kata, a.passed) for a in store.kata_attempts()] == [(kata.name, True)], "the grading is recorded like `attnquiz grade`"
        assert store.kata_states()[kata.name].workspace is None, "the interview's workspace does not become the kata's own"
    [past] = stats_json(outside)["interviews"]
    assert (past["kata"], past["kata_passed"], past["points"], past["verdict"]) == (kata.name, True, 90, "ready")
    assert [p["phase"] for p in past["phases"]] == list(interview.PHASES)
    assert [p["ended"] for p in past["phases"]] == ["done"] * 4
    assert past["phases"][2]["gradings"] == 1 and past["phases"][0]["questions"][1] == {"id": missed.id, "correct": False, "rating": "again"}
    table = subprocess.run([str(SCRIPT), "stats", "--lang", "en"], cwd=outside, capture_output=True, text=True, timeout=60)
    assert "Mock interviews" in table.stdout and "90/100" in table.stdout and "ready" in table.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_mid_way_ends_with_the_partial_report_and_keeps_the_answers(outside, signum):
    plan = the_plan(30, seed=2)
    proc = start("--minutes", "30", "--seed", "2", "--lang", "en", "--kata", "softmax", cwd=outside)
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for line in right_answer(plan.concepts[0])).encode())
    proc.stdin.flush()
    read_until(proc, re.compile(rb"Question 2/\d+.*?left\) \xe2\x80\xba", re.S))
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "Traceback" not in text + err.decode()
    assert "Verdict: incomplete — you ended it in phase 1/4" in text
    assert re.search(r"1\. Concept questions\s+│ 1/\d+ right .*you stopped", text)
    assert re.search(r"3\. Coding\s+│ —.*not reached", text)
    with Store.open() as store:
        assert [a.question_id for a in store.answers()] == [plan.concepts[0].id]
        assert store.answers()[0].correct
    [past] = stats_json(outside)["interviews"]
    assert past["verdict"] == "incomplete" and past["phases"][0]["ended"] == "stopped" and past["phases"][0]["answered"] == 1


def test_kill_9_loses_no_answer_and_leaves_the_interview_listed_as_unfinished(outside):
    plan = the_plan(30, seed=2)
    proc = start("--minutes", "30", "--seed", "2", "--lang", "en", "--kata", "softmax", cwd=outside)
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for q in plan.concepts[:2] for line in right_answer(q)).encode())
    proc.stdin.flush()
    read_until(proc, re.compile(rb"Question 3/\d+.*?left\) \xe2\x80\xba", re.S))
    proc.kill()
    proc.wait(timeout=30)
    with Store.open() as store:
        assert [a.question_id for a in store.answers()] == [q.id for q in plan.concepts[:2]]
        [row] = store.interviews()
        assert row.verdict == "unfinished" and row.kata == "softmax"
    assert stats_json(outside)["interviews"][0]["verdict"] == "unfinished"


def test_a_kata_that_fails_shows_its_checks_then_its_diagnosis_only_in_the_report(outside):
    kata = katas.load_kata("attention")
    mistake = next(m for m in katas.load_mistakes(kata.path) if m.name == "no_scaling")
    proc = start("--minutes", "30", "--questions", "3", "--kata", "attention", "--lang", "en", cwd=outside)
    assert proc.stdin is not None
    proc.stdin.write(b"\n\n\n\n1\n")  # don't know, three times; an empty explanation rated Again
    proc.stdin.flush()
    seen, found = read_until(proc, WORKSPACE_LINE)
    (Path(found.group(1).decode()) / kata.entry).write_text(mistake.apply(kata.reference.read_text(encoding="utf-8")), encoding="utf-8")
    seen, _ = read_until(proc, re.compile(rb"checks passed in .*?\n(.*\n)*?Waiting for your next save"), seen)
    during = seen.decode()
    assert re.search(r"✗ \d+/\d+ checks passed", during) and " ✗ " in during, "the failing checks are shown"
    assert "known mistake" not in during and mistake.title not in during, "no diagnosis (a hint) during the interview"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    report = out.decode().split("Interview report", 1)[1]
    assert proc.returncode == 0, err.decode()
    assert re.search(r"attention: best \d+/\d+ checks \(1 grading\(s\)\)", report)
    assert "The kata attention did not pass. Its last grading:" in report
    assert "This matches a known mistake" in report and "attnquiz solution attention --give-up" in report
    with Store.open() as store:
        assert [(a.kata, a.passed) for a in store.kata_attempts()] == [("attention", False)]
        assert [(a.correct, a.rating) for a in store.answers()] == [(False, "again")] * 4


def test_time_running_out_ends_every_phase(outside):
    code, text, err = silent_run("--minutes", "0.1", "--kata", "softmax", "--lang", "en", cwd=outside)
    assert code == 0, err
    assert text.count("Time is up for this phase.") == 4
    assert len(re.findall(r"│ \d\. [^\n]*time ran out", text)) == 4
    assert "Verdict: not yet — 0 points." in text and "Not answered: " in text
    with Store.open() as store:
        assert store.answers() == [] and store.kata_attempts() == []
    [past] = stats_json(outside)["interviews"]
    assert past["verdict"] == "not_yet" and {p["ended"] for p in past["phases"]} == {"time"}


def test_the_interview_speaks_chinese(outside):
    code, text, err = silent_run("--minutes", "0.1", "--kata", "softmax", "--lang", "zh", cwd=outside)
    assert code == 0, err
    for words in ("第 1/4 阶段 · 概念快问", "本阶段时间到。", "工作区 workspace: ", "面试报告", "结论：还需准备——0 分。", "评分规则："):
        assert words in text, words
    assert "Phase" not in text and "Verdict" not in text


@pytest.mark.parametrize(
    "args, named",
    [
        (["--minutes", "0"], "--minutes"),
        (["--minutes", "nan"], "--minutes"),
        (["--kata", "nope"], "unknown kata 'nope'"),
        (["--topic", "nope"], "--topic nope: no such topic"),
        (["--questions", "0"], "--questions 0"),
        (["--lang", "fr"], "--lang fr"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(outside, args, named):
    done = subprocess.run([str(SCRIPT), "interview", *args], cwd=outside, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
    with Store.open() as store:
        assert store.interviews() == [], "nothing starts on bad input"


def test_a_dir_that_is_not_empty_is_refused_before_anything_starts(outside):
    (outside / "ws").mkdir()
    (outside / "ws" / "mine.py").write_text("x = 1\n")
    done = subprocess.run([str(SCRIPT), "interview", "--dir", "ws"], cwd=outside, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "not an empty folder" in done.stderr
    assert (outside / "ws" / "mine.py").read_text() == "x = 1\n"
