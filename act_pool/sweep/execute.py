"""Running a sweep on Dask (``dask.distributed``): one task per grid point x sample.

The scenario is loaded and validated once, on the client, and shipped to the workers once
(``Client.scatter``); each task gets the small settings of its grid point and its sample number,
runs the scenario without reports and returns only its totals and per-row unmet and met. Finished
runs are checkpointed as they arrive; a worker that dies has its runs rescheduled by Dask (up to
``distributed.scheduler.allowed-failures`` times per run); results are
assembled by run id, so they do not depend on the number of workers or the order of completion.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from act_pool.errors import InputError
from act_pool.rules import RuleSet
from act_pool.scenario import Scenario
from act_pool.sweep.checkpoint import Checkpoint
from act_pool.sweep.results import SweepResult, assemble, empty_detail, run_detail, run_totals
from act_pool.sweep.sampling import sample_sales
from act_pool.sweep.spec import MonteCarlo, SweepSpec, load_sweep, point_scenario

#: ``progress(done, total)``: runs finished (checkpointed ones included) out of all runs.
SweepProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class PointSettings:
    """What a grid point changes in the scenario: small enough to send with every task."""

    rules: RuleSet
    pooling: bool
    retirement: str | tuple[str, ...]
    overrides: dict[str, Any]

    @classmethod
    def of(cls, scenario: Scenario) -> "PointSettings":
        return cls(scenario.rules, scenario.pooling, scenario.retirement, dict(scenario.overrides))


def compute_run(base: Scenario, settings: PointSettings, monte_carlo: MonteCarlo | None,
                sample: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """One run on a worker: the grid point's scenario, sample ``sample`` of its sales, no reports.

    Returns
    -------
    totals : dict
        :func:`~act_pool.sweep.results.run_totals` (integer tenths and vehicle counts); or, where
        this run's inputs are infeasible (a sample's sales too low for a declared trade), only
        ``error``, the problems found, so the sweep records it and goes on. A sample's declared trades
        move at most what the seller holds (``trades_short``: what they fell short by).
    detail : DataFrame
        :func:`~act_pool.sweep.results.run_detail` (empty for a failed run).
    """
    from act_pool.run import run

    scenario = replace(base, rules=settings.rules, pooling=settings.pooling, retirement=settings.retirement,
                       overrides=settings.overrides)
    try:
        if monte_carlo is not None:
            sampled = scenario.with_sales(sample_sales(scenario.sales, monte_carlo, sample))
            scenario = replace(sampled, trades_beyond_holdings="cap")  # a sample may sell less than a trade
        result = run(scenario)
    except InputError as exc:
        return {"error": "; ".join(str(p) for p in exc.problems)}, empty_detail()
    return run_totals(result), run_detail(result)


def local_cluster(workers: int | None = None):
    """A ``LocalCluster`` of process workers, one thread each (default: one per core), with only errors
    logged and its dashboard on a free port (a busy port 8787 must not stop or warn a sweep)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.ERROR)


def sweep(spec_or_path: SweepSpec | str | Path, client=None, out: str | Path | None = None, resume: bool = False,
          workers: int | None = None, progress: SweepProgress | None = None) -> SweepResult:
    """Run every grid point x Monte Carlo sample of a sweep on Dask.

    Parameters
    ----------
    spec_or_path : SweepSpec or path of a sweep file
    client : distributed.Client, optional
        Where to run. Default: a ``LocalCluster`` of ``workers`` process workers (one per core),
        closed at the end.
    out : path, optional
        The result folder: finished runs are checkpointed in ``out/.checkpoint`` as they arrive, and
        the result files (see :func:`act_pool.sweep.report.write_sweep`) swapped in at the end.
    resume : bool
        Keep the runs of ``out``'s checkpoint (of the same sweep) and compute only the missing ones.
    progress : callable, optional
        ``progress(done, total)`` after every run.

    Raises
    ------
    InputError
        For an invalid sweep file, an ``out`` folder act-pool did not write, or a checkpoint of
        another sweep with ``resume``.
    """
    from act_pool.sweep.folder import check_out_dir

    start = time.monotonic()
    spec = spec_or_path if isinstance(spec_or_path, SweepSpec) else load_sweep(spec_or_path)
    checkpoint = None
    if out is not None:
        check_out_dir(Path(out))
        checkpoint = Checkpoint.open(Path(out), spec, resume)
    finished = checkpoint.finished() if checkpoint else {}
    done_before = len(finished)
    report = progress or (lambda done, total: None)
    report(len(finished), spec.n_runs)
    missing = [run for run in range(spec.n_runs) if run not in finished]
    n_workers = 0
    if missing:
        with ExitStack() as stack:
            if client is None:
                from distributed import Client

                client = stack.enter_context(Client(stack.enter_context(local_cluster(workers))))
            n_workers = len(client.scheduler_info().get("workers", {}))
            for run, (totals, detail) in _compute(spec, client, missing):
                finished[run] = (totals, detail)
                if checkpoint:
                    checkpoint.save(run, totals, detail)
                report(len(finished), spec.n_runs)
    runs, detail = assemble(spec, finished)
    result = SweepResult(spec=spec, runs=runs, detail=detail, elapsed_s=time.monotonic() - start,
                         computed=len(finished) - done_before, workers=n_workers)
    if out is not None:
        from act_pool.sweep.report import write_sweep

        write_sweep(result, Path(out))
    return result


def _compute(spec: SweepSpec, client, runs: list[int]):
    """Submit ``runs`` and yield (run, (totals, detail)) as each finishes."""
    from distributed import as_completed

    points = spec.points()
    base = spec.path.parent if spec.path else None
    settings = [PointSettings.of(point_scenario(spec.scenario, p, spec.label, base)) for p in points]
    scenario = client.scatter(spec.scenario, broadcast=True)
    token = spec.fingerprint()[:16]
    futures = {}
    for run in runs:
        point, sample = divmod(run, spec.samples)
        future = client.submit(compute_run, scenario, settings[point], spec.monte_carlo, sample,
                               key=f"act-pool-run-{token}-{run}", pure=False)
        futures[future] = run
    for future in as_completed(futures):
        yield futures[future], future.result()
        future.release()
