"""The ``lcfs`` command, through a parser built with :func:`register` (independent of act_pool/cli.py)."""
from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import pytest

from act_pool.errors import InputError
from act_pool.lcfs.cli import FLEET_FILES, POOL_FILES, register, write_outputs

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
    assert sorted(p.name for p in out.iterdir()) == sorted(POOL_FILES)
    summary = json.loads((out / "lcfs_pool_summary.json").read_text(encoding="utf-8"))
    assert summary["options"] == {"basis": "quarter", "excess_ci": "benchmark", "measure": "volume",
                                  "announcements": []}
    assert "crop_oil_cap.basis" in summary["assumptions"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]  # temporary dir gone


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
        run("pool", str(bad), "--out", str(out))
    assert problems(exc) == {(str(bad), 1, "fuel"), (str(bad), 2, "quarter"), (str(bad), 2, "quantity")}
    assert [p.name for p in out.iterdir()] == ["lcfs_pool_quarters.csv"]
    assert (out / "lcfs_pool_quarters.csv").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out"]


def test_outputs_join_an_existing_directory(tmp_path, volumes):
    out = tmp_path / "out"
    out.mkdir()
    (out / "compliance.csv").write_text("act results\n", encoding="utf-8")
    run("pool", str(volumes), "--out", str(out))
    assert sorted(p.name for p in out.iterdir()) == sorted(POOL_FILES + ("compliance.csv",))
    assert (out / "compliance.csv").read_text(encoding="utf-8") == "act results\n"


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
    assert sorted(p.name for p in out.iterdir()) == sorted(FLEET_FILES)
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
