"""Grading a learner's file against a kata's hidden suite, in three processes.

The CLI (this package's `runner`, no torch) checks the file statically and starts the judge
(`judge`: pytest, the hidden suite, the reference, the report); the judge drives a sandboxed
worker (`worker`: the learner's file and torch, nothing else) through proxies (`proxy`) over a
pickle-free protocol (`protocol`); the worker is confined by the kernel (`sandbox`: Landlock and
rlimits) and the judge kills everything it started (`procs`). Hidden suites see `suite`.
Grading on save (`watch`) forks the judge and the worker from warm processes (`zygote`).
"""

from attnquiz.grading.runner import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT_S,
    Check,
    Diagnosis,
    GradeResult,
    GradingInterrupted,
    check_size,
    expected_checks,
    expected_tests,
    forbidden_uses,
    grade,
    grade_many,
    static_checks,
)

__all__ = [
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT_S",
    "Check",
    "Diagnosis",
    "GradeResult",
    "GradingInterrupted",
    "check_size",
    "expected_checks",
    "expected_tests",
    "forbidden_uses",
    "grade",
    "grade_many",
    "static_checks",
]
