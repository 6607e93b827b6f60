"""The judge's side of the worker: a process handle and proxies that read like the learner's module.

`sol.MultiHeadSelfAttention(16, 4)` in a hidden test sends a request to the worker and returns a
`Remote` standing for the instance there; calling it returns real tensors, decoded here and
validated by the protocol. The worker sees copies of the arguments (so in-place mutation cannot
reach the judge's tensors) and never the reference, the test or the expected values.

An exception raised by the learner's code arrives as a RemoteError that is also an instance of
the builtin exception of the same name (`except ValueError` in a test works as written);
SystemExit, KeyboardInterrupt and anything unknown arrive as plain RemoteError.
"""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
from typing import Any, NoReturn, Optional

from attnquiz.grading import protocol
from attnquiz.i18n import Text


class RemoteError(Exception):
    """The learner's code raised; `remote_type` is the original exception's class name."""

    remote_type = "Exception"
    line: Optional[int] = None


class WorkerGone(AssertionError):
    """The worker died, hung past the deadline or broke the protocol: no more answers."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


_ERROR_CLASSES: dict[str, type] = {}


def remote_error(kind: str, message: str, line: Optional[int]) -> RemoteError:
    base = getattr(builtins, kind, None)
    ok = isinstance(base, type) and issubclass(base, Exception) and not issubclass(base, (AssertionError, Warning))
    key = kind if ok else ""
    cls = _ERROR_CLASSES.get(key)
    if cls is None:
        bases = (RemoteError, base) if ok else (RemoteError,)
        cls = _ERROR_CLASSES[key] = type(f"Remote{kind if ok else 'Error'}", bases, {})
    where = Text("at_line", line=line) if line else ""
    english = f"{kind}: {message}{where}".rstrip(": ")
    text = Text("raised", english, type=kind, message=message, where=where) if message or where else Text("raised_bare", english, type=kind)
    try:
        exc = cls(text)
    except TypeError:  # a builtin whose constructor wants more (UnicodeDecodeError...)
        exc = RemoteError(text)
    exc.remote_type, exc.line = kind, line
    return exc


class WorkerClient:
    """Requests and replies over two pipes, each bounded by the grading deadline."""

    def __init__(self, proc: subprocess.Popen, wfd: int, rfd: int, deadline: float, limit: float) -> None:
        self.proc, self.wfd, self.rfd, self.deadline = proc, wfd, rfd, deadline
        self.limit = f"{limit:g}"
        self.too_long = Text("too_long", limit=self.limit)
        self.n = 0
        self.current = ""  # the candidate whose check runs now: the worker charges what it sees to it
        self.gone: Optional[WorkerGone] = None
        os.set_blocking(wfd, False)

    def request(self, op: str, **fields: Any) -> Any:
        self.send(op, **fields)
        return self.receive()

    def send(self, op: str, **fields: Any) -> None:
        """Write one request; `receive()` reads its reply (the judge may work in between)."""
        if self.gone is not None:
            raise self.after_gone()
        self.n += 1
        try:
            request = {"op": op, "n": self.n, "cand": self.current, **fields}
            protocol.write_message(self.wfd, request, default=_to_ref, deadline=self.deadline)
        except protocol.ProtocolTimeout:
            self._fail(self.too_long, timed_out=True)
        except protocol.ProtocolError as exc:
            self._fail(self._death(str(exc)))

    def after_gone(self) -> WorkerGone:
        """What every request after the worker's end raises: the first one said why."""
        assert self.gone is not None
        if self.gone.timed_out:
            return WorkerGone(Text("past_limit", limit=self.limit), True)
        return WorkerGone(Text("not_run", reason=self.gone.args[0]))

    def receive(self) -> Any:
        if self.gone is not None:
            raise self.after_gone()
        try:
            reply = protocol.read_message(self.rfd, on_ref=self._from_ref, deadline=self.deadline)
        except protocol.ProtocolTimeout:
            self._fail(self.too_long, timed_out=True)
        except protocol.ProtocolError as exc:
            self._fail(self._death(str(exc)))
        if not isinstance(reply, dict) or reply.get("n") != self.n or not isinstance(reply.get("ok"), bool):
            self._fail(Text("out_of_turn"))
        if reply["ok"]:
            return reply.get("value")
        err = reply.get("error")
        if not isinstance(err, dict):
            raise remote_error("Exception", "(no description)", None)
        line = err.get("line") if isinstance(err.get("line"), int) else None
        raise remote_error(str(err.get("type", "Exception"))[:100], str(err.get("message", ""))[:2000], line)

    def _fail(self, why: str, timed_out: bool = False) -> NoReturn:
        self.stop(why, timed_out)
        assert self.gone is not None
        raise WorkerGone(self.gone.args[0], self.gone.timed_out)

    def _death(self, why: str) -> str:
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return Text("stopped_answering", why=why)
        if code == 0:
            return Text("exit_zero")
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            if name == "SIGXCPU":
                return Text("cpu_limit")
            return Text("killed_by", signal=name)
        return Text("worker_ended", code=code)

    def stop(self, why: str, timed_out: bool = False) -> None:
        if self.gone is None:
            self.gone = WorkerGone(why, timed_out)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except OSError:
            pass

    def _from_ref(self, ref: protocol.Ref) -> "Remote":
        return Remote(self, ref)



def _to_ref(obj: Any) -> Any:
    if isinstance(obj, Remote):
        return object.__getattribute__(obj, "_ref")
    raise protocol.ProtocolError(f"cannot send a {type(obj).__name__} to the worker")


class Remote:
    """An object that lives in the worker: attribute reads and calls are requests."""

    __slots__ = ("_client", "_ref")

    def __init__(self, client: WorkerClient, ref: protocol.Ref) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_ref", ref)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._client.request("getattr", obj=self._ref, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects of the learner's code are read-only from the judge")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.request("call", obj=self._ref, args=list(args), kwargs=kwargs)

    def __repr__(self) -> str:
        return f"<{self._ref.type} in the worker>"

    @property
    def remote_type(self) -> str:
        return self._ref.type


def client_of(obj: Remote) -> WorkerClient:
    return object.__getattribute__(obj, "_client")


def ref_of(obj: Remote) -> protocol.Ref:
    return object.__getattribute__(obj, "_ref")
