"""Benchmark: a sweep of the bundled default scenario on 1 and 2 local Dask workers.

Runs a 4 x 2 grid (tractor offset portion x pooling) x 25 Monte Carlo samples = 200 runs of the
default scenario (11 states, 10 manufacturers, MY2021-2035) on a ``LocalCluster`` of 1 and then 2
process workers, and reports runs per second, the parallel efficiency on 2 workers
(rate with 2 / (2 x rate with 1)) and the projected time for 10,000 runs. The clusters are started
before the clock starts; the time includes shipping the scenario to the workers.

Usage (from the repository root)::

    python benchmarks/bench_sweep.py                 # 200 runs on 1 and 2 workers
    python benchmarks/bench_sweep.py --samples 5     # 40 runs: a quick look

Writes benchmarks/sweep_results.json and prints a Markdown table for docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from act_pool.scenario import default_scenario_path
from act_pool.sweep import load_sweep, sweep
from act_pool.sweep.execute import local_cluster

HERE = Path(__file__).resolve().parent
SWEEP = """scenario = "{scenario}"
[vary]
"tractor_offset.fraction" = [0.0, 0.25, 0.5, 0.75]
pooling = [true, false]
[monte_carlo]
samples = {samples}
seed = 7
zev_sales_sigma = 0.2
correlation = "manufacturer"
"""


def measure(path: Path, workers: int) -> dict:
    """Wall time and rate of the sweep at ``path`` on a fresh local cluster of ``workers``."""
    from distributed import Client

    spec = load_sweep(path)
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        start = time.perf_counter()
        result = sweep(spec, client=client)
        elapsed = time.perf_counter() - start
    rate = len(result.runs) / elapsed
    return {"workers": workers, "runs": len(result.runs), "runs_failed": int((result.runs["error"] != "").sum()),
            "seconds": round(elapsed, 1),
            "runs_per_second": round(rate, 3), "projected_10000_runs_hours": round(10_000 / rate / 3600, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=25, help="Monte Carlo samples per grid point (8 points)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep.toml"
        path.write_text(SWEEP.format(scenario=default_scenario_path().as_posix(), samples=args.samples))
        rows = [measure(path, n) for n in args.workers]
    by = {r["workers"]: r for r in rows}
    efficiency = (round(by[2]["runs_per_second"] / (2 * by[1]["runs_per_second"]), 2)
                  if 1 in by and 2 in by else None)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "load_average_1min_at_end": load, "rows": rows, "parallel_efficiency_2_workers": efficiency}
    (HERE / "sweep_results.json").write_text(json.dumps(report, indent=2) + "\n")
    print("| workers | runs | seconds | runs/s | projected 10,000 runs |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workers']} | {r['runs']} | {r['seconds']} | {r['runs_per_second']} | "
              f"{r['projected_10000_runs_hours']} h |")
    print(f"\nparallel efficiency on 2 workers: {efficiency}; load average at the end: {load}")


if __name__ == "__main__":
    main()
