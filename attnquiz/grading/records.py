"""What the judge keeps about a grading run and how it reports it; light, so the judge can start
the worker before it imports torch and pytest (the suite's plugin, attnquiz.grading.suite)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from attnquiz.grading.proxy import Remote, RemoteError
from attnquiz.i18n import Text

MESSAGE_CHARS = 600


@dataclass(eq=False)
class Candidate:
    id: str
    path: str
    module: Optional[Remote] = None
    failed: bool = False
    failed_checks: list[str] = field(default_factory=list)


class Reporter:
    """JSON lines on the judge's private report pipe, each carrying the run's token. A message
    (or notice text) that is an i18n Text also carries its template: `key` and `args`."""

    def __init__(self, fd: int, token: str) -> None:
        self.fd, self.token = fd, token

    def write(self, **record: Any) -> None:
        said = record.get("message", record.get("text"))
        if isinstance(said, Text):
            record.update(said.to_wire())
        data = (json.dumps({**record, "token": self.token}, ensure_ascii=True) + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


@dataclass
class State:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    reference: Any = None
    reporter: Optional[Reporter] = None
    client: Any = None  # the WorkerClient: told which candidate each check is for
    kata_dir: Any = None  # the kata's content folder (grader-owned files a suite may use)


STATE = State()


def message_of(exc: BaseException) -> str:
    """The check message for EXC: its own text (an i18n Text where the grader wrote it), bounded."""
    if isinstance(exc, (AssertionError, RemoteError)) and str(exc):
        text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Text) else str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if len(text) <= MESSAGE_CHARS:
        return text
    cut = text[:MESSAGE_CHARS] + "…"
    return Text(text.key, cut, **text.args) if isinstance(text, Text) else cut
