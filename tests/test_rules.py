"""The bundled rule sets: every value sourced, the published tables pinned, overrides checked."""
from decimal import Decimal
from fractions import Fraction

import pytest

from act_pool.errors import InputError
from act_pool.rules import bundled_ids, diff, load_rules
from act_pool.rules import clauses
from act_pool.rules.clauses import state_codes

# 13 CCR §1963.1(b) Table A-1, as published (justia, casetext and Westlaw copies agree).
TABLE_A1 = {
    "2b-3": [5, 7, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55],
    "4-8": [9, 11, 13, 20, 30, 40, 50, 55, 60, 65, 70, 75],
    "tractor": [5, 7, 10, 15, 20, 25, 30, 35, 40, 40, 40, 40],
}
# 13 CCR §1963.1 Table A-2.
TABLE_A2 = {"2b-3": Decimal("0.8"), "4-5": 1, "6-7": Decimal("1.5"), "8": 2, "tractor": Decimal("2.5")}


@pytest.mark.parametrize("rid", ["act-2021", "act-2025"])
def test_table_a1_and_a2(rid):
    rules = load_rules(rid)
    for group, pcts in TABLE_A1.items():
        for year, pct in zip(range(2024, 2036), pcts):
            assert rules.at(f"zev_sales_percent.{group}", year) == pct, (group, year)
        assert rules.at(f"zev_sales_percent.{group}", 2045) == pcts[-1]  # "2035 and beyond"
    for wc, wcm in TABLE_A2.items():
        assert rules.value(f"weight_class_modifier.{wc}") == wcm


@pytest.mark.parametrize("rid", ["act-2021", "act-2025"])
def test_every_parameter_is_sourced(rid):
    rules = load_rules(rid)
    for p in rules.parameters.values():
        assert p.source, p.name
        assert p.unit, p.name
        assert p.description, p.name
        assert p.confidence in ("verified", "secondary", "assumed"), p.name


def test_eleven_states_with_start_years():
    rules = load_rules("act-2025")
    assert state_codes(rules) == ["CA", "OR", "WA", "NJ", "NY", "MA", "VT", "CO", "MD", "NM", "RI"]
    # reference notes §8 / market data §3.3: first deficit model years
    first = {"CA": 2024, "OR": 2025, "WA": 2025, "NJ": 2025, "NY": 2025, "MA": 2025, "VT": 2026,
             "CO": 2027, "MD": 2027, "NM": 2027, "RI": 2027}
    for s, y in first.items():
        assert rules.value(f"states.{s}.first_deficit_model_year") == y
    assert rules.value("states.MD.paused_model_years") == [2027, 2028]
    assert rules.value("states.CA.first_credit_model_year") == 2021


def test_amendments_differ_where_expected():
    changed = {name for name, _, _ in diff(load_rules("act-2021"), load_rules("act-2025"))}
    assert {"makeup.model_years", "pooling.allowed", "tractor_offset.fraction", "retirement.flexible",
            "nzev.min_aer_miles"} <= changed
    assert "zev_sales_percent.2b-3" not in changed  # no source says the amendments changed Table A-1


def test_unverified_amendment_numbers_are_assumptions():
    rules = load_rules("act-2025")
    for name in ("tractor_offset.fraction", "pooling.exchange_ratio", "pooling.cap_fraction", "nzev.min_aer_miles"):
        assert rules[name].confidence == "assumed"
        assert name in rules.assumptions()
    assert "zev_sales_percent.tractor" not in rules.assumptions()


def test_contested_readings_are_assumptions_with_defaults():
    # Issue readings: each a parameter marked assumed (so listed with the assumptions of every result),
    # the earlier reading one override away.
    for rid in ("act-2021", "act-2025"):
        rules = load_rules(rid)
        assert rules["nzev.factor_intercept"].value == Decimal("0.15")
        assert rules["credit_life.early_fixed_states"].value == []
        for name in ("nzev.factor_intercept", "credit_life.early_fixed_states"):
            assert rules[name].confidence == "assumed" and rules[name].unit and rules[name].note
            assert name in rules.assumptions()
    r25 = load_rules("act-2025")
    assert r25["pooling.require_origin_in_force"].value is False
    assert r25["pooling.require_origin_in_force"].confidence == "assumed"
    assert "pooling.require_origin_in_force" in r25.assumptions()
    old = r25.with_overrides({"nzev.factor_intercept": 0, "credit_life.early_fixed_states": ["CO", "MD"],
                              "pooling.require_origin_in_force": True}, "s.toml")
    assert old.value("nzev.factor_intercept") == 0 and old.value("credit_life.early_fixed_states") == ["CO", "MD"]
    assert old.value("pooling.require_origin_in_force") is True


def test_overrides_become_assumptions():
    rules = load_rules("act-2025").with_overrides(
        {"tractor_offset.fraction": Decimal("0.4"), "zev_sales_percent.tractor": {"2030": 32}}, "s.toml")
    assert rules.at("tractor_offset.fraction", 2026) == Decimal("0.4")
    assert rules.at("zev_sales_percent.tractor", 2029) == 25
    assert rules.at("zev_sales_percent.tractor", 2030) == 32
    assert rules.at("zev_sales_percent.tractor", 2031) == 35  # the schedule resumes
    assert rules["zev_sales_percent.tractor"].confidence == "assumed"
    assert "scenario override" in rules["zev_sales_percent.tractor"].source


@pytest.mark.parametrize("overrides, field", [
    ({"no.such": 1}, "overrides.no.such"),
    ({"nzev_cap.nontractor_fraction": Decimal("1.5")}, "overrides.nzev_cap.nontractor_fraction"),
    ({"rounding.mode": "sideways"}, "overrides.rounding.mode"),
    ({"pooling.allowed": 1}, "overrides.pooling.allowed"),
    ({"makeup.model_years": {"2030": 2}}, "overrides.makeup.model_years"),
])
def test_bad_overrides(overrides, field):
    with pytest.raises(InputError) as exc:
        load_rules("act-2025").with_overrides(overrides, "s.toml")
    assert exc.value.problems[0].field == field
    assert exc.value.problems[0].file == "s.toml"


def test_bundled_ids():
    assert {"act-2021", "act-2025"} <= set(bundled_ids())
    with pytest.raises(InputError):
        load_rules("act-1999")


@pytest.mark.parametrize("ratio", [0.12345, 10.5])
def test_unsupported_exchange_ratio_is_refused_not_ignored(tmp_path, ratio):
    """More than four decimals, or above 10: refused, naming the override (a ratio such as 0.8 runs,
    see test_exchange_ratio.py)."""
    import act_pool
    from helpers import row, write_scenario

    path = write_scenario(tmp_path, [row("CA", 2025, "2b-3", "ICE", 1000)], overrides={"pooling.exchange_ratio": ratio})
    with pytest.raises(InputError) as exc:
        act_pool.load_scenario(path)
    assert exc.value.problems[0].field == "overrides.pooling.exchange_ratio"
    assert "at most 4 decimals" in exc.value.problems[0].message


def test_cached_clause_values_are_not_shared_between_rule_sets():
    # Clause values are kept per rule set; a copy with overrides is another rule set with its own values.
    base = load_rules("act-2025")
    heavier = base.with_overrides({"weight_class_modifier.2b-3": 2, "nzev.factor_intercept": 0}, "test")
    forty = Fraction(40)
    assert clauses.weight_class_modifier(base, "2b-3") == Fraction(4, 5)     # Table A-2: 0.8
    assert clauses.nzev_factor(base, forty, 2026) == Fraction(55, 100)        # 0.01 x 40 + 0.15
    assert clauses.weight_class_modifier(heavier, "2b-3") == 2               # the override
    assert clauses.nzev_factor(heavier, forty, 2026) == Fraction(40, 100)     # 0.01 x 40, no intercept
    assert clauses.weight_class_modifier(base, "2b-3") == Fraction(4, 5)     # asked again: its own value
    assert clauses.nzev_factor(base, forty, 2026) == Fraction(55, 100)
    # one Class 2b-3 ZEV earns 0.8 credits under one and 2 under the other
    assert clauses.credit_per_vehicle(base, "CA", "2b-3", "ZEV", None, 2026) == Fraction(4, 5)
    assert clauses.credit_per_vehicle(heavier, "CA", "2b-3", "ZEV", None, 2026) == 2
    assert load_rules("act-2025").clause_values == {}  # a rule set loaded afresh starts with none
