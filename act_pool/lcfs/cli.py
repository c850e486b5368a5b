"""The ``act-pool lcfs`` command: ``calc``, ``fleet`` and ``pool`` (see CONTRACT.md, LCFS companion).

:func:`register` adds the command to the main parser's subparsers. Each handler takes the parsed
arguments and returns the exit status; a user's mistake raises :class:`act_pool.errors.InputError`
(the main command line prints its problems and exits 2). ``--out`` follows the result-folder rules
of the ACT commands (:mod:`act_pool.report.outdir`): it is checked before anything is computed, the
files are written all or nothing in one atomic step, and a file act-pool did not write is never
deleted or replaced.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.lcfs import calc
from act_pool.lcfs.fleet import fleet_by_year, fleet_value
from act_pool.lcfs.limits import MAX_PRICE, out_of_range, price_problem
from act_pool.lcfs.pool import pool_credits
from act_pool.report.outdir import check_out_dir, publish_results
from act_pool.rules.model import RuleSet

COMMAND_LINE = "command line"
FLEET_FILES = ("lcfs_fleet.csv", "lcfs_fleet_by_year.csv", "lcfs_fleet_summary.json")
POOL_FILES = ("lcfs_pool_rows.csv", "lcfs_pool_quarters.csv", "lcfs_pool_summary.json")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``lcfs`` with its subcommands to ``subparsers`` (from ``add_subparsers``); return its parser."""
    lcfs = subparsers.add_parser(
        "lcfs", help="California Low Carbon Fuel Standard credits (calc, fleet, pool)",
        description="LCFS credits and deficits under 17 CCR §95486.1 as amended in 2024 (effective 1 July 2025).")
    sub = lcfs.add_subparsers(dest="lcfs_command", metavar="{calc,fleet,pool}", required=True)

    c = sub.add_parser("calc", help="credits (positive) or deficits (negative) for one quantity of fuel",
                       description="Prints one JSON object: credits_t (t CO2e), benchmark, eer, ci (gCO2e/MJ), "
                                   "energy_mj and the inputs used.")
    c.add_argument("--fuel", required=True, help="electricity, hydrogen, diesel, gasoline, renewable-diesel, biodiesel")
    c.add_argument("--quantity", required=True, help="amount supplied, >= 0")
    c.add_argument("--unit", required=True, help="kWh, kg, gal or MJ")
    c.add_argument("--year", required=True, help="compliance year")
    c.add_argument("--quarter", help="1-4; required for 2025 (the benchmarks changed on 1 July 2025)")
    c.add_argument("--ci", help="certified carbon intensity, gCO2e/MJ (default: the rule set's for the fuel and year)")
    c.add_argument("--vehicle", help="heavy-duty (default for electricity and hydrogen) or light-medium-duty")
    c.add_argument("--feedstock", help="named pathway for the default CI, e.g. used-cooking-oil, zero-ci")
    _common(c)
    c.set_defaults(handler=calc_handler)

    f = sub.add_parser("fleet", help="LCFS credits and value of an ACT scenario's California ZEV trucks",
                       description="By calendar year and model-year cohort. Without --out, prints the yearly totals.")
    f.add_argument("scenario", nargs="?", metavar="SCENARIO", help="ACT scenario TOML (default: the bundled one)")
    f.add_argument("--out", metavar="DIR", help=f"write {', '.join(FLEET_FILES)} into DIR")
    _force(f)
    f.add_argument("--price", metavar="PATH", help="credit price: base (default), low, high, or USD/t for every year")
    f.add_argument("--by-manufacturer", action="store_true", help="keep one row per manufacturer")
    _common(f)
    f.set_defaults(handler=fleet_handler)

    p = sub.add_parser("pool", help="a fuel supplier's credits and deficits by quarter, with the crop-oil cap",
                       description="FUELS.csv columns: year, quarter, fuel, quantity, unit, and optionally "
                                   "feedstock, ci, vehicle. Without --out, prints the quarterly table.")
    p.add_argument("fuels", metavar="FUELS.csv")
    p.add_argument("--out", metavar="DIR", help=f"write {', '.join(POOL_FILES)} into DIR")
    _force(p)
    p.add_argument("--basis", help="crop-oil cap period: quarter or year (default: the rule set's)")
    p.add_argument("--excess-ci", help="CI for crop oil above the cap: benchmark (zero credits) or diesel (ULSD CI)")
    p.add_argument("--measure", help="crop-oil share measured by volume (gal) or energy (MJ)")
    _common(p)
    p.set_defaults(handler=pool_handler)
    return lcfs


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="also write into an existing non-empty folder act-pool did not write, beside its "
                             "files (none of them is deleted or replaced)")


def _check_out(args: argparse.Namespace, input_path: Path) -> None:
    """Refuse an unusable ``--out`` before anything is computed (see :func:`check_out_dir`)."""
    if args.out is not None:
        check_out_dir(args.out, input_path, args.force)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aam", action="append", metavar="QUARTER",
                        help="assume an Automatic Acceleration Mechanism announcement in QUARTER "
                             "(e.g. 2027Q2 or 2027-05-15); repeat for several")
    parser.add_argument("--rules", metavar="FILE", help="an LCFS rule-set TOML (default: the bundled lcfs-2025)")


# --------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------

def _number(args: argparse.Namespace, name: str, whole: bool, problems: list[Problem]) -> Any:
    raw = getattr(args, name, None)
    if raw is None:
        return None
    try:
        value = float(raw)
        if whole:
            if value != int(value):
                raise ValueError
            return int(value)
        return value
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if whole else "a number"
        problems.append(Problem(COMMAND_LINE, None, f"--{name}", f"expected {kind}, got '{raw}'"))
        return None


def _rules(args: argparse.Namespace) -> RuleSet:
    return calc.load_lcfs_rules(getattr(args, "rules", None))


def calc_handler(args: argparse.Namespace) -> int:
    """``act-pool lcfs calc``: print one JSON object for one quantity of fuel."""
    rules = _rules(args)
    problems: list[Problem] = []
    quantity = _number(args, "quantity", False, problems)
    year = _number(args, "year", True, problems)
    quarter = _number(args, "quarter", True, problems)
    ci = _number(args, "ci", False, problems)
    aam: tuple[calc.Announcement, ...] = ()
    try:
        aam = calc.parse_announcements(args.aam, rules, COMMAND_LINE, "--aam")
    except InputError as exc:
        problems += exc.problems
    beyond = out_of_range(quantity, year, ci)
    problems += [Problem(COMMAND_LINE, None, f"--{name}", message) for name, message in beyond.items()]
    if quantity is not None and year is not None:
        problems += [Problem(COMMAND_LINE, None, f"--{p.field}", p.message) for p in
                     calc.check(rules, args.fuel, quantity, args.unit, year, quarter, ci, args.vehicle,
                                args.feedstock, aam) if p.field not in beyond]
    if problems:
        raise InputError(problems)
    result = calc.calculate(rules, args.fuel, quantity, args.unit, year, quarter, ci, args.vehicle,
                            args.feedstock, aam, source=COMMAND_LINE)
    print(json.dumps({**result.to_dict(), "aam": [f"{y}Q{q}" for y, q in aam], "rules": rules.id}, allow_nan=False))
    return 0


def fleet_handler(args: argparse.Namespace) -> int:
    """``act-pool lcfs fleet``: LCFS value of a scenario's California ZEV trucks."""
    from act_pool.scenario import default_scenario_path, load_scenario  # the ACT core, loaded on use

    rules = _rules(args)
    price: Any = args.price
    if price is not None and price not in calc.parameter_keys(rules, "price"):
        problems: list[Problem] = []
        price = _number(args, "price", False, problems)
        if problems or price_problem(price) is not None:
            names = ", ".join(calc.parameter_keys(rules, "price"))
            raise InputError([Problem(COMMAND_LINE, None, "--price", f"expected one of {names} or a price in "
                                      f"USD/t between 0 and {MAX_PRICE:g}, got '{args.price}'")])
    path = Path(args.scenario) if args.scenario else Path(default_scenario_path())
    _check_out(args, path)
    scenario = load_scenario(path)
    aam = calc.parse_announcements(args.aam, rules, COMMAND_LINE, "--aam")
    table = fleet_value(scenario.sales, rules, price, announcements=aam, by_manufacturer=args.by_manufacturer,
                        source=f"{path} (sales)")
    by_year = fleet_by_year(table)
    if args.out is None:
        sys.stdout.write(_csv(by_year))
        return 0
    summary = {
        "command": "lcfs fleet",
        "scenario": getattr(scenario, "name", path.stem),
        "rules": rules.id,
        "price_path": args.price or "base",
        "aam": [f"{y}Q{q}" for y, q in aam],
        "notes": ["Only California ZEV sales count; every ZEV is valued as battery-electric on grid-average "
                  "electricity.", "Credits accrue to the charging-equipment owner, not the manufacturer."],
        "totals": {"credits_t": round(float(table["credits_t"].sum()), 6),
                   "value_usd": round(float(table["value_usd"].sum()), 2),
                   "energy_mwh": round(float(table["energy_mwh"].sum()), 6)},
        "assumptions": assumptions(rules),
    }
    write_outputs(Path(args.out), {FLEET_FILES[0]: _csv(table), FLEET_FILES[1]: _csv(by_year),
                                   FLEET_FILES[2]: _json(summary)}, path, args.force)
    return 0


def pool_handler(args: argparse.Namespace) -> int:
    """``act-pool lcfs pool``: a supplier's credits and deficits by quarter."""
    _check_out(args, Path(args.fuels))
    rules = _rules(args)
    aam = calc.parse_announcements(args.aam, rules, COMMAND_LINE, "--aam")
    try:
        result = pool_credits(Path(args.fuels), rules, basis=args.basis, excess_ci=args.excess_ci,
                              measure=args.measure, announcements=aam)
    except InputError as exc:  # an option's problem names the command-line flag
        raise InputError([Problem(COMMAND_LINE, None, f"--{(p.field or '').replace('_', '-')}", p.message)
                          if p.file == "options" else p for p in exc.problems]) from None
    if args.out is None:
        sys.stdout.write(_csv(result.quarters))
        return 0
    q = result.quarters
    summary = {
        "command": "lcfs pool",
        "volumes": str(args.fuels),
        "rules": rules.id,
        "options": result.options,
        "totals": {"credits_t": round(float(q["credits_t"].sum()), 6),
                   "deficits_t": round(float(q["deficits_t"].sum()), 6),
                   "net_t": round(float(q["net_t"].sum()), 6),
                   "cap_credits_forgone_t": round(float(q["cap_credits_forgone_t"].sum()), 6)},
        "assumptions": assumptions(rules),
    }
    write_outputs(Path(args.out), {POOL_FILES[0]: _csv(result.rows), POOL_FILES[1]: _csv(q),
                                   POOL_FILES[2]: _json(summary)}, Path(args.fuels), args.force)
    return 0


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def assumptions(rules: RuleSet) -> dict[str, dict[str, str]]:
    """Every rule parameter whose confidence is not 'verified', with value, unit, source and note."""
    return {name: {"value": p.display_value(), "unit": p.unit, "confidence": p.confidence,
                   "source": p.source, "note": p.note} for name, p in rules.assumptions().items()}


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def _json(obj: Any) -> str:
    """Strict JSON: a value that is not a finite number is an internal error, never written as NaN."""
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_outputs(out: Path, files: Mapping[str, str], input_path: Path | None = None, force: bool = False) -> None:
    """Write ``files`` (name -> text) as the result folder ``out``, all or nothing.

    The folder follows :func:`act_pool.report.outdir.publish_results`: ``/``, the home folder and
    the input's own folder are refused, an existing non-empty folder act-pool did not write is
    refused unless ``force``, a file act-pool did not write is never deleted or replaced, and the
    old results are swapped for the new ones in one atomic step.

    Raises
    ------
    InputError
        If ``out`` cannot be used as a result folder (a file, ``/``, a foreign folder, ...).
    """
    def fill(folder: Path) -> None:
        for name, text in files.items():
            with open(folder / name, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)

    publish_results(out, fill, input_path, force)
