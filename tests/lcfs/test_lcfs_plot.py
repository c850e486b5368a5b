"""Figures are views: they draw result tables; the calculation modules never import matplotlib."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from matplotlib.figure import Figure

import act_pool
from act_pool.lcfs import fleet_by_year, fleet_value, pool_credits
from act_pool.lcfs.plot import plot_fleet_value, plot_pool, plot_value_comparison

from .conftest import sales_table

SALES = sales_table([("A", "CA", 2025, "tractor", "ZEV", 10), ("A", "CA", 2026, "4-5", "ZEV", 20)])


def test_fleet_figures(rules, tmp_path):
    table = fleet_value(SALES, rules, years=(2025, 2030))
    fig = plot_fleet_value(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 6  # two weight classes x six years
    fig.savefig(tmp_path / "fleet.png")
    cmp = plot_value_comparison({"base": fleet_by_year(table),
                                 "AAM 2027Q2": fleet_by_year(fleet_value(SALES, rules, years=(2025, 2030),
                                                                        announcements=["2027Q2"]))})
    assert [line.get_label() for line in cmp.axes[0].lines if not line.get_label().startswith("_")] == \
        ["base", "AAM 2027Q2"]


def test_deficits_stack_below_zero(rules):
    import pandas as pd
    table = pd.DataFrame({"calendar_year": [2045, 2045], "weight_class": ["2b-3", "tractor"],
                          "value_usd": [-2e6, 3e6]})
    bars = plot_fleet_value(table).axes[0].patches
    assert [(b.get_y(), b.get_height()) for b in bars] == [(0.0, -2.0), (0.0, 3.0)]


def test_pool_figure(rules):
    import pandas as pd
    df = pd.DataFrame({"year": [2026, 2026], "quarter": [1, 2], "fuel": ["diesel", "electricity"],
                       "quantity": [1000, 1000], "unit": ["gal", "kWh"]})
    fig = plot_pool(pool_credits(df, rules).quarters)
    assert len(fig.axes[0].get_xticklabels()) == 2


def test_calculation_does_not_load_matplotlib_or_print():
    code = "import sys, act_pool.lcfs; print(sorted(m for m in sys.modules if m.startswith('matplotlib')))"
    root = str(Path(act_pool.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]" and done.stderr == ""
