"""Mock interview benchmark: how long `attnquiz interview` takes to ask, and to grade a save.

Prints, from one run (medians), each beside a floor measured in the same run:
  * launch to the first question on screen, for `attnquiz interview` (the kata chosen from the
    ladder) and `attnquiz ask`, as ratios to `python -c "import typer, rich.console, yaml"`;
  * in the kata phase, the reference solution saved into the workspace to its verdict on screen,
    and `attnquiz grade --file` on the same file, as ratios to `python -c "import torch"`.

Run: python benchmarks/bench_interview.py [--runs 5] [--kata softmax]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_CLI = [sys.executable, "-c", "import typer, rich.console, yaml"]
FLOOR_TORCH = [sys.executable, "-c", "import torch"]
WORKSPACE = re.compile(rb"workspace: (\S[^\r\n]*)\r?\n")


def env_for(home: str) -> dict[str, str]:
    env = dict(os.environ, ATTNQUIZ_HOME=home, COLUMNS="100", PYTHONUNBUFFERED="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes bytecode, as pip does for an install
    return env


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_until(proc: subprocess.Popen[bytes], pattern: re.Pattern[bytes], seen: bytes = b"") -> tuple[bytes, re.Match[bytes]]:
    assert proc.stdout is not None
    while not (found := pattern.search(seen)):
        chunk = proc.stdout.read1(65536)
        if not chunk:
            raise SystemExit(f"the interview ended before {pattern.pattern!r}:\n{seen.decode(errors='replace')[-2000:]}")
        seen += chunk
    return seen, found


def first_question(cmd: list[str], home: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env_for(home))
    read_until(proc, re.compile(rb"Question 1/"))
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed


def save_to_verdict(kata: str, reference: str, home: str) -> float:
    """Answer phases 1 and 2 with "don't know", save the reference, time it until the verdict shows."""
    cmd = [sys.executable, "-m", "attnquiz", "interview", "--kata", kata, "--minutes", "20", "--questions", "3", "--lang", "en"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env_for(home))
    assert proc.stdin is not None
    proc.stdin.write(b"\n\n\n\n1\n")
    proc.stdin.flush()
    seen, found = read_until(proc, WORKSPACE)
    entry = next(p for p in Path(found.group(1).decode()).iterdir() if p.suffix == ".py" and not p.name.startswith("test_"))
    start = time.perf_counter()
    entry.write_text(reference, encoding="utf-8")
    read_until(proc, re.compile(rb"checks passed"), seen)
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kata", default="softmax")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from attnquiz import katas

    kata = katas.load_kata(args.kata)
    reference = kata.reference.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as home:
        interview = [sys.executable, "-m", "attnquiz", "interview", "--seed", "1", "--lang", "en"]
        ask = [sys.executable, "-m", "attnquiz", "ask", "--seed", "1", "--lang", "en"]
        first_question(interview, home)  # warm-up: bytecode, the bank cache, the database
        floor = statistics.median(timed(FLOOR_CLI) for _ in range(args.runs))
        start_interview = statistics.median(first_question(interview, home) for _ in range(args.runs))
        start_ask = statistics.median(first_question(ask, home) for _ in range(args.runs))
        print(f"floor `import typer, rich.console, yaml`: {floor * 1000:.0f} ms")
        print(f"interview, first question: {start_interview * 1000:.0f} ms ({start_interview / floor:.2f} x floor)")
        print(f"ask, first question:       {start_ask * 1000:.0f} ms ({start_ask / floor:.2f} x floor)")

        torch_floor = statistics.median(timed(FLOOR_TORCH) for _ in range(args.runs))
        verdicts = [save_to_verdict(kata.name, reference, home) for _ in range(args.runs)]
        file = Path(home) / f"ref-{kata.entry}"
        file.write_text(reference, encoding="utf-8")
        grade = [sys.executable, "-m", "attnquiz", "grade", kata.name, "--file", str(file), "--json"]
        graded = statistics.median(timed(grade, env_for(home)) for _ in range(args.runs))
        verdict = statistics.median(verdicts)
        print(f"floor `import torch`: {torch_floor * 1000:.0f} ms")
        print(f"interview, save to verdict ({kata.name}): {verdict * 1000:.0f} ms ({verdict / torch_floor:.2f} x import torch)")
        print(f"attnquiz grade --file ({kata.name}):      {graded * 1000:.0f} ms ({graded / torch_floor:.2f} x import torch)")


if __name__ == "__main__":
    main()
