"""``act-pool plan``: files written, the re-run's verdict, refusals (exit 2, nothing written)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from act_pool.plan.result import plan_files
from act_pool.report.outdir import MARKER
from helpers import row, write_scenario

ACT_POOL = str(Path(sys.executable).with_name("act-pool"))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ACT_POOL, *args], capture_output=True, text=True, timeout=300)


def with_plan(path: Path, table: str) -> Path:
    path.write_text(path.read_text() + "[plan]\n" + table)
    return path


@pytest.fixture
def issue_toml(tmp_path) -> Path:
    """The issue's example (see tests/test_plan.py for the arithmetic): 124 vans + 53 tractors, 10,430,000."""
    path = write_scenario(tmp_path / "sc", [row("CA", 2025, "tractor", "ICE", 1000), row("NJ", 2025, "2b-3", "ICE", 1000)],
                          model_years=[2025, 2025], pooling=True, overrides={"tractor_offset.fraction": 0.25})
    return with_plan(path, 'zev_cost = { "2b-3" = 20000, "4-5" = 30000, "6-7" = 45000, "8" = 60000, '
                           '"tractor" = 150000 }\nmax_zev_share = 1.0\nallow_open = false\n')


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_plan_writes_the_hand_worked_plan(issue_toml, tmp_path):
    out = tmp_path / "out"
    proc = cli("plan", str(issue_toml), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "nothing is unmet" in proc.stdout
    plan = read_csv(out / "plan.csv")
    assert list(plan[0])[:7] == ["manufacturer", "state", "model_year", "weight_class"] + ["group", "extra_zev",
                                                                                              "zev_credits"]
    got = {(r["state"], r["weight_class"]): (r["extra_zev"], r["zev_credits"], r["credits_bought"], r["cost"])
           for r in plan}
    assert got == {("CA", "tractor"): ("53", "132.5", "0.0", "7950000.00"),
                   ("NJ", "2b-3"): ("124", "99.2", "0.0", "2480000.00")}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plan"]["cost_usd"] == "10430000.00"
    assert summary["plan"]["by_manufacturer"]["M"]["extra_zev"] == 177
    assert summary["totals"]["unmet"] == 0.0
    for name in ("compliance.csv", "ledger.csv", "balances.csv", "planned_sales.csv", "credit_values.csv",
                 "report.html", "figures/credit_values.png"):
        assert (out / name).is_file(), name
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    assert sorted(plan_files()) == written  # what --out is checked for before computing
    assert 'id="plan"' in (out / "report.html").read_text()
    values = {(r["state"], r["group"]): r["usd_per_credit"] for r in read_csv(out / "credit_values.csv")}
    assert values == {("CA", "tractor"): "60000.00", ("NJ", "2b-3"): "25000.00"}
    # planned_sales.csv is a valid sales file: a scenario on it runs with nothing unmet.
    rerun = write_scenario(tmp_path / "rerun", [], model_years=[2025, 2025], pooling=True,
                           overrides={"tractor_offset.fraction": 0.25})
    (rerun.parent / "sales.csv").write_bytes((out / "planned_sales.csv").read_bytes())
    proc = cli("run", str(rerun), "--out", str(tmp_path / "rerun-out"), "--tables-only", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert all(r["unmet"] == "0.0" for r in read_csv(tmp_path / "rerun-out" / "compliance.csv"))


def test_same_input_same_bytes(issue_toml, tmp_path):
    for name in ("a", "b"):
        assert cli("plan", str(issue_toml), "--out", str(tmp_path / name), "--tables-only", "--quiet").returncode == 0
    for name in ("plan.csv", "planned_sales.csv", "credit_values.csv", "summary.json", "compliance.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_refuses_a_folder_it_did_not_write(issue_toml, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = cli("plan", str(issue_toml), "--out", str(out))
    assert proc.returncode == 2
    assert "--out" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "sc"]  # no temporary folder left


def test_rewrites_its_own_result_folder(issue_toml, tmp_path):
    out = tmp_path / "out"
    assert cli("plan", str(issue_toml), "--out", str(out), "--tables-only", "--quiet").returncode == 0
    assert cli("plan", str(issue_toml), "--out", str(out), "--tables-only", "--quiet").returncode == 0


def test_the_folder_is_checked_before_the_plan_is_sought(tmp_path):
    """A scenario without a [plan] table is refused by the planner; with a foreign folder as --out,
    only the folder is reported: it was refused before the planner started."""
    path = write_scenario(tmp_path / "sc", [row("CA", 2025, "tractor", "ICE", 1000)])
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = cli("plan", str(path), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--out" in proc.stderr and "--force" in proc.stderr
    assert "field 'plan'" not in proc.stderr
    proc = cli("plan", str(path), "--out", str(tmp_path / "new"))   # the planner's own refusal
    assert proc.returncode == 2 and "field 'plan'" in proc.stderr


def test_a_rerun_keeps_the_users_files_and_writes_the_marker(issue_toml, tmp_path):
    """A user's file in the result folder and one in its figures/ survive a rerun; the marker lists
    what act-pool wrote, and not the user's files."""
    out = tmp_path / "out"
    assert cli("plan", str(issue_toml), "--out", str(out), "--quiet").returncode == 0
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "sketch.txt").write_text("mine too")
    proc = cli("plan", str(issue_toml), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "figures" / "sketch.txt").read_text() == "mine too"
    marker = json.loads((out / ".act-pool.json").read_text())
    assert marker["written_by"] == "act-pool"
    assert {"plan.csv", "planned_sales.csv", "credit_values.csv", "summary.json",
            "figures/credit_values.png"} <= set(marker["files"])
    assert not {"notes.txt", "figures/sketch.txt"} & set(marker["files"])


def test_force_writes_beside_a_users_files(issue_toml, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = cli("plan", str(issue_toml), "--out", str(out), "--tables-only", "--quiet", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.txt").read_text() == "keep me" and (out / "plan.csv").is_file()


@pytest.mark.parametrize("table, field", [
    ('zev_cost = { "9" = 1 }\n', "plan.zev_cost.9"),
    ('zev_cost = { "8" = -5 }\n', "plan.zev_cost.8"),
    ("max_zev_share = 1.5\n", "plan.max_zev_share"),
    ("max_zev_share = { ZZ = 0.5 }\n", "plan.max_zev_share.ZZ"),
    ('credit_price = "cheap"\n', "plan.credit_price"),
    ("allow_open = 1\n", "plan.allow_open"),
    ("budget = 5\n", "plan.budget"),
])
def test_bad_plan_table_is_refused(tmp_path, table, field):
    path = with_plan(write_scenario(tmp_path / "sc", [row("CA", 2025, "tractor", "ICE", 1000)]), table)
    out = tmp_path / "out"
    proc = cli("plan", str(path), "--out", str(out))
    assert proc.returncode == 2
    assert f"field '{field}'" in proc.stderr and str(path) in proc.stderr
    assert not out.exists()
    assert cli("validate", str(path)).returncode == 2  # the scenario itself is invalid


def test_no_plan_table_is_refused(tmp_path):
    path = write_scenario(tmp_path / "sc", [row("CA", 2025, "tractor", "ICE", 1000)])
    proc = cli("plan", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "field 'plan'" in proc.stderr


def test_infeasible_levers_exit_zero_and_say_why(tmp_path):
    """Tractor deficits (1000 x 0.175 = 175.0), only vans convertible, none sold, no purchases."""
    path = with_plan(write_scenario(tmp_path / "sc", [row("CA", 2025, "tractor", "ICE", 1000)],
                                    model_years=[2025, 2025]), 'zev_cost = { "2b-3" = 20000 }\n')
    out = tmp_path / "out"
    proc = cli("plan", str(path), "--out", str(out), "--tables-only")
    assert proc.returncode == 0, proc.stderr
    assert "not met: M CA MY2025 tractor 175.0: no ICE vehicle left to convert" in proc.stdout
    assert "purchases are forbidden" in proc.stdout and "remain unmet" in proc.stdout
    rows = read_csv(out / "not_met.csv")
    assert [(r["state"], r["model_year"], r["group"], r["unmet"]) for r in rows] == [("CA", "2025", "tractor", "175.0")]
