"""The lcfs-2025 rule set: format, sources, and the published figures it must reproduce."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from act_pool.lcfs import benchmark, calculate, load_lcfs_rules
from act_pool.lcfs.calc import RULES_FILE
from act_pool.rules.model import CONFIDENCE, load_rules


def test_loads_with_the_rule_set_model(rules):
    assert rules.id == "lcfs-2025"
    assert load_rules(RULES_FILE).parameters == rules.parameters
    assert rules.title and rules.description


def test_every_parameter_has_unit_source_and_confidence(rules):
    for name, p in rules.parameters.items():
        assert p.unit, name
        assert p.source, name
        assert p.description, name
        assert p.confidence in CONFIDENCE, name


def test_every_unverified_parameter_says_why(rules):
    for name, p in rules.assumptions().items():
        assert p.note, f"{name} is {p.confidence} but has no note"


@pytest.mark.parametrize("standard, quarter, expected", [
    # Published 2025 benchmarks (ref §2.1, §2.2): Q1-Q2 pre-amendment, Q3-Q4 amended.
    ("gasoline", 2, 85.77), ("diesel", 2, 86.64),
    ("gasoline", 3, 76.60), ("diesel", 3, 81.70),
])
def test_published_2025_benchmarks(rules, standard, quarter, expected):
    assert benchmark(rules, standard, 2025, quarter) == expected


def test_published_2026_benchmarks(rules):
    # trinityconsultants.com: gasoline 84.52 -> 75.16, diesel 85.38 -> 80.17 (ref §2.2).
    assert benchmark(rules, "gasoline", 2026) == 75.16
    assert benchmark(rules, "diesel", 2026) == 80.17


@pytest.mark.parametrize("year, pct", [(2025, "22.75"), (2026, "24.20"), (2027, "25.65"), (2028, "27.10"),
                                       (2029, "28.55"), (2030, "30.00"), (2035, "50"), (2045, "90")])
def test_amended_schedule_follows_the_baselines(rules, year, pct):
    # [D] rows of ref §2.2: round(baseline x (1 - pct), 2), baselines 99.16 / 105.76 gCO2e/MJ.
    for standard, base in (("gasoline", "99.16"), ("diesel", "105.76")):
        expected = (Decimal(base) * (1 - Decimal(pct) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert rules.at(f"benchmark.{standard}", year) == expected


def test_benchmarks_fall_every_year(rules):
    for standard in ("gasoline", "diesel"):
        values = [benchmark(rules, standard, y, 4) for y in range(2019, 2046)]
        assert all(a > b for a, b in zip(values, values[1:])), standard


def test_verified_eers(rules):
    # 17 CCR §95486.1(a) Table 5 (2020 text): BEV truck 5.0 vs diesel, LD/MD BEV 3.4 vs gasoline.
    assert rules.value("eer.heavy-duty.electricity") == Decimal("5.0")
    assert rules["eer.heavy-duty.electricity"].confidence == "verified"
    assert rules.value("eer.light-medium-duty.electricity") == Decimal("3.4")


def test_an_override_replaces_a_schedule_year(rules):
    # The "34.5 % in 2031" reading (ref §2.2): 2031 diesel 69.27 instead of 69.80.
    alt = rules.with_overrides({"benchmark.diesel": {2031: Decimal("69.27")}}, "scenario.toml")
    assert benchmark(alt, "diesel", 2031) == 69.27
    assert benchmark(alt, "diesel", 2032) == 65.57
    # 1000 kWh in a truck at CI 0 in 2031: 69.27 x 5 x 3600 MJ x 1e-6 = 1.24686 t.
    assert calculate(alt, "electricity", 1000, "kWh", 2031, ci=0).credits_t == pytest.approx(1.24686, abs=1e-12)
    assert alt["benchmark.diesel"].confidence == "assumed"


def test_another_rule_file_can_be_loaded(tmp_path, rules):
    text = RULES_FILE.read_text(encoding="utf-8").replace('id = "lcfs-2025"', 'id = "lcfs-test"')
    path = tmp_path / "lcfs-test.toml"
    path.write_text(text, encoding="utf-8")
    assert load_lcfs_rules(path).id == "lcfs-test"
