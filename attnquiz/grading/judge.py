"""The judge: `python -m attnquiz.grading.judge`, the token and the spec on stdin.

Trusted: it holds pytest, the hidden suite, the reference, the known mistakes and the report.
It starts the sandboxed worker at once (both import torch in parallel), asks it to load each
candidate, runs the hidden suite against proxies to the worker, names known mistakes by running
the probes on the learner's code (through the worker) and on the mistake variants (here), and
writes every result to a private copy of its stdout. It is a child subreaper: when grading ends,
every process the worker started, setsid or not, is killed.

In watch mode `python -m attnquiz.grading.judge --zygote FD` waits with its imports done and forks
one judge per grading (zygote.py), which runs the same `main`; that judge has the worker zygote
fork its worker, and that zygote kills what the worker started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional

import attnquiz
from attnquiz.grading import procs, zygote
from attnquiz.grading.proxy import RemoteError, WorkerClient, WorkerGone
from attnquiz.grading.records import STATE, Candidate, Reporter, message_of
from attnquiz.i18n import GRADING, Text

NOT_LOADED = Text("not_loaded")
OUTPUT_CAP = 16 * 1024
DEFAULT_MEMORY = 4 << 30


class Judge:
    def __init__(self, spec: dict[str, Any], reporter: Reporter, forks: Optional[socket.socket] = None) -> None:
        self.spec = spec
        self.reporter = reporter
        self.forks = forks  # a session with the worker zygote (watch mode), else None: spawn the worker
        self.deadline = time.monotonic() + float(spec["time_left"])
        self.kata_dir = Path(spec["kata_dir"])
        self.workdir = Path(spec["workdir"])
        self.tail = bytearray()
        self.client: WorkerClient | None = None

    # --- the worker -----------------------------------------------------------------------

    def start_worker(self) -> WorkerClient:
        scratch = self.workdir / "scratch"
        scratch.mkdir(mode=0o700)
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        proc: Any
        if self.forks is None:
            proc = subprocess.Popen(
                [sys.executable, "-m", "attnquiz.grading.worker", str(to_worker_r), str(from_worker_w)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=scratch,
                env=worker_env(scratch),
                pass_fds=(to_worker_r, from_worker_w),
                start_new_session=True,
            )
            output = proc.stdout
        else:  # forked by the worker zygote; it sets the same up in the child (worker._forked)
            output_r, output_w = os.pipe()
            try:
                request = {"cwd": str(scratch), "env": worker_env(scratch)}
                left = max(0.1, self.deadline - time.monotonic())
                proc = zygote.fork(self.forks, request, [to_worker_r, from_worker_w, output_w], timeout=left)
            finally:
                os.close(output_w)
            output = os.fdopen(output_r, "rb")
        os.close(to_worker_r)
        os.close(from_worker_w)
        threading.Thread(target=self._drain, args=(output,), daemon=True).start()
        self.client = WorkerClient(proc, to_worker_w, from_worker_r, self.deadline, float(self.spec["timeout"]))
        return self.client

    def _drain(self, stream: Any) -> None:
        while chunk := stream.read1(65536):
            self.tail.extend(chunk)
            if len(self.tail) > 2 * OUTPUT_CAP:
                del self.tail[:-OUTPUT_CAP]

    def last_output(self) -> str:
        lines = [ln.strip() for ln in bytes(self.tail[-OUTPUT_CAP:]).decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""

    # --- grading ------------------------------------------------------------------------------

    def run(self) -> None:
        client = self.start_worker()
        cands = [Candidate(c["id"], c["path"]) for c in self.spec["candidates"]]
        try:
            client.send(
                "init",
                candidates={c.id: c.path for c in cands},
                forbidden=list(self.spec["forbidden"]),
                exclude=excluded_paths(self.workdir),
                scratch=str(self.workdir / "scratch"),
                memory=int(self.spec.get("memory") or DEFAULT_MEMORY),
                cpu=int(self.spec["cpu"]),
                confine=os.environ.get("ATTNQUIZ_SANDBOX", "on") != "off",
            )
            import pytest  # while the worker imports torch
            import torch  # noqa: F401

            reference_source = (self.kata_dir / "reference.py").read_text(encoding="utf-8")
            STATE.reference = load_source(reference_source, "reference")
            STATE.reporter = self.reporter
            STATE.client = client
            STATE.kata_dir = self.kata_dir
            confinement = client.receive()
            if not confinement.get("files"):
                self.reporter.write(kind="notice", text=Text("not_confined", reason=str(confinement.get("reason"))))
        except (WorkerGone, RemoteError) as exc:
            hint = Text("raise_memory") if self.spec.get("memory", DEFAULT_MEMORY) < (2 << 30) else ""
            status = "timeout" if isinstance(exc, WorkerGone) and exc.timed_out else "error"
            self.fail_all(cands, Text("worker_cannot_start", reason=self.worker_message(exc), hint=hint), status)
            return
        for cand in cands:
            STATE.candidates[cand.id] = cand
            self.load(cand)
        if any(c.module is not None for c in cands):
            self.run_suite(pytest)
        self.after_suite(cands, reference_source)

    def load(self, cand: Candidate) -> None:
        assert self.client is not None
        self.reporter.write(kind="start", cand=cand.id, check="loads")
        self.client.current = cand.id
        try:
            out = self.client.request("load", cand=cand.id, symbols=list(self.spec["symbols"]))
            ok, message = bool(out.get("ok")), worker_text(out)
            if ok:
                cand.module = out["module"]
        except (WorkerGone, RemoteError, AttributeError, KeyError, TypeError) as exc:
            ok, message = False, self.worker_message(exc)
        gone = self.client.gone
        status = "passed" if ok else "failed" if gone is None else "timeout" if gone.timed_out else "error"
        self.reporter.write(kind="check", cand=cand.id, check="loads", status=status, message=message)
        if not ok:
            for test in self.spec["tests"]:
                self.reporter.write(kind="check", cand=cand.id, check=test, status="error", message=NOT_LOADED)

    def run_suite(self, pytest: types.ModuleType) -> None:
        folder = self.workdir / f"suite-{secrets.token_hex(4)}"
        folder.mkdir(mode=0o700)
        suite = folder / "test_hidden.py"
        shutil.copyfile(self.kata_dir / "test_hidden.py", suite)
        from attnquiz.grading import suite as plugin

        pytest.main(suite_args(suite, folder), plugins=[plugin])

    def after_suite(self, cands: list[Candidate], reference_source: str) -> None:
        """Diagnosis for failed candidates, the showcase for passing ones, then what the worker's
        guard saw (forbidden calls, monkeypatching) over the whole run, written last."""
        loaded: dict[str, Any] = {}
        for cand, (forbidden, tampered) in self.seen(cands).items():
            cand.failed = cand.failed or bool(forbidden or tampered)
        for cand in cands:
            if cand.module is None or self.gone():
                continue
            assert self.client is not None
            self.client.current = cand.id
            if cand.failed:
                loaded = loaded or load_mistakes(self.kata_dir, reference_source)
                self.reporter.write(kind="diagnosis", cand=cand.id, items=diagnose(cand.module, STATE.reference, loaded, cand.failed_checks))
            elif self.spec.get("showcase"):
                self.reporter.write(kind="showcase", cand=cand.id, text=self.showcase(cand))
        for cand, (forbidden, tampered) in self.seen(cands).items():
            for message in forbidden:
                self.reporter.write(kind="forbidden", cand=cand.id, message=message)
            if self.gone():
                assert self.client is not None and self.client.gone is not None
                result = "timeout" if self.client.gone.timed_out else "error"
                message = message_of(self.client.after_gone())
            elif cand.module is None:
                result, message = "error", NOT_LOADED
            elif tampered:
                result, message = "failed", tampered
            else:
                result, message = "passed", ""
            self.reporter.write(kind="check", cand=cand.id, check="no_tampering", status=result, message=message)
            self.reporter.write(kind="done", cand=cand.id)

    def seen(self, cands: list[Candidate]) -> dict[Candidate, tuple[list[str], str]]:
        """Per candidate: the forbidden calls and the tampering the worker's guard reported."""
        status = self.status()
        out = {}
        for cand in cands:
            info = status.get(cand.id) if isinstance(status, dict) else None
            info = info if isinstance(info, dict) else {}
            forbidden = info.get("forbidden") if isinstance(info.get("forbidden"), list) else []
            details = info.get("forbidden_args") if isinstance(info.get("forbidden_args"), list) else []
            details += [None] * (len(forbidden) - len(details))
            messages = [worker_text({"message": str(m)[:300], "key": "forbidden_call", "args": a}) for m, a in zip(forbidden, details)]
            tampered = {"message": str(info.get("tampered", ""))[:300], "key": "tampered", "args": info.get("tampered_args")}
            out[cand] = (messages[:10], worker_text(tampered))
        return out

    def status(self) -> Any:
        assert self.client is not None
        try:
            return self.client.request("status")
        except (WorkerGone, RemoteError):
            return {}

    def gone(self) -> bool:
        return self.client is None or self.client.gone is not None

    def showcase(self, cand: Candidate) -> str:
        try:
            module = load_file(self.kata_dir / self.spec["showcase"], "showcase")
            return str(module.showcase(cand.module, self.kata_dir))
        except Exception as exc:  # noqa: BLE001 - the learner's code runs inside
            return f"(could not sample: {message_of(exc)})"

    def worker_message(self, exc: BaseException) -> str:
        text = message_of(exc)
        last = self.last_output()
        return Text("last_output", text=text, last=last) if last and isinstance(exc, WorkerGone) else text

    def fail_all(self, cands: list[Candidate], message: str, status: str = "error") -> None:
        for cand in cands:
            for check in ("loads", *self.spec["tests"], "no_tampering"):
                self.reporter.write(kind="check", cand=cand.id, check=check, status=status, message=message)
            self.reporter.write(kind="done", cand=cand.id)


# --- helpers ------------------------------------------------------------------------------------


# What the worker may phrase as a template (it cannot import attnquiz once confined, so it sends a
# key and plain arguments): the judge rebuilds the Text, or keeps the worker's English.
WORKER_KEYS = ("cannot_import", "sys_exit", "import_raised", "missing_symbols", "forbidden_call", "tampered")


def worker_text(reply: dict[str, Any]) -> str:
    """A message from the worker's reply: an i18n Text from its key and arguments (a `line`
    becomes the " (line N)" suffix), else its `message` as it is."""
    message = str(reply.get("message", ""))
    key, args = reply.get("key"), reply.get("args")
    if key not in WORKER_KEYS or key not in GRADING or not isinstance(args, dict) or not message:
        return message
    values: dict[str, Any] = {str(k): str(v)[:600] for k, v in args.items() if isinstance(v, (str, int))}
    if key in ("sys_exit", "import_raised"):
        values["line"] = Text("line_suffix", line=values["line"]) if values.get("line") else ""
    try:
        return Text(key, message, **values)
    except (KeyError, IndexError, ValueError):
        return message


def suite_args(suite: Path, folder: Path) -> list[str]:
    """pytest's arguments for the hidden suite: no cache, no conftest, no plugin but ours. The
    unraisable- and thread-exception plugins only warn (and warnings are ignored) but each runs
    a full gc.collect(), 0.1 to 0.2 s with torch loaded: off. --confcutdir keeps collection in
    FOLDER (else it lists every parent folder of the suite, all of /tmp included)."""
    return [
        str(suite),
        "-q", "-p", "no:cacheprovider", "-p", "no:doctest", "-p", "no:junitxml",
        "-p", "no:pastebin", "-p", "no:legacypath", "-p", "no:stepwise",
        "-p", "no:unraisableexception", "-p", "no:threadexception",
        "--assert=plain", "--noconftest", "--import-mode=importlib",
        "-c", os.devnull, "--rootdir", str(folder), "--confcutdir", str(folder), "-W", "ignore",
        "--tb=no", "--no-header", "--disable-warnings", "-o", "console_output_style=classic",
    ]  # fmt: skip


def excluded_paths(workdir: Path) -> list[str]:
    """What the worker may never read: attnquiz itself, its content, the learner's data, the judge's folder."""
    from attnquiz.paths import _home_override, content_dir

    package = Path(attnquiz.__file__).resolve().parent
    paths = [package, content_dir("katas"), content_dir("questions"), workdir]
    if (package.parent / "pyproject.toml").is_file():  # a source checkout: its history and builds hold the content too
        paths += [package.parent / name for name in (".git", "build", "dist")]
    # Any other copy on the path (a wheel left behind by an editable install, say) holds the content too.
    paths += [Path(entry) / "attnquiz" for entry in sys.path if entry and (Path(entry) / "attnquiz").is_dir()]
    home = _home_override()
    if home is not None:
        paths.append(home)
    else:
        import platformdirs

        paths.append(Path(platformdirs.user_data_dir("attnquiz", appauthor=False)))
    return [str(p) for p in paths]


# One compute thread each for the judge and the worker: they take turns, and idle OpenMP threads
# spin on the cores the other needs (on 2 cores, a kata's self-check ran 2.7x slower).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def worker_env(scratch: Path) -> dict[str, str]:
    """The learner's environment, minus what would steer Python or pytest, plus a private home.

    PYTHONPATH stays: from a source checkout the CLI put the package root there, so the worker
    can import its own code (the sandbox then hides that folder again)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTNQUIZ_", "PYTEST_"))}
    for key in ("PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONBREAKPOINT"):
        env.pop(key, None)
    env.update(
        ATTNQUIZ_JUDGE_PID=str(os.getpid()),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
        TMPDIR=str(scratch),
        HOME=str(scratch),
        CUDA_VISIBLE_DEVICES="",  # grading runs on the CPU: no GPU driver start-up in the worker
        **ONE_THREAD,
    )
    return env


def load_source(source: str, name: str) -> types.ModuleType:
    """Grader-owned source as a module (registered only while it runs: dataclasses look it up)."""
    private = f"_attnquiz_{name}_{secrets.token_hex(4)}"
    module = types.ModuleType(private)
    module.__file__ = f"<{name}>"
    sys.modules[private] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    finally:
        sys.modules.pop(private, None)
    return module


def load_file(path: Path, name: str) -> types.ModuleType:
    return load_source(path.read_text(encoding="utf-8"), name)


def load_mistakes(kata_dir: Path, reference_source: str) -> dict[str, Any]:
    from attnquiz.katas import load_mistakes as parse

    mistakes = parse(kata_dir)
    probes = load_file(kata_dir / "mistakes.py", "probes")
    rtol, atol = getattr(probes, "PROBE_TOLERANCE", (1e-5, 1e-7))  # (rtol, atol): float32 learners may need more
    return {
        "mistakes": mistakes,
        "variants": {m.name: load_source(m.apply(reference_source), f"mistake_{m.name}") for m in mistakes},
        "probes": probes.PROBES,
        "tolerance": (float(rtol), float(atol)),
    }


def _run_probe(fn: Callable[[Any, Any], Any], module: Any, reference: Any) -> Any:
    try:
        out = fn(module, reference)
    except Exception as exc:  # noqa: BLE001
        return ("raised", getattr(exc, "remote_type", type(exc).__name__))
    return _flat(out, [])


def _flat(value: Any, into: list[Any], depth: int = 0) -> list[Any]:
    """Tensors (floating ones as float64) and plain data, nested containers flattened in order;
    other objects (modules, proxies) are left out: they cannot be compared across processes."""
    import torch

    if isinstance(value, torch.Tensor):
        t = value.detach()
        into.append(t.to(torch.float64) if t.is_floating_point() else t)
    elif isinstance(value, (bool, int, float, str, bytes)) or value is None:
        into.append(value)
    elif isinstance(value, (tuple, list)) and depth < 8:
        into.append(("seq", len(value)))
        for item in value:
            _flat(item, into, depth + 1)
    elif isinstance(value, dict) and depth < 8:
        for key in sorted(value, key=repr):
            into.append(("key", repr(key)))
            _flat(value[key], into, depth + 1)
    return into


def _same(a: Any, b: Any, tol: tuple[float, float] = (1e-5, 1e-7)) -> bool:
    import math

    import torch

    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if not (x.shape == y.shape and x.dtype == y.dtype and torch.allclose(x, y, rtol=tol[0], atol=tol[1], equal_nan=True)):
                return False
        elif isinstance(x, float) and isinstance(y, float):
            if not (math.isclose(x, y, rel_tol=tol[0], abs_tol=tol[1]) or (math.isnan(x) and math.isnan(y))):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def diagnose(module: Any, reference: Any, loaded: dict[str, Any], failed_checks: Any = ()) -> list[dict[str, Any]]:
    """Which known mistakes reproduce the learner's output on the probes where it is wrong; when
    every probe agrees with the reference, the mistakes named by a failed check (a resource bound)."""
    probes, mistakes, variants = loaded["probes"], loaded["mistakes"], loaded["variants"]
    cache = loaded.setdefault("cache", {})

    def cached(key: str, mod: Any, probe: str) -> Any:
        if (key, probe) not in cache:
            cache[key, probe] = _run_probe(probes[probe], mod, reference)
        return cache[key, probe]

    learner = {p: _run_probe(fn, module, reference) for p, fn in probes.items()}
    tol = loaded.get("tolerance", (1e-5, 1e-7))
    wrong = [p for p in probes if not _same(learner[p], cached("<ref>", reference, p), tol)]
    if not wrong:
        return [_item(m, True) for m in mistakes if m.check and m.check in failed_checks]
    scored = []
    for m in mistakes:
        if m.check:
            continue
        hits = sum(_same(learner[p], cached(m.name, variants[m.name], p), tol) for p in wrong)
        if hits:
            scored.append((hits, m))
    scored.sort(key=lambda s: -s[0])
    full = [m for hits, m in scored if hits == len(wrong)]
    chosen = [(m, True) for m in full] or [(m, False) for _, m in scored[:2]]
    return [_item(m, f) for m, f in chosen]


def _item(m: Any, full: bool) -> dict[str, Any]:
    return {"mistake": m.name, "title": m.title, "fix": m.fix, "title_zh": m.title_zh, "fix_zh": m.fix_zh, "full": full}


def main(parent: Optional[int] = None, forks: Optional[socket.socket] = None) -> None:
    """One grading: the token and the spec on stdin, the report on stdout. PARENT is the process
    this one dies with (default: the CLI, from the environment); FORKS a session with the worker
    zygote, when this judge was forked by the judge zygote (watch mode)."""
    token = sys.stdin.readline().strip()
    spec = json.loads(sys.stdin.readline())
    judge: Optional[Judge] = None

    def on_term(signum: int, frame: Any) -> None:  # the CLI's time limit, or the CLI died
        if judge is not None and judge.client is not None:
            _end_worker(judge.client.proc, timeout=1.0)
        procs.kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    if parent is None:
        parent = int(os.environ.pop("ATTNQUIZ_CLI_PID", "0") or 0)
    procs.die_with_parent(parent, signal.SIGTERM)
    procs.become_subreaper()
    report_fd = os.dup(1)  # the report's private channel; fd 1 itself goes nowhere
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    judge = Judge(spec, Reporter(report_fd, token), forks)
    try:
        judge.run()
    finally:
        if judge.client is not None:
            judge.client.stop("grading ended")
            _end_worker(judge.client.proc)
        procs.kill_descendants()


def _end_worker(proc: Any, timeout: float = 5.0) -> None:
    """A forked worker: wait until its zygote has killed it and everything it started (a spawned
    one is this process's descendant: kill_descendants sees to it)."""
    end = getattr(proc, "end", None)
    if end is not None:
        end(timeout)


# --- the judge zygote (`attnquiz grade --watch`) ------------------------------------------------------


def zygote_main(ctrl_fd: int) -> None:
    """`python -m attnquiz.grading.judge --zygote FD`: import torch, pytest and the suite's plugin
    once, then fork one judge per grading (see zygote.py); each runs `main` as a spawned one does."""
    zygote.zygote_setup()
    me = os.getpid()
    import pytest  # noqa: F401 - what every judge needs, imported once
    import torch  # noqa: F401

    from attnquiz.grading import suite, warm  # noqa: F401 - the plugin, and through it meter and streams
    from attnquiz.katas import load_mistakes  # noqa: F401

    warm.torch_once()
    _warm_pytest()
    zygote.serve(socket.socket(fileno=ctrl_fd), lambda request, fds: _forked(request, fds, me))


def _warm_pytest() -> None:
    """One pytest run on a trivial test, with the hidden suite's arguments: pytest imports most of
    itself (terminal, fixtures, runner...) only when it runs."""
    import pytest

    folder = Path(os.getcwd()) / f"warm-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    try:
        test = folder / "test_warm.py"
        test.write_text("def test_warm():\n    assert 1 + 1 == 2\n", encoding="utf-8")
        pytest.main(suite_args(test, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _forked(request: dict[str, Any], fds: list[int], zygote_pid: int) -> NoReturn:
    """A forked judge: stdin, stdout and stderr from the CLI, the session with the worker zygote
    on fd 3, in the grading's work folder; then `main`, as the CLI would have spawned it."""
    stdin, stdout, stderr, forks = fds
    zygote.start_child({0: stdin, 1: stdout, 2: stderr, 3: forks}, zygote_pid, signal.SIGTERM)
    zygote.reseed_torch()
    code = 0
    try:
        zygote.enter(str(request["cwd"]))
        main(parent=zygote_pid, forks=socket.socket(fileno=3))
    except BaseException:  # noqa: BLE001 - the CLI counts missing results as failures
        import traceback

        traceback.print_exc(limit=5)
        sys.stderr.flush()
        code = 3
    os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote.run_zygote(zygote_main, sys.argv[2])
    try:
        main()
    except BaseException:  # noqa: BLE001 - the CLI counts missing results as failures
        import traceback

        traceback.print_exc(limit=5)
        sys.stderr.flush()
        os._exit(3)
    os._exit(0)
