"""Checks of the scenario tables (sales, bank, trades), vectorised over distinct values.

A table arrives as text (:func:`text_table`): one categorical column per CSV column, whose
categories are the distinct values, and the row numbers in :data:`~act_pool.csv_table.ROW`. Each
check parses or tests every distinct value once and reaches the rows through the codes, so a table of
millions of rows costs Python work in proportion to its distinct values, and memory in proportion
to its rows. Numbers stay exact (:class:`~decimal.Decimal`).

Problems name the file, the row and the field, in row order; past :data:`MAX_LISTED` rows with a
problem in one field, one more line counts the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from act_pool.csv_table import ROW
from act_pool.errors import Problem
from act_pool.rules import RuleSet
from act_pool.rules.clauses import CREDIT_TYPES, GROUPS, POWERTRAINS, WEIGHT_CLASS_GROUP

SALES_COLUMNS = ("manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles")
BANK_COLUMNS = ("manufacturer", "state", "vintage", "group", "credit_type", "credits")
TRADE_COLUMNS = ("seller", "buyer", "state", "vintage", "group", "credit_type", "credits", "model_year")

#: Longest text a table field may hold, in characters.
MAX_FIELD_CHARS = 1000
#: Largest whole number a table field may hold (vehicles, model years): far above any real count, far
#: below what exact integer arithmetic in numpy (int64) can sum.
MAX_WHOLE = 10**9
#: Rows listed one by one for a problem in one field of one table; the rest are counted.
MAX_LISTED = 20
#: C0 and C1 control characters and DEL (tab and line breaks included): never part of a name or a value.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]{1,9}")


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\x00``), for messages."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def control_character(text: str) -> str | None:
    """A problem message if ``text`` holds a control character, else None."""
    found = CONTROL.search(text)
    if found is None:
        return None
    return f"control character U+{ord(found.group()):04X} in the text: expected printable text"


# --------------------------------------------------------------------------------------------
# Text tables from files, spreadsheet rows and DataFrames
# --------------------------------------------------------------------------------------------

def text_table(data: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """The text table of ``data``: the columns of ``columns`` it has, as categorical text, and ROW.

    ``data`` is a table read by :func:`act_pool.csv_table.read_csv_table` (returned as is), a
    DataFrame (missing values become empty text, other values ``str(value)``; rows numbered from 1),
    or a list of rows (mappings of column to text, with the row number as text under ``"_row"`` where
    known; rows numbered from 1 otherwise).
    """
    if isinstance(data, pd.DataFrame):
        if ROW in data.columns and all(isinstance(data[c].dtype, pd.CategoricalDtype)
                                       for c in data.columns if c != ROW):
            return data
        out = {c: _as_text(data[c]) for c in columns if c in data.columns}
        numbers = np.arange(1, len(data) + 1, dtype=np.int64)
    else:
        present = {k for row in data for k in row}
        out = {c: pd.Categorical(["" if row.get(c) is None else str(row.get(c)) for row in data])
               for c in columns if c in present}
        numbers = np.array([int(row.get("_row", i)) for i, row in enumerate(data, start=1)], dtype=np.int64)
    return pd.DataFrame({**out, ROW: numbers}, index=pd.RangeIndex(len(numbers)))


def _as_text(column: pd.Series) -> pd.Categorical:
    missing = column.isna().to_numpy()
    text = column.astype(object).to_numpy()
    return pd.Categorical(["" if m else str(v) for v, m in zip(text, missing)])


# --------------------------------------------------------------------------------------------
# Collecting problems
# --------------------------------------------------------------------------------------------

@dataclass
class Report:
    """Problems of one table, listed in row order, at most :data:`MAX_LISTED` rows per field."""

    label: str
    rows: np.ndarray
    entries: list[tuple[int, int, Problem]] = field(default_factory=list)
    listed: dict[str, int] = field(default_factory=dict)
    more: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, bad: np.ndarray, message: Callable[[int], str]) -> None:
        """Record the rows at the positions where ``bad`` holds; ``message(i)`` describes position i."""
        where = np.flatnonzero(bad)
        if not len(where):
            return
        room = MAX_LISTED - self.listed.get(name, 0)
        for i in where[:max(room, 0)]:
            row = int(self.rows[i])
            self.entries.append((row, len(self.entries), Problem(self.label, row, name, message(int(i)))))
        self.listed[name] = self.listed.get(name, 0) + min(len(where), max(room, 0))
        if len(where) > room:
            self.more[name] = self.more.get(name, 0) + len(where) - max(room, 0)

    def problems(self) -> list[Problem]:
        out = [p for _, _, p in sorted(self.entries, key=lambda e: (e[0], e[1]))]
        out += [Problem(self.label, None, name, f"and {n} more rows with a problem in this field "
                        f"(the first {MAX_LISTED} are listed)") for name, n in self.more.items()]
        return out


# --------------------------------------------------------------------------------------------
# Checks of one column, once per distinct value
# --------------------------------------------------------------------------------------------

@dataclass
class Column:
    """One checked column: per row, the parsed value and whether it is valid."""

    values: np.ndarray
    ok: np.ndarray


def _categories(table: pd.DataFrame, name: str) -> tuple[list[str], np.ndarray]:
    """Distinct texts and per-row codes of a column (a missing column: every row empty)."""
    if name not in table.columns:
        return [""], np.zeros(len(table), dtype=np.int8)
    col = table[name].array
    return [str(c) for c in col.categories], np.asarray(col.codes)


def check_column(table: pd.DataFrame, name: str, report: Report,
                 parse: Callable[[str], tuple[Any, str | None]]) -> Column:
    """Check every row of column ``name`` with ``parse`` (text -> (value, problem message or None)).

    Text with a control character or longer than :data:`MAX_FIELD_CHARS` is reported as such and
    not parsed. Rows whose text has a problem are invalid and their value is None.
    """
    texts, codes = _categories(table, name)
    values = np.empty(len(texts), dtype=object)
    messages: list[str | None] = []
    for i, text in enumerate(texts):
        message = control_character(text)
        if message is None and len(text) > MAX_FIELD_CHARS:
            message = f"{len(text)} characters, more than the limit of {MAX_FIELD_CHARS}"
        if message is None:
            values[i], message = parse(text)
        messages.append(message)
    bad_value = np.array([m is not None for m in messages], dtype=bool)
    bad = bad_value[codes]
    report.add(name, bad, lambda i: str(messages[codes[i]]))
    row_values = values[codes]
    row_values[bad] = None
    return Column(row_values, ~bad)


def choice(allowed: Iterable[str], what: str) -> Callable[[str], tuple[str | None, str | None]]:
    """A parser accepting exactly the texts of ``allowed``."""
    options = list(allowed)
    known = set(options)

    def parse(text: str) -> tuple[str | None, str | None]:
        if text in known:
            return text, None
        return None, f"unknown {what} {text!r}; expected one of {', '.join(options)}"
    return parse


def name_text(what: str) -> Callable[[str], tuple[str | None, str | None]]:
    """A parser accepting any non-empty text (a manufacturer name)."""
    def parse(text: str) -> tuple[str | None, str | None]:
        return (text, None) if text else (None, f"expected {what}")
    return parse


def decimal_value(text: str) -> Decimal:
    """A finite decimal of moderate size (exponent checked before any conversion).

    Raises
    ------
    InvalidOperation
    """
    d = Decimal(text)
    if not d.is_finite() or d.adjusted() > 12:
        raise InvalidOperation
    return d


def whole_value(text: str) -> int | None:
    """The whole number ``text`` spells (``2025``, ``2.025e3``), at most :data:`MAX_WHOLE` in size, or None."""
    if _DIGITS.fullmatch(text):
        return int(text)
    try:
        d = decimal_value(text)
        if d != d.to_integral_value() or abs(d) > MAX_WHOLE:
            return None
        return int(d)
    except (InvalidOperation, ValueError):
        return None


def whole(what: str) -> Callable[[str], tuple[int | None, str | None]]:
    def parse(text: str) -> tuple[int | None, str | None]:
        value = whole_value(text)
        return (value, None) if value is not None else (None, f"expected {what}, got {text!r}")
    return parse


def model_year(bounds: tuple[int, int], rules_id: str) -> Callable[[str], tuple[int | None, str | None]]:
    """A parser of model years within the rule set's range."""
    def parse(text: str) -> tuple[int | None, str | None]:
        year = whole_value(text)
        if year is None:
            return None, f"expected an integer model year, got {text!r}"
        if not bounds[0] <= year <= bounds[1]:
            return None, f"model year {year} is outside rule set {rules_id} ({bounds[0]}-{bounds[1]})"
        return year, None
    return parse


def vehicle_count(text: str) -> tuple[int | None, str | None]:
    """Vehicles: a whole number >= 0."""
    value = whole_value(text)
    if value is None:
        return None, f"expected a whole number of vehicles >= 0, got {text!r}"
    if value < 0:
        return None, f"expected a whole number of vehicles >= 0, got {value}"
    return value, None


def tenths(positive: bool = False) -> Callable[[str], tuple[int | None, str | None]]:
    """A parser of credits to at most a tenth, as integer tenths (>= 0, or > 0 with ``positive``)."""
    bound = "> 0" if positive else ">= 0"

    def parse(text: str) -> tuple[int | None, str | None]:
        try:
            d = decimal_value(text) * 10
            if d != d.to_integral_value() or d < 0 or (positive and d == 0) or d > MAX_WHOLE * 10:
                raise InvalidOperation
            return int(d), None
        except (InvalidOperation, ValueError):
            return None, f"expected credits {bound} to at most a tenth, got {text!r}"
    return parse


def all_electric_range(text: str) -> tuple[Decimal | None, None]:
    """An all-electric range if ``text`` is a number > 0 (exact), else None; whether one is required
    depends on the row's powertrain (:func:`validate_sales`)."""
    try:
        d = decimal_value(text)
    except (InvalidOperation, ValueError):
        return None, None
    return (d if d > 0 else None), None


def duplicates(keys: dict[str, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows repeating an earlier row's key: (mask of the repeats, row number of the first of each row's key)."""
    if not len(rows):
        return np.zeros(0, dtype=bool), rows
    group = pd.DataFrame(keys).groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy()
    _, first = np.unique(group, return_index=True)
    first_position = first[group]
    return first_position != np.arange(len(rows)), rows[first_position]


# --------------------------------------------------------------------------------------------
# The scenario tables
# --------------------------------------------------------------------------------------------

def _text_of(table: pd.DataFrame, name: str, i: int) -> str:
    texts, codes = _categories(table, name)
    return texts[codes[i]]


def validate_sales(table: pd.DataFrame, label: str, rules: RuleSet, known_states: list[str],
                   bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """The sales table typed (CONTRACT.md, sales table), or its problems added to ``problems``.

    Returns
    -------
    DataFrame
        ``manufacturer, state, model_year`` (int64), ``weight_class, powertrain``, ``aer_miles``
        (exact :class:`~decimal.Decimal` for an NZEV, else None) and ``vehicles`` (int64), for the
        valid rows only.
    """
    rows = table[ROW].to_numpy()
    report = Report(label, rows)
    manufacturer = check_column(table, "manufacturer", report, name_text("a manufacturer name"))
    state = check_column(table, "state", report, choice(known_states, "state"))
    year = check_column(table, "model_year", report, model_year(bounds, rules.id))
    weight_class = check_column(table, "weight_class", report, choice(WEIGHT_CLASS_GROUP, "weight class"))
    powertrain = check_column(table, "powertrain", report, choice(POWERTRAINS, "powertrain"))
    aer = check_column(table, "aer_miles", report, all_electric_range)
    aer_texts, aer_codes = _categories(table, "aer_miles")
    nzev = powertrain.values == "NZEV"
    aer_given = np.array([t != "" for t in aer_texts], dtype=bool)[aer_codes]
    aer_valid = np.array([v is not None for v in aer.values], dtype=bool)
    needs_range = nzev & aer.ok & ~aer_valid
    report.add("aer_miles", needs_range, lambda i: "an NZEV needs its all-electric range in miles (a number > 0), "
               f"got {_text_of(table, 'aer_miles', i)!r}")
    not_nzev = ~nzev & aer.ok & aer_given
    report.add("aer_miles", not_nzev, lambda i: f"expected empty for a {powertrain.values[i] or 'non-NZEV'} row, "
               f"got {_text_of(table, 'aer_miles', i)!r}")
    vehicles = check_column(table, "vehicles", report, vehicle_count)
    ok = (manufacturer.ok & state.ok & year.ok & weight_class.ok & powertrain.ok & aer.ok & ~needs_range
          & ~not_nzev & vehicles.ok)
    canonical_aer = pd.factorize(np.array([None if v is None else str(v.normalize()) for v in aer.values[ok]],
                                          dtype=object), use_na_sentinel=True)[0] if ok.any() else np.zeros(0)
    keys = {"manufacturer": _codes(table, "manufacturer")[ok], "state": _codes(table, "state")[ok],
            "model_year": year.values[ok].astype(np.int64), "weight_class": _codes(table, "weight_class")[ok],
            "powertrain": _codes(table, "powertrain")[ok], "aer_miles": canonical_aer}
    repeat, first = duplicates(keys, rows[ok])
    at = np.flatnonzero(ok)
    dup = np.zeros(len(rows), dtype=bool)
    dup[at[repeat]] = True
    first_row = np.zeros(len(rows), dtype=np.int64)
    first_row[at] = first
    report.add("vehicles", dup, lambda i: f"duplicate of row {first_row[i]} (same values in every column but vehicles)")
    problems.extend(report.problems())
    keep = ok & ~dup
    return pd.DataFrame({
        "manufacturer": _text_column(table, "manufacturer", keep),
        "state": _text_column(table, "state", keep),
        "model_year": year.values[keep].astype(np.int64),
        "weight_class": _text_column(table, "weight_class", keep),
        "powertrain": _text_column(table, "powertrain", keep),
        "aer_miles": aer.values[keep],
        "vehicles": vehicles.values[keep].astype(np.int64),
    }, columns=list(SALES_COLUMNS))


def validate_bank(table: pd.DataFrame, label: str, rules: RuleSet, known_states: list[str],
                  bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """The opening bank typed (``credits_tenths`` integer tenths; ``row`` the table row), or its problems."""
    rows = table[ROW].to_numpy()
    report = Report(label, rows)
    manufacturer = check_column(table, "manufacturer", report, name_text("a manufacturer name"))
    state = check_column(table, "state", report, choice(known_states, "state"))
    vintage = check_column(table, "vintage", report, model_year(bounds, rules.id))
    group = check_column(table, "group", report, choice(GROUPS, "group"))
    credit_type = check_column(table, "credit_type", report, choice(CREDIT_TYPES, "credit type"))
    credits = check_column(table, "credits", report, tenths())
    ok = manufacturer.ok & state.ok & vintage.ok & group.ok & credit_type.ok & credits.ok
    keys = {"manufacturer": _codes(table, "manufacturer")[ok], "state": _codes(table, "state")[ok],
            "vintage": vintage.values[ok].astype(np.int64), "group": _codes(table, "group")[ok],
            "credit_type": _codes(table, "credit_type")[ok]}
    repeat, first = duplicates(keys, rows[ok])
    at = np.flatnonzero(ok)
    dup = np.zeros(len(rows), dtype=bool)
    dup[at[repeat]] = True
    first_row = np.zeros(len(rows), dtype=np.int64)
    first_row[at] = first
    report.add("credits", dup, lambda i: f"duplicate of row {first_row[i]} (same balance listed twice)")
    problems.extend(report.problems())
    keep = ok & ~dup
    return pd.DataFrame({
        "manufacturer": _text_column(table, "manufacturer", keep),
        "state": _text_column(table, "state", keep),
        "vintage": vintage.values[keep].astype(np.int64),
        "group": _text_column(table, "group", keep),
        "credit_type": _text_column(table, "credit_type", keep),
        "credits_tenths": credits.values[keep].astype(np.int64),
        "row": rows[keep].astype(np.int64),
    })


def validate_trades(table: pd.DataFrame, label: str, rules: RuleSet, known_states: list[str],
                    bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """Field checks of the trades table (``credits_tenths``; ``row`` the table row); whether the
    seller holds the credits is checked against the credits generated
    (:func:`act_pool.solve.problem.apply_trades`)."""
    rows = table[ROW].to_numpy()
    report = Report(label, rows)
    seller = check_column(table, "seller", report, name_text("a manufacturer name"))
    buyer = check_column(table, "buyer", report, name_text("a manufacturer name"))
    same = seller.ok & buyer.ok & (seller.values == buyer.values)
    report.add("buyer", same, lambda i: "expected a buyer other than the seller")
    state = check_column(table, "state", report, choice(known_states, "state"))
    vintage = check_column(table, "vintage", report, model_year(bounds, rules.id))
    group = check_column(table, "group", report, choice(GROUPS, "group"))
    credit_type = check_column(table, "credit_type", report, choice(CREDIT_TYPES, "credit type"))
    year = check_column(table, "model_year", report, model_year(bounds, rules.id))
    credits = check_column(table, "credits", report, tenths(positive=True))
    ok = seller.ok & buyer.ok & ~same & state.ok & vintage.ok & group.ok & credit_type.ok & year.ok & credits.ok
    early = np.zeros(len(rows), dtype=bool)
    early[ok] = year.values[ok].astype(np.int64) < vintage.values[ok].astype(np.int64)
    report.add("model_year", early, lambda i: f"a credit of vintage {vintage.values[i]} cannot be transferred in "
               f"model year {year.values[i]}, before it exists")
    problems.extend(report.problems())
    keep = ok & ~early
    return pd.DataFrame({
        "seller": _text_column(table, "seller", keep),
        "buyer": _text_column(table, "buyer", keep),
        "state": _text_column(table, "state", keep),
        "vintage": vintage.values[keep].astype(np.int64),
        "group": _text_column(table, "group", keep),
        "credit_type": _text_column(table, "credit_type", keep),
        "credits_tenths": credits.values[keep].astype(np.int64),
        "model_year": year.values[keep].astype(np.int64),
        "row": rows[keep].astype(np.int64),
    })


def _codes(table: pd.DataFrame, name: str) -> np.ndarray:
    return _categories(table, name)[1]


def _text_column(table: pd.DataFrame, name: str, keep: np.ndarray) -> pd.Series:
    """The text of the kept rows of a column, as a string column."""
    texts, codes = _categories(table, name)
    return pd.Series(np.asarray(texts, dtype=object)[codes[keep]], dtype="str")
