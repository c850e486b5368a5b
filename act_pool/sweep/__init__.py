"""Sweeps and Monte Carlo: which conclusions survive the plausible range of rules and sales.

A sweep file names a scenario, a grid of rule parameters and scenario switches (``[vary]``) and
optional Monte Carlo samples of ZEV sales (``[monte_carlo]``); :func:`sweep` runs every grid point x
sample on Dask and returns a :class:`SweepResult`::

    import act_pool
    result = act_pool.sweep("sweep.toml")
    result.runs            # one row per run: the varied values, the sample and the totals
    result.plot.tornado()
"""
from act_pool.sweep.execute import local_cluster, sweep
from act_pool.sweep.results import SweepResult
from act_pool.sweep.spec import MonteCarlo, SweepSpec, load_sweep

__all__ = ["MonteCarlo", "SweepResult", "SweepSpec", "load_sweep", "local_cluster", "sweep"]
