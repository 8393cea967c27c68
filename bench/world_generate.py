"""How fast the synthetic retail world is generated: 10,000 and 100,000 customers.

Generates each size a few times into a temporary directory (the same seed each time, so the
work is identical), and prints the median wall time, the rows written per second, the CPU
time of all processes, and the size on disk. The target is 100,000 customers in under a
minute on 2 cores.

    .venv/bin/python bench/world_generate.py
    .venv/bin/python bench/world_generate.py --sizes 10000 --repeats 5 --workers 1
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from patron.world import generate_world

SEED = 2026


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _size_on_disk(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


def measure(customers: int, repeats: int, workers: int | None) -> dict[str, float]:
    walls: list[float] = []
    cpus: list[float] = []
    rows = size = 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="patron-world-bench-") as temporary:
            directory = Path(temporary) / "world"
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            summary = generate_world(directory, customers=customers, seed=SEED, workers=workers)
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu_seconds() - cpu_before)
            rows, size = summary.rows, _size_on_disk(directory)
    wall = statistics.median(walls)
    return {
        "customers": customers,
        "wall_s": wall,
        "rows": rows,
        "rows_per_s": rows / wall,
        "cpu_s": statistics.median(cpus),
        "mb": size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    arguments = parser.parse_args()
    print(
        f"world generation, seed {SEED}, median of {arguments.repeats} runs, "
        f"{arguments.workers or os.cpu_count()} processes, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    print("| customers | wall s | rows | rows/s | CPU s (all processes) | MB on disk |")
    print("|---:|---:|---:|---:|---:|---:|")
    for customers in arguments.sizes:
        result = measure(customers, arguments.repeats, arguments.workers)
        print(
            f"| {customers:,} | {result['wall_s']:.1f} | {result['rows']:,} "
            f"| {result['rows_per_s']:,.0f} | {result['cpu_s']:.1f} | {result['mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
