"""Reading the sheets of an .xlsx workbook as tables, with every cell problem named.

Cell values come from python-calamine (measured about eight times faster than openpyxl's read-only
mode on the default scenario: see docs/performance.md). A formula cell gives its cached value.
What calamine does not show is found in the sheet's XML, which is parsed only when it holds a
formula or an error value: formulas without a cached value (never calculated) and cells holding
an Excel error such as ``#DIV/0!``. Merged cells come from calamine.

Rows are numbered as Excel shows them (the header is row 1). A table ends at its first empty row;
a value below it, or in a column without a header, is an error rather than silently read or lost.
"""
from __future__ import annotations

import io
import re
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import python_calamine
from xlsxwriter.utility import xl_col_to_name

from act_pool import files
from act_pool.errors import InputError, Problem
from act_pool.workbook.cells import cell_text, is_date

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: Marks of a formula element (with or without a namespace prefix; not ``<formula1>`` of a data
#: validation) or an error-typed cell in a sheet's XML: only a sheet holding one is parsed closer.
_SCAN_MARKS = (b"<f>", b"<f ", b"<f/>", b":f>", b":f ", b't="e"')
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


@dataclass
class RawRow:
    """One table row: its cell values under the header's columns, and its row number as Excel shows it."""

    row: int
    header: list[str]
    cells: list[Any]

    @property
    def values(self) -> dict[str, Any]:
        """The cell values by column header."""
        return dict(zip(self.header, self.cells))


@dataclass
class Book:
    """An opened workbook: its sheets' cell values, and the cells found in error.

    ``flagged`` collects the (label, row, column) of every cell already reported, so that the
    scenario checks do not report the same cell a second time.
    """

    path: Path
    problems: list[Problem] = field(default_factory=list)
    flagged: set[tuple[str, int, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Opened as every input is (act_pool.files): a pipe, a device or an oversized file is refused.
        self._data = files.read_input(self.path, str(self.path), files.MAX_TABLE_BYTES, "workbook not found")
        try:
            self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self._data))
        except (python_calamine.CalamineError, OSError) as exc:
            raise InputError([Problem(str(self.path), None, None,
                                      f"cannot read as an Excel workbook (.xlsx): {exc}")]) from None
        self.sheet_names: list[str] = list(self._book.sheet_names)

    def label(self, sheet: str) -> str:
        """How problems name a sheet: ``plan.xlsx, sheet Sales``."""
        return f"{self.path}, sheet {sheet}"

    def close(self) -> None:
        self._book.close()

    def is_blank(self, sheet: str) -> bool:
        """Whether ``sheet`` holds no value at all (not even a header)."""
        return self._book.get_sheet_by_name(sheet).end is None

    def read_table(self, sheet: str, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[RawRow] | None:
        """The rows of ``sheet`` under a header row of ``columns`` (in any order; ``optional`` may be
        left out), or None when the header is wrong. Problems are added to :attr:`problems`."""
        label = self.label(sheet)
        sh = self._book.get_sheet_by_name(sheet)
        grid = sh.to_python(skip_empty_area=False)
        bad = self._bad_cells(sheet)
        header = [_header_text(v) for v in grid[0]] if grid else []
        while header and not header[-1]:
            header.pop()
        if not self._check_header(label, header, columns, optional):
            return None
        names = {j: h for j, h in enumerate(header) if h}
        for (r1, c1), (r2, c2) in sh.merged_cell_ranges or []:
            ref = f"{xl_col_to_name(c1)}{r1 + 1}:{xl_col_to_name(c2)}{r2 + 1}"
            self.problems.append(Problem(label, r1 + 1, names.get(c1, _column(c1)),
                                         f"merged cells {ref}: unmerge them, so that every cell holds its own value"))
            self.flagged.update((label, r + 1, names.get(c, _column(c))) for r in range(r1, r2 + 1)
                                for c in range(c1, c2 + 1))
        height = max([len(grid), *(r + 1 for r, _ in bad)])
        bad_rows = {r for r, _ in bad}
        width = len(header)
        rows: list[RawRow] = []
        end: int | None = None
        for i in range(1, height):
            cells = grid[i] if i < len(grid) else []
            if cells.count("") == len(cells) and i not in bad_rows:
                end = end or i + 1
                continue
            beyond = len(cells) - width
            if end is not None or i in bad_rows or beyond < 0 or (beyond and cells[width:].count("") < beyond):
                if not self._odd_row(label, i, cells, names, bad, end):
                    continue
                cells = [*cells[:width], *[""] * (width - len(cells))]
            rows.append(RawRow(i + 1, header, cells))
        return rows

    def _odd_row(self, label: str, i: int, cells: list[Any], names: dict[int, str],
                 bad: dict[tuple[int, int], str], end: int | None) -> bool:
        """Report what is wrong with row ``i`` (0-based) besides its values; False when it is not
        part of the table. Cells in error are emptied."""
        filled = sorted({j for j, v in enumerate(cells) if v != ""} | {c for r, c in bad if r == i})
        if not filled:
            return True
        if end is not None:
            self.problems.append(Problem(label, i + 1, names.get(filled[0], _column(filled[0])),
                                         f"a value below the end of the table, which ends at its first empty "
                                         f"row ({end}): remove it, or fill the empty rows above it"))
            return False
        for j in filled:
            if j not in names:
                shown = f" ({cell_text(cells[j])!r})" if j < len(cells) and not is_date(cells[j]) else ""
                self.problems.append(Problem(label, i + 1, _column(j), f"a value{shown} in a column without a "
                                             "header: remove it, or name the column"))
            elif (i, j) in bad:
                self.problems.append(Problem(label, i + 1, names[j], bad[(i, j)]))
                self.flagged.add((label, i + 1, names[j]))
                if j < len(cells):
                    cells[j] = ""
        return True

    def _check_header(self, label: str, header: list[str], columns: tuple[str, ...], optional: tuple[str, ...]) -> bool:
        expected = f"expected the columns {', '.join(columns)} in row 1"
        problems = []
        if not header:
            problems.append(Problem(label, 1, None, f"no header row: {expected}"))
        for name in sorted({h for h in header if h and header.count(h) > 1}):
            problems.append(Problem(label, 1, name, "column named more than once in the header"))
        for name in columns:
            if name not in header and name not in optional and header:
                problems.append(Problem(label, 1, name, f"missing column; {expected}"))
        for j, name in enumerate(header):
            if name and name not in columns:
                problems.append(Problem(label, 1, name, f"unknown column (in {_column(j)}1); {expected}"))
            elif not name:
                problems.append(Problem(label, 1, _column(j), f"a column without a header; {expected}"))
        self.problems.extend(problems)
        return not problems

    def _bad_cells(self, sheet: str) -> dict[tuple[int, int], str]:
        """Cells (0-based row, column) holding a formula without a cached value or an Excel error."""
        with zipfile.ZipFile(io.BytesIO(self._data)) as archive:
            data = archive.read(_sheet_part(archive, sheet))
        if not any(mark in data for mark in _SCAN_MARKS):
            return {}
        bad: dict[tuple[int, int], str] = {}
        for _, elem in ET.iterparse(io.BytesIO(data), events=("end",)):
            if _local(elem.tag) != "c":
                continue
            children = {_local(child.tag): child for child in elem}
            value = children.get("v")
            ref = _CELL_REF.fullmatch(elem.get("r", ""))
            if ref is not None:
                where = (int(ref.group(2)) - 1, _column_index(ref.group(1)))
                if elem.get("t") == "e":
                    shown = value.text if value is not None else "an error"
                    bad[where] = f"the cell shows the Excel error {shown}: expected a value"
                elif "f" in children and (value is None or (value.text is None and elem.get("t") != "str")):
                    bad[where] = ("a formula without a calculated value: open the workbook in Excel (or another "
                                  "spreadsheet program), let it calculate, and save it")
            elem.clear()
        return bad


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding ``sheet``'s cells (from the workbook part and its relationships)."""
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rid = next(s.get(f"{{{_REL_NS}}}id") for s in book.iter(f"{{{_MAIN_NS}}}sheet") if s.get("name") == sheet)
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target", "") for r in rels.iter(f"{{{_PKG_REL_NS}}}Relationship") if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - ord("A") + 1
    return index - 1


def _column(j: int) -> str:
    return f"column {xl_col_to_name(j)}"


def _header_text(value: Any) -> str:
    return str(value) if is_date(value) else cell_text(value)
