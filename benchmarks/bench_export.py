"""Export benchmark: how long `attnquiz export anki` and `attnquiz export markdown` take on the built-in bank.

Prints, from one run, the median wall time of each export (the whole command: start-up, loading the
bank, writing the file) and its ratio to `python -c "import typer, rich.console, yaml, genanki"`,
the imports no export can avoid, measured in the same run, interleaved so noise hits both alike.

Run: python benchmarks/bench_export.py [--runs 15]
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

FLOOR = [sys.executable, "-c", "import typer, rich.console, yaml, genanki"]
COMMANDS = {
    "anki (--lang both)": [sys.executable, "-m", "attnquiz", "export", "anki", "--lang", "both", "--out", "deck.apkg"],
    "markdown (--out)": [sys.executable, "-m", "attnquiz", "export", "markdown", "--lang", "en", "--out", "sheet.md"],
}


def timed(command: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    checkout = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ATTNQUIZ_HOME=str(Path(tmp) / "home"))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
        for command in COMMANDS.values():  # warm the file cache and the validated-bank cache once
            timed(command, tmp, env)
        times: dict[str, list[float]] = {"floor": [], **{name: [] for name in COMMANDS}}
        for _ in range(args.runs):
            times["floor"].append(timed(FLOOR, tmp, env))
            for name, command in COMMANDS.items():
                times[name].append(timed(command, tmp, env))
        size = (Path(tmp) / "deck.apkg").stat().st_size
    floor = statistics.median(times["floor"])
    print(f"floor     python -c 'import typer, rich.console, yaml, genanki': {floor * 1000:7.1f} ms (median of {args.runs})")
    for name in COMMANDS:
        median = statistics.median(times[name])
        print(f"export {name:<20} {median * 1000:7.1f} ms   ratio {median / floor:.2f}")
    print(f"deck size {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
