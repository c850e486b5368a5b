"""Deficits and credits per manufacturer x state x model year x group, exact to the tenth.

Per-vehicle amounts are exact rationals from the rule clauses; each group's model-year sum is
taken exactly (integer numerators over one common denominator, summed per row of the table with
NumPy: in int64 where no sum can overflow, else in Python integers) and then rounded to the tenth
once, as 13 CCR §1963.1(c) and §1963.2(c) require.

The table is computed on a dense grid of integer codes: row ``(pair * years + year) * groups + group``
for each manufacturer x state pair (sorted), simulated model year and group, which is also the
table's sorted order.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from act_pool.joins import key_sums
from act_pool.rules import clauses
from act_pool.rules.model import RuleSet
from act_pool.scenario import Scenario
from act_pool.tenths import as_fraction, round_to_tenth

KEY = ["manufacturer", "state", "model_year", "group"]
OBLIGATION_COLUMNS = KEY + ["vehicles", "deficits", "zev_credits", "nzev_credits", "enforced", "small_manufacturer"]
#: Largest magnitude an int64 holds: exact sums are taken in int64 only where a bound, checked in Python
#: integers, proves that none of them (nor any partial sum) can exceed it.
INT64_MAX = int(np.iinfo(np.int64).max)


def per_vehicle_amounts(rules: RuleSet, combos: pd.DataFrame) -> pd.DataFrame:
    """Exact deficits and credits per vehicle for each distinct (state, model_year, weight_class,
    powertrain, aer_key) combination, ``aer_key`` the range as text ("" where none); columns
    ``deficit`` and ``credit`` hold Fractions."""
    aers = [as_fraction(a) if pt == "NZEV" else None for pt, a in zip(combos["powertrain"], combos["aer_key"])]
    deficits, credits = _amounts(rules, combos["state"].tolist(), [int(y) for y in combos["model_year"]],
                                 combos["weight_class"].tolist(), combos["powertrain"].tolist(), aers)
    out = combos.copy()
    out["deficit"] = deficits
    out["credit"] = credits
    return out


def _amounts(rules: RuleSet, states: list[str], years: list[int], weight_classes: list[str],
             powertrains: list[str], aers: list[Fraction | None]) -> tuple[list[Fraction], list[Fraction]]:
    """Deficit and credit per vehicle (Fractions, :func:`clauses.deficit_per_vehicle` and
    :func:`clauses.credit_per_vehicle`) of each (state, model year, weight class, powertrain, range)."""
    # A state enters the amounts only through its first deficit and first credit model years, so
    # states that share them share every amount: each is computed once per distinct key.
    first_deficit = {s: clauses.first_deficit_model_year(rules, s) for s in set(states)}
    first_credit = {s: clauses.first_credit_model_year(rules, s) for s in set(states)}
    deficit_of: dict[tuple, Fraction] = {}
    credit_of: dict[tuple, Fraction] = {}
    deficits, credits = [], []
    for state, my, wc, pt, aer in zip(states, years, weight_classes, powertrains, aers):
        key = (first_deficit[state], wc, my)  # ICE, ZEV and NZEV of one class accrue alike
        if key not in deficit_of:
            deficit_of[key] = clauses.deficit_per_vehicle(rules, state, wc, my)
        deficits.append(deficit_of[key])
        key = (first_credit[state], wc, pt, aer, my)
        if key not in credit_of:
            credit_of[key] = clauses.credit_per_vehicle(rules, state, wc, pt, aer, my)
        credits.append(credit_of[key])
    return deficits, credits


def small_manufacturer_flags(rules: RuleSet, sales: pd.DataFrame) -> pd.DataFrame:
    """Manufacturer x state x model year rows at or under the small-manufacturer threshold.

    Basis ``model-year``: that model year's vehicles in the state. ``three-year-average``: the
    average of the three prior model years' vehicles in the state, counting each from the
    manufacturer's first model year with vehicles there (a later year without vehicles counts as 0,
    whether its rows say 0 or are absent); the model year itself where no such year precedes it.
    ``three-year-average-of-rows`` (the earlier reading): the average over those of the three prior
    model years that have rows (a 0-vehicle row counts, an absent year does not).
    Returns columns manufacturer, state, model_year, small: one row per manufacturer, state and
    model year of ``sales``, sorted.
    """
    pair_code, pairs = pd.factorize(pd.MultiIndex.from_arrays([sales["manufacturer"], sales["state"]]), sort=True)
    year = sales["model_year"].to_numpy(dtype=np.int64)
    first_year = int(year.min()) if len(year) else 0
    span = int(year.max()) - first_year + 1 if len(year) else 0
    cell = pair_code * span + (year - first_year)
    size = len(pairs) * span
    vehicles = key_sums(cell, size, sales["vehicles"].to_numpy(dtype=np.int64)).reshape(len(pairs), span)
    has_rows = (np.bincount(cell, minlength=size) > 0).reshape(len(pairs), span)
    small = small_in_years(rules, vehicles, has_rows)
    p, j = np.nonzero(has_rows)
    return pd.DataFrame({"manufacturer": pairs.get_level_values(0).take(p), "state": pairs.get_level_values(1).take(p),
                         "model_year": first_year + j.astype(np.int64), "small": small[p, j]})


def small_in_years(rules: RuleSet, vehicles: np.ndarray, has_rows: np.ndarray) -> np.ndarray:
    """Whether each manufacturer x state (row) is a small manufacturer in each of consecutive model
    years (column), read from its vehicles there (``vehicles``, int64) and whether it has sales rows
    there (``has_rows``): the basis of :func:`small_manufacturer_flags`, compared with
    ``small_manufacturer.max_vehicles`` exactly (§1963(b)); False where it has no rows.
    """
    limit = as_fraction(rules.value("small_manufacturer.max_vehicles"))
    basis = rules.value("small_manufacturer.basis")
    # basis = prior_sum / prior_count (the model year's own vehicles where no prior year counts);
    # compared with the limit exactly, in integers: prior_sum * den <= num * prior_count.
    prior_sum = np.zeros(vehicles.shape, dtype=np.int64)
    prior_count = np.zeros(vehicles.shape, dtype=np.int64)
    if basis in ("three-year-average", "three-year-average-of-rows"):
        column = np.arange(vehicles.shape[1])
        sold = vehicles > 0
        # first column with vehicles (past the last where none): earlier years never count
        first = np.where(sold.any(axis=1), sold.argmax(axis=1), vehicles.shape[1])[:, None]
        for k in (1, 2, 3):
            prior = np.zeros(vehicles.shape, dtype=np.int64)
            prior_rows = np.zeros(vehicles.shape, dtype=bool)
            prior[:, k:], prior_rows[:, k:] = vehicles[:, :-k], has_rows[:, :-k]
            if basis == "three-year-average":  # count every year from the first with vehicles
                counts = column[None, :] - k >= first
            else:  # the earlier reading, kept as an override: only years with rows count
                counts = prior_rows
            prior_sum += np.where(counts, prior, 0)
            prior_count += counts
    own = prior_count == 0
    prior_sum[own], prior_count[own] = vehicles[own], 1
    return has_rows & (prior_sum * limit.denominator <= limit.numerator * prior_count)


def compute_obligations(scenario: Scenario) -> pd.DataFrame:
    """The obligations table: one row per manufacturer x state x simulated model year x group.

    Columns: manufacturer, state, model_year, group, vehicles, deficits, zev_credits,
    nzev_credits (integer tenths), enforced (bool), small_manufacturer (bool). Rows exist for
    every manufacturer x state pair in the sales or the opening bank, in every simulated year,
    sorted by manufacturer, state, model year and group.
    """
    rules, sales, bank = scenario.rules, scenario.sales, scenario.bank
    inside = sales["model_year"].between(*scenario.model_years).to_numpy(dtype=bool)
    if not inside.all():  # a scenario assembled by hand: the loaders keep only the simulated years
        sales = sales[inside]
    n_years, n_groups = len(scenario.years), len(clauses.GROUPS)
    maker_code, makers = _sorted_codes(sales["manufacturer"], bank["manufacturer"])
    state_code, states = _sorted_codes(sales["state"], bank["state"])
    n_states = max(len(states), 1)
    pairs, pair_of_row = np.unique(maker_code * n_states + state_code, return_inverse=True)
    # the grid row of each sales row: (pair x years + year) x groups + group
    year_of_sale = sales["model_year"].to_numpy(dtype=np.int64) - scenario.model_years[0]
    wc_code, weight_classes = pd.factorize(sales["weight_class"])
    group_of_wc = np.array([clauses.GROUPS.index(clauses.WEIGHT_CLASS_GROUP[w]) for w in weight_classes],
                           dtype=np.int64)
    pair_year_of_sale = pair_of_row[:len(sales)] * n_years + year_of_sale
    row_of_sale = pair_year_of_sale * n_groups + group_of_wc[wc_code]
    size = len(pairs) * n_years * n_groups
    vehicles = sales["vehicles"].to_numpy(dtype=np.int64)
    sums = _group_sums(rules, sales, state_code[:len(sales)], states.tolist(), scenario.model_years[0], row_of_sale,
                       size)

    # small manufacturers (per pair and model year): no deficits (credits still earned)
    pair_years = len(pairs) * n_years
    small = small_in_years(rules, key_sums(pair_year_of_sale, pair_years, vehicles).reshape(len(pairs), n_years),
                           (np.bincount(pair_year_of_sale, minlength=pair_years) > 0).reshape(len(pairs), n_years))
    small = np.repeat(small.ravel(), n_groups)
    sums["deficits"][small] = 0
    enforced = np.array([[clauses.is_enforced(rules, s, y) for y in scenario.years] for s in states],
                        dtype=bool).reshape(len(states), n_years)
    pair_state = pairs % n_states
    pair_of_grid = np.repeat(np.arange(len(pairs)), n_years * n_groups)
    return pd.DataFrame({
        "manufacturer": _text(makers, (pairs // n_states)[pair_of_grid]),
        "state": _text(states, pair_state[pair_of_grid]),
        "model_year": np.tile(np.repeat(np.asarray(scenario.years, dtype=np.int64), n_groups), len(pairs)),
        "group": _text(clauses.GROUPS, np.tile(np.arange(n_groups), len(pairs) * n_years)),
        "vehicles": key_sums(row_of_sale, size, vehicles),
        **sums,
        "enforced": np.repeat(enforced[pair_state], n_groups, axis=1).ravel(),
        "small_manufacturer": small,
    })


def _group_sums(rules: RuleSet, sales: pd.DataFrame, state_code: np.ndarray, states: list[str], first_year: int,
                row_of_sale: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Deficits, ZEV and NZEV credits (integer tenths) of each of ``size`` grid rows: every sales row's
    exact amounts (:func:`_amounts`, once per distinct state, model year, class, powertrain and range)
    summed into its grid row (``row_of_sale``) over one common denominator, then rounded to the tenth once
    (13 CCR §1963.1(c), §1963.2(c)).

    The sums are taken in int64 where a bound checked first in Python integers (rows x largest |vehicles|
    x largest |numerator|, which no partial sum can exceed) fits :data:`INT64_MAX`; else in Python integers.
    """
    year_of_sale = sales["model_year"].to_numpy(dtype=np.int64) - first_year
    wc_code, weight_classes = pd.factorize(sales["weight_class"])
    pt_code, powertrains = pd.factorize(sales["powertrain"])
    aer_code, ranges = pd.factorize(sales["aer_miles"])  # no range: -1
    span = int(year_of_sale.max(initial=0)) + 1
    combo = (((state_code * span + year_of_sale) * len(weight_classes) + wc_code) * len(powertrains)
             + pt_code) * (len(ranges) + 1) + aer_code + 1
    _, first, combo_of_sale = np.unique(combo, return_index=True, return_inverse=True)
    wc_names, pt_names, range_values = weight_classes.tolist(), powertrains.tolist(), ranges.tolist()
    combo_pt = [pt_names[c] for c in pt_code[first].tolist()]
    deficits, credits = _amounts(
        rules, [states[c] for c in state_code[first].tolist()], (first_year + year_of_sale[first]).tolist(),
        [wc_names[c] for c in wc_code[first].tolist()], combo_pt,
        [as_fraction(range_values[c]) if pt == "NZEV" and c >= 0 else None
         for c, pt in zip(aer_code[first].tolist(), combo_pt)])
    den = math.lcm(*{f.denominator for f in deficits + credits})
    deficit_num = [f.numerator * (den // f.denominator) for f in deficits]
    credit_num = [f.numerator * (den // f.denominator) for f in credits]
    vehicles = sales["vehicles"].to_numpy(dtype=np.int64)
    largest = len(vehicles) * int(np.abs(vehicles).max(initial=0)) * max(map(abs, deficit_num + credit_num), default=0)
    exact = np.int64 if largest <= INT64_MAX else object
    per_sale_deficit = vehicles.astype(exact) * np.array(deficit_num, dtype=exact)[combo_of_sale]
    per_sale_credit = vehicles.astype(exact) * np.array(credit_num, dtype=exact)[combo_of_sale]
    powertrain = np.array(pt_names + [None], dtype=object)[pt_code]
    mode = str(rules.value("rounding.mode"))
    per_sale = {"deficits": per_sale_deficit, "zev_credits": np.where(powertrain == "ZEV", per_sale_credit, 0),
                "nzev_credits": np.where(powertrain == "NZEV", per_sale_credit, 0)}
    return {column: round_to_tenth(key_sums(row_of_sale, size, values, exact), den, mode)
            for column, values in per_sale.items()}


def _sorted_codes(*columns: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of the values of ``columns`` (taken as one, as text), numbered in the order of the values."""
    return pd.factorize(pd.concat(columns, ignore_index=True).astype(str), sort=True)


def _text(values, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A string column of ``values`` (a sequence of text) taken at ``codes``."""
    return pd.array(list(values), dtype="str").take(codes)
