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
#: Invisible characters that make two names look alike or reorder the text as shown: the byte-order mark
#: (as in a file pasted into another), the zero-width space, the word joiner, the direction marks and the
#: bidirectional embeddings, overrides and isolates. Never part of a name or a value either.
INVISIBLE = re.compile("[\ufeff\u200b\u2060\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE = re.compile(f"{CONTROL.pattern}|{INVISIBLE.pattern}")
_DIGITS = re.compile(r"[0-9]{1,9}")


def printable(text: str) -> str:
    """``text`` with every control and invisible character escaped (``\\x00``, ``\\ufeff``), for messages."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)


def control_character(text: str) -> str | None:
    """A problem message if ``text`` holds a control character or an invisible one (:data:`INVISIBLE`),
    else None."""
    found = CONTROL.search(text)
    if found is not None:
        return f"control character U+{ord(found.group()):04X} in the text: expected printable text"
    found = INVISIBLE.search(text)
    if found is not None:
        return (f"invisible character U+{ord(found.group()):04X} in the text (a byte-order mark, zero-width "
                "space or direction mark): expected printable text")
    return None


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
    text = column.astype(str).to_numpy(dtype=object)
    text[column.isna().to_numpy()] = ""
    return pd.Categorical(text)


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
    """One checked column: each distinct text parsed once, and the rows' codes into them.

    Attributes
    ----------
    texts : list of str
        The distinct texts.
    parsed : ndarray of object
        The value of each distinct text (None where it is invalid).
    codes : ndarray of int
        Per row, the index of its text.
    ok : ndarray of bool
        Per row, whether its value is valid.
    """

    texts: list[str]
    parsed: np.ndarray
    codes: np.ndarray
    ok: np.ndarray

    def text(self, i: int) -> str:
        """The text of the row at position ``i``."""
        return self.texts[self.codes[i]]

    def value(self, i: int) -> Any:
        """The parsed value of the row at position ``i``."""
        return self.parsed[self.codes[i]]

    def each(self, test: Callable[[Any], bool]) -> np.ndarray:
        """Per row, ``test`` of its parsed value (evaluated once per distinct text)."""
        return np.array([test(v) for v in self.parsed], dtype=bool)[self.codes]

    def integers(self, rows: np.ndarray) -> np.ndarray:
        """The parsed whole numbers of the rows selected by the mask ``rows`` (valid rows only)."""
        return np.array([0 if v is None else v for v in self.parsed], dtype=np.int64)[self.codes[rows]]

    def objects(self, rows: np.ndarray) -> np.ndarray:
        """The parsed values of the rows selected by the mask ``rows``."""
        return self.parsed[self.codes[rows]]

    def strings(self, rows: np.ndarray) -> pd.Categorical:
        """The texts of the rows selected by the mask ``rows`` (see :func:`as_strings`)."""
        return pd.Categorical.from_codes(self.codes[rows], categories=pd.Index(self.texts, dtype=object))

    def key(self, rows: np.ndarray, canonical: Callable[[Any], Any]) -> np.ndarray:
        """Codes (below ``len(parsed) + 1``) of the rows selected by ``rows``, equal exactly where their
        ``canonical`` values are equal."""
        keys = pd.factorize(np.array([None if v is None else canonical(v) for v in self.parsed], dtype=object),
                            use_na_sentinel=False)[0]
        return keys[self.codes[rows]]


def _same(value: Any) -> Any:
    return value


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
    not parsed. Rows whose text has a problem are invalid.
    """
    texts, codes = _categories(table, name)
    parsed = np.empty(len(texts), dtype=object)
    messages: list[str | None] = []
    for i, text in enumerate(texts):
        message = control_character(text)
        if message is None and len(text) > MAX_FIELD_CHARS:
            message = f"{len(text)} characters, more than the limit of {MAX_FIELD_CHARS}"
        if message is None:
            parsed[i], message = parse(text)
        messages.append(message)
    bad = np.array([m is not None for m in messages], dtype=bool)[codes]
    report.add(name, bad, lambda i: str(messages[codes[i]]))
    return Column(texts, parsed, codes, ~bad)


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


def repeats(keys: Sequence[tuple[Column, Callable[[Any], Any]]],
            rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the rows selected by the mask ``rows`` repeat an earlier selected row's key.

    Parameters
    ----------
    keys : sequence of (Column, canonical)
        The key's columns, each with the function giving the value compared (see :meth:`Column.key`).
    rows : ndarray of bool

    Returns
    -------
    repeat : ndarray of bool
        Per selected row, whether an earlier selected row has the same key.
    first : ndarray of int
        Per selected row, the position (among the selected rows) of the first row with its key.
    """
    count = int(rows.sum())
    if not count:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    sizes = [len(column.parsed) + 1 for column, _ in keys]
    combined = np.zeros(count, dtype=np.int64)
    exact = float(np.prod(np.array(sizes, dtype=float))) < 2.0**62  # the key as one mixed-radix number
    for (column, canonical), size in zip(keys, sizes):
        combined = combined * (size if exact else count) + column.key(rows, canonical)
        if not exact:  # keep every partial key below count, so that no product overflows
            combined = pd.factorize(combined)[0]
    combined = pd.factorize(combined)[0]
    # factorize numbers the keys in order of first appearance: a row comes first where its code is new
    first = np.empty(count, dtype=bool)
    first[0] = True
    first[1:] = combined[1:] > np.maximum.accumulate(combined)[:-1]
    return ~first, np.flatnonzero(first)[combined]


# --------------------------------------------------------------------------------------------
# The scenario tables
# --------------------------------------------------------------------------------------------

def as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its categorical columns as string columns (each distinct text converted once).

    The validators return text as categorical columns, cheap to filter; a Scenario holds strings, so
    that sorting and grouping follow the text, not the order of the categories.
    """
    out = frame.copy(deep=False)
    for name in frame.columns:
        column = frame[name].array
        if isinstance(column, pd.Categorical):
            out[name] = pd.array([str(c) for c in column.categories], dtype="str").take(np.asarray(column.codes))
    return out


def _flag_repeats(report: Report, name: str, what: str, ok: np.ndarray,
                  keys: Sequence[tuple[Column, Callable[[Any], Any]]]) -> np.ndarray:
    """Report the valid rows repeating an earlier valid row's key in field ``name``; return them as a mask."""
    repeat, first = repeats(keys, ok)
    at = np.flatnonzero(ok)
    dup = np.zeros(len(ok), dtype=bool)
    dup[at[repeat]] = True
    first_row = np.zeros(len(ok), dtype=np.int64)
    first_row[at] = report.rows[at[first]]
    report.add(name, dup, lambda i: f"duplicate of row {first_row[i]} ({what})")
    return dup


def validate_sales(table: pd.DataFrame, label: str, rules: RuleSet, known_states: list[str],
                   bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """The sales table typed (CONTRACT.md, sales table); its problems are added to ``problems``.

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
    nzev = powertrain.each(lambda v: v == "NZEV") & powertrain.ok
    needs_range = nzev & aer.ok & ~aer.each(lambda v: v is not None)
    report.add("aer_miles", needs_range, lambda i: "an NZEV needs its all-electric range in miles (a number > 0), "
               f"got {aer.text(i)!r}")
    not_nzev = ~nzev & aer.ok & np.array([t != "" for t in aer.texts], dtype=bool)[aer.codes]
    report.add("aer_miles", not_nzev, lambda i: f"expected empty for a {powertrain.value(i) or 'non-NZEV'} row, "
               f"got {aer.text(i)!r}")
    vehicles = check_column(table, "vehicles", report, vehicle_count)
    ok = (manufacturer.ok & state.ok & year.ok & weight_class.ok & powertrain.ok & aer.ok & ~needs_range
          & ~not_nzev & vehicles.ok)
    keys = [(manufacturer, _same), (state, _same), (year, _same), (weight_class, _same), (powertrain, _same),
            (aer, Decimal.normalize)]
    keep = ok & ~_flag_repeats(report, "vehicles", "same values in every column but vehicles", ok, keys)
    problems.extend(report.problems())
    return pd.DataFrame({
        "manufacturer": manufacturer.strings(keep),
        "state": state.strings(keep),
        "model_year": year.integers(keep),
        "weight_class": weight_class.strings(keep),
        "powertrain": powertrain.strings(keep),
        "aer_miles": aer.objects(keep),
        "vehicles": vehicles.integers(keep),
    }, columns=list(SALES_COLUMNS))


def validate_bank(table: pd.DataFrame, label: str, rules: RuleSet, known_states: list[str],
                  bounds: tuple[int, int], problems: list[Problem]) -> pd.DataFrame:
    """The opening bank typed (``credits_tenths`` integer tenths; ``row`` the table row); its problems
    are added to ``problems``."""
    rows = table[ROW].to_numpy()
    report = Report(label, rows)
    manufacturer = check_column(table, "manufacturer", report, name_text("a manufacturer name"))
    state = check_column(table, "state", report, choice(known_states, "state"))
    vintage = check_column(table, "vintage", report, model_year(bounds, rules.id))
    group = check_column(table, "group", report, choice(GROUPS, "group"))
    credit_type = check_column(table, "credit_type", report, choice(CREDIT_TYPES, "credit type"))
    credits = check_column(table, "credits", report, tenths())
    ok = manufacturer.ok & state.ok & vintage.ok & group.ok & credit_type.ok & credits.ok
    keys = [(manufacturer, _same), (state, _same), (vintage, _same), (group, _same), (credit_type, _same)]
    keep = ok & ~_flag_repeats(report, "credits", "same balance listed twice", ok, keys)
    problems.extend(report.problems())
    return pd.DataFrame({
        "manufacturer": manufacturer.strings(keep),
        "state": state.strings(keep),
        "vintage": vintage.integers(keep),
        "group": group.strings(keep),
        "credit_type": credit_type.strings(keep),
        "credits_tenths": credits.integers(keep),
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
    sellers = np.asarray(seller.texts, dtype=object)[seller.codes]
    buyers = np.asarray(buyer.texts, dtype=object)[buyer.codes]
    same = seller.ok & buyer.ok & (sellers == buyers)
    report.add("buyer", same, lambda i: "expected a buyer other than the seller")
    state = check_column(table, "state", report, choice(known_states, "state"))
    vintage = check_column(table, "vintage", report, model_year(bounds, rules.id))
    group = check_column(table, "group", report, choice(GROUPS, "group"))
    credit_type = check_column(table, "credit_type", report, choice(CREDIT_TYPES, "credit type"))
    year = check_column(table, "model_year", report, model_year(bounds, rules.id))
    credits = check_column(table, "credits", report, tenths(positive=True))
    ok = seller.ok & buyer.ok & ~same & state.ok & vintage.ok & group.ok & credit_type.ok & year.ok & credits.ok
    everything = np.ones(len(rows), dtype=bool)
    early = ok & (year.integers(everything) < vintage.integers(everything))
    report.add("model_year", early, lambda i: f"a credit of vintage {vintage.value(i)} cannot be transferred in "
               f"model year {year.value(i)}, before it exists")
    problems.extend(report.problems())
    keep = ok & ~early
    return pd.DataFrame({
        "seller": seller.strings(keep),
        "buyer": buyer.strings(keep),
        "state": state.strings(keep),
        "vintage": vintage.integers(keep),
        "group": group.strings(keep),
        "credit_type": credit_type.strings(keep),
        "credits_tenths": credits.integers(keep),
        "model_year": year.integers(keep),
        "row": rows[keep].astype(np.int64),
    })
