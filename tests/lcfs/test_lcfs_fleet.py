"""LCFS value of an ACT scenario's California ZEV trucks, with values worked by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from act_pool.errors import InputError
from act_pool.lcfs import fleet_by_year, fleet_value
from act_pool.lcfs.fleet import FLEET_COLUMNS

from .conftest import sales_table

# One cohort of 10 CA ZEV tractors of MY2026, plus rows that must not count.
SALES = sales_table([
    ("A", "CA", 2026, "tractor", "ZEV", 10),
    ("A", "CA", 2026, "tractor", "ICE", 500),   # not a ZEV
    ("A", "OR", 2026, "tractor", "ZEV", 40),    # not California
    ("A", "CA", 2026, "8", "NZEV", 7),          # an NZEV is not a ZEV
])
# Explicit inputs so the expected values hold whatever the defaults become.
EXPLICIT = dict(annual_energy_kwh={"tractor": 100_000}, survival=[1.0, 0.5], grid_ci=0, price_path=100,
                years=(2026, 2028))


def test_hand_worked_cohort(rules):
    t = fleet_value(SALES, rules, **EXPLICIT)
    assert list(t.columns) == FLEET_COLUMNS
    assert t["calendar_year"].tolist() == [2026, 2027]  # survival ends after age 1
    y26, y27 = t.iloc[0], t.iloc[1]
    # 2026: 10 trucks x 100,000 kWh = 1,000 MWh = 3.6e6 MJ; 80.17 x 5 x 3.6 = 1443.06 t; x $100 = $144,306
    assert (y26["vehicles_in_service"], y26["energy_mwh"], y26["benchmark"], y26["eer"]) == (10, 1000, 80.17, 5)
    assert y26["credits_t"] == pytest.approx(1443.06) and y26["value_usd"] == pytest.approx(144306.0)
    # 2027: 5 trucks, 500 MWh = 1.8e6 MJ; 78.63 x 5 x 1.8 = 707.67 t; $70,767
    assert (y27["age"], y27["vehicles_in_service"], y27["energy_mwh"]) == (1, 5, 500)
    assert y27["credits_t"] == pytest.approx(707.67) and y27["value_usd"] == pytest.approx(70767.0)


def test_2025_is_valued_quarter_by_quarter(rules):
    sales = sales_table([("A", "CA", 2025, "tractor", "ZEV", 10)])
    t = fleet_value(sales, rules, **{**EXPLICIT, "years": (2025, 2025)})
    # Quarters carry equal energy: mean benchmark (86.64 + 86.64 + 81.70 + 81.70) / 4 = 84.17;
    # 84.17 x 5 x 3.6e6 MJ x 1e-6 = 1515.06 t
    assert t.loc[0, "benchmark"] == pytest.approx(84.17)
    assert t.loc[0, "credits_t"] == pytest.approx(1515.06)


def test_class_2b3_uses_the_light_medium_duty_column(rules):
    sales = sales_table([("B", "CA", 2026, "2b-3", "ZEV", 100)])
    t = fleet_value(sales, rules, annual_energy_kwh={"2b-3": 10_000}, grid_ci=0, price_path=100,
                    years=(2026, 2026))
    # 100 vans x 10,000 kWh = 3.6e6 MJ; vs gasoline 75.16 x EER 3.4 = 255.544; x 3.6 = 919.9584 t
    assert (t.loc[0, "application"], t.loc[0, "eer"], t.loc[0, "benchmark"]) == ("light-medium-duty", 3.4, 75.16)
    assert t.loc[0, "credits_t"] == pytest.approx(919.9584)


def test_grid_ci_reduces_credits(rules):
    t = fleet_value(SALES, rules, **{**EXPLICIT, "grid_ci": {2026: 65.07}, "years": (2026, 2026)})
    # (400.85 - 65.07) x 3.6 = 1208.808 t
    assert t.loc[0, "ci"] == 65.07 and t.loc[0, "credits_t"] == pytest.approx(1208.808)


def test_acceleration_raises_nothing_before_it_takes_effect_and_lowers_after(rules):
    base = fleet_value(SALES, rules, **{**EXPLICIT, "survival": [1.0] * 5, "years": (2026, 2029)})
    fast = fleet_value(SALES, rules, **{**EXPLICIT, "survival": [1.0] * 5, "years": (2026, 2029)},
                       announcements=["2027Q2"])
    assert fast.loc[:1, "credits_t"].tolist() == base.loc[:1, "credits_t"].tolist()  # 2026, 2027 unchanged
    # 2028: Q1 77.10, Q2-Q4 the 2029 row 75.57: mean (77.10 + 3 x 75.57) / 4 = 75.9525;
    # 75.9525 x 5 x 3.6 = 1367.145 t (1387.8 without)
    assert fast.loc[2, "benchmark"] == pytest.approx(75.9525)
    assert fast.loc[2, "credits_t"] == pytest.approx(1367.145)
    assert base.loc[2, "credits_t"] == pytest.approx(1387.8)
    # 2029 reads the 2030 row all year: 74.03 x 5 x 3.6 = 1332.54
    assert fast.loc[3, "credits_t"] == pytest.approx(1332.54)


def test_defaults_come_from_the_rule_set(rules):
    t = fleet_value(SALES, rules)
    first, last = int(rules.value("fleet.first_year")), int(rules.value("fleet.last_year"))
    assert t["calendar_year"].min() == 2026 and t["calendar_year"].max() <= last and first <= 2026
    row = t.iloc[0]
    assert row["energy_mwh"] == pytest.approx(10 * float(rules.value("fleet.annual_energy_kwh.tractor")) / 1000)
    assert row["ci"] == 65.07 and row["price_usd_per_t"] == 60.0


def test_named_price_paths(rules):
    low = fleet_value(SALES, rules, "low", years=(2026, 2026))
    high = fleet_value(SALES, rules, "high", years=(2026, 2026))
    assert (low.loc[0, "price_usd_per_t"], high.loc[0, "price_usd_per_t"]) == (40.0, 125.0)
    with pytest.raises(InputError) as exc:
        fleet_value(SALES, rules, "sky-high")
    assert exc.value.problems[0].field == "price_path"


def test_by_manufacturer_and_by_year(rules):
    sales = sales_table([("A", "CA", 2026, "tractor", "ZEV", 10), ("B", "CA", 2026, "tractor", "ZEV", 30)])
    t = fleet_value(sales, rules, **EXPLICIT, by_manufacturer=True)
    assert t[t["calendar_year"] == 2026]["manufacturer"].tolist() == ["A", "B"]
    y = fleet_by_year(t)
    # 40 trucks in 2026: 4 x 1443.06 = 5772.24 t
    assert y["calendar_year"].tolist() == [2026, 2027]
    assert y.loc[0, "credits_t"] == pytest.approx(5772.24) and y.loc[0, "vehicles_in_service"] == 40


def test_no_california_zevs_gives_an_empty_table(rules):
    sales = sales_table([("A", "OR", 2026, "tractor", "ZEV", 10)])
    t = fleet_value(sales, rules)
    assert t.empty and list(t.columns) == FLEET_COLUMNS
    assert fleet_by_year(t).empty


def test_bad_sales_rows_name_row_and_field(rules):
    sales = sales_table([
        ("A", "CA", 2026, "tractor", "ZEV", 10),
        ("A", "CA", 2026, "bus", "ZEV", 10),
        ("A", "CA", 2026, "8", "ZEV", -3),
        ("A", "OR", 2026, "bus", "ZEV", 10),  # not counted, so not checked here
    ])
    with pytest.raises(InputError) as exc:
        fleet_value(sales, rules, source="sales.csv")
    got = {(p.file, p.row, p.field) for p in exc.value.problems}
    assert got == {("sales.csv", 2, "weight_class"), ("sales.csv", 3, "vehicles")}


def test_missing_column(rules):
    with pytest.raises(InputError) as exc:
        fleet_value(SALES.drop(columns=["powertrain"]), rules)
    assert exc.value.problems[0].field == "powertrain"


def test_bad_options(rules):
    with pytest.raises(InputError):
        fleet_value(SALES, rules, annual_energy_kwh={"bus": 1})
    with pytest.raises(InputError):
        fleet_value(SALES, rules, survival=[1.2])
    with pytest.raises(InputError):
        fleet_value(SALES, rules, announcements=["2026Q1"])


def test_series_inputs(rules):
    t = fleet_value(SALES, rules, price_path=pd.Series({2026: 10.0, 2027: 20.0}),
                    grid_ci=pd.Series({2020: 0.0}), annual_energy_kwh={"tractor": 100_000},
                    survival=[1.0, 1.0], years=(2026, 2027))
    assert t["price_usd_per_t"].tolist() == [10.0, 20.0]
    assert t.loc[0, "value_usd"] == pytest.approx(14430.6)
