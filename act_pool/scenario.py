"""Scenario files (TOML plus CSV tables): loading and validation.

Every problem found is collected and raised at once as :class:`~act_pool.errors.InputError`,
each naming the file, the data row (1-based, the header not counted) and the field, before any
result is computed or written.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from act_pool.csv_table import read_csv_table
from act_pool.errors import InputError, Problem
from act_pool.files import load_toml
from act_pool.rules import RuleSet, load_rules
from act_pool.rules.clauses import credit_last_model_year, state_codes
from act_pool.solve import DEFAULT_SOLVER, SOLVERS
from act_pool.tenths import format_tenths
from act_pool.validation import (BANK_COLUMNS, MAX_WHOLE, SALES_COLUMNS, TRADE_COLUMNS, as_strings,
                                 control_character, printable, text_table, validate_bank, validate_sales,
                                 validate_trades)

__all__ = ["BANK_COLUMNS", "MAX_WHOLE", "ORDER_PREFERENCES", "RETIREMENT_MODES", "SALES_COLUMNS", "TRADE_COLUMNS",
           "Scenario", "build_scenario", "default_scenario_path", "load_scenario", "rules_allow_pooling",
           "scenario_from_frames"]

RETIREMENT_MODES = ("optimal", "earliest-expiring")
_SCENARIO_KEYS = {"name", "rules", "sales", "bank", "trades", "purchase", "model_years", "states", "pooling",
                  "retirement", "overrides", "description", "plan", "solver"}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything a run needs, nothing read from disk later.

    Attributes
    ----------
    name : str
    rules : RuleSet
        The rule set with the scenario's overrides applied.
    sales : DataFrame
        Columns of the sales table; ``model_year`` and ``vehicles`` int64, ``aer_miles`` exact
        :class:`~decimal.Decimal` or None. Only rows of the simulated states and model years.
    bank : DataFrame
        Opening balances; ``credits`` in integer tenths (column ``credits_tenths``).
    model_years : tuple of int
        First and last model year simulated, inclusive.
    states : tuple of str
    pooling : bool
    retirement : str or tuple of str
        ``"optimal"``, ``"earliest-expiring"``, or an explicit order: a tuple of preferences from
        :data:`ORDER_PREFERENCES` applied year by year (rule sets with a flexible order only).
    trades : DataFrame
        Declared transfers between manufacturers (``credits_tenths``; ``row`` is the table row).
    trades_file : str
        Where the trades came from, for error messages.
    purchase_price : Decimal or None
        Price (USD per credit) at which manufacturers may buy credits to cover what they cannot meet.
    purchase_manufacturers : tuple of str or None
        Who may buy (None: everyone).
    path : Path or None
        The scenario file, when loaded from one.
    plan : mapping or None
        The validated ``[plan]`` table (levers of ``act-pool plan``, see :mod:`act_pool.plan.levers`).
    solver : str
        Solver of the optimal plan, one of :data:`act_pool.solve.SOLVERS` (default ``"simplex"``).
    trades_beyond_holdings : str
        What a declared trade does when its seller does not hold the credits it sells: ``"error"``
        (the default: an input error naming the trades row) or ``"cap"`` (the trade moves what the
        seller holds then, possibly nothing). Set in code only; sweeps use ``"cap"`` for Monte Carlo
        samples, whose sampled sales may fall below what a plan's trades sell.
    """

    name: str
    rules: RuleSet
    sales: pd.DataFrame
    bank: pd.DataFrame
    model_years: tuple[int, int]
    states: tuple[str, ...]
    pooling: bool
    retirement: str | tuple[str, ...]
    trades: pd.DataFrame = field(default_factory=lambda: _empty_trades())
    trades_file: str = "trades"
    purchase_price: Decimal | None = None
    purchase_manufacturers: tuple[str, ...] | None = None
    path: Path | None = None
    description: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    plan: Mapping[str, Any] | None = None
    solver: str = DEFAULT_SOLVER
    trades_beyond_holdings: str = "error"

    @property
    def years(self) -> range:
        """The simulated model years."""
        return range(self.model_years[0], self.model_years[1] + 1)

    def with_rules(self, rules: str | RuleSet, pooling: bool | None = None,
                   retirement: str | tuple[str, ...] | None = None) -> "Scenario":
        """The same sales and bank under another rule set (overrides re-applied)."""
        base = load_rules(rules) if isinstance(rules, str) else rules
        ruleset = base.with_overrides(self.overrides, str(self.path or self.name)) if self.overrides else base
        pool = rules_allow_pooling(ruleset) if pooling is None else pooling
        mode = _check_modes(ruleset, pool, retirement or str(ruleset.value("retirement.default")),
                            str(self.path or self.name), [])
        return replace(self, rules=ruleset, pooling=pool, retirement=mode)

    def with_sales(self, sales: pd.DataFrame) -> "Scenario":
        """The same scenario with another sales table (columns of sales.csv), validated afresh."""
        options = {"model_years": list(self.model_years), "states": list(self.states), "pooling": self.pooling,
                   "retirement": list(self.retirement) if isinstance(self.retirement, tuple) else self.retirement}
        if self.purchase_price is not None:
            options["purchase"] = {"price": self.purchase_price,
                                   **({"manufacturers": list(self.purchase_manufacturers)}
                                      if self.purchase_manufacturers is not None else {})}
        new = scenario_from_frames(self.name, self.rules, sales, bank=_as_table(self.bank),
                                   trades=_as_table(self.trades.drop(columns=["row"])), **options)
        return replace(new, overrides=self.overrides, path=self.path, description=self.description,
                       solver=self.solver, plan=self.plan, trades_beyond_holdings=self.trades_beyond_holdings)


def _as_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated bank or trades frame back in its CSV form (credits as decimal text)."""
    return frame.rename(columns={"credits_tenths": "credits"}).assign(
        credits=lambda f: f["credits"].map(lambda t: format_tenths(int(t))))


def rules_allow_pooling(rules: RuleSet) -> bool:
    return bool(rules.value("pooling.allowed"))


def default_scenario_path() -> Path:
    """The bundled default scenario file (installed as ``act_pool.scenarios``, or the source tree's
    ``scenarios/`` folder when act-pool runs from a checkout)."""
    from importlib.resources import files

    try:
        return Path(str(files("act_pool.scenarios") / "default" / "scenario.toml"))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "scenarios" / "default" / "scenario.toml"


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file and its tables.

    Every file must be a regular file within the size limits of :mod:`act_pool.files`.

    Raises
    ------
    InputError
        With every problem found (file, row, field, what was expected).
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from act_pool.workbook.read import load_workbook_scenario

        return load_workbook_scenario(path)
    label = str(path)
    doc = load_toml(path, label, missing="scenario file not found")
    problems: list[Problem] = []
    for key in ("name", "rules", "sales"):
        if key not in doc:
            problems.append(Problem(label, None, key, "required key is missing"))
    for key in sorted(set(doc) - _SCENARIO_KEYS):
        problems.append(Problem(label, None, printable(key), f"unknown key; expected one of {sorted(_SCENARIO_KEYS)}"))
    if problems:
        raise InputError(problems)
    sales_rows, sales_label = _table(doc, label, "sales", path.parent, SALES_COLUMNS, problems, optional=("aer_miles",))
    bank_rows, bank_label = _table(doc, label, "bank", path.parent, BANK_COLUMNS, problems)
    trade_rows, trades_label = _table(doc, label, "trades", path.parent, TRADE_COLUMNS, problems)
    return build_scenario(doc, label, sales_rows, sales_label or "sales", bank_rows, bank_label, problems, path,
                          trade_rows=trade_rows, trades_label=trades_label)


def _table(doc: Mapping[str, Any], label: str, key: str, base: Path, columns: tuple[str, ...],
           problems: list[Problem], optional: tuple[str, ...] = ()) -> tuple[pd.DataFrame | None, str | None]:
    """Text table and label of the table the scenario names under ``key`` (None, None where it names none);
    problems reading it are added to ``problems``."""
    if key not in doc:
        return None, None
    name = _file_name(doc, key, label, problems)
    if name is None:
        return None, None
    table_label = str(base / name)
    try:
        return read_csv_table(str(base / name), table_label,
                              lambda header: _check_columns(header, table_label, columns, problems, optional),
                              problems), table_label
    except InputError as exc:
        problems.extend(exc.problems)
        return None, table_label


def _file_name(doc: Mapping[str, Any], key: str, label: str, problems: list[Problem]) -> str | None:
    """The file name under ``key`` if it is non-empty text (a problem naming the key otherwise)."""
    value = doc[key]
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(label, None, key, f"expected the name of a CSV file (text), got {_shown(value)}"))
        return None
    if control_character(value):
        return None  # reported with every text of the document (build_scenario)
    return value


def scenario_from_frames(name: str, rules: str | RuleSet, sales: pd.DataFrame, bank: pd.DataFrame | None = None,
                         trades: pd.DataFrame | None = None, **options: Any) -> Scenario:
    """Build and validate a scenario from DataFrames (for notebooks), with the checks of a file.

    ``sales``, ``bank`` and ``trades`` have the columns of the CSV tables; ``options`` are the other
    scenario keys: ``model_years``, ``states``, ``pooling``, ``retirement``, ``overrides``, ``purchase``.
    """
    doc: dict[str, Any] = {"name": name, "rules": rules if isinstance(rules, str) else "<RuleSet>", **options}
    problems: list[Problem] = []
    sales_rows = _frame_table(sales, "sales", SALES_COLUMNS, problems, optional=("aer_miles",))
    bank_rows = _frame_table(bank, "bank", BANK_COLUMNS, problems) if bank is not None else None
    trade_rows = _frame_table(trades, "trades", TRADE_COLUMNS, problems) if trades is not None else None
    return build_scenario(doc, f"scenario '{printable(str(name))}'", sales_rows, "sales", bank_rows,
                          "bank" if bank is not None else None, problems, None,
                          ruleset=rules if isinstance(rules, RuleSet) else None, trade_rows=trade_rows,
                          trades_label="trades" if trades is not None else None)


def _frame_table(frame: pd.DataFrame, label: str, columns: tuple[str, ...], problems: list[Problem],
                 optional: tuple[str, ...] = ()) -> pd.DataFrame:
    _check_columns([str(c) for c in frame.columns], label, columns, problems, optional)
    return text_table(frame, columns)


def _check_columns(header: list[str], label: str, columns: tuple[str, ...], problems: list[Problem],
                   optional: tuple[str, ...] = ()) -> bool:
    ok = True
    for col in sorted({c for c in header if header.count(c) > 1}):
        problems.append(Problem(label, None, printable(col), "column named more than once in the header"))
        ok = False
    for col in columns:
        if col not in header and col not in optional:
            problems.append(Problem(label, None, col, f"missing column; expected columns {', '.join(columns)}"))
            ok = False
    for col in header:
        if col not in columns:
            problems.append(Problem(label, None, printable(col),
                                    f"unknown column; expected columns {', '.join(columns)}"))
            ok = False
    return ok


TableInput = pd.DataFrame | Sequence[Mapping[str, Any]]


def build_scenario(doc: Mapping[str, Any], label: str, sales_rows: TableInput | None, sales_label: str,
                   bank_rows: TableInput | None, bank_label: str | None, problems: list[Problem],
                   path: Path | None, ruleset: RuleSet | None = None, trade_rows: TableInput | None = None,
                   trades_label: str | None = None) -> Scenario:
    """Validate the scenario document and its tables; raise every problem or return the scenario.

    Parameters
    ----------
    doc : mapping
        The scenario keys (as in scenario.toml).
    label : str
        How the scenario is named in problems (its file).
    sales_rows, bank_rows, trade_rows : list of rows, DataFrame, or None
        Each table as rows (mappings of column to text, the row number as text under ``"_row"``), a
        text table (:func:`act_pool.validation.text_table`) or a DataFrame with the table's columns;
        None where the scenario has no such table.
    sales_label, bank_label, trades_label : str
        How each table is named in problems (e.g. ``plan.xlsx, sheet Sales``).
    problems : list of Problem
        Problems found so far (reading the files); every problem is raised at once.
    path : Path or None
        The scenario file, against which a rule-set path is resolved.
    ruleset : RuleSet, optional
        The rule set to use instead of loading ``doc["rules"]``.

    Raises
    ------
    InputError
    """
    _check_document(doc, label, problems)
    rules: RuleSet | None = ruleset
    rules_ref = doc.get("rules")
    if rules is None and isinstance(rules_ref, str) and rules_ref.strip() and not control_character(rules_ref):
        try:
            rules = load_rules(rules_ref, relative_to=path.parent if path else None)
        except InputError as exc:
            if exc.problems[0].field == "rules":  # neither a bundled id nor a file
                problems.append(Problem(label, None, "rules", f"unknown rule set '{rules_ref}': expected a "
                                        "bundled rule set (see 'act-pool rules list') or the path of a rule-set file"))
            else:
                problems.extend(exc.problems)
        if rules is not None:
            missing = sorted(n for n in set(load_rules("act-2021").parameters) - set(rules.parameters)
                             if not n.startswith("states."))
            if missing:
                problems.append(Problem(rules_ref, None, "parameter", "rule-set file lacks parameters: "
                                        f"{', '.join(missing)} (or name a bundled rule set in 'based_on')"))
                rules = None
    overrides = doc.get("overrides", {})
    if rules is not None and isinstance(overrides, dict) and overrides:
        try:
            rules = rules.with_overrides(overrides, label)
        except InputError as exc:
            problems.extend(exc.problems)
    if rules is None:
        raise InputError(_unique_problems(problems))

    first_my, last_my = int(rules.value("model_years.first")), int(rules.value("model_years.last"))
    known_states = state_codes(rules)
    sales = validate_sales(text_table(sales_rows if sales_rows is not None else [], SALES_COLUMNS), sales_label,
                           rules, known_states, (first_my, last_my), problems)
    if sales_rows is not None and not _row_count(sales_rows):
        problems.append(Problem(sales_label, None, None, "no data rows: expected at least one sales row "
                                "(there is nothing to simulate)"))
    bank = validate_bank(text_table(bank_rows if bank_rows is not None else [], BANK_COLUMNS), bank_label or "bank",
                         rules, known_states, (first_my, last_my), problems)
    trades = validate_trades(text_table(trade_rows if trade_rows is not None else [], TRADE_COLUMNS),
                             trades_label or "trades", rules, known_states, (first_my, last_my), problems)
    price, buyers = _purchase(doc, label, problems)
    from act_pool.plan.levers import validate_plan  # the plan package imports this module

    plan = validate_plan(doc.get("plan"), label, known_states, (first_my, last_my), problems)

    years = _model_years(doc, label, sales, (first_my, last_my), problems if _row_count(sales_rows) else [])
    states = _states(doc, label, sales, known_states, problems)
    pooling = doc.get("pooling", rules_allow_pooling(rules))
    if not isinstance(pooling, bool):
        problems.append(Problem(label, None, "pooling", f"expected true or false, got {_shown(pooling)}"))
        pooling = False
    if years is not None:
        bank = bank[bank["state"].isin(states)].reset_index(drop=True)
        _check_opening_bank(bank, bank_label or "bank", rules, years[0], problems)
    retirement = _check_modes(rules, pooling, doc.get("retirement", rules.value("retirement.default")), label,
                              problems)
    solver = doc.get("solver", DEFAULT_SOLVER)
    if solver not in SOLVERS:
        problems.append(Problem(label, None, "solver", f"expected one of {', '.join(SOLVERS)}; got {solver!r}"))
    if problems:
        raise InputError(_unique_problems(problems))
    assert years is not None
    sales = as_strings(sales[sales["state"].isin(states) & sales["model_year"].between(*years)].reset_index(drop=True))
    trades = as_strings(trades[trades["state"].isin(states)].reset_index(drop=True))
    bank = as_strings(bank.drop(columns=["row"]))
    return Scenario(name=str(doc["name"]), rules=rules, sales=sales, bank=bank,
                    model_years=years, states=tuple(states), pooling=pooling, retirement=retirement,
                    trades=trades, trades_file=trades_label or "trades", purchase_price=price,
                    purchase_manufacturers=buyers, path=path, description=str(doc.get("description", "")),
                    overrides=dict(overrides or {}), plan=plan,
                    solver=solver)


def _row_count(rows: TableInput | None) -> int:
    return 0 if rows is None else len(rows)


def _unique_problems(problems: list[Problem]) -> list[Problem]:
    """``problems`` without repeats, in order (a text may be refused both as a path and as text)."""
    return list(dict.fromkeys(problems))


#: Keys of the scenario document that hold text, and what the text is.
_TEXT_KEYS = {"name": "a name", "rules": "a bundled rule-set id or the path of a rule-set file",
              "description": "a description"}


def _check_document(doc: Mapping[str, Any], label: str, problems: list[Problem]) -> None:
    """Types of the text keys, and no control character in any text of the document (keys included)."""
    if not isinstance(doc.get("name"), str) or not doc.get("name", "").strip():
        problems.append(Problem(label, None, "name", f"expected a non-empty string, got {_shown(doc.get('name'))}"))
    for key, what in _TEXT_KEYS.items():
        if key in doc and key != "name" and not isinstance(doc[key], str):
            problems.append(Problem(label, None, key, f"expected {what} (text), got {_shown(doc[key])}"))
    if isinstance(doc.get("rules"), str) and not doc["rules"].strip():
        problems.append(Problem(label, None, "rules", f"expected {_TEXT_KEYS['rules']}, got {_shown(doc['rules'])}"))
    if "overrides" in doc and not isinstance(doc["overrides"], dict):
        problems.append(Problem(label, None, "overrides", "expected a table of parameter = value, "
                                f"got {_shown(doc['overrides'])}"))
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in doc.items()]
    while stack:
        where, value = stack.pop(0)
        message = control_character(where)
        if message:
            problems.append(Problem(label, None, printable(where), f"{message} (in the key)"))
        elif isinstance(value, str) and control_character(value):
            problems.append(Problem(label, None, where, control_character(value) or ""))
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((where, v) for v in value)


def _shown(value: Any) -> str:
    """A value for a message: its repr, escaped and cut to 60 characters."""
    text = printable(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _check_opening_bank(bank: pd.DataFrame, label: str, rules: RuleSet, first_year: int,
                        problems: list[Problem]) -> None:
    """Opening balances must be credits earned before the run and still usable in its first model year.

    A credit of vintage V is earned by the sales of model year V, so the run generates the credits of
    its own model years; and a credit may be retired through its last model year (13 CCR §1963.2(g),
    :func:`~act_pool.rules.clauses.credit_last_model_year`), so a balance whose life ended before the
    run holds nothing to retire.
    """
    last_years = {(s, v): credit_last_model_year(rules, s, v)
                  for s, v in set(zip(bank["state"], bank["vintage"].astype(int)))}
    for b in bank.itertuples(index=False):
        vintage = int(b.vintage)
        if vintage >= first_year:
            problems.append(Problem(label, int(b.row), "vintage", f"vintage {vintage} is not before the first "
                                    f"simulated model year {first_year}: an opening balance holds credits earned "
                                    "before the run (the run generates the credits of its own model years)"))
            continue
        last = last_years[(b.state, vintage)]
        if last < first_year:
            problems.append(Problem(label, int(b.row), "vintage", f"{b.state} credits of vintage {vintage} are "
                                    f"usable through model year {last}, before the first simulated model year "
                                    f"{first_year}: they expired before the run"))


def _purchase(doc: Mapping[str, Any], label: str, problems: list[Problem]) -> tuple[Decimal | None,
                                                                                  tuple[str, ...] | None]:
    """The optional ``[purchase]`` table: ``price`` (USD per credit) and ``manufacturers``."""
    raw = doc.get("purchase")
    if raw is None:
        return None, None
    if not isinstance(raw, dict) or set(raw) - {"price", "manufacturers"}:
        problems.append(Problem(label, None, "purchase", "expected a table with 'price' and optional 'manufacturers'"))
        return None, None
    price = raw.get("price")
    if (isinstance(price, bool) or not isinstance(price, (int, Decimal))
            or (isinstance(price, Decimal) and not price.is_finite()) or price < 0):
        problems.append(Problem(label, None, "purchase.price", "expected a price >= 0 in USD per credit, "
                                f"got {_shown(price)}"))
        price = None
    buyers = raw.get("manufacturers")
    if buyers is not None and (not isinstance(buyers, list) or not all(isinstance(b, str) for b in buyers)):
        problems.append(Problem(label, None, "purchase.manufacturers", "expected a list of manufacturer names"))
        buyers = None
    return (Decimal(price) if price is not None else None), (tuple(buyers) if buyers is not None else None)


#: Preferences of an explicit retirement order, by the aspect each settles (2025 amendments:
#: "increased flexibility on the order in which they retire credits"). Within every rule.
ORDER_PREFERENCES = {
    "credit type": ("nzev-first", "zev-first"),
    "group": ("own-group-first", "cross-group-first"),
    "age": ("earliest-expiring-first", "oldest-first", "newest-first"),
    "state": ("own-state-first",),
}


#: Largest pooling exchange ratio and most decimals accepted: the optimum holds the ratio num/den as
#: an integer row of a mixed-integer program, kept small for the solver's tolerances.
MAX_EXCHANGE_RATIO = 10
EXCHANGE_RATIO_DECIMALS = 4


def exchange_ratio_supported(value: Any) -> bool:
    """Whether ``value`` is a pooling exchange ratio a run can hold: a number from 0 to
    :data:`MAX_EXCHANGE_RATIO` with at most :data:`EXCHANGE_RATIO_DECIMALS` decimals (0: pooled credits
    meet nothing, so nothing is pooled)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return False
    exact = Fraction(value)
    return 0 <= exact <= MAX_EXCHANGE_RATIO and (exact * 10 ** EXCHANGE_RATIO_DECIMALS).denominator == 1


def _check_modes(rules: RuleSet, pooling: bool, retirement: Any, label: str,
                 problems: list[Problem]) -> str | tuple[str, ...]:
    """Check pooling and the retirement mode against the rule set; return the mode (a tuple for an order)."""
    if pooling and not rules_allow_pooling(rules):
        problems.append(Problem(label, None, "pooling", f"rule set {rules.id} does not allow pooling; "
                                "remove the key or set it to false"))
    ratio = rules.parameters.get("pooling.exchange_ratio")
    if ratio is not None and not exchange_ratio_supported(ratio.value):
        problems.append(Problem(label, None, "overrides.pooling.exchange_ratio", "expected a number from 0 to "
                                f"{MAX_EXCHANGE_RATIO} with at most {EXCHANGE_RATIO_DECIMALS} decimals, "
                                f"got {_shown(ratio.value)}"))
    flexible = bool(rules.value("retirement.flexible"))
    if isinstance(retirement, (list, tuple)):
        retirement = tuple(retirement)
        known = {p: aspect for aspect, prefs in ORDER_PREFERENCES.items() for p in prefs}
        if not flexible:
            problems.append(Problem(label, None, "retirement", f"rule set {rules.id} fixes the retirement order; "
                                    "an explicit order needs a rule set with a flexible order"))
        for pref in retirement:
            if not isinstance(pref, str) or pref not in known:
                problems.append(Problem(label, None, "retirement", f"unknown preference {_shown(pref)}; expected "
                                        f"some of {', '.join(known)}"))
        aspects = [known[p] for p in retirement if isinstance(p, str) and p in known]
        for aspect in sorted({a for a in aspects if aspects.count(a) > 1}):
            problems.append(Problem(label, None, "retirement", f"more than one preference for the {aspect}: "
                                    f"choose one of {', '.join(ORDER_PREFERENCES[aspect])}"))
    elif not isinstance(retirement, str) or retirement not in RETIREMENT_MODES:
        problems.append(Problem(label, None, "retirement", f"expected one of {', '.join(RETIREMENT_MODES)} or a "
                                f"list of preferences, got {_shown(retirement)}"))
    elif retirement == "optimal" and not flexible:
        problems.append(Problem(label, None, "retirement", f"rule set {rules.id} fixes the retirement order; "
                                "use 'earliest-expiring'"))
    if problems:
        raise InputError(_unique_problems(problems))
    return retirement


def _model_years(doc: Mapping[str, Any], label: str, sales: pd.DataFrame, bounds: tuple[int, int],
                 problems: list[Problem]) -> tuple[int, int] | None:
    raw = doc.get("model_years")
    if raw is None:
        if sales.empty:
            problems.append(Problem(label, None, "model_years", "no sales rows to infer the model years from"))
            return None
        return int(sales["model_year"].min()), int(sales["model_year"].max())
    if (not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(y, int) and not isinstance(y, bool)
                                                              for y in raw) or raw[0] > raw[1]):
        problems.append(Problem(label, None, "model_years", "expected [first, last], two model years with "
                                f"first <= last, got {_shown(raw)}"))
        return None
    if raw[0] < bounds[0] or raw[1] > bounds[1]:
        problems.append(Problem(label, None, "model_years",
                                f"expected years within the rule set's {bounds[0]}-{bounds[1]}"))
        return None
    return int(raw[0]), int(raw[1])


def _states(doc: Mapping[str, Any], label: str, sales: pd.DataFrame, known: list[str],
            problems: list[Problem]) -> list[str]:
    raw = doc.get("states")
    if raw is None:
        return sorted(set(sales["state"])) if not sales.empty else []
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        problems.append(Problem(label, None, "states", "expected a non-empty list of two-letter state codes, "
                                f"got {_shown(raw)}"))
        return []
    for s in raw:
        if s not in known:
            problems.append(Problem(label, None, "states", f"unknown state '{printable(s)}'; expected one of "
                                    f"{', '.join(known)}"))
    return sorted(set(raw))


def _empty_trades() -> pd.DataFrame:
    cols = ["seller", "buyer", "state", "vintage", "group", "credit_type", "credits_tenths", "model_year", "row"]
    return pd.DataFrame(columns=cols).astype({"vintage": "int64", "credits_tenths": "int64", "model_year": "int64",
                                              "row": "int64"})
