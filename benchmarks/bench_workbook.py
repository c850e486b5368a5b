"""Time reading the default scenario as a workbook against its TOML + CSV form.

Writes the default scenario's workbook (``act-pool template --from``) into a temporary folder, then
times, each ``--repeats`` times (median reported, wall and CPU seconds):

* ``load_scenario`` of scenario.toml + CSV (the reference);
* ``load_scenario`` of the workbook (python-calamine, as act-pool reads it);
* reading the Sales sheet's cell values alone, with python-calamine and with openpyxl's
  read-only mode (the two candidate readers);
* the command ``act-pool validate`` on each form, as a planner runs it (a new process each time:
  interpreter start and imports included), its CPU time taken from the finished child processes.

Run from the repository root: ``python benchmarks/bench_workbook.py [--repeats 9]``.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import openpyxl
import python_calamine

from act_pool.scenario import default_scenario_path, load_scenario
from act_pool.workbook import write_template


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn`` over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def validate_command(scenario: Path) -> None:
    act_pool = shutil.which("act-pool") or str(Path(sys.executable).with_name("act-pool"))
    subprocess.run([act_pool, "validate", str(scenario)], check=True, capture_output=True)


def timed_children(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``fn``'s child processes over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def calamine_cells(path: Path) -> int:
    with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
        return len(book.get_sheet_by_name("Sales").to_python(skip_empty_area=False))


def openpyxl_cells(path: Path) -> int:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in book["Sales"].iter_rows(values_only=True))
    finally:
        book.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    source = default_scenario_path()
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "default.xlsx"
        write_template(book, source)
        rows = len(load_scenario(source).sales)
        print(f"default scenario: {rows} sales rows; workbook {book.stat().st_size / 1e6:.2f} MB")
        cases = {
            "load_scenario, TOML + CSV": lambda: load_scenario(source),
            "load_scenario, workbook (python-calamine)": lambda: load_scenario(book),
            "Sales sheet cells, python-calamine": lambda: calamine_cells(book),
            "Sales sheet cells, openpyxl read-only": lambda: openpyxl_cells(book),
        }
        results = {name: timed(fn, args.repeats) for name, fn in cases.items()}
        commands = {
            "act-pool validate, TOML + CSV": lambda: validate_command(source),
            "act-pool validate, workbook": lambda: validate_command(book),
        }
        results.update({name: timed_children(fn, args.repeats) for name, fn in commands.items()})
    print(f"{'what':45s} {'wall s':>8s} {'CPU s':>8s} {'CPU / CSV':>10s}")
    for name, (wall, cpu) in results.items():
        base = results["act-pool validate, TOML + CSV" if name.startswith("act-pool") else "load_scenario, TOML + CSV"]
        print(f"{name:45s} {wall:8.3f} {cpu:8.3f} {cpu / base[1]:10.2f}")


if __name__ == "__main__":
    main()
