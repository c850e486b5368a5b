"""Sweeps on Dask: runs equal ``act-pool run``, do not depend on the workers, survive a killed worker
and resume after an interruption. One local cluster (2 process workers) serves the module."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from decimal import Decimal
import sys
from pathlib import Path

import pandas as pd
import pytest

from act_pool.errors import InputError
from act_pool.sweep import load_sweep, sweep
from act_pool.sweep.execute import local_cluster
from helpers import write_scenario
from sweep_helpers import GRID_2X2, GRID_MC, sweep_sales, write_sweep

ACT_POOL = str(Path(sys.executable).parent / "act-pool")


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    with local_cluster(2) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def reference(tmp_path_factory, client):
    """The 12-run Monte Carlo sweep (2 x 2 grid x 3 samples), run once without interruption."""
    folder = tmp_path_factory.mktemp("reference")
    path = write_sweep(folder, GRID_MC)
    return path, sweep(path, client=client, out=folder / "out"), folder / "out"


def _files(folder: Path) -> dict[str, bytes]:
    """Every result file's bytes, summary.json without its timing (which varies run to run)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "summary.json":
                doc = json.loads(data)
                doc.pop("timing")
                data = json.dumps(doc, sort_keys=True).encode()
            out[str(path.relative_to(folder))] = data
    return out


def test_grid_equals_act_pool_run_row_for_row(tmp_path, client):
    result = sweep(write_sweep(tmp_path, GRID_2X2), client=client, out=tmp_path / "out")
    runs = pd.read_csv(tmp_path / "out" / "runs.csv", keep_default_na=False, dtype=str)
    detail = pd.read_parquet(tmp_path / "out" / "detail.parquet")
    assert runs["run"].tolist() == ["0", "1", "2", "3"] and runs["sample"].tolist() == ["0"] * 4
    assert len(result.runs) == 4
    summary_totals = {"deficits": "deficits", "unmet": "unmet", "short": "unmet_short", "open": "unmet_open",
                      "expired": "expired", "pooled": "retired_pooled", "tractor_offset": "retired_tractor_offset",
                      "closing_bank": "closing_bank", "met": "met"}
    for run, (fraction, pooling) in enumerate([("0.0", True), ("0.0", False), ("0.5", True), ("0.5", False)]):
        folder = tmp_path / f"run{run}"
        path = write_scenario(folder, sweep_sales(), model_years=[2025, 2029], retirement="optimal",
                              pooling=pooling, overrides={"tractor_offset.fraction": Decimal(fraction)})
        subprocess.run([ACT_POOL, "run", str(path), "--out", str(folder / "out"), "--tables-only", "--quiet"],
                       check=True)
        totals = json.loads((folder / "out" / "summary.json").read_text())["totals"]
        row = runs.iloc[run]
        assert (row["tractor_offset.fraction"], row["pooling"]) == (fraction, "true" if pooling else "false")
        for column, key in summary_totals.items():
            assert row[column] == f"{totals[key]:.1f}", (run, column)
        comp = pd.read_csv(folder / "out" / "compliance.csv")
        comp["short"] = comp["unmet"].where(comp["status"] == "short", 0)
        expected = (comp.groupby(["manufacturer", "state", "model_year"])[["deficits", "met", "unmet", "short"]]
                    .sum().reset_index())
        expected = expected[expected["deficits"] > 0].reset_index(drop=True)
        got = detail[detail["run"] == run].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # The grid matters: pooling off leaves NJ short in MY2025 (as the runs above show too).
    assert runs["short"].nunique() > 1


def test_one_and_two_workers_write_identical_files(tmp_path):
    path = write_sweep(tmp_path, GRID_MC.replace("samples = 3", "samples = 1"))
    for n in (1, 2):
        subprocess.run([ACT_POOL, "sweep", str(path), "--out", str(tmp_path / f"w{n}"), "--workers", str(n),
                        "--quiet"], check=True)
    one, two = _files(tmp_path / "w1"), _files(tmp_path / "w2")
    assert sorted(one) == ["detail.parquet", "figures/robustness.png", "figures/shortfall_probability.png",
                           "figures/tornado.png", "figures/unmet_by_parameter.png", "runs.csv", "summary.json",
                           "sweep.html"]
    assert one == two
    assert json.loads((tmp_path / "w2" / "summary.json").read_text())["timing"]["workers"] == 2


def test_killed_worker_sweep_completes_with_every_run_once(tmp_path, client, reference):
    path, expected, _ = reference
    victim = sorted(client.scheduler_info()["workers"])[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    killed = []

    def kill_once(done: int, total: int) -> None:
        if done == 2 and not killed:  # mid-sweep: 10 of 12 runs still to come
            os.kill(pid, signal.SIGKILL)
            killed.append(victim)

    result = sweep(path, client=client, out=tmp_path / "out", progress=kill_once)
    assert killed and victim not in client.scheduler_info()["workers"]
    runs = pd.read_csv(tmp_path / "out" / "runs.csv", keep_default_na=False, dtype=str)
    assert runs["run"].tolist() == [str(r) for r in range(12)]
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.detail, expected.detail)


def test_resume_computes_only_the_missing_runs(tmp_path, client, reference):
    path, _, whole = reference
    out = tmp_path / "out"

    def interrupt(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(path, client=client, out=out, progress=interrupt)
    saved = sorted(p.name for p in (out / ".checkpoint").glob("run-*.parquet"))
    assert len(saved) == 4 and not (out / "runs.csv").exists()
    seen = []
    resumed = sweep(load_sweep(path), client=client, out=out, resume=True,
                    progress=lambda done, total: seen.append(done))
    assert resumed.computed == 12 - 4 and seen == list(range(4, 13))
    assert _files(out) == _files(whole)
    assert not (out / ".checkpoint").exists()
    assert json.loads((out / "summary.json").read_text())["timing"]["runs_from_checkpoint"] == 4


def test_resume_refuses_the_checkpoint_of_another_sweep(tmp_path, client):
    path = write_sweep(tmp_path, GRID_MC)
    out = tmp_path / "out"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # before any run: the checkpoint holds only the sweep's fingerprint

    with pytest.raises(KeyboardInterrupt):
        sweep(path, client=client, out=out, progress=interrupt)
    path.write_text(path.read_text().replace("seed = 7", "seed = 8"))
    with pytest.raises(InputError, match="another sweep file or scenario"):
        sweep(path, client=client, out=out, resume=True)
    assert sorted(p.name for p in (out / ".checkpoint").iterdir()) == ["spec.json"]


def test_cli_runs_on_an_existing_cluster_given_by_scheduler(tmp_path, client, reference):
    path, _, whole = reference
    address = client.scheduler.address
    subprocess.run([ACT_POOL, "sweep", str(path), "--scheduler", address, "--out", str(tmp_path / "out"), "--quiet"],
                   check=True)
    assert _files(tmp_path / "out") == _files(whole)
