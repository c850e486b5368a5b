"""summary.json: the run's settings, totals and every assumption in force."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from act_pool import __version__
from act_pool.joins import key_sums
from act_pool.rules.model import Parameter
from act_pool.tenths import format_tenths

if TYPE_CHECKING:
    from act_pool.run import Result


def _json_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    return str(v)  # Decimal: exact text


def parameter_record(p: Parameter) -> dict:
    """A parameter as JSON: value (or schedule), unit, confidence, source and note."""
    rec: dict[str, Any] = {}
    if p.by_year is None:
        rec["value"] = _json_value(p.value)
    else:
        rec["by_year"] = {str(y): _json_value(v) for y, v in sorted(p.by_year.items())}
    rec.update(unit=p.unit, confidence=p.confidence, source=p.source)
    if p.note:
        rec["note"] = p.note
    return rec


def _credits(tenths: int) -> float:
    return float(format_tenths(int(tenths)))


def build_summary(result: "Result") -> dict:
    """Scenario name, rule set, retirement mode, totals (credits) and assumptions."""
    sc = result.scenario
    comp, led = result.compliance, result.ledger
    column = {c: comp[c].to_numpy(dtype=np.int64) for c in ("vehicles", "deficits", "zev_credits", "nzev_credits",
                                                                "met", "unmet", "met_by_purchase")}
    status = comp["status"].to_numpy(dtype=object)
    short, open_ = status == "short", status == "open"
    action = led["action"].to_numpy(dtype=object)
    retired = action == "retire"
    credits = led["credits"].to_numpy(dtype=np.int64)

    def total(values: np.ndarray, where: np.ndarray | None = None) -> int:
        return int(values.sum() if where is None else values[where].sum())

    totals = {
        "vehicles": total(column["vehicles"]),
        "deficits": _credits(total(column["deficits"])),
        "zev_credits_generated": _credits(total(column["zev_credits"])),
        "nzev_credits_generated": _credits(total(column["nzev_credits"])),
        "opening_bank": _credits(result.conservation["opening"].sum()),
        "retired": _credits(total(credits, retired)),
        "retired_pooled": _credits(total(credits, retired & led["pooled"].to_numpy(dtype=bool))),
        "retired_tractor_offset": _credits(total(credits, retired & led["tractor_offset"].to_numpy(dtype=bool))),
        "expired": _credits(total(credits, action == "expire")),
        "met": _credits(total(column["met"])),
        "unmet": _credits(total(column["unmet"])),
        "unmet_short": _credits(total(column["unmet"], short)),
        "unmet_open": _credits(total(column["unmet"], open_)),
        "closing_bank": _credits(result.conservation["closing"].sum()),
        "purchased": _credits(total(column["met_by_purchase"])),
        "purchase_cost_usd": (float(sc.purchase_price * total(column["met_by_purchase"]) / 10)
                              if sc.purchase_price is not None else None),
        "traded": _credits(total(credits, action == "transfer")),
        "rows_short": int(short.sum()),
        "rows_open": int(open_.sum()),
    }
    state_of_row, states = pd.factorize(comp["state"], sort=True)
    by_state_sums = {name: key_sums(state_of_row, len(states), values) for name, values in (
        ("deficits", column["deficits"]), ("met", column["met"]), ("unmet", column["unmet"]),
        ("unmet_short", np.where(short, column["unmet"], 0)))}
    by_state = {state: {name: _credits(sums[i]) for name, sums in by_state_sums.items()}
                for i, state in enumerate(states.tolist())}
    unmet = column["unmet"] > 0
    reason_of_row, reasons = pd.factorize(comp["reason"].to_numpy(dtype=object)[unmet], sort=True)
    given = reason_of_row >= 0  # a row without a reason (missing: -1) is left out
    why = {reason: _credits(amount) for reason, amount in zip(
        reasons.tolist(), key_sums(reason_of_row[given], len(reasons), column["unmet"][unmet][given]).tolist())}
    return {
        "act_pool_version": __version__,
        "scenario": sc.name,
        "rules": sc.rules.id,
        "retirement": sc.retirement,
        "pooling": sc.pooling,
        "model_years": list(sc.model_years),
        "states": list(sc.states),
        "manufacturers": sorted(comp["manufacturer"].unique()),
        "units": "credits (exact to the tenth)",
        "totals": totals,
        "by_state": by_state,
        "unmet_by_reason": why,
        "overrides": sorted(sc.rules.overridden),
        "assumptions": {name: parameter_record(p) for name, p in sc.rules.assumptions().items()
                        if not name.startswith("states.") or name.split(".")[1] in sc.states},
    }
