"""The sandboxed worker: `python -m attnquiz.grading.worker READ_FD WRITE_FD`, started by the judge.

Untrusted by design: it runs the learner's file. It holds none of the truth (no reference, no
hidden tests, no expected values) and only answers the judge's requests on two pipes:
construct, call, read an attribute, run backward with a given upstream gradient. Before the
learner's file is loaded it lowers its rlimits, confines itself with Landlock (read: Python and
its packages except attnquiz; write: a scratch folder) and forgets attnquiz. In watch mode the
worker is forked by a zygote that has imported torch (`--zygote`, below) and then does the same.

Requests are dicts `{"op": ..., "n": sequence number, ...}`; replies `{"n": ..., "ok": True,
"value": ...}` or `{"n": ..., "ok": False, "error": {"type", "message", "line"}}`. Objects that
are not plain data (modules, classes, bound methods) stay here and cross as protocol.Ref.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import tempfile
import traceback
import types
from pathlib import Path
from typing import Any, Callable, NoReturn

from attnquiz.grading import procs, protocol, sandbox, streams, zygote
from attnquiz.grading.guard import Guard, tamper_message, tamper_names

class Worker:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle
        self.candidates: dict[str, str] = {}  # candidate id -> file path
        self.modules: dict[str, types.ModuleType] = {}
        self.guard: Guard | None = None
        self.watches: dict[int, list[bool]] = {}
        self.current: str | None = None
        self.autograd_grad: Callable[..., Any] | None = None
        self.staged: dict[int, Any] = {}  # measured calls: arguments in, then the result

    # --- objects that stay here ------------------------------------------------------------

    def ref(self, obj: Any) -> protocol.Ref:
        key = id(obj)
        handle = self.ids.get(key)
        if handle is None or self.objects.get(handle) is not obj:
            handle = len(self.objects) + 1
            self.objects[handle] = obj
            self.ids[key] = handle
        kind = type(obj)
        return protocol.Ref(handle, f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"[:200])

    def deref(self, ref: protocol.Ref) -> Any:
        try:
            return self.objects[ref.id]
        except KeyError:
            raise protocol.ProtocolError(f"no object {ref.id} in the worker") from None

    # --- the loop --------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                request = protocol.read_message(self.rfd, on_ref=self.deref)
            except protocol.ProtocolError:
                return  # the judge is gone or spoke nonsense: nothing left to do
            if not isinstance(request, dict):
                return
            n = request.get("n")
            try:
                value = self.dispatch(request)
                reply = {"n": n, "ok": True, "value": value}
            except BaseException as exc:  # noqa: BLE001 - the learner's code may raise anything
                reply = {"n": n, "ok": False, "error": self.describe(exc)}
            finally:
                if self.guard is not None:
                    self.guard.current = self.current
                    self.guard.verify()
            try:
                protocol.write_message(self.wfd, reply, default=self.ref)
            except protocol.ProtocolError as exc:
                fallback = {"type": "TypeError", "message": f"the result cannot be sent to the grader: {exc}", "line": None}
                protocol.write_message(self.wfd, {"n": n, "ok": False, "error": fallback})

    def describe(self, exc: BaseException) -> dict[str, Any]:
        line = None
        files = set(self.candidates.values())
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename in files:
                line = lineno
        try:
            message = str(exc)
        except BaseException:  # noqa: BLE001 - a hostile __str__
            message = "(the exception's message could not be read)"
        return {"type": type(exc).__name__[:100], "message": message[:2000], "line": line}

    def dispatch(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            raise ValueError(f"unknown request {op!r}")
        self.current = request.get("cand") if isinstance(request.get("cand"), str) else self.current
        if self.guard is not None:
            self.guard.current = self.current
        return handler(request)

    # --- requests ----------------------------------------------------------------------------

    def op_init(self, req: dict[str, Any]) -> dict[str, Any]:
        """Limits, then the sandbox, then torch and the guard: all before any learner code."""
        if self.guard is not None:
            raise ValueError("already initialised")
        self.candidates = {str(k): str(v) for k, v in req["candidates"].items()}
        sandbox.set_limits(
            memory_bytes=req.get("memory"), cpu_seconds=req.get("cpu"), file_bytes=64 << 20, open_files=256
        )
        hole = list(req["exclude"])  # attnquiz's package and content: Landlock allows, so leave a hole
        if req.get("confine", True):
            confinement = sandbox.confine(
                read=[*sandbox.python_read_roots(exclude=hole), *self.candidates.values()],
                write=[req["scratch"], os.devnull],
                list_only=sandbox.python_listable_dirs(exclude=hole),
            )
        else:
            confinement = sandbox.Confinement(sandbox.landlock_abi(), False, False, False, "turned off by ATTNQUIZ_SANDBOX=off")
        _forget_attnquiz()
        import torch  # inside the sandbox: torch's own threads start only now

        self.autograd_grad = torch.autograd.grad  # the grader's own: a kata may forbid it to the learner
        self.guard = Guard(torch, list(req["forbidden"]), learner_files=list(self.candidates.values()))
        return {
            "abi": confinement.abi,
            "files": confinement.files_confined,
            "net": confinement.net_confined,
            "signals": confinement.signals_confined,
            "reason": confinement.reason,
        }

    def op_load(self, req: dict[str, Any]) -> dict[str, Any]:
        """Import one candidate file; report how it went, and the module as a Ref."""
        cand = str(req["cand"])
        path = self.candidates[cand]
        name = Path(path).name
        spec = importlib.util.spec_from_file_location(f"learner_{cand}", path)
        if spec is None or spec.loader is None:
            return {"ok": False, "message": f"{name} cannot be imported", "key": "cannot_import", "args": {"name": name}}
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # while it runs only (dataclasses look their module up)
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:
            line = _line(exc, path)
            return {
                "ok": False, "message": f"{name} called sys.exit({exc.code!r}) while being imported{_suffix(line)}",
                "key": "sys_exit", "args": {"name": name, "code": repr(exc.code), "line": line or ""},
            }  # fmt: skip
        except BaseException as exc:  # noqa: BLE001
            err = self.describe(exc)
            line = _line(exc, path)
            return {
                "ok": False, "message": f"{name} raised {err['type']}: {err['message'][:500]}{_suffix(line)} while being imported",
                "key": "import_raised", "args": {"name": name, "type": err["type"], "message": err["message"][:500], "line": line or ""},
            }  # fmt: skip
        finally:
            sys.modules.pop(spec.name, None)
        missing = [s for s in req["symbols"] if not hasattr(module, s)]
        if missing:
            names = ", ".join(f"`{s}`" for s in missing)
            return {
                "ok": False, "message": f"{name} defines no {names}; the kata needs it at the top level of the file",
                "key": "missing_symbols", "args": {"name": name, "names": names},
            }  # fmt: skip
        self.modules[cand] = module
        return {"ok": True, "module": self.ref(module)}

    def op_getattr(self, req: dict[str, Any]) -> Any:
        return getattr(req["obj"], str(req["name"]))

    def op_call(self, req: dict[str, Any]) -> Any:
        args, kwargs = list(req.get("args") or ()), dict(req.get("kwargs") or {})
        value = req["obj"](*args, **kwargs)
        if req.get("return_args"):
            return {"value": value, "args": args}
        return value

    def op_define(self, req: dict[str, Any]) -> protocol.Ref:
        """Run grader-owned SOURCE (a model the kata's contract hands to the learner's code) as a
        fresh module here, so the learner's code gets an object of the grader's class, not its own."""
        module = types.ModuleType(f"_kata_{str(req['name'])[:40]}")
        sys.modules[module.__name__] = module  # while it runs only (dataclasses look their module up)
        try:
            exec(compile(str(req["source"]), f"<{req['name']}>", "exec"), module.__dict__)
        finally:
            sys.modules.pop(module.__name__, None)
        return self.ref(module)

    def op_stage(self, req: dict[str, Any]) -> int:
        """Hold a measured call's arguments here, so that decoding them is not charged to the call.
        `streams` maps argument positions to stream descriptions: those become generators."""
        args, kwargs = list(req.get("args") or ()), dict(req.get("kwargs") or {})
        for pos, spec in (req.get("streams") or {}).items():
            args[int(pos)] = streams.chunks(spec, settle=False)
        handle = max(self.staged, default=0) + 1
        self.staged[handle] = (req["obj"], args, kwargs)
        streams.steady_heap()  # before the judge notes the resident set: see steady_heap
        return handle

    def op_run(self, req: dict[str, Any]) -> None:
        """The measured call itself; its result stays here until `take` (encoding it is not charged)."""
        fn, args, kwargs = self.staged.pop(int(req["id"]))
        self.staged[int(req["id"])] = ("done", fn(*args, **kwargs))
        del fn, args, kwargs

    def op_take(self, req: dict[str, Any]) -> Any:
        kind, value = self.staged.pop(int(req["id"]))
        return value

    def op_isinstance(self, req: dict[str, Any]) -> bool:
        import torch

        target: Any = torch
        for part in str(req["cls"]).split(".")[1:]:
            target = getattr(target, part)
        return isinstance(req["obj"], target)

    def op_grad(self, req: dict[str, Any]) -> dict[str, Any]:
        """Call obj(*args) with gradients on the args named by `wrt`, then backward with the given
        upstream gradients; return the outputs, the input gradients and the parameters' ones."""
        import torch

        args, kwargs = list(req.get("args") or ()), dict(req.get("kwargs") or {})
        wrt = [int(i) for i in req.get("wrt") or ()]
        for i in wrt:
            args[i] = args[i].clone().requires_grad_(True)
        module = req.get("params")
        params = sorted(module.named_parameters()) if module is not None else []
        out = req["obj"](*args, **kwargs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        upstream = req["upstream"]
        ups = list(upstream) if isinstance(upstream, (tuple, list)) else [upstream]
        pairs = [(o, u) for o, u in zip(outs, ups) if u is not None]
        tracked = [isinstance(o, torch.Tensor) and o.requires_grad for o, _ in pairs]
        grad_fns = [type(o.grad_fn).__name__[:100] if isinstance(o, torch.Tensor) and o.grad_fn is not None else "" for o, _ in pairs]
        result: dict[str, Any] = {"output": out, "tracked": tracked, "grad_fns": grad_fns, "inputs": [None] * len(wrt), "params": []}
        if not all(tracked):
            return result
        targets = [args[i] for i in wrt] + [p for _, p in params]
        grads = self.autograd_grad([o for o, _ in pairs], targets, [u for _, u in pairs], allow_unused=True)
        result["inputs"] = list(grads[: len(wrt)])
        result["params"] = [[name, g] for (name, _), g in zip(params, grads[len(wrt) :])]
        return result

    def op_watch(self, req: dict[str, Any]) -> int:
        """Record, for every forward call of a module, whether its output tracks gradients."""
        import torch

        log: list[bool] = []
        handle = len(self.watches) + 1
        self.watches[handle] = log

        def hook(module: Any, args: Any, output: Any) -> None:
            log.append(bool(isinstance(output, torch.Tensor) and output.requires_grad))

        req["obj"].register_forward_hook(hook)
        return handle

    def op_watched(self, req: dict[str, Any]) -> list[bool]:
        return list(self.watches[int(req["id"])])

    def op_status(self, req: dict[str, Any]) -> dict[str, Any]:
        """What the guard saw per candidate: forbidden calls and monkeypatching (undone)."""
        assert self.guard is not None
        out: dict[str, Any] = {}
        for cand, path in self.candidates.items():
            forbidden = [m for f, m, c in self.guard.violations if f == path or c == cand]
            changed = self.guard.changes.get(cand) or []
            out[cand] = {
                "forbidden": forbidden,
                "forbidden_args": [self.guard.details.get(m) for m in forbidden],  # the judge words them in --lang
                "tampered": tamper_message(changed) if changed else "",
                "tampered_args": {"names": tamper_names(changed)} if changed else None,
            }
        return out


def _line(exc: BaseException, path: str) -> int | None:
    """The last line of the learner's file in EXC's traceback."""
    lines = [ln for f, ln in traceback.walk_tb(exc.__traceback__) if f.f_code.co_filename == path]
    return lines[-1] if lines else None


def _suffix(line: int | None) -> str:
    return f" (line {line})" if line else ""


class _NoAttnquiz:
    """A meta path finder that refuses `import attnquiz` inside the worker."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "attnquiz" or fullname.startswith("attnquiz."):
            raise ImportError("importing attnquiz is forbidden while grading")
        return None


def _forget_attnquiz() -> None:
    for name in [n for n in sys.modules if n == "attnquiz" or n.startswith("attnquiz.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _NoAttnquiz())


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    procs.die_with_parent(int(os.environ.pop("ATTNQUIZ_JUDGE_PID", "0") or 0))
    del sys.argv[1:]
    worker = Worker(rfd, wfd)
    worker.serve()


# --- the worker zygote (`attnquiz grade --watch`) ---------------------------------------------------


def zygote_main(ctrl_fd: int) -> None:
    """`python -m attnquiz.grading.worker --zygote FD`: import torch once, then fork one worker per
    grading (see zygote.py). This process never sees a kata: no reference, suite or mistake, and
    no judge code either, so a forked worker holds nothing more than a cold one."""
    import socket

    zygote.zygote_setup()
    me = os.getpid()
    import torch  # noqa: F401 - what every worker needs, imported once
    import torch.testing  # noqa: F401 - the guard snapshots it

    from attnquiz.grading import warm

    warm.torch_once()  # no kata involved: plain tensors
    zygote.serve(socket.socket(fileno=ctrl_fd), lambda request, fds: _forked(request, fds, me))


def _forked(request: dict[str, Any], fds: list[int], zygote_pid: int) -> NoReturn:
    """A forked worker: its pipes (requests in, replies out, output) in place, every other
    descriptor closed, the judge's environment and scratch folder, then the same `serve` as a
    cold worker; the judge's `init` applies the limits and the sandbox before any learner code."""
    rfd, wfd, output = fds
    devnull = os.open(os.devnull, os.O_RDONLY)
    zygote.start_child({0: devnull, 1: output, 2: output, 3: rfd, 4: wfd}, zygote_pid, signal.SIGKILL)
    zygote.enter(str(request["cwd"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
    os.environ.pop("ATTNQUIZ_JUDGE_PID", None)
    tempfile.tempdir = None  # TMPDIR is now the scratch folder
    zygote.reseed_torch()
    del sys.argv[1:]
    try:
        Worker(3, 4).serve()
    finally:
        os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote.run_zygote(zygote_main, sys.argv[2])
    try:
        main()
    finally:
        os._exit(0)  # nothing the learner registered (atexit, threads) runs
