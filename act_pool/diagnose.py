"""Why short: for every deficit left unmet, the rule that bound.

Checked in this order, the first that holds is reported (``reason`` in compliance.csv):

1. ``NZEV cap``: NZEV credits the row could use were left in the state's bank at the end of its
   model year, and the 50 % NZEV cap of that model year was used up (13 CCR §1963.3(d)).
2. ``make-up is ZEV only``: NZEV credits were left, but carried deficits take ZEV credits only (§1963.3(b)).
3. ``tractor offset used up``: a tractor deficit, Class 2b-3/4-8 ZEV credits left, the offset portion
   of the model year used up (2025 amendments).
4. ``tractor group limit``: a tractor deficit, non-tractor credits left that tractor deficits may not use
   (low-volume flexibility unavailable or used up, §1963.3(c)(3)).
5. ``state not in the pool``: other ACT states held the manufacturer's credits at the end of the model
   year, but pooling was off, not allowed, not open to this state and model year, not open out of the
   states holding them (``pooling.require_origin_in_force``), or pooled credits meet nothing (a pooling
   exchange ratio of 0).
6. ``credits kept for other deficits``: credits this row could use were still banked at the end of its
   model year (here or, with pooling, in another state), but meeting it would have left at least as
   much unmet elsewhere (the optimum keeps them; an optimal-mode reason).
7. ``credits expired``: credits of the manufacturer in this state expired between the year before the
   deficit and the end of its make-up period (§1963.2(g)).
8. ``make-up window closed``: credits came, but only after the make-up period ended.
9. ``no credits held``: none of the above: the manufacturer had no credits to meet it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from act_pool.rules import clauses
from act_pool.solve.problem import ComplianceProblem

REASONS = ("NZEV cap", "make-up is ZEV only", "tractor offset used up", "tractor group limit",
           "state not in the pool", "credits kept for other deficits", "credits expired", "make-up window closed",
           "no credits held")
KEY = ["manufacturer", "state", "model_year"]


def why_short(compliance: pd.DataFrame, ledger: pd.DataFrame, balances: pd.DataFrame,
              problem: ComplianceProblem, rules) -> pd.Series:
    """The reason for each row's unmet deficits ('' where nothing is unmet), aligned with ``compliance``.

    Every condition is a column over all unmet rows at once (the bank, the gates used and the expiries
    joined by manufacturer, state and model year); the first that holds, in the order above, is the reason.
    """
    reasons = pd.Series("", index=compliance.index, dtype=object)
    rows = compliance.loc[compliance["unmet"] > 0, KEY + ["group", "status"]]
    if rows.empty:
        return reasons
    last = problem.years.stop - 1
    rows = rows.assign(end=np.minimum(rows["model_year"] + problem.makeup_years, last))
    tractor = (rows["group"] == "tractor").to_numpy()
    bank = _bank_by_kind(balances)
    here = _lookup(rows, bank, KEY)
    at_end = _lookup(rows.assign(model_year=rows["end"]), bank, KEY)
    gates = problem.gates[KEY + ["nzev_nontractor", "nzev_tractor", "tractor_offset", "may_receive"]]
    gate = _lookup(rows, gates.assign(gated=True), KEY, fill={"may_receive": False, "gated": False})
    used = _lookup(rows, _gates_used(ledger), KEY)

    def kind(table: pd.DataFrame, ctype: str) -> np.ndarray:
        """Credits of ``ctype`` left that the row's group could use (tractor rows: tractor credits only)."""
        return np.where(tractor, table[f"{ctype}_tractor"], table[f"{ctype}_tractor"] + table[f"{ctype}_nontractor"])

    nzev_left = kind(here, "NZEV") > 0
    nontractor_zev_left = here["ZEV_nontractor"].to_numpy() > 0
    gated, may_receive = gate["gated"].to_numpy(), gate["may_receive"].to_numpy(dtype=bool)
    nzev_used = np.where(tractor, used["nzev_tractor"], used["nzev_nontractor"])
    nzev_cap = np.where(tractor, gate["nzev_tractor"], gate["nzev_nontractor"])
    offset = gate["tractor_offset"].to_numpy()
    usable_here = kind(here, "ZEV") > 0
    states = sorted(problem.gates["state"].unique())
    elsewhere = _usable_elsewhere(rows, bank, usable_here, tractor, states)
    senders = problem.gates.loc[problem.gates["may_send"], ["state", "model_year"]].drop_duplicates()
    elsewhere_in_pool = _usable_elsewhere(rows, bank, usable_here, tractor,
                                          [s for s in states if s in problem.pool_states], senders)
    elsewhere_in_pool &= problem.exchange_ratio > 0
    conditions = [
        nzev_left & gated & (nzev_used >= nzev_cap),
        nzev_left | (kind(at_end, "NZEV") > 0),
        tractor & nontractor_zev_left & gated & (offset > 0) & (used["tractor_offset"].to_numpy() >= offset),
        tractor & (nontractor_zev_left | (here["NZEV_nontractor"].to_numpy() > 0)),
        elsewhere & ~(gated & may_receive & elsewhere_in_pool),
        usable_here | (gated & may_receive & elsewhere_in_pool),
        _expired_in_window(rows, ledger),
        (rows["status"] == "short").to_numpy() & _credits_after_window(rows, problem),
    ]
    reasons.loc[rows.index] = np.select(conditions, REASONS[:-1], default=REASONS[-1]).astype(object)
    return reasons


def _lookup(rows: pd.DataFrame, table: pd.DataFrame, on: list[str], fill: dict | None = None) -> pd.DataFrame:
    """``table``'s other columns for each of ``rows``, in their order (matched on ``on``; unmatched: 0 or
    ``fill``), with ``table``'s dtypes."""
    values = rows[on].merge(table, on=on, how="left").drop(columns=on)
    fill = {c: (fill or {}).get(c, 0) for c in values.columns}
    return values.fillna(fill).infer_objects().astype(table.dtypes[values.columns].to_dict())


def _masked_sums(frame: pd.DataFrame, masks: dict[str, np.ndarray], amount: str = "credits") -> pd.DataFrame:
    """Column ``amount`` of ``frame`` summed per manufacturer, state and model year, one column per
    mask (the amounts of the rows where it holds)."""
    credits = frame[amount].to_numpy(np.int64)
    sums = pd.DataFrame({name: np.where(mask, credits, 0) for name, mask in masks.items()}, index=frame.index)
    return sums.groupby([frame[k] for k in KEY]).sum().astype("int64").reset_index()


def _bank_by_kind(balances: pd.DataFrame) -> pd.DataFrame:
    """Credits left per manufacturer, state and model year, as ``{ZEV,NZEV}_{tractor,nontractor}``."""
    tractor = (balances["group"] == "tractor").to_numpy()
    masks = {}
    for ctype in clauses.CREDIT_TYPES:
        of_type = (balances["credit_type"] == ctype).to_numpy()
        masks[f"{ctype}_tractor"], masks[f"{ctype}_nontractor"] = of_type & tractor, of_type & ~tractor
    return _masked_sums(balances, masks)


def _gates_used(ledger: pd.DataFrame) -> pd.DataFrame:
    """Deficit met (the ledger's ``deficit_met``, which the gates count) through each capped rule gate per
    manufacturer, state and model year of the deficit."""
    ret = ledger[ledger["action"] == "retire"]
    nzev, rule = (ret["credit_type"] == "NZEV").to_numpy(), ret["rule"]
    return _masked_sums(ret, {
        "nzev_nontractor": nzev & rule.isin(["nzev", "tractor-nzev-to-nontractor"]).to_numpy(),
        "nzev_tractor": nzev & (rule == "tractor-nzev").to_numpy(),
        "tractor_offset": (ret["credit_type"] == "ZEV").to_numpy() & (rule == "tractor-offset").to_numpy()},
        amount="deficit_met")


def _usable_elsewhere(rows: pd.DataFrame, bank: pd.DataFrame, usable_here: np.ndarray, tractor: np.ndarray,
                      states: list[str], senders: pd.DataFrame | None = None) -> np.ndarray:
    """Whether ZEV credits the row could use (tractor rows: tractor credits only) were left at the end of
    its model year in one of ``states`` other than its own: the states holding them, less its own.
    With ``senders`` (state, model_year pairs), only holdings in a state that may pool out that year count."""
    listed = bank["state"].isin(states)
    if senders is not None:
        listed &= bank[["state", "model_year"]].merge(senders, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    holding = pd.DataFrame({
        "manufacturer": bank["manufacturer"], "model_year": bank["model_year"],
        "any_states": (listed & (bank["ZEV_tractor"] + bank["ZEV_nontractor"] > 0)).astype("int64"),
        "tractor_states": (listed & (bank["ZEV_tractor"] > 0)).astype("int64"),
    }).groupby(["manufacturer", "model_year"], as_index=False)[["any_states", "tractor_states"]].sum()
    everywhere = _lookup(rows, holding, ["manufacturer", "model_year"])
    own = rows["state"].isin(states).to_numpy() & usable_here
    return np.where(tractor, everywhere["tractor_states"], everywhere["any_states"]) - own > 0


def _expired_in_window(rows: pd.DataFrame, ledger: pd.DataFrame) -> np.ndarray:
    """Whether credits of the manufacturer in the row's state expired from the year before the deficit
    through the end of its make-up period (§1963.2(g))."""
    expired = ledger.loc[ledger["action"] == "expire", KEY].drop_duplicates().rename(columns={"model_year": "expired"})
    pairs = rows[KEY + ["end"]].reset_index(names="row").merge(expired, on=["manufacturer", "state"])
    hit = pairs.loc[(pairs["expired"] >= pairs["model_year"] - 1) & (pairs["expired"] <= pairs["end"]), "row"]
    return rows.index.isin(hit)


def _credits_after_window(rows: pd.DataFrame, problem: ComplianceProblem) -> np.ndarray:
    """Whether the manufacturer's credits in the row's state kept coming after its make-up period ended."""
    latest = problem.lots.groupby(["manufacturer", "origin_state"])["available_from"].max()
    latest = latest.rename("latest").reset_index().rename(columns={"origin_state": "state"})
    found = _lookup(rows, latest, ["manufacturer", "state"], fill={"latest": -1})["latest"].to_numpy()
    return found > rows["end"].to_numpy()
