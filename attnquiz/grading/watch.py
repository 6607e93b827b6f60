"""Grading on save: a warm judge and a warm worker, and the saves of one file.

Plain core (no typer, no rich) and torch-free, like runner.py: `attnquiz grade --watch` renders
what this module reports, and a mock interview can reuse it.

`WarmGrader` starts two zygotes (zygote.py): `python -m attnquiz.grading.judge --zygote` with
torch, pytest and the suite's plugin imported, and, as a separate process that never sees a kata,
`python -m attnquiz.grading.worker --zygote` with torch imported. Each grading is the cold one
(runner.grade: the same static checks, work folder, token, spec, report parsing and time limit),
except that the judge is forked by the judge zygote and the worker by the worker zygote, joined by
fresh pipes: the forked worker applies the same limits and sandbox before it loads the learner's
file, and a fresh fork per grading means nothing the learner's code did survives into the next.
When a grading ends, the worker zygote kills everything the learner's code started; the next one
starts only once both zygotes say they are idle. A zygote that died is started again.

`saves(file)` yields the file's content at once and after every save that changes it (editors
that save by renaming a new file over the old one included); `watch(...)` joins the two.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from attnquiz.errors import AttnquizError, UsageError
from attnquiz.grading import runner, zygote
from attnquiz.grading.runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT_S, GradeResult
from attnquiz.katas import Kata

DEBOUNCE_MS = 50  # the longest a burst of writes is gathered before a save counts
STEP_MS = 20  # a save counts once the file has been quiet this long
WAKE_MS = 100  # the watcher comes back empty-handed this often (to start, and to see Ctrl-C or stop)
SETTLE_S = 10.0  # how long the zygotes may take to clean up after a grading
START_S = 300.0  # how long a zygote may take to load torch and warm up (a busy machine)
CLOSE_S = 5.0  # how long a zygote may take to exit once told to


class _Zygote:
    """One zygote process and its control socket, seen from the CLI."""

    def __init__(self, module: str, cwd: str, **extra_env: str) -> None:
        ours, theirs = zygote.pair()
        env = {**runner._judge_env(), **extra_env}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, "--zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(),),
                cwd=cwd,  # empty and private: `python -m` puts it first on sys.path
                env=env,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.module = module
        self.ctrl = ours
        self.sessions = 0  # opened and not yet reported idle
        self.ready = False
        self.errors = runner._Capped(self.proc.stderr, runner.OUTPUT_CAP, keep_tail=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def session(self) -> socket.socket:
        """A fresh session: our end; the zygote gets the other over its control socket."""
        ours, theirs = zygote.pair()
        try:
            zygote.send(self.ctrl, {"op": "session"}, [theirs.fileno()])
        except zygote.ZygoteGone:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sessions += 1
        return ours

    def wait_ready(self, timeout: float) -> bool:
        """Wait until its imports are done; False if it died first (or took longer than TIMEOUT)."""
        return self._until(lambda: self.ready, timeout)

    def settle(self, timeout: float) -> bool:
        """Wait until every session opened has ended and its processes are gone."""
        return self._until(lambda: self.sessions == 0, timeout)

    def _until(self, done: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not done():
            try:
                message, fds = zygote.receive(self.ctrl, max(0.0, end - time.monotonic()))
            except (TimeoutError, zygote.ZygoteGone):
                return False
            zygote.close_fds(fds)
            if message is None:
                return False
            if message.get("ready"):
                self.ready = True
            if message.get("idle"):
                self.sessions -= 1
        return True

    def close(self) -> None:
        """End of file on its control socket, then SIGTERM (it kills what it forked), then SIGKILL."""
        self.ctrl.close()
        for signum in (None, signal.SIGTERM, signal.SIGKILL):
            if signum is not None:
                try:
                    os.kill(self.proc.pid, signum)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=CLOSE_S if signum is None else 2.0)
                break
            except subprocess.TimeoutExpired:
                continue
        self.errors.thread.join(timeout=1)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def last_error(self) -> str:
        return runner._last_line(bytes(self.errors.data[-runner.OUTPUT_CAP :]).decode("utf-8", "replace"))


class ForkedJudge:
    """What runner._run_judge_inner needs of a Popen, for a judge the judge zygote forked."""

    def __init__(self, forked: zygote.Forked, stdin: int, stdout: int, stderr: int) -> None:
        self.forked = forked
        self.pid = forked.pid
        self.stdin = open(stdin, "wb")
        self.stdout = open(stdout, "rb")
        self.stderr = open(stderr, "rb")

    @property
    def returncode(self) -> Optional[int]:
        return self.forked.returncode

    def poll(self) -> Optional[int]:
        return self.forked.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        code = self.forked.wait(timeout)
        self.forked.end()  # the session is over: the zygote may go on to the next
        return code


class WarmGrader:
    """A warm judge zygote and a warm worker zygote; `grade()` forks a fresh pair from them.

    Use it as a context manager (or call close()): both zygotes, and anything they forked, end
    with it; should this process die, they die with it (PDEATHSIG)."""

    def __init__(
        self, kata: Kata, timeout: float = DEFAULT_TIMEOUT_S, memory: int = DEFAULT_MEMORY, showcase: bool = True
    ) -> None:
        if not sys.platform.startswith("linux"):
            raise UsageError("grading on save needs Linux (it forks warm processes); run attnquiz grade after each save")
        runner.require("torch", "pytest")
        self.kata, self.timeout, self.memory, self.showcase = kata, timeout, memory, showcase
        self.judge: Optional[_Zygote] = None
        self.worker: Optional[_Zygote] = None
        self.restarts = 0
        self.home = tempfile.mkdtemp(prefix=runner.TEMP_PREFIX)  # swept like a work folder if we die
        (Path(self.home) / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
        self.cwd = os.path.join(self.home, "zygotes")
        os.mkdir(self.cwd, 0o700)
        self._start()

    def __enter__(self) -> "WarmGrader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> None:
        # the worker's environment says no GPU (judge.worker_env): so does its zygote's, before torch loads
        self.worker = _Zygote("attnquiz.grading.worker", self.cwd, CUDA_VISIBLE_DEVICES="")
        self.judge = _Zygote("attnquiz.grading.judge", self.cwd)

    def close(self) -> None:
        """Stop both zygotes (each kills what it forked first) and remove their folder."""
        self._stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def _stop(self) -> None:
        for z in (self.judge, self.worker):
            if z is not None:
                z.close()
        self.judge = self.worker = None

    def restart(self) -> None:
        self._stop()
        self.restarts += 1
        self._start()

    def alive(self) -> bool:
        return all(z is not None and z.alive() for z in (self.judge, self.worker))

    def pids(self) -> list[int]:
        """The zygotes' process ids (judge, worker)."""
        return [z.proc.pid for z in (self.judge, self.worker) if z is not None]

    def start(self) -> None:
        """Wait until both zygotes have done their imports (the first call takes about as long as
        a cold grading; a grading's time limit starts after it)."""
        for z in (self.worker, self.judge):
            assert z is not None
            if not z.wait_ready(START_S):
                raise zygote.ZygoteGone(f"{z.module} did not start: {z.last_error() or 'it said nothing'}")

    def grade(self, file: Path, on_progress: Optional[Callable[[str], None]] = None) -> GradeResult:
        """Grade FILE as `runner.grade` does, with a judge and a worker forked for it. A grading
        during which a zygote died (not the learner's doing: its code runs in the forked worker)
        is graded once more with fresh zygotes."""
        for attempt in (1, 2):
            try:
                if not self.alive():
                    self.restart()
                self.start()
                result = runner.grade(
                    self.kata, file, timeout=self.timeout, showcase=self.showcase, memory=self.memory,
                    launch=self._launch, on_progress=on_progress,
                )  # fmt: skip
            except zygote.ZygoteGone as exc:
                if attempt == 2:
                    raise AttnquizError(f"the warm grader could not start or died twice ({exc}); grade without --watch") from None
                self.restart()
                continue
            if self._settle() or attempt == 2:
                return result
            self.restart()
        raise AssertionError("unreachable")

    def _settle(self) -> bool:
        """Both zygotes idle again (every process of the grading gone); False if one died or hung."""
        ok = all(z is not None and z.settle(SETTLE_S) for z in (self.worker, self.judge))
        return ok and self.alive()

    def _launch(self, workdir: str) -> ForkedJudge:
        """runner's launcher: fork a judge in WORKDIR, with a session to the worker zygote of its own."""
        assert self.judge is not None and self.worker is not None
        forks = self.worker.session()
        fds: list[int] = []
        try:
            conn = self.judge.session()
            stdin_r, stdin_w = os.pipe()
            stdout_r, stdout_w = os.pipe()
            stderr_r, stderr_w = os.pipe()
            fds = [stdin_r, stdout_w, stderr_w]
            ours = [stdin_w, stdout_r, stderr_r]
            try:
                forked = zygote.fork(conn, {"cwd": workdir}, [stdin_r, stdout_w, stderr_w, forks.fileno()], self.timeout)
            except BaseException:
                conn.close()
                zygote.close_fds(ours)
                raise
        finally:
            zygote.close_fds(fds)
            forks.close()
        return ForkedJudge(forked, stdin_w, stdout_r, stderr_r)


def saves(file: Path, stop: Optional[threading.Event] = None, debounce_ms: int = DEBOUNCE_MS) -> Iterator[bytes]:
    """The content of FILE now, then after every save that changes it, until STOP is set (or
    Ctrl-C: KeyboardInterrupt). The folder is watched, not the file, so a save that renames a new
    file over the old one (vim's backup, atomic writes) counts; a save that leaves the content as
    it was does not, and neither does a moment when the file is missing or empty."""
    runner.require("watchfiles")
    import watchfiles

    path = Path(os.path.realpath(file))  # a link's target is what an editor writes
    target = str(path)
    changes = watchfiles.watch(
        path.parent,
        watch_filter=lambda change, changed: changed == target,
        debounce=debounce_ms,
        step=min(STEP_MS, debounce_ms),
        stop_event=stop,
        rust_timeout=WAKE_MS,
        yield_on_timeout=True,
        recursive=False,
        raise_interrupt=True,
    )
    next(changes, None)  # the watcher runs once its first (empty) batch is back: no save is missed from now on
    last = _read(path)
    if last is not None:
        yield last
    for batch in changes:  # saves made while the caller graded wait here
        if not batch:
            continue
        content = _read(path)
        if content is not None and content != last:
            last = content
            yield content


def _read(path: Path) -> Optional[bytes]:
    """The file's content; None while it is missing, unreadable or empty (an editor that saves in
    place truncates the file first: its write is the save that counts)."""
    try:
        return path.read_bytes() or None
    except OSError:  # between an editor's rename and its write, or unreadable for now
        return None


def watch(
    kata: Kata,
    file: Path,
    *,
    on_grading: Callable[[], None],
    on_result: Callable[[GradeResult], None],
    on_progress: Optional[Callable[[str], None]] = None,
    on_refused: Optional[Callable[[str], None]] = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory: int = DEFAULT_MEMORY,
    showcase: bool = True,
    stop: Optional[threading.Event] = None,
) -> None:
    """Grade FILE now and after every save that changes it, until STOP is set or Ctrl-C
    (KeyboardInterrupt, raised after everything started here has ended). ON_GRADING() is called
    as a grading starts, ON_PROGRESS(check) as each check starts (from another thread), and
    ON_RESULT(result) with each result. A save that cannot be graded (a file over the size
    limit) goes to ON_REFUSED(message), and the watch goes on; without it, UsageError is raised."""
    runner.require("torch", "pytest", "watchfiles")
    with WarmGrader(kata, timeout=timeout, memory=memory, showcase=showcase) as grader:
        for _ in saves(file, stop):
            on_grading()
            try:
                result = grader.grade(file, on_progress)
            except UsageError as exc:
                if on_refused is None:
                    raise
                on_refused(str(exc))
                continue
            on_result(result)
