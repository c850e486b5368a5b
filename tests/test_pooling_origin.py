"""Pooling out of a state whose deficits have not started (``pooling.require_origin_in_force``).

Worked by hand under act-2025 (three-year make-up, pooling from MY2025). Colorado's deficits start in
MY2027 (its credits in MY2024); California's in MY2024. Amounts in the result tables are integer tenths.

- CO MY2025: 100 Class 2b-3 ZEVs -> 100 x 0.8 = 80.0 CO ZEV credits (early action; usable through the
  later of MY2030 and 2025 + 5 = 2030).
- CA MY2025: 1,000 Class 2b-3 ICE -> 1,000 x 7 % x 0.8 = 56.0 deficits; CA has no credits of its own.

Switch off (the default): CO's credits are pooled out in MY2025 and meet CA's 56.0 at once; 24.0 stay.
Switch on: CO's credits may not leave CO while its deficits have not started (MY2025-2026); CA's MY2025
deficit is carried (three-year make-up, to MY2028) and met by 56.0 pooled CO credits in MY2027, the
first year CO's deficits are in force. With the horizon ending in MY2026 it stays open, nothing pooled.
"""
import pytest

import act_pool
from act_pool.obligations import compute_obligations
from act_pool.solve.problem import build_problem
from helpers import row, write_trades

SALES = [row("CO", 2025, "2b-3", "ZEV", 100), row("CA", 2025, "2b-3", "ICE", 1000)]
NO_SMALL = {"small_manufacturer.max_vehicles": 0}
STRICT = {**NO_SMALL, "pooling.require_origin_in_force": True}
MODES = ["earliest-expiring", "optimal"]


def _ca_2025(result):
    c = result.compliance.set_index(["manufacturer", "state", "model_year", "group"])
    return c.loc[("M", "CA", 2025, "2b-3")]


def _pooled(result):
    led = result.ledger[result.ledger["pooled"]]
    return led[["origin_state", "state", "model_year", "year", "credits"]].values.tolist()


@pytest.mark.parametrize("mode", MODES)
def test_default_pools_out_of_a_state_not_yet_started(scenario_of, mode):
    r = act_pool.run(scenario_of(SALES, model_years=[2025, 2027], retirement=mode, overrides=NO_SMALL))
    assert _ca_2025(r)[["deficits", "met", "met_by_pooled", "unmet"]].tolist() == [560, 560, 560, 0]
    assert _pooled(r) == [["CO", "CA", 2025, 2025, 560]]   # used in MY2025, CO not yet in force
    assert r.summary()["totals"]["closing_bank"] == 24.0  # 80.0 - 56.0
    assumption = r.summary()["assumptions"]["pooling.require_origin_in_force"]  # listed though not overridden
    assert assumption["value"] is False and assumption["confidence"] == "assumed"


@pytest.mark.parametrize("mode", MODES)
def test_origin_in_force_required(scenario_of, mode):
    r = act_pool.run(scenario_of(SALES, model_years=[2025, 2027], retirement=mode, overrides=STRICT))
    ca = _ca_2025(r)
    assert ca[["deficits", "met", "met_by_pooled", "met_by_makeup", "unmet"]].tolist() == [560, 560, 560, 560, 0]
    assert _pooled(r) == [["CO", "CA", 2025, 2027, 560]]   # only from MY2027, CO's first deficit year
    assert "pooling.require_origin_in_force" in r.summary()["assumptions"]


@pytest.mark.parametrize("mode", MODES)
def test_origin_in_force_required_nothing_pooled_before(scenario_of, mode):
    r = act_pool.run(scenario_of(SALES, model_years=[2025, 2026], retirement=mode, overrides=STRICT))
    assert _ca_2025(r)[["met", "unmet", "status"]].tolist() == [0, 560, "open"]  # make-up runs to MY2028
    assert _ca_2025(r)["reason"] == "state not in the pool"  # CO holds 80.0 but may not send them yet
    assert _pooled(r) == []
    assert r.summary()["totals"]["closing_bank"] == 80.0


def test_may_send_is_data_on_the_gates(scenario_of):
    sc = scenario_of(SALES, model_years=[2025, 2027], overrides=STRICT)
    gates = build_problem(sc, compute_obligations(sc)).gates.set_index(["manufacturer", "state", "model_year"])
    assert [bool(gates.loc[("M", "CO", y), "may_send"]) for y in (2025, 2026, 2027)] == [False, False, True]
    assert [bool(gates.loc[("M", "CA", y), "may_send"]) for y in (2025, 2026, 2027)] == [True, True, True]
    off = scenario_of(SALES, model_years=[2025, 2027], overrides=NO_SMALL)
    gates_off = build_problem(off, compute_obligations(off)).gates
    assert gates_off["may_send"].all()
    no_pool = scenario_of(SALES, model_years=[2025, 2027], overrides=NO_SMALL, pooling=False)
    assert not build_problem(no_pool, compute_obligations(no_pool)).gates["may_send"].any()


@pytest.mark.parametrize("mode", MODES)
def test_bought_credits_of_a_state_the_buyer_does_not_sell_in_are_pooled(scenario_of, tmp_path, mode):
    # Seller S: 75 CA Class 2b-3 ZEVs in MY2024 -> 60.0 CA credits (75 vehicles: small, no deficits).
    # Buyer M sells only in NJ: MY2025 1,000 x 7 % x 0.8 = 56.0 deficits. M buys all 60.0 in MY2025;
    # its CA credits have no CA deficits to meet and are pooled into NJ: 56.0 met, 4.0 left.
    sales = [row("CA", 2024, "2b-3", "ZEV", 75, manufacturer="S"), row("NJ", 2025, "2b-3", "ICE", 1000)]
    sc_path = tmp_path / "bought"
    sc_path.mkdir()
    trades = write_trades(sc_path, [("S", "M", "CA", 2024, "2b-3", "ZEV", "60.0", 2025)])
    sc = scenario_of(sales, model_years=[2024, 2025], retirement=mode, trades=str(sc_path / trades))
    r = act_pool.run(sc)
    nj = r.compliance.set_index(["manufacturer", "state", "model_year", "group"]).loc[("M", "NJ", 2025, "2b-3")]
    assert nj[["deficits", "met_by_pooled", "met_by_traded", "unmet"]].tolist() == [560, 560, 560, 0]
