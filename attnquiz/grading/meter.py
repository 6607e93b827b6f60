"""Resources the worker uses during one call, measured by the judge from outside it.

A kata contract may bound an algorithm ("no Lq × Lk tensor: peak extra memory ≤ 64 MiB"). Code
inside the worker could lie about itself, so the judge reads the kernel's accounting of the
worker process instead: it resets the worker's peak resident set (`/proc/PID/clear_refs`, "5"),
notes the resident set before the call, and reads the peak (`VmHWM`) after it. The learner's
code cannot reset the peak itself: the sandbox allows it no writes outside its scratch folder.
Where the kernel refuses the reset, a sampling thread stands in (it may miss a short spike).
Processes the call starts would hide their memory, so the measurement notices them too.
Linux only.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Optional

from attnquiz.grading import procs

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Usage:
    peak_extra: int  # bytes above the resident set at the start of the call
    cpu_seconds: float  # user + system CPU time of the worker during the call
    exact: bool  # the kernel's peak (True) or sampled (False)
    new_processes: list[int]  # processes the call started that outlived it, or [-1] when reaped ones used CPU


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/{pid}/status")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on (comm may hold spaces)


def _cpu(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of reaped children)."""
    fields = _stat(pid)
    own = int(fields[11]) + int(fields[12])  # utime, stime
    children = int(fields[13]) + int(fields[14])  # cutime, cstime
    return own / _TICK, children / _TICK


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in procs.children_of(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _reset_peak(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Meter:
    """`with Meter(pid) as m: <the call>` then `m.usage`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.usage: Optional[Usage] = None
        self._sampled = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "Meter":
        self._before = _descendants(self.pid) | set(procs.children_of(os.getpid()))
        self.exact = _reset_peak(self.pid)
        self.base = _status_kib(self.pid, "VmRSS")
        self._cpu0 = _cpu(self.pid)
        if not self.exact:
            self._sampled = self.base
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self._sampled = max(self._sampled, _status_kib(self.pid, "VmRSS"))
            except OSError:
                return
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            peak = _status_kib(self.pid, "VmHWM") if self.exact else self._sampled
            cpu1 = _cpu(self.pid)
            after = _descendants(self.pid) | set(procs.children_of(os.getpid()))
        except OSError:
            return  # the worker is gone: the call's own failure says why
        new = sorted(after - self._before - {self.pid})
        if not new and cpu1[1] > self._cpu0[1]:
            new = [-1]
        self.usage = Usage(max(0, peak - self.base), cpu1[0] - self._cpu0[0], self.exact, new)


def mib(n: int) -> str:
    """Bytes as people read them: '37.5 MiB', '1.02 GiB'."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    return f"{n / (1 << 20):.1f} MiB"
