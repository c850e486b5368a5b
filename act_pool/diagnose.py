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
   year, but pooling was off, not allowed, or not open to this state and model year.
6. ``credits kept for other deficits``: credits this row could use were still banked at the end of its
   model year (here or, with pooling, in another state), but meeting it would have left at least as
   much unmet elsewhere (the optimum keeps them; an optimal-mode reason).
7. ``credits expired``: credits of the manufacturer in this state expired between the year before the
   deficit and the end of its make-up period (§1963.2(g)).
8. ``make-up window closed``: credits came, but only after the make-up period ended.
9. ``no credits held``: none of the above: the manufacturer had no credits to meet it.
"""
from __future__ import annotations

import pandas as pd

from act_pool.rules import clauses
from act_pool.solve.problem import ComplianceProblem

REASONS = ("NZEV cap", "make-up is ZEV only", "tractor offset used up", "tractor group limit",
           "state not in the pool", "credits kept for other deficits", "credits expired", "make-up window closed",
           "no credits held")


def why_short(compliance: pd.DataFrame, ledger: pd.DataFrame, balances: pd.DataFrame,
              problem: ComplianceProblem, rules) -> pd.Series:
    """The reason for each row's unmet deficits ('' where nothing is unmet), aligned with ``compliance``."""
    reasons = pd.Series("", index=compliance.index, dtype=object)
    open_rows = compliance[compliance["unmet"] > 0]
    if open_rows.empty:
        return reasons
    bal = balances.groupby(["manufacturer", "state", "model_year", "group", "credit_type"])["credits"].sum()
    ret = ledger[ledger["action"] == "retire"]
    used = ret.groupby(["manufacturer", "state", "model_year", "credit_type", "rule"])["credits"].sum()
    expired = ledger[ledger["action"] == "expire"].groupby(["manufacturer", "state", "model_year"])["credits"].sum()
    gates = problem.gates.set_index(["manufacturer", "state", "model_year"])
    latest_credit = problem.lots.groupby(["manufacturer", "origin_state"])["available_from"].max().to_dict()
    last = problem.years.stop - 1
    m = problem.makeup_years

    def left(mfr, state, year, groups, ctype):
        return sum(int(bal.get((mfr, state, year, g, ctype), 0)) for g in groups)

    states = sorted(set(problem.gates["state"]))

    def usable_left(mfr, state, year, tractor):
        """ZEV credits left that a row of this kind could use (tractor rows: tractor credits only)."""
        groups = ("tractor",) if tractor else clauses.GROUPS
        return left(mfr, state, year, groups, "ZEV") > 0

    def gate_used(mfr, state, year, ctype, rules_):
        return sum(int(used.get((mfr, state, year, ctype, r), 0)) for r in rules_)

    for i, r in open_rows.iterrows():
        mfr, state, d, h = r["manufacturer"], r["state"], int(r["model_year"]), r["group"]
        g = gates.loc[(mfr, state, d)] if (mfr, state, d) in gates.index else None
        end = min(d + m, last)
        tractor = h == "tractor"
        nzev_groups = ("tractor",) if tractor else clauses.GROUPS
        nzev_left = left(mfr, state, d, nzev_groups, "NZEV")
        nzev_gate, nzev_rules = (("nzev_tractor", ("tractor-nzev",)) if tractor
                                 else ("nzev_nontractor", ("nzev", "tractor-nzev-to-nontractor")))
        nontractor_zev_left = left(mfr, state, d, clauses.NONTRACTOR_GROUPS, "ZEV")
        if nzev_left and g is not None and gate_used(mfr, state, d, "NZEV", nzev_rules) >= int(g[nzev_gate]):
            reasons[i] = REASONS[0]
        elif nzev_left or left(mfr, state, end, nzev_groups, "NZEV"):
            reasons[i] = REASONS[1]
        elif tractor and nontractor_zev_left and g is not None and int(g["tractor_offset"]) > 0 \
                and gate_used(mfr, state, d, "ZEV", ("tractor-offset",)) >= int(g["tractor_offset"]):
            reasons[i] = REASONS[2]
        elif tractor and (nontractor_zev_left or left(mfr, state, d, clauses.NONTRACTOR_GROUPS, "NZEV")):
            reasons[i] = REASONS[3]
        elif not (g is not None and bool(g["may_receive"])) and any(
                usable_left(mfr, s2, d, tractor) for s2 in states if s2 != state):
            reasons[i] = REASONS[4]
        elif usable_left(mfr, state, d, tractor) or (g is not None and bool(g["may_receive"]) and any(
                usable_left(mfr, s2, d, tractor) for s2 in states if s2 != state and s2 in problem.pool_states)):
            reasons[i] = REASONS[5]
        elif any(int(expired.get((mfr, state, y), 0)) for y in range(d - 1, end + 1)):
            reasons[i] = REASONS[6]
        elif r["status"] == "short" and latest_credit.get((mfr, state), end) > end:
            reasons[i] = REASONS[7]
        else:
            reasons[i] = REASONS[8]
    return reasons
