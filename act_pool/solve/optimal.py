"""The optimal retirement plan: fewest unmet deficits, then the largest unexpired bank left.

Solved on the credit network (:mod:`act_pool.solve.network`) of each manufacturer on its own
(without trades every manufacturer is its own problem), two ways that must agree:

- ``"highs"`` (default): a linear program over the arc flows, solved with HiGHS (highspy) in
  lexicographic stages (fewest unmet; then fewest expired among those; then the least use of
  flexibilities, :data:`~act_pool.solve.network.FLEX_ROUTES` and pooling). Each
  stage's optimum is a face of an integral network polytope, so the vertex HiGHS returns is
  integral; rule limits that are not pure network capacities (a pooling cap below 100 %) are side
  rows, and the stage is then solved as a mixed-integer program to keep whole tenths.
- ``"network-simplex"``: networkx's network simplex on integer tenths with the integer weights of
  :func:`~act_pool.solve.network.weights_for`; it cannot hold side rows, so it refuses a pooling cap
  below 100 %.

The flows are then split back into lots (vintages), earliest expiring and oldest first at every
node, to give ledger movements like those of the regulatory-order solver.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

import networkx as nx
import numpy as np
import highspy
from scipy import sparse

from act_pool.errors import ConservationError, InputError, Problem
from act_pool.solve.network import END, EXPIRE, build_network
from act_pool.solve.problem import ComplianceProblem

SOLVERS = ("highs", "network-simplex")


def solve_optimal(problem: ComplianceProblem, solver: str = "highs", graphs: dict | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """Movements of the optimal plan for every manufacturer (see the module docstring).

    With ``graphs`` (a dict), each manufacturer's solved network is stored in it, every edge with
    its ``flow`` in tenths; ``progress("solving", done, total)`` is called per manufacturer.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    movements: list[dict] = []
    makers = problem.manufacturers
    for i, manufacturer in enumerate(makers):
        if progress:
            progress("solving", i, len(makers))
        G = build_network(problem, manufacturer)
        flow = solve_network_simplex(G, problem) if solver == "network-simplex" else solve_highs(G, problem)
        if graphs is not None:
            nx.set_edge_attributes(G, {(u, v): f for u, out in flow.items() for v, f in out.items()}, "flow")
            graphs[manufacturer] = G
        movements.extend(_pre_expired(problem, manufacturer))
        movements.extend(flows_to_movements(G, flow, problem, manufacturer))
    return movements


def solve_network_simplex(G: nx.DiGraph, problem: ComplianceProblem) -> dict:
    """Min-cost flow with networkx's network simplex (integer tenths and weights)."""
    if _pool_rows(G, problem):
        raise InputError([Problem("rules", None, "pooling.cap_fraction",
                                  "the network-simplex solver cannot hold a pooling cap below 1; use HiGHS")])
    _, flow = nx.network_simplex(G, demand="demand", capacity="capacity", weight="weight")
    return flow


def solve_highs(G: nx.DiGraph, problem: ComplianceProblem) -> dict:
    """Lexicographic LP with HiGHS: stages minimise unmet, then expired credits, then flexibilities.

    The model is passed to HiGHS once; each later stage adds one row holding the previous stage's
    optimum and changes the costs, so HiGHS restarts from the previous basis (primal simplex, since
    the previous solution stays feasible). Presolve is off: on these network LPs it costs more than
    it saves.
    """
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = list(G.edges(data=True))
    n_e = len(edges)
    rows = np.concatenate([[index[v] for _, v, _ in edges], [index[u] for u, _, _ in edges]])
    cols = np.concatenate([np.arange(n_e), np.arange(n_e)])
    vals = np.concatenate([np.ones(n_e), -np.ones(n_e)])
    A = sparse.csc_array((vals, (rows, cols)), shape=(len(nodes), n_e))
    demand = np.array([G.nodes[n]["demand"] for n in nodes], dtype=float)
    kinds = np.array([a["kind"] for _, _, a in edges])
    flex = np.array([a["kind"] in ("export", "retire") and a["weight"] > 0 for _, _, a in edges])  # FLEX_ROUTES

    h = _quiet_highs()
    h.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_e, len(nodes)
    lp.col_cost_ = np.zeros(n_e)
    lp.col_lower_ = np.zeros(n_e)
    lp.col_upper_ = np.array([a.get("capacity", highspy.kHighsInf) for _, _, a in edges], dtype=float)
    lp.row_lower_ = lp.row_upper_ = demand
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h.passModel(lp)
    side_rows = _pool_rows(G, problem)
    edge_pos = {(u, v): i for i, (u, v, _) in enumerate(edges)} if side_rows else {}
    for arcs, cap in side_rows:
        cols_ = np.array(sorted(edge_pos[a] for a in arcs), dtype=np.int32)
        h.addRow(-highspy.kHighsInf, cap, len(cols_), cols_, np.ones(len(cols_)))
    if side_rows:  # side rows break total unimodularity: keep whole tenths by integrality
        h.changeColsIntegrality(n_e, np.arange(n_e, dtype=np.int32),
                                np.full(n_e, highspy.HighsVarType.kInteger))
    all_cols = np.arange(n_e, dtype=np.int32)
    x = np.zeros(n_e)
    for stage, goal in enumerate(((kinds == "unmet"), (kinds == "expire"), flex)):
        if stage == 1:  # only costs change (and a row the solution meets): primal simplex restarts best
            h.setOptionValue("simplex_strategy", 4)
        cost = goal.astype(float)
        h.changeColsCost(n_e, all_cols, cost)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise ConservationError(f"HiGHS did not solve the credit network: {h.modelStatusToString(h.getModelStatus())}")
        x = np.asarray(h.getSolution().col_value)
        picked = np.nonzero(goal)[0].astype(np.int32)
        if len(picked):  # later stages stay on this optimal face (whole tenths)
            h.addRow(-highspy.kHighsInf, float(np.round(cost @ x)), len(picked), picked, np.ones(len(picked)))
    xi = np.round(x).astype(np.int64)
    if np.abs(x - xi).max(initial=0) > 1e-6 or np.abs(A @ xi - demand).max(initial=0) > 0:
        raise ConservationError("HiGHS returned a flow that is not whole tenths")
    flow: dict = defaultdict(dict)
    for (u, v, _), f in zip(edges, xi):
        flow[u][v] = int(f)
    return flow


def _quiet_highs():
    """A HiGHS instance that prints nothing. ``highspy.Highs`` prints a banner when first built
    (before any option can be set); its base class ``_Highs`` does not, and has the same methods."""
    h = getattr(highspy, "_Highs", highspy.Highs)()
    h.setOptionValue("output_flag", False)
    return h


def _pool_rows(G: nx.DiGraph, problem: ComplianceProblem) -> list[tuple[list, float]]:
    """Side rows for pooling caps below 100 %: pooled retirements into one state x model year."""
    if not problem.pooling:
        return []
    gates = problem.gates[problem.gates["manufacturer"] == G.graph["manufacturer"]]
    deficits = problem.deficits[problem.deficits["manufacturer"] == G.graph["manufacturer"]]
    total = deficits.groupby(["state", "model_year"])["deficits"].sum().to_dict()
    arcs_by: dict[tuple, list] = defaultdict(list)
    for u, v, a in G.edges(data=True):
        if a["kind"] == "retire" and u[0] == "import":
            arcs_by[(v[1], v[2])].append((u, v))
    out = []
    for r in gates.itertuples(index=False):
        key = (r.state, int(r.model_year))
        if key in arcs_by and int(r.pool) < int(total.get(key, 0)):
            out.append((arcs_by[key], float(r.pool)))
    return out


def _pre_expired(problem: ComplianceProblem, manufacturer: str) -> list[dict]:
    """Opening balances whose life ended before the first simulated year."""
    lots = problem.usable_lots(manufacturer)
    lots = lots[lots["last_use"] < problem.years.start]
    return [_movement(r, "expire", r.origin_state, int(r.last_use), r.group, int(r.credits), int(r.last_use),
                      "credit-life") for r in lots.itertuples(index=False)]


def _movement(lot, action: str, state: str, model_year: int, group: str, credits: int, year: int, rule: str) -> dict:
    return {"manufacturer": lot.manufacturer, "origin_manufacturer": lot.origin_manufacturer,
            "origin_state": lot.origin_state, "vintage": int(lot.vintage), "origin_group": lot.group,
            "credit_type": lot.credit_type, "action": action, "state": state, "model_year": model_year,
            "group": group, "credits": credits, "year": year, "rule": rule, "lot": int(lot.lot)}


_EDGE_ORDER = {"draw": 0, "retire": 1, "export": 2, "import": 3, "carry": 4, "expire": 5, "end": 6}


def flows_to_movements(G: nx.DiGraph, flow: dict, problem: ComplianceProblem, manufacturer: str) -> list[dict]:
    """Split arc flows back into lots: parcels travel the DAG in topological order, earliest
    expiring and oldest vintage first at every node, each arc taking its flow in turn."""
    lots = problem.usable_lots(manufacturer)
    lots = lots[lots["last_use"] >= problem.years.start]
    first = problem.years.start
    by_id = {int(r.lot): r for r in lots.itertuples(index=False)}
    inbox: dict[tuple, list[list]] = defaultdict(list)  # node -> parcels [lot, amount, route, year]
    for r in lots.itertuples(index=False):
        enter = max(int(r.available_from), first)
        inbox[("bank", r.origin_state, r.group, r.credit_type, int(r.last_use), enter)].append(
            [int(r.lot), int(r.credits), None, None])
    out: list[dict] = []
    for n in nx.topological_sort(G):  # deterministic: the graph is built in a fixed order
        parcels = inbox.pop(n, [])  # nodes no credit reaches (unmet, spill, sink) have none
        if not parcels:
            continue
        kind = n[0]
        if kind == "deficit":
            for lot_id, amount, route, year in parcels:
                out.append(_movement(by_id[lot_id], "retire", n[1], n[2], n[3], amount, year, route))
            continue
        if n == EXPIRE:
            for lot_id, amount, _, _ in parcels:
                lot = by_id[lot_id]
                out.append(_movement(lot, "expire", lot.origin_state, int(lot.last_use), lot.group, amount,
                                     int(lot.last_use), "credit-life"))
            continue
        if n == END:
            continue
        parcels.sort(key=lambda p: (int(by_id[p[0]].last_use), int(by_id[p[0]].vintage), p[0]))
        arcs = sorted(((v, a) for v, a in G[n].items() if flow.get(n, {}).get(v, 0) > 0),
                      key=lambda va: (_EDGE_ORDER.get(va[1]["kind"], 9), str(va[0])))
        queue = parcels
        for v, a in arcs:
            need = flow[n][v]
            while need > 0:
                if not queue:
                    raise ConservationError(f"flow out of {n} exceeds the credits that reached it")
                p = queue[0]
                take = min(need, p[1])
                leaving = kind in ("avail", "import")  # the retirement is decided here, in year n[4]
                route = a["route"] if leaving and a["kind"] == "retire" else p[2]
                year = n[4] if leaving else p[3]
                inbox[v].append([p[0], take, route, year])
                need -= take
                p[1] -= take
                if p[1] == 0:
                    queue.pop(0)
        if any(p[1] > 0 for p in queue):
            raise ConservationError(f"credits stranded at {n}")
    return out
