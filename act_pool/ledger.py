"""The ledger (every movement of credits) and the views built on it: compliance and balances.

The ledger is the single source of truth: the compliance table's ``met`` and the year-end
balances are sums over it, and :func:`check_conservation` proves on every run that no credit was
created or lost.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from act_pool.errors import ConservationError
from act_pool.joins import combined_codes, key_sums, row_keys, run_starts
from act_pool.solve.problem import ComplianceProblem
from act_pool.solve.sequential import MOVEMENT_KEYS

LEDGER_SORT = ["manufacturer", "year", "action", "state", "model_year", "group", "origin_manufacturer",
               "origin_state", "vintage", "origin_group", "credit_type", "lot"]

#: Movement columns that hold text.
TEXT_COLUMNS = ("manufacturer", "origin_manufacturer", "origin_state", "origin_group", "credit_type", "action",
                "state", "group", "rule")

Movements = list[dict] | pd.DataFrame


def movement_table(*parts: Movements) -> pd.DataFrame:
    """Movements from several sources (a solver's table or list of dicts, trades, purchases) as one table
    with the columns :data:`~act_pool.solve.sequential.MOVEMENT_KEYS`, in the order given; text held as
    strings whatever dtype a table gave it."""
    frames = [_as_text(p[list(MOVEMENT_KEYS)]) if isinstance(p, pd.DataFrame)
              else pd.DataFrame(p, columns=list(MOVEMENT_KEYS)) for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(columns=list(MOVEMENT_KEYS))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


#: The dtype of text columns (``astype("str")``).
_TEXT = pd.Series([], dtype="str").dtype


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its :data:`TEXT_COLUMNS` as strings (those already strings left as they are)."""
    return frame.astype({c: "str" for c in TEXT_COLUMNS if frame[c].dtype != _TEXT})


def build_ledger(movements: Movements) -> pd.DataFrame:
    """Movements as a sorted table; ``credits`` in integer tenths, zero movements dropped.

    ``movements`` is a table with the columns :data:`~act_pool.solve.sequential.MOVEMENT_KEYS` or a list
    of dicts with those keys (see :func:`movement_table`). Actions: ``retire``, ``expire`` and
    ``transfer`` (a declared trade, by the seller). Columns: those of the contract plus ``deficit_met``
    (tenths of the deficit a retirement meets: its ``credits``, but for a pooled retirement under a
    pooling exchange ratio other than 1, floor(ratio x credits); 0 for other actions), ``year`` (the
    model year in which the movement was made), ``rule`` (the retirement step, ``credit-life``,
    ``trade to ...`` or ``purchase``), ``pooled``, ``traded``, ``tractor_offset`` and ``lot`` (the credit
    lot it drew on; -1 for a purchase).
    """
    led = movement_table(movements)
    led = led[led["credits"] > 0].astype({"vintage": "int64", "model_year": "int64", "credits": "int64",
                                          "deficit_met": "int64", "year": "int64", "lot": "int64"})
    # Merge repeated draws of one lot on one deficit in one year (a step may take a lot twice): one row per
    # distinct key (every column but the amounts), where it first occurs, then sorted by LEDGER_SORT (ties
    # in first-occurrence order). Each key column is coded in the order of its values (NaN last), so that
    # sorting the codes sorts the values.
    keys = [c for c in MOVEMENT_KEYS if c not in ("credits", "deficit_met")]
    codes = {c: pd.factorize(led[c], sort=True, use_na_sentinel=False)[0] for c in keys}
    group, count = combined_codes([codes[c] for c in keys], len(led))
    first = np.full(count, len(led), dtype=np.int64)
    np.minimum.at(first, group, np.arange(len(led)))
    order = np.lexsort([first] + [codes[c][first] for c in reversed(LEDGER_SORT)])
    sums = {c: key_sums(group, count, led[c].to_numpy(dtype=np.int64)) for c in ("credits", "deficit_met")}
    led = led.iloc[first[order]].reset_index(drop=True)
    for c, total in sums.items():
        led[c] = total[order]
    led["pooled"] = (led["action"] == "retire") & (led["origin_state"] != led["state"])
    led["traded"] = (led["origin_manufacturer"] != led["manufacturer"]) | (led["action"] == "transfer")
    led["tractor_offset"] = ((led["action"] == "retire") & (led["group"] == "tractor")
                             & (led["origin_group"] != "tractor"))
    return led[[c for c in MOVEMENT_KEYS if c != "lot"] + ["pooled", "traded", "tractor_offset", "lot"]]


def compliance_view(obligations: pd.DataFrame, ledger: pd.DataFrame, makeup_years: int, last_year: int) -> pd.DataFrame:
    """Obligations with ``met``, ``unmet``, ``status`` and where the credits that met them came from.

    ``met`` and every ``met_by_*`` column sum the ledger's ``deficit_met`` (the deficit a retirement
    meets), not its ``credits`` (what it takes from the bank): the two differ for pooled retirements
    under a pooling exchange ratio other than 1.

    ``status``: compliant (nothing unmet); open (unmet, make-up period runs past the horizon);
    short (unmet after the make-up period, 13 CCR §1963.3(b), §1963.5(a)(4)).
    """
    ret = ledger[ledger["action"] == "retire"]
    key = ["manufacturer", "state", "model_year", "group"]
    credits = ret["deficit_met"]
    parts = pd.DataFrame({
        "met": credits,
        "met_in_model_year": credits.where(ret["year"] == ret["model_year"], 0),
        "met_by_makeup": credits.where(ret["year"] > ret["model_year"], 0),
        "met_by_nzev": credits.where(ret["credit_type"] == "NZEV", 0),
        "met_by_pooled": credits.where(ret["pooled"], 0),
        "met_by_traded": credits.where(ret["traded"], 0),
        "met_by_tractor_offset": credits.where(ret["tractor_offset"], 0),
        "met_by_purchase": credits.where(ret["rule"] == "purchase", 0),
    })
    (row_key, ret_key), count = row_keys(key, obligations, ret)  # obligations: one row per key
    table = obligations.copy()
    for name, values in parts.items():
        table[name] = key_sums(ret_key, count, values.to_numpy(dtype=np.int64))[row_key]
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
    Computed at once for every lot and year: a lot's balance at the end of year t is its credits less
    the cumulative sum over years of what the ledger drew on it through t.
    """
    cols = ["manufacturer", "state", "model_year", "vintage", "group", "credit_type"]
    lots = problem.lots
    years = np.arange(problem.years.start, problem.years.stop, dtype=np.int64)
    if lots.empty or not len(years):
        return pd.DataFrame(columns=cols + ["credits"]).astype({"credits": "int64"})
    # spent[i, j]: credits drawn on lot i in year years[j] (earlier years count in the first year).
    row = pd.Index(lots["lot"]).get_indexer(ledger["lot"])
    year = ledger["year"].to_numpy(dtype=np.int64)
    drawn = (row >= 0) & (year <= years[-1])
    spent = np.zeros((len(lots), len(years)), dtype=np.int64)
    np.add.at(spent, (row[drawn], np.maximum(year[drawn] - years[0], 0)), ledger["credits"].to_numpy()[drawn])
    left = lots["credits"].to_numpy(dtype=np.int64)[:, None] - np.cumsum(spent, axis=1)
    held = np.maximum(lots["available_from"].to_numpy(dtype=np.int64), years[0])[:, None] <= years[None, :]
    overdrawn = (held & (left < 0)).any(axis=0)
    if overdrawn.any():
        raise ConservationError(f"lot overdrawn by the end of model year {years[overdrawn.argmax()]}")
    # Sum the lots of one holder, state, vintage, group and type: a dense (bank, year) table, banks numbered
    # in the order of their key (codes ordered by value: sorting the codes sorts the keys).
    bank_key = ["manufacturer", "origin_state", "vintage", "group", "credit_type"]
    codes = [pd.factorize(lots[c], sort=True)[0] for c in bank_key]
    by_key = np.lexsort(codes[::-1])
    new_bank = run_starts(codes, by_key)
    bank_of_lot = np.empty(len(lots), dtype=np.int64)
    bank_of_lot[by_key] = np.cumsum(new_bank) - 1
    first_lot = by_key[new_bank]  # a lot of each bank, in bank order
    holder_of_bank = (np.cumsum(run_starts(codes[:2], by_key)) - 1)[new_bank]  # its holder and state
    total = np.zeros((len(first_lot), len(years)), dtype=np.int64)
    np.add.at(total, bank_of_lot, np.where(held & (left > 0), left, 0))
    b, j = np.nonzero(total)
    if not len(b):
        return pd.DataFrame(columns=cols + ["credits"]).astype({"credits": "int64"})
    # sorted by holder, state, model year, then vintage, group and type (the bank order within a holder and state)
    order = np.lexsort((b, j, holder_of_bank[b]))
    b, j = b[order], j[order]
    out = lots[bank_key].iloc[first_lot[b]].rename(columns={"origin_state": "state"}).reset_index(drop=True)
    out.insert(2, "model_year", years[j])
    out["credits"] = total[b, j]
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
    position = {m: i for i, m in enumerate(mfrs)}

    def per_manufacturer(frame: pd.DataFrame, where: np.ndarray | None, amounts: np.ndarray) -> np.ndarray:
        """``amounts`` of the rows ``where`` of ``frame`` summed per manufacturer of ``mfrs`` (others left out)."""
        code, names = pd.factorize(frame["manufacturer"])
        at = np.array([position.get(m, -1) for m in names.tolist()] + [-1], dtype=np.int64)[code]  # -1: missing
        keep = at >= 0 if where is None else (at >= 0) & where
        sums = np.zeros(len(mfrs), dtype=np.int64)
        np.add.at(sums, at[keep], amounts[keep])
        return sums

    lot_credits = lots["credits"].to_numpy(dtype=np.int64)
    source = lots["source"].to_numpy(dtype=object)
    credits = ledger["credits"].to_numpy(dtype=np.int64)
    action = ledger["action"].to_numpy(dtype=object)
    terms = pd.DataFrame({
        "opening": per_manufacturer(lots, source == "opening", lot_credits),
        "generated": per_manufacturer(obligations, None, (obligations["zev_credits"] + obligations["nzev_credits"])
                                      .to_numpy(dtype=np.int64)),
        "traded_in": (per_manufacturer(lots, source == "bought", lot_credits)
                      + per_manufacturer(ledger, (ledger["rule"] == "purchase").to_numpy(dtype=bool), credits)),
        "retired": per_manufacturer(ledger, action == "retire", credits),
        "expired": per_manufacturer(ledger, action == "expire", credits),
        "traded_out": per_manufacturer(ledger, action == "transfer", credits),
        "closing": per_manufacturer(balances, (balances["model_year"] == last).to_numpy(dtype=bool),
                                    balances["credits"].to_numpy(dtype=np.int64)),
    }, index=pd.Index(mfrs, name="manufacturer"))
    lhs = terms["opening"] + terms["generated"] + terms["traded_in"]
    rhs = terms["retired"] + terms["expired"] + terms["traded_out"] + terms["closing"]
    bad = terms[lhs != rhs]
    if not bad.empty:
        raise ConservationError(f"credits not conserved for {list(bad.index)}:\n{bad}")
    return terms
