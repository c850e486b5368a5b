"""Least-cost plans (act_pool.plan): hand-worked plans, rule limits, infeasible levers, credit values.

Per-vehicle amounts used below (act-2025, MY2025, 13 CCR §1963.1-1963.2):
- deficit per vehicle = ZEV sales percentage x weight class modifier (WCM):
  Class 2b-3: 7 % x 0.8 = 0.056; tractor: 7 % x 2.5 = 0.175; Class 4-8 group: 11 % x WCM
  (Class 4-5: 0.11, Class 8: 0.22).
- a conversion adds the WCM in ZEV credits: 0.8 (2b-3), 1.0 (4-5), 2.0 (8), 2.5 (tractor).
"""
from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

import pandas as pd
import pytest

import act_pool
from act_pool.plan.model import build_model, conversion_candidates, solve_model
from act_pool.plan.planner import levers_of
from helpers import row

ISSUE_COSTS = {"2b-3": 20000, "4-5": 30000, "6-7": 45000, "8": 60000, "tractor": 150000}


def conversions(result) -> dict[tuple, int]:
    t = result.table[result.table["extra_zev"] > 0]
    return {(r.state, r.model_year, r.weight_class): int(r.extra_zev) for r in t.itertuples(index=False)}


@pytest.fixture
def issue_example(scenario_of):
    """The issue's example: one maker, MY2025, pooling on, tractor offset 25 %.

    CA 1,000 ICE tractors: 1000 x 0.175 = 175.0 deficits. NJ 1,000 ICE vans: 1000 x 0.056 = 56.0.
    Offset allowance: 25 % x 175.0 = 43.75, rounded down to the tenth: 43.7 (credits retire in tenths).
    """
    return scenario_of([row("CA", 2025, "tractor", "ICE", 1000), row("NJ", 2025, "2b-3", "ICE", 1000)],
                       model_years=[2025, 2025], pooling=True, overrides={"tractor_offset.fraction": 0.25})


def test_issue_example_hand_worked(issue_example):
    """Vans cost 20,000 / 0.8 = 25,000 per credit, tractors 150,000 / 2.5 = 60,000: vans first, as far
    as the offset lets their credits meet tractor deficits.

    Tractor credits must cover at least 175.0 - 43.7 = 131.3: 52 tractors give 130.0 (short),
    53 give 132.5. Then the offset needs 175.0 - 132.5 = 42.5 pooled van credits and NJ 56.0:
    98.5 / 0.8 = 123.1 -> 124 vans (99.2 credits: 56.0 for NJ, 43.2 left for CA's offset).
    Cost 124 x 20,000 + 53 x 150,000 = 2,480,000 + 7,950,000 = 10,430,000.
    """
    result = act_pool.plan(issue_example, levers={"zev_cost": ISSUE_COSTS})
    assert conversions(result) == {("NJ", 2025, "2b-3"): 124, ("CA", 2025, "tractor"): 53}
    assert result.cost == Decimal(10_430_000)
    assert result.table["credits_bought"].sum() == 0
    assert result.not_met.empty and result.still_unmet().empty
    c = result.planned.compliance.set_index(["state", "group"])
    assert c.loc[("CA", "tractor"), "met"] == 1750 and c.loc[("NJ", "2b-3"), "met"] == 560
    # CA's tractor deficits: 132.5 from the 53 tractors, the other 175.0 - 132.5 = 42.5 by the offset with
    # NJ van credits pooled (within the 43.7 allowance); 99.2 - 56.0 - 42.5 = 0.7 van credits stay banked.
    assert c.loc[("CA", "tractor"), "met_by_tractor_offset"] == 425
    assert c.loc[("CA", "tractor"), "met_by_pooled"] == 425
    assert int(result.planned.conservation["closing"].sum()) == 7


def test_issue_example_relaxation_rounded_up_costs_more(issue_example):
    """Relaxed: vans (56.0 + 43.7) / 0.8 = 124.625, tractors 131.3 / 2.5 = 52.52, cost 10,370,500.
    Rounded up: 125 x 20,000 + 53 x 150,000 = 10,450,000, more than the MIP's 10,430,000."""
    lev = levers_of(issue_example, {"zev_cost": ISSUE_COSTS})
    problem = act_pool.run(issue_example).problem
    model = build_model(problem, lev, conversion_candidates(issue_example, lev), ["M"])
    relaxed = solve_model(model, integer=False)
    assert relaxed.cost == pytest.approx(10_370_500)
    conv = (model.columns["kind"] == "convert").to_numpy()
    x = relaxed.x[conv]
    costs = model.columns.loc[conv, "cost"].to_numpy()
    assert sorted(x) == pytest.approx([52.52, 124.625])
    assert sum(math.ceil(v - 1e-9) * c for v, c in zip(x, costs)) == 10_450_000


def test_credit_values_hand_worked_and_marginal(issue_example):
    """At the margin one more tractor deficit credit is met by tractors (the offset is used up):
    150,000 / 2.5 = 60,000 USD per credit; one more NJ van credit by vans: 20,000 / 0.8 = 25,000.
    Adding one tenth of CA tractor deficit (175.1: the allowance stays 0.25 x 175.1 -> 43.7) raises the
    relaxed cost by a tenth of the value: 6,000 USD."""
    lev = levers_of(issue_example, {"zev_cost": ISSUE_COSTS})
    result = act_pool.plan(issue_example, levers=lev)
    values = result.credit_values.set_index(["state", "group"])["usd_per_credit"]
    assert values[("CA", "tractor")] == pytest.approx(60_000)
    assert values[("NJ", "2b-3")] == pytest.approx(25_000)

    problem = result.baseline.problem
    cand = conversion_candidates(issue_example, lev)
    base = solve_model(build_model(problem, lev, cand, ["M"]), integer=False).cost
    for state, group in (("CA", "tractor"), ("NJ", "2b-3")):
        deficits = problem.deficits.copy()
        deficits.loc[(deficits["state"] == state) & (deficits["group"] == group), "deficits"] += 1
        bumped = dataclasses.replace(problem, deficits=deficits)
        more = solve_model(build_model(bumped, lev, cand, ["M"]), integer=False).cost
        assert more - base == pytest.approx(values[(state, group)] / 10)


def test_cheaper_credit_per_dollar_is_chosen(scenario_of):
    """CA MY2025, Class 4-8 group: 1,000 ICE Class 4-5 (1000 x 0.11 = 110.0) and 100 ICE Class 8
    (100 x 0.22 = 22.0): 132.0 deficits. Class 4-5 costs 30,000 / 1.0 = 30,000 per credit, Class 8
    50,000 / 2.0 = 25,000: the plan converts 132.0 / 2.0 = 66 Class 8 trucks, 3,300,000 USD.
    At a credit price of 24,000 buying is cheaper still: 132.0 x 24,000 = 3,168,000."""
    sc = scenario_of([row("CA", 2025, "4-5", "ICE", 1000), row("CA", 2025, "8", "ICE", 100)],
                     model_years=[2025, 2025])
    result = act_pool.plan(sc, levers={"zev_cost": {"4-5": 30000, "8": 50000}})
    assert conversions(result) == {("CA", 2025, "8"): 66}
    assert result.cost == Decimal(3_300_000)
    bought = act_pool.plan(sc, levers={"zev_cost": {"4-5": 30000, "8": 50000}, "credit_price": 24000})
    assert conversions(bought) == {}
    assert bought.table["credits_bought"].sum() == 1320 and bought.cost == Decimal(3_168_000)
    assert bought.still_unmet().empty
    assert bought.planned.compliance["met_by_purchase"].sum() == 1320


def test_nzev_cap_is_respected(scenario_of):
    """CA MY2025: 1,000 ICE vans, 56.0 deficits; an opening bank of 100.0 NZEV credits (2b-3, 2024).
    NZEV credits may meet at most 50 % x 56.0 = 28.0; the other 28.0 need 28.0 / 0.8 = 35 vans,
    35 x 20,000 = 700,000 USD."""
    sc = scenario_of([row("CA", 2025, "2b-3", "ICE", 1000)], bank=[("M", "CA", 2024, "2b-3", "NZEV", "100.0")],
                     model_years=[2025, 2025])
    result = act_pool.plan(sc, levers={"zev_cost": {"2b-3": 20000}})
    assert conversions(result) == {("CA", 2025, "2b-3"): 35}
    assert result.cost == Decimal(700_000)
    c = result.planned.compliance
    assert c["unmet"].sum() == 0 and c["met_by_nzev"].sum() == 280


def test_max_zev_share_caps_conversions_and_infeasible_rows_are_reported(scenario_of, tmp_path):
    """CA MY2025: 1,000 ICE tractors (175.0). max_zev_share 0.02 lets 0.02 x 1000 = 20 tractors
    become ZEVs (50.0 credits); no purchases: 125.0 stays unmet, and the plan says why."""
    sc = scenario_of([row("CA", 2025, "tractor", "ICE", 1000)], model_years=[2025, 2025])
    result = act_pool.plan(sc, levers={"zev_cost": {"tractor": 150000}, "max_zev_share": 0.02})
    assert conversions(result) == {("CA", 2025, "tractor"): 20}
    nm = result.not_met
    assert list(nm[["state", "model_year", "group", "unmet"]].itertuples(index=False, name=None)) == [
        ("CA", 2025, "tractor", 1250)]
    assert "every ICE vehicle" in nm["why"].iloc[0] and "purchases are forbidden" in nm["why"].iloc[0]
    assert int(result.still_unmet()["unmet"].sum()) == 1250
    assert "remain unmet" in result.statement()


def test_no_lever_at_all_is_reported(scenario_of):
    """Tractor deficits, only vans may be converted and none are sold: nothing can meet 175.0."""
    sc = scenario_of([row("CA", 2025, "tractor", "ICE", 1000)], model_years=[2025, 2025])
    result = act_pool.plan(sc, levers={"zev_cost": {"2b-3": 20000}})
    assert result.table.empty
    assert result.not_met["unmet"].tolist() == [1750]
    assert result.not_met["why"].iloc[0].startswith("no ICE vehicle left to convert")


def test_allow_open_leaves_makeup_deficits_open(scenario_of):
    """MY2025 deficits with a three-year make-up (act-2025) run past a 2025 horizon: with allow_open
    the cheapest plan leaves them open (cost 0); without it, it closes them: 1000 x 0.056 = 56.0
    deficits, 56.0 / 0.8 = 70 vans, 70 x 20,000 = 1,400,000 USD."""
    sc = scenario_of([row("CA", 2025, "2b-3", "ICE", 1000)], model_years=[2025, 2025])
    closed = act_pool.plan(sc, levers={"zev_cost": {"2b-3": 20000}})
    assert conversions(closed) == {("CA", 2025, "2b-3"): 70} and closed.cost == Decimal(1_400_000)
    opened = act_pool.plan(sc, levers={"zev_cost": {"2b-3": 20000}, "allow_open": True})
    assert opened.table.empty and opened.cost == 0
    assert opened.still_unmet().empty and "open" in opened.statement()


def test_market_trades_expiring_credits(scenario_of):
    """MY2030, CA: maker A sells 1,000 ICE tractors (30 % x 2.5 = 0.75 each: 750.0 deficits; more than
    500 vehicles, so not a small manufacturer); maker B holds 1,000.0 tractor ZEV credits of 2025, whose
    life ends with MY2030 (vintage + 5), and has no deficits.
    Alone, A buys 750.0 at 28,000 (cheaper than 150,000 / 2.5 = 60,000 per credit by conversion):
    21,000,000 USD. In the market A buys 750.0 of B's credits, which would otherwise expire: nothing
    converted or bought outside; A pays B 750.0 x 28,000 = 21,000,000."""
    sc = scenario_of([row("CA", 2030, "tractor", "ICE", 1000, manufacturer="A"),
                      row("CA", 2030, "2b-3", "ZEV", 0, manufacturer="B")],
                     bank=[("B", "CA", 2025, "tractor", "ZEV", "1000.0")], model_years=[2030, 2030])
    lev = {"zev_cost": {"tractor": 150000}, "credit_price": 28000}
    alone = act_pool.plan(sc, levers=lev)
    assert alone.cost == Decimal(21_000_000) and alone.table["credits_bought"].sum() == 7500
    assert alone.still_unmet().empty
    market = act_pool.plan(sc, levers=lev, market=True)
    assert market.cost == 0
    trades = market.trades
    assert list(trades[["seller", "buyer", "state", "group", "credit_type", "credits"]].itertuples(
        index=False, name=None)) == [("B", "A", "CA", "tractor", "ZEV", 7500)]
    assert int(market.expiring["covered_from_expiring"].sum()) == 7500
    by = market.cost_by_manufacturer().set_index("manufacturer")["market_payments"]
    assert by["A"] == Decimal(21_000_000) and by["B"] == Decimal(-21_000_000)
    assert market.still_unmet().empty
    assert market.planned.compliance["met_by_traded"].sum() == 7500


def test_market_needs_a_price(scenario_of):
    sc = scenario_of([row("CA", 2025, "tractor", "ICE", 10)], model_years=[2025, 2025])
    with pytest.raises(act_pool.InputError, match="credit_price"):
        act_pool.plan(sc, levers={"zev_cost": {"tractor": 1}}, market=True)


def test_planned_sales_are_a_valid_sales_table(issue_example):
    """The totals stay; converted vehicles move from ICE to ZEV rows (a new ZEV row where none was)."""
    result = act_pool.plan(issue_example, levers={"zev_cost": ISSUE_COSTS})
    s = result.planned_sales.set_index(["state", "weight_class", "powertrain"])["vehicles"]
    assert s[("CA", "tractor", "ICE")] == 947 and s[("CA", "tractor", "ZEV")] == 53
    assert s[("NJ", "2b-3", "ICE")] == 876 and s[("NJ", "2b-3", "ZEV")] == 124
    assert isinstance(result.planned_sales, pd.DataFrame) and result.planned_sales["vehicles"].sum() == 2000
