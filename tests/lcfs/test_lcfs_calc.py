"""Credits of one quantity of fuel (17 CCR §95486.1(a)), with values worked by hand.

credits_t = (benchmark x EER - CI) x energy_MJ x 1e-6; energies from Table 4:
3.6 MJ/kWh, 120 MJ/kg, diesel 134.47, gasoline 119.53, renewable diesel 129.65, biodiesel 126.13 MJ/gal.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from act_pool.errors import InputError
from act_pool.lcfs import (application, benchmark, calculate, credits, default_ci, energy_mj,
                           load_lcfs_rules, parse_announcements)
from act_pool.lcfs.calc import aam_shift, quantity_from_mj, quarter_required

RULES = load_lcfs_rules()


def fields(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {p.field: p.message for p in exc.value.problems}


# --- hand-worked cases -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, expected", [
    # 1000 kWh in a heavy-duty truck, 2026, CI 0: 3600 MJ; 80.17 x 5.0 = 400.85; 400.85 x 3600e-6 = 1.44306
    (dict(fuel="electricity", quantity=1000, unit="kWh", year=2026, ci=0), 1.44306),
    # same at the default grid CI 65.07: (400.85 - 65.07) x 0.0036 = 335.78 x 0.0036 = 1.208808
    (dict(fuel="electricity", quantity=1000, unit="kWh", year=2026), 1.208808),
    # light/medium-duty: vs gasoline 75.16 x EER 3.4 = 255.544; x 0.0036 = 0.9199584
    (dict(fuel="electricity", quantity=1000, unit="kWh", year=2026, ci=0, vehicle="light-medium-duty"), 0.9199584),
    # 100 kg hydrogen, FCEV truck: 12000 MJ; 80.17 x 1.9 = 152.323; - 117.67 = 34.653; x 0.012 = 0.415836
    (dict(fuel="hydrogen", quantity=100, unit="kg", year=2026), 0.415836),
    # 1000 gal fossil diesel: 134470 MJ; (80.17 - 105.76) = -25.59; x 0.13447 = -3.4410873 (deficits)
    (dict(fuel="diesel", quantity=1000, unit="gal", year=2026), -3.4410873),
    # 1000 gal gasoline: 119530 MJ; (75.16 - 100.8) = -25.64; x 0.11953 = -3.0647492
    (dict(fuel="gasoline", quantity=1000, unit="gal", year=2026), -3.0647492),
    # 1000 gal RD from used cooking oil: 129650 MJ; (80.17 - 20.28) = 59.89; x 0.12965 = 7.7647385
    (dict(fuel="renewable-diesel", quantity=1000, unit="gal", year=2026, feedstock="used-cooking-oil"), 7.7647385),
    # 1000 gal biodiesel, program-average CI 28: 126130 MJ; (80.17 - 28) = 52.17;
    # 52.17 x 0.12613 = 6.55876 + 0.0214421 = 6.5802021
    (dict(fuel="biodiesel", quantity=1000, unit="gal", year=2026), 6.5802021),
    # energy given in MJ: 1e6 MJ RD with certified CI 60 in 2030: (74.03 - 60) x 1 = 14.03
    (dict(fuel="renewable-diesel", quantity=1e6, unit="MJ", year=2030, ci=60), 14.03),
])
def test_hand_worked_credits(rules, kwargs, expected):
    assert calculate(rules, **kwargs).credits_t == pytest.approx(expected, abs=1e-9)


def test_result_carries_its_inputs(rules):
    r = calculate(rules, "electricity", 1000, "kWh", 2026, ci=0)
    assert (r.benchmark, r.eer, r.ci, r.energy_mj) == (80.17, 5.0, 0.0, 3600.0)
    assert (r.fuel, r.unit, r.year, r.quarter, r.vehicle, r.standard, r.ci_source) == (
        "electricity", "kWh", 2026, None, "heavy-duty", "diesel", "given")
    d = r.to_dict()
    assert d["credits_t"] == 1.44306 and set(d) >= {"credits_t", "benchmark", "eer", "ci", "energy_mj"}


def test_break_even_ci_gives_zero(rules):
    # Zero-credit CI = benchmark x EER; 2026 BEV truck: 80.17 x 5.0 = 400.85 (ref §1.1).
    assert calculate(rules, "electricity", 1000, "kWh", 2026, ci=400.85).credits_t == pytest.approx(0, abs=1e-12)


def test_credits_formula_is_vectorised():
    import numpy as np
    out = credits(np.array([80.17, 81.70]), 5.0, 0.0, np.array([3600.0, 3600.0]))
    assert out == pytest.approx([1.44306, 1.4706])


# --- 2025: split at 1 July ---------------------------------------------------------------------

def test_2025_q2_uses_pre_amendment_values(rules):
    r = calculate(rules, "diesel", 1000, "gal", 2025, quarter=2)
    # 86.64 benchmark, 100.45 CI: -13.81 x 0.13447 = -1.8570307
    assert (r.benchmark, r.ci) == (86.64, 100.45)
    assert r.credits_t == pytest.approx(-1.8570307, abs=1e-9)


def test_2025_q3_uses_amended_values(rules):
    r = calculate(rules, "diesel", 1000, "gal", 2025, quarter=3)
    # 81.70 benchmark, 105.76 CI: -24.06 x 0.13447 = -3.2353482
    assert (r.benchmark, r.ci) == (81.70, 105.76)
    assert r.credits_t == pytest.approx(-3.2353482, abs=1e-9)


@pytest.mark.parametrize("quarter, expected", [
    (1, 1.55952), (2, 1.55952),  # 86.64 x 5 = 433.2; x 0.0036
    (3, 1.4706), (4, 1.4706),    # 81.70 x 5 = 408.5; x 0.0036
])
def test_2025_truck_electricity_by_quarter(rules, quarter, expected):
    assert calculate(rules, "electricity", 1000, "kWh", 2025, quarter, ci=0).credits_t == pytest.approx(expected)


def test_2025_without_quarter_is_an_input_error(rules):
    with pytest.raises(InputError) as exc:
        calculate(rules, "electricity", 1000, "kWh", 2025, ci=0, source="cmd")
    (p,) = exc.value.problems
    assert (p.file, p.row, p.field) == ("cmd", None, "quarter")
    assert "2025" in p.message


def test_quarter_is_optional_outside_2025(rules):
    assert quarter_required(rules, 2024) is None and quarter_required(rules, 2026) is None
    assert calculate(rules, "diesel", 1, "gal", 2024).benchmark == 87.89  # pre-amendment 2024


# --- unit conversions (Table 4) ------------------------------------------------------------------

@pytest.mark.parametrize("fuel, unit, mj", [
    ("electricity", "kWh", 3.6), ("hydrogen", "kg", 120.0), ("diesel", "gal", 134.47),
    ("gasoline", "gal", 119.53), ("renewable-diesel", "gal", 129.65), ("biodiesel", "gal", 126.13),
    ("diesel", "MJ", 1.0),
])
def test_energy_of_one_unit(rules, fuel, unit, mj):
    assert energy_mj(rules, fuel, 1, unit) == pytest.approx(mj)
    assert quantity_from_mj(rules, fuel, mj, unit) == pytest.approx(1.0)


def test_a_fuel_in_a_foreign_unit_is_refused(rules):
    with pytest.raises(InputError) as exc:
        calculate(rules, "hydrogen", 10, "gal", 2026)
    assert "kg or MJ" in fields(exc)["unit"]


# --- Table 5 columns ---------------------------------------------------------------------------

def test_which_benchmark_each_fuel_meets(rules):
    assert application(rules, "electricity").standard == "diesel"
    assert application(rules, "electricity", "light-medium-duty").standard == "gasoline"
    assert application(rules, "hydrogen").eer == 1.9
    assert application(rules, "hydrogen", "light-medium-duty").eer == 2.5
    assert application(rules, "gasoline").standard == "gasoline"
    for fuel in ("diesel", "renewable-diesel", "biodiesel"):
        assert (application(rules, fuel).standard, application(rules, fuel).eer) == ("diesel", 1.0)


def test_a_liquid_fuel_keeps_its_column(rules):
    with pytest.raises(InputError) as exc:
        calculate(rules, "gasoline", 1, "gal", 2026, vehicle="heavy-duty")
    assert "light-medium-duty" in fields(exc)["vehicle"]


# --- default CIs ---------------------------------------------------------------------------------

def test_default_cis(rules):
    assert default_ci(rules, "electricity", 2020) == (82.92, "ci.electricity")
    assert default_ci(rules, "electricity", 2026, feedstock="zero-ci") == (0.0, "ci.electricity.zero-ci")
    assert default_ci(rules, "diesel", 2025, 2)[0] == 100.45
    assert default_ci(rules, "diesel", 2025, 3)[0] == 105.76
    assert default_ci(rules, "renewable-diesel", 2028, feedstock="soybean")[0] == 53.86


def test_no_default_ci_for_a_pathway_without_one(rules):
    with pytest.raises(InputError) as exc:
        calculate(rules, "renewable-diesel", 1, "gal", 2028, feedstock="canola")
    assert "certified CI" in fields(exc)["ci"]
    assert calculate(rules, "renewable-diesel", 1, "gal", 2028, feedstock="canola", ci=50).ci == 50.0


# --- bad input: every problem at once --------------------------------------------------------------

def test_every_problem_is_reported_together(rules):
    with pytest.raises(InputError) as exc:
        calculate(rules, "kerosene", -5, "gal", 2025, source="cmd")
    f = fields(exc)
    assert set(f) == {"fuel", "quantity", "quarter"}
    assert "unknown fuel 'kerosene'" in f["fuel"] and ">= 0" in f["quantity"]
    assert all(p.file == "cmd" for p in exc.value.problems)


@pytest.mark.parametrize("kwargs, field", [
    (dict(fuel="diesel", quantity=1, unit="gal", year=2026, quarter=5), "quarter"),
    (dict(fuel="diesel", quantity=1, unit="gal", year=2018), "year"),
    (dict(fuel="diesel", quantity=float("nan"), unit="gal", year=2026), "quantity"),
    (dict(fuel="diesel", quantity=1, unit="gal", year=2026, ci=float("inf")), "ci"),
    (dict(fuel="electricity", quantity=1, unit="kWh", year=2026, vehicle="bus"), "vehicle"),
    (dict(fuel="renewable-diesel", quantity=1, unit="gal", year=2026, feedstock="soybeen"), "feedstock"),
])
def test_bad_field(rules, kwargs, field):
    with pytest.raises(InputError) as exc:
        calculate(rules, **kwargs)
    assert field in fields(exc)


# --- Automatic Acceleration Mechanism -----------------------------------------------------------

def test_announcements_parse(rules):
    assert parse_announcements(["2027Q2", "2027-08-15", (2028, 1)], rules) == ((2027, 2), (2027, 3), (2028, 1))
    assert parse_announcements(None, rules) == ()  # off by default


@pytest.mark.parametrize("value", ["2027Q1", "2026-12-31", "2027Q5", "soon"])
def test_bad_announcements(rules, value):
    with pytest.raises(InputError) as exc:
        parse_announcements([value], rules, "cmd", "--aam")
    assert (exc.value.problems[0].file, exc.value.problems[0].field) == ("cmd", "--aam")


def test_repeated_announcement_is_refused(rules):
    with pytest.raises(InputError):
        parse_announcements(["2027Q2", "2027-05-15"], rules)


def test_acceleration_advances_the_benchmarks_four_quarters_later(rules):
    aam = parse_announcements(["2027Q2"], rules)
    # Announced 2027 Q2, effective 4 quarters later (2028 Q2): 2028 reads the 2029 row.
    assert [benchmark(rules, "diesel", 2027, q, aam) for q in (1, 2, 3, 4)] == [78.63] * 4
    assert benchmark(rules, "diesel", 2028, 1, aam) == 77.10
    assert [benchmark(rules, "diesel", 2028, q, aam) for q in (2, 3, 4)] == [75.57] * 3
    assert benchmark(rules, "gasoline", 2029, 1, aam) == 69.41  # the 2030 row
    # 1000 kWh truck, CI 0, 2028 Q2: 75.57 x 5 x 0.0036 = 1.36026 (1.3878 without the AAM)
    assert calculate(rules, "electricity", 1000, "kWh", 2028, 2, ci=0, announcements=aam).credits_t == \
        pytest.approx(1.36026)
    assert calculate(rules, "electricity", 1000, "kWh", 2028, 2, ci=0).credits_t == pytest.approx(1.3878)


def test_two_triggers_advance_two_years(rules):
    aam = parse_announcements(["2027Q2", "2027Q3"], rules)
    assert aam_shift(rules, aam, 2028, 3) == 2
    assert benchmark(rules, "diesel", 2028, 3, aam) == 74.03  # the 2030 row


def test_acceleration_stops_at_the_last_benchmark(rules):
    aam = parse_announcements(["2027Q2"], rules)
    assert benchmark(rules, "diesel", 2045, 1, aam) == 10.58


def test_quarter_required_where_the_acceleration_changes_mid_year(rules):
    aam = parse_announcements(["2027Q2"], rules)
    assert quarter_required(rules, 2028, aam) is not None
    assert quarter_required(rules, 2029, aam) is None
    with pytest.raises(InputError) as exc:
        calculate(rules, "diesel", 1, "gal", 2028, announcements=aam)
    assert "acceleration" in fields(exc)["quarter"]


# --- properties ----------------------------------------------------------------------------------

@given(a=st.floats(0, 1e7), b=st.floats(0, 1e7), year=st.integers(2026, 2045),
       ci=st.floats(-200, 300))
def test_credits_are_additive_in_quantity(a, b, year, ci):
    one = calculate(RULES, "electricity", a, "kWh", year, ci=ci).credits_t
    two = calculate(RULES, "electricity", b, "kWh", year, ci=ci).credits_t
    both = calculate(RULES, "electricity", a + b, "kWh", year, ci=ci).credits_t
    assert both == pytest.approx(one + two, rel=1e-9, abs=1e-6)
    margin = benchmark(RULES, "diesel", year) * 5.0 - ci  # break-even CI minus the fuel's CI
    if a + b >= 1 and abs(margin) > 1e-3:
        assert (both > 0) == (margin > 0)
