"""Reading a scenario workbook into the inputs a scenario file gives, checked by the same validation.

The ``Scenario`` sheet becomes the scenario document (the keys of scenario.toml), the ``Overrides``
and ``Plan`` sheets its ``[overrides]`` and ``[plan]`` tables, and the ``Sales``, ``Bank`` and
``Trades`` sheets the rows of its CSV tables (cell text, the row number as Excel shows it). They
then pass through :func:`act_pool.scenario.build_scenario`, so a workbook gets every check a
scenario file gets. Every problem names the workbook, the sheet, the row and the column header (on
the key-value sheets, the key); a problem the scenario checks find in a key is placed on its row.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from act_pool.errors import InputError, Problem
from act_pool.workbook import layout
from act_pool.workbook.cells import cell_text, is_date, toml_value
from act_pool.workbook.sheets import Book, RawRow

if TYPE_CHECKING:
    from act_pool.scenario import Scenario

_YEARS = re.compile(r"(\d{4})(?:\s*[-\u2013]\s*(\d{4}))?")


@dataclass
class WorkbookInputs:
    """What a workbook holds, in the form of a scenario file's inputs.

    Attributes
    ----------
    doc : dict
        The scenario document: the keys of scenario.toml (without the table file names).
    tables : dict of str to list of dict
        Text rows of the ``Sales``, ``Bank`` and ``Trades`` sheets, by sheet (a sheet that is
        absent or whose header is wrong is left out).
    labels : dict of str to str
        How problems name each sheet.
    problems : list of Problem
        Problems found reading the cells.
    flagged : set
        (label, row, column) of the cells and keys already reported.
    rows : dict of str to tuple
        For each key of the document (``model_years``, ``overrides.NAME``, ``plan.KEY``), the label
        and row of the cell it came from.
    scenario_read : bool
        Whether the ``Scenario`` sheet was there with its header.
    """

    doc: dict[str, Any]
    tables: dict[str, list[dict[str, str]]]
    labels: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    flagged: set[tuple[str, int | None, str | None]] = field(default_factory=set)
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)
    scenario_read: bool = False


def read_workbook(path: str | Path) -> WorkbookInputs:
    """The scenario inputs of a workbook, with the problems found reading it (not yet validated).

    Raises
    ------
    InputError
        When the file is not there or is not a workbook.
    """
    book = Book(Path(path))
    try:
        return _read(book)
    finally:
        book.close()


def _read(book: Book) -> WorkbookInputs:
    present = {s for s in _sheets_present(book) if s in layout.REQUIRED_SHEETS or not book.is_blank(s)}
    inputs = WorkbookInputs(doc={}, tables={}, labels={s: book.label(s) for s in layout.SHEETS})
    if layout.SCENARIO_SHEET in present:
        rows = book.read_table(layout.SCENARIO_SHEET, layout.KEY_VALUE_COLUMNS)
        _scenario_keys(rows or [], inputs, book)
        inputs.scenario_read = rows is not None
    for sheet in layout.TABLE_COLUMNS:
        if sheet in present:
            rows = book.read_table(sheet, layout.TABLE_COLUMNS[sheet], layout.OPTIONAL_COLUMNS[sheet])
            if rows is not None:
                inputs.tables[sheet] = _text_rows(rows, book.label(sheet), book)
    if layout.OVERRIDES_SHEET in present:
        rows = book.read_table(layout.OVERRIDES_SHEET, layout.OVERRIDE_COLUMNS,
                               layout.OPTIONAL_COLUMNS[layout.OVERRIDES_SHEET])
        overrides = _overrides(rows or [], inputs, book)
        if overrides:
            inputs.doc["overrides"] = overrides
    if layout.PLAN_SHEET in present:
        rows = book.read_table(layout.PLAN_SHEET, layout.KEY_VALUE_COLUMNS)
        label = book.label(layout.PLAN_SHEET)
        items = _key_values(rows or [], label, book, "plan", inputs)
        plan, problems = plan_table(items, label)
        book.problems.extend(problems)
        if plan:
            inputs.doc["plan"] = plan
    inputs.problems = book.problems
    inputs.flagged = book.flagged
    return inputs


def _sheets_present(book: Book) -> set[str]:
    """The layout's sheets the workbook has; a required sheet missing, or one misspelt, is a problem."""
    names = set(book.sheet_names)
    strangers = [n for n in book.sheet_names if n not in layout.SHEETS]
    for sheet in layout.SHEETS:
        if sheet in names or sheet == layout.README_SHEET:
            continue
        near = [n for n in strangers if n.strip().lower() == sheet.lower()]
        near = near or difflib.get_close_matches(sheet, strangers, n=1, cutoff=0.75)
        if near:
            book.problems.append(Problem(str(book.path), None, None, f"missing sheet '{sheet}' (is the sheet "
                                         f"'{near[0]}' meant? rename it '{sheet}')"))
        elif sheet in layout.REQUIRED_SHEETS:
            book.problems.append(Problem(str(book.path), None, None, f"missing sheet '{sheet}'; a scenario "
                                         f"workbook has the sheets {', '.join(layout.SHEETS)}"))
    return names & set(layout.SHEETS)


def _text_rows(rows: list[RawRow], label: str, book: Book) -> list[dict[str, str]]:
    """Table rows as the CSV reader gives them: cell text by column, and ``_row``.

    Texts and whole numbers, nearly every cell, are converted inline; the rest by :func:`cell_text`,
    with a date reported and emptied.
    """
    out = []
    for raw in rows:
        texts = [v.strip() if type(v) is str else
                 str(int(v)) if type(v) is float and v.is_integer() and -1e15 < v < 1e15 else v
                 for v in raw.cells]
        for j, value in enumerate(texts):
            if type(value) is not str:
                name = raw.header[j]
                if is_date(value):
                    book.problems.append(Problem(label, raw.row, name, _date_message(name, value)))
                    book.flagged.add((label, raw.row, name))
                    value = ""
                texts[j] = cell_text(value)
        text = dict(zip(raw.header, texts))
        text["_row"] = str(raw.row)
        out.append(text)
    return out


def _date_message(column: str, value: Any) -> str:
    if column in layout.NUMBER_COLUMNS:
        return f"a date ({value}) where a number belongs: type the number in a cell formatted as a number"
    return (f"a date ({value}) where text belongs: Excel turned what was typed into a date; format the "
            "column as Text and type the value again")


def _key_values(rows: list[RawRow], label: str, book: Book, prefix: str,
                inputs: WorkbookInputs) -> list[tuple[str, Any, int]]:
    """(key, value, row) of a key-value sheet's rows with a value; problems for keys named twice or
    values without a key. Each key's row is recorded under ``prefix.key``."""
    out: list[tuple[str, Any, int]] = []
    seen: dict[str, int] = {}
    for raw in rows:
        key, value = cell_text(raw.values["key"]), raw.values["value"]
        if key in seen:
            book.problems.append(Problem(label, raw.row, key, f"key named twice (also in row {seen[key]})"))
            continue
        if not key:
            if value != "":
                book.problems.append(Problem(label, raw.row, "key", "a value without a key"))
            continue
        seen[key] = raw.row
        inputs.rows[f"{prefix}.{key}"] = (label, raw.row)
        if is_date(value):
            book.problems.append(Problem(label, raw.row, key, f"a date ({value}): expected a number or a text"))
            book.flagged.add((label, raw.row, key))
        elif value != "":
            out.append((key, value, raw.row))
    return out


def _scenario_keys(rows: list[RawRow], inputs: WorkbookInputs, book: Book) -> None:
    label = book.label(layout.SCENARIO_SHEET)
    for key, value, row in _key_values(rows, label, book, "scenario", inputs):
        if key not in layout.SCENARIO_KEYS:
            book.problems.append(Problem(label, row, key, f"unknown key; expected one of "
                                         f"{', '.join(layout.SCENARIO_KEYS)}"))
            continue
        parsed = _scenario_value(key, value, label, row, book)
        if parsed is None:
            continue
        if "." in key:
            table, sub = key.split(".", 1)
            inputs.doc.setdefault(table, {})[sub] = parsed
        else:
            inputs.doc[key] = parsed


def _scenario_value(key: str, value: Any, label: str, row: int, book: Book) -> Any:
    """The value of a ``Scenario`` key as scenario.toml would give it (None: a problem was recorded)."""
    text = cell_text(value)
    if key == "model_years":
        match = _YEARS.fullmatch(text)
        if match is None:
            book.problems.append(Problem(label, row, key, f"expected the first and last model year, e.g. "
                                         f"2021-2035, got {text!r}"))
            return None
        return [int(match.group(1)), int(match.group(2) or match.group(1))]
    if key == "pooling":
        flag = value if isinstance(value, bool) else {"true": True, "false": False}.get(text.lower())
        return flag if flag is not None else text
    if key == "retirement" and text in ("optimal", "earliest-expiring"):
        return text
    if key in layout.LIST_SEPARATORS:
        items = text.split(";") if key == "purchase.manufacturers" else re.split(r"[,;\s]+", text)
        return [item.strip() for item in items if item.strip()]
    if key == "purchase.price":
        return toml_value(value)
    return text


def _overrides(rows: list[RawRow], inputs: WorkbookInputs, book: Book) -> dict[str, Any]:
    """The ``[overrides]`` table: one row per parameter, or one per model year of a schedule."""
    label = book.label(layout.OVERRIDES_SHEET)
    overrides: dict[str, Any] = {}
    for raw in rows:
        name, value = cell_text(raw.values["parameter"]), raw.values["value"]
        year_cell = raw.values.get("from_model_year", "")
        if not name:
            if value != "":
                book.problems.append(Problem(label, raw.row, "parameter", "a value without a parameter name"))
            continue
        inputs.rows.setdefault(f"overrides.{name}", (label, raw.row))
        if value == "":
            continue
        if is_date(value) or is_date(year_cell):
            column = "value" if is_date(value) else "from_model_year"
            book.problems.append(Problem(label, raw.row, column, f"a date ({value if column == 'value' else year_cell})"
                                         ": expected a number, TRUE/FALSE or a text"))
            book.flagged.add((label, raw.row, column))
            continue
        parsed, year = toml_value(value), cell_text(year_cell)
        earlier = overrides.get(name)
        if not year:
            if name in overrides:
                book.problems.append(Problem(label, raw.row, name, "parameter named twice: give one value, or one "
                                             "row per model year with from_model_year"))
                continue
            overrides[name] = parsed
        elif not year.isdigit():
            book.problems.append(Problem(label, raw.row, "from_model_year", f"expected a model year, got {year!r}"))
        elif (earlier is not None and not isinstance(earlier, dict)) or year in (earlier or {}):
            book.problems.append(Problem(label, raw.row, name, f"parameter named twice for model year {year}"
                                         if earlier else "parameter named twice: with and without from_model_year"))
        else:
            overrides.setdefault(name, {})[year] = parsed
    return overrides


def plan_table(items: list[tuple[str, Any, int]], label: str) -> tuple[dict[str, Any], list[Problem]]:
    """The ``[plan]`` table of the ``Plan`` sheet's (key, value, row) items, and the problems found.

    ``zev_cost.2b-3`` becomes ``plan["zev_cost"]["2b-3"]``; ``max_zev_share`` is one value or,
    as ``max_zev_share.CA``, ``max_zev_share.tractor``, ``max_zev_share.2030``, a table. Values are
    read as TOML values (:func:`~act_pool.workbook.cells.toml_value`).
    """
    plan: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value, row in items:
        top, _, sub = key.partition(".")
        if (not sub and top in plan) or (sub and top in plan and not isinstance(plan[top], dict)):
            problems.append(Problem(label, row, key, f"{top} given both as one value and per key"))
        elif not sub:
            plan[top] = toml_value(value)
        else:
            plan.setdefault(top, {})[sub] = toml_value(value)
    return plan, problems


def load_workbook_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario workbook (see :func:`act_pool.scenario.load_scenario`).

    Raises
    ------
    InputError
        With every problem found, each naming the workbook, sheet, row and column.
    """
    from act_pool.scenario import build_scenario

    path = Path(path)
    inputs = read_workbook(path)
    label = inputs.labels[layout.SCENARIO_SHEET]
    own = list(inputs.problems)
    for key in ("name", "rules"):
        if key not in inputs.doc and inputs.scenario_read and (label, None, key) not in inputs.flagged:
            row = inputs.rows.get(f"scenario.{key}", (label, None))[1]
            own.append(Problem(label, row, key, "required key is missing: " + ("give it a row on the Scenario sheet"
                                                                              if row is None else "give it a value")))
            inputs.flagged.add((label, None, key))
    if "rules" not in inputs.doc:
        raise InputError(_in_sheet_order(own, inputs))
    problems = list(own)
    try:
        scenario = build_scenario(
            inputs.doc, label, inputs.tables.get(layout.SALES_SHEET), inputs.labels[layout.SALES_SHEET],
            inputs.tables.get(layout.BANK_SHEET), inputs.labels[layout.BANK_SHEET], problems, path,
            trade_rows=inputs.tables.get(layout.TRADES_SHEET), trades_label=inputs.labels[layout.TRADES_SHEET])
    except InputError as exc:
        raise InputError(_in_sheet_order(_place(exc.problems, inputs, own), inputs)) from None
    return scenario


def _in_sheet_order(problems: list[Problem], inputs: WorkbookInputs) -> list[Problem]:
    """Problems of the whole workbook first, then sheet by sheet in the workbook's order, row by row."""
    order = {label: i for i, label in enumerate(inputs.labels[s] for s in layout.SHEETS)}
    return sorted(problems, key=lambda p: (order.get(p.file, -1), p.row or 0))


def _place(problems: list[Problem], inputs: WorkbookInputs, own: list[Problem]) -> list[Problem]:
    """Problems in the order found, each once, with a key's problem placed on its sheet and row; a
    scenario check's problem at a cell or key already reported reading the workbook (``own``) is left out."""
    out: list[Problem] = []
    scenario_label = inputs.labels[layout.SCENARIO_SHEET]
    for p in problems:
        if p in out:
            continue
        if (p.file, p.row, p.field) in inputs.flagged and p not in own:
            continue
        if p.file == scenario_label and p.row is None and p.field:
            p = _on_its_row(p, inputs)
        out.append(p)
    return out


def _on_its_row(p: Problem, inputs: WorkbookInputs) -> Problem:
    field_name = str(p.field)
    if field_name.startswith("overrides."):
        name = field_name.removeprefix("overrides.")
        if f"overrides.{name}" in inputs.rows:
            label, row = inputs.rows[f"overrides.{name}"]
            return Problem(label, row, name, p.message)
    parts = field_name.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        for where in (f"scenario.{key}", key if key.startswith("plan.") else ""):
            if where in inputs.rows:
                label, row = inputs.rows[where]
                return Problem(label, row, field_name.removeprefix("plan."), p.message)
    if field_name == "purchase":
        rows = [v for k, v in inputs.rows.items() if k.startswith("scenario.purchase.")]
        if rows:
            return Problem(*min(rows), field_name, p.message)
    return p
