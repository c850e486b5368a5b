"""Deficits and credits per group and model year, worked by hand (reference notes §9)."""
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from act_pool.obligations import compute_obligations, per_vehicle_amounts, small_manufacturer_flags
from act_pool.rules import clauses, load_rules
from helpers import REPO, row

R21 = load_rules("act-2021")
NO_SMALL = {"small_manufacturer.max_vehicles": 0}  # isolate the arithmetic from the 500-vehicle exemption


def _ob(scenario, state="CA", year=2024, group=None, manufacturer="M"):
    t = compute_obligations(scenario)
    t = t[(t.manufacturer == manufacturer) & (t.state == state) & (t.model_year == year)]
    return t.set_index("group") if group is None else t.set_index("group").loc[group]


def test_case_a_deficits(scenario_of):
    # Case A (CA, MY2024): 1,000 Class 2b-3, 200 Class 4-5, 100 Class 6-7, 50 Class 8, 300 tractors.
    sc = scenario_of([row("CA", 2024, "2b-3", "ICE", 1000), row("CA", 2024, "4-5", "ICE", 200),
                      row("CA", 2024, "6-7", "ICE", 100), row("CA", 2024, "8", "ICE", 50),
                      row("CA", 2024, "tractor", "ICE", 300)], rules="act-2021")
    ob = _ob(sc)
    assert ob.loc["2b-3", "deficits"] == 400      # 1000 x 0.05 x 0.8 = 40.0
    assert ob.loc["4-8", "deficits"] == 405       # 200x0.09x1 + 100x0.09x1.5 + 50x0.09x2 = 18 + 13.5 + 9 = 40.5
    assert ob.loc["tractor", "deficits"] == 375   # 300 x 0.05 x 2.5 = 37.5
    assert ob.loc["4-8", "vehicles"] == 350


def test_case_b_credits(scenario_of):
    # Case B: 60 Class 2b-3 BEVs -> 48.0; 10 BEV tractors -> 25.0; Class 6 PHEVs with 40 and 100 miles
    # (WCM 1.5, Table A-2 Class 6-7): factor 0.01 x 40 + 0.15 = 0.55 and min(1.15, 0.75) = 0.75, so
    # 1.5 x 0.55 = 0.825 and 1.5 x 0.75 = 1.125, summed 1.95 -> 2.0 (half-up to the tenth).
    rows = [row("CA", 2024, "2b-3", "ZEV", 60), row("CA", 2024, "tractor", "ZEV", 10),
            row("CA", 2024, "6-7", "NZEV", 1, aer=40), row("CA", 2024, "6-7", "NZEV", 1, aer=100)]
    ob = _ob(scenario_of(rows, rules="act-2021", overrides=NO_SMALL))
    assert ob.loc["2b-3", "zev_credits"] == 480
    assert ob.loc["tractor", "zev_credits"] == 250
    assert ob.loc["4-8", "nzev_credits"] == 20
    # every vehicle counts toward deficits, ZEVs included: 60 x 0.05 x 0.8 = 2.4
    assert ob.loc["2b-3", "deficits"] == 24
    # The reference notes' reading (no intercept): 1.5 x 0.40 = 0.60 + 1.125 = 1.725 -> 1.7
    old = _ob(scenario_of(rows, rules="act-2021", overrides={**NO_SMALL, "nzev.factor_intercept": 0}))
    assert old.loc["4-8", "nzev_credits"] == 17


def test_nzev_factor():
    assert clauses.nzev_factor(R21, Fraction(40), 2024) == Fraction(55, 100)   # 0.01 x 40 + 0.15
    assert clauses.nzev_factor(R21, Fraction(59), 2024) == Fraction(74, 100)   # 0.59 + 0.15, under the cap
    assert clauses.nzev_factor(R21, Fraction(60), 2024) == Fraction(3, 4)      # 0.60 + 0.15 = the cap
    assert clauses.nzev_factor(R21, Fraction(61), 2024) == Fraction(3, 4)      # 0.76 capped at 0.75
    assert clauses.nzev_factor(R21, Fraction(100), 2024) == Fraction(3, 4)
    # MY2031+ under act-2021: 75-mile floor (assumed); 74.9 miles earns nothing, 75 earns 0.75
    assert clauses.nzev_factor(R21, Fraction("74.9"), 2031) == 0
    assert clauses.nzev_factor(R21, Fraction(75), 2031) == Fraction(3, 4)
    # no NZEV credits after MY2035 (§1963.2(b))
    assert clauses.nzev_factor(R21, Fraction(100), 2035) == Fraction(3, 4)
    assert clauses.nzev_factor(R21, Fraction(100), 2036) == 0


def test_nzev_factor_without_intercept_is_the_older_reading():
    # nzev.factor_intercept = 0: 0.01 x AER, capped at 0.75 from 75 miles
    old = R21.with_overrides({"nzev.factor_intercept": 0}, "scenario.toml")
    assert clauses.nzev_factor(old, Fraction(40), 2024) == Fraction(40, 100)
    assert clauses.nzev_factor(old, Fraction(74), 2024) == Fraction(74, 100)
    assert clauses.nzev_factor(old, Fraction(75), 2024) == Fraction(3, 4)


def test_forty_mile_class_6_nzev_earns_0825(scenario_of):
    # The example of the two recollections: one Class 6 NZEV with 40 miles: WCM 1.5 (Table A-2, Class 6-7)
    # x (0.01 x 40 + 0.15 = 0.55) = 0.825 credits; 40 of them: 33.0 credits (the old reading: 40 x 0.60 = 24.0).
    assert clauses.weight_class_modifier(R21, "6-7") == Fraction(3, 2)
    assert clauses.credit_per_vehicle(R21, "CA", "6-7", "NZEV", Fraction(40), 2024) == Fraction(825, 1000)
    sc = scenario_of([row("CA", 2024, "6-7", "NZEV", 40, aer=40)], rules="act-2021", overrides=NO_SMALL)
    assert _ob(sc, group="4-8")["nzev_credits"] == 330


def test_two_tractors_owe_point_four(scenario_of):
    # 2 x 7 % x 2.5 = 0.35 -> 0.4 (CA MY2025), never 0.3
    assert _ob(scenario_of([row("CA", 2025, "tractor", "ICE", 2)], overrides=NO_SMALL), year=2025, group="tractor")["deficits"] == 4


def test_rounding_is_per_group_sum_not_per_vehicle(scenario_of):
    # 3 Class 2b-3 vehicles in MY2025: 3 x 0.07 x 0.8 = 0.168 -> 0.2; per-vehicle rounding would give 3 x 0.1 = 0.3
    assert _ob(scenario_of([row("CA", 2025, "2b-3", "ICE", 3)], overrides=NO_SMALL), year=2025, group="2b-3")["deficits"] == 2


def test_literal_rounding_option(scenario_of):
    # 9 tractors MY2024 x 0.05 x 2.5 = 1.125: half-up 1.1; literal (fraction .125 >= .05) 1.2
    rows = [row("CA", 2024, "tractor", "ICE", 9)]
    assert _ob(scenario_of(rows, overrides=NO_SMALL), group="tractor")["deficits"] == 11
    lit = scenario_of(rows, overrides={"rounding.mode": "literal", **NO_SMALL})
    assert _ob(lit, group="tractor")["deficits"] == 12


@pytest.mark.parametrize("vehicles, small", [(500, True), (501, False)])
def test_small_manufacturer_threshold(scenario_of, vehicles, small):
    # 500 or fewer vehicles in the state and model year: no deficits, credits still earned.
    sc = scenario_of([row("CA", 2024, "2b-3", "ICE", vehicles - 10), row("CA", 2024, "2b-3", "ZEV", 10)])
    ob = _ob(sc, group="2b-3")
    assert bool(ob["small_manufacturer"]) is small
    assert ob["deficits"] == (0 if small else round(vehicles * 0.05 * 0.8 * 10))  # 501 -> 20.04 -> 20.0
    assert ob["zev_credits"] == 80  # 10 x 0.8


def test_state_start_years_and_pauses(scenario_of):
    sc = scenario_of([row(s, y, "2b-3", "ZEV", 100) for s in ("CA", "OR", "VT") for y in (2021, 2022, 2025, 2026)]
                     + [row(s, y, "2b-3", "ICE", 900) for s in ("CA", "OR", "VT") for y in (2021, 2022, 2025, 2026)])
    t = compute_obligations(sc).set_index(["state", "model_year", "group"])
    # (tables in tenths) credits: CA from 2021, OR from 2022, VT from 2023 (assumed); 100 x 0.8 = 80.0
    assert t.loc[("CA", 2021, "2b-3"), "zev_credits"] == 800
    assert t.loc[("OR", 2021, "2b-3"), "zev_credits"] == 0
    assert t.loc[("OR", 2022, "2b-3"), "zev_credits"] == 800
    assert t.loc[("VT", 2022, "2b-3"), "zev_credits"] == 0
    # deficits: OR from 2025 (paused 2025-2026: accrued, not enforced); VT from 2026 (paused 2026)
    assert t.loc[("OR", 2022, "2b-3"), "deficits"] == 0
    assert t.loc[("OR", 2025, "2b-3"), "deficits"] == 560   # 1000 x 0.07 x 0.8 = 56.0
    assert not t.loc[("OR", 2025, "2b-3"), "enforced"]
    assert t.loc[("VT", 2025, "2b-3"), "deficits"] == 0
    assert t.loc[("VT", 2026, "2b-3"), "deficits"] == 800   # 1000 x 0.10 x 0.8 = 80.0
    assert t.loc[("CA", 2025, "2b-3"), "enforced"]
    assert not t.loc[("CA", 2022, "2b-3"), "enforced"]


def test_credit_life():
    # CA early-action MY2021-2023 credits usable through MY2030; MY2024 through 2029 (vintage + 5)
    assert clauses.credit_last_model_year(R21, "CA", 2021) == 2030  # later of 2030 and 2021 + 5 = 2026
    assert clauses.credit_last_model_year(R21, "CA", 2023) == 2030  # later of 2030 and 2028
    assert clauses.credit_last_model_year(R21, "CA", 2024) == 2029
    assert clauses.credit_last_model_year(R21, "OR", 2024) == 2030  # OR early-action window MY2022-2024


def test_late_start_early_credits_keep_their_ordinary_life():
    # CO deficits start in MY2027: a CO MY2026 credit is early action. Later of MY2030 and 2026 + 5 = 2031,
    # so it lasts as long as an ordinary credit (CO MY2027: 2027 + 5 = 2032), never four years only.
    assert clauses.first_deficit_model_year(R21, "CO") == 2027
    assert clauses.credit_last_model_year(R21, "CO", 2026) == 2031
    assert clauses.credit_last_model_year(R21, "CO", 2025) == 2030  # 2025 + 5 = 2030: the same either way
    assert clauses.credit_last_model_year(R21, "CO", 2027) == 2032
    # the fixed-date reading, per state: CO's early credits end with MY2030; CA is unaffected
    fixed = R21.with_overrides({"credit_life.early_fixed_states": ["CO"]}, "scenario.toml")
    assert clauses.credit_last_model_year(fixed, "CO", 2026) == 2030
    assert clauses.credit_last_model_year(fixed, "CO", 2027) == 2032
    assert clauses.credit_last_model_year(fixed, "MD", 2026) == 2031
    assert clauses.credit_last_model_year(fixed, "CA", 2023) == 2030


def test_caps_and_allowances():
    # Case C: combined non-tractor deficits 80.5 -> at most 40.25 NZEV: 40.2 in whole tenths
    assert clauses.nzev_cap_tenths(R21, 805, tractor=False) == 402
    assert clauses.nzev_cap_tenths(R21, 375, tractor=True) == 187   # 18.75 -> 18.7
    # low tractor volume flexibility: 25.0 deficits -> up to 25 credits; 25.1 -> none
    assert clauses.low_volume_allowance_tenths(R21, 250) == 250
    assert clauses.low_volume_allowance_tenths(R21, 251) == 0
    r25 = load_rules("act-2025")
    assert clauses.tractor_offset_allowance_tenths(R21, 2026, 1000) == 0
    assert clauses.tractor_offset_allowance_tenths(r25, 2026, 1001) == 250  # 25 % of 100.1 = 25.025 -> 25.0


def _flags(sales_rows, basis="three-year-average"):
    import pandas as pd

    from act_pool.scenario import SALES_COLUMNS

    three_year = R21.with_overrides({"small_manufacturer.basis": basis}, "scenario.toml")
    sales = pd.DataFrame(sales_rows, columns=SALES_COLUMNS)
    flags = small_manufacturer_flags(three_year, sales)
    return {int(y): bool(f) for y, f in zip(flags["model_year"], flags["small"])}


def test_three_year_average_a_zero_row_counts_as_no_row():
    # A 1,000-vehicle maker whose only earlier row says 0 vehicles: no model year with vehicles precedes
    # MY2024, so its own 1,000 count (> 500): not small, with the 0-vehicle row or without it.
    with_zero = _flags([row("CA", 2023, "2b-3", "ICE", 0), row("CA", 2024, "2b-3", "ICE", 1000)])
    without = _flags([row("CA", 2024, "2b-3", "ICE", 1000)])
    assert without == {2024: False}
    assert with_zero == {2023: True, 2024: False}  # MY2023 itself: 0 vehicles <= 500
    assert with_zero[2024] == without[2024]


def test_three_year_average_a_gap_counts_as_zero_vehicles():
    # MY2021 900 vehicles, MY2022 none (0-vehicle row, or no row), MY2023 600, MY2024 1,000.
    # MY2024: (900 + 0 + 600) / 3 = 500 <= 500 -> small; MY2023: (900 + 0) / 2 = 450 -> small;
    # MY2022: 900 / 1 -> not small; MY2021: its own 900 -> not small. The same with the gap as a 0 row.
    years = {2021: 900, 2023: 600, 2024: 1000}
    gap = _flags([row("CA", y, "2b-3", "ICE", v) for y, v in years.items()])
    zero = _flags([row("CA", y, "2b-3", "ICE", v) for y, v in {**years, 2022: 0}.items()])
    assert gap == {2021: False, 2023: True, 2024: True}
    assert zero == {2021: False, 2022: False, 2023: True, 2024: True}


def test_three_year_average_of_rows_is_the_earlier_reading_kept_as_an_override():
    # The earlier reading averages the prior years that have rows: MY2024 of a 1,000-vehicle maker with
    # a 0-vehicle MY2023 row averages 0 / 1 = 0 -> small; without that row, its own 1,000 -> not small.
    # MY2024 of 900 (2021), gap (2022), 600 (2023): (900 + 600) / 2 = 750 -> not small (500 with the gap as 0).
    old = "three-year-average-of-rows"
    assert _flags([row("CA", 2023, "2b-3", "ICE", 0), row("CA", 2024, "2b-3", "ICE", 1000)], old)[2024] is True
    assert _flags([row("CA", 2024, "2b-3", "ICE", 1000)], old)[2024] is False
    years = {2021: 900, 2023: 600, 2024: 1000}
    assert _flags([row("CA", y, "2b-3", "ICE", v) for y, v in years.items()], old)[2024] is False


def _small_by_loops(basis: str, limit: int, sales: pd.DataFrame) -> dict:
    """The small-manufacturer rule read row by row, as the docstring states it (the reference)."""
    totals = {k: int(v) for k, v in sales.groupby(["manufacturer", "state", "model_year"])["vehicles"].sum().items()}
    first: dict = {}
    for (m, s, y), v in sorted(totals.items()):
        if v > 0:
            first.setdefault((m, s), y)
    out = {}
    for (m, s, y), v in totals.items():
        if basis == "three-year-average":
            prior = [totals.get((m, s, y - k), 0) for k in (1, 2, 3) if y - k >= first.get((m, s), y)]
        elif basis == "three-year-average-of-rows":
            prior = [totals[(m, s, y - k)] for k in (1, 2, 3) if (m, s, y - k) in totals]
        else:
            prior = []
        out[(m, s, y)] = (Fraction(sum(prior), len(prior)) if prior else Fraction(v)) <= limit
    return out


@pytest.mark.parametrize("basis", ["model-year", "three-year-average", "three-year-average-of-rows"])
def test_small_manufacturer_flags_match_the_rule_read_row_by_row(basis):
    # Random sales with gaps, 0-vehicle rows and counts around the limit, two makers and two states.
    rng = np.random.default_rng(7)
    for _ in range(60):
        rows = [(m, s, y, int(rng.choice([0, 0, 100, 400, 450, 500, 501, 700, 1500])))
                for m in ("A", "B") for s in ("CA", "NJ") for y in range(2024, 2034) if rng.random() < 0.7]
        sales = pd.DataFrame(rows, columns=["manufacturer", "state", "model_year", "vehicles"])
        limit = int(rng.choice([0, 450, 500]))
        rules = load_rules("act-2025").with_overrides({"small_manufacturer.basis": basis,
                                                       "small_manufacturer.max_vehicles": limit}, "test")
        got = small_manufacturer_flags(rules, sales)
        assert {(m, s, int(y)): bool(v) for m, s, y, v in got.itertuples(index=False)} == \
            _small_by_loops(basis, limit, sales)


def test_per_vehicle_amounts_equal_the_clauses_row_by_row():
    # The amounts are computed once per distinct (first deficit/credit year, class, powertrain, range,
    # model year); every state of the rule set must still get exactly what the clauses give it.
    rules = load_rules("act-2025")
    states = clauses.state_codes(rules)
    combos = pd.DataFrame([(s, y, wc, pt, aer) for s in states for y in (2021, 2024, 2026, 2030, 2036)
                           for wc in clauses.WEIGHT_CLASS_GROUP for pt, aer in (("ICE", ""), ("ZEV", ""),
                                                                                  ("NZEV", "40"), ("NZEV", "75"))],
                          columns=["state", "model_year", "weight_class", "powertrain", "aer_key"])
    got = per_vehicle_amounts(rules, combos)
    for r in got.itertuples(index=False):
        aer = Fraction(r.aer_key) if r.powertrain == "NZEV" else None
        assert r.deficit == clauses.deficit_per_vehicle(rules, r.state, r.weight_class, r.model_year)
        assert r.credit == clauses.credit_per_vehicle(rules, r.state, r.weight_class, r.powertrain, aer, r.model_year)
    assert len({r.deficit for r in got.itertuples()}) > 3  # the years and classes differ, not only zeros


def test_sums_beyond_int64_are_exact(scenario_of):
    # Tractors in CA MY2024 with the tractor weight class modifier raised to 1,000,000 and the ZEV sales
    # percentage to 5.000000000001 %: a tractor owes 0.05000000000001 x 10^6 = 50,000.00000001 credits, so
    # the amounts' common denominator is 10^8 and one row of 10^9 tractors sums to
    # 10^9 x 50,000.00000001 x 10^8 = 5 x 10^21 units: beyond int64 (about 9.22 x 10^18), so the sums are
    # taken in Python integers.
    rows = [row("CA", 2024, "tractor", "ICE", 10**9), row("CA", 2024, "tractor", "ZEV", 10**9)]
    overrides = {**NO_SMALL, "weight_class_modifier.tractor": 1_000_000, "zev_sales_percent.tractor": 5.000000000001}
    sc = scenario_of(rows, rules="act-2021", overrides=overrides)
    assert 10**9 * Fraction("50000.00000001") * 10**8 > np.iinfo(np.int64).max
    ob = _ob(sc, group="tractor")
    # deficits: 2 x 10^9 vehicles x 50,000.00000001 = 100,000,000,000,020 credits
    assert ob["deficits"] == 1_000_000_000_000_200
    # ZEV credits: 10^9 x 10^6 = 10^15 credits
    assert ob["zev_credits"] == 10**16


@pytest.mark.parametrize("name", ["default", "nzev-cap", "small-manufacturer", "late-start-state"])
def test_int64_and_python_integer_sums_agree(monkeypatch, name):
    # The int64 path is taken where the bound proves no overflow; forcing the Python-integer path
    # (no sum "fits" under a bound of 0) must give the same table, dtypes included.
    from act_pool import load_scenario
    from act_pool import obligations

    sc = load_scenario(REPO / "scenarios" / name / "scenario.toml")
    fast = compute_obligations(sc)
    monkeypatch.setattr(obligations, "INT64_MAX", 0)
    exact = compute_obligations(sc)
    pd.testing.assert_frame_equal(fast, exact, check_exact=True)
    assert fast["deficits"].sum() > 0 and (fast["zev_credits"] + fast["nzev_credits"]).sum() > 0


def test_sales_outside_the_simulated_years_count_nowhere(scenario_of):
    # The loaders keep only the simulated years' sales; a scenario narrowed by hand afterwards must give
    # the table of the same scenario with those rows dropped (each year's row only from its own sales).
    sales = [row("CA", y, "2b-3", "ICE", 1000 * (y - 2023)) for y in (2024, 2025, 2026)]
    sc = scenario_of(sales, rules="act-2025", model_years=[2024, 2026], overrides=NO_SMALL)
    narrowed = replace(sc, model_years=(2025, 2025))
    expected = replace(narrowed, sales=sc.sales[sc.sales["model_year"] == 2025].reset_index(drop=True))
    got = compute_obligations(narrowed)
    pd.testing.assert_frame_equal(got, compute_obligations(expected))
    # MY2025: 2000 vehicles x 7 % x 0.8 = 112.0 credits of deficits (1120 tenths), 2b-3 row only.
    assert got.loc[got["group"] == "2b-3", "deficits"].tolist() == [1120]
