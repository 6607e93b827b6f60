"""The grader survives hostile learner code: exits, crashes, loops, floods, tampering, shortcuts,
and attacks on the grader itself, on the learner's progress and on the machine.

Grading runs in three processes (the CLI, a trusted judge, a sandboxed worker that runs the
learner's file; see attnquiz/grading/__init__.py). Cases that cannot disturb each other share ONE
grading run (the `hostile` fixture: one judge, one worker, many files); cases that kill, hang or
poison the worker, or that go through the CLI, get their own run. Every hostile run is watched
(`_watched`): it must return within its time limit plus a few seconds, leave no process the
learner's code started, leave the progress database (and its folder) and the installed package
unchanged, and put no control character in any text it returns. Attacks that probe the sandbox
record how each try went (`attempt(name, action)` in the learner's file) and report it through
the exception their function raises ("outcome name=EACCES ..."), read back by `_outcome`; a try
that worked would also hand the learner the reference, i.e. a pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import attnquiz
from attnquiz import grading as grader, katas
from attnquiz.grading import sandbox

KATA = katas.load_kata("attention")
REFERENCE = KATA.reference.read_text(encoding="utf-8")
BODY = "    d_k = q.size(-1)\n"
WRONG = REFERENCE.replace("/ math.sqrt(d_k)", "")  # forgets the scaling: every value check fails
PACKAGE = Path(attnquiz.__file__).resolve().parent  # what a learner would attack (editable: the worktree's)
KATA_DIR = KATA.path.resolve()
N_CHECKS = len(grader.expected_checks(KATA))
FORGED = f"All {N_CHECKS} checks passed"  # what the CLI prints on a pass
SLACK_S = 4.0  # grading may take this much longer than its time limit (start-up, clean-up)
# C0 and C1 controls (newline allowed) and the bidi overrides runner.sanitize strips.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
confined = pytest.mark.skipif(
    sandbox.landlock_abi() < 6, reason="the worker is confined only with Landlock ABI 6+ (files, TCP, signals)"
)


@pytest.fixture(autouse=True)
def _sandbox_on(monkeypatch):
    """ATTNQUIZ_SANDBOX=off would let these attacks loose on this machine."""
    monkeypatch.delenv("ATTNQUIZ_SANDBOX", raising=False)


# --- learner files --------------------------------------------------------------------------------


def _inside(code: str, base: str = REFERENCE) -> str:
    """BASE with CODE run at the start of every call."""
    assert base.count(BODY) == 1
    return base.replace(BODY, "".join(f"    {line}\n" for line in code.splitlines()) + BODY)


def _at_import(code: str, base: str = REFERENCE) -> str:
    return base + "\n" + code + "\n"


def _fill(code: str, **values: Any) -> str:
    """CODE with every @NAME@ replaced by repr(values[NAME]) (no brace-doubling in learner code)."""
    for name, value in values.items():
        code = code.replace(f"@{name}@", repr(value))
    assert not re.search(r"@[A-Z_]+@", code), code
    return code


PRELUDE = '''\
import errno as _errno

OUTCOME = {}


def attempt(name, action):
    """Try ACTION; OUTCOME[name] says DONE, or the errno name or exception type that stopped it."""
    try:
        action()
    except OSError as exc:
        OUTCOME[name] = _errno.errorcode.get(exc.errno, type(exc).__name__) if exc.errno else type(exc).__name__
    except BaseException as exc:
        OUTCOME[name] = type(exc).__name__
    else:
        OUTCOME[name] = "DONE"


def scaled_dot_product_attention(q, k, v, mask=None):
    raise RuntimeError("outcome " + " ".join(f"{key}={value}" for key, value in OUTCOME.items()))


def steal(source):
    """Run the reference's source here: a pass, if it ever gets this far."""
    if isinstance(source, bytes):
        source = source.decode()
    if "def scaled_dot_product_attention" not in source:
        raise LookupError("no reference in what was read")
    exec(compile(source, "<stolen>", "exec"), globals())

'''


def _attack(code: str, **values: Any) -> str:
    """A learner file whose function raises 'outcome ...' unless CODE (run at import) steals one."""
    return PRELUDE + _fill(code, **values) + "\n"


def _outcome(text: str) -> dict[str, str]:
    """The `attempt` results an attack file reported in TEXT (a check message or the CLI's output)."""
    found = re.search(r"outcome((?: [\w.-]+=[\w.-]+)+)", text)
    assert found, f"the attack reported no outcome: {text!r}"
    return dict(pair.split("=", 1) for pair in found.group(1).split())


def _write(tmp_path: Path, name: str, source: str | bytes) -> Path:
    path = tmp_path / name / "attention.py"
    path.parent.mkdir(parents=True)
    if isinstance(source, bytes):
        path.write_bytes(source)
    else:
        path.write_text(source, encoding="utf-8")
    return path


def _check(result: grader.GradeResult, name: str) -> grader.Check:
    return next(c for c in result.checks if c.name == name)


# --- watching a run -------------------------------------------------------------------------------


def _digest_tree(root: Path) -> dict[str, str]:
    """Every file (sha256) and folder under ROOT; __pycache__ is left out (any Python run on this
    checkout may write there; the learner's writes into it are tried and checked by outcome)."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _proc_stat(pid: int) -> Optional[tuple[str, int, int]]:
    """(state, ppid, pgid) from /proc, or None once the process is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]), int(fields[2]))


def _with_token(token: str) -> list[int]:
    """Live processes whose command line carries TOKEN (the learner's files put it in theirs)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and token.encode() in _cmdline(int(entry.name)):
            if _proc_stat(int(entry.name)) is not None:
                pids.append(int(entry.name))
    return pids


def _wait_gone(pids_of: Callable[[], list[int]], grace_s: float) -> list[int]:
    end = time.monotonic() + grace_s
    while (alive := pids_of()) and time.monotonic() < end:
        time.sleep(0.05)
    return alive


def _kill(pids: list[int]) -> None:
    """Clean-up of processes this test caused (by id; only ever the token-carrying ones)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _db_rows(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        con.close()


def _make_progress() -> Path:
    """A real progress database under ATTNQUIZ_HOME, with one graded attempt (and the kata's state)."""
    from attnquiz.store import default_path

    katas.record_attempt("attention", False, 3, N_CHECKS, 4.2)
    db = default_path()
    assert db.is_file() and len(katas.attempts("attention")) == 1
    return db


def _texts(result: grader.GradeResult) -> list[str]:
    texts = [c.message for c in result.checks] + list(result.notices)
    texts += [t for d in result.diagnosis for t in (d.mistake, d.title, d.fix)]
    return texts + ([result.showcase] if result.showcase else [])


@dataclass
class Watched:
    """What a grading run did besides grading; `problems()` lists what it must not have done."""

    value: Any
    seconds: float
    limit: float
    survivors: list[str] = field(default_factory=list)
    home: list[str] = field(default_factory=list)
    package: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        if self.seconds > self.limit + SLACK_S:
            found.append(f"took {self.seconds:.1f} s, limit {self.limit:g} s")
        if self.survivors:
            found.append(f"processes the learner started are still alive: {self.survivors}")
        if self.home:
            found.append(f"the learner's data changed: {self.home}")
        if self.package:
            found.append(f"the installed package or the kata changed: {self.package}")
        found += [f"control character in {t!r}" for t in self.texts if CONTROL.search(t)]
        return found


def _watched(
    call: Callable[[], Any],
    *,
    limit: float,
    token: str,
    home: Path,
    cli: bool = False,
    texts: Optional[Callable[[Any], list[str]]] = None,
) -> Watched:
    """Run CALL (a grading) and record what it changed. HOME must hold a progress database. A CLI
    run records one failed attempt (the only change allowed); anything else must stay byte-for-byte."""
    db = home / "progress.sqlite3"
    trees = {"package": (PACKAGE, _digest_tree(PACKAGE)), "kata": (KATA_DIR, _digest_tree(KATA_DIR))}
    home_before = _digest_tree(home)
    rows_before = _db_rows(db) if cli else None
    started = time.monotonic()
    try:
        value = call()
    finally:
        seconds = time.monotonic() - started
        survivors = _wait_gone(lambda: _with_token(token), 1.5)
        names = [_cmdline(p).replace(b"\0", b" ").decode(errors="replace")[:120] for p in survivors]
        _kill(survivors)
        changed = [f"{label}: {c}" for label, (root, before) in trees.items() for c in _changes(before, _digest_tree(root))]
        for stray in PACKAGE.rglob(f"_hostile_{token}*"):  # what the attack creates if the sandbox is gone
            stray.unlink()
    run = Watched(value, seconds, limit, names, package=changed)
    if cli:  # the CLI records the attempt: one new failed row, nothing else changed
        after = _db_rows(db)
        old, new = rows_before.pop("kata_attempts"), after.pop("kata_attempts")
        if new[: len(old)] != old:
            run.home.append("earlier attempts changed")
        if [(row[1], row[3]) for row in new[len(old) :]] != [("attention", 0)]:
            run.home.append(f"expected one failed attempt recorded, found {new[len(old):]}")
        if after != rows_before:
            run.home.append("tables other than kata_attempts changed")
        run.home += [f"file {n}" for n in sorted(set(home_before) ^ set(_digest_tree(home)))]
    else:
        run.home = _changes(home_before, _digest_tree(home))
    run.texts = texts(value) if texts else [t for r in value for t in _texts(r)]
    return run


def _assert_hostile(result: grader.GradeResult, run: Watched) -> None:
    """The checks every hostile case must pass: not a pass, and a clean run."""
    assert not result.passed, [(c.name, c.status, c.message) for c in result.checks]
    assert [c.name for c in result.checks] == grader.expected_checks(KATA)
    assert run.problems() == []
    assert not [t for t in _texts(result) if CONTROL.search(t)]


# --- the shared run ---------------------------------------------------------------------------------

LIMIT = 60.0


def _hostile_sources(db: Path, port: int, token: str) -> dict[str, str | bytes]:
    home = str(db.parent)
    paths = dict(
        DB=str(db), HOME=home, PORT=port, TOKEN=token, PKG=str(PACKAGE), KDIR=str(KATA_DIR),
        REF=str(KATA.reference.resolve()), ROOT=str(KATA_DIR.parent.parent),
        REL=os.path.relpath(KATA.reference.resolve(), KATA_DIR.parent.parent),
    )  # fmt: skip
    latin1 = "# -*- coding: latin-1 -*-\n# Grüße aus Köln: this comment is latin-1, not UTF-8\n"
    return {
        # first: nothing else is loaded yet, so what they find is the grader's, not another file's
        # 6: the in-memory reference, looked for in gc, on the stack and in sys.modules
        "steal_memory": _attack(
            """
import gc, sys, types

NAME = "scaled_dot_" + "product_attention"


def foreign(f):
    # not this file's, not torch's (the guard's wrappers), not another learner file graded alongside
    mod = getattr(f, "__module__", None) or ""
    return isinstance(f, types.FunctionType) and f.__name__ == NAME and mod != __name__ and not mod.startswith(("torch", "learner_"))


found = [o for o in gc.get_objects() if foreign(o)]
frame = sys._getframe()
while frame is not None:
    for scope in (frame.f_locals, frame.f_globals):
        found += [v for v in list(scope.values()) if foreign(v) or foreign(getattr(v, NAME, None))]
    frame = frame.f_back
found += [getattr(m, NAME) for m in list(sys.modules.values()) if foreign(getattr(m, NAME, None))]
OUTCOME["found"] = str(len(found))
if found:
    globals()[NAME] = found[0] if callable(found[0]) else getattr(found[0], NAME)
""",
            **paths,
        ),
        # 1: the report writer, pytest and the helpers, looked for in memory and on the stack
        "find_reporter": _attack(
            """
import gc, sys

GRADER = ("Reporter", "Judge", "State", "Helpers", "Candidate", "WorkerClient", "Report")


def grader_like(obj):
    try:  # no hasattr: it runs arbitrary __getattr__ (torch's op packets look the name up as an op)
        if type(obj).__name__ in GRADER:
            return True
        return "token" in object.__getattribute__(obj, "__dict__") and callable(getattr(type(obj), "write", None))
    except Exception:
        return False


hits = [o for o in gc.get_objects() if grader_like(o)]
frame = sys._getframe()
while frame is not None:
    hits += [frame.f_locals[k] for k in ("reporter", "token", "judge", "report_fd", "STATE") if k in frame.f_locals]
    frame = frame.f_back
for obj in hits:
    for c in range(64):
        for check in ("loads", "shapes", "values_float64", "no_tampering"):
            attempt("forge", lambda: obj.write(kind="check", cand=f"c{c}", check=check, status="passed"))
OUTCOME["found"] = str(len(hits))
OUTCOME["grader_modules"] = str(len([m for m in sys.modules if m.split(".")[0] in ("attnquiz", "_pytest")]))
""",
            **paths,
        ),
        # --- correct solutions, in odd circumstances: they pass
        "good": REFERENCE,
        "good_numpy": _at_import("import numpy as np\n\n_ONES = np.ones(3)"),
        "good_latin1": (latin1 + REFERENCE).encode("latin-1", errors="replace"),
        "flood": _at_import("import sys\nfor _ in range(40):\n    sys.stdout.write('x' * 1_000_000)"),
        # --- exits and crashes
        "exit_call": _inside("import sys; sys.exit(0)"),
        "exit_import": _at_import("import sys; sys.exit(0)"),
        "kbd_call": _inside("raise KeyboardInterrupt"),
        "kbd_import": _at_import("raise KeyboardInterrupt"),
        "crash_import": _at_import("1 / 0"),
        "crash_call": _inside("raise ValueError('broken on purpose')"),
        "missing": "import torch\n\n\ndef attention(q, k, v, mask=None):\n    return q, q\n",
        # --- monkeypatching
        "tamper_import": _at_import(
            "torch.allclose = lambda *a, **k: True\ntorch.Tensor.__sub__ = lambda a, b: a * 0", WRONG
        ),
        "tamper_call": _inside("setattr(torch, 'allclose', lambda *a, **k: True)"),
        "rebind_tensor": _at_import(
            "torch.Tensor.allclose = lambda self, *a, **k: True\n"
            "torch.Tensor.__sub__ = lambda a, b: torch.zeros_like(a)\n"
            "torch.Tensor.masked_fill = lambda self, mask, value: self\n"
            "class _Lying(torch.nn.Parameter):\n    pass\n"
            "torch.nn.Parameter = _Lying",
            WRONG,
        ),
        "rebind_torch_nn": _at_import(  # a correct solution that rebinds torch.nn names: tampering
            "class _Param(torch.nn.Parameter):\n    pass\n"
            "torch.nn.Parameter = _Param\n"
            "_guarded = getattr(torch.nn, 'Multihead' + 'Attention')\n"
            "setattr(torch.nn, 'Multihead' + 'Attention', _guarded.__mro__[1])  # torch's own, unguarded"
        ),
        # --- forbidden calls and imports, reached around the static check
        "forbidden_runtime": (
            "import importlib\n\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
            "    f = getattr(importlib.import_module('torch.nn.fun' + 'ctional'), 'scaled_dot_' + 'product_attention')\n"
            "    out = f(q, k, v, attn_mask=mask)\n    return out, out\n"
        ),
        "import_attnquiz_dynamic": _at_import("__import__('attn' + 'quiz')"),
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
        "other_file_name": _compiled_elsewhere("'/elsewhere/innocent.py'"),
        "torch_file_name": _compiled_elsewhere("torch.__file__.replace('__init__', 'x')"),
        "fused_via_wrapped": (  # correct values, from the fused op behind the guard's wrapper
            "import torch\nimport torch.nn.functional as F\n\n"
            "_fused = getattr(F, 'scaled_dot_' + 'product_attention').__wrapped__\n\n\n"
            "def scaled_dot_product_attention(q, k, v, mask=None):\n"
            "    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5\n"
            "    if mask is not None:\n        scores = scores.masked_fill(~mask, float('-inf'))\n"
            "    weights = torch.softmax(scores, -1)\n"
            "    if mask is None:\n        return _fused(q, k, v), weights\n"
            "    weights = weights.masked_fill(~mask, 0.0)\n"
            "    out = _fused(q, k, v, attn_mask=mask).nan_to_num()\n"
            "    return torch.where(mask.any(-1, keepdim=True), out, torch.zeros_like(out)), weights\n"
        ),
        # --- 2: pytest patched where the learner's code runs
        "patch_pytest": _at_import(
            "import pytest, _pytest.python, _pytest.runner\n"
            "pytest.main = lambda *a, **k: 0\n"
            "_pytest.python.Function.runtest = lambda self: None\n"
            "_pytest.runner.pytest_runtest_call = lambda item: None",
            WRONG,
        ),
        # --- 3: a pytest plugin through the environment, written to the cwd, tmp and beside the file
        "addopts_plugin": _at_import(
            _fill(
                """
import os, sys, tempfile
_PLUGIN = (
    "import pytest\\n"
    "@pytest.hookimpl(hookwrapper=True)\\n"
    "def pytest_runtest_makereport(item, call):\\n"
    "    outcome = yield\\n"
    "    outcome.get_result().outcome = 'passed'\\n"
)
_WROTE = []
for _folder in (os.getcwd(), tempfile.gettempdir(), os.path.dirname(os.path.abspath(__file__))):
    for _name in ("attnquiz_forge.py", "conftest.py"):
        try:
            with open(os.path.join(_folder, _name), "w") as _f:
                _f.write(_PLUGIN)
            _WROTE.append(os.path.join(_folder, _name))
        except OSError:
            pass
os.environ["PYTEST_ADDOPTS"] = "-p attnquiz_forge"
os.environ["PYTEST_PLUGINS"] = "attnquiz_forge"
sys.path.insert(0, os.getcwd())
"""
            ),
            WRONG,
        ),
        # --- 7: reference.py read by its path, every which way
        "steal_files": _attack(
            """
import ctypes, importlib.util, os, subprocess, sys

attempt("open", lambda: steal(open(@REF@).read()))
attempt("proc_root", lambda: steal(open("/proc/self/root" + @REF@).read()))


def cat():
    done = subprocess.run(["cat", @REF@], capture_output=True)
    if done.returncode and b"Permission denied" in done.stderr:
        raise PermissionError(_errno.EACCES, done.stderr.decode())
    steal(done.stdout)


def libc():
    c = ctypes.CDLL(None, use_errno=True)
    fd = c.open(@REF@.encode(), os.O_RDONLY)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "libc open")
    buf = ctypes.create_string_buffer(1 << 20)
    steal(buf.raw[: c.read(fd, buf, 1 << 20)])


def dir_fd():
    root = os.open(@ROOT@, os.O_RDONLY | os.O_DIRECTORY)
    steal(os.read(os.open(@REL@, os.O_RDONLY, dir_fd=root), 1 << 20))


def chdir():
    here = os.getcwd()
    os.chdir(@KDIR@)
    try:
        steal(open("reference.py").read())
    finally:
        os.chdir(here)


def by_import():
    spec = importlib.util.spec_from_file_location("stolen_reference", @REF@)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    globals()["scaled_dot_product_attention"] = module.scaled_dot_product_attention


def by_search():
    for root in os.environ.get("PYTHONPATH", "").split(os.pathsep) + sys.argv + sys.path:
        path = os.path.join(root, "katas", "attention", "reference.py")
        if root and os.path.exists(path):
            return steal(open(path).read())
    raise LookupError("no reference on any path")


for _name, _action in [("cat", cat), ("libc", libc), ("dir_fd", dir_fd), ("chdir", chdir),
                       ("import", by_import), ("search", by_search)]:
    attempt(_name, _action)
""",
            **paths,
        ),
        # --- 9, 10: the progress database deleted, overwritten, forged
        "attack_db": _attack(
            """
import os, shutil, sqlite3


def home_from_environ():  # what ATTNQUIZ_HOME the judge has, should the path not be known
    data = open("/proc/%d/environ" % os.getppid(), "rb").read()
    found = [i.split(b"=", 1)[1].decode() for i in data.split(b"\\0") if i.startswith(b"ATTNQUIZ_HOME=")]
    if not found:
        raise LookupError("no ATTNQUIZ_HOME")
    return found[0]


try:
    HOME = home_from_environ()
except Exception:
    HOME = @HOME@
DB = os.path.join(HOME, "progress.sqlite3")


def forge():
    con = sqlite3.connect(DB, timeout=1)
    con.execute(
        "INSERT INTO kata_attempts (kata, attempted_at, passed, checks_passed, checks_total, seconds)"
        " VALUES ('attention', '2030-01-01T00:00:00.000000+00:00', 1, 12, 12, 1.0)"
    )
    con.commit()


attempt("remove", lambda: os.remove(DB))
attempt("rename", lambda: os.rename(DB, DB + ".gone"))
attempt("truncate", lambda: os.truncate(DB, 0))
attempt("overwrite", lambda: open(DB, "r+b").write(b"not a database"))
attempt("rmtree", lambda: shutil.rmtree(HOME))
attempt("wal", lambda: open(DB + "-wal", "wb").close())
attempt("sqlite", forge)
attempt("remove_known", lambda: os.remove(@DB@))
""",
            **paths,
        ),
        # --- 11: setsid and double-forked grandchildren that would delete the database in 15 s
        "setsid_grandchild": _attack(
            """
import os, subprocess, sys, time

LATER = "import os, sys, time\\ntime.sleep(15)\\nos.remove(sys.argv[1])\\n"
subprocess.Popen([sys.executable, "-c", LATER, @DB@, @TOKEN@], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", LATER, @DB@, @TOKEN@])
    finally:
        os._exit(0)
os.waitpid(pid, 0)


def running():
    found = 0
    for entry in os.listdir("/proc"):
        try:
            found += entry.isdigit() and @TOKEN@.encode() in open("/proc/%s/cmdline" % entry, "rb").read()
        except OSError:
            pass
    return found


end = time.time() + 10
while running() < 2 and time.time() < end:
    time.sleep(0.05)
OUTCOME["running"] = str(running())
""",
            **paths,
        ),
        # --- 14: a 32 MiB "report" of newlines on stdout, fd 1 and fd 2
        "flood_newlines": _at_import(
            "import os, sys\n"
            "for _ in range(32):\n    sys.stdout.write('\\n' * (1 << 20))\nsys.stdout.flush()\n"
            "for _fd in (1, 2):\n    for _ in range(32):\n        os.write(_fd, b'\\n' * (1 << 20))",
            WRONG,
        ),
        # --- 16: control characters in exception messages and names
        "ansi_call": _inside(r'raise RuntimeError("\x1b[2J\x1b[32mAll checks passed\x1b[0m\r\x07\x9b2K\u202egnissap")'),
        "ansi_import": _at_import(
            r'raise type("Evil\x1b[31m", (Exception,), {})("\x1b]0;title\x07\x1b[32mok\x1b[0m\r\x00\x08\x85")'
        ),
        # --- 17: 8 GiB, at import and in a call (the limit is 4 GiB)
        "mem_import": _at_import("_HOG = bytearray(8 << 30)", WRONG),
        "mem_call": _inside("torch.empty(2**31, dtype=torch.float32)"),
        # --- 18: the installed package written, appended to, deleted from (every try harmless if it worked)
        "write_package": _attack(
            """
import os, sys

NEW = os.path.join(@PKG@, "_hostile_" + @TOKEN@ + ".py")
INIT = os.path.join(@PKG@, "__init__.py")
attempt("append", lambda: open(os.path.join(@PKG@, "grading", "judge.py"), "a").close())
attempt("truncate", lambda: os.truncate(INIT, os.path.getsize(INIT)))
attempt("create", lambda: open(NEW, "w").close())
attempt("link", lambda: os.link(INIT, NEW + ".lnk"))
attempt("rmdir", lambda: os.rmdir(os.path.join(@PKG@, "grading")))
attempt("rename", lambda: os.rename(os.path.join(@PKG@, "grading"), os.path.join(@PKG@, "grading")))


def pycache():
    folder = os.path.join(@PKG@, "__pycache__")
    if not os.path.isdir(folder):
        return os.mkdir(folder)
    open(os.path.join(folder, "_hostile_" + @TOKEN@ + "." + sys.implementation.cache_tag + ".pyc"), "wb").close()


attempt("pycache", pycache)
attempt("kata", lambda: open(os.path.join(@KDIR@, "test_hidden.py"), "a").close())
""",
            **paths,
        ),
        # --- 19: TCP to a port this test listens on
        "network": _attack(
            """
import socket

attempt("connect", lambda: socket.create_connection(("127.0.0.1", @PORT@), timeout=3).close())


def raw():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", @PORT@))
    finally:
        s.close()


attempt("raw", raw)
attempt("bind", lambda: socket.socket().bind(("127.0.0.1", 0)))
""",
            **paths,
        ),
        # --- 20: the hidden tests, the judge's work folder, the learner's data
        "read_private": _attack(
            """
import glob, os

WORK = os.path.dirname(os.environ["TMPDIR"])  # the worker's scratch folder is inside the judge's


def suite_copy():
    hits = glob.glob(os.path.join(WORK, "suite-*", "test_hidden.py"))
    hits += glob.glob("/tmp/attnquiz-grade-*/**/test_hidden.py", recursive=True)
    if not hits:
        raise LookupError("no copy of the suite found")
    open(hits[0], "w").write("def test_values_float64():\\n    pass\\n")


attempt("hidden", lambda: open(os.path.join(@KDIR@, "test_hidden.py")).read())
attempt("mistakes", lambda: open(os.path.join(@KDIR@, "mistakes.py")).read())
attempt("tmp", lambda: os.listdir("/tmp"))
attempt("workdir", lambda: os.listdir(WORK))
attempt("owner", lambda: open(os.path.join(WORK, "owner.pid")).read())
attempt("suite", suite_copy)
attempt("home", lambda: os.listdir(@HOME@))
attempt("db", lambda: open(@DB@, "rb").read(16))
""",
            **paths,
        ),
        # last: it moves the worker's working directory for every file after it
        "good_chdir": _at_import("import os\nos.chdir('/')"),
    }


def _compiled_elsewhere(filename: str) -> str:
    """A file whose function calls the fused attention from code compiled under FILENAME."""
    return (
        "import torch\n"
        "src = ('def scaled_dot_product_attention(q, k, v, mask=None):\\n'\n"
        "       '    out = getattr(torch.nn.functional, \"scaled_dot_\" + \"product_attention\")(q, k, v, attn_mask=mask)\\n'\n"
        "       '    return out, out\\n')\n"
        f"scope = {{'torch': torch}}\nexec(compile(src, {filename}, 'exec'), scope)\n"
        "scaled_dot_product_attention = scope['scaled_dot_product_attention']\n"
    )


@dataclass
class Hostile:
    results: dict[str, grader.GradeResult]
    run: Watched
    db: Path
    accepted: bool  # did the test's listening socket get a connection?


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Hostile:
    """Every file that cannot disturb the others, graded by ONE judge and worker."""
    tmp = tmp_path_factory.mktemp("hostile")
    token = uuid.uuid4().hex
    with pytest.MonkeyPatch.context() as mp, socket.create_server(("127.0.0.1", 0)) as server:
        mp.setenv("ATTNQUIZ_HOME", str(tmp / "home"))
        mp.delenv("ATTNQUIZ_SANDBOX", raising=False)
        db = _make_progress()
        sources = _hostile_sources(db, server.getsockname()[1], token)
        files = [_write(tmp, name, source) for name, source in sources.items()]
        run = _watched(lambda: grader.grade_many(KATA, files, timeout=LIMIT), limit=LIMIT, token=token, home=db.parent)
        server.settimeout(0.5)
        try:
            server.accept()[0].close()
            accepted = True
        except TimeoutError:
            accepted = False
    return Hostile(dict(zip(sources, run.value)), run, db, accepted)


GOOD = ("good", "good_numpy", "good_latin1", "flood", "good_chdir")


def test_correct_files_pass_among_hostile_ones(hostile):
    """Also after os.chdir('/'), with a latin-1 encoding cookie, importing numpy, after 40 MB of prints."""
    for name in GOOD:
        result = hostile.results[name]
        assert result.passed, (name, [(c.name, c.message) for c in result.checks if not c.passed])
    assert hostile.run.problems() == []


def test_no_hostile_file_passes(hostile):
    passing = [n for n, r in hostile.results.items() if r.passed and n not in GOOD]
    assert passing == []


def test_sys_exit_keyboard_interrupt_and_crashes_are_failures(hostile):
    r = hostile.results
    for name in ("exit_call", "exit_import", "kbd_call", "kbd_import", "crash_import", "crash_call"):
        _assert_hostile(r[name], hostile.run)
    assert "SystemExit" in _check(r["exit_call"], "shapes").message
    assert "KeyboardInterrupt" in _check(r["kbd_call"], "shapes").message
    assert "sys.exit" in _check(r["exit_import"], "loads").message
    assert "KeyboardInterrupt" in _check(r["kbd_import"], "loads").message
    crash = _check(r["crash_import"], "loads")
    assert crash.status == "failed" and "ZeroDivisionError" in crash.message and "line" in crash.message
    assert _check(r["crash_import"], "shapes").message == "not run: the file did not load"
    in_call = _check(r["crash_call"], "shapes")
    assert in_call.status == "failed" and "ValueError" in in_call.message and "broken on purpose" in in_call.message


def test_missing_symbol_is_named(hostile):
    _assert_hostile(hostile.results["missing"], hostile.run)
    check = _check(hostile.results["missing"], "loads")
    assert check.status == "failed" and "scaled_dot_product_attention" in check.message


def test_monkeypatching_is_reported_and_the_wrong_value_still_caught(hostile):
    for name, replaced in [("tamper_import", "torch.allclose"), ("tamper_call", "torch.allclose"),
                           ("rebind_tensor", "Tensor.allclose")]:  # fmt: skip
        result = hostile.results[name]
        _assert_hostile(result, hostile.run)
        tamper = _check(result, "no_tampering")
        assert tamper.status == "failed" and replaced in tamper.message, (name, tamper)
    assert "Tensor.__sub__" in _check(hostile.results["rebind_tensor"], "no_tampering").message
    for name in ("tamper_import", "rebind_tensor"):
        assert _check(hostile.results[name], "values_float64").status == "failed", name


def test_rebinding_torch_nn_is_tampering(hostile):
    result = hostile.results["rebind_torch_nn"]
    assert hostile.run.problems() == []
    tamper = _check(result, "no_tampering")
    assert tamper.status == "failed" and "Parameter" in tamper.message and "MultiheadAttention" in tamper.message


def test_runtime_forbidden_call_and_dynamic_attnquiz_import(hostile):
    result = hostile.results["forbidden_runtime"]
    _assert_hostile(result, hostile.run)
    check = _check(result, "no_forbidden_calls")
    assert check.status == "failed" and "scaled_dot_product_attention" in check.message
    dynamic = hostile.results["import_attnquiz_dynamic"]
    _assert_hostile(dynamic, hostile.run)
    assert "attnquiz is forbidden" in _check(dynamic, "loads").message


def test_fused_attention_is_forbidden_however_it_is_reached(hostile):
    expected = {
        "aten_getattr": "torch.ops.aten.scaled_dot_product_attention",
        "aten_math_overload": "_scaled_dot_product_attention_math",
        "torch_private_math": "torch._scaled_dot_product_attention_math",
        "torch_C_nn": "scaled_dot_product_attention",
        "other_file_name": "torch.nn.functional.scaled_dot_product_attention",
        "torch_file_name": "torch.nn.functional.scaled_dot_product_attention",  # 8: compiled as torch's own
    }
    for name, call in expected.items():
        result = hostile.results[name]
        _assert_hostile(result, hostile.run)
        check = _check(result, "no_forbidden_calls")
        assert check.status == "failed" and call in check.message and "forbids" in check.message, (name, check)
        assert _check(result, "shapes").status == "failed", name


def test_fused_attention_through_the_wrappers_dunder_wrapped_is_forbidden(hostile):
    result = hostile.results["fused_via_wrapped"]
    assert not result.passed
    loads = _check(result, "loads")  # the wrapper hands out no __wrapped__ original
    assert loads.status == "failed" and "AttributeError" in loads.message and "__wrapped__" in loads.message, loads


def test_no_report_writer_pytest_or_grader_in_the_worker(hostile):
    """1: the reporter, the judge and their helpers are not in the worker's memory or stack."""
    result = hostile.results["find_reporter"]
    _assert_hostile(result, hostile.run)
    assert _outcome(_check(result, "shapes").message) == {"found": "0", "grader_modules": "0"}


def test_patching_pytest_or_adding_plugins_changes_nothing(hostile):
    """2, 3: pytest runs in the judge; the worker's pytest, environment and files do not reach it."""
    for name in ("patch_pytest", "addopts_plugin"):
        result = hostile.results[name]
        _assert_hostile(result, hostile.run)
        assert _check(result, "values_float64").status == "failed", name
    beside = hostile.results["addopts_plugin"].file.parent
    assert sorted(p.name for p in beside.iterdir()) == ["attention.py"], "the learner wrote beside its file"


def test_the_reference_is_not_in_the_workers_memory(hostile):
    """6 (and the old sys.modules theft): no function of that name but the learner's own."""
    result = hostile.results["steal_memory"]
    _assert_hostile(result, hostile.run)
    assert _outcome(_check(result, "shapes").message) == {"found": "0"}


@confined
def test_the_reference_cannot_be_read_by_its_path(hostile):
    """7: open, /proc/self/root, cat, libc open/read, dir_fd, chdir, import, a search of the paths."""
    result = hostile.results["steal_files"]
    _assert_hostile(result, hostile.run)
    outcome = _outcome(_check(result, "shapes").message)
    assert set(outcome) == {"open", "proc_root", "cat", "libc", "dir_fd", "chdir", "import", "search"}
    # "search" walks sys.path for a checkout's katas/: refused in a checkout, absent from a wheel install
    assert outcome.pop("search") in ("EACCES", "LookupError"), outcome
    assert set(outcome.values()) == {"EACCES"}, outcome


@confined
def test_the_progress_database_cannot_be_deleted_written_or_forged(hostile):
    """9, 10 (the path known, or read from the judge's environment)."""
    result = hostile.results["attack_db"]
    _assert_hostile(result, hostile.run)
    outcome = _outcome(_check(result, "shapes").message)
    assert outcome.pop("sqlite") == "OperationalError"  # "unable to open database file"
    assert outcome and set(outcome.values()) == {"EACCES"}, outcome
    assert len(_db_rows(hostile.db)["kata_attempts"]) == 1


@linux_only
def test_setsid_and_double_forked_grandchildren_die_with_grading(hostile):
    """11: both would delete the database 15 s later; `_watched` found neither alive after grading."""
    result = hostile.results["setsid_grandchild"]
    _assert_hostile(result, hostile.run)
    assert _outcome(_check(result, "shapes").message) == {"running": "2"}  # both had started


def test_output_floods_are_drained(hostile):
    """14 (stdout and fd 1/2; inherited fds: test_writing_to_every_fd_is_a_quick_failure)."""
    result = hostile.results["flood_newlines"]
    _assert_hostile(result, hostile.run)
    assert _check(result, "values_float64").status == "failed"


def test_control_characters_never_reach_the_result(hostile):
    """16, in a call and at import (exception type and message)."""
    call, imp = hostile.results["ansi_call"], hostile.results["ansi_import"]
    for result in (call, imp):
        _assert_hostile(result, hostile.run)
    assert "All checks passed" in _check(call, "shapes").message  # the text stays, its escapes go
    assert "Evil" in _check(imp, "loads").message and "ok" in _check(imp, "loads").message


def test_allocating_8_gib_fails_and_grading_goes_on(hostile):
    """17 with the default 4 GiB (1 GiB: test_a_smaller_memory_limit_holds_too)."""
    mem_import, mem_call = hostile.results["mem_import"], hostile.results["mem_call"]
    for result in (mem_import, mem_call):
        _assert_hostile(result, hostile.run)
    assert "MemoryError" in _check(mem_import, "loads").message
    assert _check(mem_call, "shapes").status == "failed" and "memory" in _check(mem_call, "shapes").message.lower()
    assert hostile.results["good_chdir"].passed  # loaded last: the worker went on after both


@confined
def test_the_installed_package_cannot_be_changed(hostile):
    """18: append, truncate, create, hard link, rmdir, rename, __pycache__, the kata's folder."""
    result = hostile.results["write_package"]
    _assert_hostile(result, hostile.run)  # includes: no file under the package or the kata changed
    outcome = _outcome(_check(result, "shapes").message)
    assert set(outcome) == {"append", "truncate", "create", "link", "rmdir", "rename", "pycache", "kata"}
    assert set(outcome.values()) == {"EACCES"}, outcome


@confined
def test_no_tcp_connection_leaves_the_worker(hostile):
    """19: the test's listening socket never got a connection."""
    result = hostile.results["network"]
    _assert_hostile(result, hostile.run)
    assert _outcome(_check(result, "shapes").message) == {"connect": "EACCES", "raw": "EACCES", "bind": "EACCES"}
    assert not hostile.accepted


@confined
def test_hidden_tests_work_folder_and_learner_data_are_unreadable(hostile):
    """20: the kata's hidden suite and mistakes, /tmp, the judge's folder and its suite copy, ATTNQUIZ_HOME."""
    result = hostile.results["read_private"]
    _assert_hostile(result, hostile.run)
    outcome = _outcome(_check(result, "shapes").message)
    assert outcome.pop("suite") == "LookupError"  # no copy of the suite can be found to rewrite
    assert set(outcome) == {"hidden", "mistakes", "tmp", "workdir", "owner", "home", "db"}
    assert set(outcome.values()) == {"EACCES"}, outcome


# --- runs of their own ----------------------------------------------------------------------------


@pytest.fixture
def progress(_isolated_home) -> Path:
    """A real progress database in this test's ATTNQUIZ_HOME, with one attempt already recorded."""
    return _make_progress()


def _grade_watched(tmp_path: Path, home: Path, sources: dict[str, str], timeout: float, token: str = "", **kw) -> Watched:
    files = [_write(tmp_path, name, source) for name, source in sources.items()]
    token = token or uuid.uuid4().hex
    return _watched(lambda: grader.grade_many(KATA, files, timeout=timeout, **kw), limit=timeout, token=token, home=home)


def test_a_global_torch_function_mode_cannot_agree_with_everything(tmp_path, progress):
    """4: entered at import and never left, it answers True to every comparison and 0 to differences."""
    source = _at_import(
        "from torch.overrides import TorchFunctionMode\n\n\n"
        "class Agreeable(TorchFunctionMode):\n"
        "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
        "        name = getattr(func, '__name__', '')\n"
        "        if name in ('allclose', 'equal'):\n            return True\n"
        "        if name in ('isclose', 'eq', '__eq__'):\n            return torch.ones_like(args[0], dtype=torch.bool)\n"
        "        if name in ('sub', '__sub__', '__rsub__', 'abs', '__abs__'):\n            return torch.zeros_like(args[0])\n"
        "        return func(*args, **(kwargs or {}))\n\n\n"
        "Agreeable().__enter__()",
        WRONG,
    )
    run = _grade_watched(tmp_path, progress.parent, {"mode": source}, timeout=60)
    (result,) = run.value
    _assert_hostile(result, run)
    assert _check(result, "loads").status == "passed"
    assert _check(result, "values_float64").status == "failed"  # the comparison happens in the judge


def test_writing_to_every_fd_is_a_quick_failure(tmp_path, progress):
    """1 and 14 on the worker's inherited fds (its pipes to the judge): forged "passed" lines through
    anything that looks like a writer, then 32 MiB of newlines on every fd. Grading ends at once."""
    source = _at_import(
        "import gc, json, os\n"
        "_LINES = b''.join(json.dumps({'kind': 'check', 'cand': f'c{c}', 'check': name, 'status': 'passed', 'n': n,\n"
        "                              'ok': True, 'value': True}).encode() + b'\\n'\n"
        "                  for c in range(8) for n in range(8) for name in ('loads', 'shapes', 'values_float64', 'no_tampering'))\n"
        "for _f in [o for o in gc.get_objects() if type(o).__name__ == 'function' and o.__name__ in ('write_message', 'write')]:\n"
        "    try:\n        _f(3, {'n': 1, 'ok': True, 'value': True})\n    except Exception:\n        pass\n"
        "for _fd in range(256):\n"
        "    try:\n        os.write(_fd, _LINES)\n    except OSError:\n        pass\n"
        "for _fd in range(256):\n"
        "    try:\n"
        "        for _ in range(32):\n            os.write(_fd, b'\\n' * (1 << 20))\n"
        "    except OSError:\n        pass",
        WRONG,
    )
    run = _grade_watched(tmp_path, progress.parent, {"fds": source}, timeout=30)
    (result,) = run.value
    _assert_hostile(result, run)
    assert run.seconds < 15, f"{run.seconds:.1f} s: grading waited for the time limit"


def test_a_smaller_memory_limit_holds_too(tmp_path, progress):
    """17 with --memory 1 GiB: both 8 GiB allocations fail, and a correct file still passes."""
    sources = {
        "mem_import": _at_import("_HOG = bytearray(8 << 30)", WRONG),
        "mem_call": _inside("torch.empty(2**31, dtype=torch.float32)"),
        "good": REFERENCE,
    }
    run = _grade_watched(tmp_path, progress.parent, sources, timeout=60, memory=1 << 30)
    mem_import, mem_call, good = run.value
    for result in (mem_import, mem_call):
        _assert_hostile(result, run)
    assert "MemoryError" in _check(mem_import, "loads").message
    assert "memory" in _check(mem_call, "shapes").message.lower()
    assert good.passed, [(c.name, c.message) for c in good.checks if not c.passed]


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
)  # fmt: skip
def test_static_checks_fail_without_running(tmp_path, source, message):
    path = tmp_path / "attention.py"
    path.write_text(source, encoding="utf-8")
    started = time.monotonic()
    result = grader.grade(KATA, path)
    assert time.monotonic() - started < 1.0, "static failures must not start torch"
    assert not result.passed
    assert any(message in c.message for c in result.checks if c.status == "failed")
    assert [c.name for c in result.checks] == grader.expected_checks(KATA)


def test_infinite_loop_in_a_call_times_out(tmp_path, progress):
    run = _grade_watched(tmp_path, progress.parent, {"loop": _inside("while True: pass")}, timeout=8)
    (result,) = run.value
    _assert_hostile(result, run)
    check = _check(result, "shapes")
    assert check.status == "timeout" and "8 s" in check.message
    assert _check(result, "no_tampering").status == "timeout"


def _pipe_holders(token: str) -> str:
    """12: grandchildren that keep the worker's stdout/stderr open and sleep; then a loop at import."""
    return _at_import(
        _fill(
            "import subprocess, sys\n"
            "for _own_session in (False, True):\n"
            "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', @TOKEN@],\n"
            "                     start_new_session=_own_session)\n"
            "while True:\n    pass",
            TOKEN=token,
        ),
        WRONG,
    )


@linux_only
def test_an_infinite_loop_at_import_with_pipe_holding_grandchildren_times_out(tmp_path, progress):
    """Infinite loop at import, and 12 through grade(): back within about the 10 s limit."""
    token = uuid.uuid4().hex
    run = _grade_watched(tmp_path, progress.parent, {"holders": _pipe_holders(token)}, timeout=10, token=token)
    (result,) = run.value
    _assert_hostile(result, run)
    assert run.seconds < 13
    check = _check(result, "loads")
    assert check.status == "timeout" and "10 s" in check.message
    assert _check(result, "no_tampering").status == "timeout"


@pytest.mark.parametrize("where", ["call", "import"])
def test_os_exit_is_never_a_pass(tmp_path, progress, where):
    # the output before the exit reaches the message ("last output"), its escapes must not
    code = "print('\\x1b[31mbye\\x07\\r'); import os; os._exit(0)"
    source = _inside(code) if where == "call" else _at_import(code)
    run = _grade_watched(tmp_path, progress.parent, {"osexit": source}, timeout=60)
    (result,) = run.value
    _assert_hostile(result, run)
    assert any("os._exit" in c.message for c in result.checks if c.status == "error")


# --- through the CLI --------------------------------------------------------------------------------


def _default_signals() -> None:  # a runner started in the background may ignore SIGINT
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def _cli(*args: str, env: Optional[dict[str, str]] = None, cwd: Optional[Path] = None) -> subprocess.Popen:
    """`attnquiz ARGS` in its own session (a learner's killpg must not reach this test), bytes out."""
    return subprocess.Popen(
        [sys.executable, "-m", "attnquiz", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_signals, start_new_session=True,
        env={**os.environ, "COLUMNS": "300", **(env or {})}, cwd=cwd,
    )  # fmt: skip


def _cli_run(*args: str, timeout: float, env: Optional[dict[str, str]] = None, cwd: Optional[Path] = None) -> tuple[int, str, str]:
    proc = _cli(*args, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the CLI did not return within {timeout} s: {out!r} {err!r}") from None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _cli_texts(value: tuple[int, str, str]) -> list[str]:
    return [value[1], value[2]]


@linux_only
def test_a_pipe_holding_grandchild_cannot_stretch_the_clis_time_limit(tmp_path, progress):
    """12 through `attnquiz grade --timeout 10 --json`."""
    token = uuid.uuid4().hex
    path = _write(tmp_path, "holders", _pipe_holders(token))
    run = _watched(
        lambda: _cli_run("grade", "attention", "--file", str(path), "--timeout", "10", "--json", timeout=60),
        limit=10, token=token, home=progress.parent, cli=True, texts=_cli_texts,
    )  # fmt: skip
    code, out, err = run.value
    assert run.problems() == []
    assert run.seconds < 10 + SLACK_S
    assert code == 1 and "Traceback" not in out + err
    data = json.loads(out)
    assert data["passed"] is False
    loads = next(c for c in data["checks"] if c["name"] == "loads")
    assert loads["status"] == "timeout" and "10 s" in loads["message"]


@linux_only
@confined
def test_the_learners_terminal_and_the_graders_processes_are_out_of_reach(tmp_path, progress):
    """Through the CLI, one file: 15 a forged green verdict written to the judge's and the CLI's fd 1
    and 2 (through /proc), to /dev/tty and to its own stdout/stderr; 13 SIGSTOP and SIGKILL to the
    judge, its process group, the CLI, its group, and (signals being refused) every pid and -1;
    16 escapes, C1 controls and rich markup in the exception message of every call."""
    forged = ("\x1b[2J\x1b[H\x1b[1;32m" + FORGED + " in 0.1 s — kata passed.\x1b[0m\n").encode()
    source = _attack(
        """
import os, signal, sys

PPID = os.getppid()
CLI = int(open("/proc/%d/stat" % PPID).read().rsplit(")", 1)[1].split()[1])


def scribble(path):
    with open(path, "wb", buffering=0) as f:
        f.write(@FORGED@)


for _name, _path in [("judge_out", "/proc/%d/fd/1" % PPID), ("judge_err", "/proc/%d/fd/2" % PPID),
                     ("cli_out", "/proc/%d/fd/1" % CLI), ("cli_err", "/proc/%d/fd/2" % CLI), ("tty", "/dev/tty")]:
    attempt(_name, lambda p=_path: scribble(p))
sys.stdout.write(@FORGED@.decode())
sys.stdout.flush()
os.write(2, @FORGED@)
for _sig in (signal.SIGSTOP, signal.SIGKILL):
    _s = _sig.name.lower()[3:]
    attempt(_s + "_judge", lambda: os.kill(PPID, _sig))
    attempt(_s + "_judge_group", lambda: os.killpg(os.getpgid(PPID), _sig))
    attempt(_s + "_cli", lambda: os.kill(CLI, _sig))
    attempt(_s + "_cli_group", lambda: os.killpg(os.getpgid(CLI), _sig))
if OUTCOME["stop_judge"] == "EPERM":  # signals are confined; unconfined, this would stop the machine
    _hits = 0
    for _entry in os.listdir("/proc"):
        if _entry.isdigit() and int(_entry) not in (1, os.getpid()):
            for _sig in (signal.SIGSTOP, signal.SIGKILL):
                try:
                    os.kill(int(_entry), _sig)
                    _hits += 1
                except OSError:
                    pass
    OUTCOME["sweep_hits"] = str(_hits)
    attempt("kill_all", lambda: os.kill(-1, signal.SIGKILL))


def scaled_dot_product_attention(q, k, v, mask=None):
    raise RuntimeError("\\x1b[2J\\x1b[31mESCAPED\\x1b[0m\\r\\x07\\x9b2K\\u202e :x: [bold]loud[/bold] :thumbs_up: outcome "
                       + " ".join(f"{key}={value}" for key, value in OUTCOME.items()))
""",
        FORGED=forged,
    )
    path = _write(tmp_path, "terminal", source)
    run = _watched(
        lambda: _cli_run("grade", "attention", "--file", str(path), "--timeout", "60", timeout=90),
        limit=60, token=uuid.uuid4().hex, home=progress.parent, cli=True, texts=_cli_texts,
    )  # fmt: skip
    code, out, err = run.value
    assert code == 1, (out, err)  # the CLI survived and graded
    assert run.problems() == []  # includes: no control character in stdout or stderr
    assert FORGED not in out + err and "Traceback" not in out + err
    assert ":x: [bold]loud[/bold] :thumbs_up:" in out and "ESCAPED" in out  # printed literally
    assert "❌" not in out and "👍" not in out
    outcome = _outcome(out)
    assert outcome.pop("sweep_hits") == "0"
    outcome.pop("kill_all")  # kill(-1) reports success when every process refused; the CLI's exit 1 is the proof
    assert set(outcome.values()) <= {"EACCES", "EPERM", "ENXIO", "ESRCH"}, sorted(outcome.items())
    assert len(outcome) == 13, outcome


@linux_only
@confined
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_source_checkouts_history_and_builds_do_not_hand_out_the_reference(tmp_path, progress):
    """7 once more, graded from a source checkout (attnquiz on PYTHONPATH): the checkout is split
    around attnquiz/, katas/ and questions/, and its .git, build/ and dist/ hold the reference too."""
    import zipfile

    from attnquiz.paths import content_dir

    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PACKAGE, checkout / "attnquiz", ignore=ignore)
    for name in ("katas", "questions"):
        shutil.copytree(content_dir(name), checkout / name, ignore=ignore)
    (checkout / "pyproject.toml").write_text('[project]\nname = "attnquiz"\n')
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "katas"], ["commit", "-q", "-m", "katas"]):
        subprocess.run(git + args, check=True, capture_output=True)
    built = checkout / "build" / "lib" / "attnquiz" / "_content" / "katas" / "attention"
    shutil.copytree(KATA_DIR, built, ignore=ignore)
    (checkout / "dist").mkdir()
    with zipfile.ZipFile(checkout / "dist" / "attnquiz-0.1.0-py3-none-any.whl", "w") as wheel:
        wheel.write(KATA.reference, "attnquiz/_content/katas/attention/reference.py")
    thief = _attack(
        """
import subprocess, zipfile


def git_show():
    done = subprocess.run(["git", "-C", @CHECKOUT@, "show", "HEAD:katas/attention/reference.py"], capture_output=True)
    steal(done.stdout)  # LookupError: git read nothing


attempt("git", git_show)
attempt("git_objects", lambda: open(@CHECKOUT@ + "/.git/HEAD").read())
attempt("build", lambda: steal(open(@CHECKOUT@ + "/build/lib/attnquiz/_content/katas/attention/reference.py").read()))
attempt("dist", lambda: steal(zipfile.ZipFile(@WHEEL@).read("attnquiz/_content/katas/attention/reference.py")))
""",
        CHECKOUT=str(checkout),
        WHEEL=str(checkout / "dist" / "attnquiz-0.1.0-py3-none-any.whl"),
    )
    path = _write(tmp_path, "thief", thief)
    run = _watched(
        lambda: _cli_run("grade", "attention", "--file", str(path), "--json", timeout=120,
                         env={"PYTHONPATH": str(checkout)}, cwd=tmp_path),
        limit=60, token=uuid.uuid4().hex, home=progress.parent, cli=True, texts=_cli_texts,
    )  # fmt: skip
    code, out, err = run.value
    data = json.loads(out)
    assert data["passed"] is False and code == 1, "the reference was read from the checkout"
    outcome = _outcome(json.dumps(data["checks"]))
    assert outcome == {"git": "LookupError", "git_objects": "EACCES", "build": "EACCES", "dist": "EACCES"}
    assert run.problems() == []


@confined
def test_a_leftover_copy_of_the_content_on_sys_path_is_unreadable(tmp_path, progress, monkeypatch):
    shadow = tmp_path / "site-packages"
    shutil.copytree(KATA_DIR, shadow / "attnquiz" / "_content" / "katas" / "attention",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    monkeypatch.setenv("PYTHONPATH", str(shadow))  # after the real attnquiz, which still wins the import
    thief = _attack(
        """
import os, sys


def search():
    for root in sys.path:
        path = os.path.join(root, "attnquiz", "_content", "katas", "attention", "reference.py")
        if root and os.path.isfile(path):
            return steal(open(path).read())
    raise LookupError("no copy found")


attempt("search", search)
"""
    )
    run = _grade_watched(tmp_path, progress.parent, {"thief": thief}, timeout=60)
    (result,) = run.value
    _assert_hostile(result, run)
    assert _outcome(_check(result, "shapes").message) == {"search": "EACCES"}


# --- killing and interrupting the CLI ---------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = []
        for p in frontier:
            for task in Path(f"/proc/{p}/task").glob("*"):
                try:
                    children += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        found += children
        frontier = children
    return found


def _looping_spawner(token: str) -> str:
    """Starts a process with TOKEN in its command line (so the test knows the learner's code runs),
    then loops at import."""
    code = "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', @TOKEN@])"
    return _at_import(_fill(code, TOKEN=token) + "\nwhile True:\n    pass")


def _wait_running(cli: subprocess.Popen, token: str, deadline_s: float = 60) -> tuple[int, int]:
    """(judge, worker) pids of CLI, once the learner's code runs in the worker."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert cli.poll() is None, cli.communicate()
        if _with_token(token):
            tree = {p: _cmdline(p) for p in _descendants(cli.pid)}
            judge = [p for p, c in tree.items() if b"attnquiz.grading.judge" in c]
            worker = [p for p, c in tree.items() if b"attnquiz.grading.worker" in c]
            if judge and worker:
                return judge[0], worker[0]
        time.sleep(0.05)
    raise AssertionError("the learner's code never started running")


def _grade_dirs(owner: int | None = None) -> set[str]:
    """Grading work folders in the temp folder (only OWNER's, when given: other test runs may grade too)."""
    found = set()
    for p in Path(tempfile.gettempdir()).glob("attnquiz-grade-*"):
        try:
            mine = owner is None or int((p / "owner.pid").read_text()) == owner
        except (OSError, ValueError):
            mine = False
        if mine:
            found.add(p.name)
    return found


@linux_only
def test_sigkill_to_the_cli_kills_everything_and_a_later_run_sweeps_its_folder(tmp_path, progress):
    token = uuid.uuid4().hex
    path = _write(tmp_path, "loop", _looping_spawner(token))
    before = katas.attempts("attention")
    cli = _cli("grade", "attention", "--file", str(path), "--timeout", "120")
    try:
        judge, worker = _wait_running(cli, token)
        left = _grade_dirs(cli.pid)
        assert left, "the grader's work folder should exist while it runs"
        cli.send_signal(signal.SIGKILL)
        cli.communicate()
        gone = lambda: [p for p in (judge, worker, *_with_token(token)) if _proc_stat(p) is not None]  # noqa: E731
        assert _wait_gone(gone, 5) == [], "the judge, the worker or the learner's process outlived the CLI"
        good = _write(tmp_path, "good", REFERENCE)
        assert grader.grade(KATA, good, timeout=120).passed
        assert not (left & _grade_dirs()), "the dead grader's work folder was not swept"
        assert katas.attempts("attention") == before  # nothing recorded
    finally:
        if cli.poll() is None:
            cli.kill()
        _kill(_with_token(token))


@linux_only
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signals_stop_grading_clean_up_and_record_nothing(tmp_path, progress, signum, code):
    token = uuid.uuid4().hex
    path = _write(tmp_path, "loop", _looping_spawner(token))
    before = katas.attempts("attention")
    cli = _cli("grade", "attention", "--file", str(path), "--timeout", "120")
    try:
        judge, worker = _wait_running(cli, token)
        assert _grade_dirs(cli.pid), "the grader's work folder should exist while it runs"
        cli.send_signal(signum)
        out, err = (b.decode() for b in cli.communicate(timeout=30))
        assert cli.returncode == code, (out, err)
        assert err.strip() == "grading interrupted; nothing recorded"
        assert "Traceback" not in out + err and not CONTROL.search(out + err)
        left = lambda: [p for p in (judge, worker, *_with_token(token)) if _proc_stat(p) is not None]  # noqa: E731
        assert _wait_gone(left, 1.0) == [], "a process of the grading outlived the CLI"
        assert not _grade_dirs(cli.pid), "the work folder was left behind"
        assert katas.attempts("attention") == before
    finally:
        if cli.poll() is None:
            cli.kill()
        _kill(_with_token(token))


# --- files refused before grading ---------------------------------------------------------------------


def test_huge_files_are_refused_before_parsing(tmp_path):
    path = tmp_path / "attention.py"
    path.write_text(REFERENCE + "x = 1\n" * 60_000)  # ~360 KB
    started = time.monotonic()
    code, out, err = _cli_run("grade", "attention", "--file", str(path), "--timeout", "5", timeout=60)
    assert time.monotonic() - started < 5
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
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
    syntax = _check(result, "syntax")
    assert syntax.status == "failed" and message in syntax.message and "attention.py" in syntax.message
    assert [c.name for c in result.checks] == grader.expected_checks(KATA) and not result.passed
