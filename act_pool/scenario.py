"""Scenario files (TOML plus CSV tables): loading and validation.

Every problem found is collected and raised at once as :class:`~act_pool.errors.InputError`,
each naming the file, the data row (1-based, the header not counted) and the field, before any
result is computed or written.
"""
from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.rules import RuleSet, load_rules
from act_pool.solve import DEFAULT_SOLVER, SOLVERS
from act_pool.tenths import format_tenths
from act_pool.rules.clauses import CREDIT_TYPES, GROUPS, POWERTRAINS, WEIGHT_CLASS_GROUP, state_codes

SALES_COLUMNS = ("manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles")
BANK_COLUMNS = ("manufacturer", "state", "vintage", "group", "credit_type", "credits")
TRADE_COLUMNS = ("seller", "buyer", "state", "vintage", "group", "credit_type", "credits", "model_year")
RETIREMENT_MODES = ("optimal", "earliest-expiring")
_SCENARIO_KEYS = {"name", "rules", "sales", "bank", "trades", "purchase", "model_years", "states", "pooling",
                  "retirement", "overrides", "description", "solver"}


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
    solver : str
        Solver of the optimal plan, one of :data:`act_pool.solve.SOLVERS` (default ``"simplex"``).
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
    solver: str = DEFAULT_SOLVER

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
                       solver=self.solver)


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

    Raises
    ------
    InputError
        With every problem found (file, row, field, what was expected).
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise InputError([Problem(label, None, None, "scenario file not found")])
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(label, None, None, f"not valid TOML: {exc}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(label, None, None, f"cannot read: {exc}")]) from None
    problems: list[Problem] = []
    for key in ("name", "rules", "sales"):
        if key not in doc:
            problems.append(Problem(label, None, key, "required key is missing"))
    for key in sorted(set(doc) - _SCENARIO_KEYS):
        problems.append(Problem(label, None, key, f"unknown key; expected one of {sorted(_SCENARIO_KEYS)}"))
    if problems:
        raise InputError(problems)
    sales_rows, sales_label = _table(doc, "sales", path.parent, SALES_COLUMNS, problems, optional=("aer_miles",))
    bank_rows, bank_label = _table(doc, "bank", path.parent, BANK_COLUMNS, problems)
    trade_rows, trades_label = _table(doc, "trades", path.parent, TRADE_COLUMNS, problems)
    return build_scenario(doc, label, sales_rows, sales_label, bank_rows, bank_label, problems, path,
                          trade_rows=trade_rows, trades_label=trades_label)


def _table(doc: Mapping[str, Any], key: str, base: Path, columns: tuple[str, ...], problems: list[Problem],
           optional: tuple[str, ...] = ()) -> tuple[list[dict] | None, str | None]:
    """Rows and label of the table the scenario names under ``key`` (None, None where it names none);
    problems reading it are added to ``problems``."""
    if key not in doc:
        return None, None
    label = str(base / str(doc[key]))
    try:
        return _read_csv(base / str(doc[key]), label, columns, problems, optional=optional), label
    except InputError as exc:
        problems.extend(exc.problems)
        return None, label


def scenario_from_frames(name: str, rules: str | RuleSet, sales: pd.DataFrame, bank: pd.DataFrame | None = None,
                         trades: pd.DataFrame | None = None, **options: Any) -> Scenario:
    """Build and validate a scenario from DataFrames (for notebooks), with the checks of a file.

    ``sales``, ``bank`` and ``trades`` have the columns of the CSV tables; ``options`` are the other
    scenario keys: ``model_years``, ``states``, ``pooling``, ``retirement``, ``overrides``, ``purchase``.
    """
    doc: dict[str, Any] = {"name": name, "rules": rules if isinstance(rules, str) else "<RuleSet>", **options}
    problems: list[Problem] = []
    sales_rows = _frame_rows(sales, "sales", SALES_COLUMNS, problems, optional=("aer_miles",))
    bank_rows = _frame_rows(bank, "bank", BANK_COLUMNS, problems) if bank is not None else None
    trade_rows = _frame_rows(trades, "trades", TRADE_COLUMNS, problems) if trades is not None else None
    return build_scenario(doc, f"scenario '{name}'", sales_rows, "sales", bank_rows,
                          "bank" if bank is not None else None, problems, None,
                          ruleset=rules if isinstance(rules, RuleSet) else None, trade_rows=trade_rows,
                          trades_label="trades" if trades is not None else None)


def _frame_rows(frame: pd.DataFrame, label: str, columns: tuple[str, ...], problems: list[Problem],
                optional: tuple[str, ...] = ()) -> list[dict[str, str]]:
    _check_columns([str(c) for c in frame.columns], label, columns, problems, optional)
    rows = []
    for rec in frame.to_dict("records"):
        rows.append({k: "" if v is None or (isinstance(v, float) and v != v) else str(v) for k, v in rec.items()})
    return rows


def _check_columns(header: list[str], label: str, columns: tuple[str, ...], problems: list[Problem],
                   optional: tuple[str, ...] = ()) -> bool:
    ok = True
    for col in sorted({c for c in header if header.count(c) > 1}):
        problems.append(Problem(label, None, col, "column named more than once in the header"))
        ok = False
    for col in columns:
        if col not in header and col not in optional:
            problems.append(Problem(label, None, col, f"missing column; expected columns {', '.join(columns)}"))
            ok = False
    for col in header:
        if col not in columns:
            problems.append(Problem(label, None, col, f"unknown column; expected columns {', '.join(columns)}"))
            ok = False
    return ok


def _read_csv(path: Path, label: str, columns: tuple[str, ...], problems: list[Problem],
              optional: tuple[str, ...] = ()) -> list[dict[str, str]] | None:
    if not path.is_file():
        raise InputError([Problem(label, None, None, "file not found")])
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise InputError([Problem(label, None, None, "empty file: expected a header row")])
            if not _check_columns(header, label, columns, problems, optional):
                return None
            rows = []
            for i, rec in enumerate(reader, start=1):
                if not any(c.strip() for c in rec):
                    continue
                if len(rec) != len(header):
                    problems.append(Problem(label, i, None, f"{len(rec)} fields, expected {len(header)}"))
                    continue
                row = {h: c.strip() for h, c in zip(header, rec)}
                row["_row"] = str(i)
                rows.append(row)
            return rows
    except UnicodeDecodeError:
        raise InputError([Problem(label, None, None, "not UTF-8 text")]) from None


def build_scenario(doc: Mapping[str, Any], label: str, sales_rows: list[dict] | None, sales_label: str,
                   bank_rows: list[dict] | None, bank_label: str | None, problems: list[Problem],
                   path: Path | None, ruleset: RuleSet | None = None, trade_rows: list[dict] | None = None,
                   trades_label: str | None = None) -> Scenario:
    """Validate the scenario document and its rows; raise every problem or return the scenario."""
    rules: RuleSet | None = ruleset
    if rules is None:
        try:
            rules = load_rules(str(doc["rules"]), relative_to=path.parent if path else None)
        except InputError as exc:
            if exc.problems[0].field == "rules":  # neither a bundled id nor a file
                problems.append(Problem(label, None, "rules", f"unknown rule set '{doc['rules']}': expected a "
                                        "bundled rule set (see 'act-pool rules list') or the path of a rule-set file"))
            else:
                problems.extend(exc.problems)
        if rules is not None:
            missing = sorted(n for n in set(load_rules("act-2021").parameters) - set(rules.parameters)
                             if not n.startswith("states."))
            if missing:
                problems.append(Problem(str(doc["rules"]), None, "parameter", "rule-set file lacks parameters: "
                                        f"{', '.join(missing)} (or name a bundled rule set in 'based_on')"))
                rules = None
    overrides = doc.get("overrides", {})
    if rules is not None and overrides:
        if not isinstance(overrides, dict):
            problems.append(Problem(label, None, "overrides", "expected a table of parameter = value"))
        else:
            try:
                rules = rules.with_overrides(overrides, label)
            except InputError as exc:
                problems.extend(exc.problems)
    if not isinstance(doc.get("name"), str) or not doc.get("name", "").strip():
        problems.append(Problem(label, None, "name", "expected a non-empty string"))
    if rules is None:
        raise InputError(problems)

    first_my, last_my = int(rules.value("model_years.first")), int(rules.value("model_years.last"))
    known_states = state_codes(rules)
    sales = _validate_sales(sales_rows or [], sales_label, rules, known_states, (first_my, last_my), problems)
    bank = _validate_bank(bank_rows or [], bank_label or "bank", rules, known_states, (first_my, last_my), problems)
    trades = _validate_trades(trade_rows or [], trades_label or "trades", rules, known_states, (first_my, last_my),
                              problems)
    price, buyers = _purchase(doc, label, problems)

    years = _model_years(doc, label, sales, (first_my, last_my), problems if sales_rows is not None else [])
    states = _states(doc, label, sales, known_states, problems)
    pooling = doc.get("pooling", rules_allow_pooling(rules))
    if not isinstance(pooling, bool):
        problems.append(Problem(label, None, "pooling", "expected true or false"))
        pooling = False
    retirement = _check_modes(rules, pooling, doc.get("retirement", rules.value("retirement.default")), label,
                              problems)
    solver = doc.get("solver", DEFAULT_SOLVER)
    if solver not in SOLVERS:
        problems.append(Problem(label, None, "solver", f"expected one of {', '.join(SOLVERS)}; got {solver!r}"))
    if problems:
        raise InputError(problems)
    assert years is not None
    sales = sales[sales["state"].isin(states) & sales["model_year"].between(*years)].reset_index(drop=True)
    bank = bank[bank["state"].isin(states)].reset_index(drop=True)
    trades = trades[trades["state"].isin(states)].reset_index(drop=True)
    return Scenario(name=str(doc["name"]), rules=rules, sales=sales, bank=bank, model_years=years,
                    states=tuple(states), pooling=pooling, retirement=retirement, trades=trades,
                    trades_file=trades_label or "trades", purchase_price=price, purchase_manufacturers=buyers,
                    path=path, description=str(doc.get("description", "")), overrides=dict(overrides or {}),
                    solver=solver)


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
    if isinstance(price, bool) or not isinstance(price, (int, Decimal)) or price < 0:
        problems.append(Problem(label, None, "purchase.price", f"expected a price >= 0 in USD per credit, got {price!r}"))
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


def _check_modes(rules: RuleSet, pooling: bool, retirement: Any, label: str,
                 problems: list[Problem]) -> str | tuple[str, ...]:
    """Check pooling and the retirement mode against the rule set; return the mode (a tuple for an order)."""
    if pooling and not rules_allow_pooling(rules):
        problems.append(Problem(label, None, "pooling", f"rule set {rules.id} does not allow pooling; "
                                "remove the key or set it to false"))
    ratio = rules.parameters.get("pooling.exchange_ratio")
    if pooling and ratio is not None and ratio.value != 1:
        problems.append(Problem(label, None, "overrides.pooling.exchange_ratio", "a pooling exchange ratio other "
                                "than 1 is not supported yet; set pooling = false or leave the ratio at 1"))
    flexible = bool(rules.value("retirement.flexible"))
    if isinstance(retirement, (list, tuple)):
        retirement = tuple(retirement)
        known = {p: aspect for aspect, prefs in ORDER_PREFERENCES.items() for p in prefs}
        if not flexible:
            problems.append(Problem(label, None, "retirement", f"rule set {rules.id} fixes the retirement order; "
                                    "an explicit order needs a rule set with a flexible order"))
        for pref in retirement:
            if pref not in known:
                problems.append(Problem(label, None, "retirement", f"unknown preference {pref!r}; expected some "
                                        f"of {', '.join(known)}"))
        aspects = [known[p] for p in retirement if p in known]
        for aspect in sorted({a for a in aspects if aspects.count(a) > 1}):
            problems.append(Problem(label, None, "retirement", f"more than one preference for the {aspect}: "
                                    f"choose one of {', '.join(ORDER_PREFERENCES[aspect])}"))
    elif retirement not in RETIREMENT_MODES:
        problems.append(Problem(label, None, "retirement", f"expected one of {', '.join(RETIREMENT_MODES)} or a "
                                f"list of preferences, got {retirement!r}"))
    elif retirement == "optimal" and not flexible:
        problems.append(Problem(label, None, "retirement", f"rule set {rules.id} fixes the retirement order; "
                                "use 'earliest-expiring'"))
    if problems:
        raise InputError(problems)
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
        problems.append(Problem(label, None, "model_years", "expected [first, last], two model years with first <= last"))
        return None
    if raw[0] < bounds[0] or raw[1] > bounds[1]:
        problems.append(Problem(label, None, "model_years", f"expected years within the rule set's {bounds[0]}-{bounds[1]}"))
        return None
    return int(raw[0]), int(raw[1])


def _states(doc: Mapping[str, Any], label: str, sales: pd.DataFrame, known: list[str],
            problems: list[Problem]) -> list[str]:
    raw = doc.get("states")
    if raw is None:
        return sorted(set(sales["state"])) if not sales.empty else []
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        problems.append(Problem(label, None, "states", "expected a non-empty list of two-letter state codes"))
        return []
    for s in raw:
        if s not in known:
            problems.append(Problem(label, None, "states", f"unknown state '{s}'; expected one of {', '.join(known)}"))
    return sorted(set(raw))


#: Largest whole number a table field may hold (vehicles, model years): far above any real count, far
#: below what exact integer arithmetic in numpy (int64) can sum.
MAX_WHOLE = 10**9


def _decimal(text: str) -> Decimal:
    """A finite decimal of moderate size (exponent checked before any conversion), or InvalidOperation."""
    d = Decimal(text)
    if not d.is_finite() or d.adjusted() > 12:
        raise InvalidOperation
    return d


def _int_field(row: dict, key: str, label: str, problems: list[Problem], what: str) -> int | None:
    text = row.get(key, "")
    try:
        d = _decimal(text)
        if d != d.to_integral_value() or abs(d) > MAX_WHOLE:
            raise InvalidOperation
        return int(d)
    except (InvalidOperation, ValueError):
        problems.append(Problem(label, _row(row), key, f"expected {what}, got {text!r}"))
        return None


def _year_field(row: dict, key: str, label: str, problems: list[Problem], bounds: tuple[int, int],
                rules_id: str) -> int | None:
    """A model year within the rule set's range, or None (a problem recorded)."""
    year = _int_field(row, key, label, problems, "an integer model year")
    if year is not None and not bounds[0] <= year <= bounds[1]:
        problems.append(Problem(label, _row(row), key, f"model year {year} is outside rule set {rules_id} "
                                f"({bounds[0]}-{bounds[1]})"))
        return None
    return year


def _choice(row: dict, key: str, allowed: Iterable[str], label: str, problems: list[Problem],
            what: str) -> str | None:
    """The field's text if it is one of ``allowed`` (any non-empty text if None), else None."""
    text = row.get(key, "")
    allowed = list(allowed)
    if text not in allowed:
        problems.append(Problem(label, _row(row), key, f"unknown {what} {text!r}; expected one of {', '.join(allowed)}"))
        return None
    return text


def _manufacturer(row: dict, label: str, problems: list[Problem]) -> str | None:
    if not row.get("manufacturer", ""):
        problems.append(Problem(label, _row(row), "manufacturer", "expected a manufacturer name"))
        return None
    return row["manufacturer"]


def _row(row: dict) -> int | None:
    return int(row["_row"]) if "_row" in row else None


def _enumerate(rows: list[dict]) -> Iterable[dict]:
    for i, row in enumerate(rows, start=1):
        row.setdefault("_row", str(i))
        yield row


def _unique(key: tuple, row: dict, seen: dict[tuple, int], label: str, field_name: str, what: str,
            problems: list[Problem]) -> bool:
    """Record ``key``; a repeated key is a problem naming the earlier row."""
    if key in seen:
        problems.append(Problem(label, _row(row), field_name, f"duplicate of row {seen[key]} ({what})"))
        return False
    seen[key] = _row(row) or 0
    return True


def _validate_sales(rows: list[dict], label: str, rules: RuleSet, known_states: list[str],
                    bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    out = []
    seen: dict[tuple, int] = {}
    for row in _enumerate(rows):
        fields = (
            _manufacturer(row, label, problems),
            _choice(row, "state", known_states, label, problems, "state"),
            _year_field(row, "model_year", label, problems, bounds, rules.id),
            _choice(row, "weight_class", WEIGHT_CLASS_GROUP, label, problems, "weight class"),
            _choice(row, "powertrain", POWERTRAINS, label, problems, "powertrain"),
        )
        pt = fields[4]
        aer_text = row.get("aer_miles", "")
        aer: Decimal | None = None
        aer_ok = True
        if pt == "NZEV":
            try:
                aer = _decimal(aer_text)
                if aer <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                problems.append(Problem(label, _row(row), "aer_miles", "an NZEV needs its all-electric range in "
                                        f"miles (a number > 0), got {aer_text!r}"))
                aer_ok = False
        elif aer_text:
            problems.append(Problem(label, _row(row), "aer_miles", f"expected empty for a {pt or 'non-NZEV'} row, "
                                    f"got {aer_text!r}"))
            aer_ok = False
        vehicles = _int_field(row, "vehicles", label, problems, "a whole number of vehicles >= 0")
        if vehicles is not None and vehicles < 0:
            problems.append(Problem(label, _row(row), "vehicles", f"expected a whole number of vehicles >= 0, "
                                    f"got {vehicles}"))
            vehicles = None
        if any(f is None for f in fields) or vehicles is None or not aer_ok:
            continue
        mfr, state, my, wc, _ = fields
        if not _unique((mfr, state, my, wc, pt, aer), row, seen, label, "vehicles",
                       "same values in every column but vehicles", problems):
            continue
        out.append({"manufacturer": mfr, "state": state, "model_year": my, "weight_class": wc,
                    "powertrain": pt, "aer_miles": aer, "vehicles": vehicles})
    frame = pd.DataFrame(out, columns=list(SALES_COLUMNS))
    return frame.astype({"model_year": "int64", "vehicles": "int64"})


def _validate_bank(rows: list[dict], label: str, rules: RuleSet, known_states: list[str],
                   bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    out = []
    seen: dict[tuple, int] = {}
    for row in _enumerate(rows):
        fields = (
            _manufacturer(row, label, problems),
            _choice(row, "state", known_states, label, problems, "state"),
            _year_field(row, "vintage", label, problems, bounds, rules.id),
            _choice(row, "group", GROUPS, label, problems, "group"),
            _choice(row, "credit_type", CREDIT_TYPES, label, problems, "credit type"),
        )
        tenths = _tenths_field(row, "credits", label, problems)
        if any(f is None for f in fields) or tenths is None:
            continue
        if not _unique(fields, row, seen, label, "credits", "same balance listed twice", problems):
            continue
        mfr, state, vintage, group, ctype = fields
        out.append({"manufacturer": mfr, "state": state, "vintage": vintage, "group": group,
                    "credit_type": ctype, "credits_tenths": tenths})
    cols = ["manufacturer", "state", "vintage", "group", "credit_type", "credits_tenths"]
    return pd.DataFrame(out, columns=cols).astype({"vintage": "int64", "credits_tenths": "int64"})


def _empty_trades() -> pd.DataFrame:
    cols = ["seller", "buyer", "state", "vintage", "group", "credit_type", "credits_tenths", "model_year", "row"]
    return pd.DataFrame(columns=cols).astype({"vintage": "int64", "credits_tenths": "int64", "model_year": "int64",
                                              "row": "int64"})


def _validate_trades(rows: list[dict], label: str, rules: RuleSet, known_states: list[str],
                     bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """Field checks of the trades table; whether the seller holds the credits is checked against the
    credits generated (:func:`act_pool.solve.problem.apply_trades`)."""
    out = []
    for row in _enumerate(rows):
        seller, buyer = row.get("seller", ""), row.get("buyer", "")
        ok = True
        for key, who in (("seller", seller), ("buyer", buyer)):
            if not who:
                problems.append(Problem(label, _row(row), key, "expected a manufacturer name"))
                ok = False
        if ok and seller == buyer:
            problems.append(Problem(label, _row(row), "buyer", "expected a buyer other than the seller"))
            ok = False
        fields = (
            _choice(row, "state", known_states, label, problems, "state"),
            _year_field(row, "vintage", label, problems, bounds, rules.id),
            _choice(row, "group", GROUPS, label, problems, "group"),
            _choice(row, "credit_type", CREDIT_TYPES, label, problems, "credit type"),
            _year_field(row, "model_year", label, problems, bounds, rules.id),
        )
        tenths = _tenths_field(row, "credits", label, problems, positive=True)
        if not ok or any(f is None for f in fields) or tenths is None:
            continue
        state, vintage, group, ctype, year = fields
        if year < vintage:
            problems.append(Problem(label, _row(row), "model_year", f"a credit of vintage {vintage} cannot be "
                                    f"transferred in model year {year}, before it exists"))
            continue
        out.append({"seller": seller, "buyer": buyer, "state": state, "vintage": vintage, "group": group,
                    "credit_type": ctype, "credits_tenths": tenths, "model_year": year, "row": _row(row) or 0})
    if not out:
        return _empty_trades()
    return pd.DataFrame(out).astype({"vintage": "int64", "credits_tenths": "int64", "model_year": "int64",
                                     "row": "int64"})


def _tenths_field(row: dict, key: str, label: str, problems: list[Problem], positive: bool = False) -> int | None:
    """Credits to at most a tenth, as integer tenths (>= 0, or > 0 with ``positive``)."""
    text = row.get(key, "")
    try:
        d = _decimal(text) * 10
        if d != d.to_integral_value() or d < 0 or (positive and d == 0) or d > MAX_WHOLE * 10:
            raise InvalidOperation
        return int(d)
    except (InvalidOperation, ValueError):
        bound = "> 0" if positive else ">= 0"
        problems.append(Problem(label, _row(row), key, f"expected credits {bound} to at most a tenth, got {text!r}"))
        return None
