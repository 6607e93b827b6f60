"""Start-up and bank-loading benchmark for the quiz.

Prints, from one run:
  * the median wall time of `attnquiz ask` from launch to the first question on screen, and its
    ratio to `python -c "import typer, rich.console, yaml"` measured in the same run (target <= 1.5);
  * the time to load and validate a generated bank of 10 000 questions (target <= 1 s), first on
    sight and then from the cache of files already validated (keyed on their bytes and the schema).

Run: python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = [sys.executable, "-c", "import typer, rich.console, yaml"]
ASK = [sys.executable, "-m", "attnquiz", "ask", "--seed", "1", "--lang", "en"]
FIRST_QUESTION = b"Question 1/"


def time_floor() -> float:
    start = time.perf_counter()
    subprocess.run(FLOOR, check=True)
    return time.perf_counter() - start


def time_ask(home: str) -> float:
    """Launch the quiz and stop the clock when the first question's header is printed."""
    env = dict(os.environ, ATTNQUIZ_HOME=home, COLUMNS="100", PYTHONUNBUFFERED="1")
    # pip compiles an installed package's bytecode at install time; let the warm-up run write it
    # for a source checkout too, or every run would pay for compiling attnquiz from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.Popen(ASK, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    seen = b""
    while FIRST_QUESTION not in seen:
        chunk = proc.stdout.read1(65536)
        if not chunk:
            raise SystemExit(f"attnquiz ask ended before showing a question:\n{seen.decode(errors='replace')}")
        seen += chunk
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed


def generate_bank(folder: Path, total: int = 10_000, per_file: int = 1_000) -> None:
    """Write `total` valid questions of mixed types into several files."""
    kinds = [
        "    type: single\n    choices:\n      - {en: one, zh: 一}\n      - {en: two, zh: 二}\n      - {en: three, zh: 三}\n    answer: B\n",
        "    type: numeric\n    answer: 1050624\n    unit: parameters\n",
        "    type: short\n    accept: [softmax, soft max]\n",
        "    type: truefalse\n    answer: true\n",
    ]
    for f in range(total // per_file):
        lines = ["questions:\n"]
        for i in range(per_file):
            n = f * per_file + i
            lines.append(
                f"  - id: gen.q{n}\n    topic: topic-{n % 25}\n    difficulty: {('easy', 'medium', 'hard')[n % 3]}\n"
                + kinds[n % len(kinds)]
                + f"    prompt:\n      en: Generated question number {n} about attention?\n      zh: 第 {n} 道关于注意力的生成题？\n"
                f"    explanation:\n      en: Because the generated answer is right for question {n}.\n"
                f"      zh: 因为第 {n} 题的答案就是这样。\n    source: generated\n"
            )
        (folder / f"gen-{f:02d}.yaml").write_text("".join(lines), encoding="utf-8")


def time_bank(runs: int) -> tuple[float, float, int]:
    """Median seconds to load + validate the generated bank: cold (empty cache) and warm (cached)."""
    from attnquiz.bank import check

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bank"
        folder.mkdir()
        generate_bank(folder)
        cold, warm = [], []
        for run in range(runs):
            os.environ["ATTNQUIZ_HOME"] = str(Path(tmp) / f"home-{run}")
            for times in (cold, warm):
                start = time.perf_counter()
                questions, problems = check([folder])
                times.append(time.perf_counter() - start)
                assert not problems and len(questions) == 10_000, problems[:3]
        return statistics.median(cold), statistics.median(warm), len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        time_ask(home)  # warm the file cache once
        floors, asks = [], []
        for _ in range(args.runs):  # interleave so machine noise hits both alike
            floors.append(time_floor())
            asks.append(time_ask(home))
    floor, ask = statistics.median(floors), statistics.median(asks)
    print(f"floor  python -c 'import typer, rich.console, yaml': {floor * 1000:7.1f} ms (median of {args.runs})")
    print(f"ask    attnquiz ask -> first question on screen:   {ask * 1000:7.1f} ms (median of {args.runs})")
    print(f"ratio  ask / floor = {ask / floor:.2f}   (target <= 1.5)")
    cold, warm, n = time_bank(max(3, args.runs // 5))
    verdict = lambda seconds: "met" if seconds <= 1.0 else "MISSED"  # noqa: E731
    print(f"bank   load + validate {n} new questions (nothing cached):     {cold * 1000:7.1f} ms "
          f"(target <= 1000 ms: {verdict(cold)}; libyaml's events are about half of it)")
    print(f"bank   the same files again (validated-file cache hit):       {warm * 1000:7.1f} ms "
          f"(target <= 1000 ms: {verdict(warm)})")


if __name__ == "__main__":
    main()
