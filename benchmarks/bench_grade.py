"""How long `attnquiz grade multihead --file <reference>` takes, relative to `import torch`.

The judge and the sandboxed worker must import torch anyway (they do so in parallel), so that
import is the floor; the target is a ratio of at most 2.0. Both are measured in the same run, alternating, several times; medians reported.

    python benchmarks/bench_grade.py [--repeat 5] [--kata multihead]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _wall(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kata", default="multihead")
    args = parser.parse_args()

    from attnquiz.katas import load_kata

    reference = load_kata(args.kata).reference
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ATTNQUIZ_HOME": home}
        torch_cmd = [sys.executable, "-c", "import torch"]
        grade_cmd = [sys.executable, "-m", "attnquiz", "grade", args.kata, "--file", str(reference), "--no-sample"]
        _wall(torch_cmd, env)  # warm the file cache once
        torch_times, grade_times = [], []
        for _ in range(args.repeat):
            t, _ = _wall(torch_cmd, env)
            torch_times.append(t)
            g, rc = _wall(grade_cmd, env)
            if rc != 0:
                sys.exit(f"grading the reference failed (exit {rc}); run: {' '.join(grade_cmd)}")
            grade_times.append(g)
    t_med, g_med = statistics.median(torch_times), statistics.median(grade_times)
    print(f"import torch        median {t_med:.2f} s  ({', '.join(f'{t:.2f}' for t in torch_times)})")
    print(f"attnquiz grade {args.kata} median {g_med:.2f} s  ({', '.join(f'{g:.2f}' for g in grade_times)})")
    print(f"ratio grade / import torch: {g_med / t_med:.2f}  (target <= 2.0)")


if __name__ == "__main__":
    main()
