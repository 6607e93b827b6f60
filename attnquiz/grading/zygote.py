"""Fork servers: warm processes that fork a fresh judge or worker for each grading.

`attnquiz grade --watch` keeps two *zygotes* waiting with their imports done: a judge zygote
(torch, pytest and the suite's plugin) and, as a separate process, a worker zygote (torch and the
worker's own modules, nothing that knows a kata). For each grading the CLI opens a *session* with
each: a fresh socketpair sent over the zygote's control socket. On a session the zygote receives
one fork request carrying the child's file descriptors (SCM_RIGHTS), forks, and from then on
reports the child's exit status, kills the child's process group on request, and when the session
ends (`end`, or the other side closing it) kills the child and everything under the zygote (it is
a child subreaper, so orphans the learner's code left come back to it), then tells the CLI it is
idle. Only then does it read the next session. It says `ready` once its imports are done.

The child sets itself up (its own session, its descriptors, the sandbox for a worker) before it
runs anything; nothing of one grading survives into the next, as each starts from a fresh fork.
Messages are small JSON documents on SOCK_SEQPACKET sockets, so one never arrives in halves.
Linux only (pidfd, SCM_RIGHTS, PR_SET_CHILD_SUBREAPER); elsewhere watch mode is unavailable.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from typing import Any, Callable, NoReturn, Optional, Sequence

from attnquiz.grading import procs

MAX_MESSAGE = 256 * 1024  # a request carries an environment: a few KB
MAX_FDS = 8


class ZygoteGone(OSError):
    """The zygote (or the session's other end) closed the session, or broke the protocol."""


def send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    """One message, with FDS (duplicated into the receiver) when given."""
    data = json.dumps(message).encode("utf-8")
    try:
        if fds:
            socket.send_fds(sock, [data], list(fds))
        else:
            sock.send(data)
    except OSError as exc:
        raise ZygoteGone(f"the other side is gone ({exc.strerror or exc})") from None


def receive(sock: socket.socket, timeout: Optional[float] = None) -> tuple[Optional[dict[str, Any]], list[int]]:
    """(message, fds); (None, []) at end of file. TIMEOUT (seconds) raises TimeoutError."""
    if timeout is not None and not _readable(sock, timeout):
        raise TimeoutError("no message before the deadline")
    try:
        data, fds, flags, _ = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
    except OSError as exc:
        raise ZygoteGone(f"cannot read the session ({exc.strerror or exc})") from None
    if not data:
        close_fds(fds)
        return None, []
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        close_fds(fds)
        raise ZygoteGone("a message was cut short")
    try:
        message = json.loads(data)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        close_fds(fds)
        raise ZygoteGone("a message is not a JSON object")
    return message, fds


def _readable(sock: socket.socket, timeout: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if poller.poll(max(0, int(left * 1000) + 1) if left > 0 else 0):
            return True
        if left <= 0:
            return False


def close_fds(fds: Sequence[int]) -> None:
    """Close each of FDS, those already closed too."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def pair() -> tuple[socket.socket, socket.socket]:
    """A fresh session: two connected SOCK_SEQPACKET sockets (not inherited across exec)."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


# --- the requester's side --------------------------------------------------------------------------


class Forked:
    """A process a zygote forked for us, seen through the session: like a subprocess.Popen, with
    `end()` to have it and everything it started killed before going on."""

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self.conn, self.pid = conn, pid
        self.returncode: Optional[int] = None
        self.ended = False

    def _take(self, timeout: Optional[float]) -> bool:
        """Read one message from the zygote; False when none came within TIMEOUT."""
        if self.ended:
            return False
        if timeout is not None and not _readable(self.conn, timeout):
            return False
        try:
            message, fds = receive(self.conn)
        except ZygoteGone:
            message, fds = None, []
        close_fds(fds)
        if message is None:  # the zygote died: its PDEATHSIG killed the child too
            self.ended = True
            if self.returncode is None:
                self.returncode = -signal.SIGKILL
            return True
        if isinstance(message.get("exit"), int) and self.returncode is None:
            self.returncode = message["exit"]
        if message.get("ended"):
            self.ended = True
        return True

    def poll(self) -> Optional[int]:
        while self.returncode is None and self._take(0):
            pass
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if self.ended:  # gave up on the zygote (end() timed out): count the child as killed
                self.returncode = -signal.SIGKILL
                break
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired("forked process", timeout or 0)
            self._take(left)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL to the process and its process group (the zygote sends it: it knows the pid is
        still its unreaped child)."""
        if not self.ended:
            try:
                send(self.conn, {"op": "kill"})
            except ZygoteGone:
                pass

    def end(self, timeout: float = 5.0) -> None:
        """Kill the process and everything it started; return once the zygote says it is done
        (or after TIMEOUT), and close the session."""
        if not self.ended:
            try:
                send(self.conn, {"op": "end"})
                end = time.monotonic() + timeout
                while not self.ended and time.monotonic() < end:
                    self._take(max(0.0, end - time.monotonic()))
            except ZygoteGone:
                pass
        self.ended = True
        self.conn.close()


def fork(conn: socket.socket, request: dict[str, Any], fds: Sequence[int], timeout: float) -> Forked:
    """Ask the zygote at the other end of CONN (a session) to fork a child with FDS."""
    send(conn, request, fds)
    try:
        reply, extra = receive(conn, timeout)
    except TimeoutError:
        raise ZygoteGone(f"the zygote did not fork within {timeout:g} s") from None
    close_fds(extra)
    if reply is None or not isinstance(reply.get("pid"), int):
        raise ZygoteGone("the zygote ended the session without forking")
    return Forked(conn, reply["pid"])


# --- the zygote's side -------------------------------------------------------------------------------

Child = Callable[[dict[str, Any], list[int]], NoReturn]


def serve(ctrl: socket.socket, child: Child) -> None:
    """Serve sessions from CTRL until it closes; CHILD(request, fds) runs in each forked child and
    never returns. Everything under this process is killed at the end of each session."""
    gc.freeze()  # what is loaded now stays: collections in a child skip it, and leave its pages shared
    send(ctrl, {"ready": True})
    while True:
        message, fds = receive(ctrl)
        if message is None:
            return
        if message.get("op") != "session" or len(fds) != 1:
            close_fds(fds)
            continue
        conn = socket.socket(fileno=fds[0])
        try:
            _session(ctrl, conn, child)
        finally:
            conn.close()
            procs.kill_descendants()
        send(ctrl, {"idle": True})


def _session(ctrl: socket.socket, conn: socket.socket, child: Child) -> None:
    try:
        request, fds = receive(conn)
    except ZygoteGone:
        return
    if request is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            ctrl.close()
            conn.close()
            child(request, fds)
        except BaseException:  # noqa: BLE001 - said on the child's stderr, and the exit code counts
            traceback.print_exc(limit=5)
            sys.stderr.flush()
        finally:
            os._exit(70)
    close_fds(fds)
    code: Optional[int] = None
    reply_end = False
    try:
        send(conn, {"pid": pid})
        code, reply_end = _supervise(conn, pid)
    except ZygoteGone:
        pass
    finally:
        if code is None:
            _kill_group(pid)
            code = _status(os.waitpid(pid, 0)[1])
    procs.kill_descendants()  # orphans the child left re-parented here (a subreaper)
    if reply_end:
        try:
            send(conn, {"ended": True, "exit": code})
        except ZygoteGone:
            pass


def _supervise(conn: socket.socket, pid: int) -> tuple[Optional[int], bool]:
    """Until the session ends: report the child's exit, kill it on request. Returns (exit code
    or None while it runs, whether the other side asked for `end` and waits for the answer)."""
    code: Optional[int] = None
    poller = select.poll()
    poller.register(conn, select.POLLIN)
    pidfd = _pidfd(pid)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    try:
        while True:
            events = poller.poll(None if pidfd is not None or code is not None else 50)
            if code is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    code = _status(status)
                    if pidfd is not None:
                        poller.unregister(pidfd)
                    send(conn, {"exit": code})
            if not any(fd != pidfd for fd, _ in events):
                continue
            message, fds = receive(conn)
            close_fds(fds)
            if message is None:
                return code, False
            if message.get("op") == "kill" and code is None:
                _kill_group(pid)
            elif message.get("op") == "end":
                return code, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> Optional[int]:
    try:
        return os.pidfd_open(pid)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None


def _kill_group(pid: int) -> None:
    """The child is unreaped (a zombie at worst), so neither its pid nor its group id is reused."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _status(status: int) -> int:
    """A wait status as Popen.returncode says it: the exit code, or minus the signal."""
    return os.waitstatus_to_exitcode(status)


def start_child(fds: dict[int, int], parent: int, deathsig: int) -> None:
    """In a freshly forked child: its own session, FDS moved to their numbers ({target: received}),
    every other descriptor closed, and DEATHSIG when the zygote dies."""
    os.setsid()
    procs.die_with_parent(parent, deathsig)
    moved = {}
    for target, fd in fds.items():  # first out of the way, so that no target overwrites a source
        moved[target] = os.dup(fd) if fd != target else fd
    for target, fd in moved.items():
        if fd != target:
            os.dup2(fd, target)
    top = max(fds, default=2) + 1
    os.closerange(max(3, top), os.sysconf("SC_OPEN_MAX"))
    for fd in range(3, top):
        if fd not in fds:
            try:
                os.close(fd)
            except OSError:
                pass
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN if signum == signal.SIGPIPE else signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


_START_DIR = ""  # the zygote's working folder, which `python -m` put first on sys.path


def enter(cwd: str) -> None:
    """In a forked child: work in CWD, and have it first on sys.path where the zygote's folder was,
    as `python -m` in CWD would (the sandbox's read rules and the imports follow sys.path)."""
    os.chdir(cwd)
    if sys.path and _START_DIR and os.path.realpath(sys.path[0] or ".") == _START_DIR:
        sys.path[0] = os.getcwd()


def zygote_setup() -> int:
    """A zygote's first steps: die with the CLI (SIGTERM: kill what it forked first), adopt
    orphans, and never take a Ctrl-C meant for the CLI. Returns the CLI's pid."""
    global _START_DIR
    cli = int(os.environ.pop("ATTNQUIZ_CLI_PID", "0") or 0)
    _START_DIR = os.path.realpath(os.getcwd())

    def on_term(signum: int, frame: Any) -> None:
        procs.kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    procs.die_with_parent(cli, signal.SIGTERM)
    procs.become_subreaper()
    return cli


def reseed_torch() -> None:
    """In a forked child: a fresh random seed, as a process that imported torch itself has (every
    child of one zygote would otherwise draw the same numbers)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def run_zygote(main: Callable[[int], None], ctrl_fd: str) -> NoReturn:
    """`python -m ... --zygote FD`: run MAIN(FD); a crash says why on stderr (the CLI keeps its
    tail) and exits 3, so the CLI starts a fresh zygote."""
    try:
        main(int(ctrl_fd))
    except BaseException:  # noqa: BLE001
        traceback.print_exc(limit=5)
        sys.stderr.flush()
        os._exit(3)
    os._exit(0)
