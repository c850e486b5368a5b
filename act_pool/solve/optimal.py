"""The optimal retirement plan: fewest unmet deficits, then the largest unexpired bank left.

Every manufacturer's credit network is built at once as arrays (:mod:`act_pool.solve.arcs`; the
graph :mod:`act_pool.solve.network` documents), each manufacturer's slice is solved on its own
for the lexicographic min-cost flow (:mod:`act_pool.solve.mincost`: fewest unmet, fewest expired,
least use of flexibilities, fewest credits pooled out of their state), and the flows are split
back into lots (:mod:`act_pool.solve.split`) to give ledger movements like those of the
regulatory-order solver.

Solvers: ``"simplex"`` (default; a compiled network simplex, or networkx's where the extension is
missing), ``"networkx"`` and ``"highs"`` (references). A pooling cap below 100 % is a side
constraint no network solver holds: those manufacturers are solved with HiGHS whatever the choice.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from act_pool.solve.arcs import NODE_KINDS, CreditArcs, build_arcs
from act_pool.solve import DEFAULT_SOLVER, SOLVERS
from act_pool.solve.mincost import solve_flows
from act_pool.solve.problem import ComplianceProblem
from act_pool.solve.split import flows_to_movements

__all__ = ["DEFAULT_SOLVER", "SOLVERS", "OptimalPlan", "solve_optimal", "pool_side_rows"]


@dataclass
class OptimalPlan:
    """The optimum of every manufacturer's credit network.

    Attributes
    ----------
    movements : DataFrame
        Retirements and expiries, one row per lot, deficit and year (ledger movement columns).
    arcs : CreditArcs
        The networks the solver worked on.
    flow : ndarray of int64
        The optimal flow on every arc, in tenths.
    """

    movements: pd.DataFrame
    arcs: CreditArcs
    flow: np.ndarray


def solve_optimal(problem: ComplianceProblem, solver: str = DEFAULT_SOLVER,
                  progress: Callable[[str, int, int], None] | None = None) -> OptimalPlan:
    """The optimal plan of every manufacturer (see the module docstring).

    ``progress("solving", done, total)`` is called per manufacturer, as each one's flow is taken.

    Raises
    ------
    ValueError
        For a solver name not in :data:`SOLVERS`.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    arcs = build_arcs(problem)
    flow = np.zeros(len(arcs.tail), dtype=np.int64)
    total = len(arcs.manufacturers)
    capped = _capped_pools(problem)

    def solve_one(maker: int) -> np.ndarray:
        rows = pool_side_rows(capped, arcs, maker) if not capped.empty else []
        return solve_flows(arcs, maker, solver, rows)

    # The compiled simplex and HiGHS release the GIL, so manufacturers are solved on every CPU at
    # once; each writes its own slice of ``flow``, in manufacturer order, so the result is the same.
    with ThreadPoolExecutor(max_workers=max(1, min(usable_cpus(), total))) as pool:
        for maker, maker_flow in enumerate(pool.map(solve_one, range(total))):
            if progress:
                progress("solving", maker, total)
            flow[arcs.part(maker)[1]] = maker_flow
    return OptimalPlan(movements=flows_to_movements(arcs, flow, problem), arcs=arcs, flow=flow)


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _capped_pools(problem: ComplianceProblem) -> pd.DataFrame:
    """Gate rows (manufacturer x state x model year) whose pooling cap is below their deficits."""
    if not problem.pooling:
        return problem.gates.iloc[:0]
    total = problem.deficits.groupby(["manufacturer", "state", "model_year"])["deficits"].sum()
    gates = problem.gates.join(total.rename("total"), on=["manufacturer", "state", "model_year"])
    return gates[gates["pool"] < gates["total"].fillna(0)]


def pool_side_rows(capped: pd.DataFrame, arcs: CreditArcs, maker: int) -> list[tuple[np.ndarray, int]]:
    """Side rows for pooling caps below 100 % (``capped``: rows of :func:`_capped_pools`): the
    pooled retire arcs into one state x model year (arc indices within the manufacturer's slice)
    and the cap."""
    capped = capped[capped["manufacturer"] == arcs.manufacturers[maker]]
    if capped.empty:
        return []
    _, part = arcs.part(maker)
    pooled = np.nonzero(arcs.pooled[part] & (arcs.field("kind", arcs.tail[part]) == NODE_KINDS.index("import")))[0]
    head = arcs.head[part][pooled]
    state = np.array(arcs.states, dtype=object)[arcs.field("state", head)]
    year = arcs.field("year", head)
    rows = []
    for r in capped.itertuples(index=False):
        cols = pooled[(state == r.state) & (year == int(r.model_year))]
        if len(cols):
            rows.append((cols, int(r.pool)))
    return rows
