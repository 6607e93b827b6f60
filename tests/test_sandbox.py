"""The grading sandbox, tested in real child processes that confine themselves.

Confinement cannot be undone, so it is never applied to the pytest process:
each test runs ``python -c`` in a child, which confines itself, tries things
and prints a JSON report that the test checks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from attnquiz.grading import sandbox

REPO = Path(__file__).resolve().parents[1]
ABI = sandbox.landlock_abi()

needs_landlock = pytest.mark.skipif(ABI < 1, reason="Landlock is not available here")
needs_net_rules = pytest.mark.skipif(ABI < 4, reason="TCP rules need Landlock ABI 4")
needs_scopes = pytest.mark.skipif(ABI < 6, reason="signal scoping needs Landlock ABI 6")

PRELUDE = """
import json, os, sys
from pathlib import Path
from attnquiz.grading import sandbox
ARGS = json.loads(sys.argv[1])
OUT = {}
def attempt(fn):
    try:
        value = fn()
    except BaseException as exc:
        return type(exc).__name__
    return "ok" if value is None else value
def read(path):
    with open(path) as handle:
        return handle.read()
def write(path, text="x"):
    with open(path, "w") as handle:
        handle.write(text)
"""


def run_child(code: str, cwd: Path, **args: object) -> dict:
    """Run ``code`` after PRELUDE in a fresh interpreter and return the OUT dict it prints."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    source = PRELUDE + textwrap.dedent(code) + "\nprint(json.dumps(OUT))\n"
    proc = subprocess.run(
        [sys.executable, "-c", source, json.dumps(args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_landlock_abi_is_a_version_number() -> None:
    assert isinstance(ABI, int) and ABI >= 0


def test_confine_without_landlock_applies_nothing(monkeypatch, tmp_path) -> None:
    before = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    result = sandbox.confine(read=[tmp_path], write=[tmp_path])
    assert result.abi == 0
    assert not (result.files_confined or result.net_confined or result.signals_confined)
    assert "Landlock" in result.reason and result.reason.endswith(".")
    after = Path("/proc/self/status").read_text() if before else ""
    no_new_privs = [line for line in after.splitlines() if line.startswith("NoNewPrivs")]
    assert no_new_privs == [line for line in before.splitlines() if line.startswith("NoNewPrivs")]
    (tmp_path / "still-writable").write_text("x")


@needs_landlock
def test_confine_reports_what_the_kernel_enforces(tmp_path) -> None:
    out = run_child("""
        c = sandbox.confine(read=sandbox.python_read_roots(), write=[ARGS["scratch"]])
        OUT.update(abi=c.abi, files=c.files_confined, net=c.net_confined,
                   signals=c.signals_confined, reason=c.reason)
        OUT["nnp"] = [l for l in read("/proc/self/status").splitlines() if l.startswith("NoNewPrivs")]
    """, tmp_path, scratch=str(tmp_path))
    assert out == {"abi": ABI, "files": True, "net": ABI >= 4, "signals": ABI >= 6,
                   "reason": "", "nnp": ["NoNewPrivs:\t1"]}


@needs_landlock
@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5])
def test_older_abis_get_a_ruleset_of_their_own_size(tmp_path, abi) -> None:
    if abi > ABI:
        pytest.skip(f"the kernel only has Landlock ABI {ABI}")
    out = run_child("""
        sandbox.landlock_abi = lambda: ARGS["abi"]
        c = sandbox.confine(read=sandbox.python_read_roots(), write=["/dev/null"])
        OUT.update(net=c.net_confined, signals=c.signals_confined)
        OUT["outside_write"] = attempt(lambda: write(Path(ARGS["tmp"]) / "outside.txt"))
        OUT["probe_parent"] = attempt(lambda: os.kill(os.getppid(), 0))
    """, tmp_path, abi=abi, tmp=str(tmp_path))
    assert out == {"net": abi >= 4, "signals": False,
                   "outside_write": "PermissionError", "probe_parent": "ok"}


@needs_landlock
def test_a_failed_rule_raises_and_leaves_the_process_unconfined(tmp_path) -> None:
    (tmp_path / "learner.py").write_text("x = 1\n")
    out = run_child("""
        sandbox._READ_FILE_RIGHTS |= sandbox.ACCESS_FS_READ_DIR
        try:
            sandbox.confine(read=[Path(ARGS["tmp"]) / "learner.py"], write=[])
        except OSError as exc:
            OUT["error"] = str(exc)
        OUT["outside_write"] = attempt(lambda: write(Path(ARGS["tmp"]) / "outside.txt"))
    """, tmp_path, tmp=str(tmp_path))
    assert "landlock_add_rule" in out["error"] and "learner.py" in out["error"]
    assert out["outside_write"] == "ok"


@needs_landlock
def test_confine_refuses_while_another_thread_runs(tmp_path) -> None:
    out = run_child("""
        import threading
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait)
        worker.start()
        OUT["with_thread"] = attempt(lambda: sandbox.confine(read=[], write=[]) and None)
        stop.set()
        worker.join()
        OUT["alone"] = attempt(lambda: sandbox.confine(read=[], write=[]).files_confined)
    """, tmp_path)
    assert out == {"with_thread": "RuntimeError", "alone": True}


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "pkgroot"
    (root / "sub").mkdir(parents=True)
    (root / "secret").mkdir()
    (root / "visible.txt").write_text("VISIBLE")
    (root / "sub" / "deep.txt").write_text("DEEP")
    (root / "secret" / "answer.txt").write_text("SECRET")
    (root / "mymod.py").write_text("VALUE = 42\n")
    (root / "link").symlink_to(root / "secret" / "answer.txt")
    return root


@needs_landlock
@pytest.mark.parametrize("listable", [True, False], ids=["list_only", "pure_holes"])
def test_excluded_folder_inside_an_allowed_one_is_unreadable(tmp_path, listable) -> None:
    root = _tree(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = run_child("""
        import subprocess
        root = Path(ARGS["root"])
        sys.path.insert(0, str(root))
        hole = [root / "secret"]
        listed = sandbox.python_listable_dirs(exclude=hole) if ARGS["listable"] else []
        sandbox.confine(read=sandbox.python_read_roots(exclude=hole),
                        write=[ARGS["scratch"], "/dev/null"], list_only=listed)
        OUT["visible"] = attempt(lambda: read(root / "visible.txt"))
        OUT["deep"] = attempt(lambda: read(root / "sub" / "deep.txt"))
        OUT["secret"] = attempt(lambda: read(root / "secret" / "answer.txt"))
        OUT["via_link"] = attempt(lambda: read(root / "link"))
        cat = subprocess.run(["cat", str(root / "secret" / "answer.txt")], capture_output=True, text=True)
        OUT["cat_secret"] = [cat.returncode, cat.stdout]
        cat = subprocess.run(["cat", str(root / "visible.txt")], capture_output=True, text=True)
        OUT["cat_visible"] = [cat.returncode, cat.stdout]
        OUT["list_root"] = attempt(lambda: sorted(os.listdir(root)))
        OUT["list_sub"] = attempt(lambda: sorted(os.listdir(root / "sub")))
        OUT["import"] = attempt(lambda: __import__("mymod").VALUE)
    """, tmp_path, root=str(root), scratch=str(scratch), listable=listable)
    assert out["visible"] == "VISIBLE" and out["deep"] == "DEEP"
    assert out["secret"] == "PermissionError"
    assert out["via_link"] == "PermissionError"
    assert out["cat_secret"][0] != 0 and "SECRET" not in out["cat_secret"][1]
    assert out["cat_visible"] == [0, "VISIBLE"]
    assert out["list_sub"] == ["deep.txt"]
    if listable:
        assert {"visible.txt", "sub", "mymod.py"} <= set(out["list_root"])
        assert out["import"] == 42
    else:
        assert out["list_root"] == "PermissionError"
        assert out["import"] == "ModuleNotFoundError"


@needs_landlock
def test_writes_only_inside_the_scratch_folder(tmp_path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    solo = tmp_path / "learner.py"
    solo.write_text("ORIGINAL")
    (tmp_path / "unlisted.txt").write_text("UNLISTED")
    out = run_child("""
        tmp, scratch = Path(ARGS["tmp"]), Path(ARGS["scratch"])
        sandbox.confine(read=sandbox.python_read_roots() + [tmp / "learner.py"],
                        write=[scratch, "/dev/null"])
        OUT["scratch_write"] = attempt(lambda: write(scratch / "out.txt", "hello"))
        OUT["scratch_read"] = attempt(lambda: read(scratch / "out.txt"))
        OUT["scratch_mkdir"] = attempt(lambda: os.mkdir(scratch / "d"))
        OUT["scratch_remove"] = attempt(lambda: os.remove(scratch / "out.txt"))
        OUT["outside_write"] = attempt(lambda: write(tmp / "outside.txt"))
        OUT["learner_read"] = attempt(lambda: read(tmp / "learner.py"))
        OUT["learner_write"] = attempt(lambda: write(tmp / "learner.py"))
        OUT["unlisted_read"] = attempt(lambda: read(tmp / "unlisted.txt"))
        OUT["devnull"] = attempt(lambda: write("/dev/null"))
    """, tmp_path, tmp=str(tmp_path), scratch=str(scratch))
    assert out == {
        "scratch_write": "ok", "scratch_read": "hello", "scratch_mkdir": "ok",
        "scratch_remove": "ok", "outside_write": "PermissionError",
        "learner_read": "ORIGINAL", "learner_write": "PermissionError",
        "unlisted_read": "PermissionError", "devnull": "ok",
    }
    assert not (tmp_path / "outside.txt").exists()
    assert solo.read_text() == "ORIGINAL"


@needs_landlock
@pytest.mark.skipif(importlib.util.find_spec("torch") is None or importlib.util.find_spec("sympy") is None,
                    reason="torch and sympy are needed")
def test_torch_imports_and_lazy_imports_work_after_confinement(tmp_path) -> None:
    hidden = Path(pytest.__file__).resolve().parent
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = run_child("""
        hole = [ARGS["hidden"]]
        sandbox.confine(read=sandbox.python_read_roots(exclude=hole),
                        write=[ARGS["scratch"], "/dev/null"],
                        list_only=sandbox.python_listable_dirs(exclude=hole))
        import torch
        OUT["sympy_before"] = "sympy" in sys.modules
        OUT["unravel"] = [int(t) for t in torch.unravel_index(torch.tensor(5), (2, 3))]
        OUT["sympy_after"] = "sympy" in sys.modules
        import sympy
        OUT["sympy"] = str(sympy.simplify("x + x"))
        OUT["matmul"] = float((torch.ones(2, 3) @ torch.ones(3, 2)).sum())
        OUT["hidden"] = attempt(lambda: read(Path(ARGS["hidden"]) / "__init__.py"))
    """, tmp_path, hidden=str(hidden), scratch=str(scratch))
    assert out["unravel"] == [1, 2]
    assert out["sympy_after"] and out["sympy"] == "2*x"
    assert out["matmul"] == 12.0
    assert out["hidden"] == "PermissionError"


@needs_net_rules
def test_tcp_connect_and_bind_are_denied(tmp_path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        out = run_child("""
            import socket
            def connect():
                with socket.create_connection(("127.0.0.1", ARGS["port"]), timeout=5):
                    pass
            def bind():
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    s.listen(1)
            OUT["before"] = attempt(connect)
            sandbox.confine(read=sandbox.python_read_roots(), write=[])
            OUT["connect"] = attempt(connect)
            OUT["bind"] = attempt(bind)
        """, tmp_path, port=server.getsockname()[1])
    assert out == {"before": "ok", "connect": "PermissionError", "bind": "PermissionError"}


@needs_scopes
def test_signals_and_abstract_sockets_cannot_leave_the_sandbox(tmp_path) -> None:
    name = f"\0attnquiz-sandbox-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(name)
        server.listen(1)
        out = run_child("""
            import signal, socket
            def connect():
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(ARGS["name"])
            OUT["before"] = attempt(lambda: os.kill(os.getppid(), 0))
            sandbox.confine(read=sandbox.python_read_roots(), write=[])
            OUT["probe_parent"] = attempt(lambda: os.kill(os.getppid(), 0))
            OUT["sigcont_parent"] = attempt(lambda: os.kill(os.getppid(), signal.SIGCONT))
            OUT["self"] = attempt(lambda: os.kill(os.getpid(), 0))
            OUT["abstract_socket"] = attempt(connect)
        """, tmp_path, name=name)
    assert out == {"before": "ok", "probe_parent": "PermissionError",
                   "sigcont_parent": "PermissionError", "self": "ok",
                   "abstract_socket": "PermissionError"}


@needs_landlock
def test_parent_process_files_are_out_of_reach(tmp_path) -> None:
    out = run_child("""
        parent = os.getppid()
        sandbox.confine(read=sandbox.python_read_roots(), write=["/dev/null"])
        OUT["stdout"] = attempt(lambda: os.close(os.open(f"/proc/{parent}/fd/1", os.O_WRONLY | os.O_APPEND)))
        OUT["cwd"] = attempt(lambda: os.listdir(f"/proc/{parent}/cwd") and None)
        OUT["own_status"] = attempt(lambda: read("/proc/self/status") and None)
    """, tmp_path)
    assert out == {"stdout": "PermissionError", "cwd": "PermissionError", "own_status": "ok"}


def test_memory_limit_turns_a_huge_allocation_into_memory_error(tmp_path) -> None:
    out = run_child("""
        import resource
        sandbox.set_limits(memory_bytes=2 << 30)
        OUT["as"] = list(resource.getrlimit(resource.RLIMIT_DATA))
        OUT["core"] = list(resource.getrlimit(resource.RLIMIT_CORE))
        OUT["alloc"] = attempt(lambda: bytearray(8 << 30) and None)
    """, tmp_path)
    assert out == {"as": [2 << 30, 2 << 30], "core": [0, 0], "alloc": "MemoryError"}


def test_limits_are_clamped_to_the_hard_limit(tmp_path) -> None:
    out = run_child("""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 200), 200))
        memory = resource.getrlimit(resource.RLIMIT_DATA)
        sandbox.set_limits(cpu_seconds=90, file_bytes=1 << 20, open_files=100_000)
        OUT["cpu"] = list(resource.getrlimit(resource.RLIMIT_CPU))
        OUT["fsize"] = list(resource.getrlimit(resource.RLIMIT_FSIZE))
        OUT["nofile"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
        OUT["as_untouched"] = resource.getrlimit(resource.RLIMIT_DATA) == memory
        OUT["big_write"] = attempt(lambda: write(Path(ARGS["tmp"]) / "big", "x" * (2 << 20)))
    """, tmp_path, tmp=str(tmp_path))
    assert out == {"cpu": [90, 95], "fsize": [1 << 20, 1 << 20], "nofile": [200, 200],
                   "as_untouched": True, "big_write": "OSError"}


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def test_python_read_roots_leaves_a_hole_at_excluded_paths(tmp_path, monkeypatch) -> None:
    base = tmp_path / "a"
    for folder in ("b/x", "b/y"):
        (base / folder).mkdir(parents=True)
    (base / "b" / "x" / "secret.txt").write_text("s")
    (base / "c.txt").write_text("c")
    (base / "lnk").symlink_to(base / "b" / "x")
    monkeypatch.syspath_prepend(str(base))
    base = base.resolve()
    hole = base / "b" / "x"

    roots = sandbox.python_read_roots(exclude=[tmp_path / "a" / "lnk"])
    assert roots == sorted(set(roots))
    assert not any(r != q and r in q.parents for r in roots for q in roots)
    assert not _covered(hole, roots)
    assert not any(hole in r.parents for r in roots)
    assert _covered(base / "b" / "y", roots) and _covered(base / "c.txt", roots)
    assert base / "lnk" not in roots
    assert _covered(Path(os.path.realpath(sys.prefix)), roots)
    if Path("/usr").is_dir():
        assert _covered(Path("/usr").resolve(), roots)
    assert {base, base / "b"} <= set(sandbox.python_listable_dirs(exclude=[hole]))

    package = Path(pytest.__file__).resolve().parent
    roots = sandbox.python_read_roots(exclude=[package])
    assert not _covered(package, roots)
    assert _covered(Path(importlib.util.find_spec("_pytest").origin).resolve().parent, roots)
    assert package.parent not in roots


def test_python_read_roots_drops_roots_inside_an_excluded_path(tmp_path, monkeypatch) -> None:
    inner = tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    monkeypatch.syspath_prepend(str(inner))
    roots = sandbox.python_read_roots(exclude=[tmp_path / "outer"])
    assert not any(r == inner.resolve() or tmp_path.resolve() / "outer" in r.parents for r in roots)
    assert roots


@needs_landlock
def test_hundreds_of_allowed_paths_fit_under_a_small_open_files_limit(tmp_path) -> None:
    """A large environment (every package beside a hidden attnquiz gets a rule) under the worker's
    open-files limit: the rules' fds must not all be open at once (it failed with EMFILE)."""
    for i in range(300):
        (tmp_path / f"pkg{i:03d}").mkdir()
    (tmp_path / "pkg007" / "data.txt").write_text("DATA")
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / "secret.txt").write_text("SECRET")
    out = run_child("""
        import resource
        tmp = Path(ARGS["tmp"])
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        allowed = sorted(str(p) for p in tmp.iterdir() if p.name.startswith("pkg"))
        sandbox.confine(read=sandbox.python_read_roots() + allowed, write=["/dev/null"])
        OUT["allowed"] = attempt(lambda: read(tmp / "pkg007" / "data.txt"))
        OUT["hidden"] = attempt(lambda: read(tmp / "hidden" / "secret.txt"))
    """, tmp_path, tmp=str(tmp_path))
    assert out == {"allowed": "DATA", "hidden": "PermissionError"}
