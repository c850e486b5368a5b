"""Retirement year by year, never looking ahead: the regulation's order ("earliest-expiring") or
an explicit order of preferences.

Each model year, each state's deficits are met from the manufacturer's credits held for that
state: carried deficits first (oldest first, ZEV credits only where the rule set says so), then the
year's own, step by step in :func:`~act_pool.solve.problem.retirement_steps` order, earliest-expiring
credits first within each step. With pooling, only then do other states' remaining (surplus)
credits meet what is still open (credits of states whose gate row allows it that year, ``may_send``). Credits whose life ends with the year expire.

Under a pooling exchange ratio r other than 1 (rule ``pooling.exchange_ratio``), the pooled credits a
deficit row takes by one route (:func:`pooled_route`) are converted together: after C tenths, c
more meet floor(r x (C + c)) - floor(r x C) (:func:`~act_pool.rules.clauses.pooled_deficit_met`).
A pooled lot meeting n tenths still open takes the fewest credits that meet n (all it holds if
fewer); the rule gates and the pooling cap count the deficit met. A lot too small to meet a tenth
more is passed over, and with r = 0 nothing is pooled.

An explicit order (2025 amendments) re-sorts the steps (``nzev-first`` or ``zev-first``;
``own-group-first`` or ``cross-group-first``) and the credits within a step
(``earliest-expiring-first``, ``oldest-first`` or ``newest-first``); the rule gates stay.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from act_pool.rules.clauses import pooled_credits_needed, pooled_deficit_met
from act_pool.solve.problem import ComplianceProblem, Step

MOVEMENT_KEYS = ("manufacturer", "origin_manufacturer", "origin_state", "vintage", "origin_group", "credit_type",
                 "action", "state", "model_year", "group", "credits", "deficit_met", "year", "rule", "lot")


@dataclass
class _Lot:
    lot: int
    manufacturer: str
    origin_manufacturer: str
    origin_state: str
    vintage: int
    group: str
    credit_type: str
    last_use: int
    remaining: int
    available_from: int

    def order(self, age: str) -> tuple:
        """Sort key of the lot within a step for the ``age`` preference."""
        if age == "oldest-first":
            head: tuple = (self.vintage, self.last_use)
        elif age == "newest-first":
            head = (-self.vintage, self.last_use)
        else:
            head = (self.last_use, self.vintage)
        return head + (self.origin_state, self.group, self.credit_type, self.lot)


#: The regulation's order (act-2021; the default of "earliest-expiring").
REGULATORY_ORDER = ("nzev-first", "own-group-first", "earliest-expiring-first")


def ordered_steps(steps: list[Step], preferences: tuple[str, ...]) -> list[Step]:
    """The retirement steps re-sorted for an explicit order (stable: ties keep the regulatory order)."""
    type_rank = {"NZEV": 0, "ZEV": 1} if "zev-first" not in preferences else {"ZEV": 0, "NZEV": 1}

    def cross(step: Step) -> bool:
        return ("tractor" in step.source_groups) != ("tractor" in step.target_groups)

    def key(step: Step) -> tuple:
        group_rank = (not cross(step)) if "cross-group-first" in preferences else cross(step)
        return (type_rank[step.credit_type] if {"nzev-first", "zev-first"} & set(preferences) else 0, group_rank)

    if not {"nzev-first", "zev-first", "own-group-first", "cross-group-first"} & set(preferences):
        return list(steps)
    return sorted(steps, key=key)


def solve_sequential(problem: ComplianceProblem, preferences: tuple[str, ...] = REGULATORY_ORDER) -> list[dict]:
    """Movements (retire and expire) year by year in the given order; see the module docstring."""
    movements: list[dict] = []
    steps = problem.steps if preferences == REGULATORY_ORDER else ordered_steps(problem.steps, preferences)
    age = next((p for p in preferences if p in ("earliest-expiring-first", "oldest-first", "newest-first")),
               "earliest-expiring-first")
    for manufacturer in problem.manufacturers:
        movements.extend(_solve_manufacturer(problem, manufacturer, steps, age))
    return movements


def _solve_manufacturer(problem: ComplianceProblem, manufacturer: str, steps: list[Step], age: str) -> list[dict]:
    first = problem.years.start
    lots = [_Lot(int(r.lot), r.manufacturer, r.origin_manufacturer, r.origin_state, int(r.vintage), r.group,
                 r.credit_type, int(r.last_use), int(r.credits), int(r.available_from))
            for r in problem.usable_lots(manufacturer).itertuples(index=False)]
    lots.sort(key=lambda lot: lot.order(age))
    deficits = {(r.state, int(r.model_year), r.group): int(r.deficits)
                for r in problem.deficits[problem.deficits["manufacturer"] == manufacturer].itertuples(index=False)}
    gates = {(r.state, int(r.model_year)): {"nzev_nontractor": int(r.nzev_nontractor),
                                             "nzev_tractor": int(r.nzev_tractor), "low_volume": int(r.low_volume),
                                             "tractor_offset": int(r.tractor_offset), "pool": int(r.pool),
                                             "may_receive": bool(r.may_receive), "may_send": bool(r.may_send)}
             for r in problem.gates[problem.gates["manufacturer"] == manufacturer].itertuples(index=False)}
    states = sorted({s for s, _, _ in deficits} | {lot.origin_state for lot in lots})
    out: list[dict] = []
    pooled_in: dict[tuple, int] = {}  # pooled credits so far per deficit row and route
    for lot in lots:  # opening balances already past their life
        if lot.last_use < first:
            out.append(_expire(lot))
            lot.remaining = 0
    m = problem.makeup_years
    for t in problem.years:
        for s in states:
            own = [lot for lot in lots if lot.origin_state == s]
            for d in range(t - m, t + 1):
                carried = d < t
                _serve(steps, s, d, t, own, deficits, gates, out, zev_only=carried and problem.makeup_zev_only)
        if problem.pooling and problem.exchange_ratio > 0:
            for s in states:
                for d in range(t - m, t + 1):
                    g = gates.get((s, d))
                    if not g or not g["may_receive"] or s not in problem.pool_states:
                        continue
                    others = [lot for lot in lots if lot.origin_state != s and lot.origin_state in problem.pool_states
                              and gates.get((lot.origin_state, t), {}).get("may_send", False)]
                    _serve(steps, s, d, t, others, deficits, gates, out,
                           zev_only=d < t and problem.makeup_zev_only, ratio=problem.exchange_ratio,
                           pooled_in=pooled_in)
        for lot in lots:
            if lot.last_use == t and lot.remaining > 0:
                out.append(_expire(lot))
                lot.remaining = 0
    return out


def pooled_route(gate: str | None) -> str:
    """The route class within which a deficit row's pooled credits are converted together: the
    rule gate they pass (the low-volume flexibility and the tractor offset as one), '' for none."""
    return "tractor-flexibility" if gate in ("low_volume", "tractor_offset") else (gate or "")


def _serve(steps: list[Step], state: str, d: int, t: int, lots: list[_Lot], deficits: dict,
           gates: dict, out: list[dict], zev_only: bool, ratio: Fraction | None = None,
           pooled_in: dict | None = None) -> None:
    """Meet the open deficits of ``state`` and model year ``d`` in year ``t`` from ``lots``; pooled
    credits (``ratio``: the exchange ratio, > 0; ``pooled_in``: credits pooled so far per deficit
    row and route) as the module docstring says."""
    gate = gates.get((state, d))
    if gate is None:
        return
    pooled = ratio is not None
    pooled_in = {} if pooled_in is None else pooled_in
    for step in steps:
        if zev_only and step.credit_type != "ZEV":
            continue
        for group in step.target_groups:
            key = (state, d, group)
            route = key + (pooled_route(step.gate),)
            while deficits.get(key, 0) > 0:
                before = pooled_in.get(route, 0)
                least = pooled_credits_needed(ratio, 1, before) if pooled and ratio != 1 else 1  # a tenth more
                lot = _first_lot(lots, step, t, least)
                room = min(deficits[key], gate[step.gate] if step.gate else deficits[key],
                           gate["pool"] if pooled else deficits[key])
                if lot is None or room <= 0:
                    break
                if pooled and ratio != 1:
                    take = min(pooled_credits_needed(ratio, room, before), lot.remaining)
                    met = min(room, pooled_deficit_met(ratio, take, before))
                    pooled_in[route] = before + take
                else:
                    take = met = min(room, lot.remaining)
                lot.remaining -= take
                deficits[key] -= met
                if step.gate:
                    gate[step.gate] -= met
                if pooled:
                    gate["pool"] -= met
                out.append(_retire(lot, state, d, group, take, met, t, step))


def _first_lot(lots: list[_Lot], step: Step, t: int, least: int = 1) -> _Lot | None:
    """The first lot (in the order of ``lots``) that the step may retire in year ``t`` and that holds
    at least ``least`` tenths."""
    for lot in lots:  # sorted earliest expiring first
        if (lot.remaining >= least and lot.credit_type == step.credit_type and lot.group in step.source_groups
                and lot.available_from <= t <= lot.last_use):
            return lot
    return None


def _retire(lot: _Lot, state: str, model_year: int, group: str, credits: int, met: int, year: int,
            step: Step) -> dict:
    return {"manufacturer": lot.manufacturer, "origin_manufacturer": lot.origin_manufacturer,
            "origin_state": lot.origin_state, "vintage": lot.vintage, "origin_group": lot.group,
            "credit_type": lot.credit_type, "action": "retire", "state": state, "model_year": model_year,
            "group": group, "credits": credits, "deficit_met": met, "year": year, "rule": step.name,
            "lot": lot.lot}


def _expire(lot: _Lot) -> dict:
    return {"manufacturer": lot.manufacturer, "origin_manufacturer": lot.origin_manufacturer,
            "origin_state": lot.origin_state, "vintage": lot.vintage, "origin_group": lot.group,
            "credit_type": lot.credit_type, "action": "expire", "state": lot.origin_state,
            "model_year": lot.last_use, "group": lot.group, "credits": lot.remaining, "deficit_met": 0,
            "year": lot.last_use,
            "rule": "credit-life", "lot": lot.lot}
