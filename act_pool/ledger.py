"""The ledger (every movement of credits) and the views built on it: compliance and balances.

The ledger is the single source of truth: the compliance table's ``met`` and the year-end
balances are sums over it, and :func:`check_conservation` proves on every run that no credit was
created or lost.
"""
from __future__ import annotations

import pandas as pd

from act_pool.errors import ConservationError
from act_pool.solve.problem import ComplianceProblem
from act_pool.solve.sequential import MOVEMENT_KEYS

LEDGER_SORT = ["manufacturer", "year", "action", "state", "model_year", "group", "origin_manufacturer",
               "origin_state", "vintage", "origin_group", "credit_type", "lot"]


def build_ledger(movements: list[dict]) -> pd.DataFrame:
    """Movements as a sorted table; ``credits`` in integer tenths, zero movements dropped.

    Actions: ``retire``, ``expire`` and ``transfer`` (a declared trade, by the seller). Columns: those
    of the contract plus ``year`` (the model year in which the movement was made), ``rule`` (the
    retirement step, ``credit-life``, ``trade to ...`` or ``purchase``), ``pooled``, ``traded``,
    ``tractor_offset`` and ``lot`` (the credit lot it drew on; -1 for a purchase).
    """
    led = pd.DataFrame(movements, columns=list(MOVEMENT_KEYS))
    led = led[led["credits"] > 0].astype({"vintage": "int64", "model_year": "int64", "credits": "int64",
                                          "year": "int64", "lot": "int64"})
    led["pooled"] = (led["action"] == "retire") & (led["origin_state"] != led["state"])
    led["traded"] = (led["origin_manufacturer"] != led["manufacturer"]) | (led["action"] == "transfer")
    led["tractor_offset"] = ((led["action"] == "retire") & (led["group"] == "tractor")
                             & (led["origin_group"] != "tractor"))
    # Merge repeated draws of one lot on one deficit in one year (a step may take a lot twice).
    keys = [c for c in led.columns if c != "credits"]
    led = led.groupby(keys, sort=False, dropna=False)["credits"].sum().reset_index()
    return led.sort_values(LEDGER_SORT, kind="stable").reset_index(drop=True)[
        [c for c in MOVEMENT_KEYS if c != "lot"] + ["pooled", "traded", "tractor_offset", "lot"]]


def compliance_view(obligations: pd.DataFrame, ledger: pd.DataFrame, makeup_years: int, last_year: int) -> pd.DataFrame:
    """Obligations with ``met``, ``unmet``, ``status`` and where the credits that met them came from.

    ``status``: compliant (nothing unmet); open (unmet, make-up period runs past the horizon);
    short (unmet after the make-up period, 13 CCR §1963.3(b), §1963.5(a)(4)).
    """
    ret = ledger[ledger["action"] == "retire"]
    key = ["manufacturer", "state", "model_year", "group"]
    parts = {
        "met": ret,
        "met_in_model_year": ret[ret["year"] == ret["model_year"]],
        "met_by_makeup": ret[ret["year"] > ret["model_year"]],
        "met_by_nzev": ret[ret["credit_type"] == "NZEV"],
        "met_by_pooled": ret[ret["pooled"]],
        "met_by_traded": ret[ret["traded"]],
        "met_by_tractor_offset": ret[ret["tractor_offset"]],
        "met_by_purchase": ret[ret["rule"] == "purchase"],
    }
    table = obligations.copy()
    for name, rows in parts.items():
        sums = rows.groupby(key)["credits"].sum().rename(name).reset_index()
        table = table.merge(sums, on=key, how="left")
        table[name] = table[name].fillna(0).astype("int64")
    table["unmet"] = table["deficits"] - table["met"]
    if (table["unmet"] < 0).any():
        bad = table[table["unmet"] < 0].iloc[0]
        raise ConservationError(f"deficit over-met: {dict(bad)}")
    open_ = table["model_year"] + makeup_years > last_year
    table["status"] = "compliant"
    table.loc[(table["unmet"] > 0) & open_, "status"] = "open"
    table.loc[(table["unmet"] > 0) & ~open_, "status"] = "short"
    cols = key + ["vehicles", "deficits", "zev_credits", "nzev_credits", "met", "unmet", "status", "enforced",
                  "small_manufacturer"] + [c for c in parts if c != "met"]
    return table[cols]


def balances_view(problem: ComplianceProblem, ledger: pd.DataFrame) -> pd.DataFrame:
    """The bank at the end of each simulated model year, by holder, state, vintage, group and type.

    A lot counts from the year its holder may first use it until it is retired, transferred or expires.
    """
    lots = problem.lots.copy()
    first = problem.years.start
    lots["from"] = lots["available_from"].clip(lower=first)
    frames = []
    for t in problem.years:
        spent = ledger[ledger["year"] <= t].groupby("lot")["credits"].sum()
        held = lots[lots["from"] <= t].copy()
        held["left"] = held["credits"] - held["lot"].map(spent).fillna(0).astype("int64")
        if (held["left"] < 0).any():
            raise ConservationError(f"lot overdrawn by the end of model year {t}")
        held = held[held["left"] > 0]
        held["model_year"] = t
        frames.append(held)
    cols = ["manufacturer", "state", "model_year", "vintage", "group", "credit_type"]
    if not frames or all(f.empty for f in frames):
        return pd.DataFrame(columns=cols + ["credits"]).astype({"credits": "int64"})
    allh = pd.concat(frames).rename(columns={"origin_state": "state"})
    out = allh.groupby(cols, sort=True)["left"].sum().rename("credits").reset_index()
    return out.astype({"model_year": "int64", "vintage": "int64", "credits": "int64"})


def check_conservation(problem: ComplianceProblem, obligations: pd.DataFrame, ledger: pd.DataFrame,
                       balances: pd.DataFrame) -> pd.DataFrame:
    """Per manufacturer: opening + generated + traded in = retired + expired + traded out + closing.

    ``generated`` is taken from the obligations table, independently of the lots the solver saw.

    Returns
    -------
    DataFrame
        The terms per manufacturer (integer tenths).

    Raises
    ------
    ConservationError
        If any manufacturer's books do not balance to the tenth.
    """
    lots = problem.lots
    last = problem.years.stop - 1
    mfrs = problem.manufacturers
    opening = lots[lots["source"] == "opening"].groupby("manufacturer")["credits"].sum()
    generated = (obligations["zev_credits"] + obligations["nzev_credits"]).groupby(obligations["manufacturer"]).sum()
    purchased = ledger[ledger["rule"] == "purchase"].groupby("manufacturer")["credits"].sum()
    traded_in = lots[lots["source"] == "bought"].groupby("manufacturer")["credits"].sum().add(purchased, fill_value=0)
    traded_out = ledger[ledger["action"] == "transfer"].groupby("manufacturer")["credits"].sum()
    retired = ledger[ledger["action"] == "retire"].groupby("manufacturer")["credits"].sum()
    expired = ledger[ledger["action"] == "expire"].groupby("manufacturer")["credits"].sum()
    closing = balances[balances["model_year"] == last].groupby("manufacturer")["credits"].sum()
    terms = pd.DataFrame({"opening": opening, "generated": generated, "traded_in": traded_in,
                          "retired": retired, "expired": expired, "traded_out": traded_out, "closing": closing},
                         index=pd.Index(mfrs, name="manufacturer")).fillna(0).astype("int64")
    lhs = terms["opening"] + terms["generated"] + terms["traded_in"]
    rhs = terms["retired"] + terms["expired"] + terms["traded_out"] + terms["closing"]
    bad = terms[lhs != rhs]
    if not bad.empty:
        raise ConservationError(f"credits not conserved for {list(bad.index)}:\n{bad}")
    return terms
