"""Input files that cannot be read, rule-set files that cannot be used, and how tables are read.

Complements tests/test_bad_input.py (one bad value per case) with inputs that need more than a
scenario, a sales table and a bank table: pipes, directories, unreadable files, rule-set files,
trades, tables from spreadsheet rows, and large numbers of bad rows.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import act_pool
from act_pool import files
from act_pool.scenario import build_scenario
from act_pool.validation import MAX_LISTED

ACT_POOL = shutil.which("act-pool") or str(Path(sys.executable).with_name("act-pool"))
SALES_HEADER = "manufacturer,state,model_year,weight_class,powertrain,aer_miles,vehicles"
GOOD_ROW = "Maker A,CA,2025,tractor,ICE,,300"
BASE_TOML = 'name = "t"\nrules = "act-2025"\nsales = "sales.csv"\n'


def scenario(folder: Path, toml: str = BASE_TOML, sales: str | None = None, **tables: str) -> Path:
    """Write scenario.toml, sales.csv (a good row unless given) and any other named files; return the TOML path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    (folder / "sales.csv").write_text(sales if sales is not None else f"{SALES_HEADER}\n{GOOD_ROW}\n",
                                      encoding="utf-8")
    for name, text in tables.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder / "scenario.toml"


def problems_of(path: Path) -> list[act_pool.Problem]:
    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(path)
    return info.value.problems


def where(problems: list[act_pool.Problem]) -> list[tuple[str, int | None, str | None]]:
    return [(Path(p.file).name, p.row, p.field) for p in problems]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ACT_POOL, *args], capture_output=True, text=True, timeout=120)


def assert_refused(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr


# ---- files that are not regular files, or cannot be read ------------------------------------------


def test_sales_path_that_is_a_directory(tmp_path):
    path = scenario(tmp_path, BASE_TOML.replace('"sales.csv"', '"tables"'))
    (tmp_path / "tables").mkdir()
    problems = problems_of(path)
    assert where(problems) == [("tables", None, None)]
    assert "is a directory: expected a regular file" in problems[0].message
    out = tmp_path / "out"
    assert_refused(cli("run", str(path), "--out", str(out)), "tables: is a directory")
    assert not out.exists()


def test_sales_path_that_is_a_named_pipe_is_refused_without_waiting(tmp_path):
    path = scenario(tmp_path, BASE_TOML.replace('"sales.csv"', '"pipe.csv"'))
    os.mkfifo(tmp_path / "pipe.csv")  # nobody writes: reading it would wait for ever
    problems = problems_of(path)
    assert where(problems) == [("pipe.csv", None, None)]
    assert "pipe, socket or device" in problems[0].message
    assert_refused(cli("validate", str(path)), "pipe.csv: is a pipe, socket or device")


@pytest.mark.parametrize("key", ["bank", "trades"])
def test_other_tables_are_read_the_same_way(tmp_path, key):
    path = scenario(tmp_path, BASE_TOML + f'{key} = "/dev/zero"\n')
    problems = problems_of(path)
    assert where(problems) == [("zero", None, None)] and "expected a regular file" in problems[0].message


def test_scenario_file_that_is_a_device(tmp_path):
    assert_refused(cli("validate", "/dev/zero"), "/dev/zero: is a pipe, socket or device")


def test_unreadable_sales_file(tmp_path, monkeypatch):
    # As root, permission bits do not stop a read: stand in for the operating system's refusal.
    path = scenario(tmp_path)
    real_open = os.open

    def refuse(name, *args, **kwargs):
        if str(name).endswith("sales.csv"):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refuse)
    problems = problems_of(path)
    assert where(problems) == [("sales.csv", None, None)]
    assert problems[0].message == "cannot read: permission denied"


def test_size_limit_of_tables(tmp_path, monkeypatch):
    path = scenario(tmp_path)
    size = (tmp_path / "sales.csv").stat().st_size
    monkeypatch.setattr("act_pool.csv_table.MAX_TABLE_BYTES", size)
    act_pool.load_scenario(path)  # exactly at the limit: read
    monkeypatch.setattr("act_pool.csv_table.MAX_TABLE_BYTES", size - 1)
    problems = problems_of(path)
    assert where(problems) == [("sales.csv", None, None)] and "larger than the limit" in problems[0].message


def test_size_limit_of_toml_files(tmp_path):
    path = scenario(tmp_path, BASE_TOML + 'description = "' + "x" * files.MAX_TOML_BYTES + '"\n')
    problems = problems_of(path)
    assert where(problems) == [("scenario.toml", None, None)] and "larger than the limit" in problems[0].message


# ---- rule-set files -------------------------------------------------------------------------------


RULES_TOML = 'name = "t"\nrules = "mine.toml"\nsales = "sales.csv"\n'


@pytest.mark.parametrize("text, field, phrase", [
    ('id = "mine"\nbased_on = "mine.toml"\n', "based_on", "'based_on' forms a loop: mine.toml -> mine.toml"),
    ('id = "mine"\nbased_on = "other.toml"\n', "based_on",
     "'based_on' forms a loop: mine.toml -> other.toml -> mine.toml"),
    ('id = "mine"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", None, "nested more than"),
    ('id = "mine"\nx = ' + "{a = " * 30 + "1" + "}" * 30 + "\n", "x", "nested more than"),
    ('id = "mine"\nbased_on = "act-2099"\n', "based_on", "unknown rule set 'act-2099'"),
    ('id = "mine"\nbased_on = "act-2025"\n[[parameter]]\nname = "x"\nby_year = 3\n', None, "'by_year' must be a table"),
    ('id = "mine"\nbased_on = "act-2025"\nparameter = 3\n', None, "array of tables"),
    # a value too large for the credit network's year keys (was a traceback in the run)
    ('id = "mine"\nbased_on = "act-2025"\n[[parameter]]\nname = "credit_life.model_years"\nvalue = 3000\n'
     'unit = "model years"\n', None, "credit_life.model_years: expected at most 100 model years, got 3000"),
])
def test_unusable_rule_set_file(tmp_path, text, field, phrase):
    path = scenario(tmp_path, RULES_TOML, mine_toml=text,
                    other_toml='id = "other"\nbased_on = "mine.toml"\n')
    problems = problems_of(path)
    assert any(p.file.endswith(("mine.toml", "other.toml")) and p.field == field and phrase in p.message
               for p in problems), problems
    assert_refused(cli("validate", str(path)), phrase)


def test_rule_set_based_on_a_bundled_one_still_loads(tmp_path):
    path = scenario(tmp_path, RULES_TOML, mine_toml='id = "mine"\nbased_on = "act-2025"\n')
    assert act_pool.load_scenario(path).rules.id == "mine"


# ---- control characters in the trades table -------------------------------------------------------


def test_control_character_in_a_trade(tmp_path):
    trades = ("seller,buyer,state,vintage,group,credit_type,credits,model_year\n"
              "Maker A,Maker\x00B,CA,2025,4-8,ZEV,1,2025\n")
    path = scenario(tmp_path, BASE_TOML + 'trades = "trades.csv"\n', trades_csv=trades)
    problems = problems_of(path)
    assert where(problems) == [("trades.csv", 1, "buyer")]
    assert "control character U+0000" in problems[0].message


# ---- how rows are numbered and counted --------------------------------------------------------------


def test_rows_are_numbered_as_records_after_the_header(tmp_path):
    # Row 2 is blank (skipped but counted); row 3 has a quoted field over two lines; row 4 is bad.
    text = (f"{SALES_HEADER}\n{GOOD_ROW}\n\n"
            '"Maker\nB",CA,2025,tractor,ICE,,1\n'
            "Maker A,CA,2025,4-5,ICE,,-1\n")
    problems = problems_of(scenario(tmp_path, sales=text))
    assert where(problems) == [("sales.csv", 3, "manufacturer"), ("sales.csv", 4, "vehicles")]
    assert "control character U+000A" in problems[0].message


def test_problems_of_one_field_are_listed_up_to_a_limit_then_counted(tmp_path):
    bad = [f"Maker {i},CA,2025,4-5,ICE,,lots" for i in range(MAX_LISTED + 5)]
    short = [f"Maker {i},CA" for i in range(MAX_LISTED + 3)]
    text = "\n".join([SALES_HEADER, GOOD_ROW, *bad, *short]) + "\n"
    problems = problems_of(scenario(tmp_path, sales=text))
    listed = [p for p in problems if p.field == "vehicles" and p.row is not None]
    assert [p.row for p in listed] == list(range(2, 2 + MAX_LISTED))  # rows 2.. of the bad values
    assert [p.message for p in problems if p.field == "vehicles" and p.row is None] == [
        f"and 5 more rows with a problem in this field (the first {MAX_LISTED} are listed)"]
    counted = [p for p in problems if p.field is None and p.row is None]
    assert [p.message for p in counted] == [
        f"and 3 more rows with the wrong number of fields (the first {MAX_LISTED} are listed)"]
    assert len([p for p in problems if p.field is None and p.row is not None]) == MAX_LISTED


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_line_ending_and_a_byte_order_mark(tmp_path, newline):
    text = newline.join(["\ufeff" + SALES_HEADER, GOOD_ROW, "", "Maker A,CA,2025,4-5,ICE,,-1", ""])
    path = scenario(tmp_path)
    (tmp_path / "sales.csv").write_bytes(text.encode("utf-8"))
    assert where(problems_of(path)) == [("sales.csv", 3, "vehicles")]


def test_text_that_is_not_utf8(tmp_path):
    path = scenario(tmp_path)
    (tmp_path / "sales.csv").write_bytes(f"{SALES_HEADER}\nMaker \xe9,CA,2025,4-5,ICE,,1\n".encode("latin-1"))
    problems = problems_of(path)
    assert where(problems) == [("sales.csv", None, None)] and problems[0].message == "not UTF-8 text"


# ---- values kept exact; duplicates found as the contract defines them ------------------------------


def test_all_electric_range_is_kept_exact(tmp_path):
    text = f"{SALES_HEADER}\nMaker A,CA,2026,4-5,NZEV,37.5,10\nMaker A,CA,2026,4-5,NZEV,0.1e3,2\n"
    sc = act_pool.load_scenario(scenario(tmp_path, sales=text))
    assert list(sc.sales["aer_miles"]) == [Decimal("37.5"), Decimal("100")]
    assert all(isinstance(a, Decimal) for a in sc.sales["aer_miles"])


@pytest.mark.parametrize("first, second", [("75", "75.0"), ("75", "7.5e1")])
def test_equal_ranges_written_differently_are_duplicates(tmp_path, first, second):
    text = f"{SALES_HEADER}\nMaker A,CA,2026,4-5,NZEV,{first},10\nMaker A,CA,2026,4-5,NZEV,{second},3\n"
    problems = problems_of(scenario(tmp_path, sales=text))
    assert where(problems) == [("sales.csv", 2, "vehicles")] and "duplicate of row 1" in problems[0].message


def test_rows_differing_only_in_powertrain_or_range_are_not_duplicates(tmp_path):
    text = (f"{SALES_HEADER}\nMaker A,CA,2026,4-5,ICE,,10\nMaker A,CA,2026,4-5,ZEV,,3\n"
            "Maker A,CA,2026,4-5,NZEV,40,3\nMaker A,CA,2026,4-5,NZEV,41,3\nMaker A,CA,2026.0,6-7,ICE,,3\n")
    assert len(act_pool.load_scenario(scenario(tmp_path, sales=text)).sales) == 5


ROW_VALUES = st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["CA", "OR"]),
                       st.sampled_from(["2026", "2026.0", "2027"]), st.sampled_from(["4-5", "tractor"]),
                       st.sampled_from(["ICE", "ZEV", "NZEV"]), st.sampled_from(["40", "40.0", "55"]),
                       st.integers(0, 9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW_VALUES, min_size=1, max_size=12))
def test_duplicates_match_a_row_by_row_reading_of_the_contract(tmp_path, rows):
    # The contract: two rows with the same values in every column but vehicles are an error. Reference:
    # compare each row with every earlier one, as numbers where the column is a number.
    table = [(m, s, y, w, p, a if p == "NZEV" else "", v) for m, s, y, w, p, a, v in rows]

    def key(r: tuple) -> tuple:
        return (r[0], r[1], Decimal(r[2]), r[3], r[4], Decimal(r[5]) if r[5] else None)

    expected = []
    for i, r in enumerate(table):
        earlier = [j for j in range(i) if key(table[j]) == key(r)]
        if earlier:
            expected.append((i + 1, f"duplicate of row {earlier[0] + 1}"))
    text = SALES_HEADER + "\n" + "".join(",".join(map(str, r)) + "\n" for r in table)
    path = scenario(tmp_path / f"case{abs(hash(text))}", sales=text)
    if not expected:
        assert len(act_pool.load_scenario(path).sales) == len(table)
        return
    got = [(p.row, p.message.split(" (")[0]) for p in problems_of(path)]
    assert got == expected


# ---- tables given as spreadsheet rows or DataFrames ------------------------------------------------


def test_spreadsheet_rows_keep_their_row_numbers_and_label():
    rows = [{"manufacturer": "Maker A", "state": "CA", "model_year": "2025", "weight_class": "tractor",
             "powertrain": "ICE", "aer_miles": "", "vehicles": "300", "_row": "2"},
            {"manufacturer": "Maker\tB", "state": "CA", "model_year": "2025", "weight_class": "tractor",
             "powertrain": "ICE", "aer_miles": "", "vehicles": "-3", "_row": "7"}]
    doc = {"name": "t", "rules": "act-2025", "sales": "Sales"}
    with pytest.raises(act_pool.InputError) as info:
        build_scenario(doc, "plan.xlsx, sheet Scenario", rows, "plan.xlsx, sheet Sales", None, None, [], None)
    assert [(p.file, p.row, p.field) for p in info.value.problems] == [
        ("plan.xlsx, sheet Sales", 7, "manufacturer"), ("plan.xlsx, sheet Sales", 7, "vehicles")]
    rows[1].update(manufacturer="Maker B", vehicles="3")
    sc = build_scenario(doc, "plan.xlsx, sheet Scenario", rows, "plan.xlsx, sheet Sales", None, None, [], None)
    assert list(sc.sales["manufacturer"]) == ["Maker A", "Maker B"] and list(sc.sales["vehicles"]) == [300, 3]


def test_frames_get_the_checks_of_files():
    sales = pd.DataFrame([("Maker A", "CA", 2025, "tractor", "ICE", None, 300),
                          ("Maker\x00B", "CA", 2025, "tractor", "ICE", None, 3)],
                         columns=SALES_HEADER.split(","))
    with pytest.raises(act_pool.InputError) as info:
        act_pool.scenario_from_frames("t", "act-2025", sales)
    assert [(p.file, p.row, p.field) for p in info.value.problems] == [("sales", 2, "manufacturer")]
    with pytest.raises(act_pool.InputError) as info:
        act_pool.scenario_from_frames("t", "act-2025", sales.iloc[:0])
    assert [(p.file, p.row, p.field) for p in info.value.problems] == [("sales", None, None)]


# ---- the opening bank: both sides of each limit ------------------------------------------------------


def test_opening_bank_limits_on_both_sides(tmp_path):
    rules = act_pool.load_rules("act-2025")
    life = int(rules.value("credit_life.model_years"))
    # A CA credit of MY2024 (CA's first deficit year: not early action) is usable through 2024 + life.
    bank = "manufacturer,state,vintage,group,credit_type,credits\nMaker A,CA,2024,4-8,ZEV,1\n"

    def load(first_year: int) -> act_pool.Scenario:
        sales = f"{SALES_HEADER}\nMaker A,CA,{first_year},tractor,ICE,,300\n"
        return act_pool.load_scenario(scenario(tmp_path / str(first_year), BASE_TOML + 'bank = "bank.csv"\n',
                                               sales=sales, bank_csv=bank))

    assert len(load(2025).bank) == 1          # vintage one year before the run
    assert len(load(2024 + life).bank) == 1   # the run starts in the credit's last year of life
    with pytest.raises(act_pool.InputError) as info:
        load(2025 + life)                     # the year after
    assert [(p.row, p.field) for p in info.value.problems] == [(1, "vintage")]
    assert f"usable through model year {2024 + life}" in info.value.problems[0].message
    with pytest.raises(act_pool.InputError) as info:
        load(2024)                            # the vintage is the first simulated year
    assert [(p.row, p.field) for p in info.value.problems] == [(1, "vintage")]


def test_early_action_balance_expired_long_before_the_run(tmp_path):
    # CA credits of MY2021 are early action (before CA's first deficit year, 2024); whatever their
    # life, it has ended by MY2045, two decades later.
    path = scenario(tmp_path, BASE_TOML + 'bank = "bank.csv"\n',
                    sales=f"{SALES_HEADER}\nMaker A,CA,2045,tractor,ICE,,300\n",
                    bank_csv="manufacturer,state,vintage,group,credit_type,credits\nMaker A,CA,2021,2b-3,ZEV,5\n")
    problems = problems_of(path)
    assert where(problems) == [("bank.csv", 1, "vintage")] and "expired before the run" in problems[0].message


def test_balances_of_states_not_simulated_are_not_checked(tmp_path):
    path = scenario(tmp_path, BASE_TOML + 'bank = "bank.csv"\nstates = ["CA"]\n',
                    bank_csv="manufacturer,state,vintage,group,credit_type,credits\nMaker A,OR,2030,2b-3,ZEV,5\n")
    assert act_pool.load_scenario(path).bank.empty


# ---- compare: each rule set once ---------------------------------------------------------------------


def test_compare_refuses_a_rule_set_named_twice(tmp_path):
    path = scenario(tmp_path)
    out = tmp_path / "out"
    proc = cli("compare", str(path), "--rules", "act-2025", "--rules", "act-2025", "--out", str(out))
    assert_refused(proc, "command line, field '--rules': rule set act-2025 named more than once")
    assert not out.exists()
