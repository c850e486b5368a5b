"""Generate the bundled default scenario: 11 ACT states, 10 illustrative manufacturers, MY2021-2035.

Run from the repository root: ``python scenarios/default/generate.py``. Deterministic: it rewrites
sales.csv and trades.csv byte for byte. Every calibration figure and assumption is listed in
scenarios/README.md; the constants below carry the same labels. The manufacturers are
illustrative, not real firms' plans.
"""
from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEARS = range(2021, 2036)
CLASSES = ("2b-3", "4-5", "6-7", "8", "tractor")

# California Class 2b-8 sales. MY2024: 131,552 (CARB ACT data via WSTA). MY2022 ~101,853 and MY2023
# ~110,838 are derived from CARB's ZEV counts and shares (market data §1.2). MY2021 and growth after
# MY2024 (1 % a year) are assumptions.
CA_TOTAL = {2021: 98_000, 2022: 101_853, 2023: 110_838, 2024: 131_552}
GROWTH_AFTER_2024 = 0.01
# California ZEV sales: MY2021 809 (derived), MY2022 7,639, MY2023 18,473, MY2024 30,026 (CARB).
CA_ZEV = {2021: 809, 2022: 7_639, 2023: 18_473, 2024: 30_026}
# MY2024: 28,139 ZEVs at or under 14,000 lb; 1,465 over 14,000 lb excluding Class 7-8; 422 Class 7-8
# (market data §1.2, derived). The 422 are split 330 tractors / 92 Class 8 non-tractors (assumption).
CA_ZEV_2024_BY_CLASS = {"2b-3": 28_139, "4-5": 900, "6-7": 565, "8": 92, "tractor": 330}
# Weight-class split of all sales (assumption; tractors ~ 9 %, consistent with ~12,700 Class 7-8 in 2023).
CLASS_SHARE = {"2b-3": 0.70, "4-5": 0.09, "6-7": 0.08, "8": 0.04, "tractor": 0.09}
# The other ten ACT states together sell about as many as California: the 11 states are ~27 % of the
# US MHDV market (CALSTART) and 27 % of 978,748 US registrations is ~264,000, about twice California.
OTHER_STATES = {"NY": 0.22, "NJ": 0.15, "WA": 0.13, "CO": 0.11, "MA": 0.10, "MD": 0.10, "OR": 0.08,
                "NM": 0.05, "VT": 0.03, "RI": 0.03}
OTHER_STATES_TOTAL_VS_CA = 1.0
# ZEV uptake outside California relative to California's share (WA: "nearly 20 %" of 2024 sales vs CA 23 %).
OTHER_STATE_ZEV_FACTOR = {"WA": 0.85, "OR": 0.7, "NY": 0.6, "NJ": 0.6, "MA": 0.6, "CO": 0.6, "MD": 0.5,
                          "VT": 0.5, "NM": 0.4, "RI": 0.5}
# States whose MY2024 ZEV share is calibrated to their factor x California's MY2024 share, class by class:
# WA Ecology, 16 Oct 2025: "In 2024, nearly 20% of new medium- and heavy-duty vehicles sold in Washington
# ran on zero-emission technology" (0.85 x 22.8 % = 19.4 %).
CALIBRATED_2024 = ("WA",)

# Manufacturers: share of each class's sales, and ZEV ambition per group relative to the ACT
# requirement (1.0 = exactly the Table A-1 share; ZEV-only makers: None). Illustrative.
MAKERS = {
    "Northwind Vans":   {"share": {"2b-3": 0.165}, "zev_only": True},
    "Granite Motors":   {"share": {"2b-3": 0.34, "4-5": 0.20, "6-7": 0.05}, "ambition": {"2b-3": 1.05, "4-8": 0.9}},
    "Summit Auto":      {"share": {"2b-3": 0.30, "4-5": 0.15, "6-7": 0.05}, "ambition": {"2b-3": 0.95, "4-8": 0.9},
                         "nzev": {"4-5": (0.03, 40)}},
    "Cascade Utility":  {"share": {"2b-3": 0.24, "4-5": 0.35, "6-7": 0.20, "8": 0.05}, "ambition": {"2b-3": 0.9, "4-8": 0.85},
                         "nzev": {"6-7": (0.04, 60)}},
    "Keystone Trucks":  {"share": {"4-5": 0.05, "6-7": 0.20, "8": 0.30, "tractor": 0.28},
                         "ambition": {"4-8": 1.1, "tractor": 0.75}},
    "Ridgeline Freight": {"share": {"4-5": 0.10, "6-7": 0.25, "8": 0.30, "tractor": 0.36},
                          "ambition": {"4-8": 1.2, "tractor": 0.85}, "nzev": {"8": (0.02, 80)}},
    "Fjord Heavy":      {"share": {"6-7": 0.05, "8": 0.15, "tractor": 0.20}, "ambition": {"4-8": 0.9, "tractor": 0.8}},
    "Prairie Works":    {"share": {"4-5": 0.15, "6-7": 0.20, "8": 0.20, "tractor": 0.12},
                         "ambition": {"4-8": 0.85, "tractor": 0.6}},
    "Harbor Electric":  {"share": {"6-7": 0.0, "8": 0.0, "tractor": 0.0}, "zev_only": True, "zev_units": True},
    "Volta Haul":       {"share": {"tractor": 0.0}, "zev_only": True, "zev_units": True},
}
# A ZEV-only van maker's share of Class 2b-3 sales ramps up as the leading one did (11,182 of California's
# MY2023 ZEVs, 60.5 %: TPS, June 2024); by year, then constant (assumption).
NORTHWIND_RAMP = {2021: 0.0, 2022: 0.055, 2023: 0.14}
# MY2023 California ZEV tractors by maker, as CARB reported them for six real OEMs (354 in all; TPS, June
# 2024), given here to six illustrative makers in the same order: 76, 73, 68, 58, 44, 35.
CA_TRACTOR_ZEV_2023 = {"Keystone Trucks": 76, "Ridgeline Freight": 73, "Harbor Electric": 68, "Volta Haul": 58,
                       "Fjord Heavy": 44, "Prairie Works": 35}
# ZEV-only makers of heavy vehicles (buses, tractors): California units per year (assumption), growing 15 %/yr.
ZEV_UNITS_2024 = {"Harbor Electric": {"6-7": 120, "8": 60, "tractor": 80}, "Volta Haul": {"tractor": 150}}
# Table A-1 (13 CCR §1963.1(b)), to set ambitions relative to the requirement; before 2024 the 2024 row.
REQ = {"2b-3": [5, 7, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55], "4-8": [9, 11, 13, 20, 30, 40, 50, 55, 60, 65, 70, 75],
       "tractor": [5, 7, 10, 15, 20, 25, 30, 35, 40, 40, 40, 40]}
GROUP = {"2b-3": "2b-3", "4-5": "4-8", "6-7": "4-8", "8": "4-8", "tractor": "tractor"}
# Trades declared in the default: a ZEV-only van maker sells credits (illustrative).
TRADES = [("Northwind Vans", "Summit Auto", "CA", 2024, "2b-3", "ZEV", "1500.0", 2026),
          ("Northwind Vans", "Cascade Utility", "CA", 2025, "2b-3", "ZEV", "2500.0", 2027),
          ("Northwind Vans", "Cascade Utility", "NY", 2026, "2b-3", "ZEV", "800.0", 2027),
          ("Harbor Electric", "Keystone Trucks", "CA", 2025, "tractor", "ZEV", "200.0", 2026),
          ("Volta Haul", "Prairie Works", "CA", 2025, "tractor", "ZEV", "150.0", 2027)]


def apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder, ties by name)."""
    s = sum(weights.values())
    if total <= 0 or s <= 0:
        return {k: 0 for k in weights}
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def requirement(group: str, year: int) -> float:
    return REQ[group][min(max(year, 2024), 2035) - 2024] / 100


def ca_total(year: int) -> int:
    if year in CA_TOTAL:
        return CA_TOTAL[year]
    return round(CA_TOTAL[2024] * (1 + GROWTH_AFTER_2024) ** (year - 2024))


def zev_units(maker: str, wc: str, year: int, scale: float) -> int:
    """Units of a ZEV-only heavy maker: none before MY2023; California's MY2023 tractors as CARB reported."""
    if year == 2023 and wc == "tractor" and scale == 1.0:
        return CA_TRACTOR_ZEV_2023.get(maker, 0)
    base = ZEV_UNITS_2024.get(maker, {}).get(wc, 0)
    return round(base * scale * 1.15 ** (year - 2024)) if year >= 2023 else 0


def state_sales(state: str, year: int) -> list[tuple]:
    """Rows (maker, state, year, class, powertrain, aer, vehicles) for one state and model year."""
    scale = 1.0 if state == "CA" else OTHER_STATES_TOTAL_VS_CA * OTHER_STATES[state]
    zev_factor = 1.0 if state == "CA" else OTHER_STATE_ZEV_FACTOR[state]
    total = round(ca_total(year) * scale)
    rows = []
    by_class = apportion(total, CLASS_SHARE)
    for wc in CLASSES:
        fixed = {m: zev_units(m, wc, year, scale) for m, spec in MAKERS.items() if spec.get("zev_units")}
        rest = by_class[wc] - sum(fixed.values())
        volumes = {**fixed, **apportion(rest, {m: _share(m, wc, year) for m, spec in MAKERS.items()
                                               if not spec.get("zev_units")})}
        zevs = {m: _zevs(m, wc, year, v, zev_factor) for m, v in volumes.items()}
        if state == "CA" and year in CA_ZEV:
            zevs = _calibrate_ca(wc, year, volumes, zevs)
        elif state in CALIBRATED_2024 and year == 2024:
            zevs = _scale_to(_share_of_ca_2024(wc, zev_factor, by_class[wc]), volumes, zevs)
        for m in sorted(volumes):
            v, z = volumes[m], zevs[m]
            nz_share, aer = MAKERS[m].get("nzev", {}).get(wc, (0, 0))
            nz = min(round(v * nz_share * min(1.0, (year - 2021) / 4)), v - z)
            for pt, n, a in (("ICE", v - z - nz, ""), ("ZEV", z, ""), ("NZEV", nz, aer)):
                if n > 0:
                    rows.append((m, state, year, wc, pt, a, n))
    return rows


def _share(maker: str, wc: str, year: int) -> float:
    if maker == "Northwind Vans" and wc == "2b-3":
        return NORTHWIND_RAMP.get(year, MAKERS[maker]["share"]["2b-3"])
    return MAKERS[maker]["share"].get(wc, 0)


#: California MY2024 ZEV share per maker and class, after calibration: a floor for later years (makers do
#: not fall back below what they sold in 2024). Filled by main().
FLOOR: dict[tuple[str, str], float] = {}


def _zevs(maker: str, wc: str, year: int, volume: int, zev_factor: float) -> int:
    spec = MAKERS[maker]
    if spec.get("zev_only"):
        return volume
    amb = spec["ambition"].get(GROUP[wc], 0.5)
    ramp = min(1.0, max(0.25, (year - 2020) / 4))  # early years below the later path
    local = zev_factor if year < 2030 else (1 + zev_factor) / 2  # other states catch up from MY2030
    share = max(requirement(GROUP[wc], year) * amb * ramp, FLOOR.get((maker, wc), 0) if year > 2024 else 0)
    return min(volume, round(volume * share * local))


def _calibrate_ca(wc: str, year: int, volumes: dict[str, int], zevs: dict[str, int]) -> dict[str, int]:
    """Scale California's ZEVs of one class to CARB's published totals (MY2021-2024)."""
    if year == 2023 and wc == "tractor":
        return {m: CA_TRACTOR_ZEV_2023.get(m, 0) for m in volumes}
    if year == 2024:
        target = CA_ZEV_2024_BY_CLASS[wc]
    else:  # MY2021-2023: CARB's total, split by class as in 2024 (tractors 2023: the OEM split above)
        others = {k: v for k, v in CA_ZEV_2024_BY_CLASS.items() if not (year == 2023 and k == "tractor")}
        total = CA_ZEV[year] - (sum(CA_TRACTOR_ZEV_2023.values()) if year == 2023 else 0)
        target = apportion(total, others).get(wc, 0)
    return _scale_to(target, volumes, zevs)


def _share_of_ca_2024(wc: str, zev_factor: float, volume: int) -> int:
    """ZEVs of one class that give ``zev_factor`` x California's calibrated MY2024 ZEV share of that class."""
    ca_share = CA_ZEV_2024_BY_CLASS[wc] / apportion(CA_TOTAL[2024], CLASS_SHARE)[wc]
    return round(volume * ca_share * zev_factor)


def _scale_to(target: int, volumes: dict[str, int], zevs: dict[str, int]) -> dict[str, int]:
    """The makers' ZEVs of one class scaled to ``target`` (ZEV-only makers keep theirs)."""
    fixed = {m: z for m, z in zevs.items() if MAKERS[m].get("zev_only")}
    flexible = apportion(max(target - sum(fixed.values()), 0),
                         {m: max(z, 1) * 1.0 for m, z in zevs.items() if m not in fixed and volumes[m] > 0})
    return {m: min(volumes[m], fixed.get(m, flexible.get(m, 0))) for m in volumes}


def main() -> None:
    for m, _, _, wc, pt, _, n in state_sales("CA", 2024):
        FLOOR[(m, wc)] = FLOOR.get((m, wc), 0) + (n if pt == "ZEV" else 0)
    totals = {}
    for m, _, _, wc, _, _, n in state_sales("CA", 2024):
        totals[(m, wc)] = totals.get((m, wc), 0) + n
    for key in list(FLOOR):
        FLOOR[key] = FLOOR[key] / totals[key] if totals[key] else 0
    rows = [r for y in YEARS for s in ["CA", *sorted(OTHER_STATES)] for r in state_sales(s, y)]
    with open(HERE / "sales.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles"])
        w.writerows(rows)
    with open(HERE / "trades.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["seller", "buyer", "state", "vintage", "group", "credit_type", "credits", "model_year"])
        w.writerows(TRADES)


if __name__ == "__main__":
    main()
