"""Runs inside the grading child: keep the learner's code from cheating the suite.

Four defences, installed before the learner's file is imported:
- forbidden torch entry points are wrapped so a call made by the learner's code raises; with
  torch.nn.functional.scaled_dot_product_attention forbidden, so are its whole family (the aten
  ops behind it, however they are reached: torch.ops.aten, torch._C, getattr with a computed name);
- opening a file of the kata folders (the reference, the known mistakes) from the learner's code
  raises, whatever path it was reached by;
- the namespaces the suite compares with (torch, torch.Tensor, torch.testing, builtins...) are
  snapshotted; `verify()` puts back anything the learner changed and says what it was;
- `import attnquiz` is refused, so the learner cannot reach the grader or the reference.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import importlib.abc
import math
import os
import sys
import types
from typing import Any, Optional, Sequence


class ForbiddenCall(AssertionError):
    """The learner's code called something the kata forbids."""


class TamperError(AssertionError):
    """The learner's code changed torch or builtins; the changes were undone."""


_MISSING = object()

# The aten ops behind F.scaled_dot_product_attention (those this torch lacks are skipped).
SDPA_OPS = (
    "scaled_dot_product_attention",
    "_scaled_dot_product_attention_math",
    "_scaled_dot_product_attention_math_for_mps",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    "_triton_scaled_dot_attention",
)
SDPA = "torch.nn.functional.scaled_dot_product_attention"
_HERE = os.path.abspath(__file__)


def _dir_of(module: Any) -> str:
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


# Audit events that name a path: (indexes of the path arguments, index of dir_fd or None).
_FILE_EVENTS: dict[str, tuple[tuple[int, ...], Optional[int]]] = {
    "open": ((0,), None),
    "os.rename": ((0, 1), 2),
    "os.link": ((0, 1), 2),
    "os.symlink": ((0, 1), 2),
    "os.remove": ((0,), 1),
    "os.rmdir": ((0,), 1),
    "os.mkdir": ((0,), 2),
    "os.truncate": ((0,), None),
    "os.chmod": ((0,), 2),
    "os.utime": ((0,), 3),
    "shutil.rmtree": ((0,), 1),
}


class _FunctionsProxy:
    """torch._C._VariableFunctions with the attention ops guarded (its attributes are read-only)."""

    def __init__(self, real: Any, guarded: dict[str, Any]) -> None:
        self._real, self._guarded = real, guarded

    def __getattr__(self, name: str) -> Any:
        if name in self._guarded:
            return self._guarded[name]
        return getattr(self._real, name)

    def __dir__(self) -> list[str]:
        return dir(self._real)


class _GuardedOp:
    """Stands for an aten op packet (or one overload): calling it from the learner's code raises."""

    def __init__(self, guard: "Guard", dotted: str, op: Any) -> None:
        self._guard, self._dotted, self._op = guard, dotted, op

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._guard._forbid(self._dotted)
        return self._op(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._op, name)
        if callable(attr) and not name.startswith("_") and name not in ("overloads", "name"):
            return _GuardedOp(self._guard, f"{self._dotted}.{name}", attr)
        return attr

    def __repr__(self) -> str:
        return repr(self._op)


class Guard:
    def __init__(
        self,
        torch: types.ModuleType,
        forbidden: list[str],
        protected: Sequence[str] = (),
        trusted: Sequence[str] = (),
    ) -> None:
        self.torch = torch
        self.learner_files: set[str] = set()
        self.violations: list[tuple[str, str, Optional[str]]] = []  # (file, message, candidate id)
        self.current: Optional[str] = None  # id of the candidate whose code runs now
        self.changes: dict[Optional[str], list[str]] = {}  # what verify() undid, per candidate
        # Folders whose files the learner's code may not open, and the grader's own files whose
        # frames may (and may call forbidden things: the suites use nn.MultiheadAttention).
        self.protected = tuple(os.path.realpath(p) + os.sep for p in protected)
        self.trusted = {os.path.abspath(p) for p in trusted} | {
            os.path.join(os.path.dirname(_HERE), f) for f in ("_grade_child.py", "_grade_plugin.py")
        }
        import _pytest
        import pluggy

        stdlib = _dir_of(os)
        self._skip = (_dir_of(torch), _dir_of(_pytest), _dir_of(pluggy), stdlib)
        self._site = ("site-packages", "dist-packages")
        self._pins: list[tuple[Any, str, Any]] = []  # (owner, name, value) verify() keeps in place
        for dotted in forbidden:
            self._wrap_everywhere(dotted)
        if SDPA in forbidden:
            self._wrap_sdpa_family()
        if self.protected:
            self._guard_files()
        self._snap_modules = [(m, dict(vars(m))) for m in self._modules()]
        self._snap_classes = [(c, dict(vars(c))) for c in self._classes()]
        self.allclose = torch.allclose
        self.isnan = torch.isnan

    def _modules(self) -> list[types.ModuleType]:
        t = self.torch
        testing = importlib.import_module("torch.testing")  # loaded before the snapshot
        return [t, t.nn.functional, testing, t.linalg, t.autograd, builtins, math]

    def _classes(self) -> list[type]:
        t = self.torch
        from torch.nn.modules.activation import MultiheadAttention

        return [t.Tensor, t.nn.Module, t.nn.Linear, t.nn.LayerNorm, t.nn.Embedding, MultiheadAttention, t.Generator]

    # --- forbidden calls ------------------------------------------------------------------

    def _skipped(self, filename: str) -> bool:
        """torch, pytest, the standard library, the guard itself: they act for their caller."""
        if filename == _HERE or filename.startswith(self._skip[:3]) or filename.startswith("<frozen "):
            return True
        return filename.startswith(self._skip[3]) and not any(s in filename for s in self._site)

    def _culprit(self) -> Optional[types.FrameType]:
        """The learner's frame responsible for the current call, or None when the grader made it.

        The learner's code is responsible when one of its files is on the stack, or when the
        innermost frame outside torch, pytest and the standard library is not one of the grader's
        own files (code the learner compiled under another file name, say).
        """
        frame: Optional[types.FrameType] = sys._getframe(1)
        first: Optional[types.FrameType] = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename in self.learner_files:
                return frame
            if first is None and not self._skipped(filename):
                first = frame
            frame = frame.f_back
        if first is not None and first.f_code.co_filename not in self.trusted:
            return first
        return None

    def _violation(self, frame: types.FrameType, what: str) -> None:
        path = frame.f_code.co_filename
        message = f"{os.path.basename(path)} line {frame.f_lineno}: {what}"
        if not any(m == message for _, m, _ in self.violations):
            # Code outside the learner's files is charged to the candidate running now.
            self.violations.append((path, message, None if path in self.learner_files else self.current))
        raise ForbiddenCall(message)

    def _forbid(self, dotted: str) -> None:
        frame = self._culprit()
        if frame is not None:
            self._violation(frame, f"calls {dotted}, which this kata forbids — write the attention yourself")

    def forbid_now(self, what: str) -> None:
        """Refuse something only the learner's code can be doing (the decoys in sys.modules)."""
        frame = self._culprit() or sys._getframe(1)
        self._violation(frame, what)

    def _wrap_sdpa_family(self) -> None:
        """Every entry point of the fused attention ops: aten packets, torch.*, torch._C.*."""
        t = self.torch
        aten = t.ops.aten
        for name in SDPA_OPS:
            try:
                op = getattr(aten, name)
            except (AttributeError, RuntimeError):
                op = None
            if op is not None and not isinstance(op, _GuardedOp):
                self._pin(aten, name, _GuardedOp(self, f"torch.ops.aten.{name}", op))
            for owner, prefix in ((t, "torch"), (t._C._VariableFunctions, "torch._C._VariableFunctions"),
                                  (getattr(t._C, "_nn", None), "torch._C._nn")):  # fmt: skip
                original = getattr(owner, name, None) if owner is not None else None
                if original is not None and not getattr(original, "__attnquiz_guarded__", False):
                    self._pin(owner, name, self._wrap(f"{prefix}.{name}", original))
        vf = t._C._VariableFunctions  # read-only attributes: stand a proxy in its place
        proxy = _FunctionsProxy(vf, {n: self._wrap(f"torch._C._VariableFunctions.{n}", getattr(vf, n))
                                     for n in SDPA_OPS if hasattr(vf, n)})  # fmt: skip
        self._pin(t._C, "_VariableFunctions", proxy)
        vf_module = sys.modules.get("torch._VF")
        if vf_module is not None and getattr(vf_module, "vf", None) is vf:
            self._pin(vf_module, "vf", proxy)
        guard = self
        namespace = type(aten)
        original_getattr = namespace.__getattr__

        def __getattr__(self: Any, op_name: str) -> Any:  # a fresh _OpNamespace("aten")
            op = original_getattr(self, op_name)
            if getattr(self, "name", None) == "aten" and op_name in SDPA_OPS:
                op = _GuardedOp(guard, f"torch.ops.aten.{op_name}", op)
                setattr(self, op_name, op)
            return op

        self._pin(namespace, "__getattr__", __getattr__)
        for lookup in ("_jit_get_operation", "_get_operation_overload"):
            original = getattr(t._C, lookup, None)
            if original is not None:
                self._pin(t._C, lookup, self._by_name(f"torch._C.{lookup}", original))

    def _by_name(self, dotted: str, original: Any) -> Any:
        guard = self

        @functools.wraps(original)
        def lookup(name: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(name, str) and name.split("::")[-1].split(".")[0] in SDPA_OPS:
                guard._forbid(f"{dotted}({name!r})")
            return original(name, *args, **kwargs)

        return lookup

    def _pin(self, owner: Any, name: str, value: Any) -> None:
        try:
            setattr(owner, name, value)
        except (AttributeError, TypeError):  # an immutable built-in type
            return
        self._pins.append((owner, name, value))

    # --- files -----------------------------------------------------------------------------

    def _check_path(self, file: Any, dir_fd: Any = None) -> None:
        if isinstance(file, int) or file is None:
            return
        try:
            name = os.fsdecode(file)
        except (TypeError, ValueError):
            return
        if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(name):  # -100: AT_FDCWD
            try:
                name = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name)
            except OSError:
                pass
        try:
            path = os.path.realpath(name)
        except (ValueError, OSError):
            return
        if (path + os.sep).startswith(self.protected):
            frame = self._culprit()
            if frame is not None:
                shown = os.sep.join(path.split(os.sep)[-3:])
                self._violation(frame, f"touches {shown}, a file that belongs to the grader — write the code yourself")

    def _guard_files(self) -> None:
        """An audit hook sees every route to a file (open, io.open_code, os.open, FileIO, renames,
        links...) and cannot be removed; it refuses the learner's code the protected folders."""
        import threading

        local = threading.local()  # per thread: one thread's check never skips another's

        def hook(event: str, args: tuple) -> None:
            spec = _FILE_EVENTS.get(event)
            if spec is None or getattr(local, "busy", False):
                return
            local.busy = True
            try:
                paths, fd_index = spec
                dir_fd = args[fd_index] if fd_index is not None and len(args) > fd_index else None
                for i in paths:
                    if i < len(args):
                        self._check_path(args[i], dir_fd)
            finally:
                local.busy = False

        sys.addaudithook(hook)
        # The "open" event does not carry os.open's dir_fd: check that one here.
        try:
            import posix
        except ImportError:  # Windows: no dir_fd
            return
        original = posix.open

        @functools.wraps(original)
        def guarded_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: Any = None) -> int:
            if dir_fd is not None:
                self._check_path(path, dir_fd)
            return original(path, flags, mode, dir_fd=dir_fd)

        self._pin(posix, "open", guarded_open)
        if os.open is original:
            self._pin(os, "open", guarded_open)

    def _wrap_everywhere(self, dotted: str) -> None:
        module_name, _, attr = dotted.rpartition(".")
        try:
            owner = __import__(module_name, fromlist=["_"])
            original = getattr(owner, attr)
        except (ImportError, AttributeError):
            return
        guarded = self._wrap(dotted, original)
        owners = [m for n, m in list(sys.modules.items()) if n == "torch" or n.startswith("torch.")]
        owners.append(getattr(self.torch._C, "_nn", None))
        for mod in owners:
            try:
                names = [k for k, v in vars(mod).items() if v is original]
            except TypeError:
                continue
            for name in names:
                setattr(mod, name, guarded)

    def _wrap(self, dotted: str, original: Any) -> Any:
        guard = self
        if isinstance(original, type):

            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                guard._forbid(dotted)
                original.__init__(self, *args, **kwargs)

            return type(original.__name__, (original,), {"__init__": __init__, "__module__": original.__module__})

        @functools.wraps(original)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            guard._forbid(dotted)
            return original(*args, **kwargs)

        guarded.__attnquiz_guarded__ = True  # type: ignore[attr-defined]
        return guarded

    # --- tampering ------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Undo every change to the snapshotted namespaces; return what had changed."""
        changed: list[str] = []
        for owner, name, value in self._pins:
            if vars(owner).get(name, _MISSING) is not value:
                changed.append(f"{getattr(owner, '__name__', type(owner).__name__)}.{name}")
                setattr(owner, name, value)
        for mod, snap in self._snap_modules:
            current = vars(mod)
            for key, value in snap.items():
                if current.get(key, _MISSING) is not value:
                    changed.append(f"{mod.__name__}.{key}")
                    setattr(mod, key, value)
        for cls, snap in self._snap_classes:
            current = dict(vars(cls))
            for key, value in snap.items():
                if current.get(key, _MISSING) is not value:
                    changed.append(f"{cls.__qualname__}.{key}")
                    setattr(cls, key, value)
            for key in current.keys() - snap.keys():
                changed.append(f"{cls.__qualname__}.{key}")
                delattr(cls, key)
        if changed:
            self.changes.setdefault(self.current, []).extend(changed)
        return changed

    def verify_or_fail(self) -> None:
        changed = self.verify()
        if changed:
            raise TamperError(tamper_message(changed))


def tamper_message(changed: list[str]) -> str:
    shown = ", ".join(sorted(set(changed))[:5])
    return f"your code replaced {shown}; grading undid it — do not monkeypatch torch or builtins"


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuse `import attnquiz` once the grader's own modules are loaded."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "attnquiz" or fullname.startswith("attnquiz."):
            raise ImportError("importing attnquiz is forbidden while grading")
        return None


def hide_attnquiz() -> None:
    for name in [n for n in sys.modules if n == "attnquiz" or n.startswith("attnquiz.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, ImportBlocker())


class Helpers:
    """What the hidden suites compare with (the `h` fixture); every check starts by verify()."""

    TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5), "bfloat16": (3e-2, 3e-2), "float16": (1e-2, 1e-3)}

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.torch = guard.torch

    def tensor(self, actual: Any, what: str) -> Any:
        self.guard.verify_or_fail()
        t = self.torch
        if type(actual) not in (t.Tensor, t.nn.Parameter):
            raise AssertionError(f"{what}: expected a plain torch.Tensor, got {type(actual).__name__}")
        return actual

    def close(self, actual: Any, expected: Any, what: str, dtype: Any = None) -> None:
        """Same shape, (dtype,) no NaN, and close to the float64 reference within the dtype's tolerance."""
        actual = self.tensor(actual, what)
        t = self.torch
        if tuple(actual.shape) != tuple(expected.shape):
            raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
        if dtype is not None and actual.dtype != dtype:
            raise AssertionError(f"{what}: dtype {actual.dtype}, expected {dtype} (keep the input's dtype)")
        a = actual.detach().to(t.float64)
        e = expected.detach().to(t.float64)
        nan = self.guard.isnan(a) & ~self.guard.isnan(e)
        if bool(nan.any()):
            idx = tuple(int(i) for i in nan.nonzero()[0])
            raise AssertionError(f"{what}: NaN at index {idx} where the reference is finite")
        rtol, atol = self.TOLERANCES.get(str(actual.dtype).replace("torch.", ""), (1e-4, 1e-5))
        if not self.guard.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            diff = (a - e).abs().nan_to_num(nan=float("inf"), posinf=float("inf"))
            flat = int(diff.argmax())
            idx = tuple(int(i) for i in t.unravel_index(t.tensor(flat), diff.shape))
            raise AssertionError(
                f"{what}: differs from the reference by {float(diff.max()):.3g} at index {idx} "
                f"(got {float(a[idx]):.4g}, expected {float(e[idx]):.4g})"
            )

    def equal(self, actual: Any, expected: Any, what: str) -> None:
        """Exactly equal integer tensors (token ids)."""
        actual = self.tensor(actual, what)
        if tuple(actual.shape) != tuple(expected.shape):
            raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
        if actual.dtype != expected.dtype:
            raise AssertionError(f"{what}: dtype {actual.dtype}, expected {expected.dtype}")
        diff = (actual != expected).nonzero()
        if len(diff):
            idx = tuple(int(i) for i in diff[0])
            raise AssertionError(
                f"{what}: differs at index {idx} (got {int(actual[idx])}, expected {int(expected[idx])})"
            )

