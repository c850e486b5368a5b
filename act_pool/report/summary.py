"""summary.json: the run's settings, totals and every assumption in force."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from act_pool import __version__
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
    ret = led[led["action"] == "retire"]
    totals = {
        "vehicles": int(comp["vehicles"].sum()),
        "deficits": _credits(comp["deficits"].sum()),
        "zev_credits_generated": _credits(comp["zev_credits"].sum()),
        "nzev_credits_generated": _credits(comp["nzev_credits"].sum()),
        "opening_bank": _credits(result.conservation["opening"].sum()),
        "retired": _credits(ret["credits"].sum()),
        "retired_pooled": _credits(ret.loc[ret["pooled"], "credits"].sum()),
        "retired_tractor_offset": _credits(ret.loc[ret["tractor_offset"], "credits"].sum()),
        "expired": _credits(led.loc[led["action"] == "expire", "credits"].sum()),
        "met": _credits(comp["met"].sum()),
        "unmet": _credits(comp["unmet"].sum()),
        "unmet_short": _credits(comp.loc[comp["status"] == "short", "unmet"].sum()),
        "unmet_open": _credits(comp.loc[comp["status"] == "open", "unmet"].sum()),
        "closing_bank": _credits(result.conservation["closing"].sum()),
        "purchased": _credits(comp["met_by_purchase"].sum()),
        "purchase_cost_usd": (float(sc.purchase_price * int(comp["met_by_purchase"].sum()) / 10)
                              if sc.purchase_price is not None else None),
        "traded": _credits(led.loc[led["action"] == "transfer", "credits"].sum()),
        "rows_short": int((comp["status"] == "short").sum()),
        "rows_open": int((comp["status"] == "open").sum()),
    }
    by_state = {}
    for state, rows in comp.groupby("state", sort=True):
        by_state[state] = {"deficits": _credits(rows["deficits"].sum()), "met": _credits(rows["met"].sum()),
                           "unmet": _credits(rows["unmet"].sum()),
                           "unmet_short": _credits(rows.loc[rows["status"] == "short", "unmet"].sum())}
    short = comp[comp["unmet"] > 0]
    why = {reason: _credits(rows["unmet"].sum()) for reason, rows in short.groupby("reason", sort=True)}
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
