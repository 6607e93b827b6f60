"""End to end through the console script that `pip install` puts beside this Python, run from a
folder outside the checkout — the way the README installs attnquiz and a learner runs it.

A grading bug once shipped because the suite only ran against the source tree (for a wheel
install the grading child took site-packages off its own path); these tests would have seen it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import attnquiz
from attnquiz import katas

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGE = Path(attnquiz.__file__).resolve().parent
SCRIPT = Path(sys.executable).parent / ("attnquiz.exe" if os.name == "nt" else "attnquiz")


def attnquiz_cli(*args: str, cwd: Path, home: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATTNQUIZ_HOME": str(home), **env_vars}
    env.pop("PYTHONPATH", None)  # what a learner's shell has: nothing pointing into the checkout
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=180)


def test_the_console_script_runs_the_copy_this_suite_imports(outside, tmp_path):
    """Whatever the suite asserts about `attnquiz` holds for what the console script runs."""
    assert SCRIPT.is_file(), f"{SCRIPT} is missing: install attnquiz into this environment (pip install .)"
    probe = subprocess.run(
        [sys.executable, "-c", "import attnquiz, sys; print(attnquiz.__file__)"],
        capture_output=True, text=True, cwd=outside, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert Path(probe.stdout.strip()).resolve().parent == PACKAGE, probe.stdout + probe.stderr
    assert SCRIPT.read_text(encoding="utf-8", errors="replace").startswith("#!"), "not a console script"


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI installs the wheel; a developer may use an editable install")
def test_ci_exercises_the_installed_wheel_not_the_checkout():
    assert PACKAGE != CHECKOUT / "attnquiz", f"the suite imported attnquiz from the checkout ({PACKAGE}), not the wheel"
    assert not (PACKAGE.parent / "pyproject.toml").exists(), f"{PACKAGE} is a source tree, not an installed package"
    assert PACKAGE.parent.name in ("site-packages", "dist-packages"), PACKAGE
    assert (PACKAGE / "_content" / "katas").is_dir()


def test_plan_from_outside_the_checkout_lists_the_bundled_katas_and_questions(outside, tmp_path, monkeypatch):
    """The plan reads the bank and the kata ladder from the installed package's content."""
    from attnquiz.bank import load_bank

    monkeypatch.setenv("ATTNQUIZ_NOW", "2026-03-02T09:00:00Z")
    monkeypatch.setenv("TZ", "UTC")
    result = attnquiz_cli("plan", "--until", "+2d", "--json", cwd=outside, home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["date"] for d in data["days"]] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert [name for d in data["days"] for name in d["katas"]] == [k.name for k in katas.list_katas()]
    assert data["total"]["new"] == len(load_bank().questions)


def _grade(ws: Path, home: Path, source: str, *extra: str, encoding: str = "utf-8") -> tuple[int, dict]:
    (ws / "multihead.py").write_bytes(source.encode(encoding))
    result = attnquiz_cli("grade", "multihead", "--json", "--no-sample", *extra, cwd=ws.parent, home=home)
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"exit {result.returncode}; stdout {result.stdout[-800:]!r}; stderr {result.stderr[-800:]!r}")


@pytest.fixture
def workspace(outside, tmp_path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    result = attnquiz_cli("kata", "multihead", "--dir", "ws", cwd=outside, home=home)
    assert result.returncode == 0, result.stderr
    return outside / "ws", home


REFERENCE = katas.load_kata("multihead").reference.read_text(encoding="utf-8")


def test_a_known_mistake_gets_the_real_comparison_message_and_its_diagnosis(workspace):
    ws, home = workspace
    mistake = next(m for m in katas.load_mistakes(katas.load_kata("multihead").path) if m.name == "merge_without_transpose")
    code, report = _grade(ws, home, mistake.apply(REFERENCE))
    assert code == 1 and report["passed"] is False
    messages = [c["message"] for c in report["checks"] if c["status"] != "passed"]
    assert messages and not any("ModuleNotFoundError" in m or "No module named" in m for m in messages), messages
    assert any("differs from the reference by" in m for m in messages), messages
    assert [d["mistake"] for d in report["diagnosis"]] == ["merge_without_transpose"]


def test_a_correct_solution_that_imports_installed_packages_passes(workspace):
    """numpy is a third-party module; torch.unravel_index imports sympy lazily, inside the call."""
    ws, home = workspace
    source = REFERENCE.replace("import math\n", "import math\n\nimport numpy as np\n", 1).replace(
        "/ math.sqrt(self.head_dim)", "/ float(np.sqrt(self.head_dim))"
    )
    source = source.replace("return self.out_proj(y)", "torch.unravel_index(torch.tensor(3), (2, 2))\n        return self.out_proj(y)")
    assert "np.sqrt" in source and "unravel_index" in source
    code, report = _grade(ws, home, source)
    assert code == 0 and report["passed"] is True, [c for c in report["checks"] if c["status"] != "passed"]
    assert report["recorded"] is True


def test_a_latin1_file_with_its_coding_cookie_is_read_as_python_reads_it(workspace):
    ws, home = workspace
    source = "# -*- coding: latin-1 -*-\n# Déjà vu: à, é, ü — written in Latin-1\n".replace("—", "-") + REFERENCE
    code, report = _grade(ws, home, source, encoding="latin-1")
    assert code == 0 and report["passed"] is True, report["checks"][:3]


def test_a_nul_byte_is_reported_with_its_line(workspace):
    ws, home = workspace
    lines = REFERENCE.splitlines()
    lines[4] += "\0"
    code, report = _grade(ws, home, "\n".join(lines) + "\n")
    assert code == 1
    syntax = next(c for c in report["checks"] if c["name"] == "syntax")
    assert syntax["status"] == "failed" and "line 5" in syntax["message"] and "NUL" in syntax["message"], syntax


def test_an_attempt_that_cannot_be_recorded_says_so_in_the_json_and_the_exit_code(workspace):
    ws, home = workspace
    database = home / "progress.sqlite3"
    database.unlink(missing_ok=True)
    database.mkdir(parents=True)  # a folder where the database file should be: the store cannot open it
    code, report = _grade(ws, home, REFERENCE, "--file", str(ws / "multihead.py"))  # no workspace lookup in the store
    assert report["passed"] is True and report["recorded"] is False
    assert "progress.sqlite3" in report["error"]
    assert code == 2


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_known_mistake_graded_in_chinese_names_each_check_with_its_description(workspace):
    ws, home = workspace
    kata = katas.load_kata("multihead")
    mistake = next(m for m in katas.load_mistakes(kata.path) if m.name == "merge_without_transpose")
    (ws / "multihead.py").write_text(mistake.apply(REFERENCE), encoding="utf-8")
    result = attnquiz_cli("grade", "--lang", "zh", "--no-sample", cwd=ws, home=home)
    assert result.returncode == 1, result.stderr
    out = "".join(result.stdout.split())  # rich wraps long lines: compare without whitespace
    for check in ("syntax", "loads", "shapes", "masks", "no_tampering"):
        assert check in out, check
    for test in ("shapes", "masks", "gradients"):  # each hidden check with what it verifies, in Chinese
        assert "".join(kata.check_text(test, "zh").split()) in out, test
    assert "参考实现" in out and "differs from" not in out  # the grader's comparison message, translated
    assert "".join(mistake.title_zh.split()) in out and "".join(mistake.fix_zh.split()) in out
    assert "attnquizhintmultihead" in out and "checkspassed" not in out and "Fixthefirst" not in out


def test_a_pass_in_a_chinese_locale_and_the_json_stays_english(workspace):
    ws, home = workspace
    (ws / "multihead.py").write_text(REFERENCE, encoding="utf-8")
    passed = attnquiz_cli("grade", "--no-sample", cwd=ws, home=home, LANG="zh_CN.UTF-8", LC_ALL="", LC_MESSAGES="")
    assert passed.returncode == 0, passed.stderr
    assert _has_chinese(passed.stdout) and "attnquiz solution multihead" in passed.stdout
    assert "kata passed" not in passed.stdout and "All " not in passed.stdout
    mistake = next(m for m in katas.load_mistakes(katas.load_kata("multihead").path) if m.name == "merge_without_transpose")
    code, report = _grade(ws, home, mistake.apply(REFERENCE), "--lang", "zh")
    assert code == 1 and set(report) == {"kata", "passed", "checks", "diagnosis", "notices", "recorded", "review"}
    assert all({"name", "status", "message"} <= set(c) <= {"name", "status", "message", "case"} for c in report["checks"])
    assert any("differs from the reference by" in c["message"] for c in report["checks"])
    assert any("case" in c for c in report["checks"] if c["status"] == "failed")
    assert not _has_chinese(json.dumps([report["checks"], report["notices"]], ensure_ascii=False))
