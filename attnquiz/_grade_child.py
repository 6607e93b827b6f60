"""The grading child process: `python -m attnquiz._grade_child`, the token and spec on stdin.

It dies with its parent (PR_SET_PDEATHSIG) and within a CPU-time limit. Imports torch, installs the guards, loads each candidate file, runs the kata's hidden suite once
over all candidates, names known mistakes for the ones that failed, and streams every result to
the report file. It ends with os._exit so nothing the learner registered (atexit, threads) runs.

The reference and the mistake variants are never left in sys.modules (decoys stand there), the
kata folder is not in argv, the environment or sys.path, and the guard refuses the learner's code
any file of the kata folders.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import sys
import tempfile
import traceback
import types
import warnings
from pathlib import Path
from typing import Any, Callable


NOT_LOADED = "not run: the file did not load"


DECOYS = ("attnquiz_kata_reference", "attnquiz_kata_mistakes", "attnquiz_kata_showcase")


def _load_file(path: Path, name: str, keep: bool = True) -> types.ModuleType:
    """Import PATH as module NAME; keep=False leaves it out of sys.modules once loaded."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if not keep:
            sys.modules.pop(name, None)
    return module


def _load_source(source: str, name: str) -> types.ModuleType:
    """Grader-owned source (the reference, a mistake): registered only while it runs (dataclasses
    look their module up), under a random name, then taken out of sys.modules."""
    private = f"_{name}_{secrets.token_hex(8)}"
    module = types.ModuleType(private)
    module.__file__ = f"<{name}>"
    sys.modules[private] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    finally:
        sys.modules.pop(private, None)
    return module


def _decoy(name: str, guard: Any) -> types.ModuleType:
    """Stands in sys.modules where the reference used to be: reaching into it is a violation."""

    class Decoy(types.ModuleType):
        def __getattr__(self, attr: str) -> Any:
            if attr.startswith("__") or guard._culprit() is None:
                raise AttributeError(attr)
            guard.forbid_now(f"reaches into sys.modules[{name!r}] — the reference solution is not available to your code")

    return Decoy(name)


def _die_with_parent(cpu_seconds: int) -> None:
    """Linux: SIGKILL when the parent dies; anywhere: a CPU-time limit. Both before learner code."""
    parent = int(os.environ.pop("ATTNQUIZ_GRADE_PARENT", "0") or 0)
    try:
        import ctypes

        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError, TypeError, ImportError):
        pass
    if parent and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(4)
    if cpu_seconds > 0:
        try:
            import resource

            _, hard = resource.getrlimit(resource.RLIMIT_CPU)
            soft = cpu_seconds if hard == resource.RLIM_INFINITY else min(cpu_seconds, hard)
            new_hard = soft + 5 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_CPU, (soft, new_hard))
        except (ImportError, ValueError, OSError):
            pass


def main() -> None:
    token = sys.stdin.readline().strip()
    spec = json.loads(sys.stdin.readline())
    sys.argv[1:] = []
    warnings.filterwarnings("ignore")
    import pytest  # before the guard: its imports are not the learner's doing
    import torch

    from attnquiz import _grade_plugin as plugin
    from attnquiz._grade_guard import Guard, Helpers, hide_attnquiz, tamper_message
    from attnquiz.katas import load_mistakes

    kata_dir = Path(spec["kata_dir"])
    reporter = plugin.Reporter(spec["report"], token)
    reference_source = (kata_dir / "reference.py").read_text(encoding="utf-8")
    reference = _load_source(reference_source, "attnquiz_kata_reference")
    mistakes = load_mistakes(kata_dir)
    trusted = [str(kata_dir / f) for f in ("test_hidden.py", "mistakes.py", spec.get("showcase") or "-")]
    workdir = Path.cwd()  # the learner's code may chdir: remember where the suite's copy goes
    protected = [str(kata_dir.parent), str(kata_dir), str(workdir)]
    guard = Guard(torch, spec["forbidden"], protected=protected, trusted=trusted)
    plugin.State.reference = reference
    plugin.State.guard = guard
    plugin.State.helpers = Helpers(guard)
    plugin.State.reporter = reporter
    hide_attnquiz()
    for name in DECOYS:
        sys.modules[name] = _decoy(name, guard)
    _forget_package_root()

    cands = [plugin.Candidate(c["id"], str(Path(c["path"]).resolve())) for c in spec["candidates"]]
    for cand in cands:
        plugin.State.candidates[cand.id] = cand
        reporter.write(kind="start", cand=cand.id, check="loads")
        guard.current = cand.id
        status, message = _load_candidate(cand, spec["symbols"], guard)
        reporter.write(kind="check", cand=cand.id, check="loads", status=status, message=message)
        if cand.module is None:
            for test in spec["tests"]:
                reporter.write(kind="check", cand=cand.id, check=test, status="error", message=NOT_LOADED)
        guard.verify()

    if any(c.module is not None for c in cands):
        # A copy in the private work folder (next to an installed package, pytest would try to
        # import the package as the suite's parent), in a folder named only now, after the
        # learner's code loaded; the guard refuses that code any file under the work folder.
        suite = Path(tempfile.mkdtemp(dir=workdir)) / "test_hidden.py"
        guard.trusted |= {str(suite), os.path.realpath(suite)}
        shutil.copyfile(kata_dir / "test_hidden.py", suite)
        args = [
            str(suite),
            "-q", "-s", "-p", "no:cacheprovider", "-p", "no:doctest", "-p", "no:junitxml",
            "-p", "no:pastebin", "-p", "no:nose", "-p", "no:legacypath", "-p", "no:stepwise",
            "--assert=plain", "--noconftest", "--import-mode=importlib",
            "-c", os.devnull, "--rootdir", str(suite.parent), "-W", "ignore",
            "--tb=no", "--no-header", "--disable-warnings",
        ]  # fmt: skip
        with _quiet():
            pytest.main(args, plugins=[plugin])

    variants: dict[str, types.ModuleType] = {}
    probes: dict[str, Callable[[Any, Any], Any]] = {}
    for cand in cands:
        guard.current = cand.id
        forbidden = [m for f, m, c in guard.violations if f == cand.path or c == cand.id]
        cand.failed = cand.failed or bool(guard.changes.get(cand.id) or forbidden)
        for message in forbidden:
            reporter.write(kind="forbidden", cand=cand.id, message=message)
        if cand.module is not None and cand.failed:
            if not variants:
                variants = {m.name: _load_source(m.apply(reference_source), f"mistake_{m.name}") for m in mistakes}
                probes = _load_file(kata_dir / "mistakes.py", f"_attnquiz_probes_{secrets.token_hex(8)}", keep=False).PROBES
            items = _diagnose(cand.module, reference, variants, mistakes, probes, guard)
            reporter.write(kind="diagnosis", cand=cand.id, items=items)
        if spec.get("showcase") and cand.module is not None and not cand.failed:
            reporter.write(kind="showcase", cand=cand.id, text=_showcase(kata_dir, spec["showcase"], cand.module))
        guard.verify()
        tampered = guard.changes.get(cand.id)
        # Written last: the parent counts this check only when "done" follows it.
        if cand.module is None:
            status, message = "error", NOT_LOADED
        elif tampered:
            status, message = "failed", tamper_message(tampered)
        else:
            status, message = "passed", ""
        reporter.write(kind="check", cand=cand.id, check="no_tampering", status=status, message=message)
        reporter.write(kind="done", cand=cand.id)


def _forget_package_root() -> None:
    """The parent put the package root on PYTHONPATH; everything needed is imported by now."""
    root = os.environ.pop("ATTNQUIZ_GRADE_ROOT", "")
    if not root:
        return
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    if rest:
        os.environ["PYTHONPATH"] = os.pathsep.join(rest)
    else:
        os.environ.pop("PYTHONPATH", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != root]


class _quiet:
    """Send pytest's progress and the learner's print() calls to /dev/null.

    Raw writes to fd 1/2 still reach the parent, which keeps only a capped tail.
    """

    def __enter__(self) -> None:
        self.saved = sys.stdout
        sys.stdout = open(os.devnull, "w")

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.close()
        sys.stdout = self.saved


def _load_candidate(cand: Any, symbols: list[str], guard: Any) -> tuple[str, str]:
    """Import the learner's file; every way it can go wrong becomes one clear message."""
    path = Path(cand.path)
    guard.learner_files.add(cand.path)
    try:
        module = _load_file(path, f"learner_{cand.id}")
    except SystemExit as exc:
        return "failed", f"{path.name} called sys.exit({exc.code!r}) while being imported{_where(exc, cand.path)}"
    except KeyboardInterrupt as exc:
        return "failed", f"{path.name} raised KeyboardInterrupt while being imported{_where(exc, cand.path)}"
    except BaseException as exc:  # noqa: BLE001 - the learner's code may raise anything
        return "failed", f"{path.name} raised {type(exc).__name__}: {exc}{_where(exc, cand.path)} while being imported"
    missing = [s for s in symbols if not hasattr(module, s)]
    if missing:
        names = ", ".join(f"`{s}`" for s in missing)
        return "failed", f"{path.name} defines no {names}; the kata needs it at the top level of the file"
    cand.module = module
    return "passed", ""


def _where(exc: BaseException, path: str) -> str:
    lines = [ln for f, ln in traceback.walk_tb(exc.__traceback__) if f.f_code.co_filename == path]
    return f" (line {lines[-1]})" if lines else ""


def _run_probe(fn: Callable[[Any, Any], Any], module: Any, reference: Any) -> Any:
    import torch

    try:
        out = fn(module, reference)
    except BaseException as exc:  # noqa: BLE001
        return ("raised", type(exc).__name__)
    outs = out if isinstance(out, (tuple, list)) else [out]
    tensors = [o.detach() for o in outs if isinstance(o, torch.Tensor)]
    return [t.to(torch.float64) if t.is_floating_point() else t for t in tensors]


def _same(a: Any, b: Any, guard: Any) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if not guard.allclose(x, y, rtol=1e-5, atol=1e-7, equal_nan=True):
            return False
    return True


_PROBE_CACHE: dict[tuple[str, str], Any] = {}


def _diagnose(module: Any, reference: Any, variants: dict, mistakes: list, probes: dict, guard: Any) -> list[dict]:
    """Which known mistakes reproduce the learner's output on the probes where it is wrong."""
    guard.verify()

    def cached(key: str, mod: Any, probe: str) -> Any:
        if (key, probe) not in _PROBE_CACHE:
            _PROBE_CACHE[key, probe] = _run_probe(probes[probe], mod, reference)
        return _PROBE_CACHE[key, probe]

    learner = {p: _run_probe(fn, module, reference) for p, fn in probes.items()}
    guard.verify()
    wrong = [p for p in probes if not _same(learner[p], cached("<ref>", reference, p), guard)]
    if not wrong:
        return []
    scored = []
    for m in mistakes:
        hits = sum(_same(learner[p], cached(m.name, variants[m.name], p), guard) for p in wrong)
        if hits:
            scored.append((hits, m))
    scored.sort(key=lambda s: -s[0])
    full = [m for hits, m in scored if hits == len(wrong)]
    chosen = [(m, True) for m in full] or [(m, False) for _, m in scored[:2]]
    return [{"mistake": m.name, "title": m.title, "fix": m.fix, "full": f} for m, f in chosen]


def _showcase(kata_dir: Path, file: str, module: Any) -> str:
    try:
        name = f"_attnquiz_showcase_{secrets.token_hex(8)}"
        return str(_load_file(kata_dir / file, name, keep=False).showcase(module, kata_dir))
    except BaseException as exc:  # noqa: BLE001
        return f"(could not sample: {type(exc).__name__}: {exc})"


if __name__ == "__main__":
    _die_with_parent(int(os.environ.pop("ATTNQUIZ_GRADE_CPU", "0") or 0))
    try:
        main()
    except BaseException:  # noqa: BLE001 - the parent treats the missing results as failures
        traceback.print_exc(limit=3)
        sys.stdout.flush()
        os._exit(3)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
