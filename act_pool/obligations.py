"""Deficits and credits per manufacturer x state x model year x group, exact to the tenth.

Per-vehicle amounts are exact rationals from the rule clauses; each group's model-year sum is
taken exactly (integer numerators over one common denominator, vectorised with pandas) and then
rounded to the tenth once, as 13 CCR §1963.1(c) and §1963.2(c) require.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from act_pool.rules import clauses
from act_pool.rules.model import RuleSet
from act_pool.scenario import Scenario
from act_pool.tenths import as_fraction, round_to_tenth

KEY = ["manufacturer", "state", "model_year", "group"]
OBLIGATION_COLUMNS = KEY + ["vehicles", "deficits", "zev_credits", "nzev_credits", "enforced", "small_manufacturer"]


def per_vehicle_amounts(rules: RuleSet, combos: pd.DataFrame) -> pd.DataFrame:
    """Exact deficits and credits per vehicle for each distinct (state, model_year, weight_class,
    powertrain, aer_key) combination, ``aer_key`` the range as text ("" where none); columns
    ``deficit`` and ``credit`` hold Fractions."""
    # A state enters the amounts only through its first deficit and first credit model years, so
    # states that share them share every amount: each is computed once per distinct key.
    first_deficit = {s: clauses.first_deficit_model_year(rules, s) for s in combos["state"].unique()}
    first_credit = {s: clauses.first_credit_model_year(rules, s) for s in combos["state"].unique()}
    deficit_of: dict[tuple, Fraction] = {}
    credit_of: dict[tuple, Fraction] = {}
    deficits, credits = [], []
    for state, my, wc, pt, aer in zip(*(combos[c].tolist() for c in combos.columns)):
        my = int(my)
        key = (first_deficit[state], wc, my)  # ICE, ZEV and NZEV of one class accrue alike
        if key not in deficit_of:
            deficit_of[key] = clauses.deficit_per_vehicle(rules, state, wc, my)
        deficits.append(deficit_of[key])
        key = (first_credit[state], wc, pt, aer, my)
        if key not in credit_of:
            aer_miles = as_fraction(aer) if pt == "NZEV" else None
            credit_of[key] = clauses.credit_per_vehicle(rules, state, wc, pt, aer_miles, my)
        credits.append(credit_of[key])
    out = combos.copy()
    out["deficit"] = deficits
    out["credit"] = credits
    return out


def small_manufacturer_flags(rules: RuleSet, sales: pd.DataFrame) -> pd.DataFrame:
    """Manufacturer x state x model year rows at or under the small-manufacturer threshold.

    Basis ``model-year``: that model year's vehicles in the state. ``three-year-average``: the
    average of the three prior model years' vehicles in the state, counting each from the
    manufacturer's first model year with vehicles there (a later year without vehicles counts as 0,
    whether its rows say 0 or are absent); the model year itself where no such year precedes it.
    ``three-year-average-of-rows`` (the earlier reading): the average over those of the three prior
    model years that have rows (a 0-vehicle row counts, an absent year does not).
    Returns columns manufacturer, state, model_year, small.
    """
    limit = as_fraction(rules.value("small_manufacturer.max_vehicles"))
    totals = sales.groupby(["manufacturer", "state", "model_year"], sort=True)["vehicles"].sum().reset_index()
    vehicles = totals["vehicles"].to_numpy(dtype=np.int64)
    year = totals["model_year"].to_numpy(dtype=np.int64)
    basis = rules.value("small_manufacturer.basis")
    # basis = prior_sum / prior_count (the model year's own vehicles where no prior year counts);
    # compared with the limit exactly, in integers: prior_sum * den <= num * prior_count.
    prior_sum = np.zeros(len(totals), dtype=np.int64)
    prior_count = np.zeros(len(totals), dtype=np.int64)
    if basis in ("three-year-average", "three-year-average-of-rows"):
        by_year = pd.Series(vehicles, index=pd.MultiIndex.from_frame(totals[["manufacturer", "state", "model_year"]]))
        if basis == "three-year-average":  # count every year from the first with vehicles
            first = totals[vehicles > 0].groupby(["manufacturer", "state"])["model_year"].min().rename("first")
            start = totals.join(first, on=["manufacturer", "state"])["first"].fillna(np.inf).to_numpy()
        for k in (1, 2, 3):
            prior = by_year.reindex(pd.MultiIndex.from_arrays([totals["manufacturer"], totals["state"], year - k]))
            if basis == "three-year-average":
                counts = year - k >= start
            else:  # the earlier reading, kept as an override: only years with rows count
                counts = prior.notna().to_numpy()
            prior_sum += np.where(counts, prior.fillna(0).to_numpy(dtype=np.int64), 0)
            prior_count += counts
    own = prior_count == 0
    prior_sum[own], prior_count[own] = vehicles[own], 1
    totals["small"] = prior_sum * limit.denominator <= limit.numerator * prior_count
    return totals[["manufacturer", "state", "model_year", "small"]]


def compute_obligations(scenario: Scenario) -> pd.DataFrame:
    """The obligations table: one row per manufacturer x state x simulated model year x group.

    Columns: manufacturer, state, model_year, group, vehicles, deficits, zev_credits,
    nzev_credits (integer tenths), enforced (bool), small_manufacturer (bool). Rows exist for
    every manufacturer x state pair in the sales or the opening bank, in every simulated year.
    """
    rules = scenario.rules
    sales = scenario.sales.copy()
    sales["group"] = sales["weight_class"].map(clauses.WEIGHT_CLASS_GROUP)
    ranges = sales["aer_miles"].unique()
    sales["aer_key"] = sales["aer_miles"].map(dict(zip(ranges, ["" if a is None else str(a) for a in ranges])))
    combo_cols = ["state", "model_year", "weight_class", "powertrain", "aer_key"]
    amounts = per_vehicle_amounts(rules, sales[combo_cols].drop_duplicates().reset_index(drop=True))
    deficits, credits = amounts["deficit"].tolist(), amounts["credit"].tolist()
    den = math.lcm(*{f.denominator for f in deficits + credits})
    amounts["deficit_num"] = [f.numerator * (den // f.denominator) for f in deficits]
    amounts["credit_num"] = [f.numerator * (den // f.denominator) for f in credits]
    merged = sales.merge(amounts[combo_cols + ["deficit_num", "credit_num"]], on=combo_cols, how="left")
    vehicles = merged["vehicles"].to_numpy(dtype=object)
    merged["deficit_num"] = vehicles * merged["deficit_num"].to_numpy(dtype=object)
    credit_num = vehicles * merged["credit_num"].to_numpy(dtype=object)
    is_zev = (merged["powertrain"] == "ZEV").to_numpy()
    is_nzev = (merged["powertrain"] == "NZEV").to_numpy()
    merged["zev_num"] = np.where(is_zev, credit_num, 0)
    merged["nzev_num"] = np.where(is_nzev, credit_num, 0)

    sums = merged.groupby(KEY, sort=True).agg(
        vehicles=("vehicles", "sum"), deficit_num=("deficit_num", "sum"),
        zev_num=("zev_num", "sum"), nzev_num=("nzev_num", "sum")).reset_index()
    mode = str(rules.value("rounding.mode"))
    for col, num in (("deficits", "deficit_num"), ("zev_credits", "zev_num"), ("nzev_credits", "nzev_num")):
        sums[col] = round_to_tenth(sums[num].to_numpy(dtype=object), den, mode) if len(sums) else []

    small = small_manufacturer_flags(rules, scenario.sales) if len(scenario.sales) else \
        pd.DataFrame(columns=["manufacturer", "state", "model_year", "small"])
    grid = _full_grid(scenario)
    table = grid.merge(sums[KEY + ["vehicles", "deficits", "zev_credits", "nzev_credits"]], on=KEY, how="left")
    table = table.merge(small, on=["manufacturer", "state", "model_year"], how="left")
    for col in ("vehicles", "deficits", "zev_credits", "nzev_credits"):
        table[col] = table[col].fillna(0).astype("int64")
    table["small_manufacturer"] = table["small"].fillna(False).astype(bool)
    table.loc[table["small_manufacturer"], "deficits"] = 0  # exempt: no deficits, credits still earned
    enforced = pd.DataFrame([(s, y, clauses.is_enforced(rules, s, y)) for s in table["state"].unique()
                             for y in scenario.years], columns=["state", "model_year", "enforced"])
    table = table.merge(enforced.astype({"model_year": "int64"}), on=["state", "model_year"], how="left")
    return table[OBLIGATION_COLUMNS].sort_values(KEY, kind="stable").reset_index(drop=True)


def _full_grid(scenario: Scenario) -> pd.DataFrame:
    """Every manufacturer x state pair of the sales or the opening bank, in every simulated year and group."""
    pairs = pd.concat([scenario.sales[["manufacturer", "state"]], scenario.bank[["manufacturer", "state"]]])
    pairs = pairs.drop_duplicates().astype(str).sort_values(["manufacturer", "state"])
    per_pair = len(scenario.years) * len(clauses.GROUPS)
    grid = pd.DataFrame({"manufacturer": np.repeat(pairs["manufacturer"].to_numpy(), per_pair),
                         "state": np.repeat(pairs["state"].to_numpy(), per_pair),
                         "model_year": np.tile(np.repeat(np.asarray(scenario.years, dtype=np.int64),
                                                         len(clauses.GROUPS)), len(pairs)),
                         "group": np.tile(np.asarray(clauses.GROUPS, dtype=object), len(pairs) * len(scenario.years))})
    return grid
