"""Runs inside the grading child: keep the learner's code from cheating the suite.

Three defences, installed before the learner's file is imported:
- forbidden torch entry points are wrapped so a call made from the learner's file raises;
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
from typing import Any, Optional


class ForbiddenCall(AssertionError):
    """The learner's code called something the kata forbids."""


class TamperError(AssertionError):
    """The learner's code changed torch or builtins; the changes were undone."""


_MISSING = object()


class Guard:
    def __init__(self, torch: types.ModuleType, forbidden: list[str]) -> None:
        self.torch = torch
        self.learner_files: set[str] = set()
        self.violations: list[tuple[str, str]] = []  # (learner file path, message)
        self.current: Optional[str] = None  # id of the candidate whose code runs now
        self.changes: dict[Optional[str], list[str]] = {}  # what verify() undid, per candidate
        for dotted in forbidden:
            self._wrap_everywhere(dotted)
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

    def _learner_frame(self) -> Optional[types.FrameType]:
        """The innermost frame of a learner's file on the stack, if any."""
        frame: Optional[types.FrameType] = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename not in self.learner_files:
            frame = frame.f_back
        return frame

    def _forbid(self, dotted: str) -> None:
        frame = self._learner_frame()
        if frame is not None:
            path = frame.f_code.co_filename
            message = (
                f"{os.path.basename(path)} line {frame.f_lineno}: calls {dotted}, "
                "which this kata forbids — write the attention yourself"
            )
            if (path, message) not in self.violations:
                self.violations.append((path, message))
            raise ForbiddenCall(message)

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

        return guarded

    # --- tampering ------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Undo every change to the snapshotted namespaces; return what had changed."""
        changed: list[str] = []
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

