"""Grade a learner's file against a kata's hidden suite, in a separate process.

Plain core, and torch-free: this process refuses files over MAX_FILE_BYTES, checks the file
statically (syntax, forbidden calls), starts `python -m attnquiz._grade_child` in its own process
group (the token and the spec on its stdin), drains its output with a cap, kills the whole group
at the time limit (static checks included) or on Ctrl-C, SIGHUP and SIGTERM, and reads the
per-check results it streamed to a report file. A check counts as passed only when the child
reported it passed: the list of expected checks comes from the suite's AST, and anything without a
result is a failure. The child dies with this process (PDEATHSIG); a work folder left behind by a
killed grader is swept by the next run.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import attnquiz
from attnquiz.errors import UsageError
from attnquiz.katas import Kata

DEFAULT_TIMEOUT_S = 60.0
MAX_FILE_BYTES = 256 * 1024  # a kata solution is a few hundred lines; bigger files are refused
CPU_MARGIN_S = 30  # the child's CPU-time limit is the time limit plus this
TEMP_PREFIX = "attnquiz-grade-"
OUTPUT_CAP = 64 * 1024  # bytes of the child's stdout/stderr kept (the tail)
STATIC_CHECKS = ("syntax", "no_forbidden_calls")
LOAD_CHECK = "loads"
TAMPER_CHECK = "no_tampering"
ALWAYS_FORBIDDEN = ("attnquiz",)  # learner code may not import the grader or its content


@dataclass
class Check:
    name: str
    status: str  # passed | failed | error | timeout
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class Diagnosis:
    """A known mistake the learner's output matches (full: on every probe that differs)."""

    mistake: str
    title: str
    fix: str
    full: bool


@dataclass
class GradingInterrupted(KeyboardInterrupt):
    """SIGHUP or SIGTERM reached `attnquiz grade`: the child was killed, nothing is recorded."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class GradeResult:
    kata: str
    file: Path
    checks: list[Check]
    diagnosis: list[Diagnosis] = field(default_factory=list)
    duration_s: float = 0.0
    showcase: Optional[str] = None  # e.g. text sampled by the learner's generator after a pass

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def counts(self) -> tuple[int, int]:
        return sum(c.passed for c in self.checks), len(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "kata": self.kata,
            "passed": self.passed,
            "checks": [{"name": c.name, "status": c.status, "message": c.message} for c in self.checks],
            "diagnosis": [
                {"mistake": d.mistake, "title": d.title, "fix": d.fix, "match": "full" if d.full else "partial"}
                for d in self.diagnosis
            ],
        }


def expected_tests(kata: Kata) -> list[str]:
    """Check names of the hidden suite (`test_x` -> `x`), read by AST so no torch is imported."""
    tree = ast.parse(kata.hidden_suite.read_text(encoding="utf-8"))
    return [n.name[5:] for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def expected_checks(kata: Kata) -> list[str]:
    return [*STATIC_CHECKS, LOAD_CHECK, *expected_tests(kata), TAMPER_CHECK]


# --- static checks ------------------------------------------------------------------------------


def static_checks(kata: Kata, file: Path) -> list[Check]:
    """Syntax and forbidden calls, without running the learner's code."""
    try:
        source = file.read_bytes()  # bytes: ast.parse honours an encoding cookie as import does
    except OSError as exc:
        unreadable = Check("syntax", "failed", f"cannot read {file}: {exc.strerror or exc}")
        return [unreadable, Check("no_forbidden_calls", "error", "not run: the file cannot be read")]
    not_run = Check("no_forbidden_calls", "error", "not run: fix the syntax")
    if b"\0" in source:  # Python refuses NUL bytes without saying where they are
        line = source[: source.index(b"\0")].count(b"\n") + 1
        return [Check("syntax", "failed", f"{file.name} line {line}: a NUL byte; Python source cannot contain one"), not_run]
    try:
        tree = ast.parse(source, filename=str(file))
    except (ValueError, RecursionError, MemoryError) as exc:  # absurd nesting
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply for Python to parse"
        return [Check("syntax", "failed", f"{file.name} cannot be parsed: {reason}"), not_run]
    except SyntaxError as exc:
        where = f"{file.name} line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = (exc.text or "").strip()
        message = f"SyntaxError at {where}: {exc.msg}" + (f" — `{text}`" if text else "")
        return [Check("syntax", "failed", message), not_run]
    found = forbidden_uses(tree, kata.forbidden)
    forbidden = (
        Check("no_forbidden_calls", "failed", "; ".join(found) + " — write the attention yourself")
        if found
        else Check("no_forbidden_calls", "passed")
    )
    return [Check("syntax", "passed"), forbidden]


def forbidden_uses(tree: ast.AST, forbidden: Sequence[str]) -> list[str]:
    """Lines that use a forbidden dotted name (through any import alias) or import attnquiz."""
    leaves = {name.rsplit(".", 1)[-1] for name in forbidden}
    aliases: dict[str, str] = {}  # local name -> dotted module/object path
    found: list[str] = []

    def note(node: ast.AST, what: str) -> None:
        msg = f"line {getattr(node, 'lineno', '?')}: {what}"
        if msg not in found:
            found.append(msg)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ALWAYS_FORBIDDEN:
                    note(node, f"imports {a.name}, which grading forbids")
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in ALWAYS_FORBIDDEN:
                note(node, f"imports from {node.module}, which grading forbids")
            for a in node.names:
                full = f"{node.module}.{a.name}"
                aliases[a.asname or a.name] = full
                if full in forbidden or (a.name in leaves and node.module.split(".")[0] == "torch"):
                    note(node, f"uses {full}, which this kata forbids")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in leaves:
            dotted = _dotted(node, aliases)
            if dotted is not None and (dotted in forbidden or dotted.split(".")[0] == "torch"):
                note(node, f"uses {dotted}, which this kata forbids")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            for arg in node.args[1:2]:
                if isinstance(arg, ast.Constant) and arg.value in leaves:
                    note(node, f"getattr(..., {arg.value!r}) reaches a torch built-in this kata forbids")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in aliases:
            if aliases[node.id] in forbidden:
                note(node, f"uses {aliases[node.id]}, which this kata forbids")
    return found


def _dotted(node: ast.AST, aliases: dict[str, str]) -> Optional[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = aliases.get(node.id, node.id)
    return ".".join([root, *reversed(parts)])


# --- the grading subprocess -------------------------------------------------------------------


def grade(kata: Kata, file: Path, timeout: float = DEFAULT_TIMEOUT_S, showcase: bool = True) -> GradeResult:
    """Grade one file; never raises for anything the learner's code does."""
    return grade_many(kata, [file], timeout=timeout, showcase=showcase)[0]


def grade_many(
    kata: Kata, files: Sequence[Path], timeout: float = DEFAULT_TIMEOUT_S, showcase: bool = False
) -> list[GradeResult]:
    """Grade several files in ONE child process (the self-check grades every mistake at once)."""
    missing = [m for m in ("torch", "pytest") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"grading needs {' and '.join(missing)}, which this Python lacks; "
            "add the kata extra to this environment: pip install '.[kata]' from the checkout, or "
            "pip install torch pytest (CPU-only machines: see the README)"
        )
    started = time.monotonic()
    tests = expected_tests(kata)
    files = [Path(f).resolve() for f in files]
    for f in files:
        check_size(f)
    _sweep_stale_dirs()
    statics = [static_checks(kata, f) for f in files]
    runnable = [i for i, s in enumerate(statics) if all(c.passed for c in s)]
    reports: dict[int, dict[str, Any]] = {}
    outcome = ChildOutcome(returncode=0, timed_out=False, tail="")
    if runnable:
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp:
            (Path(tmp) / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
            report = Path(tmp) / "report.jsonl"
            spec = {
                "kata_dir": str(kata.path),
                "symbols": list(kata.symbols),
                "tests": tests,
                "forbidden": list(kata.forbidden),
                "candidates": [{"id": f"c{i}", "path": str(files[i])} for i in runnable],
                "report": str(report),
                "showcase": kata.showcase if (showcase and len(files) == 1) else None,
            }
            token = secrets.token_hex(16)
            left = timeout - (time.monotonic() - started)  # the static checks count too
            if left > 0:
                outcome = _run_child(spec, Path(tmp), left, token, cpu_limit=int(timeout) + CPU_MARGIN_S)
            else:  # the size cap keeps this to a second or two: only a --timeout of about that
                outcome = ChildOutcome(returncode=None, timed_out=True, tail="")
            reports = _read_report(report, token)
    duration = time.monotonic() - started
    results = []
    for i, f in enumerate(files):
        checks = list(statics[i])
        if i in runnable:
            checks += _child_checks(reports.get(i, {}), tests, outcome, timeout)
            rep = reports.get(i, {})
            if rep.get("forbidden"):
                checks[1] = Check("no_forbidden_calls", "failed", "; ".join(rep["forbidden"]))
            diag = [Diagnosis(d["mistake"], d["title"], d["fix"], bool(d["full"])) for d in rep.get("diagnosis", [])]
            results.append(GradeResult(kata.name, f, checks, diag, duration, rep.get("showcase")))
        else:
            first = next(c for c in checks if not c.passed)
            reason = f"not run: fix `{first.name}` first"
            checks += [Check(n, "error", reason) for n in (LOAD_CHECK, *tests, TAMPER_CHECK)]
            results.append(GradeResult(kata.name, f, checks, [], duration))
    return results


def check_size(file: Path) -> None:
    """Refuse a file too big to be a kata solution before reading it (parsing it could outlast
    the time limit)."""
    try:
        size = file.stat().st_size
    except OSError:
        return  # the static checks say the file cannot be read
    if size > MAX_FILE_BYTES:
        raise UsageError(
            f"{file}: {size / 1024:.0f} KB is too big to grade (the limit is {MAX_FILE_BYTES // 1024} KB; "
            "a kata solution is a few hundred lines) — pass the file you wrote with --file"
        )


def _sweep_stale_dirs() -> None:
    """Remove work folders left by a grader that was killed (its owner.pid names a dead process)."""
    import shutil

    try:
        candidates = list(Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"))
    except OSError:
        return
    for folder in candidates:
        try:
            owner = int((folder / "owner.pid").read_text(encoding="ascii").strip())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours, still being written, or alive under another user


@dataclass
class ChildOutcome:
    returncode: Optional[int]
    timed_out: bool
    tail: str
    cpu_limited: bool = False


def _child_env(cpu_limit: int) -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(attnquiz.__file__).resolve().parent.parent)
    if not _is_site_dir(package_root):
        # A source checkout: the child finds attnquiz through PYTHONPATH, then forgets that folder.
        # An installed attnquiz lives in site-packages, which the learner's imports (and torch's
        # lazy ones) need: that folder is never taken away; `import attnquiz` is blocked instead.
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["ATTNQUIZ_GRADE_ROOT"] = package_root
    env["ATTNQUIZ_GRADE_PARENT"] = str(os.getpid())
    env["ATTNQUIZ_GRADE_CPU"] = str(cpu_limit)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONSTARTUP", None)
    return env


def _is_site_dir(folder: str) -> bool:
    """Is FOLDER one of this Python's site-packages folders (where `pip install .` puts attnquiz)?"""
    import site
    import sysconfig

    sites = {*site.getsitepackages(), site.getusersitepackages(), *(sysconfig.get_path(k) for k in ("purelib", "platlib"))}
    return any(os.path.realpath(folder) == os.path.realpath(s) for s in sites if s)


def _run_child(spec: dict[str, Any], workdir: Path, timeout: float, token: str, cpu_limit: int) -> ChildOutcome:
    """Run the child in its own session; keep only the tail of its output; kill its group at the limit.

    The token and the spec go through stdin, read by the child before any learner code runs (so
    neither argv nor a file names the kata folder). SIGHUP and SIGTERM kill the child's group and
    raise GradingInterrupted, as Ctrl-C raises KeyboardInterrupt; the caller's `with` removes the
    work folder. Should this process die at once (SIGKILL), the child dies with it (PDEATHSIG).
    """
    previous = _on_signals(*(getattr(signal, n) for n in ("SIGHUP", "SIGTERM") if hasattr(signal, n)))
    try:
        return _run_child_inner(spec, workdir, timeout, token, cpu_limit)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _on_signals(*signums: int) -> dict[int, Any]:
    """Turn the signals into GradingInterrupted (main thread only; elsewhere they stay as they are)."""

    raised: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if not raised:  # once: a second signal must not cut the clean-up short
            raised.append(signum)
            raise GradingInterrupted(signum)

    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in signums:
        try:
            previous[signum] = signal.signal(signum, handler)
        except (ValueError, OSError):
            pass
    return previous


def _run_child_inner(spec: dict[str, Any], workdir: Path, timeout: float, token: str, cpu_limit: int) -> ChildOutcome:
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnquiz._grade_child"],
        cwd=workdir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_child_env(cpu_limit),
        start_new_session=True,
    )
    tail = bytearray()

    def drain() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(65536):
            tail.extend(chunk)
            if len(tail) > 2 * OUTPUT_CAP:
                del tail[:-OUTPUT_CAP]

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    timed_out = False
    try:
        assert proc.stdin is not None
        try:
            proc.stdin.write(token.encode("ascii") + b"\n" + json.dumps(spec).encode("utf-8") + b"\n")
            proc.stdin.close()
        except OSError:  # the child died at once; its missing results say so
            pass
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc.pid)
        proc.wait()
        reader.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()
    text = bytes(tail[-OUTPUT_CAP:]).decode("utf-8", "replace")
    xcpu = getattr(signal, "SIGXCPU", None)  # the CPU-time limit (not on Windows)
    cpu_limited = not timed_out and xcpu is not None and proc.returncode == -xcpu
    return ChildOutcome(None if timed_out else proc.returncode, timed_out or cpu_limited, text, cpu_limited)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_report(path: Path, token: str) -> dict[int, dict[str, Any]]:
    """Fold the child's JSON lines (those with the run's token) into one record per candidate index."""
    out: dict[int, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            rec = json.loads(line)
            idx = int(str(rec["cand"])[1:])
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(rec, dict) or rec.get("token") != token:
            continue
        rep = out.setdefault(idx, {"checks": {}, "running": None, "done": False})
        kind = rec.get("kind")
        if kind == "start":
            rep["running"] = rec.get("check")
        elif kind == "check" and rec.get("status") in ("passed", "failed", "error"):
            rep["checks"].setdefault(str(rec["check"]), (rec["status"], str(rec.get("message", ""))[:2000]))
            rep["running"] = None
        elif kind == "forbidden":
            rep.setdefault("forbidden", []).append(str(rec.get("message", "")))
        elif kind == "diagnosis":
            rep["diagnosis"] = rec.get("items", [])
        elif kind == "showcase":
            rep["showcase"] = str(rec.get("text", ""))
        elif kind == "done":
            rep["done"] = True
    return out


def _child_checks(rep: dict[str, Any], tests: list[str], outcome: ChildOutcome, timeout: float) -> list[Check]:
    """Checks the child owns; what it did not report is never a pass."""
    seen: dict[str, tuple[str, str]] = rep.get("checks", {})
    last_line = _last_line(outcome.tail)
    checks = []
    for name in (LOAD_CHECK, *tests, TAMPER_CHECK):
        if name in seen and (name != TAMPER_CHECK or rep.get("done")):
            status, message = seen[name]
            checks.append(Check(name, status, message))
        elif outcome.timed_out:
            limit = f"{int(timeout) + CPU_MARGIN_S} s CPU-time" if outcome.cpu_limited else f"{timeout:g} s time"
            msg = (
                f"did not finish within the {limit} limit (an infinite loop?)"
                if rep.get("running") == name
                else f"not run: the {limit} limit was reached"
            )
            checks.append(Check(name, "timeout", msg))
        else:
            why = f"the grading process ended early (exit code {outcome.returncode})"
            if outcome.returncode == 0:
                why += " — did your code call os._exit()?"
            if last_line:
                why += f"; last output: {last_line}"
            checks.append(Check(name, "error", f"no result: {why}"))
    return checks


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""
