"""The grading child process: `python -m attnquiz._grade_child SPEC.json`.

Imports torch, installs the guards, loads each candidate file, runs the kata's hidden suite once
over all candidates, names known mistakes for the ones that failed, and streams every result to
the report file. It ends with os._exit so nothing the learner registered (atexit, threads) runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import traceback
import types
import warnings
from pathlib import Path
from typing import Any, Callable


NOT_LOADED = "not run: the file did not load"


def _load_file(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_source(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    token = sys.stdin.readline().strip()
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
    guard = Guard(torch, spec["forbidden"])
    plugin.State.reference = reference
    plugin.State.guard = guard
    plugin.State.helpers = Helpers(guard)
    plugin.State.reporter = reporter
    hide_attnquiz()

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
        # A copy in the private work folder: next to an installed package, pytest would try
        # to import the package (attnquiz) as the suite's parent.
        suite = Path.cwd() / "test_hidden.py"
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
        forbidden = [m for f, m in guard.violations if f == cand.path]
        cand.failed = cand.failed or bool(guard.changes.get(cand.id) or forbidden)
        for message in forbidden:
            reporter.write(kind="forbidden", cand=cand.id, message=message)
        if cand.module is not None and cand.failed:
            if not variants:
                variants = {m.name: _load_source(m.apply(reference_source), f"mistake_{m.name}") for m in mistakes}
                probes = _load_file(kata_dir / "mistakes.py", "attnquiz_kata_mistakes").PROBES
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
        return str(_load_file(kata_dir / file, "attnquiz_kata_showcase").showcase(module, kata_dir))
    except BaseException as exc:  # noqa: BLE001
        return f"(could not sample: {type(exc).__name__}: {exc})"


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except BaseException:  # noqa: BLE001 - the parent treats the missing results as failures
        traceback.print_exc(limit=3)
        sys.stdout.flush()
        os._exit(3)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
