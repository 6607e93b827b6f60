"""How long `attnquiz plan` takes, against a floor measured in the same run.

Prints, from one run (medians):
  * the floor: `python -c "import typer, rich.console, yaml"`;
  * `attnquiz plan --until +6d --json` with an empty progress file, and with every question of the
    bank answered (so each one is forecast through FSRS), as times and ratios to the floor;
  * the same with --until +365d (the longest plan), every question answered.

Run: python benchmarks/bench_plan.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

FLOOR = [sys.executable, "-c", "import typer, rich.console, yaml"]
NOW = "2026-03-02T09:00:00Z"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def answer_everything(home: str) -> int:
    """Answer every question of the bank once (right, over the last ten days), as a learner would have."""
    os.environ["ATTNQUIZ_HOME"] = home
    os.environ["ATTNQUIZ_NOW"] = NOW
    from attnquiz import schedule
    from attnquiz.bank import load_bank
    from attnquiz.store import Store

    now = schedule.now()
    questions = load_bank().questions
    with Store.open() as store:
        for i, q in enumerate(questions):
            store.record_answer(q.id, "x", True, "good", 1.0, now - timedelta(days=i % 10, minutes=i))
    return len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as full:
        answered = answer_everything(full)
        base = dict(os.environ, ATTNQUIZ_NOW=NOW, TZ="UTC")
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        plan = [sys.executable, "-m", "attnquiz", "plan", "--json", "--until"]
        cases = {
            "plan +6d, empty store": (plan + ["+6d"], dict(base, ATTNQUIZ_HOME=empty)),
            f"plan +6d, {answered} answered": (plan + ["+6d"], dict(base, ATTNQUIZ_HOME=full)),
            f"plan +365d, {answered} answered": (plan + ["+365d"], dict(base, ATTNQUIZ_HOME=full)),
        }
        for command, env in cases.values():  # warm the file cache and the bytecode once
            timed(command, env)
        floors: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            floors.append(timed(FLOOR, base))
            for name, (command, env) in cases.items():
                times[name].append(timed(command, env))
    floor = statistics.median(floors)
    print(f"floor  python -c 'import typer, rich.console, yaml': {floor * 1000:7.1f} ms (median of {args.runs})")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<32} {median * 1000:7.1f} ms   ratio to floor {median / floor:4.2f}")


if __name__ == "__main__":
    main()
