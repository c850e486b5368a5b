"""The purchase option: credits bought at a stated price to cover what a plan leaves unmet."""
from __future__ import annotations

import pandas as pd

from act_pool.scenario import Scenario

MARKET = "market"


def purchase_movements(scenario: Scenario, compliance: pd.DataFrame) -> list[dict]:
    """One retirement of purchased ZEV credits per row left unmet, for the manufacturers allowed to buy.

    Purchased credits come from outside the scenario (``origin_manufacturer`` = ``market``), are of
    the deficit's own state, group and model year, and are retired in that model year.
    """
    if scenario.purchase_price is None:
        return []
    rows = compliance[compliance["unmet"] > 0]
    if scenario.purchase_manufacturers is not None:
        rows = rows[rows["manufacturer"].isin(scenario.purchase_manufacturers)]
    return [{"manufacturer": r.manufacturer, "origin_manufacturer": MARKET, "origin_state": r.state,
             "vintage": int(r.model_year), "origin_group": r.group, "credit_type": "ZEV", "action": "retire",
             "state": r.state, "model_year": int(r.model_year), "group": r.group, "credits": int(r.unmet),
             "deficit_met": int(r.unmet),
             "year": int(r.model_year), "rule": "purchase", "lot": -1}
            for r in rows.itertuples(index=False)]
