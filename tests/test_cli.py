"""The quiz as a learner drives it: scripted sessions through a real subprocess, both languages,
clean endings, one-line errors, and no torch import on the fast paths."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attnquiz.bank import Bank, check as check_bank, index_letter
from attnquiz.cli import app
from attnquiz.quiz import presented, select

DATA = Path(__file__).parent / "data"
SAMPLE = check_bank([DATA])[0]
# Choice questions are answered by the option's text ({...}): their letters change with the shuffle.
RIGHT = {
    "sample.single": ["{softmax}"],
    "sample.multi": ["{queries},{keys},{values}"],
    "sample.truefalse": ["f"],
    "sample.numeric": ["4*512**2 + 4*512"],
    "sample.short": ["square root of d_k"],
    "sample.recall": ["a weighted sum of values, weights from query key similarity", "3"],
    "sample.bug": ["{@right}"],
}
WRONG = {
    "sample.single": ["{ReLU}"],
    "sample.multi": ["{queries}"],
    "sample.truefalse": ["t"],
    "sample.numeric": ["512"],
    "sample.short": ["d_k"],
    "sample.recall": ["no idea", "1"],
    "sample.bug": ["{@wrong}"],
}
SAMPLE_ARGS = ["--bank", str(DATA), "--topic", "sample", "--topic", "sample-numbers"]


def attnquiz(*args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a fresh interpreter, as a learner's shell would."""
    full_env = {**os.environ, "COLUMNS": "100", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "attnquiz", *args], input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout
    )


def script(seed: int, answers: dict[str, list[str]]) -> str:
    """The learner's lines for a seeded session; {text} becomes the letter that option has this time."""
    order = presented(select(Bank(SAMPLE), topics=["sample", "sample-numbers"], seed=seed), seed)
    return "".join(_letters(q, line) + "\n" for q in order for line in answers[q.id])


def _letters(question, line: str) -> str:
    def letter(match: re.Match) -> str:
        text = match.group(1)
        if text.startswith("@"):  # the right option, or the first wrong one
            right = question.correct_indices()
            i = right[0] if text == "@right" else next(i for i in range(len(question.choices)) if i not in right)
        else:
            i = next(i for i, c in enumerate(question.choices) if c["en"] == text)
        return index_letter(i)

    return re.sub(r"\{([^}]+)\}", letter, line)


def test_scripted_session_all_right():
    result = attnquiz("ask", *SAMPLE_ARGS, "--seed", "7", "--lang", "en", stdin=script(7, RIGHT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("✓ Correct") == 6
    assert "Key points your answer mentioned (2/2)" in result.stdout
    assert "Total" in result.stdout and "7/7  100%" in result.stdout
    assert "Nothing to review" in result.stdout
    assert result.stderr == ""


def test_scripted_session_all_wrong_lists_what_to_review():
    result = attnquiz("ask", *SAMPLE_ARGS, "--seed", "7", "--lang", "en", stdin=script(7, WRONG))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("✗ Not quite") == 6
    assert "Answer: B. softmax" in result.stdout
    assert "Answer: 1,050,624 parameters" in result.stdout
    assert "Answer: sqrt(d_k)" in result.stdout
    assert "0/7  0%" in result.stdout
    review = result.stdout.split("To review:")[1]
    for qid in RIGHT:
        assert qid in review


def test_same_seed_same_order_different_seed_other_order(tmp_path):
    def order(seed: int) -> list[str]:
        out = attnquiz("ask", *SAMPLE_ARGS, "--seed", str(seed), "--lang", "en", stdin="").stdout
        return [line for line in out.splitlines() if "Question" in line]

    # Each run starts from no progress: answers are saved and rescheduled, which changes the next run.
    fresh = [{"ATTNQUIZ_HOME": str(tmp_path / f"home-{i}")} for i in range(2)]
    first = attnquiz("ask", *SAMPLE_ARGS, "--seed", "1", "--lang", "en", stdin=script(1, RIGHT), env=fresh[0]).stdout
    again = attnquiz("ask", *SAMPLE_ARGS, "--seed", "1", "--lang", "en", stdin=script(1, RIGHT), env=fresh[1]).stdout
    assert first == again
    assert "7/7  100%" in first
    assert order(1) == order(1)
    assert len({tuple(order(seed)) for seed in range(1, 7)}) > 1, "another seed gives another order"


def test_chinese_session_from_flag_and_locale():
    by_flag = attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "zh", stdin="2\n")
    assert "第 1/1 题" in by_flag.stdout and "哪个函数把注意力分数变成权重" in by_flag.stdout
    assert "✓ 正确" in by_flag.stdout and "解析" in by_flag.stdout and "本次小结" in by_flag.stdout
    short = attnquiz("ask", "--bank", str(DATA), "--id", "sample.short", "--lang", "zh", stdin="x\n")
    assert "答案：根号 d_k" in short.stdout, "a Chinese accepted answer leads in Chinese"
    numeric = attnquiz("ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "zh", stdin="1\n")
    assert "你的数值（单位：个参数）" in numeric.stdout and "答案：1,050,624 个参数" in numeric.stdout
    by_locale = attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", stdin="a\n", env={"LANG": "zh_CN.UTF-8", "LC_ALL": ""})
    assert "✗ 不对" in by_locale.stdout and "答案：B. softmax" in by_locale.stdout


def test_invalid_answers_are_asked_again_not_counted():
    result = attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en", stdin="z\n9\nb\n")
    assert result.stdout.count("Type one letter A–C or a number 1–3.") == 2
    assert "1/1  100%" in result.stdout


def test_end_of_input_and_quit_command_end_with_a_summary():
    eof = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--lang", "en", stdin="")
    assert eof.returncode == 0 and "No questions answered." in eof.stdout
    quit_ = attnquiz("ask", *SAMPLE_ARGS, "--seed", "2", "--lang", "en", stdin=script(2, RIGHT).split("\n")[0] + "\n:q\n")
    assert quit_.returncode == 0
    assert "Stopped after" in quit_.stdout and "of 7 questions" in quit_.stdout
    assert "Traceback" not in eof.stdout + eof.stderr + quit_.stdout + quit_.stderr


def test_ctrl_c_ends_the_session_cleanly_with_the_summary():
    env = {**os.environ, "COLUMNS": "100", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnquiz", "ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 30
    while b"Your answer" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.read1(4096)
    assert b"Your answer" in seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert b"No questions answered." in out
    assert b"Traceback" not in out + err


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", "--topic", "nope"], "--topic nope: no such topic; choose from"),
        (["ask", "--lang", "fr"], "--lang fr: choose en or zh"),
        (["ask", "--difficulty", "brutal"], "--difficulty brutal: choose easy, medium or hard"),
        (["ask", "--id", "no.such.question"], "--id no.such.question: no such question"),
        (["ask", "--bank", "/no/such/file.yaml"], "/no/such/file.yaml: no such file or folder"),
        (["bank", "list", "--topic", "nope"], "--topic nope: no such topic"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args, message):
    result = attnquiz(*args, stdin="")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_broken_learner_bank_is_reported_not_asked(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("questions:\n  - id: mine.x\n    topic: mine\n", encoding="utf-8")
    result = attnquiz("ask", "--bank", str(bad), stdin="")
    assert result.returncode == 2
    assert "mine.yaml:2: mine.x: missing field" in result.stderr
    assert "Traceback" not in result.stderr


def test_bank_list_json_for_scripts():
    result = attnquiz("bank", "list", "--json", "--bank", str(DATA), "--topic", "sample-numbers")
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert rows == [{"id": "sample.numeric", "topic": "sample-numbers", "type": "numeric", "difficulty": "hard", "source": "PyTorch docs: torch.nn.MultiheadAttention"}]


def test_bank_list_table_and_whole_bank_json():
    table = attnquiz("bank", "list", "--bank", str(DATA), "--topic", "sample", env={"FORCE_COLOR": "1"})  # as on a terminal
    assert table.returncode == 0 and "sample.recall" in table.stdout and "6 questions, 1 topics." in table.stdout
    piped = attnquiz("bank", "list", "--bank", str(DATA), "--topic", "sample")
    assert [line.split("\t")[0] for line in piped.stdout.splitlines()] == sorted(q.id for q in SAMPLE if q.topic == "sample")
    rows = json.loads(attnquiz("bank", "list", "--json").stdout)
    assert len(rows) == len(check_bank()[0]) and {"id", "topic", "type", "difficulty", "source"} == set(rows[0])


def test_cli_runner_happy_path_in_process():
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "en"], input="1,050,624\n", catch_exceptions=False)
    assert result.exit_code == 0
    assert "✓ Correct" in result.output and "1/1  100%" in result.output


def test_version_comes_from_package_metadata():
    from importlib.metadata import version

    result = attnquiz("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"attnquiz {version('attnquiz')}"


# --------------------------------------------------------------------------- no torch on the fast paths

BLOCK_TORCH = """
import runpy, sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            sys.stderr.write("TORCH-IMPORTED\\n")
            raise ImportError("torch is not allowed here")
sys.meta_path.insert(0, NoTorch())
sys.argv = ["attnquiz", *sys.argv[1:]]
try:
    runpy.run_module(sys.argv.pop(1) if sys.argv[1] == "-m" else "attnquiz", run_name="__main__")
finally:
    if any(m == "torch" or m.startswith("torch.") for m in sys.modules):
        sys.stderr.write("TORCH-IMPORTED\\n")
"""


def run_blocking_torch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_the_torch_blocker_catches_an_import():
    probe = subprocess.run([sys.executable, "-c", BLOCK_TORCH.replace("runpy.run_module(", "__import__('torch.nn') or runpy.run_module("), "--help"], capture_output=True, text=True)
    assert "TORCH-IMPORTED" in probe.stderr


@pytest.mark.parametrize(
    "args, stdin",
    [
        (["--help"], ""),
        (["ask", "--help"], ""),
        (["plan", "--until", "+3d"], ""),
        (["ask", "--seed", "1", "--count", "3"], "a\n1\nt\n"),
        (["ask", "--bank", str(DATA), "--id", "sample.bug"], "A\n"),
        (["bank", "check"], ""),
        (["bank", "list", "--json"], ""),
        (["next"], ""),
        (["next", "--json", "--lang", "zh"], ""),
    ],
)
def test_fast_paths_never_import_torch(args, stdin):
    result = run_blocking_torch(*args, stdin=stdin)
    assert "TORCH-IMPORTED" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("home_kind", ["a-file", "unreachable"])
def test_an_unusable_data_folder_is_one_line(tmp_path, home_kind):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    target = str(home) if home_kind == "a-file" else str(home / "below-a-file")
    for args in (["stats"], ["ask", "--count", "1"]):
        result = attnquiz(*args, stdin="", env={"ATTNQUIZ_HOME": target})
        assert result.returncode == 2, result.stderr
        assert "cannot create the attnquiz data folder" in result.stderr and "ATTNQUIZ_HOME" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_file_system_refusal_is_one_line(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = attnquiz("kata", "attention", "--dir", str(blocker / "ws"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, named",
    [
        (["ask", "--seed", "abc"], "--seed"),
        (["bank", "frob"], "frob"),
        (["stats", "--frob"], "--frob"),
        (["grade", "--timeout", "-1"], "--timeout"),
    ],
)
def test_a_mistyped_command_line_is_one_line_exit_2(args, named):
    """Click words these its own way; the line must name what was wrong and where to look."""
    result = attnquiz(*args, stdin="")
    assert result.returncode == 2
    assert named in result.stderr and "--help" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "1e300", "nan", "0", "-1", "0.5", "3601"])
def test_grade_timeout_outside_its_range_is_a_usage_error(value):
    result = attnquiz("grade", "attention", "--timeout", value, stdin="")
    assert result.returncode == 2, result.stdout + result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "--timeout" in line and "1" in line and "3600" in line, line
    assert "Traceback" not in result.stdout + result.stderr


def test_no_arguments_shows_the_help():
    result = attnquiz()
    assert result.returncode == 0 and "Quiz yourself" in result.stdout
    assert result.stdout.count("Usage:") == 1, "the help must be printed once"


def test_the_readme_scripted_example_answers_correctly(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = next(line for line in readme.splitlines() if line.startswith("printf ") and "| attnquiz ask" in line)
    command = example.replace("| attnquiz ", f"| {sys.executable} -m attnquiz ")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, env={**os.environ, "ATTNQUIZ_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "✓ Correct" in result.stdout and "1/1  100%" in result.stdout


SHUFFLED = Path(__file__).parent / "data-shuffle"


def _shown(qid: str, seed: int):
    question = next(q for q in check_bank([SHUFFLED])[0] if q.id == qid)
    return presented([question], seed)[0]


@pytest.mark.parametrize("lang, reason", [("en", "ReLU keeps scores unnormalised"), ("zh", "ReLU 不做归一化")])
def test_a_wrong_pick_is_told_why_it_is_wrong(lang, reason):
    line = _letters(_shown("shuffle.single", 3), "{ReLU}")
    result = attnquiz("ask", "--bank", str(SHUFFLED), "--id", "shuffle.single", "--seed", "3", "--lang", lang, stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    assert reason in result.stdout and ("Not quite" in result.stdout or "不对" in result.stdout)


def test_multiple_answers_say_which_picks_were_wrong_and_which_were_missed():
    shown = _shown("shuffle.multi", 4)
    line = _letters(shown, "{queries},{the softmax temperature}")
    result = attnquiz("ask", "--bank", str(SHUFFLED), "--id", "shuffle.multi", "--seed", "4", "--lang", "en", stdin=line + "\n")
    out = " ".join(result.stdout.split())
    wrong = _letters(shown, "{the softmax temperature}")
    missed = ", ".join(sorted(_letters(shown, "{keys}") + _letters(shown, "{values}")))
    assert f"Not right: {wrong}" in out and f"Missed: {missed}" in out, out
    assert "The scale 1/√d_k is fixed, not projected." in out


@pytest.mark.parametrize(
    "typed, said",
    [("2101248", "You typed 2,101,248: twice the answer"), ("8*1050624", "bits vs bytes"), ("1050625", "You typed 1,050,625")],
)
def test_a_wrong_number_is_repeated_and_related_to_the_answer(typed, said):
    result = attnquiz("ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "en", stdin=typed + "\n")
    out = " ".join(result.stdout.split())
    assert said in out, out
    if typed == "1050625":
        assert "twice" not in out and "bits" not in out  # nothing to say about an unrelated slip


def test_weak_drills_the_weakest_answered_questions_first(tmp_path):
    env = {"ATTNQUIZ_HOME": str(tmp_path / "home")}
    first = {"ATTNQUIZ_NOW": "2026-03-02T08:00:00Z", **env}
    assert attnquiz("ask", "--bank", str(DATA), "--id", "sample.numeric", "--lang", "en", stdin="1050624\n", env=first).returncode == 0
    assert attnquiz("ask", "--bank", str(DATA), "--id", "sample.single", "--lang", "en", stdin="a\n", env=first).returncode == 0
    later = {"ATTNQUIZ_NOW": "2026-03-02T09:00:00Z", **env}
    weak = attnquiz("ask", *SAMPLE_ARGS, "--weak", "--lang", "en", stdin="", env=later).stdout
    assert "Question 1/2 · sample · single choice" in weak, weak[:400]  # the one answered wrong comes first
    one = attnquiz("ask", *SAMPLE_ARGS, "--weak", "--count", "1", "--lang", "en", stdin="", env=later).stdout
    assert "Question 1/1 · sample · single choice" in one
    fresh = attnquiz("ask", *SAMPLE_ARGS, "--weak", "--lang", "en", stdin="", env={"ATTNQUIZ_HOME": str(tmp_path / "new")})
    assert fresh.returncode == 0 and "--weak drills questions you have answered" in fresh.stdout


def test_next_reviews_names_every_group_or_says_it_goes_on():
    from datetime import datetime, timedelta, timezone

    from rich.console import Console

    from attnquiz import render

    at = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
    bank = Bank(SAMPLE)
    ids = [q.id for q in SAMPLE]
    for n_groups, ends_open in ((3, False), (6, True)):
        offsets = [timedelta(minutes=2), timedelta(hours=3), timedelta(days=2), timedelta(days=5), timedelta(days=12), timedelta(days=40)]
        dues = {qid: at + offsets[i] for i, qid in enumerate(ids[:n_groups])}
        console = Console(record=True, width=200)
        render.next_reviews(console, dues, bank, at, "en")
        line = console.export_text().strip()
        assert line.startswith("Next reviews:") and line.endswith("…") == ends_open, line
        assert line.count("due") == min(n_groups, render.NEXT_REVIEW_GROUPS), line
