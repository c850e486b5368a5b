"""Bad input in a scenario workbook is refused, and named by workbook, sheet, row and column.

Two sets of cases:

* every case of ``test_bad_input.py`` that has a workbook form, turned into a workbook (the TOML
  keys on the Scenario and Overrides sheets, the CSV rows on the Sales and Bank sheets): the same
  problem must come out, on the sheet it belongs to, at the row as Excel shows it (a CSV data row
  N is Excel row N + 1, below the header) or, for a key, at the key's row;
* what only a workbook can get wrong: a date where a year belongs, a merged cell, a stray value
  far below the table, a formula without a calculated value, an Excel error value, a renamed
  header, a missing sheet.

Workbooks are written with openpyxl, as another program than act-pool would write them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

import act_pool
from act_pool import files
from test_bad_input import CASES, Case, cli

SALES_HEADER = ["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles"]
GOOD_SALES = ["Maker A", "CA", 2025, "tractor", "ICE", None, 300]
GOOD_SCENARIO = [["name", "t"], ["rules", "act-2025"]]

#: Cases of test_bad_input.py without a workbook form, each with the reason.
NO_WORKBOOK_FORM = {
    "missing-scenario-file": "a workbook is one file: its absence is test_a_file_that_is_not_a_workbook's kind",
    "malformed-toml": "the Scenario sheet is cells, not TOML text",
    "missing-bank-file": "a workbook names no table files: the Bank sheet is in the workbook",
    "toml-nested-thousands-deep": "nesting of a TOML file; a Scenario cell is read as plain text",
    "toml-nested-too-deep-to-use": "nesting of a TOML file; a deeply nested cell is test_a_deeply_nested_cell",
    "sales-row-too-many-fields": "a cell right of the header is test_a_value_in_a_column_without_a_header",
    "sales-row-too-few-fields": "a short row in a sheet is a row of empty cells, checked as empty values",
    "sales-is-a-device": "a workbook names no table files; a workbook that is a device is test_a_workbook_that_is_"
                         "not_a_regular_file",
    "sales-is-a-list": "a workbook names no table files: the Sales sheet is in the workbook",
    "sales-is-a-number": "a workbook names no table files: the Sales sheet is in the workbook",
    "bank-is-a-number": "a workbook names no table files: the Bank sheet is in the workbook",
    "trades-is-a-table": "a workbook names no table files: the Trades sheet is in the workbook",
    "overrides-as-number": "the overrides are a sheet, not a key of the Scenario sheet",
    "rules-is-a-list": "a cell holds one value: a list typed into it is the text of an unknown rule set",
    "name-is-a-number": "a number in the name cell is read as the text a planner sees, a valid name",
    "model-years-as-text": "model years are typed as one text (2025-2026); a TOML list of texts has no cell form",
    "states-as-text": "the states cell is always text: 'CA' in it is the list of one state",
}

#: The message a workbook gives where it differs from the CSV case's: a number typed as the
#: retirement is read as the text a planner sees; a cell holds at most 32,767 characters (Excel's
#: limit, to which the reader cuts a longer cell written by another program), still over the limit;
#: an empty cell on the Scenario sheet leaves the key out, so an empty `rules` is a missing one.
WORKBOOK_PHRASE = {"retirement-as-number": "unknown preference '5'",
                   "field-of-200000-characters": "32767 characters, more than the limit",
                   "rules-is-empty": "required key is missing"}


def excel_escaped(text: str) -> str:
    """``text`` as Excel stores it: a control character that XML cannot hold as ``_xHHHH_``."""
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def write_book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A workbook with one sheet per entry (rows of cell values, row 1 first); texts as text cells,
    control characters escaped as Excel escapes them (a pasted NUL is stored as ``_x0000_``)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c)
                cell.value = excel_escaped(value) if isinstance(value, str) else value
                if isinstance(value, str) and not value.startswith("="):
                    cell.data_type = "s"
    book.save(path)
    return path


def csv_cells(text: str) -> list[list[Any]]:
    """CSV text as a planner's sheet holds it: numbers as numbers (where a float holds them), else text."""
    rows = []
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    for rec in csv.reader(io.StringIO(text)):
        rows.append([_number_or_text(v) for v in rec])
    return rows


def _number_or_text(text: str) -> Any:
    if text == "":
        return None
    try:
        f = float(text)
    except ValueError:
        return text
    if not math.isfinite(f) or Decimal(format(f, ".15g")) != Decimal(text):
        return text
    return int(f) if f.is_integer() else f


def _key_cell(key: str, value: Any) -> Any:
    if key == "model_years":
        return f"{value[0]}-{value[1]}"
    if key == "states":
        return ", ".join(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value).lower().replace("infinity", "inf")
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
    return value


def workbook_of(case: Case, folder: Path) -> tuple[Path, dict[str, int], dict[str, int]]:
    """The case as a workbook; with the Excel row of each Scenario key and of each override."""
    doc = tomllib.loads(case.toml, parse_float=Decimal)
    scenario = [["key", "value"]]
    key_rows: dict[str, int] = {}
    for key, value in doc.items():
        if key in ("sales", "bank", "overrides"):
            continue
        items = [(f"{key}.{sub}", v) for sub, v in value.items()] if isinstance(value, dict) else [(key, value)]
        for name, item in items:   # a table such as [purchase] is one dotted key per row
            scenario.append([name, _key_cell(name, item)])
            key_rows[name] = len(scenario)
    overrides = [["parameter", "value"]]
    override_rows: dict[str, int] = {}
    for name, value in doc.get("overrides", {}).items():
        overrides.append([name, _key_cell(name, value)])
        override_rows[name] = len(overrides)
    sheets = {"Scenario": scenario, "Overrides": overrides}
    if "sales" in doc and case.sales is not None:
        sheets["Sales"] = csv_cells(case.sales)
    if "bank" in doc and case.bank is not None:
        sheets["Bank"] = csv_cells(case.bank)
    return write_book(folder / "plan.xlsx", sheets), key_rows, override_rows


def expected_location(case: Case, book: Path, key_rows: dict[str, int],
                      override_rows: dict[str, int]) -> tuple[str, int | None, str | None]:
    """Where the workbook's problem must be: (file, row, field)."""
    if case.file.endswith(".csv"):
        sheet = "Sales" if case.file == "sales.csv" else "Bank"
        if case.phrase == "file not found":
            return str(book), None, None
        if case.row is None and case.field is None:   # the whole table: the whole sheet
            return f"{book}, sheet {sheet}", None, None
        return f"{book}, sheet {sheet}", (case.row or 0) + 1, case.field
    field = str(case.field)
    if field.startswith("overrides."):
        name = field.removeprefix("overrides.")
        return f"{book}, sheet Overrides", override_rows[name], name
    if field == "sales":
        return str(book), None, None
    return f"{book}, sheet Scenario", key_rows.get(field), field


WORKBOOK_CASES = [pytest.param(c, id=c.id) for c in CASES if c.id not in NO_WORKBOOK_FORM]


@pytest.mark.parametrize("case", WORKBOOK_CASES)
def test_every_csv_case_is_named_in_the_workbook(case: Case, tmp_path: Path) -> None:
    book, key_rows, override_rows = workbook_of(case, tmp_path)
    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(book)
    file, row, field = expected_location(case, book, key_rows, override_rows)
    at = [p for p in info.value.problems if p.file == file and p.row == row and p.field == field]
    assert at, f"no problem at {file}, row {row}, field {field!r}; got {info.value.problems}"
    phrase = "missing sheet 'Sales'" if (file, field) == (str(book), None) else case.phrase
    if case.id in ("missing-name", "missing-rules"):
        phrase = "required key is missing"
    phrase = WORKBOOK_PHRASE.get(case.id, phrase)
    phrase = re.sub(r"row (\d+)", lambda m: f"row {int(m.group(1)) + 1}", phrase)   # a data row is an Excel row below
    assert any(phrase in p.message for p in at), (phrase, at)


def test_the_csv_cases_are_covered() -> None:
    """Every case of the CSV suite has its workbook form here, but those without one (each with a reason)."""
    assert {c.id for c in CASES} - {p.values[0].id for p in WORKBOOK_CASES} == set(NO_WORKBOOK_FORM)
    assert set(WORKBOOK_PHRASE) <= {p.values[0].id for p in WORKBOOK_CASES}


def problems_of(book: Path) -> list[act_pool.Problem]:
    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(book)
    return info.value.problems


def one_at(problems: list[act_pool.Problem], file: str, row: int | None, field: str | None) -> act_pool.Problem:
    at = [p for p in problems if p.file == file and p.row == row and p.field == field]
    assert len(at) == 1, f"expected one problem at {file}, row {row}, field {field!r}; got {problems}"
    return at[0]


def test_a_date_where_a_model_year_belongs(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "CA", dt.date(2030, 1, 1), "4-5", "ICE", None, 3]]})
    problems = problems_of(book)
    p = one_at(problems, f"{book}, sheet Sales", 3, "model_year")   # the second data row is Excel row 3
    assert "a date (2030-01-01)" in p.message
    assert len(problems) == 1, problems   # not reported twice by the scenario checks


def test_text_that_excel_turned_into_a_date(tmp_path: Path) -> None:
    """Typing 4-5 into a General cell gives 5 April: the weight class is refused, with the fix."""
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "CA", 2026, dt.datetime(2026, 4, 5), "ICE", None, 3]]})
    p = one_at(problems_of(book), f"{book}, sheet Sales", 3, "weight_class")
    assert "format the column as Text" in p.message


def test_merged_cells(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "CA", 2026, "4-5", "ICE", None, 3],
                                                         [None, "CA", 2027, "4-5", "ICE", None, 3]]})
    wb = openpyxl.load_workbook(book)
    wb["Sales"].merge_cells("A3:A4")   # one manufacturer name over two rows
    wb.save(book)
    problems = problems_of(book)
    p = one_at(problems, f"{book}, sheet Sales", 3, "manufacturer")
    assert "merged cells A3:A4" in p.message
    assert not [q for q in problems if q.row == 4], problems   # the empty cell under it is not reported again


def test_a_stray_value_far_below_the_table(tmp_path: Path) -> None:
    rows = [SALES_HEADER, GOOD_SALES] + [[]] * 40 + [[None, None, None, None, None, None, 12345]]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO], "Sales": rows})
    # header row 1, data row 2, empty rows 3-42, the stray value in row 43
    p = one_at(problems_of(book), f"{book}, sheet Sales", 43, "vehicles")
    assert "below the end of the table" in p.message and "(3)" in p.message


def test_a_value_in_a_column_without_a_header(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES + [None, "note"]]})
    p = one_at(problems_of(book), f"{book}, sheet Sales", 2, "column I")
    assert "column without a header" in p.message


def test_a_formula_without_a_calculated_value(tmp_path: Path) -> None:
    """openpyxl stores formulas without their value: until a spreadsheet program calculates them,
    there is no number to read."""
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "CA", 2026, "4-5", "ICE", None, "=100+200"]]})
    problems = problems_of(book)
    p = one_at(problems, f"{book}, sheet Sales", 3, "vehicles")
    assert "formula without a calculated value" in p.message
    assert len(problems) == 1, problems


def test_a_formula_uses_its_calculated_value(tmp_path: Path) -> None:
    """A formula's cached value is read: 100+200 stored as 300 gives 300 vehicles."""
    import xlsxwriter

    path = tmp_path / "plan.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Scenario")
    for r, row in enumerate([["key", "value"], *GOOD_SCENARIO]):
        ws.write_row(r, 0, row)
    ws = wb.add_worksheet("Sales")
    ws.write_row(0, 0, SALES_HEADER)
    ws.write_row(1, 0, ["Maker A", "CA", 2025, "tractor", "ICE"])
    ws.write_formula(1, 6, "=100+200", None, 300)
    wb.close()
    sc = act_pool.load_scenario(path)
    assert sc.sales["vehicles"].tolist() == [300]


def test_an_excel_error_value(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES]})
    wb = openpyxl.load_workbook(book)
    cell = wb["Sales"]["G2"]
    cell.value, cell.data_type = "#DIV/0!", "e"
    wb.save(book)
    p = one_at(problems_of(book), f"{book}, sheet Sales", 2, "vehicles")
    assert "#DIV/0!" in p.message


def test_a_renamed_header(tmp_path: Path) -> None:
    header = SALES_HEADER[:-1] + ["vehicle_count"]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [header, GOOD_SALES]})
    problems = problems_of(book)
    assert "unknown column" in one_at(problems, f"{book}, sheet Sales", 1, "vehicle_count").message
    assert "missing column" in one_at(problems, f"{book}, sheet Sales", 1, "vehicles").message


def test_a_missing_or_misspelt_sheet(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sale": [SALES_HEADER, GOOD_SALES]})
    p = one_at(problems_of(book), str(book), None, None)
    assert "missing sheet 'Sales'" in p.message and "'Sale'" in p.message


def test_wrong_type_in_a_cell(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "CA", 2026.5, "4-5", "ICE", None, "many"],
                                                         ["Maker A", "CA", 2027.0, "4-5", "ICE", None, True]]})
    problems = problems_of(book)
    label = f"{book}, sheet Sales"
    assert "'2026.5'" in one_at(problems, label, 3, "model_year").message
    assert "'many'" in one_at(problems, label, 3, "vehicles").message
    assert "'TRUE'" in one_at(problems, label, 4, "vehicles").message
    assert not [p for p in problems if p.row == 4 and p.field == "model_year"]   # 2027.0 is the year 2027


def test_scenario_key_problems_are_on_their_row(tmp_path: Path) -> None:
    scenario = [["key", "value"], ["name", "t"], ["rules", "act-2025"], ["model_years", "2030"],
                ["pooling", "perhaps"], ["colour", "blue"], [None, "orphan"], ["name", "u"]]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": scenario, "Sales": [SALES_HEADER, GOOD_SALES]})
    problems = problems_of(book)
    label = f"{book}, sheet Scenario"
    assert "expected true or false" in one_at(problems, label, 5, "pooling").message
    assert "unknown key" in one_at(problems, label, 6, "colour").message
    assert "without a key" in one_at(problems, label, 7, "key").message
    assert "named twice" in one_at(problems, label, 8, "name").message
    assert not [p for p in problems if p.field == "model_years"]   # 2030 alone is 2030-2030


def test_an_override_schedule_by_model_year(tmp_path: Path) -> None:
    """Two rows of one parameter with from_model_year make a schedule, as {2030 = 32, 2032 = 40} would."""
    overrides = [["parameter", "value", "from_model_year"], ["zev_sales_percent.tractor", 32, 2030],
                 ["zev_sales_percent.tractor", 40, 2032]]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES], "Overrides": overrides})
    (tmp_path / "sales.csv").write_text(",".join(SALES_HEADER) + "\nMaker A,CA,2025,tractor,ICE,,300\n")
    (tmp_path / "scenario.toml").write_text('name = "t"\nrules = "act-2025"\nsales = "sales.csv"\n[overrides]\n'
                                            '"zev_sales_percent.tractor" = { 2030 = 32, 2032 = 40 }\n')
    from_book = act_pool.load_scenario(book).rules["zev_sales_percent.tractor"]
    from_toml = act_pool.load_scenario(tmp_path / "scenario.toml").rules["zev_sales_percent.tractor"]
    assert from_book.by_year == from_toml.by_year
    assert (from_book.by_year[2030], from_book.by_year[2032]) == (32, 40)


def test_the_cli_names_the_cell_and_writes_nothing(tmp_path: Path) -> None:
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, ["Maker A", "ZZ", 2025, "4-5", "ICE", None, 3]]})
    for args in (["validate", str(book)], ["run", str(book), "--out", str(tmp_path / "out")]):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"{book}, sheet Sales, row 2, field 'state': unknown state 'ZZ'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    book = tmp_path / "plan.xlsx"
    book.write_text(",".join(SALES_HEADER) + "\n")   # a CSV file given the workbook's name
    p = one_at(problems_of(book), str(book), None, None)
    assert "cannot read as an Excel workbook" in p.message


def test_blank_optional_sheets_and_lists_typed_with_spaces(tmp_path: Path) -> None:
    """A Bank sheet cleared of everything, header included, is no bank; 'CA NY' names two states."""
    scenario = [["key", "value"], *GOOD_SCENARIO, ["states", "CA NY"]]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": scenario, "Bank": [],
                                               "Sales": [SALES_HEADER, GOOD_SALES,
                                                         ["Maker A", "NY", 2025, "tractor", "ICE", None, 300]]})
    sc = act_pool.load_scenario(book)
    assert sc.states == ("CA", "NY") and sc.bank.empty


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_workbook_that_is_not_a_regular_file(kind: str, tmp_path: Path) -> None:
    """A named pipe is refused without waiting for a writer, /dev/zero without reading it forever."""
    if kind == "fifo":
        book = tmp_path / "plan.xlsx"
        os.mkfifo(book)
    elif kind == "device":
        book = Path("/dev/zero")
    else:
        book = tmp_path / "plan.xlsx"
        book.mkdir()
    p = one_at(problems_of(book), str(book), None, None)
    assert "expected a regular file" in p.message


def test_a_workbook_larger_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size limit of input tables applies to a workbook (lowered here to below this workbook's size)."""
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES]})
    monkeypatch.setattr(files, "MAX_TABLE_BYTES", book.stat().st_size - 1)
    p = one_at(problems_of(book), str(book), None, None)
    assert "larger than the limit" in p.message


def test_a_deeply_nested_cell(tmp_path: Path) -> None:
    """An override cell of 5000 nested brackets (inline TOML too deep to parse) is refused on its row."""
    overrides = [["parameter", "value"], ["makeup.model_years", "[" * 5000 + "]" * 5000]]
    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], *GOOD_SCENARIO],
                                               "Sales": [SALES_HEADER, GOOD_SALES], "Overrides": overrides})
    p = one_at(problems_of(book), f"{book}, sheet Overrides", 2, "makeup.model_years")
    assert p.message
