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

The workbook is deterministic: fixed document properties (created and modified at
:data:`FIXED_TIMESTAMP`) and fixed time stamps on the parts of the file, so the same result gives
the same bytes. Reports are views: nothing here calculates.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from act_pool.report.tables import TENTHS_COLUMNS
from act_pool.report.atomic import write_atomic

if TYPE_CHECKING:
    from act_pool.run import Result

#: Created and modified dates written in the workbook's document properties.
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1, 0, 0, 0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
CREDIT_FORMAT = "0.0"
SUMMARY_COLUMNS = ["section", "item", "value", "unit", "confidence", "source", "note"]
MAX_WIDTH = 80

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
_HEADER_BORDER = Border(bottom=Side(style="thin", color="7F8C9D"))
_HEADER_ALIGN = Alignment(vertical="center")

_TOTAL_UNITS = {"vehicles": "vehicles", "purchase_cost_usd": "USD", "rows_short": "rows", "rows_open": "rows"}


def _cell_value(v: Any) -> Any:
    """A value openpyxl writes: numpy scalars as Python ones, missing as empty, exact decimals as text."""
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


def _write_sheet(wb: Workbook, title: str, frame: pd.DataFrame, credit_columns: list[str],
                 credit_rows: pd.Series | None = None) -> None:
    """One sheet: bold frozen header with a filter, fitted widths, ``0.0`` for credits.

    ``credit_rows`` (boolean, aligned with ``frame``) limits the credit format to some rows (the
    summary's ``value`` column holds credits only where the unit is credits).
    """
    ws = wb.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    formats = [CREDIT_FORMAT if c in credit_columns else None for c in columns]
    widths = [len(c) + 3 for c in columns]  # room for the filter button
    records = [[_cell_value(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    rowflags = list(credit_rows) if credit_rows is not None else [True] * len(records)
    for row, flag in zip(records, rowflags, strict=True):
        for j, v in enumerate(row):
            w = _text_width(v, formats[j] if flag else None)
            if w > widths[j]:
                widths[j] = w
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(w + 2, MAX_WIDTH)
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(records) + 1}"
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c)
        cell.font, cell.fill, cell.border, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_BORDER, _HEADER_ALIGN
        header.append(cell)
    ws.append(header)
    styled = [j for j, f in enumerate(formats) if f]
    for row, flag in zip(records, rowflags, strict=True):
        if styled and flag:
            row = list(row)
            for j in styled:
                if isinstance(row[j], (int, float)) and not isinstance(row[j], bool):
                    cell = WriteOnlyCell(ws, value=row[j])
                    cell.number_format = formats[j]
                    row[j] = cell
        ws.append(row)


def build_workbook(result: "Result") -> Workbook:
    """The workbook (write-only: save it once, with :func:`workbook_bytes`)."""
    wb = Workbook(write_only=True)
    props = wb.properties
    props.creator = "act-pool"
    props.lastModifiedBy = "act-pool"
    props.title = f"ACT credit result: {result.scenario.name}"
    props.subject = f"rules {result.scenario.rules.id}"
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    summary = pd.DataFrame(summary_rows(result), columns=SUMMARY_COLUMNS)
    _write_sheet(wb, "summary", summary, ["value"], credit_rows=summary["unit"] == "credits")
    for name, frame in result.tables().items():
        _write_sheet(wb, name, frame, TENTHS_COLUMNS.get(name, []))
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    """The .xlsx file of ``wb``, byte-identical for the same content.

    openpyxl's ``Workbook.save`` stamps the modified date with the clock and the zip parts with
    the time of writing; here the document properties are kept as set and every part is stamped
    with :data:`_ZIP_TIME`.
    """
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_excel(result: "Result", path: str | Path) -> Path:
    """Write the result as an Excel workbook at ``path`` (see the module docstring for the sheets).

    The file is written beside ``path`` and moved into place when complete, so a failure leaves
    any earlier file as it was. Returns ``path``.
    """
    return write_atomic(path, workbook_bytes(build_workbook(result)))
