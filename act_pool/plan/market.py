"""Market mode: the trades between the scenario's manufacturers that the least-cost plan makes.

In market mode every manufacturer's credit network is solved in one program, with a market hub per
expiry class (origin state, group, credit type, last model year of use) and model year through
which a manufacturer's banked credits may move into another's bank (13 CCR §1963.2(e): credits are
transferable). Payments between manufacturers at ``credit_price`` cancel in the total cost, so the
market trades wherever a credit one maker holds is cheaper than a conversion or a purchase by
another: the credits that would expire unused at one maker cover another's shortfall first.

The joint program is solved relaxed (a linear program: fractional vehicles); its trades are taken
in whole tenths, rounded down, and each manufacturer's own mixed-integer plan is then solved with
those trades fixed (:func:`act_pool.plan.model.build_model`'s ``trades``). The joint program of a
large scenario is big (the bundled default scenario: about 85,000 nodes and 300,000 arcs).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from act_pool.plan.model import PlanModel

TRADE_COLUMNS = ["seller", "buyer", "state", "group", "credit_type", "last_use", "model_year", "credits"]


def market_trades(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """Trades as rows (``credits`` in integer tenths) from the joint program's solution ``x``: at each
    hub, the sellers' credits are matched to the buyers' in name order (a hub's credits are
    interchangeable, so any matching is exact)."""
    cols = model.columns
    is_trade = (cols["kind"] == "trade").to_numpy()
    by_hub: dict[tuple, tuple[list, list]] = {}
    for c, flow in zip(cols[is_trade].itertuples(index=False), x[is_trade]):
        amount = int(flow + 1e-6)  # whole tenths, rounded down: a seller never sells more than it holds
        if amount <= 0:
            continue
        selling = c.head[0] == "market"
        hub = c.head if selling else c.tail
        by_hub.setdefault(hub, ([], []))[0 if selling else 1].append([c.manufacturer, amount])
    rows = []
    for hub in sorted(by_hub):
        sells, buys = (sorted(side) for side in by_hub[hub])
        _, state, group, ctype, last_use, year = hub
        for buyer, need in buys:
            for sale in sells:
                take = min(need, sale[1])
                if take <= 0 or sale[0] == buyer:
                    continue
                rows.append((sale[0], buyer, state, group, ctype, int(last_use), int(year), take))
                sale[1] -= take
                need -= take
    return pd.DataFrame(rows, columns=TRADE_COLUMNS).groupby(TRADE_COLUMNS[:-1], as_index=False, sort=True)["credits"].sum()


def expiring_covered(trades: pd.DataFrame, baseline_ledger: pd.DataFrame) -> pd.DataFrame:
    """Per seller and expiry class, the credits traded and how many of them expire unused at the
    seller in the scenario's own run (without the plan): those that cover another's shortfall
    instead of lapsing. Amounts in integer tenths."""
    exp = baseline_ledger[baseline_ledger["action"] == "expire"]
    expired = exp.groupby(["manufacturer", "origin_state", "origin_group", "credit_type", "model_year"])[
        "credits"].sum()
    sold = trades.groupby(["seller", "state", "group", "credit_type", "last_use"], as_index=False)["credits"].sum()
    sold["expiring_unused"] = [int(expired.get((r.seller, r.state, r.group, r.credit_type, r.last_use), 0))
                               for r in sold.itertuples(index=False)]
    sold["covered_from_expiring"] = np.minimum(sold["credits"], sold["expiring_unused"]).astype("int64")
    return sold.rename(columns={"credits": "traded"})
