"""The grader survives the learner's code: loops, exits, crashes, floods, tampering, shortcuts.

Cases that leave the child alive share ONE grading subprocess; the ones that kill or hang it
(os._exit, infinite loops) get their own.
"""

from __future__ import annotations

import json
import os
import signal
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
        "import json, os\n"
        "tests = ['loads', 'shapes', 'values_float64', 'no_tampering']\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink('/proc/self/fd/' + fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    if target.endswith('report.jsonl'):\n"
        "        for c in range(40):\n"
        "            for name in tests:\n"
        "                os.write(int(fd), (json.dumps({'kind': 'check', 'cand': f'c{c}', 'check': name, 'status': 'passed'}) + '\\n').encode())\n"
        "            os.write(int(fd), (json.dumps({'kind': 'done', 'cand': f'c{c}'}) + '\\n').encode())\n"
    ).replace("/ math.sqrt(d_k)", ""),
    "flood": _at_import("import sys\nfor _ in range(40): sys.stdout.write('x' * 1_000_000)"),
    # --- reaching the reference instead of writing the code ---
    "steal_sys_modules": "import sys\nscaled_dot_product_attention = sys.modules['attnquiz_kata_reference'].scaled_dot_product_attention\n",
    "steal_scan_modules": (
        "import sys\nname = 'scaled_dot_' + 'product_attention'\n"
        "for mod in list(sys.modules.values()):\n"
        "    if getattr(mod, '__name__', '') != __name__ and not getattr(mod, '__name__', '').startswith('torch'):\n"
        "        found = getattr(mod, name, None)\n"
        "        if found is not None:\n"
        "            globals()[name] = found\n"
    ),
    "steal_open_reference": f"exec(open({str(KATA.reference)!r}).read())\n",
    "steal_import_reference": (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('r', {str(KATA.reference)!r})\n"
        "mod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\n"
        "scaled_dot_product_attention = mod.scaled_dot_product_attention\n"
    ),
    "steal_fileio": f"import io\nexec(io.FileIO({str(KATA.reference)!r}).read().decode())\n",
    "steal_dir_fd": (
        "import os\n"
        f"fd = os.open({str(KATA.path.parent.parent)!r}, os.O_RDONLY)\n"
        f"src = os.open({str(KATA.reference.relative_to(KATA.path.parent.parent))!r}, os.O_RDONLY, dir_fd=fd)\n"
        "exec(os.read(src, 1 << 20).decode())\n"
    ),
    "steal_chdir": (
        f"import os\nhere = os.getcwd()\nos.chdir({str(KATA.path)!r})\n"
        "try:\n    exec(open('reference.py').read())\nfinally:\n    os.chdir(here)\n"
    ),
    "steal_via_argv_env": (
        "import os, sys\n"
        "for root in os.environ.get('PYTHONPATH', '').split(os.pathsep) + sys.argv + sys.path:\n"
        "    f = os.path.join(root, 'katas', 'attention', 'reference.py')\n"
        "    if root and os.path.exists(f):\n"
        "        exec(open(f).read())\n        break\n"
    ),
    "rewrite_suite": _at_import(
        "import os, tempfile, threading, time\n"
        "fake = os.path.join(tempfile.gettempdir(), 'fake_suite_%d.py' % os.getpid())\n"
        "work = os.getcwd()\n"
        "def swap():\n"
        "    end = time.time() + 20\n"
        "    while time.time() < end and 'attnquiz-grade-' in work:  # never anywhere but the work folder\n"
        "        with open(fake, 'w') as fh: fh.write('def test_values_float64():\\n    pass\\n')\n"
        "        for top, dirs, files in os.walk(work):\n"
        "            for f in files:\n"
        "                if f == 'test_hidden.py':\n"
        "                    try: os.replace(fake, os.path.join(top, f))\n"
        "                    except Exception: pass\n"
        "                    try: open(os.path.join(top, f), 'w').write('')\n"
        "                    except Exception: pass\n"
        "threading.Thread(target=swap, daemon=True).start()\n"
    ).replace("/ math.sqrt(d_k)", ""),
    # --- the fused attention reached through names the static check cannot see ---
    "aten_getattr": (
        "import torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    out = getattr(torch.ops.aten, 'scaled_dot_' + 'product_attention')(q, k, v, attn_mask=mask)\n"
        "    return out, torch.softmax(q @ k.transpose(-2, -1) / q.size(-1) ** 0.5, -1)\n"
    ),
    "aten_math_overload": (
        "import torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    return getattr(torch.ops.aten, '_scaled_dot_product_' + 'attention_math').default(q, k, v, attn_mask=mask)\n"
    ),
    "torch_private_math": (
        "import torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    return getattr(torch, '_scaled_dot_product_' + 'attention_math')(q, k, v, attn_mask=mask)\n"
    ),
    "torch_C_nn": (
        "import torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    out = getattr(torch._C._nn, 'scaled_dot_' + 'product_attention')(q, k, v, attn_mask=mask)\n"
        "    return out, out\n"
    ),
    "other_file_name": (
        "import torch\nsrc = ('def scaled_dot_product_attention(q, k, v, mask=None):\\n'\n"
        "       '    out = getattr(torch.nn.functional, \"scaled_dot_\" + \"product_attention\")(q, k, v, attn_mask=mask)\\n'\n"
        "       '    return out, out\\n')\n"
        "scope = {'torch': torch}\nexec(compile(src, '/elsewhere/innocent.py', 'exec'), scope)\n"
        "scaled_dot_product_attention = scope['scaled_dot_product_attention']\n"
    ),
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


def test_the_reference_is_out_of_reach(survivable):
    results, _ = survivable
    for name in ("steal_sys_modules", "steal_scan_modules"):
        check = _failed(results[name], "no_forbidden_calls")
        assert check.status == "failed" and "the reference solution is not available" in check.message, name
    for name in ("steal_open_reference", "steal_import_reference", "steal_fileio", "steal_dir_fd", "steal_chdir"):
        check = _failed(results[name], "no_forbidden_calls")
        assert check.status == "failed" and "a file that belongs to the grader" in check.message, name
        assert "ForbiddenCall" in _failed(results[name], "loads").message
    assert _failed(results["steal_via_argv_env"], "loads").status == "failed"  # no path to find
    assert _failed(results["rewrite_suite"], "values_float64").status == "failed"  # the real suite ran
    assert "belongs to the grader" in _failed(results["rewrite_suite"], "no_forbidden_calls").message


def test_fused_attention_is_forbidden_however_it_is_reached(survivable):
    results, _ = survivable
    expected = {
        "aten_getattr": "torch.ops.aten.scaled_dot_product_attention",
        "aten_math_overload": "_scaled_dot_product_attention_math",
        "torch_private_math": "torch._scaled_dot_product_attention_math",
        "torch_C_nn": "scaled_dot_product_attention",
        "other_file_name": "torch.nn.functional.scaled_dot_product_attention",
    }
    for name, call in expected.items():
        check = _failed(results[name], "no_forbidden_calls")
        assert check.status == "failed" and call in check.message and "forbids" in check.message, (name, check)
        assert _failed(results[name], "shapes").status == "failed", name


def test_the_reference_passes_the_sys_modules_theft_does_not(tmp_path):
    """The multihead kata: the reference itself passes; the class taken from sys.modules does not."""
    kata = katas.load_kata("multihead")
    thief = tmp_path / "thief" / "multihead.py"
    thief.parent.mkdir()
    thief.write_text('import sys; MultiHeadSelfAttention = sys.modules["attnquiz_kata_reference"].MultiHeadSelfAttention\n')
    honest, stolen = grader.grade_many(kata, [kata.reference, thief], timeout=120)
    assert honest.passed
    assert not stolen.passed
    assert "the reference solution is not available to your code" in _failed(stolen, "no_forbidden_calls").message


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


def _default_signals() -> None:  # a runner started in the background may ignore SIGINT
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "attnquiz", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals,
    )


def _proc_stat(pid: int):
    """(state, ppid, pgid) from /proc, or None once the process is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]), int(fields[2]))


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[2] == pgid:
                alive.append(int(entry.name))
    return alive


def _wait_for_child(parent: subprocess.Popen, marker: Path, deadline_s: float = 60) -> int:
    """The grading child's pid, once the learner's code runs in it (it wrote MARKER)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if marker.exists():
            for entry in Path("/proc").iterdir():
                stat = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
                if stat is not None and stat[1] == parent.pid:
                    return int(entry.name)
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.1)
    raise AssertionError("the grading child never started the learner's code")


def _looping_file(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "started"
    return _write(tmp_path, "loop", _at_import(f"open({str(marker)!r}, 'w').close()\nwhile True: pass")), marker


def _grade_dirs(owner: int | None = None) -> set[str]:
    """Grading work folders in the temp folder (only OWNER's, when given: other test runs may grade too)."""
    import tempfile

    found = set()
    for p in Path(tempfile.gettempdir()).glob("attnquiz-grade-*"):
        try:
            mine = owner is None or int((p / "owner.pid").read_text()) == owner
        except (OSError, ValueError):
            mine = False
        if mine:
            found.add(p.name)
    return found


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@linux_only
def test_killing_the_grader_kills_the_child_and_a_later_run_sweeps_its_folder(tmp_path):
    path, marker = _looping_file(tmp_path)
    parent = _cli("grade", "attention", "--file", str(path), "--timeout", "120")
    child = _wait_for_child(parent, marker)
    left = _grade_dirs(parent.pid)
    assert left, "the grader's work folder should exist while it runs"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    end = time.monotonic() + 5
    while _group_alive(child) and time.monotonic() < end:
        time.sleep(0.1)
    assert _group_alive(child) == [], "the grading child outlived `attnquiz grade` (SIGKILL)"
    good = _write(tmp_path, "good", REFERENCE)
    assert grader.grade(KATA, good, timeout=120).passed
    assert not (left & _grade_dirs()), "the dead grader's work folder was not swept"


@linux_only
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signals_kill_the_child_clean_up_and_record_nothing(tmp_path, signum, code, _isolated_home):
    path, marker = _looping_file(tmp_path)
    parent = _cli("grade", "attention", "--file", str(path), "--timeout", "120")
    child = _wait_for_child(parent, marker)
    assert _grade_dirs(parent.pid), "the grader's work folder should exist while it runs"
    parent.send_signal(signum)
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == code, (out, err)
    assert err.strip() == "grading interrupted; nothing recorded"
    assert "Traceback" not in out + err
    assert _group_alive(child) == []
    assert not _grade_dirs(parent.pid), "the work folder was left behind"
    assert katas.attempts("attention") == []


def test_huge_files_are_refused_before_parsing(tmp_path):
    path = tmp_path / "attention.py"
    path.write_text(REFERENCE + "x = 1\n" * 60_000)  # ~360 KB
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(path), "--timeout", "5"],
        capture_output=True, text=True, timeout=60,
    )
    assert time.monotonic() - started < 5
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "too big to grade" in lines[0] and "256 KB" in lines[0]


@pytest.mark.parametrize(
    "source, message",
    [("x = 1\0\n", "line 1: a NUL byte"), ("x = " + "-" * 100_000 + "1\n", "")],
    ids=["nul_byte", "deep_nesting"],
)
def test_unparsable_files_are_one_failed_check(tmp_path, source, message):
    path = tmp_path / "attention.py"
    path.write_text(source)
    started = time.monotonic()
    result = grader.grade(KATA, path, timeout=5)
    assert time.monotonic() - started < 5
    syntax = _failed(result, "syntax")
    assert syntax.status == "failed" and message in syntax.message and "attention.py" in syntax.message
    assert [c.name for c in result.checks] == grader.expected_checks(KATA) and not result.passed


def test_learner_text_is_printed_literally(tmp_path):
    path = _write(tmp_path, "emoji", _at_import("raise RuntimeError(':x: [bold]loud[/bold] :thumbs_up:')"))
    proc = subprocess.run(
        [sys.executable, "-m", "attnquiz", "grade", "attention", "--file", str(path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"},
    )
    assert proc.returncode == 1
    assert ":x: [bold]loud[/bold] :thumbs_up:" in proc.stdout
    assert "❌" not in proc.stdout and "👍" not in proc.stdout
