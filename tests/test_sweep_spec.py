"""Sweep files: validation (exit 2, nothing written) and the seeded Monte Carlo of sales."""
from __future__ import annotations

import json
import math
import os
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import act_pool

from act_pool.cli import main
from act_pool.errors import InputError
from act_pool.sweep import MonteCarlo, load_sweep
from act_pool.sweep.sampling import sales_factors, sample_sales
from sweep_helpers import GRID_2X2, GRID_MC, write_sweep


def test_grid_order_and_run_ids(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, GRID_MC))
    # 2 offsets x 2 pooling switches = 4 points, the first name changing slowest; 3 samples each.
    assert [(str(p["tractor_offset.fraction"]), p["pooling"]) for p in spec.points()] == [
        ("0.0", True), ("0.0", False), ("0.5", True), ("0.5", False)]
    assert spec.n_runs == 12
    point, sample = spec.run_key(7)  # run 7 = point 2 (7 // 3) x sample 1 (7 % 3)
    assert (str(point["tractor_offset.fraction"]), point["pooling"], sample) == ("0.5", True, 1)


BAD = [
    ('[vary]\n"tractor_offset.fractio" = [0.0]\n', "vary.tractor_offset.fractio", "unknown name"),
    ('[vary]\n"tractor_offset.fraction" = [0.0, 1.5]\n', "vary.tractor_offset.fraction",
     "expected a number <= 1, got 1.5"),
    ('[vary]\n"tractor_offset.fraction" = 0.5\n', "vary.tractor_offset.fraction", "non-empty list"),
    ('[vary]\npooling = [true, true]\n', "vary.pooling", "more than once"),
    ('[vary]\npooling = ["yes"]\n', "vary.pooling", "expected true or false"),
    ('[vary]\nrules = ["act-2099"]\n', "vary.rules", "act-2099"),
    # act-2021 has no pooling: the clash is found per grid point.
    ('[vary]\nrules = ["act-2021"]\npooling = [true]\n', "vary", "grid point rules = \"act-2021\", pooling = true"),
    ('[monte_carlo]\nsamples = 0\nseed = 1\nzev_sales_sigma = 0.2\n', "monte_carlo.samples", ">= 1"),
    ('[monte_carlo]\nsamples = 2\nseed = 1\nzev_sales_sigma = -0.2\n', "monte_carlo.zev_sales_sigma", "from 0 to 2"),
    ('[monte_carlo]\nsamples = 2\nseed = 1\nzev_sales_sigma = 0.2\ncorrelation = "state"\n',
     "monte_carlo.correlation", "expected one of none, manufacturer, market"),
    ('[monte_carlo]\nsamples = 2\nzev_sales_sigma = 0.2\n', "monte_carlo.seed", "required"),
    ('workers = 3\n', "workers", "unknown key"),
]


@pytest.mark.parametrize("body,field,message", BAD, ids=[b[1] + "-" + b[2][:12] for b in BAD])
def test_bad_sweep_file_exit_2_names_file_and_key(tmp_path, capsys, body, field, message):
    path = write_sweep(tmp_path, body)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}, field '{field}'" in err and message in err
    assert "Traceback" not in err and not out.exists()


def test_missing_scenario_and_invalid_toml_exit_2(tmp_path, capsys):
    bad = tmp_path / "a.toml"
    bad.write_text('scenario = "nowhere.toml"\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere.toml: scenario file not found" in capsys.readouterr().err
    bad.write_text('scenario = \n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_out_folder_with_foreign_files_is_refused(tmp_path, capsys):
    path = write_sweep(tmp_path, GRID_2X2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    assert "holds files act-pool did not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_scenario_overrides_stay_under_a_varied_rule_set(tmp_path):
    path = write_sweep(tmp_path, '[vary]\nrules = ["act-2025"]\n"makeup.model_years" = [1, 3]\n',
                       overrides={"pooling.cap_fraction": 0.5})
    spec = load_sweep(path)
    from act_pool.sweep.spec import point_scenario

    sc = point_scenario(spec.scenario, spec.points()[0], "t", path.parent)
    assert sc.rules.value("pooling.cap_fraction") == Decimal("0.5")
    assert sc.rules.value("makeup.model_years") == 1
    assert sc.overrides == {"pooling.cap_fraction": Decimal("0.5"), "makeup.model_years": 1}


# ------------------------------------------------------------------------------------ Monte Carlo

def _sales(rows):
    return pd.DataFrame(rows, columns=["manufacturer", "state", "model_year", "weight_class", "powertrain",
                                       "aer_miles", "vehicles"]).astype({"vehicles": "int64"})


def test_one_zev_row_scaled_by_the_mean_one_lognormal_of_its_seed():
    sales = _sales([("M", "CA", 2026, "2b-3", "ICE", None, 900), ("M", "CA", 2026, "2b-3", "ZEV", None, 100)])
    mc = MonteCarlo(samples=3, seed=7, zev_sales_sigma=Decimal("0.2"), correlation="manufacturer")
    out = sample_sales(sales, mc, 2)
    # Sample 2 of seed 7: the first standard normal of SeedSequence([7, 2]); factor exp(0.2 z - 0.02).
    z = np.random.default_rng(np.random.SeedSequence([7, 2])).standard_normal(1)[0]
    zev = math.floor(100 * math.exp(0.2 * z - 0.02) + 0.5)
    assert zev != 100
    assert out["vehicles"].tolist() == [1000 - zev, zev]


def test_sigma_zero_leaves_sales_as_they_are():
    sales = _sales([("M", "CA", 2026, "8", "ICE", None, 50), ("M", "CA", 2026, "8", "NZEV", Decimal(60), 7)])
    mc = MonteCarlo(samples=1, seed=1, zev_sales_sigma=Decimal(0), correlation="none")
    pd.testing.assert_frame_equal(sample_sales(sales, mc, 0), sales)


def test_group_totals_kept_ice_never_negative_and_ice_row_added():
    # Group 1: ZEVs are 95 of 100 vehicles, so a large draw must be capped at the total (ICE 0).
    # Group 2 has no ICE row: one is added holding what the ZEVs lose.
    sales = _sales([("M", "CA", 2026, "2b-3", "ICE", None, 5), ("M", "CA", 2026, "2b-3", "ZEV", None, 95),
                    ("M", "NJ", 2026, "8", "ZEV", None, 40)])
    mc = MonteCarlo(samples=50, seed=3, zev_sales_sigma=Decimal("1.5"), correlation="none")
    capped = added = False
    for s in range(50):
        out = sample_sales(sales, mc, s)
        totals = out.groupby(["state", "weight_class"])["vehicles"].sum().to_dict()
        assert totals == {("CA", "2b-3"): 100, ("NJ", "8"): 40}
        assert (out["vehicles"] >= 0).all()
        ice = out[out["powertrain"] == "ICE"].set_index("state")["vehicles"]
        capped |= ice["CA"] == 0
        added |= "NJ" in ice.index
    assert capped and added


def test_correlation_shares_the_draw():
    # Each group sells 9,000 ICE beside 1,000 ZEVs, so the ZEVs have room to grow.
    keys = [("A", s, y) for s in ("CA", "NJ") for y in (2026, 2027)] + [("B", "CA", 2026)]
    sales = _sales([(m, s, y, "2b-3", pt, None, n) for m, s, y in keys for pt, n in (("ICE", 9000), ("ZEV", 1000))])
    mc = dict(samples=1, seed=11, zev_sales_sigma=Decimal("0.5"))

    def ev(correlation):
        out = sample_sales(sales, MonteCarlo(correlation=correlation, **mc), 0)
        return out[out["powertrain"] == "ZEV"].set_index(["manufacturer", "state", "model_year"])["vehicles"]

    maker = ev("manufacturer")  # one draw per maker and year: A's CA and NJ move together, B apart
    assert maker[("A", "CA", 2026)] == maker[("A", "NJ", 2026)] != maker[("A", "CA", 2027)]
    assert maker[("B", "CA", 2026)] != maker[("A", "CA", 2026)]
    market = ev("market")  # one draw per model year for everyone
    assert market[("A", "CA", 2026)] == market[("B", "CA", 2026)] != market[("A", "CA", 2027)]
    none = ev("none")
    assert len(set(none)) == 5


def test_factor_has_mean_one():
    sales = _sales([("M", "CA", year, "2b-3", "ZEV", None, 100) for year in range(4000)])
    mc = MonteCarlo(samples=1, seed=5, zev_sales_sigma=Decimal("0.3"), correlation="none")
    factors = sales_factors(sales, mc, 0)
    # The factor exp(0.3 z - 0.045) has mean 1 and standard deviation sqrt(exp(0.09) - 1) = 0.307,
    # so the mean of 4000 independent draws is within 4 standard errors (4 x 0.307 / 63.2 = 0.019) of 1.
    assert len(set(factors)) == 4000
    assert abs(factors.mean() - 1) < 0.019


def test_a_sample_too_low_for_a_declared_trade_moves_what_the_seller_holds(tmp_path):
    from act_pool.sweep.execute import PointSettings, compute_run
    from helpers import write_trades

    # Alder sells all its CA MY2025 2b-3 ZEV credits (200 ZEVs x 0.8 = 160.0) to Birch. A sample with
    # n < 200 of those ZEVs gives Alder n x 0.8 credits: the trade moves them all and falls short by
    # 160.0 - 0.8 n (in tenths: 1600 - 8 n), instead of failing the run.
    folder = tmp_path / "scenario"
    folder.mkdir()
    trades = write_trades(folder, [("Alder", "Birch", "CA", 2025, "2b-3", "ZEV", "160.0", 2025)])
    path = write_sweep(tmp_path, "[monte_carlo]\nsamples = 20\nseed = 1\nzev_sales_sigma = 0.5\n", trades=trades)
    spec = load_sweep(path)
    zevs = [sample_sales(spec.scenario.sales, spec.monte_carlo, s).set_index(
        ["manufacturer", "state", "model_year", "weight_class", "powertrain"]).loc[
        ("Alder", "CA", 2025, "2b-3", "ZEV"), "vehicles"] for s in range(20)]
    low = next(s for s, n in enumerate(zevs) if n < 200)
    totals, detail = compute_run(spec.scenario, PointSettings.of(spec.scenario), spec.monte_carlo, low)
    assert "error" not in totals and not detail.empty
    assert totals["trades_short"] == 1600 - 8 * int(zevs[low])
    high = next(s for s, n in enumerate(zevs) if n >= 200)
    assert compute_run(spec.scenario, PointSettings.of(spec.scenario), spec.monte_carlo, high)[0]["trades_short"] == 0
    with pytest.raises(InputError):  # outside Monte Carlo, a trade beyond holdings stays an input error
        act_pool.run(spec.scenario.with_sales(sample_sales(spec.scenario.sales, spec.monte_carlo, low)))


def test_a_schedule_can_be_varied_and_is_written_as_json(tmp_path):
    from act_pool.sweep.results import value_text
    from act_pool.sweep.spec import point_scenario

    # A slower tractor schedule from MY2028 on: 15 % (the MY2027 value) instead of 20 %.
    spec = load_sweep(write_sweep(tmp_path, '[vary]\n"zev_sales_percent.tractor" = [{2028 = 20}, {2028 = 15}]\n'))
    schedule = spec.points()[1]["zev_sales_percent.tractor"]
    assert value_text(schedule) == '{"2028": 15}' and value_text(True) == "true"
    assert spec.describe()["vary"] == {"zev_sales_percent.tractor": [{"2028": 20}, {"2028": 15}]}
    rules = point_scenario(spec.scenario, spec.points()[1]).rules
    assert [rules.at("zev_sales_percent.tractor", y) for y in (2027, 2028, 2029)] == [15, 15, 25]


# ------------------------------------------------------------------------------------ the output folder

def test_results_replace_an_earlier_sweep_folder_whole(tmp_path):
    from act_pool.sweep.folder import replace_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"kind": "act-pool sweep"}')
    (out / "runs.csv").write_text("old")
    (out / ".checkpoint").mkdir()
    (out / ".checkpoint" / "spec.json").write_text("{}")
    replace_folder(out, lambda folder: (folder / "runs.csv").write_text("new"))
    assert sorted(p.name for p in out.iterdir()) == ["runs.csv"] and (out / "runs.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left beside


def test_a_failed_write_leaves_the_folder_as_it_was(tmp_path):
    from act_pool.sweep.folder import replace_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"kind": "act-pool sweep"}')

    def fail(folder):
        (folder / "runs.csv").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        replace_folder(out, fail)
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("names", [["summary.json"], ["runs.csv", "notes.txt"], ["results.xlsx"]])
def test_folders_act_pool_did_not_write_are_refused(tmp_path, names):
    from act_pool.sweep.folder import check_out_dir

    out = tmp_path / "out"
    out.mkdir()
    for name in names:  # a summary.json that is not a sweep's, a stranger's file, a run's workbook
        (out / name).write_text("{}")
    with pytest.raises(InputError, match="holds files act-pool did not write"):
        check_out_dir(out)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_out_dir(tmp_path / "file")


def test_a_sweep_whose_runs_all_failed_still_writes_its_files(tmp_path):
    from act_pool.sweep.report import write_sweep as write_results
    from act_pool.sweep.results import SweepResult, assemble, empty_detail

    spec = load_sweep(write_sweep(tmp_path, GRID_2X2))
    runs, detail = assemble(spec, {r: ({"error": "infeasible"}, empty_detail()) for r in range(4)})
    write_results(SweepResult(spec=spec, runs=runs, detail=detail), tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["runs"] == 4 and summary["counts"]["runs_failed"] == 4
    assert len((tmp_path / "out" / "runs.csv").read_text().splitlines()) == 5


def test_the_sweep_folder_follows_the_umask(tmp_path):
    from act_pool.sweep.folder import replace_folder

    old = os.umask(0o027)
    try:
        out = replace_folder(tmp_path / "out", lambda folder: (folder / "runs.csv").write_text("run\n"))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o750  # not the 0700 of a temporary folder, nor a fixed 0755
