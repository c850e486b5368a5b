"""Year-by-year compliance in the regulation's order, each rule worked by hand.

Amounts in the result tables are integer tenths of a credit (400 = 40.0 credits).
"""
import pytest

import act_pool
from helpers import row

NO_SMALL = {"small_manufacturer.max_vehicles": 0}  # isolate each rule from the 500-vehicle exemption
EE = "earliest-expiring"


def bank(state, vintage, group, ctype, credits, manufacturer="M"):
    return (manufacturer, state, vintage, group, ctype, credits)


def comp(result, state, year, group):
    c = result.compliance.set_index(["manufacturer", "state", "model_year", "group"])
    return c.loc[("M", state, year, group)]


def moves(result, **where):
    led = result.ledger
    for k, v in where.items():
        led = led[led[k] == v]
    return led


def test_credit_in_last_year_of_life_and_the_year_after(scenario_of):
    # Bank: 10.0 CA ZEV credits of MY2024, usable through MY2029 (vintage + 5).
    # MY2029: 20 Class 2b-3 x 25 % x 0.8 = 4.0 deficits -> met in the credit's last year of life.
    # The other 6.0 expire at the end of MY2029; MY2030: 20 x 30 % x 0.8 = 4.8 deficits stay unmet,
    # and with a one-year make-up (act-2021) are short by MY2031.
    sc = scenario_of([row("CA", 2029, "2b-3", "ICE", 20), row("CA", 2030, "2b-3", "ICE", 20)],
                     rules="act-2021", bank=[bank("CA", 2024, "2b-3", "ZEV", "10.0")],
                     model_years=[2029, 2031], overrides=NO_SMALL)
    r = act_pool.run(sc)
    assert comp(r, "CA", 2029, "2b-3")[["deficits", "met", "status"]].tolist() == [40, 40, "compliant"]
    assert comp(r, "CA", 2030, "2b-3")[["deficits", "met", "unmet", "status"]].tolist() == [48, 0, 48, "short"]
    assert comp(r, "CA", 2030, "2b-3")["reason"] == "credits expired"
    exp = moves(r, action="expire")
    assert exp[["vintage", "model_year", "credits"]].values.tolist() == [[2024, 2029, 60]]


def test_late_start_early_action_credit_lasts_as_long_as_an_ordinary_one(scenario_of):
    # CO's deficits start in MY2027: a CO MY2026 credit is early action and lasts through the later of
    # MY2030 and 2026 + 5 = 2031. Bank 10.0 CO MY2026 ZEV credits; MY2031: 20 Class 2b-3 x 35 % x 0.8 =
    # 5.6 deficits, met in the credit's last year, 4.4 expire after MY2031.
    sales = [row("CO", 2031, "2b-3", "ICE", 20)]
    keys = {"rules": "act-2021", "bank": [bank("CO", 2026, "2b-3", "ZEV", "10.0")], "model_years": [2031, 2031]}
    r = act_pool.run(scenario_of(sales, overrides=NO_SMALL, **keys))
    assert comp(r, "CO", 2031, "2b-3")[["deficits", "met", "unmet"]].tolist() == [56, 56, 0]
    assert moves(r, action="expire")[["vintage", "model_year", "credits"]].values.tolist() == [[2026, 2031, 44]]
    # The fixed-date reading for CO: the credits end with MY2030. Simulating MY2030-2031, all 10.0 expire
    # after MY2030 (nothing owed then) and CO's MY2031 5.6 stay unmet.
    fixed_life = {**NO_SMALL, "credit_life.early_fixed_states": ["CO"]}
    fixed = act_pool.run(scenario_of(sales, overrides=fixed_life, **{**keys, "model_years": [2030, 2031]}))
    assert comp(fixed, "CO", 2031, "2b-3")[["met", "unmet"]].tolist() == [0, 56]
    assert comp(fixed, "CO", 2031, "2b-3")["reason"] == "credits expired"
    assert moves(fixed, action="expire")[["vintage", "model_year", "credits"]].values.tolist() == [[2026, 2030, 100]]
    # Starting in MY2031, that balance would be dead on arrival: an input error naming the bank row.
    with pytest.raises(act_pool.InputError, match="2030"):
        scenario_of(sales, overrides=fixed_life, **keys)


def test_makeup_is_zev_only_under_2021(scenario_of):
    # MY2024: 1000 Class 2b-3 ICE -> 40.0 deficits, no credits.
    # MY2025: 100 Class 4-5 NZEVs with 100 miles -> 100 x 1 x 0.75 = 75.0 NZEV credits; they also owe
    # 100 x 11 % x 1 = 11.0 deficits, of which NZEV may meet 50 % = 5.5.
    # The carried MY2024 deficit cannot be made up with NZEV credits: short after MY2025 (one-year make-up).
    sales = [row("CA", 2024, "2b-3", "ICE", 1000), row("CA", 2025, "4-5", "NZEV", 100, aer=100)]
    r = act_pool.run(scenario_of(sales, rules="act-2021", model_years=[2024, 2025], overrides=NO_SMALL))
    assert comp(r, "CA", 2024, "2b-3")[["deficits", "met", "status"]].tolist() == [400, 0, "short"]
    assert comp(r, "CA", 2024, "2b-3")["reason"] == "make-up is ZEV only"
    assert comp(r, "CA", 2025, "4-8")["reason"] == "NZEV cap"
    assert comp(r, "CA", 2025, "4-8")[["deficits", "met", "unmet", "status"]].tolist() == [110, 55, 55, "open"]
    # The same under act-2025: three-year make-up, so MY2024 is still open at the horizon.
    r25 = act_pool.run(scenario_of(sales, rules="act-2025", model_years=[2024, 2025], overrides=NO_SMALL,
                                   retirement=EE))
    assert comp(r25, "CA", 2024, "2b-3")["status"] == "open"


def test_makeup_with_next_years_zev_credits(scenario_of):
    # MY2024: 40.0 deficits unmet. MY2025: 50 Class 2b-3 ZEVs -> 40.0 credits; 1050 Class 2b-3 vehicles owe
    # 1050 x 7 % x 0.8 = 58.8. Carried deficits come first: the 40.0 ZEV credits make up MY2024 in MY2025;
    # MY2025's 58.8 stay open.
    sales = [row("CA", 2024, "2b-3", "ICE", 1000), row("CA", 2025, "2b-3", "ICE", 1000),
             row("CA", 2025, "2b-3", "ZEV", 50)]
    r = act_pool.run(scenario_of(sales, rules="act-2021", model_years=[2024, 2025], overrides=NO_SMALL))
    c24 = comp(r, "CA", 2024, "2b-3")
    assert c24[["deficits", "met", "met_by_makeup", "status"]].tolist() == [400, 400, 400, "compliant"]
    assert comp(r, "CA", 2025, "2b-3")[["deficits", "unmet", "status"]].tolist() == [588, 588, "open"]
    m = moves(r, action="retire")
    assert m[["vintage", "model_year", "year", "credits"]].values.tolist() == [[2025, 2024, 2025, 400]]


@pytest.mark.parametrize("nzev_bank, met, left", [("20.0", 200, 0), ("20.1", 200, 1), ("19.9", 199, 0)])
def test_nzev_cap_at_exactly_fifty_percent(scenario_of, nzev_bank, met, left):
    # 1000 Class 2b-3 ICE in MY2024: 40.0 deficits; NZEV credits may meet at most 50 % = 20.0.
    sc = scenario_of([row("CA", 2024, "2b-3", "ICE", 1000)], rules="act-2021", overrides=NO_SMALL,
                     bank=[bank("CA", 2023, "2b-3", "NZEV", nzev_bank)])
    r = act_pool.run(sc)
    assert comp(r, "CA", 2024, "2b-3")["met"] == met
    assert int(r.balances.query("model_year == 2024")["credits"].sum()) == left


def test_nzev_cap_rounds_down_to_a_tenth(scenario_of):
    # Case C: 40.0 (2b-3) + 40.5 (4-8) = 80.5 combined -> 40.25 -> at most 40.2 NZEV credits.
    sales = [row("CA", 2024, "2b-3", "ICE", 1000), row("CA", 2024, "4-5", "ICE", 200),
             row("CA", 2024, "6-7", "ICE", 100), row("CA", 2024, "8", "ICE", 50)]
    r = act_pool.run(scenario_of(sales, rules="act-2021", bank=[bank("CA", 2023, "2b-3", "NZEV", "100.0")]))
    assert int(r.compliance["met"].sum()) == 402


@pytest.mark.parametrize("tractors, deficits, met", [
    (200, 250, 250),   # 200 x 5 % x 2.5 = 25.0 tractor deficits: the flexibility applies, 25.0 met
    (201, 251, 0),     # 201 x 5 % x 2.5 = 25.125 -> 25.1 > 25: no flexibility under act-2021
])
def test_low_volume_tractor_flexibility(scenario_of, tractors, deficits, met):
    sc = scenario_of([row("CA", 2024, "tractor", "ICE", tractors), row("CA", 2024, "2b-3", "ICE", 0)],
                     rules="act-2021", overrides=NO_SMALL, bank=[bank("CA", 2023, "2b-3", "ZEV", "30.0")])
    c = comp(act_pool.run(sc), "CA", 2024, "tractor")
    assert c[["deficits", "met"]].tolist() == [deficits, met]
    assert c["reason"] == ("" if met == deficits else "tractor group limit")


def test_case_e_low_volume_after_tractor_credits(scenario_of):
    # Case E: 20.0 tractor deficits (160 x 5 % x 2.5), 12.5 tractor ZEV credits; the remaining 7.5
    # are met with Class 2b-3 ZEV credits under the flexibility.
    sc = scenario_of([row("CA", 2024, "tractor", "ICE", 160)], rules="act-2021", overrides=NO_SMALL,
                     bank=[bank("CA", 2023, "tractor", "ZEV", "12.5"), bank("CA", 2023, "2b-3", "ZEV", "30.0")])
    r = act_pool.run(sc)
    m = moves(r, action="retire").set_index("rule")["credits"]
    assert m.to_dict() == {"tractor-zev": 125, "low-volume-flexibility": 75}


@pytest.mark.parametrize("nontractor_bank, met", [("62.5", 625), ("62.6", 625), ("100.0", 625)])
def test_tractor_offset_at_its_portion_and_a_tenth_past(scenario_of, nontractor_bank, met):
    # act-2025, MY2026: 1000 tractors x 10 % x 2.5 = 250.0 deficits (> 25: no low-volume flexibility).
    # The assumed offset portion 25 % lets Class 2b-3 ZEV credits meet 62.5 of them, not 62.6.
    sc = scenario_of([row("CA", 2026, "tractor", "ICE", 1000)], rules="act-2025", retirement=EE,
                     bank=[bank("CA", 2023, "2b-3", "ZEV", nontractor_bank)])
    r = act_pool.run(sc)
    c = comp(r, "CA", 2026, "tractor")
    assert c[["deficits", "met", "met_by_tractor_offset"]].tolist() == [2500, met, met]
    assert c["reason"] == ("tractor offset used up" if nontractor_bank != "62.5" else "no credits held")
    assert set(moves(r, action="retire")["rule"]) == {"tractor-offset"}


def test_tractor_offset_never_uses_nzev(scenario_of):
    sc = scenario_of([row("CA", 2026, "tractor", "ICE", 1000)], rules="act-2025", retirement=EE,
                     bank=[bank("CA", 2023, "2b-3", "NZEV", "100.0")])
    assert comp(act_pool.run(sc), "CA", 2026, "tractor")["met"] == 0


def test_offset_portion_is_overridable(scenario_of):
    sc = scenario_of([row("CA", 2026, "tractor", "ICE", 1000)], rules="act-2025", retirement=EE,
                     bank=[bank("CA", 2023, "2b-3", "ZEV", "500.0")], overrides={"tractor_offset.fraction": 0.5})
    r = act_pool.run(sc)
    assert comp(r, "CA", 2026, "tractor")["met"] == 1250   # 50 % of 250.0
    assert "tractor_offset.fraction" in r.summary()["assumptions"]


def test_pooling_moves_surplus_only(scenario_of):
    # MY2025, act-2025, regulatory order with pooling. CA: 1000 Class 2b-3 -> 56.0 deficits, 60.0 own
    # credits: 56.0 met at home, 4.0 surplus. OR: 56.0 deficits, 50.0 own credits -> 6.0 open, of which the
    # CA surplus meets 4.0; 2.0 stay unmet. CA's own deficits are met first.
    sales = [row("CA", 2025, "2b-3", "ICE", 1000), row("OR", 2025, "2b-3", "ICE", 1000)]
    sc = scenario_of(sales, rules="act-2025", retirement=EE, model_years=[2025, 2025],
                     bank=[bank("CA", 2023, "2b-3", "ZEV", "60.0"), bank("OR", 2023, "2b-3", "ZEV", "50.0")])
    r = act_pool.run(sc)
    assert comp(r, "CA", 2025, "2b-3")[["met", "unmet"]].tolist() == [560, 0]
    assert comp(r, "OR", 2025, "2b-3")[["met", "met_by_pooled", "unmet"]].tolist() == [540, 40, 20]
    pooled = moves(r, pooled=True)
    assert pooled[["origin_state", "state", "credits"]].values.tolist() == [["CA", "OR", 40]]
    # pooling = false: OR keeps its 6.0 unmet and CA its surplus
    r_off = act_pool.run(sc.with_rules("act-2025", pooling=False, retirement=EE))
    assert comp(r_off, "OR", 2025, "2b-3")["unmet"] == 60
    assert comp(r_off, "OR", 2025, "2b-3")["reason"] == "state not in the pool"
    assert not r_off.ledger["pooled"].any()


def test_no_pooling_before_its_first_model_year(scenario_of):
    # Pooled credits meet deficits from MY2025 (assumed first pooling year): CA's MY2024 deficits cannot
    # draw on OR's credits even though OR holds surplus.
    sales = [row("CA", 2024, "2b-3", "ICE", 1000), row("OR", 2024, "2b-3", "ICE", 1000)]
    sc = scenario_of(sales, rules="act-2025", retirement=EE, model_years=[2024, 2024],
                     bank=[bank("OR", 2023, "2b-3", "ZEV", "60.0")])
    r = act_pool.run(sc)
    assert comp(r, "CA", 2024, "2b-3")["unmet"] == 400
    assert not r.ledger["pooled"].any()


def test_receiving_state_must_have_started(scenario_of):
    # Colorado's first deficit model year is 2027 (2026 below): its MY2025 sales accrue nothing, so CA's
    # credits have nothing to meet there. With the start year overridden to 2025, CA's surplus meets
    # CO's 56.0 MY2025 deficits.
    sales = [row("CO", 2025, "2b-3", "ICE", 1000)]
    banks = [bank("CA", 2023, "2b-3", "ZEV", "100.0")]
    over = {"states.CO.first_deficit_model_year": 2025}
    keys = {"rules": "act-2025", "retirement": EE, "bank": banks, "states": ["CA", "CO"]}
    r = act_pool.run(scenario_of(sales, overrides=over, **keys))
    assert comp(r, "CO", 2025, "2b-3")["met_by_pooled"] == 560
    r2 = act_pool.run(scenario_of(sales, overrides={"states.CO.first_deficit_model_year": 2026}, **keys))
    assert comp(r2, "CO", 2025, "2b-3")["deficits"] == 0  # not started: nothing accrues, nothing pooled in
    assert not r2.ledger["pooled"].any()


def test_small_manufacturer_owes_nothing_but_earns(scenario_of):
    r = act_pool.run(scenario_of([row("CA", 2024, "2b-3", "ICE", 490), row("CA", 2024, "2b-3", "ZEV", 10)],
                                 rules="act-2021"))
    c = comp(r, "CA", 2024, "2b-3")
    assert c[["deficits", "zev_credits", "status", "small_manufacturer"]].tolist() == [0, 80, "compliant", True]


def test_paused_state_is_accounted_but_not_enforced(scenario_of):
    r = act_pool.run(scenario_of([row("OR", 2025, "2b-3", "ICE", 1000)], rules="act-2021"))
    c = comp(r, "OR", 2025, "2b-3")
    assert c[["deficits", "unmet", "enforced"]].tolist() == [560, 560, False]


def test_explicit_retirement_order(scenario_of):
    # act-2025, MY2024: 1000 Class 2b-3 -> 40.0 deficits. Bank: 30.0 ZEV and 30.0 NZEV credits.
    # Regulatory order (NZEV first, within the 50 % cap): 20.0 NZEV + 20.0 ZEV; 10.0 of each left.
    # "zev-first": 30.0 ZEV + 10.0 NZEV; 20.0 NZEV left.
    banks = [bank("CA", 2023, "2b-3", "ZEV", "30.0"), bank("CA", 2023, "2b-3", "NZEV", "30.0")]
    sales = [row("CA", 2024, "2b-3", "ICE", 1000)]

    def left(retirement):
        r = act_pool.run(scenario_of(sales, rules="act-2025", bank=banks, retirement=retirement))
        assert int(r.compliance["unmet"].sum()) == 0
        return r.balances.groupby("credit_type")["credits"].sum().to_dict()

    assert left(EE) == {"NZEV": 100, "ZEV": 100}
    assert left(["zev-first", "oldest-first"]) == {"NZEV": 200}


@pytest.mark.parametrize("rules, order, phrase", [
    ("act-2021", ["zev-first"], "fixes the retirement order"),
    ("act-2025", ["sideways-first"], "unknown preference"),
    ("act-2025", ["zev-first", "nzev-first"], "more than one preference for the credit type"),
])
def test_explicit_order_is_validated(scenario_of, rules, order, phrase):
    with pytest.raises(act_pool.InputError) as exc:
        scenario_of([row("CA", 2024, "2b-3", "ICE", 1000)], rules=rules, retirement=order)
    assert exc.value.problems[0].field == "retirement" and phrase in exc.value.problems[0].message
