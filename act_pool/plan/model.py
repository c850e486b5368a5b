"""The least-cost plan as a mixed-integer program on the credit network.

The credit network of each manufacturer (:func:`act_pool.solve.network.network_graph`) holds every
rule of a run: bank chains and credit life, make-up periods, the NZEV caps, the low-volume
flexibility and the tractor offset as gate capacities, pooling through the yearly hubs (a pooling
cap below 100 % as a side row). The plan adds three kinds of columns to its arc flows:

- ``convert``: whole ICE vehicles of one weight class, state and model year turned into ZEVs.
  Each adds its weight class modifier (the per-vehicle ZEV credit, 13 CCR §1963.2(a)) to the bank
  node where ZEV credits of that state, group, expiry year and entry year enter; the deficits
  stay, since the vehicles sold stay. An integer column from the sink to that node with a gain of
  the credits per vehicle, bounded by the ICE vehicles the ``max_zev_share`` leaves.
- ``purchase``: tenths of a credit bought for one named deficit (state, model year, group), as the
  scenario's ``purchase`` option buys them: an integer arc parallel to the deficit's ``unmet`` arc.
- ``trade`` (market mode only): credits of one expiry class moved, in a model year, from one
  manufacturer's bank through a market hub into another's.

Goals, solved in stages on one HiGHS model: first the fewest deficits left unmet that no lever can
meet (zero unless conversions are capped and purchases forbidden; with ``allow_open``, deficits
whose make-up runs past the horizon are not counted), then the least cost in USD. Conversions and
purchases are integer (a mixed-integer program, solved to within half a dollar of its bound); the
credit flows are continuous. With whole supplies a pure network has whole-tenth flows, so this
relaxes nothing but where a pooling cap below 100 % adds side rows; either way the plan is
re-run through the ordinary solver (:func:`act_pool.plan.planner.plan`), which settles the flows
in tenths and checks the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import highspy
import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from act_pool.errors import ConservationError, InputError, Problem
from act_pool.plan.levers import Levers
from act_pool.rules import clauses
from act_pool.scenario import Scenario
from act_pool.solve.arcs import build_arcs
from act_pool.solve.network import SINK, network_graph
from act_pool.solve.problem import ComplianceProblem

CONVERSION_COLUMNS = ["manufacturer", "state", "model_year", "weight_class", "group", "tenths_per_vehicle",
                      "cost", "limit", "last_use"]
#: Cost per tenth moved between manufacturers in market mode (USD): the payments between them
#: cancel in the total, so this only keeps trades to the ones that lower it.
TRADE_TIEBREAK = 0.001


def conversion_candidates(scenario: Scenario, levers: Levers) -> pd.DataFrame:
    """Every manufacturer x state x model year x weight class with ICE vehicles a plan may convert.

    ``limit`` is the ICE vehicles left after ``max_zev_share``: the share cap times all the
    vehicles sold, rounded down, less the ZEVs already sold; ``tenths_per_vehicle`` is the ZEV
    credit of one vehicle (13 CCR §1963.2(a): its weight class modifier; nothing before the
    state's first credit model year); ``last_use`` the last model year its credits may be used.

    Raises
    ------
    InputError
        If a weight class modifier is not a whole number of tenths (the credits of a conversion
        would then depend on the rounding of the group sum).
    """
    rules = scenario.rules
    sales = scenario.sales
    if sales.empty or not levers.zev_cost:
        return pd.DataFrame(columns=CONVERSION_COLUMNS)
    key = ["manufacturer", "state", "model_year", "weight_class"]
    wide = sales.pivot_table(index=key, columns="powertrain", values="vehicles", aggfunc="sum", fill_value=0)
    rows = []
    for (m, s, y, wc), r in wide.iterrows():
        ice, zev = int(r.get("ICE", 0)), int(r.get("ZEV", 0))
        if ice == 0 or wc not in levers.zev_cost:
            continue
        credit = clauses.credit_per_vehicle(rules, s, wc, "ZEV", None, int(y))
        tenths = credit * 10
        if tenths.denominator != 1:
            raise InputError([Problem("rules", None, f"weight_class_modifier.{wc}", "a plan converts whole "
                                      f"vehicles: expected a modifier in whole tenths, got {float(credit)}")])
        total = int(r.sum())
        limit = min(ice, int(levers.max_share(s, int(y), wc) * total) - zev)
        if tenths == 0 or limit <= 0:
            continue
        rows.append((m, s, int(y), wc, clauses.WEIGHT_CLASS_GROUP[wc], int(tenths), float(levers.zev_cost[wc]),
                     limit, clauses.credit_last_model_year(rules, s, int(y))))
    return pd.DataFrame(rows, columns=CONVERSION_COLUMNS)


def network_matrix(nodes: list, tails: list, heads: list, gains: np.ndarray | None = None) -> sparse.csc_array:
    """Node-arc incidence matrix: column j takes ``gains[j]`` (default 1) out of ``tails[j]`` and
    puts it into ``heads[j]``, so that ``A @ x`` is each node's net inflow (its ``demand``)."""
    index = {n: i for i, n in enumerate(nodes)}
    n_e = len(tails)
    g = np.ones(n_e) if gains is None else np.asarray(gains, dtype=float)
    rows = np.concatenate([[index[v] for v in heads], [index[u] for u in tails]]).astype(np.int64)
    cols = np.concatenate([np.arange(n_e), np.arange(n_e)])
    return sparse.csc_array((np.concatenate([g, -g]), (rows, cols)), shape=(len(nodes), n_e))


@dataclass
class PlanModel:
    """The plan's program for one manufacturer (or, in market mode, all of them together).

    Node ids are the network's prefixed with the manufacturer; ``columns`` has one row per
    variable: ``kind`` (flow, unmet, purchase, convert, trade), ``tail``, ``head``, ``gain``,
    ``upper``, ``cost`` (USD per unit), ``integer``, ``counted`` (an unmet arc the first goal
    counts) and the key fields of levers (``manufacturer``, ``state``, ``model_year``, ``group``,
    ``weight_class``).
    """

    nodes: list
    demand: np.ndarray
    columns: pd.DataFrame
    side_rows: list[tuple[np.ndarray, float]] = field(default_factory=list)

    def matrix(self) -> sparse.csc_array:
        return network_matrix(self.nodes, list(self.columns["tail"]), list(self.columns["head"]),
                              self.columns["gain"].to_numpy(dtype=float))


def with_entry_chains(problem: ComplianceProblem, entries: pd.DataFrame) -> ComplianceProblem:
    """The problem with an empty lot for every (manufacturer, origin_state, group, credit_type,
    last_use, available_from) in ``entries``, so the network has the bank chain (and its routes)
    that a conversion or a trade may fill."""
    if entries.empty:
        return problem
    ph = entries.drop_duplicates().assign(
        origin_manufacturer=lambda f: f["manufacturer"], vintage=lambda f: f["available_from"], credits=0,
        source="plan", usable=True, lot=-1)
    lots = pd.concat([problem.lots, ph[problem.lots.columns]], ignore_index=True)
    return replace(problem, lots=lots)


def build_model(problem: ComplianceProblem, levers: Levers, conversions: pd.DataFrame,
                manufacturers: list[str], market: bool = False, trades: pd.DataFrame | None = None) -> PlanModel:
    """The program of ``manufacturers`` (see the module docstring).

    ``trades`` (rows of :data:`act_pool.plan.market.TRADE_COLUMNS`) fixes credits moved between
    manufacturers: they leave the seller's bank and enter the buyer's in the trade's model year.
    """
    first, last = problem.years.start, problem.years.stop - 1
    entries = conversions.assign(origin_state=conversions["state"], credit_type="ZEV",
                                 available_from=conversions["model_year"])[
        ["manufacturer", "origin_state", "group", "credit_type", "last_use", "available_from"]]
    if trades is not None and not trades.empty:
        ends = [trades.rename(columns={who: "manufacturer", "state": "origin_state", "model_year": "available_from"})
                for who in ("buyer", "seller")]
        entries = pd.concat([entries] + [e[entries.columns] for e in ends], ignore_index=True)
    if market:
        held = problem.lots[problem.lots["usable"] & (problem.lots["last_use"] >= first)]
        classes = pd.concat([held[["origin_state", "group", "credit_type", "last_use"]],
                             entries[["origin_state", "group", "credit_type", "last_use"]]]).drop_duplicates()
        everyone = pd.DataFrame({"manufacturer": manufacturers})
        entries = pd.concat([entries, everyone.merge(classes, how="cross").assign(available_from=first)])
    chained = with_entry_chains(problem, entries)
    cols: list[dict] = []
    side_rows: list[tuple[list[int], float]] = []
    price = float(levers.credit_price) / 10 if levers.credit_price is not None else None
    shared_sink = ("market",) + SINK  # in market mode credits cross makers: one sink balances them all

    def nid(m: str, n: tuple) -> tuple:
        return shared_sink if market and n == SINK else (m,) + n

    node_demand: dict[tuple, int] = {}
    arcs = build_arcs(chained)
    for m in manufacturers:
        G = network_graph(arcs, arcs.manufacturers.index(m))
        start = len(cols)
        for n in G.nodes:
            node_demand[nid(m, n)] = node_demand.get(nid(m, n), 0) + int(G.nodes[n]["demand"])
        for u, v, a in G.edges(data=True):
            col = {"kind": "flow", "tail": nid(m, u), "head": nid(m, v), "gain": 1.0,
                   "upper": float(a.get("capacity", np.inf)), "cost": 0.0, "integer": False, "counted": False,
                   "manufacturer": m}
            if a["kind"] == "unmet":
                open_ok = levers.allow_open and v[2] + problem.makeup_years > last
                col.update(kind="unmet", counted=not open_ok, state=v[1], model_year=v[2], group=v[3])
                cols.append(col)
                if price is not None:
                    cols.append({**col, "kind": "purchase", "cost": price, "integer": True, "counted": False})
                continue
            cols.append(col)
        side_rows += [([start + i for i in idx], cap) for idx, cap in _pool_rows(G, chained, m, cols[start:])]
        mine = conversions[conversions["manufacturer"] == m]
        for c in mine.itertuples(index=False):
            cols.append({"kind": "convert", "tail": nid(m, SINK),
                         "head": (m, "bank", c.state, c.group, "ZEV", int(c.last_use), int(c.model_year)),
                         "gain": float(c.tenths_per_vehicle), "upper": float(c.limit), "cost": float(c.cost),
                         "integer": True, "counted": False, "manufacturer": m, "state": c.state,
                         "model_year": int(c.model_year), "group": c.group, "weight_class": c.weight_class})
    if trades is not None:
        for t in trades.itertuples(index=False):
            for who, sign in ((t.seller, 1), (t.buyer, -1)):
                if who in manufacturers:
                    node = (who, "bank", t.state, t.group, t.credit_type, int(t.last_use), int(t.model_year))
                    node_demand[node] += sign * int(t.credits)
                    node_demand[nid(who, SINK)] -= sign * int(t.credits)
    if market and len(manufacturers) > 1:
        have = set(node_demand)
        for h in sorted({n[2:] for n in have if n[1] == "bank"}):
            hub = ("market",) + h
            node_demand[hub] = 0
            for m in manufacturers:
                b = (m, "bank") + h
                if b not in have:
                    continue
                base = {"gain": 1.0, "upper": np.inf, "cost": TRADE_TIEBREAK, "integer": False, "counted": False,
                        "state": h[0], "group": h[1], "model_year": h[4]}
                cols.append({**base, "kind": "trade", "tail": b, "head": hub, "manufacturer": m})
                cols.append({**base, "kind": "trade", "tail": hub, "head": b, "manufacturer": m, "cost": 0.0})
    columns = pd.DataFrame(cols)
    for k in ("state", "model_year", "group", "weight_class"):
        if k not in columns:
            columns[k] = None
    nodes = list(node_demand)
    return PlanModel(nodes=nodes, demand=np.array([node_demand[n] for n in nodes], dtype=float), columns=columns,
                     side_rows=[(np.array(c, dtype=np.int32), cap) for c, cap in side_rows])


def _pool_rows(G: nx.DiGraph, problem: ComplianceProblem, manufacturer: str,
               cols: list[dict]) -> list[tuple[list[int], float]]:
    """Pooling caps below 100 % (13 CCR §1963.3, 2025 amendments): pooled retirements into one state
    and model year, as positions in ``cols`` and the cap in tenths."""
    if not problem.pooling:
        return []
    gates = problem.gates[problem.gates["manufacturer"] == manufacturer]
    deficits = problem.deficits[problem.deficits["manufacturer"] == manufacturer]
    total = deficits.groupby(["state", "model_year"])["deficits"].sum().to_dict()
    pooled: dict[tuple, list[int]] = {}
    for i, c in enumerate(cols):
        u, v = c["tail"][1:], c["head"][1:]
        if c["kind"] == "flow" and u[0] == "import" and G.edges[u, v]["kind"] == "retire":
            pooled.setdefault((v[1], v[2]), []).append(i)
    return [(pooled[(r.state, int(r.model_year))], float(r.pool)) for r in gates.itertuples(index=False)
            if (r.state, int(r.model_year)) in pooled and int(r.pool) < int(total.get((r.state, int(r.model_year)), 0))]


@dataclass
class Solution:
    """Values of the columns (``x``), the cost in USD and, for the relaxed program, the duals."""

    x: np.ndarray
    cost: float
    unmet_floor: int
    node_duals: np.ndarray | None = None


def _highs() -> highspy.Highs:
    h = getattr(highspy, "_Highs", highspy.Highs)()  # the base class prints no banner
    h.setOptionValue("output_flag", False)
    return h


def _load(model: PlanModel, upper: np.ndarray, cost: np.ndarray, integer: bool,
          extra_rows: list[tuple[np.ndarray, float]]) -> highspy.Highs:
    A = model.matrix()
    rows = list(model.side_rows) + extra_rows
    if rows:
        side = sparse.csc_array((np.ones(sum(len(c) for c, _ in rows)),
                                 (np.concatenate([np.full(len(c), i) for i, (c, _) in enumerate(rows)]),
                                  np.concatenate([c for c, _ in rows]))), shape=(len(rows), A.shape[1]))
        A = sparse.vstack([A, side], format="csc")
    n = A.shape[1]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper)
    caps = np.array([cap for _, cap in rows])
    lp.row_lower_ = np.concatenate([model.demand, np.full(len(rows), -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([model.demand, caps])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    if integer and model.columns["integer"].any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in model.columns["integer"]]
    h = _highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # costs are whole dollars: stop within half a dollar of the bound
    h.passModel(lp)
    return h


def _run(h: highspy.Highs, what: str) -> np.ndarray:
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise ConservationError(f"HiGHS did not solve the plan ({what}): {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value)


def solve_model(model: PlanModel, integer: bool = True, duals: bool = False) -> Solution:
    """Fewest unmet deficits no lever can meet, then the least cost (see the module docstring).

    With ``integer=False`` the program is relaxed (fractional vehicles); with ``duals`` (relaxed
    only) the solution carries each node's dual: the change in cost (USD) per tenth more demand.
    """
    cols = model.columns
    upper = cols["upper"].to_numpy(dtype=float).copy()
    counted = cols["counted"].to_numpy(dtype=bool)
    cost = cols["cost"].to_numpy(dtype=float)
    extra: list[tuple[np.ndarray, float]] = []
    floor = 0
    covered = cols["kind"].eq("purchase").any()  # purchases can meet every deficit: nothing stays unmet
    if counted.any() and covered:
        upper[counted] = 0.0
    elif counted.any():
        x = _run(_load(model, upper, counted.astype(float), False, []), "deficits no lever meets, relaxed")
        if counted.astype(float) @ x > 1e-6:
            x = _run(_load(model, upper, counted.astype(float), integer, []), "deficits no lever meets")
            floor = int(np.ceil(counted.astype(float) @ x - 1e-6))
            extra = [(np.nonzero(counted)[0].astype(np.int32), float(floor))]
        else:
            upper[counted] = 0.0
    h = _load(model, upper, cost, integer, extra)
    x = _run(h, "least cost")
    node_duals = np.asarray(h.getSolution().row_dual)[:len(model.nodes)] if duals and not integer else None
    if integer:
        picked = cols["integer"].to_numpy(dtype=bool)
        xi = np.round(x[picked])
        if np.abs(x[picked] - xi).max(initial=0) > 1e-6:
            raise ConservationError("HiGHS returned a plan with fractional vehicles or tenths")
        x[picked] = xi
    return Solution(x=x, cost=float(cost @ x), unmet_floor=floor, node_duals=node_duals)
