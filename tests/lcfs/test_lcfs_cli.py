"""The ``lcfs`` command, through a parser built with :func:`register` (independent of act_pool/cli.py)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from act_pool.errors import InputError
from act_pool.lcfs.cli import FLEET_FILES, POOL_FILES, _json, register, write_outputs
from act_pool.lcfs.limits import LAST_YEAR, MAX_CI, MAX_QUANTITY

from .conftest import sales_table


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="act-pool")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["lcfs", *argv])


def run(*argv: str) -> int:
    args = parse(*argv)
    return args.handler(args)


def problems(exc: pytest.ExceptionInfo) -> set[tuple]:
    return {(p.file, p.row, p.field) for p in exc.value.problems}


# --- calc --------------------------------------------------------------------------------------

def test_calc_prints_one_json_object(capsys):
    assert run("calc", "--fuel", "electricity", "--quantity", "1000", "--unit", "kWh", "--year", "2026",
               "--ci", "0") == 0
    out = json.loads(capsys.readouterr().out)
    # 80.17 x 5.0 x 3600 MJ x 1e-6 = 1.44306 t
    assert out["credits_t"] == 1.44306
    assert (out["benchmark"], out["eer"], out["ci"], out["energy_mj"]) == (80.17, 5.0, 0.0, 3600.0)
    assert (out["vehicle"], out["standard"], out["rules"]) == ("heavy-duty", "diesel", "lcfs-2025")


def test_calc_2025_needs_a_quarter(capsys):
    with pytest.raises(InputError) as exc:
        run("calc", "--fuel", "diesel", "--quantity", "1", "--unit", "gal", "--year", "2025")
    assert problems(exc) == {("command line", None, "--quarter")}
    assert run("calc", "--fuel", "diesel", "--quantity", "1000", "--unit", "gal", "--year", "2025",
               "--quarter", "2") == 0
    assert json.loads(capsys.readouterr().out)["credits_t"] == -1.857031  # (86.64 - 100.45) x 0.13447


def test_calc_reports_every_mistake():
    with pytest.raises(InputError) as exc:
        run("calc", "--fuel", "kerosene", "--quantity", "-5", "--unit", "gal", "--year", "2026", "--quarter", "x",
            "--aam", "2020Q1")
    assert problems(exc) == {("command line", None, f) for f in ("--fuel", "--quantity", "--quarter", "--aam")}


def test_calc_with_acceleration_and_vehicle(capsys):
    run("calc", "--fuel", "electricity", "--quantity", "1000", "--unit", "kWh", "--year", "2029", "--ci", "0",
        "--vehicle", "light-medium-duty", "--aam", "2027Q2")
    out = json.loads(capsys.readouterr().out)
    # 2029 reads the 2030 gasoline row: 69.41 x 3.4 x 0.0036 = 0.8495784
    assert (out["benchmark"], out["eer"], out["aam"]) == (69.41, 3.4, ["2027Q2"])
    assert out["credits_t"] == 0.849578


def test_lcfs_needs_a_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        parse()
    assert exc.value.code == 2


# --- pool --------------------------------------------------------------------------------------

@pytest.fixture()
def volumes(tmp_path: Path) -> Path:
    path = tmp_path / "volumes.csv"
    path.write_text("year,quarter,fuel,feedstock,quantity,unit\n2028,1,renewable-diesel,soybean,201,gal\n"
                    "2028,1,renewable-diesel,used-cooking-oil,799,gal\n2028,2,diesel,,1000,gal\n", encoding="utf-8")
    return path


def test_pool_writes_its_files(tmp_path, volumes):
    out = tmp_path / "out"
    assert run("pool", str(volumes), "--out", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(POOL_FILES + (".act-pool.json",))
    summary = json.loads((out / "lcfs_pool_summary.json").read_text(encoding="utf-8"))
    assert summary["options"] == {"basis": "quarter", "excess_ci": "benchmark", "measure": "volume",
                                  "announcements": []}
    assert "crop_oil_cap.basis" in summary["assumptions"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # temporary dir gone


def test_pool_output_is_deterministic(tmp_path, volumes):
    run("pool", str(volumes), "--out", str(tmp_path / "a"))
    run("pool", str(volumes), "--out", str(tmp_path / "b"))
    for name in POOL_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_pool_without_out_prints_the_quarters(capsys, volumes):
    assert run("pool", str(volumes)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("year,quarter,credits_t,deficits_t,net_t") and len(lines) == 3


def test_pool_options_name_their_flags(tmp_path, volumes):
    with pytest.raises(InputError) as exc:
        run("pool", str(volumes), "--basis", "month", "--out", str(tmp_path / "out"))
    assert problems(exc) == {("command line", None, "--basis")}
    assert not (tmp_path / "out").exists()


def test_pool_bad_input_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("year,quarter,fuel,quantity,unit\n2026,1,kerosene,10,gal\n2025,,diesel,-1,gal\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "lcfs_pool_quarters.csv").write_text("old\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        run("pool", str(bad), "--out", str(out), "--force")
    assert problems(exc) == {(str(bad), 1, "fuel"), (str(bad), 2, "quarter"), (str(bad), 2, "quantity")}
    assert [p.name for p in out.iterdir()] == ["lcfs_pool_quarters.csv"]
    assert (out / "lcfs_pool_quarters.csv").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out"]


def test_a_folder_act_pool_did_not_write_is_refused_before_computing(tmp_path, volumes, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "compliance.csv").write_text("act results\n", encoding="utf-8")
    monkeypatch.setattr("act_pool.lcfs.cli.pool_credits", lambda *a, **k: pytest.fail("computed before --out"))
    with pytest.raises(InputError) as exc:
        run("pool", str(volumes), "--out", str(out))
    assert problems(exc) == {(str(out), None, "--out")} and "did not write" in exc.value.problems[0].message
    assert [p.name for p in out.iterdir()] == ["compliance.csv"]


def test_force_writes_beside_foreign_files_and_never_replaces_one(tmp_path, volumes):
    out = tmp_path / "out"
    out.mkdir()
    (out / "compliance.csv").write_text("act results\n", encoding="utf-8")
    assert run("pool", str(volumes), "--out", str(out), "--force") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(POOL_FILES + ("compliance.csv", ".act-pool.json"))
    assert (out / "compliance.csv").read_text(encoding="utf-8") == "act results\n"
    assert run("pool", str(volumes), "--out", str(out)) == 0  # act-pool's folder now: a rerun keeps the file
    assert (out / "compliance.csv").read_text(encoding="utf-8") == "act results\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / POOL_FILES[1]).write_text("my own table\n", encoding="utf-8")
    with pytest.raises(InputError):
        run("pool", str(volumes), "--out", str(mine), "--force")
    assert [p.name for p in mine.iterdir()] == [POOL_FILES[1]]
    assert (mine / POOL_FILES[1]).read_text(encoding="utf-8") == "my own table\n"


@pytest.mark.parametrize("command", ["pool", "fleet"])
def test_root_home_and_the_inputs_folder_are_refused_even_with_force(tmp_path, volumes, command, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    given = str(volumes) if command == "pool" else str(tmp_path / "plan.toml")
    for out in ("/", str(tmp_path / "home"), str(tmp_path)):
        proc = cli(command, given, "--out", out, "--force")
        assert_refused(proc, f"{out}, field '--out'")
    assert not list(Path("/").glob("lcfs_*")) and not list((tmp_path / "home").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "volumes.csv"]


def test_out_must_not_be_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        write_outputs(target, {"a.csv": "x\n"})
    assert exc.value.problems[0].field == "--out"


# --- fleet (the ACT scenario loader is replaced by a stand-in) --------------------------------------

@pytest.fixture()
def scenario(monkeypatch, tmp_path):
    sales = sales_table([("A", "CA", 2026, "tractor", "ZEV", 10), ("A", "CA", 2027, "4-5", "ZEV", 20),
                         ("A", "NY", 2027, "4-5", "ZEV", 99)])
    seen: list[Path] = []

    def load_scenario(path):
        seen.append(Path(path))
        return types.SimpleNamespace(name="stand-in", sales=sales)

    module = types.ModuleType("act_pool.scenario")
    module.load_scenario = load_scenario
    module.default_scenario_path = lambda: tmp_path / "default.toml"
    monkeypatch.setitem(sys.modules, "act_pool.scenario", module)
    return seen


def test_fleet_writes_its_files(tmp_path, scenario):
    out = tmp_path / "out"
    assert run("fleet", str(tmp_path / "plan.toml"), "--out", str(out)) == 0
    assert scenario == [tmp_path / "plan.toml"]
    assert sorted(p.name for p in out.iterdir()) == sorted(FLEET_FILES + (".act-pool.json",))
    summary = json.loads((out / "lcfs_fleet_summary.json").read_text(encoding="utf-8"))
    assert (summary["scenario"], summary["rules"], summary["price_path"]) == ("stand-in", "lcfs-2025", "base")
    assert "fleet.survival" in summary["assumptions"]
    header = (out / "lcfs_fleet.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"calendar_year", "model_year", "weight_class", "vehicles_in_service", "energy_mwh", "credits_t",
            "value_usd"} <= set(header)


def test_fleet_default_scenario_and_stdout(capsys, tmp_path, scenario):
    assert run("fleet", "--price", "75", "--aam", "2027Q2") == 0
    assert scenario == [tmp_path / "default.toml"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "calendar_year,vehicles_in_service,energy_mwh,credits_t,value_usd,price_usd_per_t"
    assert lines[1].startswith("2026,10.0,1200.0,") and lines[1].endswith(",75.0")


def test_fleet_bad_price(tmp_path, scenario):
    with pytest.raises(InputError) as exc:
        run("fleet", "--price", "lots", "--out", str(tmp_path / "out"))
    assert problems(exc) == {("command line", None, "--price")}
    assert not (tmp_path / "out").exists()


# --- numbers out of range, strict JSON, unreadable volume files (issue 13) -------------------------------

ACT_POOL = shutil.which("act-pool") or str(Path(sys.executable).with_name("act-pool"))


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([ACT_POOL, "lcfs", *argv], capture_output=True, text=True, timeout=120)


def assert_refused(proc: subprocess.CompletedProcess, line: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert line in proc.stderr, proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("option, value", [("--quantity", "1e308"), ("--ci", "1e308"), ("--ci", "-1e308"),
                                           ("--year", "1e18")])
def test_calc_refuses_numbers_beyond_their_bounds(option, value):
    args = {"--fuel": "electricity", "--quantity": "1000", "--unit": "kWh", "--year": "2026", "--ci": "0",
            option: value}
    argv = [f"{k}={v}" for k, v in args.items()]  # "--ci=-1e308": a value may start with a minus
    with pytest.raises(InputError) as exc:
        run("calc", *argv)
    assert problems(exc) == {("command line", None, option)}
    assert_refused(cli("calc", *argv), f"command line, field '{option}'")


def test_calc_bounds_are_inclusive(capsys):
    assert run("calc", "--fuel", "electricity", "--quantity", f"{MAX_QUANTITY:g}", "--unit", "kWh",
               "--year", str(LAST_YEAR), f"--ci={-MAX_CI:g}") == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["quantity"], out["year"], out["ci"]) == (MAX_QUANTITY, LAST_YEAR, -MAX_CI)


@pytest.mark.parametrize("price", ["nan", "inf", "-1", "1e300"])
def test_fleet_refuses_a_price_that_is_not_a_finite_amount(tmp_path, scenario, price):
    out = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        run("fleet", f"--price={price}", "--out", str(out))
    assert problems(exc) == {("command line", None, "--price")}
    assert not out.exists()


def test_fleet_refuses_nan_price_on_the_command_line(tmp_path):
    out = tmp_path / "out"
    assert_refused(cli("fleet", "--price", "inf", "--out", str(out)), "command line, field '--price'")
    assert not out.exists()


def test_summary_json_is_strict(tmp_path):
    # A value that is not a finite number is a defect, never written as NaN (which is not JSON).
    with pytest.raises(ValueError):
        write_outputs(tmp_path / "out", {"summary.json": _json({"value_usd": float("nan")})})
    assert json.loads(_json({"value_usd": 1.5})) == {"value_usd": 1.5}


def test_pool_refuses_a_row_with_extra_fields(tmp_path):
    path = tmp_path / "volumes.csv"
    path.write_text("year,quarter,fuel,quantity,unit\n2026,1,diesel,10,gal\n2026,2,diesel,10,gal,oops\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as exc:
        run("pool", str(path))
    assert problems(exc) == {(str(path), 2, None)}
    assert exc.value.problems[0].message == "6 fields, expected 5"
    assert_refused(cli("pool", str(path), "--out", str(tmp_path / "out")), f"{path}, row 2: 6 fields, expected 5")
    assert not (tmp_path / "out").exists()


def test_pool_row_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "volumes.csv"
    path.write_text("year,quarter,fuel,quantity,unit\n2026,1,diesel,10,gal\n\n2026,2,kerosene,10,gal\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as exc:
        run("pool", str(path))
    assert problems(exc) == {(str(path), 3, "fuel")}


@pytest.mark.parametrize("quantity, field", [("1e308", "quantity"), ("1e400", "quantity")])
def test_pool_refuses_quantities_beyond_the_bound(tmp_path, quantity, field):
    path = tmp_path / "volumes.csv"
    path.write_text(f"year,quarter,fuel,quantity,unit\n2026,1,diesel,{quantity},gal\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        run("pool", str(path))
    assert problems(exc) == {(str(path), 1, field)}


def test_pool_refuses_a_named_pipe_without_waiting(tmp_path):
    pipe = tmp_path / "volumes.csv"
    os.mkfifo(pipe)  # nobody writes: reading it would wait for ever
    with pytest.raises(InputError) as exc:
        run("pool", str(pipe))
    assert problems(exc) == {(str(pipe), None, None)}
    assert "pipe, socket or device" in exc.value.problems[0].message
    assert_refused(cli("pool", str(pipe)), f"{pipe}: is a pipe, socket or device")


def test_pool_refuses_an_endless_device():
    with pytest.raises(InputError) as exc:
        run("pool", "/dev/zero")
    assert problems(exc) == {("/dev/zero", None, None)}
    assert_refused(cli("pool", "/dev/zero"), "/dev/zero: is a pipe, socket or device")
