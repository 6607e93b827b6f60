"""Memory bounds are measured by the judge and cannot be dodged by the learner's code.

One real grading run of the linear_attention kata grades the reference and several naive
solutions that try to hide their L × L matrix: resetting the kernel's peak counter themselves,
computing in a forked child, computing in a thread, or skipping the work on long inputs. None may
pass the bound check, and the messages name what happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attnquiz import grading as grader, katas
from attnquiz.grading import sandbox

KATA = katas.load_kata("linear_attention")
BOUND = "bound_no_L_by_L"

NAIVE = '''
import torch
import torch.nn.functional as F


def quadratic(q, k, v, eps):
    fq, fk = F.elu(q) + 1.0, F.elu(k) + 1.0
    w = (fq @ fk.transpose(-2, -1)).tril_()  # (B, H, L, L): what the bound forbids
    return (w @ v) / (w.sum(-1, keepdim=True) + eps)
'''

ATTACKS = {
    "naive": NAIVE + '''
def causal_linear_attention(q, k, v, eps=1e-6):
    return quadratic(q, k, v, eps)
''',
    "resets_its_peak": NAIVE + '''
def causal_linear_attention(q, k, v, eps=1e-6):
    out = quadratic(q, k, v, eps)
    try:
        with open("/proc/self/clear_refs", "w") as f:  # forget the peak, if the kernel lets it
            f.write("5")
    except OSError:
        pass
    return out
''',
    "forks": NAIVE + '''
import os


def causal_linear_attention(q, k, v, eps=1e-6):
    if q.size(-2) < 4096:
        return quadratic(q, k, v, eps)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child does the work; its memory is not the worker's
        data = quadratic(q, k, v, eps).numpy().tobytes()
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 1 << 20):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    out = torch.frombuffer(bytearray(b"".join(chunks)), dtype=q.dtype)
    return out.reshape(*q.shape[:-1], v.size(-1))
''',
    "threads": NAIVE + '''
import threading


def causal_linear_attention(q, k, v, eps=1e-6):
    box = []
    t = threading.Thread(target=lambda: box.append(quadratic(q, k, v, eps)))
    t.start()
    t.join()
    return box[0]
''',
    "skips_long_inputs": NAIVE + '''
def causal_linear_attention(q, k, v, eps=1e-6):
    if q.size(-2) > 4096:
        return torch.zeros(*q.shape[:-1], v.size(-1), dtype=q.dtype)
    return quadratic(q, k, v, eps)
''',
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, grader.GradeResult]:
    folder = tmp_path_factory.mktemp("bounds")
    files = [KATA.reference]
    for name, source in ATTACKS.items():
        path = folder / name / KATA.entry
        path.parent.mkdir()
        path.write_text(source, encoding="utf-8")
        files.append(path)
    graded = grader.grade_many(KATA, files, timeout=240)
    return dict(zip(["reference", *ATTACKS], graded))


def _bound(result: grader.GradeResult) -> grader.Check:
    return next(c for c in result.checks if c.name == BOUND)


def test_the_reference_passes_within_the_bound(results):
    assert results["reference"].passed, [c for c in results["reference"].checks if not c.passed]


@pytest.mark.parametrize("name", ["naive", "threads"])
def test_a_naive_solution_fails_with_the_memory_it_used(results, name):
    result = results[name]
    check = _bound(result)
    assert not result.passed and not check.passed
    assert "128 MiB" in check.message and ("GiB" in check.message or "out of the grader's memory" in check.message), check.message
    assert result.diagnosis and result.diagnosis[0].mistake == "quadratic_form", result.diagnosis


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="without Landlock the worker may write its own /proc files")
def test_resetting_the_peak_from_inside_is_refused(results):
    result = results["resets_its_peak"]
    check = _bound(result)
    assert not result.passed and not check.passed and "128 MiB" in check.message, check.message


def test_work_done_in_another_process_fails_the_bound(results):
    result = results["forks"]
    check = _bound(result)
    assert not result.passed and not check.passed
    assert "another process" in check.message, check.message


def test_skipping_the_work_on_the_long_input_fails(results):
    result = results["skips_long_inputs"]
    check = _bound(result)
    assert not result.passed and not check.passed
    assert "differs" in check.message or "NaN" in check.message, check.message
