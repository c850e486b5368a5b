"""A pooling exchange ratio other than 1 (``pooling.exchange_ratio``), worked by hand in both retirement modes.

One manufacturer M under act-2025 with pooling on (small-manufacturer relief off), amounts in integer
tenths as the result tables hold them. Deficits per Class 2b-3 vehicle: 7 % x 0.8 = 0.056 in MY2025,
10 % x 0.8 = 0.08 in MY2026; a Class 2b-3 ZEV earns 0.8; group sums are rounded to the tenth.

Base case, MY2025 only:
- CA: 1,000 Class 2b-3 ICE -> 1,000 x 0.056 = 56.0 deficits (560), no CA credits.
- OR: 100 Class 2b-3 ZEVs -> 80.0 credits (800); OR deficits 100 x 0.056 = 5.6 (56), met by OR's own.
  74.4 (744) OR credits are left to pool.

A pooled retirement of c tenths meets floor(ratio x c) tenths of the receiving state's deficit; the
regulatory order takes the fewest credits that meet what is open, c = ceil(need / ratio).
"""
import math
import random
from fractions import Fraction

import pandas as pd
import pytest

import act_pool
from act_pool.errors import InputError
from act_pool.ledger import build_ledger, compliance_view
from act_pool.obligations import compute_obligations
from act_pool.scenario import load_scenario
from act_pool.solve.mincost import FLEX_ROUTES
from act_pool.solve.optimal import solve_optimal
from act_pool.solve.problem import build_problem
from helpers import REPO, row, write_scenario

NO_SMALL = {"small_manufacturer.max_vehicles": 0}
MODES = ["earliest-expiring", "optimal"]
BASE = [row("CA", 2025, "2b-3", "ICE", 1000), row("OR", 2025, "2b-3", "ZEV", 100)]
KEY = ["manufacturer", "state", "model_year", "group"]


def run(scenario_of, sales, ratio, mode, **keys):
    return act_pool.run(scenario_of(sales, pooling=True, retirement=mode,
                                    overrides={**NO_SMALL, "pooling.exchange_ratio": ratio}, **keys))


def retirements(result):
    """(origin_state, state, model_year, year, credits, deficit_met) of every retirement, in ledger order."""
    ret = result.ledger[result.ledger["action"] == "retire"]
    return ret[["origin_state", "state", "model_year", "year", "credits", "deficit_met"]].values.tolist()


def compliance_row(result, state, model_year, group="2b-3"):
    return result.compliance.set_index(KEY).loc[("M", state, model_year, group)]


def check_books(result):
    """The ledger's views agree: met sums deficit_met, credits drawn are conserved (the run checked it,
    the terms are re-added here), and a pooled row meets at most ratio x credits rounded up."""
    led, comp = result.ledger, result.compliance
    ret = led[led["action"] == "retire"]
    met = ret.groupby(KEY)["deficit_met"].sum()
    joined = comp.set_index(KEY)["met"]
    assert (joined.reindex(met.index) == met).all()
    assert joined.drop(met.index).eq(0).all()
    t = result.conservation
    assert (t["opening"] + t["generated"] + t["traded_in"]
            == t["retired"] + t["expired"] + t["traded_out"] + t["closing"]).all()
    assert (t["retired"] == ret.groupby("manufacturer")["credits"].sum().reindex(t.index, fill_value=0)).all()
    ratio = result.problem.exchange_ratio
    own = ret[~ret["pooled"]]
    assert (own["deficit_met"] == own["credits"]).all()
    for credits, deficit_met in ret.loc[ret["pooled"], ["credits", "deficit_met"]].values.tolist():
        assert 0 <= deficit_met <= math.ceil(ratio * credits)
    assert (led.loc[led["action"] != "retire", "deficit_met"] == 0).all()


@pytest.mark.parametrize("mode", MODES)
def test_ratio_below_one_takes_more_credits_than_it_meets(scenario_of, mode):
    """Ratio 0.8: CA's 56.0 needs c = 560 / 0.8 = 700 tenths (70.0 credits); 0.8 x 700 = 560 exactly.
    OR keeps 80.0 - 5.6 - 70.0 = 4.4. Both modes: pooling is the only way to meet CA."""
    r = run(scenario_of, BASE, 0.8, mode)
    assert retirements(r) == [["OR", "CA", 2025, 2025, 700, 560], ["OR", "OR", 2025, 2025, 56, 56]]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["deficits"], ca["met"], ca["unmet"], ca["met_by_pooled"], ca["status"]) == (560, 560, 0, 560,
                                                                                          "compliant")
    assert int(r.conservation["closing"].sum()) == 800 - 56 - 700
    check_books(r)


@pytest.mark.parametrize("mode", MODES)
def test_ratio_above_one_takes_fewer_credits(scenario_of, mode):
    """Ratio 1.25: c = ceil(560 / 1.25) = 448 tenths (44.8 credits) meet floor(1.25 x 448) = 560.
    OR keeps 80.0 - 5.6 - 44.8 = 29.6 (the optimum: pooling fewer credits leaves the larger bank)."""
    r = run(scenario_of, BASE, 1.25, mode)
    assert retirements(r) == [["OR", "CA", 2025, 2025, 448, 560], ["OR", "OR", 2025, 2025, 56, 56]]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["met"], ca["unmet"], ca["met_by_pooled"]) == (560, 0, 560)
    assert int(r.conservation["closing"].sum()) == 800 - 56 - 448 == 296
    check_books(r)


@pytest.mark.parametrize("mode", MODES)
def test_rounding_down_to_the_tenth(scenario_of, mode):
    """Ratio 0.3. OR: one Class 2b-3 ZEV earns 0.8 (8); OR's deficit 0.056 rounds to 0.1 (1), met by
    its own, 0.7 (7) left. CA: 9 ICE -> 9 x 0.056 = 0.504 -> 0.5 (5). Meeting 5 would need
    ceil(5 / 0.3) = 17 tenths; OR has 7, which meet floor(0.3 x 7) = floor(2.1) = 2 (0.2):
    0.3 stays unmet (open: the make-up period runs past MY2025)."""
    r = run(scenario_of, [row("CA", 2025, "2b-3", "ICE", 9), row("OR", 2025, "2b-3", "ZEV", 1)], 0.3, mode)
    assert retirements(r) == [["OR", "CA", 2025, 2025, 7, 2], ["OR", "OR", 2025, 2025, 1, 1]]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["deficits"], ca["met"], ca["unmet"], ca["status"]) == (5, 2, 3, "open")
    check_books(r)


@pytest.mark.parametrize("mode", MODES)
def test_a_rows_pooled_credits_are_converted_together(scenario_of, mode):
    """Ratio 0.3. CA: 9 ICE -> 0.5 (5) deficits. OR bank: 0.5 (5) of vintage 2023 and 0.5 (5) of
    vintage 2024, both early-action credits usable through MY2030 (the older vintage goes first).
    Converted lot by lot they would meet floor(1.5) + floor(1.5) = 2; converted together, as the
    credits one deficit row takes by one route are, they meet floor(0.3 x 10) = 3, and 0.2 stays
    unmet. Regulatory order: the 2023 lot meets floor(1.5) = 1, the 2024 lot floor(3.0) - 1 = 2.
    Optimum (one pooled arc): the floors 1 and 1, and the tenth left to the first lot whose
    0.3 x 5 is not whole: 2 and 1."""
    bank = [("M", "OR", 2023, "2b-3", "ZEV", "0.5"), ("M", "OR", 2024, "2b-3", "ZEV", "0.5")]
    r = run(scenario_of, [row("CA", 2025, "2b-3", "ICE", 9)], 0.3, mode, bank=bank, states=["CA", "OR"])
    ret = r.ledger[r.ledger["action"] == "retire"]
    expected = {"earliest-expiring": [[2023, 5, 1], [2024, 5, 2]], "optimal": [[2023, 5, 2], [2024, 5, 1]]}
    assert sorted(ret[["vintage", "credits", "deficit_met"]].values.tolist()) == expected[mode]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["deficits"], ca["met"], ca["unmet"]) == (5, 3, 2)
    check_books(r)


@pytest.mark.parametrize("mode", MODES)
def test_ratio_zero_pools_nothing(scenario_of, mode):
    """Ratio 0: a pooled credit meets nothing, so neither mode pools; CA's 56.0 stays unmet and the
    reason names the pool."""
    r = run(scenario_of, BASE, 0, mode)
    assert retirements(r) == [["OR", "OR", 2025, 2025, 56, 56]]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["met"], ca["unmet"], ca["reason"]) == (0, 560, "state not in the pool")
    check_books(r)


def test_optimum_keeps_credits_home_when_pooling_loses_them(scenario_of):
    """Ratio 0.5, MY2025-2026. CA 2026: 100 Class 2b-3 ZEVs -> 80.0 (800) CA credits, 100 x 0.08 = 8.0
    (80) CA deficits; MY2025 as the base case.

    Regulatory order (never looks ahead): in 2025 CA has no credits; OR's 744 are pooled, meeting
    floor(0.5 x 744) = 372 of CA's 560 (1,120 would be needed). In 2026 CA's own credits make up the
    carried 560 - 372 = 188, then meet its 80: nothing unmet, bank 800 - 188 - 80 = 532 (53.2).
    Optimum: nothing unmet either, but CA's 2026 credits make up all 560 and meet the 80, and OR's
    744 stay: bank 800 - 640 + 744 = 904 (90.4), the larger; nothing is pooled."""
    sales = BASE + [row("CA", 2026, "2b-3", "ZEV", 100)]
    seq = run(scenario_of, sales, 0.5, "earliest-expiring")
    assert retirements(seq) == [["OR", "CA", 2025, 2025, 744, 372], ["OR", "OR", 2025, 2025, 56, 56],
                                ["CA", "CA", 2025, 2026, 188, 188], ["CA", "CA", 2026, 2026, 80, 80]]
    assert (int(seq.compliance["unmet"].sum()), int(seq.conservation["closing"].sum())) == (0, 532)
    opt = run(scenario_of, sales, 0.5, "optimal")
    assert sorted(retirements(opt)) == [["CA", "CA", 2025, 2026, 560, 560], ["CA", "CA", 2026, 2026, 80, 80],
                                        ["OR", "OR", 2025, 2025, 56, 56]]
    assert (int(opt.compliance["unmet"].sum()), int(opt.conservation["closing"].sum())) == (0, 904)
    check_books(seq)
    check_books(opt)


NZEV_BANK = [("M", "CA", 2024, "2b-3", "NZEV", "20.0"), ("M", "OR", 2024, "2b-3", "NZEV", "30.0"),
             ("M", "OR", 2024, "2b-3", "ZEV", "10.0")]


@pytest.mark.parametrize("mode", MODES)
def test_nzev_cap_counts_the_deficit_pooled_credits_meet(scenario_of, mode):
    """Ratio 0.8; CA: 56.0 (560) deficits, so NZEV credits may meet 50 % = 28.0 (280). Bank: CA NZEV
    20.0, OR NZEV 30.0, OR ZEV 10.0. CA's own NZEV meet 200; the cap leaves 80 of deficit for pooled
    NZEV, which takes ceil(80 / 0.8) = 100 OR NZEV credits; OR's 100 ZEV meet floor(0.8 x 100) = 80.
    Met 200 + 80 + 80 = 360, unmet 200 (the optimum cannot do better: the cap binds and ZEV credits
    are all used). Counting the cap in credits instead would stop pooled NZEV at 80 credits (64 met)."""
    r = run(scenario_of, [row("CA", 2025, "2b-3", "ICE", 1000)], 0.8, mode, bank=NZEV_BANK, states=["CA", "OR"])
    ret = r.ledger[r.ledger["action"] == "retire"]
    assert sorted(ret[["origin_state", "credit_type", "credits", "deficit_met"]].values.tolist()) == [
        ["CA", "NZEV", 200, 200], ["OR", "NZEV", 100, 80], ["OR", "ZEV", 100, 80]]
    ca = compliance_row(r, "CA", 2025)
    assert (ca["met"], ca["unmet"], ca["met_by_nzev"], ca["met_by_pooled"]) == (360, 200, 280, 160)
    check_books(r)


def test_gates_as_side_rows_hold_at_ratio_one(scenario_of):
    """The same bank at ratio 1, solved as a generalised flow (pooled NZEV straight to the deficit, the
    NZEV cap a side row): 200 own + 80 pooled NZEV (the cap) + 100 pooled ZEV = 380 met, 180 unmet,
    as the network solver finds."""
    sc = scenario_of([row("CA", 2025, "2b-3", "ICE", 1000)], bank=NZEV_BANK, states=["CA", "OR"], pooling=True,
                     retirement="optimal", overrides=NO_SMALL)
    obligations = compute_obligations(sc)
    problem = build_problem(sc, obligations)
    network = goals(problem, obligations, 2025, solve_optimal(problem, "simplex").movements)
    general = goals(problem, obligations, 2025, solve_optimal(problem, "simplex", as_generalised=True).movements)
    assert general == network
    assert general[0] == 560 - 380


def test_ledger_csv_has_deficit_met(scenario_of, tmp_path):
    """The written ledger carries both amounts in credits: 70.0 retired, 56.0 met."""
    r = run(scenario_of, BASE, 0.8, "optimal")
    r.write(tmp_path / "out", reports=False)
    led = pd.read_csv(tmp_path / "out" / "ledger.csv", dtype=str)
    pooled = led[led["pooled"] == "true"]
    assert pooled[["credits", "deficit_met"]].values.tolist() == [["70.0", "56.0"]]


@pytest.mark.parametrize("ratio", [-0.5, 0.00005, 11])
def test_bad_ratios_are_input_errors(scenario_of, ratio):
    with pytest.raises(InputError) as exc:
        run(scenario_of, BASE, ratio, "optimal")
    assert exc.value.problems[0].field == "overrides.pooling.exchange_ratio"


def test_plan_refuses_a_ratio_other_than_one(scenario_of):
    from act_pool.plan import plan

    sc = scenario_of(BASE, pooling=True, overrides={**NO_SMALL, "pooling.exchange_ratio": 0.8})
    with pytest.raises(InputError) as exc:
        plan(sc, levers={"zev_cost": {"2b-3": 30000}})
    assert exc.value.problems[0].field == "overrides.pooling.exchange_ratio"


def goals(problem, obligations, last_year, movements):
    """(unmet, expired, pooled, flexible-route) tenths of a plan, read from its ledger."""
    led = build_ledger(movements)
    comp = compliance_view(obligations, led, problem.makeup_years, last_year)
    ret = led[led["action"] == "retire"]
    return (int(comp["unmet"].sum()), int(led.loc[led["action"] == "expire", "credits"].sum()),
            int(ret.loc[ret["pooled"], "credits"].sum()), int(ret.loc[ret["rule"].isin(sorted(FLEX_ROUTES)),
                                                                      "credits"].sum()))


POOLED_BUNDLED = [p for p in sorted(REPO.glob("scenarios/*/scenario.toml"))
                  if p.parent.name != "default" and load_scenario(p).pooling]


@pytest.mark.parametrize("path", POOLED_BUNDLED + [REPO / "scenarios" / "default" / "scenario.toml"],
                         ids=[p.parent.name for p in POOLED_BUNDLED] + ["default"])
def test_generalised_model_at_ratio_one_matches_the_network_solver(path):
    """At ratio 1 the generalised model (pooled routes straight to their deficits, the gates as side
    rows, met columns) must reach the network optimum's unmet, expired, pooled and flexibility totals on every
    bundled scenario that pools, the default one (several manufacturers, states, years, trades) included."""
    sc = load_scenario(path)
    obligations = compute_obligations(sc)
    problem = build_problem(sc, obligations)
    last = sc.model_years[1]
    network = goals(problem, obligations, last, solve_optimal(problem, "simplex").movements)
    general = goals(problem, obligations, last, solve_optimal(problem, "simplex", as_generalised=True).movements)
    assert general == network


def random_case(rng: random.Random):
    """A small random pooled scenario: two or three states, two model years, ICE, ZEV and NZEV sales in
    a few weight classes, and some opening bank."""
    states = rng.sample(["CA", "NJ", "OR", "WA"], rng.randint(2, 3))
    first = rng.randint(2025, 2027)
    rows = []
    for s in states:
        for y in (first, first + 1):
            for wc in rng.sample(["2b-3", "6-7", "tractor"], rng.randint(1, 3)):
                rows.append(row(s, y, wc, "ICE", rng.randint(0, 600)))
                rows.append(row(s, y, wc, "ZEV", rng.randint(0, 80)))
                if rng.random() < 0.5:
                    rows.append(row(s, y, wc, "NZEV", rng.randint(1, 30), aer=rng.randint(20, 90)))
    bank = [("M", s, 2024, g, c, f"{rng.randint(0, 300) / 10:.1f}")
            for s in states for g in ("2b-3", "tractor") for c in ("ZEV", "NZEV") if rng.random() < 0.5]
    return rows, bank, [first, first + 1]


@pytest.mark.parametrize("seed", range(8))
def test_random_scenarios_generalised_at_ratio_one(tmp_path, seed):
    """Random scenarios with tractors and NZEVs (so pooled credits meet gated routes: the NZEV caps,
    the low-volume flexibility, the tractor offset): at ratio 1 the generalised model, whose gates are
    side rows, reaches the network optimum's goals."""
    rows, bank, years = random_case(random.Random(100 + seed))
    sc = load_scenario(write_scenario(tmp_path, rows, bank=bank, model_years=years, pooling=True,
                                      retirement="optimal", overrides=NO_SMALL))
    obligations = compute_obligations(sc)
    problem = build_problem(sc, obligations)
    network = goals(problem, obligations, years[1], solve_optimal(problem, "simplex").movements)
    general = goals(problem, obligations, years[1], solve_optimal(problem, "simplex", as_generalised=True).movements)
    assert general == network


@pytest.mark.parametrize("seed", range(6))
def test_random_scenarios_at_ratio_point_nine(tmp_path, seed):
    """Ratio 0.9 on random scenarios: the optimum leaves no more unmet than the regulatory order (the
    regulatory order's plan is one the optimum may choose: both convert a deficit row's pooled
    credits of one route together), and in both the books balance and met sums deficit_met."""
    rows, bank, years = random_case(random.Random(seed))
    results = {}
    for mode in MODES:
        path = write_scenario(tmp_path / mode, rows, bank=bank, model_years=years, pooling=True, retirement=mode,
                              overrides={**NO_SMALL, "pooling.exchange_ratio": 0.9})
        results[mode] = act_pool.run(path)
        check_books(results[mode])
    assert results["optimal"].problem.exchange_ratio == Fraction(9, 10)
    assert (results["optimal"].compliance["unmet"].sum() <= results["earliest-expiring"].compliance["unmet"].sum())


def test_a_tier_cut_short_keeps_a_feasible_plan(tmp_path, monkeypatch):
    """With one branch-and-bound node per tier, HiGHS stops before proving the first tier optimal on
    this random scenario (the statuses are recorded to show it): the plan found stands, balances, and
    leaves no fewer unmet than the exact optimum (the same scenario solved without the cut)."""
    import highspy

    from act_pool.solve import mincost

    rows, bank, years = random_case(random.Random(0))
    path = write_scenario(tmp_path, rows, bank=bank, model_years=years, pooling=True, retirement="optimal",
                          overrides={**NO_SMALL, "pooling.exchange_ratio": 0.9})
    exact = act_pool.run(path)
    statuses = []

    class Recording(getattr(highspy, "_Highs", highspy.Highs)):
        def run(self):
            out = super().run()
            statuses.append(self.getModelStatus())
            return out

    def recording():
        h = Recording()
        h.setOptionValue("output_flag", False)
        return h

    monkeypatch.setattr(mincost, "_quiet_highs", recording)
    monkeypatch.setattr(mincost, "GENERALISED_NODES", 1)
    cut = act_pool.run(path)
    assert highspy.HighsModelStatus.kSolutionLimit in statuses
    check_books(cut)
    assert cut.compliance["unmet"].sum() >= exact.compliance["unmet"].sum()
