"""LCFS credits and their value from the ZEV trucks an ACT scenario sells in California.

A model-year cohort of ZEVs enters service in the calendar year equal to its model year (age 0)
and stays in service by the survival curve ``fleet.survival``. Each vehicle in service uses
``fleet.annual_energy_kwh.<class>`` of grid electricity a year, spread evenly over the quarters;
the charger owner earns credits for it under 17 CCR §95486.1(a) with the EER and benchmark of the
class's Table 5 column (``fleet.application.<class>``) and the California average grid CI
(``ci.electricity``, §95488.9(b)(4)). Every ZEV is valued as battery-electric.

Credits accrue to the charging-equipment owner or its designee (§95483(c)), not the truck maker:
read the result as a fleet or charge-point benefit of the ACT sales.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.lcfs import calc
from act_pool.rules.model import RuleSet

LCFS_STATE = "CA"
ZEV = "ZEV"
FLEET_COLUMNS = ["calendar_year", "model_year", "weight_class", "application", "age", "vehicles_sold",
                 "vehicles_in_service", "energy_mwh", "benchmark", "eer", "ci", "credits_t",
                 "price_usd_per_t", "value_usd"]
BY_YEAR_COLUMNS = ["calendar_year", "vehicles_in_service", "energy_mwh", "credits_t", "value_usd",
                   "price_usd_per_t"]
KWH_PER_MWH = 1000.0  # unit identity

Schedule = float | int | Mapping[int, float] | pd.Series | str | None


def weight_classes(rules: RuleSet) -> list[str]:
    """ACT weight classes with a default annual energy use in the rule set."""
    return calc.parameter_keys(rules, "fleet.annual_energy_kwh")


def _step(schedule: Mapping[int, float], what: str) -> Callable[[int], float]:
    """A step function of year from ``{first year: value}`` (each value holds until the next key)."""
    points = sorted((int(k), float(v)) for k, v in schedule.items())
    if not points:
        raise InputError([Problem("options", None, what, "the schedule is empty")])

    def at(year: int) -> float:
        earlier = [v for y, v in points if y <= year]
        if not earlier:
            raise InputError([Problem("options", None, what, f"no value for {year} (the schedule starts "
                                      f"in {points[0][0]})")])
        return earlier[-1]

    return at


def _schedule(value: Schedule, what: str) -> Callable[[int], float]:
    """Year -> value from a number, a ``{year: value}`` table or a Series indexed by year."""
    if isinstance(value, pd.Series):
        return _step(value.to_dict(), what)
    if isinstance(value, Mapping):
        return _step(value, what)
    return _step({0: float(value)}, what)


def _parameter_schedule(rules: RuleSet, name: str) -> Callable[[int], float]:
    p = rules[name]
    return _step(p.by_year if p.by_year is not None else {0: p.value}, name)


def price_schedule(rules: RuleSet, price_path: Schedule = None) -> Callable[[int], float]:
    """Credit price (USD/t) by year: a named path ``price.<name>`` (default base) or the given path.

    Raises
    ------
    InputError
        For an unknown path name.
    """
    if price_path is None or isinstance(price_path, str):
        name = f"price.{price_path or 'base'}"
        if name not in rules.parameters:
            names = ", ".join(calc.parameter_keys(rules, "price"))
            raise InputError([Problem("options", None, "price_path", f"unknown price path '{price_path}'; "
                                      f"expected a number, a table by year or one of {names}")])
        return _parameter_schedule(rules, name)
    return _schedule(price_path, "price_path")


def _empty(columns: list[str], ints: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ints else ("object" if c in (
        "manufacturer", "weight_class", "application") else "float64")) for c in columns})


def _validate_sales(sales: pd.DataFrame, rules: RuleSet, source: str) -> pd.DataFrame:
    """California ZEV rows of an ACT sales table, typed; every problem raised together."""
    missing = [c for c in ("state", "model_year", "weight_class", "powertrain", "vehicles") if c not in sales.columns]
    if missing:
        raise InputError([Problem(source, None, c, "missing column") for c in missing])
    classes = weight_classes(rules)
    rows = sales.reset_index(drop=True)
    mask = (rows["state"].astype(str) == LCFS_STATE) & (rows["powertrain"].astype(str) == ZEV)
    zev = rows.loc[mask]
    found: list[tuple[int, str, str]] = []
    for i, v in zev.loc[~zev["weight_class"].astype(str).isin(classes), "weight_class"].items():
        found.append((int(i), "weight_class", f"unknown weight class '{v}'; expected one of {', '.join(classes)}"))
    for col in ("model_year", "vehicles"):
        num = pd.to_numeric(zev[col], errors="coerce")
        bad = num.isna() | (num != num.round()) | ((num < 0) if col == "vehicles" else False)
        for i in zev.index[bad.to_numpy()]:
            found.append((int(i), col, f"expected a whole number{' >= 0' if col == 'vehicles' else ''}, "
                                       f"got {zev.at[i, col]!r}"))
    if found:
        raise InputError([Problem(source, i + 1, col, msg) for i, col, msg in sorted(found)])
    out = rows.loc[mask].copy()
    out["model_year"] = out["model_year"].astype("int64")
    out["vehicles"] = out["vehicles"].astype("int64")
    out["weight_class"] = out["weight_class"].astype(str)
    if "manufacturer" in out.columns:
        out["manufacturer"] = out["manufacturer"].astype(str)
    return out


def fleet_value(sales: pd.DataFrame, rules: RuleSet, price_path: Schedule = None, *,
                annual_energy_kwh: Mapping[str, float] | None = None,
                survival: Sequence[float] | None = None,
                grid_ci: Schedule = None,
                announcements: Sequence[Any] | None = None,
                years: tuple[int, int] | None = None,
                by_manufacturer: bool = False,
                source: str = "sales") -> pd.DataFrame:
    """LCFS credits and value of California ZEV trucks, by calendar year and model-year cohort.

    Parameters
    ----------
    sales : DataFrame
        ACT sales table (``manufacturer, state, model_year, weight_class, powertrain, aer_miles,
        vehicles``). Only ``state == 'CA'`` and ``powertrain == 'ZEV'`` rows count.
    rules : RuleSet
        LCFS rule set (:func:`act_pool.lcfs.load_lcfs_rules`).
    price_path : number, {year: USD/t}, Series, or 'base' | 'low' | 'high', optional
        Credit price, USD per t CO2e, a step schedule by year; default ``price.base``.
    annual_energy_kwh : {weight_class: kWh per vehicle-year}, optional
        Replaces ``fleet.annual_energy_kwh.<class>`` for the classes given.
    survival : sequence of float, optional
        Fraction in service by age (0 = model year); default ``fleet.survival``.
    grid_ci : number, {year: gCO2e/MJ} or Series, optional
        Electricity CI path; default ``ci.electricity`` (California average grid).
    announcements : sequence, optional
        AAM announcement quarters (``'2027Q2'``); default ``aam.announcements`` (none).
    years : (first, last), optional
        Calendar years valued; default ``fleet.first_year`` to ``fleet.last_year``.
    by_manufacturer : bool
        Keep a ``manufacturer`` column instead of summing over manufacturers.
    source : str
        Name of the sales table in error messages.

    Returns
    -------
    DataFrame
        One row per calendar year x model year x weight class (x manufacturer) with vehicles in
        service: ``calendar_year, model_year, weight_class, application, age, vehicles_sold,
        vehicles_in_service, energy_mwh, benchmark`` (mean of the four quarterly benchmarks,
        gCO2e/MJ), ``eer, ci`` (gCO2e/MJ), ``credits_t`` (t CO2e), ``price_usd_per_t, value_usd``.
        Sorted by those keys; floats rounded (6 decimals, value_usd 2).

    Raises
    ------
    InputError
        For a sales table without the needed columns, an unknown weight class, a negative or
        fractional vehicle count, an unknown price path or a year a schedule does not cover.
    """
    zev = _validate_sales(sales, rules, source)
    aam = calc.parse_announcements(announcements, rules, "options", "announcements")
    energy = {c: float(rules.value(f"fleet.annual_energy_kwh.{c}")) for c in weight_classes(rules)}
    if annual_energy_kwh:
        unknown = [c for c in annual_energy_kwh if c not in energy]
        if unknown:
            raise InputError([Problem("options", None, "annual_energy_kwh", f"unknown weight class '{c}'; "
                                      f"expected one of {', '.join(energy)}") for c in unknown])
        energy.update({c: float(v) for c, v in annual_energy_kwh.items()})
    surv = [float(s) for s in (survival if survival is not None else rules.value("fleet.survival"))]
    if any(not 0 <= s <= 1 for s in surv):
        raise InputError([Problem("options", None, "survival", "survival fractions must lie between 0 and 1")])
    price = price_schedule(rules, price_path)
    ci_at = _parameter_schedule(rules, "ci.electricity") if grid_ci is None else _schedule(grid_ci, "grid_ci")
    first, last = years if years is not None else (int(rules.value("fleet.first_year")),
                                                    int(rules.value("fleet.last_year")))
    mj_per_kwh = calc.energy_mj(rules, "electricity", 1.0, "kWh")

    keys = (["manufacturer"] if by_manufacturer else []) + ["model_year", "weight_class"]
    cohorts = zev.groupby(keys, as_index=False)["vehicles"].sum().rename(columns={"vehicles": "vehicles_sold"})
    cal = pd.DataFrame({"calendar_year": np.arange(first, last + 1, dtype="int64")})
    table = cohorts.merge(cal, how="cross")
    table["age"] = table["calendar_year"] - table["model_year"]
    table = table[(table["age"] >= 0) & (table["age"] < len(surv))].copy()
    table["survival"] = np.asarray(surv, dtype=float)[table["age"].to_numpy()]
    table = table[table["survival"] > 0].copy()
    cols = (["manufacturer"] if by_manufacturer else []) + FLEET_COLUMNS
    if table.empty:
        return _empty(cols, ("calendar_year", "model_year", "age", "vehicles_sold"))

    # Credits per MJ by (calendar year, Table 5 column): mean over the four quarters, which carry
    # equal energy, so 2025 (pre/post amendment) and acceleration years are split correctly.
    apps = {c: calc.application(rules, "electricity", rules.value(f"fleet.application.{c}")) for c in energy}
    factors = []
    for year in table["calendar_year"].unique():
        ci = ci_at(int(year))
        for app in {a.vehicle: a for a in apps.values()}.values():
            benches = [calc.benchmark(rules, app.standard, int(year), q, aam) for q in calc.QUARTERS]
            factors.append({"calendar_year": year, "application": app.vehicle, "eer": app.eer, "ci": ci,
                            "benchmark": float(np.mean(benches)),
                            "t_per_mj": float(np.mean([calc.credits(b, app.eer, ci, 1.0) for b in benches])),
                            "price_usd_per_t": price(int(year))})
    table["application"] = table["weight_class"].map({c: a.vehicle for c, a in apps.items()})
    table = table.merge(pd.DataFrame(factors), on=["calendar_year", "application"], how="left")
    table["vehicles_in_service"] = table["vehicles_sold"] * table["survival"]
    kwh = table["vehicles_in_service"] * table["weight_class"].map(energy)
    table["energy_mwh"] = kwh / KWH_PER_MWH
    table["credits_t"] = kwh * mj_per_kwh * table["t_per_mj"]
    table["value_usd"] = table["credits_t"] * table["price_usd_per_t"]
    order = ["calendar_year"] + (["manufacturer"] if by_manufacturer else []) + ["model_year", "weight_class"]
    out = table[cols].sort_values(order, kind="mergesort").reset_index(drop=True)
    return _round(out)


def _round(df: pd.DataFrame) -> pd.DataFrame:
    return calc.round_frame(df, 6, {"value_usd": 2})


def fleet_by_year(table: pd.DataFrame) -> pd.DataFrame:
    """Totals of a :func:`fleet_value` table by calendar year.

    Returns
    -------
    DataFrame
        ``calendar_year, vehicles_in_service, energy_mwh, credits_t, value_usd`` (sums) and
        ``price_usd_per_t`` (the year's price).
    """
    if table.empty:
        return _empty(BY_YEAR_COLUMNS, ("calendar_year",))
    g = table.groupby("calendar_year", as_index=False)
    out = g[["vehicles_in_service", "energy_mwh", "credits_t", "value_usd"]].sum()
    out["price_usd_per_t"] = g["price_usd_per_t"].first()["price_usd_per_t"].to_numpy()
    return _round(out[BY_YEAR_COLUMNS])
