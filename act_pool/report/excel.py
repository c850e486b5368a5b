"""The result as one Excel workbook, for planners who live in spreadsheets.

Sheets, in order:

``summary``
    One tidy table (``section, item, value, unit, confidence, source, note``): the run's settings,
    the totals, the totals by state, the deficits left unmet by reason, and every assumption in
    force (each rule parameter whose confidence is not "verified") with its value, unit,
    confidence and source. The same content as ``summary.json``.
``compliance``, ``ledger``, ``balances``
    The result tables as :meth:`act_pool.run.Result.tables` gives them: amounts in credits.

Every sheet has a bold, frozen header row with a filter, columns fitted to their content, and
credit amounts in the number format ``0.0`` (credits are exact to the tenth).

Every text cell, scenario text included (a manufacturer named ``=1+1`` or ``=HYPERLINK(...)``), is
written as a string cell, never as a formula; numbers are numbers. The workbook is written with
XlsxWriter and is deterministic: fixed document properties (created and modified at
:data:`FIXED_TIMESTAMP`) and fixed time stamps on the parts of the file, so the same result gives
the same bytes. Reports are views: nothing here calculates.
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xlsxwriter

from act_pool.report.atomic import write_atomic
from act_pool.report.tables import TENTHS_COLUMNS

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from act_pool.run import Result

#: Created and modified dates written in the workbook's document properties.
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1, 0, 0, 0)
CREDIT_FORMAT = "0.0"
SUMMARY_COLUMNS = ["section", "item", "value", "unit", "confidence", "source", "note"]
MAX_WIDTH = 80
#: XlsxWriter options: no string is ever turned into a formula, a number or a link.
WORKBOOK_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                    "strings_to_urls": False}
_HEADER_FORMAT = {"bold": True, "bg_color": "#DDE5F0", "pattern": 1, "bottom": 1, "bottom_color": "#7F8C9D",
                  "valign": "vcenter"}

_TOTAL_UNITS = {"vehicles": "vehicles", "purchase_cost_usd": "USD", "rows_short": "rows", "rows_open": "rows"}


def _cell_value(v: Any) -> Any:
    """A cell value: numpy scalars as Python ones, missing as None, exact decimals and lists as text."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_cell_value(x)}" for k, x in v.items())
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _text_width(v: Any, number_format: str | None) -> int:
    if v is None:
        return 0
    if isinstance(v, float) and number_format == CREDIT_FORMAT:
        return len(f"{v:.1f}")
    if isinstance(v, bool):
        return 5
    return max((len(line) for line in str(v).splitlines()), default=0)


def summary_rows(result: "Result") -> list[dict[str, Any]]:
    """The summary sheet as rows of :data:`SUMMARY_COLUMNS` (values from :meth:`Result.summary`)."""
    s = result.summary()
    sc = result.scenario
    rows: list[dict[str, Any]] = []

    def add(section: str, item: str, value: Any, unit: str = "", confidence: str = "", source: str = "",
            note: str = "") -> None:
        rows.append({"section": section, "item": item, "value": _cell_value(value), "unit": unit,
                     "confidence": confidence, "source": source, "note": note})

    retirement = s["retirement"] if isinstance(s["retirement"], str) else ", ".join(s["retirement"])
    add("settings", "scenario", s["scenario"])
    if sc.description:
        add("settings", "description", sc.description)
    add("settings", "scenario file", str(sc.path.name) if sc.path is not None else "")
    add("settings", "rules", s["rules"], note=sc.rules.title)
    add("settings", "retirement", retirement)
    add("settings", "pooling", bool(s["pooling"]))
    add("settings", "first model year", s["model_years"][0], "model year")
    add("settings", "last model year", s["model_years"][1], "model year")
    add("settings", "states", s["states"])
    add("settings", "manufacturers", s["manufacturers"])
    add("settings", "overrides", s["overrides"] or "none")
    add("settings", "units", s["units"])
    add("settings", "act-pool version", s["act_pool_version"])
    for key, value in s["totals"].items():
        add("totals", key.replace("_", " "), value, _TOTAL_UNITS.get(key, "credits"))
    for state, totals in s["by_state"].items():
        for key, value in totals.items():
            add("by state", f"{state} {key.replace('_', ' ')}", value, "credits")
    if s["unmet_by_reason"]:
        for reason, value in s["unmet_by_reason"].items():
            add("unmet by reason", reason, value, "credits")
    else:
        add("unmet by reason", "(nothing unmet)", 0.0, "credits")
    for name, rec in s["assumptions"].items():
        value = rec["value"] if "value" in rec else rec["by_year"]
        add("assumptions", name, value, rec.get("unit", ""), rec.get("confidence", ""), rec.get("source", ""),
            rec.get("note", ""))
    return rows


def _column_values(column: pd.Series) -> list[Any]:
    """A column's cells as :func:`_cell_value` gives them; plain numpy columns converted at once."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu":
        return column.tolist()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        return [None if v != v else v for v in column.tolist()]
    return [_cell_value(v) for v in column.tolist()]


def _number_width(column: pd.Series, credit: bool) -> int:
    """Characters of the widest number of an integer column, or of a credit column shown as ``0.0``:
    that of its largest or its smallest value."""
    values = column.dropna()
    if values.empty:
        return 0
    shown = (f"{v:.1f}" if credit else str(v) for v in (values.max(), values.min()))
    return max(map(len, shown))


def _single_line_text(column: pd.Series) -> bool:
    """Whether every cell of ``column`` is text without a line break (written without per-cell checks)."""
    if not (pd.api.types.is_string_dtype(column.dtype) and column.dtype != object) or column.isna().any():
        return False
    return not column.str.contains("\n", regex=False).any()


def _write_cell(ws: "Worksheet", i: int, j: int, v: Any, credit: Any) -> None:
    """One cell: text always as a string cell (never a formula), numbers as numbers (``credit``
    format where given), booleans as booleans, None as nothing."""
    if v is None:
        return
    if isinstance(v, bool):
        ws.write_boolean(i, j, v)
    elif isinstance(v, (int, float)):
        ws.write_number(i, j, v, credit)
    else:
        ws.write_string(i, j, str(v))


def _write_sheet(wb: "Workbook", styles: dict[str, "Format"], title: str, frame: pd.DataFrame,
                 credit_columns: list[str], credit_rows: pd.Series | None = None) -> None:
    """One sheet: bold frozen header with a filter, fitted widths, ``0.0`` for credits.

    ``credit_rows`` (boolean, aligned with ``frame``) limits the credit format to some rows (the
    summary's ``value`` column holds credits only where the unit is credits). Cells are written
    column by column, so each column's kind of cell is chosen once.
    """
    ws = wb.add_worksheet(title)
    header_format, credit_format = styles["header"], styles["credit"]
    flags = [bool(f) for f in credit_rows] if credit_rows is not None else None
    for j, name in enumerate(frame.columns):
        column = frame.iloc[:, j]
        credit = str(name) in credit_columns
        ws.write_string(0, j, str(name), header_format)
        width = len(str(name)) + 3  # room for the filter button
        numeric = isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf"
        if numeric and flags is None and (credit or column.dtype.kind in "iu"):
            fmt = credit_format if credit else None
            for i, v in enumerate(_column_values(column), start=1):
                if v is not None:
                    ws.write_number(i, j, v, fmt)
            width = max(width, _number_width(column, credit))
        elif column.dtype == bool:
            for i, v in enumerate(column.tolist(), start=1):
                ws.write_boolean(i, j, v)
            width = max(width, 5)
        elif _single_line_text(column):
            for i, v in enumerate(column.tolist(), start=1):
                ws.write_string(i, j, v)
            width = max(width, int(column.str.len().max()) if len(column) else 0)
        else:
            for i, v in enumerate(_column_values(column), start=1):
                as_credit = credit and (flags is None or flags[i - 1])
                width = max(width, _text_width(v, CREDIT_FORMAT if as_credit else None))
                _write_cell(ws, i, j, v, credit_format if as_credit else None)
        ws.set_column(j, j, min(width + 2, MAX_WIDTH))
    ws.freeze_panes(1, 0)
    if len(frame.columns):
        ws.autofilter(0, 0, len(frame), len(frame.columns) - 1)


def workbook_bytes(result: "Result") -> bytes:
    """The .xlsx file of ``result`` (see the module docstring), byte-identical for the same result.

    The document properties are fixed (created and modified at :data:`FIXED_TIMESTAMP`) and
    XlsxWriter stamps every part of the file with 1 January 1980.
    """
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, WORKBOOK_OPTIONS)
    wb.set_properties({"author": "act-pool", "title": f"ACT credit result: {result.scenario.name}",
                       "subject": f"rules {result.scenario.rules.id}", "created": FIXED_TIMESTAMP})
    styles = {"header": wb.add_format(_HEADER_FORMAT), "credit": wb.add_format({"num_format": CREDIT_FORMAT})}
    summary = pd.DataFrame(summary_rows(result), columns=SUMMARY_COLUMNS)
    _write_sheet(wb, styles, "summary", summary, ["value"], credit_rows=summary["unit"] == "credits")
    for name, frame in result.tables().items():
        _write_sheet(wb, styles, name, frame, TENTHS_COLUMNS.get(name, []))
    wb.close()
    return buf.getvalue()


def write_excel(result: "Result", path: str | Path) -> Path:
    """Write the result as an Excel workbook at ``path`` (see the module docstring for the sheets).

    The file is written beside ``path`` and moved into place when complete, so a failure leaves
    any earlier file as it was. Returns ``path``.
    """
    return write_atomic(path, workbook_bytes(result))
