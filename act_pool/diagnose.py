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

from act_pool.joins import key_sums, lookup, row_keys
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
    here = lookup(rows, bank, KEY)
    at_end = lookup(rows.assign(model_year=rows["end"]), bank, KEY)
    gates = problem.gates[KEY + ["nzev_nontractor", "nzev_tractor", "tractor_offset", "may_receive"]]
    gate = lookup(rows, gates.assign(gated=True), KEY, fill={"may_receive": False, "gated": False})
    used = _gates_used(rows, ledger)

    def kind(table: dict[str, np.ndarray], ctype: str) -> np.ndarray:
        """Credits of ``ctype`` left that the row's group could use (tractor rows: tractor credits only)."""
        return np.where(tractor, table[f"{ctype}_tractor"], table[f"{ctype}_tractor"] + table[f"{ctype}_nontractor"])

    nzev_left = kind(here, "NZEV") > 0
    nontractor_zev_left = here["ZEV_nontractor"] > 0
    gated, may_receive = gate["gated"], gate["may_receive"]
    nzev_used = np.where(tractor, used["nzev_tractor"], used["nzev_nontractor"])
    nzev_cap = np.where(tractor, gate["nzev_tractor"], gate["nzev_nontractor"])
    offset = gate["tractor_offset"]
    usable_here = kind(here, "ZEV") > 0
    states = sorted(problem.gates["state"].unique())
    elsewhere = _usable_elsewhere(rows, bank, usable_here, tractor, states)
    senders = problem.gates.loc[problem.gates["may_send"], ["state", "model_year"]]
    elsewhere_in_pool = _usable_elsewhere(rows, bank, usable_here, tractor,
                                          [s for s in states if s in problem.pool_states], senders)
    elsewhere_in_pool &= problem.exchange_ratio > 0
    conditions = [
        nzev_left & gated & (nzev_used >= nzev_cap),
        nzev_left | (kind(at_end, "NZEV") > 0),
        tractor & nontractor_zev_left & gated & (offset > 0) & (used["tractor_offset"] >= offset),
        tractor & (nontractor_zev_left | (here["NZEV_nontractor"] > 0)),
        elsewhere & ~(gated & may_receive & elsewhere_in_pool),
        usable_here | (gated & may_receive & elsewhere_in_pool),
        _expired_in_window(rows, ledger),
        (rows["status"] == "short").to_numpy() & _credits_after_window(rows, problem),
    ]
    reasons.loc[rows.index] = np.select(conditions, REASONS[:-1], default=REASONS[-1]).astype(object)
    return reasons


def _bank_by_kind(balances: pd.DataFrame) -> pd.DataFrame:
    """Credits left per manufacturer, state and model year, as ``{ZEV,NZEV}_{tractor,nontractor}``: one row
    per manufacturer, state and model year of ``balances``, in the order of their first rows there."""
    (key,), count = row_keys(KEY, balances)
    _, first = np.unique(key, return_index=True)
    bank = balances[KEY].iloc[first].reset_index(drop=True)
    credits = balances["credits"].to_numpy(np.int64)
    tractor = (balances["group"] == "tractor").to_numpy()
    for ctype in clauses.CREDIT_TYPES:
        of_type = (balances["credit_type"] == ctype).to_numpy()
        for name, mask in ((f"{ctype}_tractor", of_type & tractor), (f"{ctype}_nontractor", of_type & ~tractor)):
            bank[name] = key_sums(key, count, np.where(mask, credits, 0))[key[first]]
    return bank


def _gates_used(rows: pd.DataFrame, ledger: pd.DataFrame) -> dict[str, np.ndarray]:
    """For each of ``rows``, the deficit met (the ledger's ``deficit_met``, which the gates count) through each
    capped rule gate in its manufacturer, state and model year."""
    ret = ledger[ledger["action"] == "retire"]
    (row_key, ret_key), count = row_keys(KEY, rows, ret)
    nzev, rule = (ret["credit_type"] == "NZEV").to_numpy(), ret["rule"]
    masks = {"nzev_nontractor": nzev & rule.isin(["nzev", "tractor-nzev-to-nontractor"]).to_numpy(),
             "nzev_tractor": nzev & (rule == "tractor-nzev").to_numpy(),
             "tractor_offset": (ret["credit_type"] == "ZEV").to_numpy() & (rule == "tractor-offset").to_numpy()}
    met = ret["deficit_met"].to_numpy(np.int64)
    return {name: key_sums(ret_key, count, np.where(mask, met, 0))[row_key] for name, mask in masks.items()}


def _usable_elsewhere(rows: pd.DataFrame, bank: pd.DataFrame, usable_here: np.ndarray, tractor: np.ndarray,
                      states: list[str], senders: pd.DataFrame | None = None) -> np.ndarray:
    """Whether ZEV credits the row could use (tractor rows: tractor credits only) were left at the end of
    its model year in one of ``states`` other than its own: the states holding them, less its own.
    With ``senders`` (state, model_year pairs), only holdings in a state that may pool out that year count."""
    listed = bank["state"].isin(states).to_numpy()
    if senders is not None:
        (bank_at, sender_at), _ = row_keys(["state", "model_year"], bank, senders)
        listed = listed & np.isin(bank_at, sender_at)
    (row_key, bank_key), count = row_keys(["manufacturer", "model_year"], rows, bank)
    zev_tractor = bank["ZEV_tractor"].to_numpy()
    any_states = key_sums(bank_key, count, listed & (zev_tractor + bank["ZEV_nontractor"].to_numpy() > 0))[row_key]
    tractor_states = key_sums(bank_key, count, listed & (zev_tractor > 0))[row_key]
    own = rows["state"].isin(states).to_numpy() & usable_here
    return np.where(tractor, tractor_states, any_states) - own > 0


def _expired_in_window(rows: pd.DataFrame, ledger: pd.DataFrame) -> np.ndarray:
    """Whether credits of the manufacturer in the row's state expired from the year before the deficit
    through the end of its make-up period (§1963.2(g)).

    Each expiry and each row's window are placed on one line of years per manufacturer and state; a window
    holds an expiry iff the count of expiries up to its end exceeds the count before its start."""
    expired = ledger.loc[ledger["action"] == "expire", ["manufacturer", "state", "model_year"]]
    (row_pair, expired_pair), _ = row_keys(["manufacturer", "state"], rows, expired)
    start, end = rows["model_year"].to_numpy() - 1, rows["end"].to_numpy()
    year = expired["model_year"].to_numpy()
    base = min(start.min(), year.min(initial=start.min()))
    span = max(end.max(), year.max(initial=end.max())) - base + 1
    line = np.sort(expired_pair * span + (year - base))
    first = np.searchsorted(line, row_pair * span + (start - base), side="left")
    return np.searchsorted(line, row_pair * span + (end - base), side="right") > first


def _credits_after_window(rows: pd.DataFrame, problem: ComplianceProblem) -> np.ndarray:
    """Whether the manufacturer's credits in the row's state kept coming after its make-up period ended."""
    lots = problem.lots[["manufacturer", "origin_state", "available_from"]].rename(columns={"origin_state": "state"})
    (row_pair, lot_pair), count = row_keys(["manufacturer", "state"], rows, lots)
    latest = np.full(count, -1, dtype=np.int64)
    np.maximum.at(latest, lot_pair, lots["available_from"].to_numpy(np.int64))
    return latest[row_pair] > rows["end"].to_numpy()
