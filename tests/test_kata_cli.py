"""The kata commands: CliRunner for the happy path, a real subprocess for exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attnquiz import katas
from attnquiz.cli import app

runner = CliRunner()


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "attnquiz", *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=os.environ
    )


def test_kata_lists_every_kata_with_status():
    result = runner.invoke(app, ["kata"], catch_exceptions=False)
    assert result.exit_code == 0
    for name in katas.kata_names():
        assert name in result.output
    assert "new" in result.output


def test_kata_name_creates_workspace_and_says_what_next(tmp_path):
    result = runner.invoke(app, ["kata", "attention", "--dir", str(tmp_path / "ws")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ws = tmp_path / "ws"
    assert (ws / "attention.py").read_text() == katas.load_kata("attention").starter.read_text()
    assert (ws / "TASK.md").is_file() and (ws / "test_attention_sample.py").is_file()
    assert "attnquiz grade" in result.output
    assert katas.status("attention") == "started"


def test_grade_happy_path_json_and_status(tmp_path, monkeypatch):
    kata = katas.load_kata("multihead")
    runner.invoke(app, ["kata", "multihead", "--dir", str(tmp_path)], catch_exceptions=False)
    (tmp_path / "multihead.py").write_text(kata.reference.read_text())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["grade", "--json"], catch_exceptions=False)  # the workspace's kata
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kata"] == "multihead" and data["passed"] is True
    assert {c["status"] for c in data["checks"]} == {"passed"}
    assert katas.status("multihead") == "passed"
    attempt = katas.attempts("multihead")[-1]
    assert attempt.passed and attempt.checks_passed == attempt.checks_total == len(data["checks"])
    shown = runner.invoke(app, ["solution", "multihead"], catch_exceptions=False)
    assert shown.exit_code == 0 and "class MultiHeadSelfAttention" in shown.output


def test_generator_pass_shows_generated_text(tmp_path):
    kata = katas.load_kata("generator")
    path = tmp_path / "generator.py"
    path.write_text(kata.reference.read_text())
    result = runner.invoke(app, ["grade", "generator", "--file", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "kata passed" in result.output
    sample = result.output.split("trained on the project's text:")[1]
    words = [w for w in sample.split() if w.isalpha()]
    assert sample.strip().startswith("Attention") and len(words) > 20


def test_exit_codes_in_a_real_process(tmp_path):
    unknown = _run("grade", "nosuchkata", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "unknown kata 'nosuchkata'" in unknown.stderr and "attention" in unknown.stderr
    missing = _run("grade", "attention", "--file", str(tmp_path / "nope.py"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.py" in missing.stderr and "--file" in missing.stderr
    nothing = _run("grade", cwd=tmp_path)
    assert nothing.returncode == 2 and "attnquiz kata NAME" in nothing.stderr
    assert _run("kata", "attention", "--dir", "ws", cwd=tmp_path).returncode == 0
    failing = _run("grade", "--json", cwd=tmp_path / "ws")  # the untouched starter
    assert failing.returncode == 1
    data = json.loads(failing.stdout)
    assert data["passed"] is False and any(c["status"] == "failed" for c in data["checks"])
    for proc in (unknown, missing, nothing, failing):
        assert "Traceback" not in proc.stdout + proc.stderr


def test_grade_without_name_uses_the_last_started_kata(tmp_path, monkeypatch):
    runner.invoke(app, ["kata", "attention", "--dir", str(tmp_path / "ws")], catch_exceptions=False)
    (tmp_path / "ws" / "attention.py").write_text("def broken(:\n")
    monkeypatch.chdir(tmp_path)  # not inside the workspace
    result = runner.invoke(app, ["grade"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "attention" in result.output and "SyntaxError" in result.output and "line 1" in result.output


def test_grading_without_torch_says_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    path = tmp_path / "attention.py"
    path.write_text("x = 1\n")
    result = runner.invoke(app, ["grade", "attention", "--file", str(path)])
    assert result.exit_code == 2
    assert "grading needs torch" in result.output and "pip install torch pytest" in result.output


def test_hints_progress_and_stop_at_the_last(tmp_path):
    kata = katas.load_kata("attention")
    outputs = [runner.invoke(app, ["hint", "attention"], catch_exceptions=False).output for _ in kata.hints]
    for number, (out, hint) in enumerate(zip(outputs, kata.hints), start=1):
        assert f"Hint {number}/{len(kata.hints)}" in out
    assert "last hint" in outputs[-1]
    again = runner.invoke(app, ["hint", "attention"], catch_exceptions=False).output
    assert f"Hint {len(kata.hints)}/{len(kata.hints)}" in again
    assert katas.progress("attention")["hints_shown"] == len(kata.hints)


def test_hint_without_a_kata_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["hint"])
    assert result.exit_code == 2


def test_solution_is_gated_until_passed_or_give_up():
    locked = runner.invoke(app, ["solution", "attention"])
    assert locked.exit_code == 2
    assert "def scaled_dot_product_attention" not in locked.output
    shown = runner.invoke(app, ["solution", "attention", "--give-up"], catch_exceptions=False)
    assert shown.exit_code == 0 and "def scaled_dot_product_attention" in shown.output


def test_cli_and_core_do_not_import_torch(tmp_path):
    code = (
        "import sys, attnquiz.cli, attnquiz.katas, attnquiz.grading; "
        "from attnquiz.cli import app; "
        "assert 'torch' not in sys.modules and 'pytest' not in sys.modules, 'heavy import at start-up'"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=60).returncode == 0
    helped = _run("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "grade" in helped.stdout and "kata" in helped.stdout


@pytest.mark.parametrize("module", ["attnquiz.katas", "attnquiz.failures", "attnquiz.grading", "attnquiz.grading.runner", "attnquiz.grading.sandbox", "attnquiz.grading.procs", "attnquiz.grading.watch", "attnquiz.grading.zygote"])
def test_core_modules_import_no_cli_libraries(module):
    source = Path(__import__(module, fromlist=["_"]).__file__).read_text()
    for banned in ("import typer", "import rich", "from rich", "import torch"):
        assert banned not in source


def test_kata_refuses_another_katas_workspace(tmp_path):
    assert _run("kata", "attention", "--dir", "ws", cwd=tmp_path).returncode == 0
    other = _run("kata", "multihead", "--dir", "ws", cwd=tmp_path)
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    assert "workspace of kata 'attention'" in other.stderr and "--dir" in other.stderr
    assert json.loads((tmp_path / "ws" / katas.MARKER).read_text())["kata"] == "attention"


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_hints_titles_and_fixes_come_in_chinese_with_lang_zh(tmp_path):
    listing = _run("kata", "--lang", "zh", cwd=tmp_path)
    assert listing.returncode == 0 and _has_chinese(listing.stdout)
    hint = _run("hint", "attention", "--lang", "zh", cwd=tmp_path)
    assert hint.returncode == 0 and _has_chinese(hint.stdout), hint.stdout
    kata = katas.load_kata("multihead")
    mistake = next(m for m in katas.load_mistakes(kata.path) if m.name == "missing_out_proj")
    wrong = tmp_path / "multihead.py"
    wrong.write_text(mistake.apply(kata.reference.read_text(encoding="utf-8")), encoding="utf-8")
    graded = _run("grade", "multihead", "--file", str(wrong), "--lang", "zh", "--no-sample", cwd=tmp_path)
    assert graded.returncode == 1
    assert "".join(mistake.fix_zh.split()) in "".join(graded.stdout.split()), graded.stdout[-600:]


def test_the_kata_commands_own_lines_follow_lang_zh(tmp_path):
    """The list's headers and statuses, the workspace lines, the hint line and the error lines."""
    listing = _run("kata", "--lang", "zh", cwd=tmp_path)
    assert listing.returncode == 0
    for word in ("名称", "难度", "状态", "未开始", "attnquiz kata NAME"):
        assert word in listing.stdout, word
    assert "status" not in listing.stdout and "difficulty" not in listing.stdout
    created = _run("kata", "attention", "--dir", "ws", "--lang", "zh", cwd=tmp_path)
    assert created.returncode == 0 and "下一步" in created.stdout and "attnquiz grade" in created.stdout
    assert "Next:" not in created.stdout and "Created" not in created.stdout
    again = _run("kata", "attention", "--dir", "ws", "--lang", "zh", cwd=tmp_path)
    assert "已存在" in again.stdout and "attention.py" in again.stdout
    hint = _run("hint", "attention", "--lang", "zh", cwd=tmp_path)
    assert hint.returncode == 0 and "提示 1/" in hint.stdout and "Hint" not in hint.stdout
    listed = _run("kata", "--lang", "zh", cwd=tmp_path)
    assert "进行中" in listed.stdout  # attention is started
    for args, named in (
        (("kata", "nosuchkata"), "nosuchkata"),
        (("solution", "attention"), "--give-up"),
        (("grade", "attention", "--file", str(tmp_path / "nope.py")), "nope.py"),
        (("kata", "multihead", "--dir", "ws"), "attention"),
    ):
        failed = _run(*args, "--lang", "zh", cwd=tmp_path)
        assert failed.returncode == 2 and "Traceback" not in failed.stderr, args
        assert len(failed.stderr.strip().splitlines()) == 1 and named in failed.stderr, failed.stderr
        assert _has_chinese(failed.stderr) and "error" not in failed.stderr, failed.stderr


def test_the_kata_commands_follow_a_chinese_locale(tmp_path):
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "attnquiz", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env
    )
    assert "名称" in run("kata").stdout
    unknown = run("hint", "nosuchkata")
    assert unknown.returncode == 2 and "nosuchkata" in unknown.stderr and _has_chinese(unknown.stderr)
    english = run("hint", "nosuchkata", "--lang", "en")  # --lang wins over the locale
    assert english.returncode == 2 and "unknown kata" in english.stderr and not _has_chinese(english.stderr)
