"""A supplier's credits and deficits by quarter, the crop-oil cap and the volumes-table checks.

Energies: renewable diesel 129.65, biodiesel 126.13, diesel 134.47 MJ/gal. 2028 diesel benchmark
77.10; soybean RD 53.86, UCO RD 20.28, UCO biodiesel 18.12, fossil diesel 105.76 gCO2e/MJ.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from act_pool.errors import InputError
from act_pool.lcfs import pool_credits, read_volumes
from act_pool.lcfs.pool import QUARTER_COLUMNS, ROW_COLUMNS

HEADER = "year,quarter,fuel,feedstock,quantity,unit,ci\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "volumes.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_credits_and_deficits_by_quarter(tmp_path, rules):
    path = write(tmp_path, "2026,1,diesel,,1000,gal,\n2026,1,renewable-diesel,used-cooking-oil,1000,gal,\n"
                           "2026,2,electricity,,1000,kWh,0\n")
    res = pool_credits(path, rules)
    assert list(res.rows.columns) == ROW_COLUMNS and list(res.quarters.columns) == QUARTER_COLUMNS
    # diesel: (80.17 - 105.76) x 134470 MJ x 1e-6 = -3.4410873 -> -3.441087
    # RD UCO: (80.17 - 20.28) x 129650 MJ x 1e-6 = 7.7647385 -> 7.764739 (rounded to 6 decimals)
    assert res.rows["credits_t"].tolist() == [-3.441087, 7.764739, 1.44306]
    q1, q2 = res.quarters.iloc[0], res.quarters.iloc[1]
    assert (q1["credits_t"], q1["deficits_t"]) == (7.764739, 3.441087)
    assert q1["net_t"] == pytest.approx(4.323651, abs=1e-6)
    assert (q2["year"], q2["quarter"], q2["net_t"]) == (2026, 2, 1.44306)


def test_2025_quarters_use_the_values_in_force(tmp_path, rules):
    res = pool_credits(write(tmp_path, "2025,2,diesel,,1000,gal,\n2025,3,diesel,,1000,gal,\n"), rules)
    # Q2: (86.64 - 100.45) x 0.13447 = -1.8570307; Q3: (81.70 - 105.76) x 0.13447 = -3.2353482
    assert res.rows["benchmark"].tolist() == [86.64, 81.70]
    assert res.quarters["deficits_t"].tolist() == [1.857031, 3.235348]


# --- the crop-oil cap ---------------------------------------------------------------------------

SOY_CREDIT_200 = (77.10 - 53.86) * 200 * 129.65 / 1e6  # 23.24 x 25930 MJ = 0.6026132 t


def test_crop_oil_at_exactly_20_percent_is_within_the_cap(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,200,gal,\n"
                           "2028,1,renewable-diesel,used-cooking-oil,800,gal,\n")
    res = pool_credits(path, rules)
    soy = res.rows.iloc[0]
    assert soy["crop_oil"] and soy["excess_share"] == 0.0
    assert soy["credits_t"] == pytest.approx(SOY_CREDIT_200, abs=1e-6)
    q = res.quarters.iloc[0]
    assert (q["crop_oil_share"], q["cap_excess_amount"], q["cap_credits_forgone_t"]) == (0.2, 0.0, 0.0)


def test_crop_oil_just_past_20_percent_loses_the_excess(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,201,gal,\n"
                           "2028,1,renewable-diesel,used-cooking-oil,799,gal,\n")
    res = pool_credits(path, rules)
    soy = res.rows.iloc[0]
    # cap = 0.20 x 1000 gal = 200 gal; excess 1 gal of 201 (share 1/201) earns at the benchmark: 0.
    assert soy["excess_share"] == pytest.approx(1 / 201, abs=1e-6)
    assert soy["excess_ci"] == 77.10
    assert soy["credits_t"] == pytest.approx(SOY_CREDIT_200, abs=1e-6)
    q = res.quarters.iloc[0]
    assert q["cap_excess_amount"] == pytest.approx(1.0)
    # forgone: 1 gal x 129.65 MJ x (77.10 - 53.86) x 1e-6 = 0.0030131
    assert q["cap_credits_forgone_t"] == pytest.approx(0.003013, abs=1e-6)


def test_excess_at_the_fossil_diesel_ci_makes_deficits(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,201,gal,\n"
                           "2028,1,renewable-diesel,used-cooking-oil,799,gal,\n")
    res = pool_credits(path, rules, excess_ci="diesel")
    soy = res.rows.iloc[0]
    # excess 1 gal at 105.76: (77.10 - 105.76) x 129.65e-6 = -0.0037158; 0.6026132 - 0.0037158 = 0.5988974
    assert soy["excess_ci"] == 105.76
    assert soy["credits_t"] == pytest.approx(0.598897, abs=1e-6)


def test_no_cap_before_2028(tmp_path, rules):
    res = pool_credits(write(tmp_path, "2027,4,renewable-diesel,soybean,1000,gal,\n"), rules)
    assert res.rows.loc[0, "excess_share"] == 0.0
    assert res.quarters.loc[0, "crop_oil_share"] == 1.0


def test_cap_basis_quarter_or_year(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,used-cooking-oil,1000,gal,\n"
                           "2028,2,renewable-diesel,soybean,400,gal,\n"
                           "2028,2,renewable-diesel,used-cooking-oil,600,gal,\n")
    by_quarter = pool_credits(path, rules, basis="quarter")
    by_year = pool_credits(path, rules, basis="year")
    # Q2 alone: 400 of 1000 gal is 40 %: 200 gal over the cap, half the soybean volume.
    assert by_quarter.rows.loc[1, "excess_share"] == 0.5
    # The year: 400 of 2000 gal is exactly 20 %: within the cap.
    assert by_year.rows.loc[1, "excess_share"] == 0.0
    assert by_year.options["basis"] == "year"


def test_cap_measured_by_volume_or_energy(tmp_path, rules):
    # 200 gal soybean RD + 800 gal UCO biodiesel: 20 % by volume exactly; by energy
    # 25930 / (25930 + 100904) = 20.44 %: over the cap.
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,200,gal,\n2028,1,biodiesel,used-cooking-oil,800,gal,\n")
    assert pool_credits(path, rules, measure="volume").rows.loc[0, "excess_share"] == 0.0
    energy = pool_credits(path, rules, measure="energy")
    # excess = 25930 - 0.2 x 126834 = 563.2 MJ of 25930: share 0.0217200
    assert energy.rows.loc[0, "excess_share"] == pytest.approx(563.2 / 25930, abs=1e-6)
    assert energy.quarters.loc[0, "cap_unit"] == "MJ"


def test_quantities_in_mj_count_toward_the_cap(tmp_path, rules):
    # 201 gal soybean RD given as 201 x 129.65 = 26059.65 MJ; 799 gal UCO RD in gallons.
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,26059.65,MJ,\n"
                           "2028,1,renewable-diesel,used-cooking-oil,799,gal,\n")
    res = pool_credits(path, rules)
    assert res.quarters.loc[0, "crop_oil_amount"] == pytest.approx(201.0)
    assert res.rows.loc[0, "credits_t"] == pytest.approx(SOY_CREDIT_200, abs=1e-6)


def test_bad_options_are_input_errors(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,soybean,1,gal,\n")
    for kwargs in (dict(basis="month"), dict(excess_ci="zero"), dict(measure="mass")):
        with pytest.raises(InputError) as exc:
            pool_credits(path, rules, **kwargs)
        assert exc.value.problems[0].field == next(iter(kwargs))


# --- acceleration --------------------------------------------------------------------------------

def test_acceleration_shifts_the_benchmarks(tmp_path, rules):
    path = write(tmp_path, "2028,1,renewable-diesel,used-cooking-oil,1000,gal,\n"
                           "2028,2,renewable-diesel,used-cooking-oil,1000,gal,\n")
    res = pool_credits(path, rules, announcements=["2027Q2"])
    # Q1: (77.10 - 20.28) x 0.12965 = 7.366713; Q2 reads 2029: (75.57 - 20.28) x 0.12965 = 7.1683485
    assert res.rows["benchmark"].tolist() == [77.10, 75.57]
    assert res.rows["credits_t"].tolist() == [pytest.approx(7.366713), pytest.approx(7.168349, abs=1e-6)]
    assert res.options["announcements"] == ["2027Q2"]


# --- validation ------------------------------------------------------------------------------------

def test_every_bad_row_is_reported_with_file_row_and_field(tmp_path, rules):
    path = write(tmp_path, "2026,1,kerosene,,10,gal,\n"        # row 1: unknown fuel
                           "2026,1,diesel,,-5,gal,\n"          # row 2: negative quantity
                           "2025,,diesel,,10,gal,\n"           # row 3: 2025 without quarter
                           "2026,1,diesel,,10,gal,\n"          # row 4: fine
                           "2026,1,hydrogen,,ten,kg,\n"        # row 5: not a number
                           "2026,,diesel,,10,kWh,\n")          # row 6: no quarter, wrong unit
    with pytest.raises(InputError) as exc:
        pool_credits(path, rules)
    got = {(p.row, p.field) for p in exc.value.problems}
    assert got == {(1, "fuel"), (2, "quantity"), (3, "quarter"), (5, "quantity"), (6, "quarter"), (6, "unit")}
    assert all(p.file == str(path) for p in exc.value.problems)
    by = {(p.row, p.field): p.message for p in exc.value.problems}
    assert "2025" in by[(3, "quarter")] and "kerosene" in by[(1, "fuel")] and ">= 0" in by[(2, "quantity")]


def test_missing_and_unknown_columns(tmp_path, rules):
    path = write(tmp_path, "2026,1,diesel,10\n", header="year,quarter,fuel,quantiy\n")
    with pytest.raises(InputError) as exc:
        read_volumes(path, rules)
    got = {(p.row, p.field) for p in exc.value.problems}
    assert got == {(None, "quantity"), (None, "unit"), (None, "quantiy")}


def test_no_data_rows(tmp_path, rules):
    with pytest.raises(InputError) as exc:
        read_volumes(write(tmp_path, ""), rules)
    assert "no data rows" in exc.value.problems[0].message


def test_unreadable_file(tmp_path, rules):
    with pytest.raises(InputError) as exc:
        read_volumes(tmp_path / "missing.csv", rules)
    assert exc.value.problems[0].file.endswith("missing.csv")


def test_optional_columns_may_be_absent_and_case_is_forgiven(tmp_path, rules):
    path = write(tmp_path, "2026,1,Electricity,1000,KWH\n", header="year,quarter,fuel,quantity,unit\n")
    res = pool_credits(path, rules)
    assert (res.rows.loc[0, "fuel"], res.rows.loc[0, "unit"]) == ("electricity", "kWh")


def test_a_dataframe_input(rules):
    df = pd.DataFrame({"year": [2026], "quarter": [1], "fuel": ["electricity"], "quantity": [1000.0],
                       "unit": ["kWh"], "ci": [0.0], "vehicle": ["heavy-duty"]})
    assert pool_credits(df, rules).rows.loc[0, "credits_t"] == 1.44306
    with pytest.raises(InputError) as exc:
        pool_credits(df.assign(quantity=[-1.0]), rules, source="frame")
    assert [(p.file, p.row, p.field) for p in exc.value.problems] == [("frame", 1, "quantity")]
