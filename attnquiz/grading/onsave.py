"""Grading on save, as the mock interview's kata phase needs it: every save that changes the file
is graded, until a stop event is set (the kata passed, or its time ran out) or Ctrl-C.

Plain core and torch-free, like runner.py. This is the small interface `attnquiz interview` is
written against: `grade_on_save(kata, file, baseline=..., on_grading=..., on_result=..., stop=...)`.
Each save is graded as in `grade --watch`: a judge and a worker forked from the warm zygotes of
`attnquiz.grading.watch.WarmGrader`, started when the phase starts so that they load torch while
the learner reads the task (elsewhere than Linux, `runner.grade`: a cold pair per save).

Unlike `grade --watch`, the file is not graded at once: the interview's workspace starts from the
starter, which never passes. A file that already differs from BASELINE when watching starts (saved
before the phase began, or by a script that was quick) is graded at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterator, Optional

from attnquiz.errors import UsageError
from attnquiz.grading import runner
from attnquiz.grading.runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT_S, GradeResult
from attnquiz.katas import Kata

def grade_on_save(
    kata: Kata,
    file: Path,
    *,
    baseline: Optional[bytes],
    on_grading: Callable[[], None],
    on_result: Callable[[GradeResult], None],
    stop: threading.Event,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory: int = DEFAULT_MEMORY,
) -> None:
    """Grade FILE after every save that changes it (from BASELINE on) until STOP is set.

    ON_GRADING() is called as a grading starts and ON_RESULT(result) with its result; either may
    set STOP. A grading under way when STOP is set finishes and is reported. Ctrl-C raises
    KeyboardInterrupt once everything started here has ended (runner.grade kills its judge).
    """
    from attnquiz.grading.watch import WarmGrader

    try:  # the warm zygotes of `grade --watch`: they load torch while the learner reads the task
        warm: Optional[WarmGrader] = WarmGrader(kata, timeout=timeout, memory=memory, showcase=False)
    except UsageError:  # not Linux: a fresh judge and worker per save, as `attnquiz grade`
        warm = None
    try:
        for _ in _saves(file, baseline, stop):
            if stop.is_set():
                return
            on_grading()
            if warm is not None:
                on_result(warm.grade(file))
            else:
                on_result(runner.grade(kata, file, timeout=timeout, showcase=False, memory=memory))
            if stop.is_set():
                return
    finally:
        if warm is not None:
            warm.close()


def _saves(file: Path, baseline: Optional[bytes], stop: threading.Event) -> Iterator[bytes]:
    """FILE's content whenever a save changes it (watch.saves), its content now only when it
    already differs from BASELINE (the starter the phase wrote: no attempt yet)."""
    from attnquiz.grading import watch

    first = True
    for content in watch.saves(file, stop):
        if not (first and content == baseline):
            yield content
        first = False
