"""The grading pieces on their own: the CLI's reading of the judge's report, remote errors, the
sandbox switch, the worker's view of the file system. Hostile learner files: test_grade_hostile.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from attnquiz import grading, katas
from attnquiz.grading import proxy, runner, sandbox

KATA = katas.load_kata("attention")
TOKEN = "t0k3n"


def _line(**record) -> bytes:
    return (json.dumps({**record, "token": TOKEN}) + "\n").encode()


def test_report_lines_need_the_token_and_a_known_shape():
    good = _line(kind="check", cand="c0", check="shapes", status="passed", message="")
    assert runner.parse_report(good, TOKEN).candidates["c0"]["checks"]["shapes"] == ("passed", "")
    for bad in (
        good.replace(TOKEN.encode(), b"forged"),
        _line(kind="check", cand="c0", check="shapes", status="PASSED"),
        _line(kind="check", cand="../c0", check="shapes", status="passed"),
        b"not json at all\n",
        b"[1, 2, 3]\n",
    ):
        report = runner.parse_report(bad, TOKEN)
        assert report.malformed, bad
        assert "shapes" not in report.candidates.get("c0", {}).get("checks", {}), bad


def test_a_malformed_or_oversized_report_fails_every_judged_check():
    outcome = runner.JudgeOutcome(returncode=0, timed_out=False, tail="")
    report = runner.parse_report(_line(kind="check", cand="c0", check="loads", status="passed") + b"junk\n", TOKEN)
    checks = runner._judged_checks(report.candidates["c0"], ["shapes"], outcome, 60, report.malformed)
    assert [c.status for c in checks] == ["error", "error", "error"]
    assert all("grading failed" in c.message for c in checks)
    huge = runner.parse_report(b"", TOKEN, overflow=True)
    assert "larger than" in huge.malformed


def test_report_text_loses_every_control_character():
    nasty = "\x1b[2J\x1b[32mAll checks passed\x1b[0m\r\x07\u202e\x9b31m"
    report = runner.parse_report(
        _line(kind="check", cand="c0", check="shapes", status="failed", message=nasty)
        + _line(kind="diagnosis", cand="c0", items=[{"mistake": "m\x1b", "title": "t\r", "fix": "f\x07", "full": True}])
        + _line(kind="showcase", cand="c0", text="ok\x1b[31m\nnext line"),
        TOKEN,
    )
    rep = report.candidates["c0"]
    texts = [rep["checks"]["shapes"][1], *rep["diagnosis"][0].values(), rep["showcase"].replace("\n", "")]
    for text in texts:
        if isinstance(text, str):
            assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in text), repr(text)
    assert "All checks passed" in rep["checks"]["shapes"][1]  # the words stay, the escapes go


def test_remote_errors_are_the_builtin_exception_of_the_same_name():
    err = proxy.remote_error("ValueError", "3 heads do not divide 10", 12)
    assert isinstance(err, ValueError) and isinstance(err, proxy.RemoteError)
    assert "line 12" in str(err) and err.remote_type == "ValueError"
    for kind in ("MemoryError", "OSError", "UnicodeDecodeError"):  # builtins with constructors of their own
        err = proxy.remote_error(kind, "x", 3)
        assert isinstance(err, proxy.RemoteError) and err.remote_type == kind and "line 3" in str(err)
    assert isinstance(proxy.remote_error("MemoryError", "x", None), MemoryError)
    for kind in ("SystemExit", "KeyboardInterrupt", "AssertionError", "Skipped", "NoSuchError"):
        err = proxy.remote_error(kind, "x", None)
        assert type(err).__mro__[1:] == (proxy.RemoteError, Exception, BaseException, object), kind
        assert err.remote_type == kind


def test_grading_without_the_sandbox_says_so_once(monkeypatch):
    monkeypatch.setenv("ATTNQUIZ_SANDBOX", "off")
    result = grading.grade(KATA, KATA.reference, timeout=120)
    assert result.passed
    assert len(result.notices) == 1 and "not confined" in result.notices[0]
    cli = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(KATA.reference)],
        capture_output=True, text=True, timeout=120, env=os.environ,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stderr.count("not confined") == 1


def test_the_sandboxed_worker_grades_without_a_notice():
    if sandbox.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    result = grading.grade(KATA, KATA.reference, timeout=120)
    assert result.passed and result.notices == []


def test_memory_below_what_torch_needs_is_a_usage_error():
    cli = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(KATA.reference), "--memory", "512"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 2 and "--memory" in cli.stderr and len(cli.stderr.strip().splitlines()) == 1


def test_in_place_changes_to_the_inputs_never_reach_the_reference(tmp_path):
    """Zeroing q, k and v in place and returning what the reference gives for zeros: the judge
    calls the reference on its own tensors, which the worker only ever saw copies of."""
    path = tmp_path / "attention.py"
    path.write_text(
        "import torch\n\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    for t in (q, k, v):\n        t.zero_()\n"
        "    w = torch.full(q.shape[:-1] + (k.shape[-2],), 1.0 / k.shape[-2], dtype=q.dtype)\n"
        "    return w @ v, w\n",
        encoding="utf-8",
    )
    result = grading.grade(KATA, path, timeout=120)
    assert not result.passed
    assert next(c for c in result.checks if c.name == "values_float64").status == "failed"


def test_a_forbidden_tensor_method_is_caught_statically_and_at_run_time(tmp_path):
    """A kata may forbid `torch.Tensor.softmax`: `x.softmax(-1)` names no torch function."""
    import dataclasses

    kata = dataclasses.replace(KATA, forbidden=(*KATA.forbidden, "torch.Tensor.softmax"))
    plain = "import torch\n\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n    w = (q @ k.transpose(-2, -1)).softmax(-1)\n    return w @ v, w\n"
    found = grading.forbidden_uses(__import__("ast").parse(plain), kata.forbidden)
    assert any(".softmax()" in f for f in found), found
    hidden = plain.replace("(q @ k.transpose(-2, -1)).softmax(-1)", "getattr(q @ k.transpose(-2, -1), 'soft' + 'max')(-1)")
    path = tmp_path / "attention.py"
    path.write_text(hidden, encoding="utf-8")
    result = grading.grade(kata, path, timeout=120)
    check = next(c for c in result.checks if c.name == "no_forbidden_calls")
    assert not result.passed and check.status == "failed" and "torch.Tensor.softmax" in check.message, check


def test_a_comparison_message_points_at_a_real_difference_not_at_matching_infinities():
    import torch

    from attnquiz.grading.suite import Helpers

    with pytest.raises(AssertionError) as info:
        Helpers().close(torch.tensor([float("-inf"), 1.0]), torch.tensor([float("-inf"), 2.0]), "log-probabilities")
    assert "at index (1,)" in str(info.value) and "differs from the reference by 1" in str(info.value), info.value
