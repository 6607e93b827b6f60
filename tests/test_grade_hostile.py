"""The grader survives the learner's code: loops, exits, crashes, floods, tampering, shortcuts.

Cases that leave the child alive share ONE grading subprocess; the ones that kill or hang it
(os._exit, infinite loops) get their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from attnquiz import grader, katas

KATA = katas.load_kata("attention")
REFERENCE = KATA.reference.read_text(encoding="utf-8")
BODY = "    d_k = q.size(-1)\n"


def _inside(code: str) -> str:
    """The reference with CODE run at the start of every call."""
    assert REFERENCE.count(BODY) == 1
    return REFERENCE.replace(BODY, "".join(f"    {line}\n" for line in code.splitlines()) + BODY)


def _at_import(code: str) -> str:
    return REFERENCE + "\n" + code + "\n"


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name / "attention.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    return path


def _failed(result, name):
    return next(c for c in result.checks if c.name == name)


SURVIVABLE = {
    "good": REFERENCE,
    "exit_call": _inside("import sys; sys.exit(0)"),
    "exit_import": _at_import("import sys; sys.exit(0)"),
    "kbd_call": _inside("raise KeyboardInterrupt"),
    "kbd_import": _at_import("raise KeyboardInterrupt"),
    "crash_import": _at_import("1 / 0"),
    "missing": "import torch\n\n\ndef attention(q, k, v, mask=None):\n    return q, q\n",
    "tamper_import": _at_import("torch.allclose = lambda *a, **k: True\ntorch.Tensor.__sub__ = lambda a, b: a * 0").replace(
        "/ math.sqrt(d_k)", ""
    ),
    "tamper_call": _inside("setattr(torch, 'allclose', lambda *a, **k: True)"),
    "forbidden_runtime": (
        "import importlib\n\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    f = getattr(importlib.import_module('torch.nn.fun' + 'ctional'), 'scaled_dot_' + 'product_attention')\n"
        "    out = f(q, k, v, attn_mask=mask)\n    return out, out\n"
    ),
    "import_attnquiz_dynamic": _at_import("__import__('attn' + 'quiz')"),
    "forged_report": _at_import(
        "import json, pathlib, sys\n"
        "spec = json.loads(pathlib.Path(sys.argv[1]).read_text())\n"
        "sys.stdin.read()\n"
        "with open(spec['report'], 'a') as fh:\n"
        "    for c in spec['candidates']:\n"
        "        for name in ['loads', *spec['tests'], 'no_tampering']:\n"
        "            fh.write(json.dumps({'kind': 'check', 'cand': c['id'], 'check': name, 'status': 'passed'}) + '\\n')\n"
        "        fh.write(json.dumps({'kind': 'done', 'cand': c['id']}) + '\\n')\n"
    ).replace("/ math.sqrt(d_k)", ""),
    "flood": _at_import("import sys\nfor _ in range(40): sys.stdout.write('x' * 1_000_000)"),
}


@pytest.fixture(scope="module")
def survivable(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    files = [_write(tmp, name, source) for name, source in SURVIVABLE.items()]
    started = time.monotonic()
    results = grader.grade_many(KATA, files, timeout=120)
    return dict(zip(SURVIVABLE, results)), time.monotonic() - started


def test_good_file_passes_among_hostile_ones(survivable):
    results, _ = survivable
    assert results["good"].passed


def test_no_hostile_file_passes(survivable):
    results, _ = survivable
    passing = [name for name, r in results.items() if r.passed and name not in ("good", "flood")]
    assert passing == []


def test_sys_exit_and_keyboard_interrupt_are_failures(survivable):
    results, _ = survivable
    assert "SystemExit" in _failed(results["exit_call"], "shapes").message
    assert "KeyboardInterrupt" in _failed(results["kbd_call"], "shapes").message
    assert "sys.exit" in _failed(results["exit_import"], "loads").message
    assert "KeyboardInterrupt" in _failed(results["kbd_import"], "loads").message
    crash = _failed(results["crash_import"], "loads")
    assert crash.status == "failed" and "ZeroDivisionError" in crash.message and "line" in crash.message
    assert _failed(results["crash_import"], "shapes").message == "not run: the file did not load"


def test_missing_symbol_is_named(survivable):
    results, _ = survivable
    check = _failed(results["missing"], "loads")
    assert check.status == "failed" and "scaled_dot_product_attention" in check.message


def test_monkeypatching_cannot_turn_a_wrong_answer_into_a_pass(survivable):
    results, _ = survivable
    for name in ("tamper_import", "tamper_call"):
        tamper = _failed(results[name], "no_tampering")
        assert tamper.status == "failed" and "torch.allclose" in tamper.message
    assert not _failed(results["tamper_import"], "values_float64").passed  # the wrong value is still caught


def test_forbidden_call_at_runtime_and_attnquiz_import(survivable):
    results, _ = survivable
    check = _failed(results["forbidden_runtime"], "no_forbidden_calls")
    assert check.status == "failed" and "scaled_dot_product_attention" in check.message
    assert "attnquiz is forbidden" in _failed(results["import_attnquiz_dynamic"], "loads").message


def test_forged_report_lines_are_ignored(survivable):
    results, _ = survivable
    assert _failed(results["forged_report"], "values_float64").status == "failed"
    assert results["good"].passed  # the forger wrote "passed" for every candidate: ignored


def test_stdout_flood_is_drained_not_failed(survivable):
    results, _ = survivable
    assert results["flood"].passed  # 40 MB of prints: drained with a cap, grading goes on


@pytest.mark.parametrize(
    "source, message",
    [
        ("import torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None)\n    return q\n", "line 3"),
        ("import torch.nn.functional as F\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
         "    return F.scaled_dot_product_attention(q, k, v), None\n", "torch.nn.functional.scaled_dot_product_attention"),
        ("from torch.nn import MultiheadAttention as M\n", "torch.nn.MultiheadAttention"),
        ("import attnquiz.katas\n", "imports attnquiz"),
        ("import torch.nn.functional as F\nf = getattr(F, 'scaled_dot_product_attention')\n", "getattr"),
    ],
    ids=["syntax", "forbidden_sdpa", "forbidden_mha_alias", "imports_attnquiz", "getattr"],
)
def test_static_checks_fail_without_running(tmp_path, source, message):
    path = tmp_path / "attention.py"
    path.write_text(source, encoding="utf-8")
    started = time.monotonic()
    result = grader.grade(KATA, path)
    assert time.monotonic() - started < 1.0, "static failures must not start torch"
    assert not result.passed
    assert any(message in c.message for c in result.checks if c.status == "failed")
    assert [c.name for c in result.checks] == grader.expected_checks(KATA)


@pytest.mark.parametrize("where", ["call", "import"])
def test_infinite_loop_times_out(tmp_path, where):
    source = _inside("while True: pass") if where == "call" else _at_import("while True: pass")
    path = _write(tmp_path, "loop", source)
    started = time.monotonic()
    result = grader.grade(KATA, path, timeout=8)
    assert time.monotonic() - started < 8 + 4
    assert not result.passed
    first = "shapes" if where == "call" else "loads"
    check = _failed(result, first)
    assert check.status == "timeout" and "8 s" in check.message
    assert _failed(result, "no_tampering").status == "timeout"


@pytest.mark.parametrize("where", ["call", "import"])
def test_os_exit_is_never_a_pass(tmp_path, where):
    source = _inside("import os; os._exit(0)") if where == "call" else _at_import("import os; os._exit(0)")
    result = grader.grade(KATA, _write(tmp_path, "osexit", source))
    assert not result.passed
    assert any("os._exit" in c.message for c in result.checks if c.status == "error")


def test_grandchildren_are_killed_with_the_group(tmp_path):
    marker = tmp_path / "heartbeat"
    beat = f"import time, pathlib\nwhile True: pathlib.Path({str(marker)!r}).write_text(str(time.time())); time.sleep(0.1)"
    spawn = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {beat!r}])\nwhile True: pass"
    grader.grade(KATA, _write(tmp_path, "spawner", _at_import(spawn)), timeout=10)
    assert marker.exists(), "the learner's helper process never started"
    killed_at = time.time()
    time.sleep(1.0)
    assert float(marker.read_text() or 0) <= killed_at, "a process started by the learner's code outlived the time limit"


def test_grader_cli_never_shows_a_traceback(tmp_path):
    path = _write(tmp_path, "crash", _at_import("raise RuntimeError('boom')"))
    proc = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(path), "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["passed"] is False and "boom" in data["checks"][2]["message"]
