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
So is a pooling exchange ratio other than 1 (a generalised flow, see
:func:`~act_pool.solve.mincost.solve_generalised`): every manufacturer with pooled arcs is then
solved with HiGHS as a mixed-integer program whatever the choice, its pooled routes running straight
to their deficits (:mod:`act_pool.solve.arcs`) with the rule gates they share with the state's own
credits as side rows (:func:`gate_side_rows`); the others keep the chosen solver. Those
mixed-integer programs are bounded in work (:data:`~act_pool.solve.mincost.GENERALISED_NODES`):
on large networks the plan may stop short of the optimum by a little (see
:mod:`act_pool.solve.mincost`).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from itertools import combinations
from typing import Callable

import numpy as np
import pandas as pd

from act_pool.solve.arcs import ARC_KINDS, GATES, CreditArcs, build_arcs, generalised
from act_pool.solve import DEFAULT_SOLVER, SOLVERS
from act_pool.solve.mincost import pooled_arcs, pooled_groups, solve_flows, solve_generalised
from act_pool.solve.problem import ComplianceProblem
from act_pool.solve.split import flows_to_movements

__all__ = ["DEFAULT_SOLVER", "SOLVERS", "OptimalPlan", "solve_optimal", "pool_side_rows", "gate_side_rows"]


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
    met : ndarray of int64
        What every arc delivers to its head, in tenths: the deficit met on a pooled retire arc
        under an exchange ratio other than 1, the flow elsewhere.
    """

    movements: pd.DataFrame
    arcs: CreditArcs
    flow: np.ndarray
    met: np.ndarray


def solve_optimal(problem: ComplianceProblem, solver: str = DEFAULT_SOLVER,
                  progress: Callable[[str, int, int], None] | None = None,
                  as_generalised: bool | None = None) -> OptimalPlan:
    """The optimal plan of every manufacturer (see the module docstring).

    ``progress("solving", done, total)`` is called as each manufacturer's flow is found (``done``
    of them before it), in the order they end.
    ``as_generalised`` (default: pooling under an exchange ratio other than 1) solves the pooled
    manufacturers as generalised flows; forcing it at a ratio of 1 checks that model against the
    network solvers.

    Raises
    ------
    ValueError
        For a solver name not in :data:`SOLVERS`.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    if as_generalised is None:
        as_generalised = generalised(problem)
    arcs = build_arcs(problem, pooled_direct=as_generalised)
    flow = np.zeros(len(arcs.tail), dtype=np.int64)
    met = np.zeros(len(arcs.tail), dtype=np.int64) if as_generalised else flow  # the same where nothing gains
    total = len(arcs.manufacturers)
    capped = _capped_pools(problem)

    def solve_one(maker: int) -> tuple[np.ndarray, np.ndarray]:
        part = arcs.part(maker)[1]
        if as_generalised and len(pooled_arcs(arcs, part)):
            rows = pool_side_rows(capped, arcs, maker, met_columns=True) + gate_side_rows(problem, arcs, maker)
            return solve_generalised(arcs, maker, problem.exchange_ratio, rows)
        rows = pool_side_rows(capped, arcs, maker) if not capped.empty else []
        maker_flow = solve_flows(arcs, maker, solver, rows)
        return maker_flow, maker_flow

    # The compiled simplex and HiGHS release the GIL, so manufacturers are solved on every CPU at
    # once, the largest networks first (so that no CPU is left with a large one at the end); each
    # flow goes into its own slice of ``flow``, so the result does not depend on which ends first,
    # and progress is reported as each one ends. Where several fail, the error raised is that of the
    # first in manufacturer order, as it would be one after another.
    largest_first = sorted(range(total), key=lambda m: (arcs.arc_start[m] - arcs.arc_start[m + 1], m))
    failed: dict[int, BaseException] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(usable_cpus(), total))) as pool:
        solving = {pool.submit(solve_one, maker): maker for maker in largest_first}
        for done, future in enumerate(as_completed(solving)):
            maker = solving[future]
            if future.exception() is not None:
                failed[maker] = future.exception()
                continue
            maker_flow, maker_met = future.result()
            part = arcs.part(maker)[1]
            flow[part] = maker_flow
            if met is not flow:
                met[part] = maker_met
            if progress:
                progress("solving", done, total)
    if failed:
        raise failed[min(failed)]
    return OptimalPlan(movements=flows_to_movements(arcs, flow, problem, met), arcs=arcs, flow=flow, met=met)


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


def pool_side_rows(capped: pd.DataFrame, arcs: CreditArcs, maker: int,
                   met_columns: bool = False) -> list[tuple[np.ndarray, int]]:
    """Side rows for pooling caps below 100 % (``capped``: rows of :func:`_capped_pools`): the
    pooled retire arcs into one state x model year (arc indices within the manufacturer's slice)
    and the cap. With ``met_columns``, the rows hold the deficit those arcs meet instead: the met
    columns of their groups in :func:`~act_pool.solve.mincost.solve_generalised`."""
    capped = capped[capped["manufacturer"] == arcs.manufacturers[maker]]
    if capped.empty:
        return []
    _, part = arcs.part(maker)
    pooled, group = pooled_groups(arcs, part)
    head = arcs.head[part][pooled]
    state = np.array(arcs.states, dtype=object)[arcs.field("state", head)]
    year = arcs.field("year", head)
    column = part.stop - part.start + group if met_columns else pooled
    rows = []
    for r in capped.itertuples(index=False):
        cols = np.unique(column[(state == r.state) & (year == int(r.model_year))])
        if len(cols):
            rows.append((cols, int(r.pool)))
    return rows


def gate_side_rows(problem: ComplianceProblem, arcs: CreditArcs, maker: int) -> list[tuple[np.ndarray, int]]:
    """Side rows of the rule gates that pooled arcs running straight to their deficits share with
    the state's own credits (see :mod:`act_pool.solve.arcs`), for
    :func:`~act_pool.solve.mincost.solve_generalised`.

    For each state x model year and each set T of the gates its pooled arcs count against: the own
    flow through the gates of T plus the deficit met by the pooled arcs whose gates all lie in T (the
    met columns of their groups) is at most the sum of T's capacities (13 CCR §1963.3(c)-(d)). By
    Hall's theorem, these rows hold exactly when the pooled credits can be shared out among the
    gates each may use.
    """
    part = arcs.part(maker)[1]
    n_arcs = part.stop - part.start
    pooled, group = pooled_groups(arcs, part)
    bits = arcs.pooled_gates[part][pooled].astype(np.int64)
    if not bits.any():
        return []
    head = arcs.head[part][pooled]
    where = list(zip(arcs.field("state", head).tolist(), arcs.field("year", head).tolist()))
    gate_arcs = np.nonzero(arcs.kind[part] == ARC_KINDS.index("gate"))[0]
    gate_tail = arcs.tail[part][gate_arcs]
    own = {(s, y, g): a for s, y, g, a in zip(arcs.field("state", gate_tail).tolist(),
                                              arcs.field("year", gate_tail).tolist(),
                                              arcs.gate[part][gate_arcs].tolist(), gate_arcs.tolist())}
    gates = problem.gates[problem.gates["manufacturer"] == arcs.manufacturers[maker]]
    caps = {(arcs.states.index(r.state), int(r.model_year)): [int(getattr(r, g)) for g in GATES]
            for r in gates.itertuples(index=False) if r.state in arcs.states}
    rows = []
    for key in sorted(set(where)):
        here = np.array([w == key for w in where])
        used = int(np.bitwise_or.reduce(bits[here]))
        members = [g for g in range(len(GATES)) if used >> g & 1]
        for size in range(1, len(members) + 1):
            for subset in combinations(members, size):
                mask = sum(1 << g for g in subset)
                inside = here & (bits != 0) & ((bits & ~mask) == 0)
                if not inside.any():
                    continue
                cols = [own[key + (g,)] for g in subset if key + (g,) in own]
                cols += (n_arcs + np.unique(group[inside])).tolist()
                rows.append((np.array(cols, dtype=np.int64), sum(caps[key][g] for g in subset)))
    return rows
