"""Runs inside the sandboxed worker: a best-effort check for forbidden built-ins and tampering.

Not a security boundary (the worker holds nothing worth stealing, and the judge compares in its
own process); it tells an honest learner that a built-in does the work for them:
- forbidden torch entry points are wrapped so a call raises; with
  torch.nn.functional.scaled_dot_product_attention forbidden, so are its whole family (the aten
  ops behind it, however they are reached: torch.ops.aten, torch._C, getattr with a computed name);
- the namespaces those wrappers live in are snapshotted; `verify()` puts back anything the
  learner changed and says what it was.
Deliberate circumvention (ctypes, re-importing torch's C extension) is out of its reach.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import math
import os
import sys
import types
from typing import Any, Optional, Sequence


class ForbiddenCall(AssertionError):
    """The learner's code called something the kata forbids."""


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
    def __init__(self, torch: types.ModuleType, forbidden: list[str], learner_files: Sequence[str] = ()) -> None:
        self.torch = torch
        self.learner_files: set[str] = set(learner_files)
        self.violations: list[tuple[str, str, Optional[str]]] = []  # (file, message, candidate id)
        self.details: dict[str, dict[str, Any]] = {}  # message -> its parts (file, line, name), for the judge to translate
        self.current: Optional[str] = None  # id of the candidate whose code runs now
        self.changes: dict[Optional[str], list[str]] = {}  # what verify() undid, per candidate
        self._skip = (_dir_of(torch), os.path.dirname(_HERE) + os.sep, _dir_of(os))
        self._pins: list[tuple[Any, str, Any]] = []  # (owner, name, value) verify() keeps in place
        for dotted in forbidden:
            self._wrap_everywhere(dotted)
        if SDPA in forbidden:
            self._wrap_sdpa_family()
        self._snap_modules = [(m, dict(vars(m))) for m in self._modules()]
        self._snap_classes = [(c, dict(vars(c))) for c in self._classes()]

    def _modules(self) -> list[types.ModuleType]:
        t = self.torch
        testing = importlib.import_module("torch.testing")  # loaded before the snapshot
        return [t, t.nn, t.nn.functional, testing, t.linalg, t.autograd, builtins, math]

    def _classes(self) -> list[type]:
        t = self.torch
        from torch.nn.modules.activation import MultiheadAttention

        return [t.Tensor, t.nn.Module, t.nn.Linear, t.nn.LayerNorm, t.nn.Embedding, MultiheadAttention, t.Generator]

    # --- forbidden calls ------------------------------------------------------------------

    def _culprit(self) -> types.FrameType:
        """The frame to blame: the innermost one in a learner file, else the innermost outside
        torch, the standard library and the worker. Everything in the worker runs for the learner,
        so a forbidden call is always theirs; the frame only says where."""
        frame: Optional[types.FrameType] = sys._getframe(1)
        first: Optional[types.FrameType] = None
        innermost = frame
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename in self.learner_files:
                return frame
            if first is None and not filename.startswith(self._skip) and not filename.startswith("<frozen "):
                first = frame
            frame = frame.f_back
        return first or innermost  # type: ignore[return-value]

    def _forbid(self, dotted: str) -> None:
        frame = self._culprit()
        path = frame.f_code.co_filename
        message = f"{os.path.basename(path)} line {frame.f_lineno}: calls {dotted}, which this kata forbids — write it yourself"
        if not any(m == message for _, m, _ in self.violations):
            self.violations.append((path, message, None if path in self.learner_files else self.current))
            self.details[message] = {"file": os.path.basename(path), "line": frame.f_lineno, "name": dotted}
        raise ForbiddenCall(message)

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

        del lookup.__wrapped__

        return lookup

    def _pin(self, owner: Any, name: str, value: Any) -> None:
        try:
            setattr(owner, name, value)
        except (AttributeError, TypeError):  # an immutable built-in type
            return
        self._pins.append((owner, name, value))

    def _wrap_everywhere(self, dotted: str) -> None:
        module_name, _, attr = dotted.rpartition(".")
        if module_name == "torch.Tensor":  # a method: x.softmax(-1) reaches it without naming torch
            original = getattr(self.torch.Tensor, attr, None)
            if original is not None:
                self._pin(self.torch.Tensor, attr, self._wrap(dotted, original))
            return
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

        del guarded.__wrapped__  # functools.wraps would hand out the unguarded original
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


def tamper_names(changed: list[str]) -> str:
    """The first five names the learner's code replaced, sorted."""
    return ", ".join(sorted(set(changed))[:5])


def tamper_message(changed: list[str]) -> str:
    return f"your code replaced {tamper_names(changed)}; grading undid it — do not monkeypatch torch or builtins"
