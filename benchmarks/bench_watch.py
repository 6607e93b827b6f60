"""Save-to-verdict time of `attnquiz grade multihead --watch`, relative to `python -c "import torch"`.

Starts the real command on a real file, waits for its first verdict, then saves the file again and
again, alternating a wrong solution (a known mistake: the diagnosis runs too) and the reference,
and times each save until the command has printed the verdict and says it waits for the next
save. `import torch` is timed in the same run, between the saves; medians are reported, and the
target ratio is at most 0.4.

    python benchmarks/bench_watch.py [--saves 12] [--kata multihead]
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET = 0.4
WAITING = "Waiting for the next save"
VERDICT_TIMEOUT_S = 120.0


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - started


def _reader(stream, lines: "queue.Queue[tuple[float, str]]") -> None:
    for raw in iter(stream.readline, b""):
        lines.put((time.perf_counter(), raw.decode("utf-8", "replace")))
    lines.put((time.perf_counter(), ""))


def _verdict(lines: "queue.Queue[tuple[float, str]]") -> tuple[float, bool]:
    """(time the command said it waits again, whether that grading passed)."""
    passed = False
    end = time.monotonic() + VERDICT_TIMEOUT_S
    while True:
        try:
            when, line = lines.get(timeout=max(0.1, end - time.monotonic()))
        except queue.Empty:
            sys.exit(f"no verdict within {VERDICT_TIMEOUT_S:g} s")
        if not line:
            sys.exit("attnquiz grade --watch ended before a verdict")
        passed = passed or "kata passed" in line
        if WAITING in line:
            return when, passed


def _save(path: Path, source: str) -> float:
    """Save as most editors do (a new file renamed over the old one); the time of the save."""
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(source, encoding="utf-8")
    os.replace(tmp, path)
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=12, help="saves timed (half wrong, half right)")
    parser.add_argument("--kata", default="multihead")
    args = parser.parse_args()

    from attnquiz.katas import load_kata, mistake_sources

    kata = load_kata(args.kata)
    right = kata.reference.read_text(encoding="utf-8")
    wrong = next(iter(mistake_sources(kata).values()))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ATTNQUIZ_HOME": str(Path(tmp) / "home"), "COLUMNS": "200"}
        path = Path(tmp) / kata.entry
        path.write_text(right, encoding="utf-8")
        torch_cmd = [sys.executable, "-c", "import torch"]
        _wall(torch_cmd, env)  # warm the file cache once
        cmd = [sys.executable, "-m", "attnquiz", "grade", kata.name, "--file", str(path), "--watch", "--no-sample", "--lang", "en"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        lines: "queue.Queue[tuple[float, str]]" = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        started = time.perf_counter()
        try:
            ready, ok = _verdict(lines)
            if not ok:
                sys.exit("the reference did not pass on the first grading")
            first = ready - started
            torch_times, save_times = [], []
            for i in range(args.saves):
                torch_times.append(_wall(torch_cmd, env))
                source, expect = (wrong, False) if i % 2 == 0 else (right, True)
                saved = _save(path, source)
                done, passed = _verdict(lines)
                if passed != expect:
                    sys.exit(f"save {i + 1}: expected {'a pass' if expect else 'a failure'}, got the opposite")
                save_times.append(done - saved)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    t_med, s_med = statistics.median(torch_times), statistics.median(save_times)
    print(f"import torch             median {t_med:.3f} s  ({', '.join(f'{t:.2f}' for t in torch_times)})")
    print(f"first verdict (cold start)       {first:.3f} s")
    print(f"save -> verdict ({args.kata}) median {s_med:.3f} s  ({', '.join(f'{s:.2f}' for s in save_times)})")
    print(f"ratio save->verdict / import torch: {s_med / t_med:.2f}  (target <= {TARGET})")


if __name__ == "__main__":
    main()
