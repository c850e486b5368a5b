"""A small two-manufacturer, two-state scenario whose shortfalls move with the tractor offset and
pooling, and sweep files over it."""
from __future__ import annotations

from pathlib import Path

from helpers import write_scenario


def sweep_sales() -> list[tuple]:
    """MY2025-2029 in CA and NJ: Alder's tractors and NJ vans fall short without the offset or
    pooling; Birch sells tractors in CA and Class 4-5 ZEVs and NZEVs in NJ."""
    rows = []
    for y in range(2025, 2030):
        rows += [("Alder", "CA", y, "2b-3", "ICE", "", 800), ("Alder", "CA", y, "2b-3", "ZEV", "", 200),
                 ("Alder", "CA", y, "tractor", "ICE", "", 300), ("Alder", "CA", y, "tractor", "ZEV", "", 20),
                 ("Alder", "NJ", y, "2b-3", "ICE", "", 900), ("Alder", "NJ", y, "2b-3", "ZEV", "", 40),
                 ("Birch", "CA", y, "tractor", "ICE", "", 400), ("Birch", "CA", y, "tractor", "ZEV", "", 30),
                 ("Birch", "NJ", y, "4-5", "ICE", "", 300), ("Birch", "NJ", y, "4-5", "ZEV", "", 25),
                 ("Birch", "NJ", y, "4-5", "NZEV", "60", 10)]
    return rows


def write_sweep(folder: Path, body: str, **scenario_keys) -> Path:
    """The test scenario in ``folder/scenario`` and a sweep file ``folder/sweep.toml`` naming it,
    followed by ``body``."""
    keys = {"model_years": [2025, 2029], "retirement": "optimal", **scenario_keys}
    write_scenario(folder / "scenario", sweep_sales(), **keys)
    path = folder / "sweep.toml"
    path.write_text('scenario = "scenario/scenario.toml"\n' + body, encoding="utf-8")
    return path


GRID_2X2 = """
[vary]
"tractor_offset.fraction" = [0.0, 0.5]
pooling = [true, false]
"""

GRID_MC = GRID_2X2 + """
[monte_carlo]
samples = 3
seed = 7
zev_sales_sigma = 0.3
correlation = "manufacturer"
"""
