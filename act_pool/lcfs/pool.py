"""A fuel supplier's LCFS credits and deficits by quarter, with the crop-oil cap.

Input: a CSV of quarterly volumes, one row per fuel (and feedstock) supplied in a quarter:

=============  =========  ==========================================================================
column         required   meaning
=============  =========  ==========================================================================
``year``       yes        compliance year (whole number)
``quarter``    yes        1-4 (2025 in particular is split at 1 July 2025)
``fuel``       yes        electricity, hydrogen, diesel, gasoline, renewable-diesel, biodiesel
``quantity``   yes        amount supplied, >= 0
``unit``       yes        kWh, kg, gal (the fuel's Table 4 unit) or MJ
``feedstock``  no         pathway / feedstock, e.g. used-cooking-oil, soybean, canola, zero-ci, other
``ci``         no         certified CI, gCO2e/MJ; default: the rule set's CI for fuel and feedstock
``vehicle``    no         heavy-duty or light-medium-duty (electricity and hydrogen only)
=============  =========  ==========================================================================

Credits per row follow 17 CCR §95486.1(a) (:func:`act_pool.lcfs.calc.calculate`). From
``crop_oil_cap.start_year`` (2028), the company's biomass-based diesel (``crop_oil_cap.fuels``)
from crop oils (``crop_oil_cap.feedstocks``: soybean, canola, sunflower) earns credits at its CI up
to ``crop_oil_cap.share`` (20 %) of its biomass-based diesel in the period (``basis``: quarter or
year); the excess is credited at the greater of its CI and the assigned CI (``excess_ci``:
the diesel benchmark, i.e. zero credits, or the fossil ULSD CI, i.e. deficits). The excess is
shared pro rata over the period's crop-oil rows. The cap test is exact (decimal arithmetic), so
a share of exactly 20 % is within the cap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from act_pool.csv_table import ROW, read_csv_table
from act_pool.errors import InputError, Problem
from act_pool.lcfs import calc
from act_pool.lcfs.limits import out_of_range
from act_pool.rules.model import RuleSet

REQUIRED = ("year", "quarter", "fuel", "quantity", "unit")
OPTIONAL = ("feedstock", "ci", "vehicle")
ROW_COLUMNS = ["row", "year", "quarter", "fuel", "feedstock", "vehicle", "quantity", "unit", "energy_mj",
               "ci", "ci_source", "standard", "benchmark", "eer", "crop_oil", "excess_share", "excess_ci",
               "credits_t"]
QUARTER_COLUMNS = ["year", "quarter", "credits_t", "deficits_t", "net_t", "cap_unit", "bbd_amount",
                   "crop_oil_amount", "crop_oil_share", "cap_excess_amount", "cap_credits_forgone_t"]


@dataclass(frozen=True)
class PoolResult:
    """Result of :func:`pool_credits`.

    Attributes
    ----------
    rows : DataFrame
        One row per input row (``ROW_COLUMNS``): energy, CI, benchmark, EER, the share of the row
        above the crop-oil cap and the CI it got, and ``credits_t`` (positive credits, negative
        deficits, t CO2e).
    quarters : DataFrame
        One row per year and quarter (``QUARTER_COLUMNS``): ``credits_t`` (sum of positive rows),
        ``deficits_t`` (sum of negative rows, as a positive number), ``net_t``; the crop-oil cap
        test in ``cap_unit`` (gal or MJ) and the credits it cost.
    options : dict
        Cap basis, measure and excess CI, and the AAM announcements used.
    """

    rows: pd.DataFrame
    quarters: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Reading and validating the volumes table
# --------------------------------------------------------------------------------------------

def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """Header, rows (column -> text) and row numbers of a volumes CSV (a regular file within the size
    limit of :mod:`act_pool.files`); rows with the wrong number of fields are problems."""
    label = str(path)
    problems: list[Problem] = []
    columns: list[str] = []

    def header_ok(header: list[str]) -> bool:
        columns.extend(header)
        repeated = sorted({c for c in header if header.count(c) > 1})
        problems.extend(Problem(label, None, c, "column named more than once in the header") for c in repeated)
        return not repeated

    table = read_csv_table(label, label, header_ok, problems)
    if problems or table is None:
        raise InputError(problems)
    texts = {c: [str(v) for v in table[c]] for c in columns}
    rows = [{c: texts[c][i] for c in columns} for i in range(len(table))]
    return columns, rows, [int(n) for n in table[ROW]]


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def _optional(v: Any) -> str | None:
    """A text cell that may be empty (None, NaN or '') as str or None."""
    return v if isinstance(v, str) and v else None


def _decimal(s: str) -> Decimal:
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"expected a number, got '{s}'") from None
    if not d.is_finite():
        raise ValueError(f"expected a finite number, got '{s}'")
    return d


def _whole(s: str) -> int:
    d = _decimal(s)
    if d != d.to_integral_value():
        raise ValueError(f"expected a whole number, got '{s}'")
    return int(d)


def validate_volumes(records: Iterable[Mapping[str, Any]], rules: RuleSet, source: str,
                     header: Sequence[str] | None = None, numbers: Sequence[int] | None = None) -> pd.DataFrame:
    """Typed volumes table from raw records, or every problem at once.

    Parameters
    ----------
    records : iterable of mappings
        Data rows (column -> text or value); row numbers in messages are 1-based.
    header : sequence of str, optional
        Column names (default: the keys of the first record).
    numbers : sequence of int, optional
        Row number of each record in messages (default: 1, 2, ...).

    Returns
    -------
    DataFrame
        ``row, year, quarter, fuel, feedstock, quantity`` (Decimal), ``unit, ci`` (float or NaN),
        ``vehicle``.

    Raises
    ------
    InputError
        Each problem naming ``source``, the data row and the field: missing or unknown columns,
        unknown fuel, unit, feedstock or vehicle, a negative or non-numeric quantity, a missing
        quarter (2025 especially), a year without benchmarks, no default CI and none given.
    """
    records = list(records)
    cols = list(header) if header is not None else (list(records[0]) if records else [])
    problems = [Problem(source, None, c, "missing column") for c in REQUIRED if c not in cols]
    problems += [Problem(source, None, c, f"unknown column; expected {', '.join(REQUIRED + OPTIONAL)}")
                 for c in cols if c not in REQUIRED + OPTIONAL]
    if problems:
        raise InputError(problems)
    if not records:
        raise InputError([Problem(source, None, None, "the volumes table has no data rows")])
    out = []
    for i, rec in zip(numbers if numbers is not None else range(1, len(records) + 1), records):
        row, found = _check_row(rules, source, i, rec)
        out.append(row)
        problems += found
    if problems:
        raise InputError(problems)
    return pd.DataFrame(out, columns=["row", "year", "quarter", "fuel", "feedstock", "quantity", "unit", "ci",
                                      "vehicle"])


def _check_row(rules: RuleSet, source: str, i: int, rec: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """One data row typed, and its problems (at most one per field)."""
    raw = {c: _text(rec.get(c)) for c in REQUIRED + OPTIONAL}
    found: list[Problem] = []

    def add(col: str, message: str) -> None:
        if not any(p.field == col for p in found):
            found.append(Problem(source, i, col, message))

    def parse(col: str, fn: Any) -> Any:
        if raw[col] == "":
            return None
        try:
            return fn(raw[col])
        except ValueError as exc:
            add(col, str(exc))
            return None

    year = parse("year", _whole)
    quarter = parse("quarter", _whole)
    quantity = parse("quantity", _decimal)
    ci = parse("ci", lambda s: float(_decimal(s)))
    fuel = raw["fuel"].lower()
    feedstock = raw["feedstock"].lower() or None
    vehicle = raw["vehicle"].lower() or None
    unit = raw["unit"]
    if fuel in calc.fuels(rules):
        unit = next((u for u in calc.units(rules, fuel) if u.lower() == unit.lower()), unit)
    for col in ("year", "fuel", "quantity", "unit"):
        if raw[col] == "":
            add(col, "a value is required")
    if year is not None and raw["quarter"] == "":
        add("quarter", calc.quarter_required(rules, year)
            or "a quarter (1-4) is required: volumes are reported by quarter")
    for col, message in out_of_range(float(quantity) if quantity is not None else None, year,
                                     ci).items():
        add(col, message)
    if year is not None and fuel and quantity is not None and unit:
        for p in calc.check(rules, fuel, float(quantity), unit, year, quarter, ci, vehicle, feedstock):
            add(p.field, p.message)
    else:
        if fuel and fuel not in calc.fuels(rules):
            add("fuel", f"unknown fuel '{fuel}'; expected one of {', '.join(calc.fuels(rules))}")
        if quantity is not None and quantity < 0:
            add("quantity", f"quantity must be >= 0, got {quantity}")
    row = {"row": i, "year": year, "quarter": quarter, "fuel": fuel, "feedstock": feedstock,
           "quantity": quantity, "unit": unit, "ci": ci, "vehicle": vehicle}
    return row, found


def read_volumes(path: str | Path, rules: RuleSet) -> pd.DataFrame:
    """Read and validate a quarterly volumes CSV (see module docstring); see :func:`validate_volumes`."""
    path = Path(path)
    header, rows, numbers = _read_csv(path)
    return validate_volumes(rows, rules, str(path), header=header, numbers=numbers)


# --------------------------------------------------------------------------------------------
# Credits with the crop-oil cap
# --------------------------------------------------------------------------------------------

def _option(rules: RuleSet, name: str, value: str | None, what: str) -> str:
    p = rules[name]
    v = p.value if value is None else value
    if p.allowed and v not in p.allowed:
        raise InputError([Problem("options", None, what, f"expected one of {', '.join(p.allowed)} "
                                  f"({name}), got '{v}'")])
    return v


def _amount(rules: RuleSet, fuel: str, quantity: Decimal, unit: str, measure: str) -> Decimal:
    """Quantity in the cap's measure: gallons ('volume') or MJ ('energy'), exact where possible."""
    density = Decimal(str(rules.value(f"energy_density.{fuel}")))
    mj = quantity if unit == "MJ" else quantity * density
    if measure == "energy":
        return mj
    return quantity if unit != "MJ" else mj / density


def pool_credits(volumes: pd.DataFrame | str | Path, rules: RuleSet, *, basis: str | None = None,
                 excess_ci: str | None = None, measure: str | None = None,
                 announcements: Sequence[Any] | None = None, source: str = "volumes") -> PoolResult:
    """Credits and deficits by quarter for one supplier's volumes (17 CCR §95486.1(a)).

    Parameters
    ----------
    volumes : DataFrame or path
        The volumes table (see module docstring): a CSV path, or a DataFrame with those columns.
    rules : RuleSet
        LCFS rule set.
    basis : {"quarter", "year"}, optional
        Period of the crop-oil cap test; default ``crop_oil_cap.basis``.
    excess_ci : {"benchmark", "diesel"}, optional
        CI assigned to crop oil above the cap; default ``crop_oil_cap.excess_ci``.
    measure : {"volume", "energy"}, optional
        Measure of the cap share; default ``crop_oil_cap.measure``.
    announcements : sequence, optional
        AAM announcement quarters (``'2027Q2'``); default ``aam.announcements`` (none).
    source : str
        Name of a DataFrame input in error messages (a path names itself).

    Returns
    -------
    PoolResult

    Raises
    ------
    InputError
        For any invalid row or option, naming file, row and field.
    """
    if isinstance(volumes, (str, Path)):
        table = read_volumes(volumes, rules)
    else:
        table = validate_volumes(volumes.to_dict("records"), rules, source, header=list(volumes.columns))
    basis = _option(rules, "crop_oil_cap.basis", basis, "basis")
    excess_ci = _option(rules, "crop_oil_cap.excess_ci", excess_ci, "excess_ci")
    measure = _option(rules, "crop_oil_cap.measure", measure, "measure")
    aam = calc.parse_announcements(announcements, rules, "options", "announcements")
    start = int(rules.value("crop_oil_cap.start_year"))
    share = Decimal(str(rules.value("crop_oil_cap.share")))
    cap_fuels = set(rules.value("crop_oil_cap.fuels"))
    crops = set(rules.value("crop_oil_cap.feedstocks"))

    rows = []
    for r in table.itertuples(index=False):
        ci = None if pd.isna(r.ci) else float(r.ci)
        feedstock = _optional(r.feedstock)
        c = calc.calculate(rules, r.fuel, float(r.quantity), r.unit, int(r.year), int(r.quarter), ci,
                           _optional(r.vehicle), feedstock, aam, source=source)
        bbd = r.fuel in cap_fuels
        rows.append({"row": r.row, "year": c.year, "quarter": c.quarter, "fuel": c.fuel,
                     "feedstock": feedstock or "", "vehicle": c.vehicle, "quantity": r.quantity, "unit": c.unit,
                     "energy_mj": c.energy_mj, "ci": c.ci, "ci_source": c.ci_source, "standard": c.standard,
                     "benchmark": c.benchmark, "eer": c.eer, "crop_oil": bbd and feedstock in crops,
                     "bbd": bbd, "amount": _amount(rules, r.fuel, r.quantity, r.unit, measure) if bbd else Decimal(0),
                     "uncapped_t": c.credits_t})
    df = pd.DataFrame(rows)
    df["period"] = list(zip(df["year"], df["quarter"])) if basis == "quarter" else list(zip(df["year"]))

    # The cap test per period, exact: crop <= share x total is within the cap.
    excess_share: dict[Any, Decimal] = {}
    for period, g in df.groupby("period", sort=True):
        total = sum(g.loc[g["bbd"], "amount"], Decimal(0))
        crop = sum(g.loc[g["crop_oil"], "amount"], Decimal(0))
        over = crop - share * total
        excess_share[period] = over / crop if period[0] >= start and over > 0 else Decimal(0)
    df["excess_share"] = [float(excess_share[p]) if c else 0.0 for p, c in zip(df["period"], df["crop_oil"])]

    def assigned(r: Any) -> float:
        if excess_ci == "benchmark":
            return r.benchmark * r.eer
        return calc.default_ci(rules, "diesel", int(r.year), int(r.quarter))[0]

    df["excess_ci"] = [max(r.ci, assigned(r)) if r.excess_share > 0 else float("nan") for r in df.itertuples()]
    x = df["excess_share"]
    df["credits_t"] = (calc.credits(df["benchmark"], df["eer"], df["ci"], df["energy_mj"] * (1 - x))
                       + calc.credits(df["benchmark"], df["eer"], df["excess_ci"].fillna(0.0), df["energy_mj"] * x))
    df["forgone_t"] = df["uncapped_t"] - df["credits_t"]
    df["excess_amount"] = [a * excess_share[p] if c else Decimal(0)
                           for a, p, c in zip(df["amount"], df["period"], df["crop_oil"])]

    quarters = []
    for (year, quarter), g in df.groupby(["year", "quarter"], sort=True):
        bbd_amount = sum(g.loc[g["bbd"], "amount"], Decimal(0))
        crop_amount = sum(g.loc[g["crop_oil"], "amount"], Decimal(0))
        quarters.append({
            "year": year, "quarter": quarter,
            "credits_t": g["credits_t"].clip(lower=0).sum(), "deficits_t": -g["credits_t"].clip(upper=0).sum(),
            "net_t": g["credits_t"].sum(), "cap_unit": "gal" if measure == "volume" else "MJ",
            "bbd_amount": float(bbd_amount), "crop_oil_amount": float(crop_amount),
            "crop_oil_share": float(crop_amount / bbd_amount) if bbd_amount else 0.0,
            "cap_excess_amount": float(sum(g["excess_amount"], Decimal(0))),
            "cap_credits_forgone_t": g["forgone_t"].sum()})
    out_rows = df.assign(quantity=df["quantity"].map(float))[ROW_COLUMNS]
    return PoolResult(rows=_round(out_rows), quarters=_round(pd.DataFrame(quarters, columns=QUARTER_COLUMNS)),
                      options={"basis": basis, "excess_ci": excess_ci, "measure": measure,
                               "announcements": [f"{y}Q{q}" for y, q in aam]})


def _round(df: pd.DataFrame) -> pd.DataFrame:
    return calc.round_frame(df, 6)
