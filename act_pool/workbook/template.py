"""Writing the scenario workbook a planner fills in: empty, or filled from a scenario.

Sheets (see :mod:`act_pool.workbook.layout`): ``Scenario`` (``key``, ``value``), ``Sales``,
``Bank``, ``Trades`` (the columns of the CSV tables), ``Overrides`` (``parameter``, ``value``,
``from_model_year``), ``Plan`` (``key``, ``value``) and ``Read me`` (what each sheet means, and the
rule set's parameters with their sources). Headers look like those of results.xlsx (bold, shaded,
frozen), carry a note each, and the table columns have drop-downs or whole-number checks.

Every text is written as a text cell, never as a formula; numbers are written as numbers only
where the number reads back as the same value. The same source gives the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from act_pool.errors import InputError, Problem
from act_pool.report.atomic import write_atomic
from act_pool.rules import RuleSet, load_rules
from act_pool.rules.clauses import CREDIT_TYPES, GROUPS, POWERTRAINS, WEIGHT_CLASS_GROUP, state_codes
from act_pool.rules.model import bundled_ids
from act_pool.workbook import layout
from act_pool.workbook.cells import cell_for, exact_float

#: Document properties' created date (fixed, so that the same source gives the same bytes).
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1)
HEADER_FILL = "#DDE5F0"   # as results.xlsx (act_pool.report.excel)
HEADER_BORDER = "#7F8C9D"
MAX_WIDTH = 80
LAST_ROW = 1_048_575       # Excel's last row (0-based): checks and formats cover the whole column
DEFAULT_RULES = "act-2025"


@dataclass(frozen=True)
class Source:
    """A scenario as its document and its table rows (cell text by column), by sheet."""

    doc: dict[str, Any]
    tables: dict[str, list[dict[str, str]]]
    folder: Path


def write_template(out: str | Path, source: str | Path | None = None, force: bool = False) -> Path:
    """Write the scenario workbook ``out``: empty, or filled from the scenario file or workbook ``source``.

    Raises
    ------
    InputError
        When ``out`` does not end in .xlsx, exists (unless ``force``), is a folder or not a regular
        file, or when ``source`` is not a valid scenario. Nothing is written then. With ``force``, only
        the file named ``out`` is replaced (in one step, :func:`~act_pool.report.atomic.write_atomic`;
        a symbolic link is replaced, not the file it points to).
    """
    out = Path(out)
    problems = []
    if out.suffix.lower() != ".xlsx":
        problems.append(Problem(str(out), None, None, "expected a file name ending in .xlsx"))
    elif out.is_dir():
        problems.append(Problem(str(out), None, None, "is a folder: expected the name of the workbook to write"))
    elif out.exists() and not out.is_file():
        problems.append(Problem(str(out), None, None, "is a pipe, socket or device: expected the name of the "
                                "workbook to write"))
    elif out.exists() and not force:
        problems.append(Problem(str(out), None, None, "already exists: act-pool does not overwrite a file; "
                                "choose another name, or give --force to replace it"))
    if problems:
        raise InputError(problems)
    src = read_source(Path(source)) if source is not None else Source({"rules": DEFAULT_RULES}, {}, Path.cwd())
    return write_atomic(out, template_bytes(src, out.resolve().parent))


def read_source(path: Path) -> Source:
    """A scenario file's or workbook's document and rows, after checking that it is valid."""
    from act_pool.scenario import load_scenario

    load_scenario(path)
    if path.suffix.lower() == ".xlsx":
        from act_pool.workbook.read import read_workbook

        inputs = read_workbook(path)
        return Source(inputs.doc, inputs.tables, path.resolve().parent)
    with open(path, "rb") as fh:
        doc = tomllib.load(fh, parse_float=Decimal)
    tables = {}
    for key, sheet in (("sales", layout.SALES_SHEET), ("bank", layout.BANK_SHEET), ("trades", layout.TRADES_SHEET)):
        if key in doc:
            with open(path.parent / str(doc.pop(key)), newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                tables[sheet] = [{k.strip(): (v or "").strip() for k, v in rec.items()} for rec in reader
                                 if any((v or "").strip() for v in rec.values())]
    return Source(doc, tables, path.resolve().parent)


def template_bytes(src: Source, folder: Path) -> bytes:
    """The workbook of ``src`` as .xlsx bytes; a rule-set path is made relative to ``folder``."""
    doc = dict(src.doc)
    rules_ref = str(doc.get("rules", DEFAULT_RULES))
    rules = load_rules(rules_ref, relative_to=src.folder)
    if rules_ref not in bundled_ids():
        doc["rules"] = os.path.relpath(src.folder / rules_ref, folder)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    book.set_properties({"title": f"ACT scenario: {doc.get('name', '')}", "author": "act-pool",
                         "created": FIXED_TIMESTAMP})
    writer = _Writer(book, rules)
    writer.scenario(doc)
    writer.tables(src.tables)
    readme_range = writer.reserve_readme()
    writer.overrides(doc.get("overrides", {}), readme_range)
    writer.plan(doc.get("plan", {}))
    writer.readme()
    book.worksheets()[0].activate()
    book.close()
    return buffer.getvalue()


class _Writer:
    """Writes the sheets of one workbook with shared formats."""

    def __init__(self, book: xlsxwriter.Workbook, rules: RuleSet) -> None:
        self.book, self.rules = book, rules
        self.header = book.add_format({"bold": True, "bg_color": HEADER_FILL, "bottom": 1,
                                       "bottom_color": HEADER_BORDER, "valign": "vcenter"})
        self.text = book.add_format({"num_format": "@"})
        self.credit = book.add_format({"num_format": "0.0"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.bold = book.add_format({"bold": True})
        self.sheets: dict[str, Any] = {}
        for name in layout.SHEETS:
            self.sheets[name] = book.add_worksheet(name)
        self.states = state_codes(rules)
        self.first_year = int(rules.value("model_years.first"))
        self.last_year = int(rules.value("model_years.last"))
        self.readme_row = 0

    def _header(self, sheet: str, columns: tuple[str, ...], notes: dict[str, str]) -> Any:
        ws = self.sheets[sheet]
        for j, name in enumerate(columns):
            ws.write_string(0, j, name, self.header)
            if name in notes:
                ws.write_comment(0, j, notes[name], {"x_scale": 2, "y_scale": 1.2})
        ws.freeze_panes(1, 0)
        return ws

    def _widths(self, ws: Any, columns: tuple[str, ...], rows: list[list[Any]],
                formats: dict[int, Any] | None = None) -> None:
        for j, name in enumerate(columns):
            width = max([len(name) + 3, *(len(str(r[j])) for r in rows if j < len(r) and r[j] is not None)])
            ws.set_column(j, j, min(width + 2, MAX_WIDTH), (formats or {}).get(j))

    def _list_check(self, ws: Any, col: int, values: list[str] | str, what: str) -> None:
        source = values if isinstance(values, str) else list(values)
        ws.data_validation(1, col, LAST_ROW, col, {"validate": "list", "source": source, "error_title": what,
                                                   "error_message": f"Choose a {what} from the list."})

    def _number_check(self, ws: Any, col: int, kind: str, low: float, high: float | None, what: str) -> None:
        options: dict[str, Any] = {"validate": kind, "error_title": what}
        if high is None:
            options.update({"criteria": ">=" if low == 0 else ">", "value": low,
                            "error_message": f"Expected {what} {'>=' if low == 0 else '>'} {low}."})
        else:
            options.update({"criteria": "between", "minimum": low, "maximum": high,
                            "error_message": f"Expected {what} from {low} to {high}."})
        ws.data_validation(1, col, LAST_ROW, col, options)

    def scenario(self, doc: dict[str, Any]) -> None:
        columns = layout.KEY_VALUE_COLUMNS
        ws = self._header(layout.SCENARIO_SHEET, columns, {"key": "The setting.", "value": "Its value."})
        rows = []
        for i, (key, note) in enumerate(layout.SCENARIO_KEYS.items(), start=1):
            value = _scenario_cell(key, doc)
            ws.write_string(i, 0, key)
            ws.write_comment(i, 0, note, {"x_scale": 2.5})
            _write(ws, i, 1, value)
            rows.append([key, value])
            if key == "rules":
                ws.data_validation(i, 1, i, 1, {"validate": "list", "source": bundled_ids("act-"),
                                                "error_type": "information", "error_title": "rule set",
                                                "error_message": "A bundled rule set, or the path of a rule-set file."})
        self._widths(ws, columns, [[k, v if v is not None else ""] for k, v in rows])

    def tables(self, tables: dict[str, list[dict[str, str]]]) -> None:
        for sheet, columns in layout.TABLE_COLUMNS.items():
            notes = {**layout.COLUMN_NOTES, **(layout.TRADE_NOTES if sheet == layout.TRADES_SHEET else {})}
            ws = self._header(sheet, columns, notes)
            rows = tables.get(sheet, [])
            cells = []
            for i, row in enumerate(rows, start=1):
                line = []
                for j, name in enumerate(columns):
                    value = _table_cell(name, row.get(name, ""))
                    line.append(row.get(name, ""))
                    if value is not None:
                        _write(ws, i, j, value, self.credit if name == "credits" else None)
                cells.append(line)
            formats = {j: self.text for j, name in enumerate(columns) if name not in layout.NUMBER_COLUMNS}
            self._widths(ws, columns, cells, formats)
            self._checks(ws, columns)
            ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)

    def _checks(self, ws: Any, columns: tuple[str, ...]) -> None:
        for j, name in enumerate(columns):
            if name == "state":
                self._list_check(ws, j, self.states, "state")
            elif name == "weight_class":
                self._list_check(ws, j, list(WEIGHT_CLASS_GROUP), "weight class")
            elif name == "powertrain":
                self._list_check(ws, j, list(POWERTRAINS), "powertrain")
            elif name == "group":
                self._list_check(ws, j, list(GROUPS), "group")
            elif name == "credit_type":
                self._list_check(ws, j, list(CREDIT_TYPES), "credit type")
            elif name in ("model_year", "vintage"):
                self._number_check(ws, j, "integer", self.first_year, self.last_year, "a model year")
            elif name == "vehicles":
                self._number_check(ws, j, "integer", 0, None, "a whole number of vehicles")
            elif name == "aer_miles":
                self._number_check(ws, j, "decimal", 0.0001, None, "a range in miles")
            elif name == "credits":
                self._number_check(ws, j, "decimal", 0, None, "credits")

    def reserve_readme(self) -> str:
        """Where the Read me sheet lists the parameter names (the Overrides drop-down's source)."""
        self.readme_row = len(layout.SHEET_NOTES) + 6
        first = self.readme_row + 1
        last = first + len(self.rules.parameters) - 1
        return f"='{layout.README_SHEET}'!$A${first + 1}:$A${last + 1}"

    def overrides(self, overrides: dict[str, Any], names: str) -> None:
        columns = layout.OVERRIDE_COLUMNS
        ws = self._header(layout.OVERRIDES_SHEET, columns, layout.COLUMN_NOTES)
        rows: list[list[Any]] = []
        for name, value in overrides.items():
            if isinstance(value, dict):
                rows += [[name, cell_for(v), int(year)] for year, v in value.items()]
            else:
                rows.append([name, cell_for(value), None])
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                _write(ws, i, j, value)
        ws.data_validation(1, 0, LAST_ROW, 0, {"validate": "list", "source": names, "error_title": "parameter",
                                               "error_message": "Choose a parameter of the rule set (see Read me)."})
        self._number_check(ws, 2, "integer", self.first_year, self.last_year, "a model year")
        ws.set_column(0, 0, max([40, *(len(r[0]) + 2 for r in rows)]), self.text)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 2, 18)

    def plan(self, plan: dict[str, Any]) -> None:
        columns = layout.KEY_VALUE_COLUMNS
        ws = self._header(layout.PLAN_SHEET, columns, {"key": "A lever of the plan.", "value": "Its value "
                                                       "(empty: not used)."})
        flat: dict[str, Any] = {key: None for key in layout.PLAN_KEYS}
        for top, value in plan.items():
            if isinstance(value, dict):
                flat.update({f"{top}.{sub}": v for sub, v in value.items()})
            else:
                flat[top] = value
        for i, (key, value) in enumerate(flat.items(), start=1):
            ws.write_string(i, 0, key)
            if key in layout.PLAN_KEYS:
                ws.write_comment(i, 0, layout.PLAN_KEYS[key], {"x_scale": 2.5})
            if value is not None:
                _write(ws, i, 1, cell_for(value))
        self._widths(ws, columns, [[k, ""] for k in flat], {0: self.text})

    def readme(self) -> None:
        ws = self.sheets[layout.README_SHEET]
        ws.write_string(0, 0, "act-pool scenario workbook", self.bold)
        ws.write_string(1, 0, "Fill in the sheets, then: act-pool validate THIS.xlsx, act-pool run THIS.xlsx; "
                        "act-pool export THIS.xlsx --out DIR writes it as scenario.toml and CSV tables.")
        ws.write_string(2, 0, "Each table has its header in row 1 and ends at its first empty row. act-pool reads "
                        "values, not formatting; a formula gives its calculated value. Keep the text columns "
                        "formatted as Text: Excel turns 4-5 typed into a General cell into a date.")
        ws.write_string(3, 0, "sheet", self.header)
        ws.write_string(3, 1, "what it holds", self.header)
        for i, (sheet, note) in enumerate(layout.SHEET_NOTES.items(), start=4):
            ws.write_string(i, 0, sheet)
            ws.write_string(i, 1, note)
        ws.write_string(self.readme_row - 1, 0, f"Parameters of rule set {self.rules.id}: {self.rules.title}",
                        self.bold)
        columns = ("parameter", "value", "unit", "confidence", "model years", "source", "note")
        for j, name in enumerate(columns):
            ws.write_string(self.readme_row, j, name, self.header)
        rows = []
        for i, p in enumerate(self.rules.parameters.values(), start=self.readme_row + 1):
            row = [p.name, p.display_value(), p.unit, p.confidence, p.effective, p.source, p.note]
            for j, text in enumerate(row):
                ws.write_string(i, j, str(text))
            rows.append(row)
        widths = [max(len(str(r[j])) for r in rows + [list(columns)]) for j in range(len(columns))]
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(w + 2, MAX_WIDTH if j else 48))


def _scenario_cell(key: str, doc: dict[str, Any]) -> Any:
    """The value written for a ``Scenario`` key (None: left empty)."""
    top, _, sub = key.partition(".")
    value = doc.get(top)
    if sub:
        value = value.get(sub) if isinstance(value, dict) else None
    if value is None:
        return None
    if key == "model_years":
        return f"{value[0]}-{value[1]}"
    if key in layout.LIST_SEPARATORS and isinstance(value, list):
        return (layout.LIST_SEPARATORS[key] + " ").join(str(v) for v in value)
    return cell_for(value) if not isinstance(value, str) else value


def _table_cell(column: str, text: str) -> Any:
    """What to write for one table cell's text: a number where it reads back as the same text's
    value, else the text (None: empty)."""
    if not text:
        return None
    if column in layout.NUMBER_COLUMNS:
        try:
            number = Decimal(text)
        except ArithmeticError:
            return text
        if number.is_finite():
            whole = number == number.to_integral_value()
            f = exact_float(int(number) if whole else number)
            if f is not None:
                return int(number) if whole else f
    return text


def _write(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """One cell: a text as a text cell (never a formula), a boolean, or a number."""
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)

