"""Result files: contract columns, conservation on every bundled scenario, determinism, atomic writes."""
import csv
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import act_pool
from act_pool.errors import ConservationError
from act_pool.ledger import check_conservation
from act_pool.report import write as write_module

REPO = Path(__file__).resolve().parent.parent
BUNDLED = sorted((REPO / "scenarios").glob("*/scenario.toml"))


@pytest.fixture(scope="module")
def default_result():
    return act_pool.run(act_pool.default_scenario_path())


def header(path):
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.parent.name)
def test_every_bundled_scenario_conserves_credits(path):
    r = act_pool.run(act_pool.load_scenario(path))
    t = r.conservation
    assert (t["opening"] + t["generated"] + t["traded_in"]
            == t["retired"] + t["expired"] + t["traded_out"] + t["closing"]).all()
    # every deficit is met, carried (open) or reported short
    c = r.compliance
    assert ((c["met"] + c["unmet"]) == c["deficits"]).all()
    assert set(c.loc[c["unmet"] > 0, "status"]) <= {"open", "short"}
    assert set(c.loc[c["unmet"] == 0, "status"]) <= {"compliant"}


def test_conservation_check_catches_a_lost_credit(default_result):
    r = default_result
    tampered = r.ledger.copy()
    i = tampered.index[tampered["action"] == "retire"][0]
    tampered.loc[i, "credits"] -= 1  # one tenth vanishes
    with pytest.raises(ConservationError):
        check_conservation(r.problem, r.obligations, tampered, r.balances)


def test_result_files_and_columns(tmp_path, default_result):
    r = default_result
    out = r.write(tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == [".act-pool.json", "balances.csv", "compliance.csv", "figures",
                                                    "ledger.csv", "report.html", "results.xlsx", "summary.json"]
    assert len(list((out / "figures").glob("*.svg"))) == len(list((out / "figures").glob("*.png"))) == 4
    assert header(out / "compliance.csv")[:12] == ["manufacturer", "state", "model_year", "group", "vehicles",
                                                  "deficits", "zev_credits", "nzev_credits", "met", "unmet",
                                                  "status", "enforced"]
    assert header(out / "ledger.csv")[:11] == ["manufacturer", "origin_manufacturer", "origin_state", "vintage",
                                              "origin_group", "credit_type", "action", "state", "model_year",
                                              "group", "credits"]
    assert header(out / "balances.csv") == ["manufacturer", "state", "model_year", "vintage", "group",
                                            "credit_type", "credits"]
    comp = pd.read_csv(out / "compliance.csv", dtype=str)
    assert set(comp["enforced"]) <= {"true", "false"}
    assert comp["deficits"].str.fullmatch(r"\d+\.\d").all()  # exact to the tenth
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rules"] == "act-2025" and summary["retirement"] == "optimal"
    assert "tractor_offset.fraction" in summary["assumptions"]
    assert all(a["confidence"] != "verified" for a in summary["assumptions"].values())


def test_byte_identical_rerun(tmp_path):
    a = subprocess.run(["act-pool", "run", "--out", str(tmp_path / "a"), "--quiet"], capture_output=True, text=True)
    b = subprocess.run(["act-pool", "run", "--out", str(tmp_path / "b"), "--quiet"], capture_output=True, text=True)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 4 + 2 + 8 + 1  # tables and summary; results.xlsx, report.html; 4 figures x (PNG, SVG); marker
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_failed_write_leaves_nothing(tmp_path, monkeypatch, default_result):
    r = default_result

    def half_write(result, folder):
        (folder / "compliance.csv").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(write_module, "write_into", half_write)
    with pytest.raises(OSError):
        r.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either


def test_write_refuses_a_foreign_folder_unless_forced(tmp_path, default_result):
    """Result.write takes force as act-pool run takes --force: beside the user's file, never over it."""
    out = tmp_path / "shared"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(act_pool.InputError) as info:
        default_result.write(out, reports=False)
    assert info.value.problems[0].field == "--out"
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    default_result.write(out, reports=False, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "compliance.csv").is_file()


def test_api_tables_in_credits(default_result):
    r = default_result
    tables = r.tables()
    assert set(tables) == {"compliance", "ledger", "balances"}
    assert tables["compliance"]["deficits"].sum() == pytest.approx(r.compliance["deficits"].sum() / 10)


def test_cli_rules_commands():
    out = subprocess.run(["act-pool", "rules", "show", "act-2025"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "tractor_offset.fraction  [assumed]" in out.stdout
    assert "13 CCR §1963.1(b) Table A-1" in out.stdout
    diff = subprocess.run(["act-pool", "rules", "diff", "act-2021", "act-2025"], capture_output=True, text=True)
    assert "makeup.model_years" in diff.stdout and diff.returncode == 0
    lst = subprocess.run(["act-pool", "rules", "list"], capture_output=True, text=True)
    assert "act-2021" in lst.stdout and "act-2025" in lst.stdout


def test_cli_compare(tmp_path):
    p = subprocess.run(["act-pool", "compare", str(act_pool.default_scenario_path()), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    table = pd.read_csv(tmp_path / "compare.csv")
    assert {"unmet [act-2021]", "unmet [act-2025]", "unmet [act-2025 no pooling]", "avoided [act-2025]"} <= set(table)
    # avoided = unmet under act-2021 - unmet under act-2025, row by row
    assert (table["avoided [act-2025]"].round(1)
            == (table["unmet [act-2021]"] - table["unmet [act-2025]"]).round(1)).all()


def test_scenario_edited_in_code(default_result):
    # An analyst doubles one manufacturer's California ZEV sales in code and reruns.
    sc = default_result.scenario
    sales = sc.sales.copy()
    mask = (sales["manufacturer"] == "Prairie Works") & (sales["state"] == "CA") & (sales["powertrain"] == "ZEV")
    sales.loc[mask, "vehicles"] *= 2
    edited = sc.with_sales(sales)
    assert edited.rules is sc.rules and edited.trades.shape == sc.trades.shape
    r = act_pool.run(edited)
    before = default_result.compliance.query("manufacturer == 'Prairie Works'")["zev_credits"].sum()
    after = r.compliance.query("manufacturer == 'Prairie Works'")["zev_credits"].sum()
    assert after > before
    with pytest.raises(act_pool.InputError):
        sc.with_sales(sales.assign(vehicles=-1))
