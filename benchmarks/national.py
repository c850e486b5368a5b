"""A synthetic national ACT scenario for benchmarks: 11 states, 15 manufacturers, sales of MY2021-2040.

Deterministic (seeded :class:`numpy.random.Generator`) and plausible, so that the solvers do
realistic work: California sells about 130,000 Class 2b-8 vehicles in MY2024, the other ACT states
fewer in proportion to their truck markets; ZEV shares grow with the ACT schedule, some
manufacturers lead it (surplus credits to bank and pool), some lag it (short, so make-up, pooling
and unmet deficits are exercised); some sell NZEVs (plug-in hybrids with an all-electric range)
through MY2035; a few hold opening (early-action) balances of MY2021, so the run simulates
MY2022-2040 (an opening balance holds credits earned before the first simulated year).

Scale
-----
``scale`` = k gives **15 k manufacturers**: k independent "replicas" of the 15-manufacturer
national market, replica r drawn from its own stream ``default_rng([seed, r])``. Replica 0 is the
same at every k, so the 1x scenario is a subset of the 2x one, and so on. The states (11), model
years (20), classes and powertrains stay fixed, so each manufacturer's credit network has about
the same size and the number of graph nodes, arcs, sales rows and obligations grows linearly in k.
(Each replica is a full-size market, so vehicles per state grow with k too: the manufacturers
stay above the small-manufacturer exemption and keep their deficits.)

Usage::

    python benchmarks/national.py --scale 2 --out /tmp/national-2x   # writes scenario.toml, sales.csv, bank.csv
    python benchmarks/national.py                                  # prints a summary of the 1x scenario

    from benchmarks.national import national_scenario              # or put benchmarks/ on sys.path
    scenario = national_scenario(scale=1)                          # a validated act_pool Scenario
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STATES = ("CA", "OR", "WA", "NJ", "NY", "MA", "VT", "CO", "MD", "NM", "RI")
#: Class 2b-8 sales relative to California's (rough shares of registrations; illustrative).
STATE_SIZE = {"CA": 1.00, "OR": 0.12, "WA": 0.19, "NJ": 0.22, "NY": 0.40, "MA": 0.17, "VT": 0.025,
              "CO": 0.17, "MD": 0.16, "NM": 0.07, "RI": 0.025}
#: ZEV ambition of each state's market relative to the manufacturer's (CA leads).
STATE_AMBITION = {"CA": 1.15, "OR": 1.0, "WA": 1.0, "NJ": 0.95, "NY": 0.95, "MA": 0.95, "VT": 0.9,
                  "CO": 0.9, "MD": 0.85, "NM": 0.8, "RI": 0.9}
FIRST_YEAR, LAST_YEAR = 2021, 2040
#: First simulated model year: the opening balances are credits of MY2021 (FIRST_YEAR), earned before the run.
FIRST_SIMULATED_YEAR = FIRST_YEAR + 1
CA_2024_VEHICLES = 130_000
MARKET_GROWTH = 0.01  # per year
WEIGHT_CLASSES = ("2b-3", "4-5", "6-7", "8", "tractor")
#: Share of Class 2b-8 sales by weight class.
CLASS_MIX = {"2b-3": 0.52, "4-5": 0.13, "6-7": 0.12, "8": 0.07, "tractor": 0.16}
CLASS_GROUP = {"2b-3": "2b-3", "4-5": "4-8", "6-7": "4-8", "8": "4-8", "tractor": "tractor"}
#: ACT ZEV sales schedule (percent, Table A-1 as in the act-2021 rule set), held after its last year.
SCHEDULE = {
    "2b-3": {2024: 5, 2025: 7, 2026: 10, 2027: 15, 2028: 20, 2029: 25, 2030: 30, 2031: 35, 2032: 40, 2033: 45,
             2034: 50, 2035: 55},
    "4-8": {2024: 9, 2025: 11, 2026: 13, 2027: 20, 2028: 30, 2029: 40, 2030: 50, 2031: 55, 2032: 60, 2033: 65,
            2034: 70, 2035: 75},
    "tractor": {2024: 5, 2025: 7, 2026: 10, 2027: 15, 2028: 20, 2029: 25, 2030: 30, 2031: 35, 2032: 40},
}
EARLY_ZEV_PERCENT = {2021: 1.0, 2022: 2.0, 2023: 3.5}  # before the schedule: early action
NZEV_LAST_YEAR = 2035
#: The 15 manufacturers of one national market: product line and weight of its market share.
PROFILES = (
    ("full", 3.0), ("full", 2.5), ("full", 2.0), ("full", 1.2),
    ("light", 3.5), ("light", 2.5), ("light", 1.5), ("light", 0.8), ("light", 0.5),
    ("heavy", 2.0), ("heavy", 1.8), ("heavy", 1.4), ("heavy", 0.9), ("heavy", 0.6), ("heavy", 0.4),
)
LINE_CLASSES = {"full": WEIGHT_CLASSES, "light": ("2b-3", "4-5", "6-7"), "heavy": ("6-7", "8", "tractor")}
SALES_COLUMNS = ["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles"]
BANK_COLUMNS = ["manufacturer", "state", "vintage", "group", "credit_type", "credits"]


def schedule_percent(group: str, year: int) -> float:
    """ACT ZEV percentage for ``group`` in ``year`` (early-action shares before 2024, held after the table)."""
    table = SCHEDULE[group]
    if year < min(table):
        return EARLY_ZEV_PERCENT.get(year, 0.0)
    return float(table[min(year, max(table))])


def _replica(r: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    """Sales and bank rows of replica ``r`` (15 manufacturers), from its own random stream."""
    rng = np.random.default_rng([seed, r])
    n = len(PROFILES)
    names = [f"M{r:03d}-{i + 1:02d}" for i in range(n)]
    lines = [p[0] for p in PROFILES]
    weight = np.array([p[1] for p in PROFILES]) * rng.lognormal(0.0, 0.15, n)
    # Market share of each manufacturer within each weight class (among those selling the class).
    share = {}
    for wc in WEIGHT_CLASSES:
        w = np.array([weight[i] if wc in LINE_CLASSES[lines[i]] else 0.0 for i in range(n)])
        share[wc] = w / w.sum()
    # ZEV ambition relative to the schedule: a few leaders, most near it, some laggards (short).
    ambition = np.clip(rng.normal(1.0, 0.3, n), 0.35, 1.7)
    ambition[rng.choice(n, size=3, replace=False)] *= 0.55  # laggards
    presence = rng.lognormal(0.0, 0.25, (n, len(STATES)))  # each manufacturer's strength by state
    nzev_maker = rng.random(n) < 0.4
    # Each state's market stays its size: normalise presence within every weight class and state.
    class_presence = {wc: presence / (share[wc] @ presence) for wc in WEIGHT_CLASSES}
    aer_choices = np.array([35, 50, 60, 80])
    sales: list[tuple] = []
    for i, m in enumerate(names):
        aers = (sorted(rng.choice(aer_choices, size=int(rng.integers(1, 3)), replace=False).tolist())
                if nzev_maker[i] else [])
        nzev_rate = rng.uniform(0.02, 0.06) if nzev_maker[i] else 0.0
        for j, s in enumerate(STATES):
            for y in range(FIRST_YEAR, LAST_YEAR + 1):
                market = CA_2024_VEHICLES * STATE_SIZE[s] * (1 + MARKET_GROWTH) ** (y - 2024)
                noise = rng.lognormal(0.0, 0.06, len(WEIGHT_CLASSES))
                for k, wc in enumerate(WEIGHT_CLASSES):
                    total = round(market * CLASS_MIX[wc] * share[wc][i] * class_presence[wc][i, j] * noise[k])
                    if total <= 0:
                        continue
                    pct = schedule_percent(CLASS_GROUP[wc], y) / 100
                    zev_share = min(0.97, pct * ambition[i] * STATE_AMBITION[s] * rng.lognormal(0.0, 0.1))
                    zev = round(total * zev_share)
                    nzev_total = (round(total * nzev_rate) if aers and wc != "8" and y <= NZEV_LAST_YEAR
                                  else 0)
                    nzev_total = min(nzev_total, total - zev)
                    ice = total - zev - nzev_total
                    sales.append((m, s, y, wc, "ICE", None, ice))
                    if zev:
                        sales.append((m, s, y, wc, "ZEV", None, zev))
                    if nzev_total:
                        split = np.diff(np.round(np.linspace(0, nzev_total, len(aers) + 1)).astype(int))
                        for aer, v in zip(aers, split):
                            if v:
                                sales.append((m, s, y, wc, "NZEV", int(aer), int(v)))
    bank: list[tuple] = []
    for i, m in enumerate(names):
        if rng.random() < 0.4:  # early-action balances held at the start
            for s in rng.choice(["CA", "OR", "WA", "NJ", "NY"], size=int(rng.integers(1, 3)), replace=False):
                group = str(rng.choice([g for g in ("2b-3", "4-8", "tractor")
                                        if any(CLASS_GROUP[wc] == g for wc in LINE_CLASSES[lines[i]])]))
                bank.append((m, str(s), FIRST_YEAR, group, "ZEV", round(float(rng.uniform(20, 600)), 1)))
    return sales, bank


def national_frames(scale: int = 1, seed: int = 2025) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sales and bank tables (CSV columns of CONTRACT.md) of the national scenario at ``scale``."""
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale must be a whole number >= 1, got {scale!r}")
    sales: list[tuple] = []
    bank: list[tuple] = []
    for r in range(int(scale)):
        s, b = _replica(r, seed)
        sales += s
        bank += b
    sales_df = pd.DataFrame(sales, columns=SALES_COLUMNS)
    sales_df["aer_miles"] = sales_df["aer_miles"].astype("Int64")
    return sales_df, pd.DataFrame(bank, columns=BANK_COLUMNS)


SCENARIO_OPTIONS = {"model_years": [FIRST_SIMULATED_YEAR, LAST_YEAR], "states": list(STATES), "pooling": True,
                    "retirement": "optimal"}


def scenario_name(scale: int) -> str:
    return (f"National synthetic, 11 states, {15 * scale} manufacturers, MY{FIRST_SIMULATED_YEAR}-{LAST_YEAR} "
            f"(scale {scale})")


def national_scenario(scale: int = 1, seed: int = 2025, retirement: str = "optimal"):
    """The national scenario as a validated :class:`act_pool.Scenario` (via ``scenario_from_frames``)."""
    from act_pool import scenario_from_frames

    sales, bank = national_frames(scale, seed)
    options = {**SCENARIO_OPTIONS, "retirement": retirement}
    return scenario_from_frames(scenario_name(scale), "act-2025", sales, bank, **options)


def write_national(folder: str | Path, scale: int = 1, seed: int = 2025) -> Path:
    """Write scenario.toml, sales.csv and bank.csv into ``folder``; return the TOML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sales, bank = national_frames(scale, seed)
    sales.to_csv(folder / "sales.csv", index=False)
    bank.to_csv(folder / "bank.csv", index=False, float_format="%.1f")
    states = ", ".join(f'"{s}"' for s in STATES)
    toml = (f'# Generated by benchmarks/national.py (scale {scale}, seed {seed}); synthetic, not real plans.\n'
            f'name = "{scenario_name(scale)}"\n'
            'rules = "act-2025"\n'
            'sales = "sales.csv"\n'
            'bank = "bank.csv"\n'
            f'model_years = [{FIRST_SIMULATED_YEAR}, {LAST_YEAR}]\n'
            f'states = [{states}]\n'
            'pooling = true\n'
            'retirement = "optimal"\n')
    path = folder / "scenario.toml"
    path.write_text(toml)
    return path


def describe(sales: pd.DataFrame, bank: pd.DataFrame) -> str:
    """A few plausibility figures of the generated tables."""
    by = sales.groupby(["state", "model_year"])["vehicles"].sum()
    zev = sales[sales["powertrain"] == "ZEV"].groupby("model_year")["vehicles"].sum()
    tot = sales.groupby("model_year")["vehicles"].sum()
    lines = [f"rows: {len(sales)} sales, {len(bank)} bank; manufacturers: {sales['manufacturer'].nunique()}",
             f"CA vehicles MY2024: {int(by.loc[('CA', 2024)]):,}; all states MY2024: {int(tot.loc[2024]):,}",
             "ZEV share of sales: " + ", ".join(f"{y}: {zev.get(y, 0) / tot[y]:.1%}" for y in (2021, 2024, 2027,
                                                                                          2030, 2035, 2040))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scale", type=int, default=1, help="k: 15 k manufacturers (default 1)")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--out", help="folder to write scenario.toml, sales.csv and bank.csv into")
    a = p.parse_args(argv)
    sales, bank = national_frames(a.scale, a.seed)
    print(describe(sales, bank))
    if a.out:
        print(f"wrote {write_national(a.out, a.scale, a.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
