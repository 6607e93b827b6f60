"""Runs inside the grading child: the pytest plugin that feeds candidates to the hidden suite.

Every hidden test takes the fixture `sol` (the learner's module), parametrized over all
candidates of this run, plus `ref` (the reference module) and `h` (comparison helpers built on
snapshots). Each result is streamed to the report as soon as it is known, so a child killed at the
time limit still tells which checks finished.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from attnquiz._grade_guard import Guard, Helpers, TamperError, tamper_message


@dataclass
class Candidate:
    id: str
    path: str
    module: Any = None
    failed: bool = False


class Reporter:
    """Appends JSON lines with unbuffered writes: what is written survives a SIGKILL.

    Every line carries the token the parent sent on stdin (read before any learner code ran);
    the parent ignores lines without it, so code that writes to the report file forges nothing.
    """

    def __init__(self, path: str, token: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.token = token

    def write(self, **record: Any) -> None:
        os.write(self.fd, (json.dumps({**record, "token": self.token}) + "\n").encode("utf-8"))


class State:
    candidates: dict[str, Candidate] = {}
    reference: Any = None
    guard: Optional[Guard] = None
    helpers: Optional[Helpers] = None
    reporter: Optional[Reporter] = None


class LearnerAbort(AssertionError):
    """KeyboardInterrupt or SystemExit from the learner's code: a failure, never a stop."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sol" in metafunc.fixturenames:
        cands = [c for c in State.candidates.values() if c.module is not None]
        metafunc.parametrize("sol", [c.module for c in cands], ids=[c.id for c in cands])


@pytest.fixture
def ref() -> Any:
    return State.reference


@pytest.fixture
def h() -> Helpers:
    assert State.helpers is not None
    return State.helpers


def _ids(item: pytest.Item) -> tuple[str, str]:
    cid = item.callspec.id if hasattr(item, "callspec") else "c?"
    return cid, item.originalname[5:] if item.originalname.startswith("test_") else item.originalname


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    cid = nodeid.rsplit("[", 1)[-1].rstrip("]") if "[" in nodeid else "c?"
    name = nodeid.split("::")[-1].split("[")[0]
    State.reporter.write(kind="start", cand=cid, check=name[5:] if name.startswith("test_") else name)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    State.guard.current, _ = _ids(pyfuncitem)
    try:
        return (yield)
    except (KeyboardInterrupt, SystemExit) as exc:
        raise LearnerAbort(
            f"your code raised {type(exc).__name__}{_learner_where(exc)}; that is a failure, not a pass"
        ) from None
    finally:
        changed = State.guard.verify()
        if changed:
            raise TamperError(tamper_message(changed))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    cid, name = _ids(item)
    if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
        if call.excinfo is None:
            status, message = "passed", ""
        else:
            status = "failed" if call.when == "call" else "error"
            message = _message(call.excinfo.value)
            State.candidates[cid].failed = True
        State.reporter.write(kind="check", cand=cid, check=name, status=status, message=message)
    return report


def _message(exc: BaseException) -> str:
    if isinstance(exc, AssertionError) and str(exc):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}".rstrip(": ") + _learner_where(exc)
    return text if len(text) <= 600 else text[:600] + "…"


def _learner_where(exc: BaseException) -> str:
    files = State.guard.learner_files if State.guard else set()
    where = ""
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename in files:
            where = f" (at {os.path.basename(frame.f_code.co_filename)} line {lineno})"
    return where
