"""Retirement in the regulation's order, year by year, never looking ahead ("earliest-expiring").

Each model year, each state's deficits are met from the manufacturer's credits held for that
state: carried deficits first (oldest first, ZEV credits only where the rule set says so), then the
year's own, step by step in :func:`~act_pool.solve.problem.retirement_steps` order, earliest-expiring
credits first within each step. With pooling, only then do other states' remaining (surplus)
credits meet what is still open. Credits whose life ends with the year expire.
"""
from __future__ import annotations

from dataclasses import dataclass

from act_pool.solve.problem import ComplianceProblem, Step

MOVEMENT_KEYS = ("manufacturer", "origin_manufacturer", "origin_state", "vintage", "origin_group", "credit_type",
                 "action", "state", "model_year", "group", "credits", "year", "rule", "lot")


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

    def order(self) -> tuple:
        return (self.last_use, self.vintage, self.origin_state, self.group, self.credit_type, self.lot)


def solve_earliest_expiring(problem: ComplianceProblem) -> list[dict]:
    """Movements (retire and expire) in the regulatory order; see the module docstring."""
    movements: list[dict] = []
    for manufacturer in problem.manufacturers:
        movements.extend(_solve_manufacturer(problem, manufacturer))
    return movements


def _solve_manufacturer(problem: ComplianceProblem, manufacturer: str) -> list[dict]:
    first = problem.years.start
    lots = [_Lot(int(r.lot), r.manufacturer, r.origin_manufacturer, r.origin_state, int(r.vintage), r.group,
                 r.credit_type, int(r.last_use), int(r.credits), int(r.available_from))
            for r in problem.usable_lots(manufacturer).itertuples(index=False)]
    lots.sort(key=_Lot.order)
    deficits = {(r.state, int(r.model_year), r.group): int(r.deficits)
                for r in problem.deficits[problem.deficits["manufacturer"] == manufacturer].itertuples(index=False)}
    gates = {(r.state, int(r.model_year)): {"nzev_nontractor": int(r.nzev_nontractor),
                                             "nzev_tractor": int(r.nzev_tractor), "low_volume": int(r.low_volume),
                                             "tractor_offset": int(r.tractor_offset), "pool": int(r.pool),
                                             "may_receive": bool(r.may_receive)}
             for r in problem.gates[problem.gates["manufacturer"] == manufacturer].itertuples(index=False)}
    states = sorted({s for s, _, _ in deficits} | {lot.origin_state for lot in lots})
    out: list[dict] = []
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
                _serve(problem, s, d, t, own, deficits, gates, out, zev_only=carried and problem.makeup_zev_only)
        if problem.pooling:
            for s in states:
                for d in range(t - m, t + 1):
                    g = gates.get((s, d))
                    if not g or not g["may_receive"] or s not in problem.pool_states:
                        continue
                    others = [lot for lot in lots if lot.origin_state != s and lot.origin_state in problem.pool_states]
                    _serve(problem, s, d, t, others, deficits, gates, out,
                           zev_only=d < t and problem.makeup_zev_only, pooled=True)
        for lot in lots:
            if lot.last_use == t and lot.remaining > 0:
                out.append(_expire(lot))
                lot.remaining = 0
    return out


def _serve(problem: ComplianceProblem, state: str, d: int, t: int, lots: list[_Lot], deficits: dict,
           gates: dict, out: list[dict], zev_only: bool, pooled: bool = False) -> None:
    """Meet the open deficits of ``state`` and model year ``d`` in year ``t`` from ``lots``."""
    gate = gates.get((state, d))
    if gate is None:
        return
    for step in problem.steps:
        if zev_only and step.credit_type != "ZEV":
            continue
        for group in step.target_groups:
            key = (state, d, group)
            while deficits.get(key, 0) > 0:
                lot = _first_lot(lots, step, t)
                room = min(deficits[key], gate[step.gate] if step.gate else deficits[key],
                           gate["pool"] if pooled else deficits[key])
                if lot is None or room <= 0:
                    break
                take = min(room, lot.remaining)
                lot.remaining -= take
                deficits[key] -= take
                if step.gate:
                    gate[step.gate] -= take
                if pooled:
                    gate["pool"] -= take
                out.append(_retire(lot, state, d, group, take, t, step))


def _first_lot(lots: list[_Lot], step: Step, t: int) -> _Lot | None:
    for lot in lots:  # sorted earliest expiring first
        if (lot.remaining > 0 and lot.credit_type == step.credit_type and lot.group in step.source_groups
                and lot.available_from <= t <= lot.last_use):
            return lot
    return None


def _retire(lot: _Lot, state: str, model_year: int, group: str, credits: int, year: int, step: Step) -> dict:
    return {"manufacturer": lot.manufacturer, "origin_manufacturer": lot.origin_manufacturer,
            "origin_state": lot.origin_state, "vintage": lot.vintage, "origin_group": lot.group,
            "credit_type": lot.credit_type, "action": "retire", "state": state, "model_year": model_year,
            "group": group, "credits": credits, "year": year, "rule": step.name, "lot": lot.lot}


def _expire(lot: _Lot) -> dict:
    return {"manufacturer": lot.manufacturer, "origin_manufacturer": lot.origin_manufacturer,
            "origin_state": lot.origin_state, "vintage": lot.vintage, "origin_group": lot.group,
            "credit_type": lot.credit_type, "action": "expire", "state": lot.origin_state,
            "model_year": lot.last_use, "group": lot.group, "credits": lot.remaining, "year": lot.last_use,
            "rule": "credit-life", "lot": lot.lot}
