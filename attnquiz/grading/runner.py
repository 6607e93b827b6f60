"""The CLI's side of grading: static checks here, everything else in a judge process.

Plain core, and torch-free. This process refuses files over MAX_FILE_BYTES, checks the file
statically (syntax, forbidden calls), then starts the judge (`python -m attnquiz.grading.judge`,
token and spec on stdin) in its own session. The judge starts the sandboxed worker that runs the
learner's code. This process trusts nothing it reads back: the report is bounded in size and
time, every line must carry the run's token and a known shape, every text is stripped of control
characters, and a check counts as passed only when a well-formed line says so. At the time limit
the judge gets SIGTERM (it kills the worker and everything the worker started), then SIGKILL.
Watch mode (watch.py) passes a launcher that has a warm zygote fork the judge instead of starting
it; everything else here is the same for both.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import attnquiz
from attnquiz.errors import UsageError
from attnquiz.i18n import Text, from_wire
from attnquiz.katas import Kata

DEFAULT_TIMEOUT_S = 60.0
MAX_FILE_BYTES = 256 * 1024  # a kata solution is a few hundred lines; bigger files are refused
CPU_MARGIN_S = 30  # the worker's CPU-time limit is the time limit plus this
DEFAULT_MEMORY = 4 << 30  # the worker's address-space limit (--memory)
JUDGE_MARGIN_S = 1.5  # the judge stops asking this long before the limit, to report and clean up
JUDGE_GRACE_S = 3.0  # past the limit, the judge gets SIGTERM, then SIGKILL
REPORT_CAP = 4 << 20  # bytes of report read; more is a malformed report
MAX_LINE = 256 * 1024
TEMP_PREFIX = "attnquiz-grade-"
OUTPUT_CAP = 16 * 1024  # bytes of the judge's stderr kept (the tail)
STATIC_CHECKS = ("syntax", "no_forbidden_calls")
LOAD_CHECK = "loads"
TAMPER_CHECK = "no_tampering"
ALWAYS_FORBIDDEN = ("attnquiz",)  # learner code may not import the grader or its content


@dataclass
class Check:
    name: str
    status: str  # passed | failed | error | timeout
    message: str = ""  # English; an attnquiz.i18n.Text when the grader wrote it (shown in --lang)
    case: Optional[dict[str, Any]] = None  # a failed check's smallest failing case (see parse_case)

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
    title_zh: str = ""
    fix_zh: str = ""

    def text(self, lang: str) -> tuple[str, str]:
        """(title, fix) in LANG, English where no translation exists."""
        if lang == "zh" and self.title_zh and self.fix_zh:
            return self.title_zh, self.fix_zh
        return self.title, self.fix


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
    notices: list[str] = field(default_factory=list)  # e.g. "file access is not confined: ..." (Texts)

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
            "checks": [
                {"name": c.name, "status": c.status, "message": c.message, **({"case": c.case} if c.case else {})}
                for c in self.checks
            ],
            "diagnosis": [
                {"mistake": d.mistake, "title": d.title, "fix": d.fix, "match": "full" if d.full else "partial"}
                for d in self.diagnosis
            ],
            "notices": list(self.notices),
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
        unreadable = Check("syntax", "failed", Text("cannot_read", file=str(file), reason=exc.strerror or str(exc)))
        return [unreadable, Check("no_forbidden_calls", "error", Text("not_run_unreadable"))]
    not_run = Check("no_forbidden_calls", "error", Text("not_run_syntax"))
    if b"\0" in source:  # Python refuses NUL bytes without saying where they are
        line = source[: source.index(b"\0")].count(b"\n") + 1
        return [Check("syntax", "failed", Text("nul_byte", file=file.name, line=line)), not_run]
    try:
        tree = ast.parse(source, filename=str(file))
    except (ValueError, RecursionError, MemoryError) as exc:  # absurd nesting
        reason = str(exc) if isinstance(exc, ValueError) else Text("too_deep")
        return [Check("syntax", "failed", Text("cannot_parse", file=file.name, reason=reason)), not_run]
    except SyntaxError as exc:
        where = (
            Text("file_line_column", file=file.name, line=exc.lineno, column=exc.offset)
            if exc.offset
            else Text("file_line", file=file.name, line=exc.lineno)
        )
        text = (exc.text or "").strip()
        code = Text("code_suffix", code=text) if text else ""
        return [Check("syntax", "failed", Text("syntax_error", where=where, message=exc.msg, code=code)), not_run]
    found = forbidden_uses(tree, kata.forbidden)
    forbidden = (
        Check("no_forbidden_calls", "failed", Text("forbidden_uses", items=found))
        if found
        else Check("no_forbidden_calls", "passed")
    )
    return [Check("syntax", "passed"), forbidden]


def forbidden_uses(tree: ast.AST, forbidden: Sequence[str]) -> list[str]:
    """Lines that use a forbidden dotted name (through any import alias) or import attnquiz."""
    leaves = {name.rsplit(".", 1)[-1] for name in forbidden}
    aliases: dict[str, str] = {}  # local name -> dotted module/object path
    found: list[str] = []

    def note(node: ast.AST, key: str, name: str) -> None:
        msg = Text(key, line=getattr(node, "lineno", "?"), name=name)
        if msg not in found:
            found.append(msg)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ALWAYS_FORBIDDEN:
                    note(node, "imports_forbidden", a.name)
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in ALWAYS_FORBIDDEN:
                note(node, "imports_from_forbidden", node.module)
            for a in node.names:
                full = f"{node.module}.{a.name}"
                aliases[a.asname or a.name] = full
                if full in forbidden or (a.name in leaves and node.module.split(".")[0] == "torch"):
                    note(node, "uses_forbidden", full)
    methods = {name.rsplit(".", 1)[-1] for name in forbidden if name.startswith("torch.Tensor.")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods:
            dotted = _dotted(node.func, aliases)
            if dotted is None or dotted.split(".")[0] != "torch":  # x.softmax(...): a tensor method
                note(node, "tensor_method_forbidden", node.func.attr)
        if isinstance(node, ast.Attribute) and node.attr in leaves:
            dotted = _dotted(node, aliases)
            if dotted is not None and (dotted in forbidden or dotted.split(".")[0] == "torch"):
                note(node, "uses_forbidden", dotted)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            for arg in node.args[1:2]:
                if isinstance(arg, ast.Constant) and arg.value in leaves:
                    note(node, "getattr_forbidden", repr(arg.value))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in aliases:
            if aliases[node.id] in forbidden:
                note(node, "uses_forbidden", aliases[node.id])
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


# Starts the judge in a work folder: a Popen, or what stands for one (watch mode's forked judge).
Launcher = Callable[[str], Any]


def grade(
    kata: Kata,
    file: Path,
    timeout: float = DEFAULT_TIMEOUT_S,
    showcase: bool = True,
    memory: int = DEFAULT_MEMORY,
    *,
    launch: Optional[Launcher] = None,
    on_progress: Optional[Callable[[str], None]] = None,
) -> GradeResult:
    """Grade one file; never raises for anything the learner's code does. LAUNCH starts the judge
    (default: a fresh process); ON_PROGRESS(check) is called, from another thread, as each
    check starts."""
    return grade_many(kata, [file], timeout=timeout, showcase=showcase, memory=memory, launch=launch, on_progress=on_progress)[0]


def grade_many(
    kata: Kata,
    files: Sequence[Path],
    timeout: float = DEFAULT_TIMEOUT_S,
    showcase: bool = False,
    memory: int = DEFAULT_MEMORY,
    *,
    launch: Optional[Launcher] = None,
    on_progress: Optional[Callable[[str], None]] = None,
) -> list[GradeResult]:
    """Grade several files with ONE judge and worker (the self-check grades every mistake at once)."""
    require("torch", "pytest")
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(Text("err_timeout", value=repr(timeout)))
    started = time.monotonic()
    tests = expected_tests(kata)
    files = [Path(f).resolve() for f in files]
    for f in files:
        check_size(f)
    _sweep_stale_dirs()
    statics = [static_checks(kata, f) for f in files]
    runnable = [i for i, s in enumerate(statics) if all(c.passed for c in s)]
    report = Report()
    outcome = JudgeOutcome(returncode=0, timed_out=False, tail="")
    if runnable:
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp:
            (Path(tmp) / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
            left = timeout - (time.monotonic() - started)  # the static checks count too
            spec = {
                "kata_dir": str(kata.path),
                "symbols": list(kata.symbols),
                "tests": tests,
                "forbidden": list(kata.forbidden),
                "candidates": [{"id": f"c{i}", "path": str(files[i])} for i in runnable],
                "showcase": kata.showcase if (showcase and len(files) == 1) else None,
                "workdir": tmp,
                "time_left": max(0.0, left - JUDGE_MARGIN_S),
                "timeout": timeout,
                "cpu": int(timeout) + CPU_MARGIN_S,
                "memory": int(memory),
            }
            token = secrets.token_hex(16)
            if left > 0:
                on_line = _progress_reader(token, expected_checks(kata), on_progress) if on_progress else None
                outcome, report = _run_judge(spec, left, token, launch, on_line)
            else:  # the size cap keeps this to a second or two: only a --timeout of about that
                outcome = JudgeOutcome(returncode=None, timed_out=True, tail="")
    duration = time.monotonic() - started
    results = []
    for i, f in enumerate(files):
        checks = list(statics[i])
        if i in runnable:
            rep = report.candidates.get(f"c{i}", {})
            checks += _judged_checks(rep, tests, outcome, timeout, report.malformed)
            if rep.get("forbidden"):
                checks[1] = Check("no_forbidden_calls", "failed", Text("items", items=rep["forbidden"]))
            diag = [Diagnosis(d["mistake"], d["title"], d["fix"], d["full"], d["title_zh"], d["fix_zh"]) for d in rep.get("diagnosis", [])]
            results.append(GradeResult(kata.name, f, checks, diag, duration, rep.get("showcase"), report.notices))
        else:
            first = next(c for c in checks if not c.passed)
            reason = Text("not_run_fix_first", name=first.name)
            checks += [Check(n, "error", reason) for n in (LOAD_CHECK, *tests, TAMPER_CHECK)]
            results.append(GradeResult(kata.name, f, checks, [], duration))
    return results


def require(*modules: str) -> None:
    """UsageError naming what to install when this Python lacks one of MODULES."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        named: Any = missing[0]
        for more in missing[1:]:
            named = Text("both", a=named, b=more)
        raise UsageError(Text("err_grading_needs", missing=named))


def check_size(file: Path) -> None:
    """Refuse a file too big to be a kata solution before reading it (parsing it could outlast
    the time limit)."""
    try:
        size = file.stat().st_size
    except OSError:
        return  # the static checks say the file cannot be read
    if size > MAX_FILE_BYTES:
        raise UsageError(Text("err_too_big", file=str(file), size=f"{size / 1024:.0f}", limit=MAX_FILE_BYTES // 1024))


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
class JudgeOutcome:
    returncode: Optional[int]
    timed_out: bool
    tail: str  # the end of the judge's stderr (its own crash, never the learner's output)


def _judge_env() -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(attnquiz.__file__).resolve().parent.parent)
    if not _is_site_dir(package_root):
        # A source checkout: the judge and the worker find attnquiz through PYTHONPATH (the
        # worker's sandbox hides it again). An installed attnquiz lives in site-packages, which
        # the learner's imports (and torch's lazy ones) need: that folder is never taken away.
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["ATTNQUIZ_CLI_PID"] = str(os.getpid())
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # see judge.ONE_THREAD (this module imports no judge code)
    for key in ("PYTHONSTARTUP", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        env.pop(key, None)
    return env


def _is_site_dir(folder: str) -> bool:
    """Is FOLDER one of this Python's site-packages folders (where `pip install .` puts attnquiz)?"""
    import site
    import sysconfig

    sites = {*site.getsitepackages(), site.getusersitepackages(), *(sysconfig.get_path(k) for k in ("purelib", "platlib"))}
    return any(os.path.realpath(folder) == os.path.realpath(s) for s in sites if s)


def _run_judge(
    spec: dict[str, Any],
    timeout: float,
    token: str,
    launch: Optional[Launcher] = None,
    on_line: Optional[Callable[[bytes], None]] = None,
) -> tuple[JudgeOutcome, "Report"]:
    """Run the judge in its own session and read its report; SIGHUP and SIGTERM stop it and raise
    GradingInterrupted, as Ctrl-C raises KeyboardInterrupt (the caller's `with` removes the work
    folder). Should this process die at once (SIGKILL), the judge dies with it (PDEATHSIG)."""
    previous = _on_signals(*(getattr(signal, n) for n in ("SIGHUP", "SIGTERM") if hasattr(signal, n)))
    try:
        return _run_judge_inner(spec, timeout, token, launch or _spawn_judge, on_line)
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


class _Capped:
    """Drains a pipe in a thread, keeping at most LIMIT bytes (the head or the tail)."""

    def __init__(self, stream: Any, limit: int, keep_tail: bool, on_line: Optional[Callable[[bytes], None]] = None) -> None:
        self.data = bytearray()
        self.overflow = False
        self.stream, self.limit, self.keep_tail = stream, limit, keep_tail
        self.on_line, self.pending = on_line, bytearray()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _lines(self, chunk: bytes) -> None:
        """Each complete line, as it arrives, to on_line (for display only: never trusted)."""
        self.pending.extend(chunk)
        while (end := self.pending.find(b"\n")) >= 0:
            line = bytes(self.pending[:end])
            del self.pending[: end + 1]
            try:
                self.on_line(line)  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - a display callback must not stop the reading
                pass
        if len(self.pending) > MAX_LINE:
            self.pending.clear()

    def _drain(self) -> None:
        try:
            while chunk := self.stream.read1(65536):
                if self.on_line is not None:
                    self._lines(chunk)
                if self.keep_tail:
                    self.data.extend(chunk)
                    if len(self.data) > 2 * self.limit:
                        del self.data[: -self.limit]
                elif len(self.data) + len(chunk) > self.limit:
                    self.overflow = True
                    return  # stop reading: the writer blocks on a full pipe until it is killed
                else:
                    self.data.extend(chunk)
        except (OSError, ValueError):
            return


def _spawn_judge(workdir: str) -> subprocess.Popen:
    """A fresh judge process in its own session (a cold grading)."""
    return subprocess.Popen(
        [sys.executable, "-m", "attnquiz.grading.judge"],
        cwd=workdir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_judge_env(),
        start_new_session=True,
    )


def _progress_reader(token: str, names: Sequence[str], on_progress: Callable[[str], None]) -> Callable[[bytes], None]:
    """A report line -> on_progress(check) for the judge's `start` records of known checks."""
    known = set(names)

    def on_line(raw: bytes) -> None:
        try:
            rec = json.loads(raw)
        except ValueError:
            return
        if isinstance(rec, dict) and rec.get("token") == token and rec.get("kind") == "start" and rec.get("check") in known:
            on_progress(rec["check"])

    return on_line


def _run_judge_inner(
    spec: dict[str, Any], timeout: float, token: str, launch: Launcher, on_line: Optional[Callable[[bytes], None]]
) -> tuple[JudgeOutcome, "Report"]:
    proc = launch(spec["workdir"])
    report = _Capped(proc.stdout, REPORT_CAP, keep_tail=False, on_line=on_line)
    errors = _Capped(proc.stderr, OUTPUT_CAP, keep_tail=True)
    timed_out = False
    try:
        assert proc.stdin is not None
        try:
            proc.stdin.write(token.encode("ascii") + b"\n" + json.dumps(spec).encode("utf-8") + b"\n")
            proc.stdin.close()
        except OSError:  # the judge died at once; its missing results say so
            pass
        proc.wait(timeout=timeout + JUDGE_GRACE_S)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if proc.poll() is None:  # the judge kills the worker and all it started on SIGTERM
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        for reader in (report, errors):
            reader.thread.join(timeout=1)  # a pipe held open by a stray process must not hold us
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    tail = bytes(errors.data[-OUTPUT_CAP:]).decode("utf-8", "replace")
    parsed = parse_report(bytes(report.data), token, overflow=report.overflow)
    return JudgeOutcome(None if timed_out else proc.returncode, timed_out, tail), parsed


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str, limit: int = 2000) -> str:
    """Text that came from learner code, safe for a terminal or JSON: no escapes, bounded."""
    text = _CONTROL.sub("", text.replace("\t", " ").replace("\n", " "))
    return text if len(text) <= limit else text[:limit] + "…"


def _text(rec: dict[str, Any], english: str, limit: int = 2000) -> str:
    """A report line's message: the English, sanitized, with its template when the line has a
    valid one (key and args, each argument sanitized too), so the CLI can show it in --lang."""
    return from_wire(english, rec.get("key"), rec.get("args"), clean=lambda value: sanitize(value, min(limit, 600)))


@dataclass
class Report:
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    malformed: str = ""


_STATUSES = ("passed", "failed", "error", "timeout")


def parse_report(data: bytes, token: str, overflow: bool = False) -> Report:
    """Fold the judge's JSON lines into one record per candidate. Only lines that carry the token
    and have a known shape count; anything else makes the report malformed (a failed grading)."""
    report = Report()
    if overflow:
        report.malformed = Text("report_too_large", size=REPORT_CAP // 1024)
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw) if len(raw) <= MAX_LINE else None
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or rec.get("token") != token or not isinstance(rec.get("kind"), str):
            report.malformed = report.malformed or Text("report_foreign_line")
            continue
        kind = rec["kind"]
        if kind == "notice":
            report.notices.append(_text(rec, sanitize(str(rec.get("text", "")), 300), 300))
            continue
        cand = rec.get("cand")
        if not isinstance(cand, str) or not re.fullmatch(r"c\d{1,4}", cand):
            report.malformed = report.malformed or Text("report_unknown_candidate")
            continue
        rep = report.candidates.setdefault(cand, {"checks": {}, "running": None, "done": False})
        check = rec.get("check")
        if kind == "start" and isinstance(check, str):
            rep["running"] = check
        elif kind == "check" and isinstance(check, str) and rec.get("status") in _STATUSES:
            rep["checks"].setdefault(check, (rec["status"], _text(rec, sanitize(str(rec.get("message", ""))))))
            case = parse_case(rec.get("case")) if rec["status"] == "failed" else None
            if case:
                rep.setdefault("cases", {}).setdefault(check, case)
            rep["running"] = None
        elif kind == "forbidden":
            rep.setdefault("forbidden", []).append(_text(rec, sanitize(str(rec.get("message", "")), 300), 300))
        elif kind == "diagnosis" and isinstance(rec.get("items"), list):
            rep["diagnosis"] = [
                {"mistake": sanitize(str(d["mistake"]), 100), "title": sanitize(str(d["title"]), 300),
                 "fix": sanitize(str(d["fix"]), 500), "full": bool(d["full"]),
                 "title_zh": sanitize(str(d.get("title_zh") or ""), 300), "fix_zh": sanitize(str(d.get("fix_zh") or ""), 500)}
                for d in rec["items"][:5] if isinstance(d, dict) and {"mistake", "title", "fix", "full"} <= d.keys()
            ]  # fmt: skip
        elif kind == "showcase":
            rep["showcase"] = "".join(ch for ch in str(rec.get("text", ""))[:4000] if ch == "\n" or ch.isprintable())
        elif kind == "done":
            rep["done"] = True
        else:
            report.malformed = report.malformed or Text("report_unknown_shape", kind=sanitize(kind, 40))
    return report


CASE_INPUTS = 8
CASE_DIMS = 8
HEAT_SIDE = 12


def parse_case(raw: Any) -> Optional[dict[str, Any]]:
    """A failed check's case as the judge reported it, rebuilt field by field from what has the
    expected shape (bounded sizes, numbers that are numbers, texts without control characters);
    anything else is left out. None when nothing usable remains."""
    if not isinstance(raw, dict):
        return None
    case: dict[str, Any] = {}
    inputs = []
    for item in raw["inputs"] if isinstance(raw.get("inputs"), list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        entry: dict[str, Any] = {"name": sanitize(item["name"], 40)}
        shape = _dims(item.get("shape"))
        if shape is not None:
            entry["shape"] = shape
            entry["dtype"] = sanitize(str(item.get("dtype") or ""), 20)
        elif isinstance(item.get("value"), str):
            entry["value"] = sanitize(item["value"], 60)
        else:
            continue
        inputs.append(entry)
        if len(inputs) == CASE_INPUTS:
            break
    if inputs:
        case["inputs"] = inputs
    for key, limit in (("what", 200), ("dtype", 20), ("expected_dtype", 20), ("against", 60)):
        if isinstance(raw.get(key), str):
            case[key] = sanitize(raw[key], limit)
    for key in ("shape", "got_shape", "index"):
        dims = _dims(raw.get(key))
        if dims is not None:
            case[key] = dims
    for key in ("got", "expected"):
        value = raw.get(key)
        if (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)) or value in ("nan", "inf", "-inf"):
            case[key] = value
    weights = raw.get("weights")
    if isinstance(weights, dict):
        sides = {side: _heat_side(weights.get(side)) for side in ("yours", "reference")}
        if all(sides.values()):
            case["weights"] = sides
    return case or None


def _dims(value: Any) -> Optional[list[int]]:
    if isinstance(value, list) and len(value) <= CASE_DIMS and all(type(d) is int and 0 <= d < 1 << 40 for d in value):
        return list(value)
    return None


def _heat_side(raw: Any) -> Optional[dict[str, Any]]:
    """One drawn weight matrix: at most HEAT_SIDE x HEAT_SIDE numbers (None: not finite), where it sits."""
    if not isinstance(raw, dict):
        return None
    values = raw.get("values")
    if not (isinstance(values, list) and 0 < len(values) <= HEAT_SIDE and all(isinstance(r, list) for r in values)):
        return None
    width = len(values[0])
    ok = lambda x: x is None or (isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x))  # noqa: E731
    if not (0 < width <= HEAT_SIDE and all(len(r) == width and all(ok(x) for x in r) for r in values)):
        return None
    at, sizes = _dims(raw.get("at")), [raw.get(k) for k in ("rows", "cols", "row0", "col0")]
    if at is None or not all(type(n) is int and 0 <= n < 1 << 40 for n in sizes):
        return None
    rows, cols, row0, col0 = sizes
    return {"at": at, "rows": rows, "cols": cols, "row0": row0, "col0": col0, "values": [[None if x is None else float(x) for x in r] for r in values]}


def _judged_checks(
    rep: dict[str, Any], tests: list[str], outcome: JudgeOutcome, timeout: float, malformed: str = ""
) -> list[Check]:
    """Checks the judge owns; what it did not report (well-formed) is never a pass."""
    if malformed:
        return [Check(name, "error", Text("grading_failed", reason=malformed)) for name in (LOAD_CHECK, *tests, TAMPER_CHECK)]
    seen: dict[str, tuple[str, str]] = rep.get("checks", {})
    cases: dict[str, dict[str, Any]] = rep.get("cases", {})
    checks = []
    for name in (LOAD_CHECK, *tests, TAMPER_CHECK):
        if name in seen and (name != TAMPER_CHECK or rep.get("done")):
            status, message = seen[name]
            checks.append(Check(name, status, message, cases.get(name)))
        elif outcome.timed_out or any(status == "timeout" for status, _ in seen.values()):
            limit = f"{timeout:g}"
            msg = Text("too_long", limit=limit) if rep.get("running") == name else Text("limit_reached", limit=limit)
            checks.append(Check(name, "timeout", msg))
        else:
            last = _last_line(outcome.tail)
            code = outcome.returncode
            msg = Text("judge_ended_last", code=code, last=last) if last else Text("judge_ended", code=code)
            checks.append(Check(name, "error", msg))
    return checks


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return sanitize(lines[-1], 200) if lines else ""
