"""Scenario workbooks: the template, the round trip through Excel, and export back to TOML + CSV.

* The template opens in openpyxl with its seven sheets, frozen headers with a note on each, and
  its drop-downs and whole-number checks.
* Round trip, on every bundled scenario: ``template x.xlsx --from S.toml`` then running x.xlsx
  gives compliance.csv, ledger.csv and balances.csv byte-identical to running S.toml, and
  ``export`` writes a scenario file that loads to the same inputs.
* Safety: the template refuses an existing file (unless --force), export refuses a folder that is
  not empty, and scenario text is never written as a formula.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest

import act_pool
from act_pool.report.write import write_into
from act_pool.rules import load_rules
from act_pool.workbook import write_template
from helpers import REPO
from test_bad_input import cli

BUNDLED = sorted((REPO / "scenarios").glob("*/scenario.toml"))
RESULT_TABLES = ("compliance.csv", "ledger.csv", "balances.csv")


def test_the_template_has_its_sheets_checks_and_notes(tmp_path: Path) -> None:
    proc = cli("template", str(tmp_path / "plan.xlsx"))
    assert proc.returncode == 0, proc.stderr
    book = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    assert book.sheetnames == ["Scenario", "Sales", "Bank", "Trades", "Overrides", "Plan", "Read me"]
    sales = book["Sales"]
    header = [c.value for c in sales[1]]
    assert header == ["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles"]
    assert sales.freeze_panes == "A2"
    assert all(c.comment is not None and c.comment.text for c in sales[1])
    checks = {str(dv.sqref).split(":")[0]: dv for dv in sales.data_validations.dataValidation}
    # state (B), weight class (D), powertrain (E): drop-down lists of the act-2025 values
    assert checks["B2"].type == "list" and checks["B2"].formula1 == '"CA,OR,WA,NJ,NY,MA,VT,CO,MD,NM,RI"'
    assert checks["D2"].type == "list" and checks["D2"].formula1 == '"2b-3,4-5,6-7,8,tractor"'
    assert checks["E2"].type == "list" and checks["E2"].formula1 == '"ICE,ZEV,NZEV"'
    # model year (C) a whole number within act-2025's 2021-2050; vehicles (G) a whole number >= 0
    assert (checks["C2"].type, checks["C2"].formula1, checks["C2"].formula2) == ("whole", "2021", "2050")
    assert (checks["G2"].type, checks["G2"].operator, checks["G2"].formula1) == ("whole", "greaterThanOrEqual", "0")
    # the Overrides parameter is a drop-down of the parameter names listed on the Read me sheet
    overrides = book["Overrides"]
    (names,) = [dv for dv in overrides.data_validations.dataValidation if str(dv.sqref).startswith("A2")]
    sheet, cells = names.formula1.split("!")
    first, last = (int(c.split("$")[-1]) for c in cells.split(":"))
    listed = [book["Read me"].cell(r, 1).value for r in range(first, last + 1)]
    assert sheet == "'Read me'" and listed == list(load_rules("act-2025").parameters)
    scenario_keys = [c.value for c in book["Scenario"]["A"]][1:]
    assert scenario_keys == ["name", "description", "rules", "model_years", "states", "pooling", "retirement",
                             "purchase.price", "purchase.manufacturers"]


def test_the_template_refuses_an_existing_file_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"a planner's own file")
    proc = cli("template", str(target))
    assert proc.returncode == 2 and "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_bytes() == b"a planner's own file"
    assert cli("template", str(target), "--force").returncode == 0
    assert openpyxl.load_workbook(target).sheetnames[0] == "Scenario"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]   # no temporary file left


def test_the_same_scenario_gives_the_same_bytes(tmp_path: Path) -> None:
    source = REPO / "scenarios" / "trades" / "scenario.toml"
    write_template(tmp_path / "a.xlsx", source)
    write_template(tmp_path / "b.xlsx", source)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def _results(scenario: act_pool.Scenario, folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    write_into(act_pool.run(scenario), folder)
    return {name: (folder / name).read_bytes() for name in RESULT_TABLES}


@pytest.mark.parametrize("source", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_round_trip_gives_byte_identical_results(source: Path, tmp_path: Path) -> None:
    proc = cli("template", str(tmp_path / "x.xlsx"), "--from", str(source))
    assert proc.returncode == 0, proc.stderr
    from_book = _results(act_pool.load_scenario(tmp_path / "x.xlsx"), tmp_path / "book")
    from_toml = _results(act_pool.load_scenario(source), tmp_path / "toml")
    assert from_book == from_toml


def _inputs(sc: act_pool.Scenario) -> tuple:
    """Everything of a scenario that a run reads: the rule parameters' values (an override's source
    names the file it came from, so not that), the settings and the tables."""
    values = {n: (p.value, p.by_year, p.confidence) for n, p in sc.rules.parameters.items()}
    return (sc.name, sc.description, sc.rules.id, values, sc.model_years, sc.states, sc.pooling,
            sc.retirement, sc.purchase_price, sc.purchase_manufacturers, sc.sales.to_csv(), sc.bank.to_csv(),
            sc.trades.drop(columns=["row"]).to_csv())


@pytest.mark.parametrize("source", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_export_writes_the_scenario_back(source: Path, tmp_path: Path) -> None:
    write_template(tmp_path / "x.xlsx", source)
    proc = cli("export", str(tmp_path / "x.xlsx"), "--out", str(tmp_path / "back"))
    assert proc.returncode == 0, proc.stderr
    exported = act_pool.load_scenario(tmp_path / "back" / "scenario.toml")
    assert _inputs(exported) == _inputs(act_pool.load_scenario(source))


def test_export_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    write_template(tmp_path / "x.xlsx", REPO / "scenarios" / "trades" / "scenario.toml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = cli("export", str(tmp_path / "x.xlsx"), "--out", str(out))
    assert proc.returncode == 2 and "act-pool did not write and it is not empty" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("export", str(tmp_path / "x.xlsx"), "--out", str(empty)).returncode == 0
    assert sorted(p.name for p in empty.iterdir()) == [".act-pool.json", "sales.csv", "scenario.toml", "trades.csv"]


def test_export_follows_the_result_folder_rules(tmp_path: Path) -> None:
    """--force writes beside a user's file; the marker lists the exported files only; a second
    export into that folder replaces them and keeps the user's file; the workbook's own folder is refused."""
    book = write_template(tmp_path / "x.xlsx", REPO / "scenarios" / "trades" / "scenario.toml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli("export", str(book), "--out", str(out), "--force").returncode == 0
    marker = json.loads((out / ".act-pool.json").read_text())
    assert sorted(marker["files"]) == ["sales.csv", "scenario.toml", "trades.csv"]
    (out / "scenario.toml").write_text("stale")
    proc = cli("export", str(book), "--out", str(out))   # its own folder now: no --force needed
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert act_pool.load_scenario(out / "scenario.toml").name == act_pool.load_scenario(book).name
    proc = cli("export", str(book), "--out", str(tmp_path))
    assert proc.returncode == 2 and "scenario's own folder" in proc.stderr


def test_template_force_replaces_only_the_named_file(tmp_path: Path) -> None:
    """A link named OUT.xlsx is replaced by the workbook; the file it pointed to is untouched; a
    named pipe is refused even with --force."""
    own = tmp_path / "own.xlsx"
    own.write_bytes(b"a planner's own file")
    link = tmp_path / "plan.xlsx"
    link.symlink_to(own)
    assert cli("template", str(link), "--force").returncode == 0
    assert own.read_bytes() == b"a planner's own file"
    assert not link.is_symlink() and openpyxl.load_workbook(link).sheetnames[0] == "Scenario"
    pipe = tmp_path / "pipe.xlsx"
    os.mkfifo(pipe)
    proc = cli("template", str(pipe), "--force")
    assert proc.returncode == 2 and "pipe, socket or device" in proc.stderr and "Traceback" not in proc.stderr


def test_scenario_text_is_never_a_formula(tmp_path: Path) -> None:
    """A name that looks like a formula is stored as text and read back as the same text."""
    evil = '=HYPERLINK("http://example.invalid","x")'
    (tmp_path / "sales.csv").write_text("manufacturer,state,model_year,weight_class,powertrain,aer_miles,vehicles\n"
                                        '"=HYPERLINK(""http://example.invalid"",""x"")",CA,2025,4-5,ICE,,10\n')
    (tmp_path / "scenario.toml").write_text(f"name = '{evil}'\nrules = \"act-2025\"\nsales = \"sales.csv\"\n")
    write_template(tmp_path / "x.xlsx", tmp_path / "scenario.toml")
    book = openpyxl.load_workbook(tmp_path / "x.xlsx")
    name_cell, maker_cell = book["Scenario"]["B2"], book["Sales"]["A2"]
    assert (name_cell.value, name_cell.data_type) == (evil, "s")
    assert (maker_cell.value, maker_cell.data_type) == (evil, "s")
    sc = act_pool.load_scenario(tmp_path / "x.xlsx")
    assert sc.name == evil and sc.sales["manufacturer"].tolist() == [evil]


def test_a_whole_number_stored_as_a_float_is_a_whole_number(tmp_path: Path) -> None:
    """Excel stores 2030 as 2030.0: read as the model year 2030, and vehicles 12.0 as 12."""
    from test_workbook_bad_input import SALES_HEADER, write_book

    book = write_book(tmp_path / "plan.xlsx", {"Scenario": [["key", "value"], ["name", "t"], ["rules", "act-2025"]],
                                               "Sales": [SALES_HEADER, ["M", "CA", 2030.0, "4-5", "ICE", None, 12.0],
                                                         [], [], []]})
    sc = act_pool.load_scenario(book)
    assert sc.sales[["model_year", "vehicles"]].values.tolist() == [[2030, 12]]
    assert sc.model_years == (2030, 2030)


def test_compare_takes_a_workbook(tmp_path: Path) -> None:
    """Every command that takes a scenario loads it with load_scenario, which takes a workbook."""
    write_template(tmp_path / "x.xlsx", REPO / "scenarios" / "pooling" / "scenario.toml")
    proc = cli("compare", str(tmp_path / "x.xlsx"), "--rules", "act-2025")
    assert proc.returncode == 0, proc.stderr
    assert "act-2025" in proc.stdout


def test_an_untouched_template_names_what_to_fill_in(tmp_path: Path) -> None:
    write_template(tmp_path / "plan.xlsx")
    proc = cli("validate", str(tmp_path / "plan.xlsx"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    # the name is row 2 of the Scenario sheet (header in row 1); the Sales sheet has only its header
    assert f"{tmp_path / 'plan.xlsx'}, sheet Scenario, row 2, field 'name': required key is missing" in proc.stderr
    assert f"{tmp_path / 'plan.xlsx'}, sheet Sales: no data rows" in proc.stderr


def test_plan_sheet_keys_make_the_plan_table() -> None:
    """zev_cost.CLASS rows make the zev_cost table; a key given alone and per key is refused."""
    from act_pool.workbook.read import plan_table

    items = [("zev_cost.2b-3", 20000.0, 2), ("zev_cost.tractor", 150000.0, 6), ("max_zev_share", 1.0, 7),
             ("credit_price", "28000", 8), ("allow_open", False, 9)]
    plan, problems = plan_table(items, "plan.xlsx, sheet Plan")
    assert problems == []
    assert plan == {"zev_cost": {"2b-3": 20000, "tractor": 150000}, "max_zev_share": 1, "credit_price": 28000,
                    "allow_open": False}
    _, problems = plan_table([("max_zev_share", 0.5, 7), ("max_zev_share.CA", 0.4, 8)], "plan.xlsx, sheet Plan")
    assert [(p.row, p.field) for p in problems] == [(8, "max_zev_share.CA")]


PLAN_TOML = '''name = "plan"
rules = "act-2025"
sales = "sales.csv"

[plan]
zev_cost = { "2b-3" = 20000, "4-5" = 30000, "6-7" = 45000, "8" = 60000, "tractor" = 150000 }
max_zev_share = { "CA" = 0.5, "tractor" = 0.25 }
credit_price = 28000
allow_open = false
'''


def test_the_plan_goes_through_the_workbook(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("manufacturer,state,model_year,weight_class,powertrain,aer_miles,vehicles\n"
                                        "M,CA,2025,4-5,ICE,,10\n")
    (tmp_path / "scenario.toml").write_text(PLAN_TOML)
    write_template(tmp_path / "x.xlsx", tmp_path / "scenario.toml")
    from_book = act_pool.load_scenario(tmp_path / "x.xlsx")
    assert from_book.plan == act_pool.load_scenario(tmp_path / "scenario.toml").plan


def test_nothing_is_written_from_an_invalid_scenario(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("manufacturer,state,model_year,weight_class,powertrain,aer_miles,vehicles\n"
                                        "M,ZZ,2025,4-5,ICE,,10\n")
    (tmp_path / "scenario.toml").write_text('name = "t"\nrules = "act-2025"\nsales = "sales.csv"\n')
    proc = cli("template", str(tmp_path / "x.xlsx"), "--from", str(tmp_path / "scenario.toml"))
    assert proc.returncode == 2 and "unknown state 'ZZ'" in proc.stderr
    assert not (tmp_path / "x.xlsx").exists()
    from test_workbook_bad_input import SALES_HEADER, write_book

    book = write_book(tmp_path / "bad.xlsx", {"Scenario": [["key", "value"], ["name", "t"], ["rules", "act-2025"]],
                                              "Sales": [SALES_HEADER, ["M", "ZZ", 2025, "4-5", "ICE", None, 10]]})
    proc = cli("export", str(book), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and f"{book}, sheet Sales, row 2, field 'state'" in proc.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "sales.csv", "scenario.toml"]
