"""The judge's measurement of a worker's memory and processes, on a real child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from attnquiz.grading import meter, streams

CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, n = line.split()
        n = int(n)
        if cmd == "alloc":
            block = bytearray(n)  # touched: zero-filled by the kernel on first write
            for i in range(0, n, 4096):
                block[i] = 1
            del block
        elif cmd == "spawn":
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
        print("done", flush=True)
    """
)


@pytest.fixture
def child():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"

    def do(cmd: str, n: int = 0) -> None:
        proc.stdin.write(f"{cmd} {n}\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"

    yield proc, do
    for pid in meter._descendants(proc.pid):
        subprocess.run(["kill", "-9", str(pid)], check=False)
    proc.kill()
    proc.wait()


def test_a_freed_peak_is_seen_and_a_small_call_stays_small(child):
    proc, do = child
    do("alloc", 200 << 20)  # an earlier peak must not be charged to the next call
    with meter.Meter(proc.pid) as m:
        do("alloc", 1 << 20)
    assert m.usage is not None and not m.usage.new_processes
    assert m.usage.peak_extra < 32 << 20, meter.mib(m.usage.peak_extra)
    with meter.Meter(proc.pid) as m:
        do("alloc", 150 << 20)
    assert m.usage is not None and m.usage.exact
    assert 140 << 20 <= m.usage.peak_extra <= 200 << 20, meter.mib(m.usage.peak_extra)


def test_a_process_started_during_the_call_is_noticed(child):
    proc, do = child
    with meter.Meter(proc.pid) as m:
        do("spawn")
    assert m.usage is not None and m.usage.new_processes


def test_mib_reads_like_a_person_would_write_it():
    assert meter.mib(64 << 20) == "64.0 MiB"
    assert meter.mib(3 << 29) == "1.50 GiB"


def test_a_stream_description_gives_the_same_chunks_twice():
    import torch

    spec = streams.describe(3, (2,), [5, 0, 4], scale=10.0, drift=1.0, neg_inf=(2,))
    first, second = list(streams.chunks(spec)), list(streams.chunks(spec))
    assert [tuple(c.shape) for c in first] == [(2, 5), (2, 0), (2, 4)]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert bool(torch.isneginf(first[2]).all()) and bool(torch.isfinite(first[0]).all())
    with pytest.raises(ValueError):
        streams.describe(0, (1,), [1], dtype="int8")


READER = textwrap.dedent(
    """
    import sys
    import torch
    from attnquiz.grading import streams
    spec = streams.describe(1, (2,), [1 << 19] * 16)  # 16 chunks of 4 MiB
    def read(stream):
        for x in stream:  # a float64 working copy of each chunk: a few chunks' worth at a time
            y = x.double()
            float(torch.exp(y - y.amax()).sum())
    read(streams.chunks(spec))  # first use of these kernels and threads, not measured
    print("ready", flush=True)
    for line in sys.stdin:
        stream = streams.chunks(spec)  # staged, as the worker does, before the measured span
        print("staged", flush=True)
        sys.stdin.readline()
        read(stream)
        print("done", flush=True)
    """
)


def test_reading_a_stream_measures_the_same_whatever_ran_before():
    """Freed chunks must leave the resident set (glibc's heap would keep them, and fragment):
    the same reader, measured three times in one process, peaks at what it holds each time."""
    proc = subprocess.Popen([sys.executable, "-c", READER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        peaks = []
        for _ in range(3):
            proc.stdin.write("stage\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "staged"
            with meter.Meter(proc.pid) as m:
                proc.stdin.write("read\n")
                proc.stdin.flush()
                assert proc.stdout.readline().strip() == "done"
            assert m.usage is not None
            peaks.append(m.usage.peak_extra)
    finally:
        proc.kill()
        proc.wait()
    shown = [meter.mib(p) for p in peaks]
    assert all(16 << 20 <= p <= 36 << 20 for p in peaks), shown  # 2 float32 chunks, 3 float64 copies: 7 chunks at most
    assert max(peaks) - min(peaks) <= 4 << 20, shown
