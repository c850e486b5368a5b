"""What a credit is worth: the marginal cost of one more credit of deficit, from LP duals.

In the relaxed plan (fractional vehicles), one tenth more deficit raises the demand of its deficit
node by one and the supply of the manufacturer's ``unmet`` node by one (the network draws every
deficit's possible shortfall from there). The change in the least cost is the difference of the two
nodes' duals (node potentials are defined up to a constant, so only differences mean anything), as
long as the optimal basis stays. Times ten it is the value of one credit to that manufacturer for
that state, model year and group: what the cheapest lever left at the margin (a conversion, a
purchase, or credits moved from elsewhere) costs per credit.
"""
from __future__ import annotations

import pandas as pd

from act_pool.plan.model import PlanModel, Solution
from act_pool.solve.network import UNMET

VALUE_COLUMNS = ["manufacturer", "state", "model_year", "group", "usd_per_credit"]


def credit_values(model: PlanModel, relaxed: Solution) -> pd.DataFrame:
    """One row per deficit of the model: ``usd_per_credit``, the marginal cost of one more credit of
    deficit, rounded to the cent (HiGHS's duals are floating point)."""
    if relaxed.node_duals is None:
        raise ValueError("credit values need the duals of the relaxed plan (solve_model(integer=False, duals=True))")
    duals = dict(zip(model.nodes, relaxed.node_duals))
    rows = []
    for n, dual in duals.items():
        if len(n) == 5 and n[1] == "deficit":
            marginal = float(dual) - float(duals[(n[0],) + UNMET])
            rows.append((n[0], n[2], int(n[3]), n[4], round(marginal * 10, 2) + 0.0))
    out = pd.DataFrame(rows, columns=VALUE_COLUMNS)
    return out.sort_values(VALUE_COLUMNS[:4], kind="stable").reset_index(drop=True)

