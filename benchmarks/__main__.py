"""Runs every benchmark, or the ones named: ``python -m benchmarks [pipeline] [archive] [coldstart] ...``."""

from __future__ import annotations

import subprocess
import sys

#: module name -> its default arguments
BENCHMARKS: dict[str, list[str]] = {
    "pipeline": ["--jobs", "3"],
    "archive": [],
    "coldstart": [],
    "cost": [],
    "scale": [],
}


def main() -> None:
    wanted = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in wanted if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark {', '.join(unknown)}; there are: {', '.join(BENCHMARKS)}")
    for name in wanted:
        print(f"== benchmarks.{name}", flush=True)
        # each in its own interpreter: one's clients, caches and memory do not bleed into the next
        subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *BENCHMARKS[name]], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
