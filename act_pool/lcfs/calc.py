"""LCFS credits and deficits for one quantity of fuel (17 CCR §95486.1(a)).

The credit equation, in the algebraically identical one-line form of section 95486.1(a)
equations (1)-(3)::

    credits_t = (CI_standard x EER - CI_fuel) x E_fuel_MJ x 1e-6

where ``CI_standard`` is the benchmark of the displaced fuel (gasoline, Table 1 of §95484(d), or
diesel, Table 2 of §95484(e)), ``EER`` the energy economy ratio of Table 5 of §95486.1(a),
``CI_fuel`` the fuel's carbon intensity and ``E_fuel_MJ`` its energy (quantity x Table 4 energy
density). A positive result is credits, a negative one deficits; one credit is one tonne CO2e.

Every regulatory number is read from the rule set (``lcfs-2025.toml``); the only literals here
are unit identities (grams per tonne, quarters per year).

2025 is split at 1 July 2025 (CARB, 2025 LCFS Amendment Implementation FAQ): Q1-Q2 use the
pre-amendment benchmarks and lookup CIs (``*_pre_amendment.*`` parameters), Q3-Q4 the amended
ones, so a 2025 quantity needs its quarter.

The Automatic Acceleration Mechanism (AAM) is modelled as a list of announcement quarters: each
announcement advances the benchmark schedule by ``aam.step_years`` from ``aam.lag_quarters``
quarters later on (benchmark of year t := table value of year t + k).
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from act_pool.errors import InputError, Problem
from act_pool.rules.model import RuleSet, load_rules

GRAMS_PER_TONNE = 1e6  # unit identity: C = 1.0e-6 t/g in §95486.1(a)
QUARTERS = (1, 2, 3, 4)
GENERIC_FEEDSTOCK = "other"  # any feedstock without a named pathway; needs an explicit CI
RULES_FILE = Path(__file__).parent / "data" / "lcfs-2025.toml"

Announcement = tuple[int, int]


class FieldProblem(ValueError):
    """One problem with one input field, before the caller knows the file and row."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def load_lcfs_rules(path: str | Path | None = None) -> RuleSet:
    """The bundled LCFS rule set ``lcfs-2025``, or a rule-set file of the same format.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    return load_rules(Path(path) if path is not None else RULES_FILE)


# --------------------------------------------------------------------------------------------
# What the rule set knows
# --------------------------------------------------------------------------------------------

def parameter_keys(rules: RuleSet, prefix: str) -> list[str]:
    """Sorted names X of the parameters ``prefix.X`` or ``prefix.X.*`` (the next level of the dotted name)."""
    out = {n[len(prefix) + 1:].split(".")[0] for n in rules.parameters if n.startswith(prefix + ".")}
    return sorted(out)


def fuels(rules: RuleSet) -> list[str]:
    """Fuels the rule set can credit: those with a Table 4 energy density."""
    return parameter_keys(rules, "energy_density")


def vehicles(rules: RuleSet) -> list[str]:
    """Table 5 applications (vehicle columns): those with a benchmark in ``standard.*``."""
    return parameter_keys(rules, "standard")


def units(rules: RuleSet, fuel: str) -> list[str]:
    """Units a quantity of ``fuel`` may be given in: its Table 4 unit (e.g. kWh) and MJ."""
    native = rules[f"energy_density.{fuel}"].unit.split("/")[-1].strip()
    return [native] if native == "MJ" else [native, "MJ"]


def feedstocks(rules: RuleSet, fuel: str) -> list[str]:
    """Feedstocks (pathways) named for ``fuel``: default-CI pathways, crop oils if capped, 'other'."""
    names = {n.split(".", 2)[2] for n in rules.parameters
             if n.startswith(f"ci.{fuel}.") and n.count(".") >= 2}
    if "crop_oil_cap.fuels" in rules.parameters and fuel in rules.value("crop_oil_cap.fuels"):
        names.update(rules.value("crop_oil_cap.feedstocks"))
    names.add(GENERIC_FEEDSTOCK)
    return sorted(names)


# --------------------------------------------------------------------------------------------
# Unit conversion (Table 4 energy densities)
# --------------------------------------------------------------------------------------------

def energy_mj(rules: RuleSet, fuel: str, quantity: float, unit: str) -> float:
    """Energy of a quantity of fuel, MJ.

    Parameters
    ----------
    quantity : float
        Amount in ``unit``.
    unit : str
        ``'MJ'`` or the fuel's Table 4 unit (``kWh`` electricity, ``kg`` hydrogen, ``gal`` liquids).

    Returns
    -------
    float
        ``quantity`` x energy density (MJ/unit) of 17 CCR §95486.1 Table 4, or ``quantity`` if in MJ.

    Raises
    ------
    FieldProblem
        For an unknown fuel or a unit the fuel is not measured in.
    """
    if fuel not in fuels(rules):
        raise FieldProblem("fuel", f"unknown fuel '{fuel}'; expected one of {', '.join(fuels(rules))}")
    if unit not in units(rules, fuel):
        raise FieldProblem("unit", f"{fuel} is measured in {' or '.join(units(rules, fuel))}, not '{unit}'")
    if unit == "MJ":
        return float(quantity)
    return float(quantity) * float(rules.value(f"energy_density.{fuel}"))


def quantity_from_mj(rules: RuleSet, fuel: str, mj: float, unit: str) -> float:
    """Inverse of :func:`energy_mj`: the amount of ``fuel`` in ``unit`` holding ``mj`` MJ."""
    return float(mj) / energy_mj(rules, fuel, 1.0, unit)


# --------------------------------------------------------------------------------------------
# Periods: the 2025 split and the acceleration mechanism
# --------------------------------------------------------------------------------------------

def _amendment(rules: RuleSet) -> Announcement:
    return int(rules.value("amendment.effective_year")), int(rules.value("amendment.effective_quarter"))


def before_amendment(rules: RuleSet, year: int, quarter: int | None) -> bool:
    """Whether (year, quarter) precedes the amendment (Q3 2025): pre-amendment values apply.

    ``quarter`` may be None except in the amendment year itself.
    """
    eff_year, eff_q = _amendment(rules)
    if year != eff_year:
        return year < eff_year
    if quarter is None:
        raise FieldProblem("quarter", _quarter_message(rules, year))
    return quarter < eff_q


def _quarter_message(rules: RuleSet, year: int) -> str:
    eff_year, eff_q = _amendment(rules)
    return (f"a quarter (1-4) is required for {year}: the amended benchmarks apply from "
            f"Q{eff_q} {eff_year} (earlier quarters use the pre-amendment values)")


def parse_announcements(values: Iterable[Any] | None, rules: RuleSet, source: str = "aam",
                        field: str = "aam") -> tuple[Announcement, ...]:
    """AAM announcement quarters from ``'2027Q2'``, ``'2027-05-15'`` or ``(2027, 2)``.

    None means the rule set's default ``aam.announcements`` (empty: no acceleration).

    Raises
    ------
    InputError
        Naming ``source`` and ``field``, for a value that is not a quarter or precedes the first possible
        announcement (``aam.first_announcement_*``, 15 May 2027), or a repeated quarter.
    """
    if values is None:
        values = rules.value("aam.announcements")
    first = (int(rules.value("aam.first_announcement_year")), int(rules.value("aam.first_announcement_quarter")))
    out: list[Announcement] = []
    problems: list[Problem] = []
    for v in values:
        try:
            a = _parse_quarter(v)
        except ValueError as exc:
            problems.append(Problem(source, None, field, str(exc)))
            continue
        if a < first:
            problems.append(Problem(source, None, field, f"announcement {a[0]}Q{a[1]} precedes the first "
                                    f"possible AAM announcement ({first[0]}Q{first[1]})"))
        elif a in out:
            problems.append(Problem(source, None, field, f"announcement {a[0]}Q{a[1]} is listed twice"))
        else:
            out.append(a)
    if problems:
        raise InputError(problems)
    return tuple(sorted(out))


def _parse_quarter(v: Any) -> Announcement:
    if isinstance(v, (tuple, list)) and len(v) == 2:
        y, q = int(v[0]), int(v[1])
    elif isinstance(v, date):
        y, q = v.year, (v.month - 1) // 3 + 1
    else:
        s = str(v).strip()
        m = re.fullmatch(r"(\d{4})\s*-?\s*[Qq]([1-4])", s)
        if m:
            y, q = int(m.group(1)), int(m.group(2))
        else:
            try:
                d = date.fromisoformat(s)
            except ValueError:
                raise ValueError(f"'{s}' is not a quarter: expected e.g. 2027Q2 or 2027-05-15") from None
            y, q = d.year, (d.month - 1) // 3 + 1
    if q not in QUARTERS:
        raise ValueError(f"quarter {q} of {y} is not 1-4")
    return y, q


def aam_shift(rules: RuleSet, announcements: Sequence[Announcement], year: int, quarter: int) -> int:
    """Years by which the benchmark schedule is advanced in (year, quarter).

    Each announcement takes effect ``aam.lag_quarters`` quarters after its quarter and advances
    the schedule by ``aam.step_years`` (ISOR design: 'advance by one year'; ref §5).
    """
    lag = int(rules.value("aam.lag_quarters"))
    step = int(rules.value("aam.step_years"))
    now = year * 4 + quarter - 1
    return step * sum(1 for (y, q) in announcements if y * 4 + q - 1 + lag <= now)


def quarter_required(rules: RuleSet, year: int, announcements: Sequence[Announcement] = ()) -> str | None:
    """Why a quantity in ``year`` needs its quarter (the values change within the year), or None."""
    if year == _amendment(rules)[0]:
        return _quarter_message(rules, year)
    shifts = {aam_shift(rules, announcements, year, q) for q in QUARTERS}
    if len(shifts) > 1:
        return (f"a quarter (1-4) is required for {year}: the assumed acceleration changes the "
                f"benchmarks within the year")
    return None


# --------------------------------------------------------------------------------------------
# Benchmarks, EERs and default CIs
# --------------------------------------------------------------------------------------------

def _pre_amendment_name(name: str) -> str:
    head, _, rest = name.partition(".")
    return f"{head}_pre_amendment.{rest}"


def _in_force(rules: RuleSet, name: str, year: int, quarter: int | None, shift: int = 0) -> float:
    """Value of parameter ``name`` for (year, quarter): its pre-amendment twin before Q3 2025."""
    pre = _pre_amendment_name(name)
    if pre in rules.parameters and before_amendment(rules, year, quarter):
        name, shift = pre, 0
    p = rules[name]
    try:
        return float(p.at(year + shift))
    except KeyError:
        first = min(p.by_year) if p.by_year else year
        raise FieldProblem("year", f"{name} has no value for {year} (its schedule starts in {first})") from None


def benchmark(rules: RuleSet, standard: str, year: int, quarter: int | None = None,
              announcements: Sequence[Announcement] = ()) -> float:
    """Carbon-intensity benchmark, gCO2e/MJ (17 CCR §95484(d) Table 1, §95484(e) Table 2).

    Parameters
    ----------
    standard : {"gasoline", "diesel"}
        The displaced fuel's table.
    year, quarter : int
        Compliance year and quarter. The quarter is required in 2025: Q1-Q2 take the
        pre-amendment value (``benchmark_pre_amendment.*``), Q3-Q4 the amended one; and where
        an acceleration changes the benchmark within a year.
    announcements : sequence of (year, quarter)
        AAM announcements (:func:`parse_announcements`); the amended schedule is read at
        ``year + aam_shift`` (never past its last year, which holds).

    Raises
    ------
    FieldProblem
        For a missing quarter, an unknown standard, or a year before the schedule starts.
    """
    name = f"benchmark.{standard}"
    if name not in rules.parameters:
        raise FieldProblem("standard", f"no benchmark for '{standard}'")
    reason = quarter_required(rules, year, announcements)
    if quarter is None and reason:
        raise FieldProblem("quarter", reason)
    shift = aam_shift(rules, announcements, year, quarter or 1)
    return _in_force(rules, name, year, quarter, shift)


@dataclass(frozen=True)
class Application:
    """The Table 5 column a fuel is credited in: vehicle, displaced fuel (benchmark) and EER."""

    vehicle: str
    standard: str
    eer: float


def application(rules: RuleSet, fuel: str, vehicle: str | None = None) -> Application:
    """Table 5 column, benchmark and EER for a fuel (17 CCR §95486.1(a) Table 5).

    Electricity and hydrogen have an EER in both columns: ``vehicle`` chooses it (default
    ``application.<fuel>``, heavy-duty). Liquid fuels are listed in one column only
    (gasoline: light/medium-duty, against gasoline; diesel, renewable diesel, biodiesel:
    heavy-duty, against diesel) and may not be put in the other.

    Raises
    ------
    FieldProblem
        For an unknown fuel or vehicle, or a vehicle column the fuel has no EER in.
    """
    if fuel not in fuels(rules):
        raise FieldProblem("fuel", f"unknown fuel '{fuel}'; expected one of {', '.join(fuels(rules))}")
    default = rules.value(f"application.{fuel}")
    v = default if vehicle is None else vehicle
    if v not in vehicles(rules):
        raise FieldProblem("vehicle", f"unknown vehicle '{v}'; expected one of {', '.join(vehicles(rules))}")
    name = f"eer.{v}.{fuel}"
    if name not in rules.parameters:
        raise FieldProblem("vehicle", f"{fuel} has no EER for {v} applications in Table 5: it is always "
                           f"credited as {default} (against the {rules.value(f'standard.{default}')} benchmark)")
    return Application(vehicle=v, standard=rules.value(f"standard.{v}"), eer=float(rules.value(name)))


def default_ci(rules: RuleSet, fuel: str, year: int, quarter: int | None = None,
               feedstock: str | None = None) -> tuple[float, str]:
    """Default carbon intensity of a fuel (or of a named pathway), gCO2e/MJ, and its parameter.

    Reads ``ci.<fuel>`` or ``ci.<fuel>.<feedstock>`` (lookup-table and reported pathway values,
    17 CCR §95488.1, §95488.9(b)(4) for the annually updated grid CI), or its
    ``ci_pre_amendment.*`` twin before Q3 2025.

    Raises
    ------
    FieldProblem
        ``ci`` if the rule set has no default for that fuel and feedstock (give a certified CI).
    """
    name = f"ci.{fuel}" if not feedstock else f"ci.{fuel}.{feedstock}"
    if name not in rules.parameters:
        what = fuel if not feedstock else f"{fuel} from '{feedstock}'"
        raise FieldProblem("ci", f"no default CI for {what} in {rules.id}: give the pathway's certified CI")
    return _in_force(rules, name, year, quarter), name


def credits(ci_standard: Any, eer: Any, ci_fuel: Any, energy_mj: Any) -> Any:
    """Credits (positive) or deficits (negative), t CO2e (17 CCR §95486.1(a) eqs. 1-3).

    ``(ci_standard x eer - ci_fuel) x energy_mj / 1e6``; works on floats, numpy arrays and pandas Series.

    Parameters
    ----------
    ci_standard : float or array
        Benchmark of the displaced fuel, gCO2e/MJ.
    eer : float or array
        Energy economy ratio (Table 5), dimensionless.
    ci_fuel : float or array
        Carbon intensity of the fuel supplied, gCO2e/MJ.
    energy_mj : float or array
        Energy of the fuel supplied, MJ.
    """
    return (ci_standard * eer - ci_fuel) * energy_mj / GRAMS_PER_TONNE


_WIDE = Context(prec=60)


def round_half_up(x: float, digits: int = 6) -> float:
    """``x`` rounded to ``digits`` decimals, halves away from zero, as a hand calculation would.

    Binary noise is removed first (at ``digits + 3`` decimals), so 7.7647385, stored as
    7.76473849999..., rounds to 7.764739. For display and result files.
    """
    if not math.isfinite(x):
        return x
    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-(digits + 3)), ROUND_HALF_EVEN, _WIDE)
    return float(d.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP, _WIDE)) + 0.0  # + 0.0: no -0.0


def round_frame(df: Any, digits: int = 6, columns: Mapping[str, int] | None = None) -> Any:
    """A copy of a DataFrame with every float column rounded by :func:`round_half_up`.

    ``columns`` gives other digits for named columns (e.g. ``{"value_usd": 2}``).
    """
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            n = (columns or {}).get(c, digits)
            out[c] = out[c].map(lambda v, n=n: round_half_up(v, n)).astype("float64")
    return out


# --------------------------------------------------------------------------------------------
# One quantity of fuel
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credit:
    """Credits or deficits of one quantity of fuel, with everything that went into them.

    Attributes
    ----------
    credits_t : float
        Credits (positive) or deficits (negative), t CO2e.
    benchmark : float
        ``CI_standard``, gCO2e/MJ; ``standard`` names its table (gasoline or diesel).
    eer : float
        Energy economy ratio; ``vehicle`` names the Table 5 column.
    ci : float
        Fuel CI, gCO2e/MJ; ``ci_source`` is 'given' or the rule parameter it came from.
    energy_mj : float
        Energy of the quantity, MJ.
    """

    fuel: str
    quantity: float
    unit: str
    year: int
    quarter: int | None
    vehicle: str
    standard: str
    feedstock: str | None
    benchmark: float
    eer: float
    ci: float
    ci_source: str
    energy_mj: float
    credits_t: float

    def to_dict(self, digits: int = 6) -> dict[str, Any]:
        """Plain dict for JSON, floats rounded to ``digits`` decimals."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round_half_up(v, digits)
        return d


def check(rules: RuleSet, fuel: str, quantity: float, unit: str, year: int, quarter: int | None = None,
          ci: float | None = None, vehicle: str | None = None, feedstock: str | None = None,
          announcements: Sequence[Announcement] = ()) -> list[FieldProblem]:
    """Every problem with one request, at most one per field (empty when :func:`calculate` can run)."""
    problems: list[FieldProblem] = []

    def add(field: str, message: str) -> None:
        if not any(p.field == field for p in problems):
            problems.append(FieldProblem(field, message))

    def attempt(fn: Any) -> Any:
        try:
            return fn()
        except FieldProblem as exc:
            add(exc.field, exc.message)
            return None

    known_fuel = fuel in fuels(rules)
    if not known_fuel:
        add("fuel", f"unknown fuel '{fuel}'; expected one of {', '.join(fuels(rules))}")
    if not math.isfinite(quantity):
        add("quantity", f"quantity must be a finite number, got {quantity}")
    elif quantity < 0:
        add("quantity", f"quantity must be >= 0, got {quantity:g}")
    if ci is not None and not math.isfinite(ci):
        add("ci", f"ci must be a finite number, got {ci}")
    quarter_ok = quarter is None or quarter in QUARTERS
    if not quarter_ok:
        add("quarter", f"quarter must be 1, 2, 3 or 4, got {quarter}")
    elif quarter is None and (reason := quarter_required(rules, year, announcements)):
        add("quarter", reason)
    if not known_fuel:
        return problems
    attempt(lambda: energy_mj(rules, fuel, 0.0, unit))
    app = attempt(lambda: application(rules, fuel, vehicle))
    feedstock_ok = not feedstock or feedstock in feedstocks(rules, fuel)
    if not feedstock_ok:
        add("feedstock", f"unknown feedstock '{feedstock}' for {fuel}; expected one of "
            f"{', '.join(feedstocks(rules, fuel))}")
    if quarter_ok and not any(p.field == "quarter" for p in problems):
        if app is not None:
            attempt(lambda: benchmark(rules, app.standard, year, quarter, announcements))
        if ci is None and feedstock_ok:
            attempt(lambda: default_ci(rules, fuel, year, quarter, feedstock))
    return problems


def calculate(rules: RuleSet, fuel: str, quantity: float, unit: str, year: int, quarter: int | None = None,
              ci: float | None = None, vehicle: str | None = None, feedstock: str | None = None,
              announcements: Sequence[Announcement] = (), source: str = "lcfs calc") -> Credit:
    """Credits or deficits for one quantity of fuel (17 CCR §95486.1(a)).

    Parameters
    ----------
    rules : RuleSet
        The LCFS rule set (:func:`load_lcfs_rules`).
    fuel : str
        One of :func:`fuels`: electricity, hydrogen, diesel (fossil ULSD), gasoline (CARBOB),
        renewable-diesel, biodiesel.
    quantity : float
        Amount supplied, >= 0, in ``unit``.
    unit : str
        ``kWh`` (electricity), ``kg`` (hydrogen), ``gal`` (liquids) or ``MJ``.
    year, quarter : int
        Compliance year and quarter; the quarter is required in 2025.
    ci : float, optional
        Certified CI of the pathway, gCO2e/MJ; default :func:`default_ci`.
    vehicle : {"heavy-duty", "light-medium-duty"}, optional
        Table 5 column for electricity and hydrogen (default heavy-duty: truck EER vs diesel).
    feedstock : str, optional
        Named pathway whose default CI to use (e.g. ``used-cooking-oil``).
    announcements : sequence of (year, quarter)
        AAM announcements assumed (default none).
    source : str
        Name given to the input in error messages.

    Returns
    -------
    Credit

    Raises
    ------
    InputError
        Every problem with the request, each naming ``source`` and the field.
    """
    found = check(rules, fuel, quantity, unit, year, quarter, ci, vehicle, feedstock, announcements)
    if found:
        raise InputError([Problem(source, None, p.field, p.message) for p in found])
    app = application(rules, fuel, vehicle)
    bench = benchmark(rules, app.standard, year, quarter, announcements)
    if ci is None:
        ci_value, ci_source = default_ci(rules, fuel, year, quarter, feedstock)
    else:
        ci_value, ci_source = float(ci), "given"
    mj = energy_mj(rules, fuel, quantity, unit)
    return Credit(fuel=fuel, quantity=float(quantity), unit=unit, year=int(year), quarter=quarter,
                  vehicle=app.vehicle, standard=app.standard, feedstock=feedstock, benchmark=bench,
                  eer=app.eer, ci=ci_value, ci_source=ci_source, energy_mj=mj,
                  credits_t=float(credits(bench, app.eer, ci_value, mj)))
