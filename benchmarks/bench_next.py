"""How long `attnquiz next` takes to print its one line, relative to the CLI's own import floor.

`next` reads the bank and the progress database, and, depending on the answer, the kata manifests
(the next kata on the ladder) or fsrs (the weakest topic); never torch. Each situation is timed
against `python -c "import typer, rich.console, yaml"` (what any attnquiz command imports) and
`python -c "import torch"`, alternating in the same run; medians reported. Target: next / floor
<= 2.0 in every situation.

    python benchmarks/bench_next.py [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

FLOOR = [sys.executable, "-c", "import typer, rich.console, yaml"]
TORCH = [sys.executable, "-c", "import torch"]
NEXT = [sys.executable, "-m", "attnquiz", "next", "--lang", "en"]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - started


def _prepare(home: Path, situation: str) -> str:
    """Fill HOME's progress for SITUATION; returns the ATTNQUIZ_NOW to ask at."""
    os.environ["ATTNQUIZ_HOME"] = str(home)
    from attnquiz import katas
    from attnquiz.bank import load_bank
    from attnquiz.store import Store

    questions = load_bank().questions
    if situation in ("reviews", "weakest"):
        with Store.open() as store:
            for i, q in enumerate(questions[:60]):
                store.record_answer(q.id, "", i % 3 != 0, "good" if i % 3 else "again", 1.0, T0)
    if situation in ("kata_review", "weakest"):
        for name in katas.kata_names():
            katas.record_attempt(name, True, 5, 5, 1.0, when=T0 - timedelta(days=5 if situation == "kata_review" else 0))
    at = T0 + (timedelta(hours=1) if situation != "weakest" else timedelta(seconds=30))
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # let warm-up runs write bytecode
    floors, torches = [], []
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {}
        for situation in ("reviews", "kata_review", "kata", "weakest"):
            home = Path(tmp) / situation
            now = _prepare(home, situation)
            homes[situation] = {**env, "ATTNQUIZ_HOME": str(home), "ATTNQUIZ_NOW": now}
            out = subprocess.run([*NEXT, "--json"], capture_output=True, text=True, env=homes[situation], check=True)
            assert f'"kind": "{situation}"' in out.stdout, (situation, out.stdout)
            _wall(NEXT, homes[situation])  # warm-up
            results[situation] = []
        _wall(TORCH, env)
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            floors.append(_wall(FLOOR, env))
            torches.append(_wall(TORCH, env))
            for situation, situation_env in homes.items():
                results[situation].append(_wall(NEXT, situation_env))
    floor, torch = statistics.median(floors), statistics.median(torches)
    print(f"floor  python -c 'import typer, rich.console, yaml': {floor * 1000:7.1f} ms (median of {args.runs})")
    print(f"torch  python -c 'import torch':                     {torch * 1000:7.1f} ms")
    for situation, times in results.items():
        median = statistics.median(times)
        print(f"next   {situation:<12} {median * 1000:7.1f} ms   next / floor = {median / floor:.2f} (target <= 2.0)   "
              f"next / import torch = {median / torch:.2f}")


if __name__ == "__main__":
    main()
