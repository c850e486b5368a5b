"""The optimal plan: every solver agrees, and none does worse than the regulatory order."""
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import act_pool
from act_pool.ledger import balances_view, build_ledger, compliance_view
from act_pool.solve.network import build_network
from act_pool.solve.optimal import solve_optimal
from helpers import row

NO_SMALL = {"small_manufacturer.max_vehicles": 0}


def outcome(result, solver):
    """(total unmet, total expired, closing bank) of the optimal plan found by ``solver``, in tenths."""
    led = build_ledger(solve_optimal(result.problem, solver).movements)
    comp = compliance_view(result.obligations, led, result.problem.makeup_years, result.scenario.model_years[1])
    bal = balances_view(result.problem, led)
    last = result.scenario.model_years[1]
    return (int(comp["unmet"].sum()), int(led.loc[led["action"] == "expire", "credits"].sum()),
            int(bal.loc[bal["model_year"] == last, "credits"].sum()))


def test_tiny_network_by_hand(scenario_of):
    # One state, MY2024-2025, act-2025. Bank: 30.0 Class 2b-3 ZEV credits of MY2021 (usable through 2030).
    # MY2024: 1000 Class 2b-3 -> 40.0 deficits; MY2025: 0 vehicles. The optimum meets 30.0 and leaves
    # 10.0 open (three-year make-up), nothing expires, nothing is left in the bank.
    sc = scenario_of([row("CA", 2024, "2b-3", "ICE", 1000)], rules="act-2025", model_years=[2024, 2025],
                     bank=[("M", "CA", 2021, "2b-3", "ZEV", "30.0")])
    r = act_pool.run(sc)
    assert outcome(r, "highs") == outcome(r, "networkx") == outcome(r, "simplex") == (100, 0, 0)
    G = build_network(r.problem, "M")
    assert G.nodes[("deficit", "CA", 2024, "2b-3")]["demand"] == 400
    assert G.nodes[("bank", "CA", "2b-3", "ZEV", 2030, 2024)]["demand"] == -300
    # retire arcs from MY2024 and MY2025 credits to the MY2024 deficit (make-up), never to a future year
    assert G.has_edge(("avail", "CA", "2b-3", "ZEV", 2025), ("deficit", "CA", 2024, "2b-3"))


def test_expiry_within_and_after_the_horizon(scenario_of):
    # act-2025, horizon MY2029-2030. Bank: 10.0 credits of MY2024 (usable through 2029) and 10.0 of MY2026
    # (through 2031, past the horizon). Deficits: MY2029 20 x 25 % x 0.8 = 4.0; MY2030 20 x 30 % x 0.8 = 4.8.
    # Best plan: MY2029 from the MY2024 credits (6.0 of them expire at the end of 2029), MY2030 from the
    # MY2026 credits: 10.0 - 4.8 = 5.2 left unexpired in the bank at the horizon.
    sales = [row("CA", 2029, "2b-3", "ICE", 20), row("CA", 2030, "2b-3", "ICE", 20)]
    banks = [("M", "CA", 2024, "2b-3", "ZEV", "10.0"), ("M", "CA", 2026, "2b-3", "ZEV", "10.0")]
    sc = scenario_of(sales, rules="act-2025", bank=banks, model_years=[2029, 2030], overrides=NO_SMALL)
    r = act_pool.run(sc)
    assert outcome(r, "highs") == outcome(r, "networkx") == outcome(r, "simplex") == (0, 60, 52)


def test_optimal_looks_ahead_where_the_regulatory_order_cannot(scenario_of):
    # act-2025 with no tractor offset. Bank: 10.0 tractor ZEV credits (MY2023, usable through 2030).
    # MY2026: 125 Class 2b-3 ICE -> 10.0 deficits. MY2027: 80 tractors -> 80 x 15 % x 2.5 = 30.0 deficits
    # (> 25: no low-volume flexibility) and 13 Class 2b-3 ZEVs -> 10.4 credits, owing 13 x 15 % x 0.8 = 1.56 -> 1.6.
    # Regulatory order: in 2026 the tractor credits meet the 2b-3 deficits; in 2027 nothing can meet the
    # tractors: 30.0 unmet. Optimum: leave MY2026 open and make it up in 2027 with the 2b-3 ZEV credits,
    # keep the tractor credits for the tractors: unmet = (10.0 + 1.6 - 10.4) + (30.0 - 10.0) = 21.2.
    sales = [row("CA", 2026, "2b-3", "ICE", 125), row("CA", 2027, "tractor", "ICE", 80),
             row("CA", 2027, "2b-3", "ZEV", 13)]
    sc = scenario_of(sales, rules="act-2025", bank=[("M", "CA", 2023, "tractor", "ZEV", "10.0")],
                     overrides={**NO_SMALL, "tractor_offset.fraction": 0})
    r = act_pool.run(sc)
    assert outcome(r, "highs") == outcome(r, "networkx") == outcome(r, "simplex") == (212, 0, 0)
    ee = act_pool.run(sc.with_rules("act-2025", retirement="earliest-expiring"))
    assert int(ee.compliance["unmet"].sum()) == 300
    assert int(r.compliance["unmet"].sum()) == 212


def test_optimal_beats_regulatory_order_on_tractors(scenario_of):
    # act-2025, MY2026. Tractors: 100 x 10 % x 2.5 = 25.0 deficits; Class 2b-3: 1000 x 10 % x 0.8 = 80.0.
    # Credits: 80.0 tractor ZEV (bank) and 25.0 Class 2b-3 ZEV (bank). The regulatory order meets the
    # tractor deficits with tractor credits first (25.0), then the 2b-3 deficits with 2b-3 credits (25.0)
    # and the remaining tractor credits (55.0): everything met. Optimal does the same: 0 unmet.
    # Then starve 2b-3 credits: with 0 of them, tractor ZEV 80.0 -> 25.0 tractor + 55.0 nontractor; 25.0 unmet.
    sales = [row("CA", 2026, "tractor", "ICE", 100), row("CA", 2026, "2b-3", "ICE", 1000)]
    banks = [("M", "CA", 2023, "tractor", "ZEV", "80.0"), ("M", "CA", 2023, "2b-3", "ZEV", "25.0")]
    sc = scenario_of(sales, rules="act-2025", bank=banks, model_years=[2026, 2026])
    r = act_pool.run(sc)
    assert outcome(r, "highs") == outcome(r, "networkx") == outcome(r, "simplex") == (0, 0, 0)
    ee = act_pool.run(sc.with_rules("act-2025", retirement="earliest-expiring"))
    assert int(ee.compliance["unmet"].sum()) == 0


@st.composite
def small_scenarios(draw):
    states = draw(st.lists(st.sampled_from(["CA", "OR", "NY"]), min_size=1, max_size=2, unique=True))
    years = draw(st.integers(2024, 2027))
    rows = []
    for s in states:
        for y in range(years, years + 3):
            for wc in draw(st.lists(st.sampled_from(["2b-3", "6-7", "tractor"]), min_size=1, max_size=3, unique=True)):
                rows.append(row(s, y, wc, "ICE", draw(st.integers(0, 400))))
                rows.append(row(s, y, wc, "ZEV", draw(st.integers(0, 40))))
                if draw(st.booleans()):
                    rows.append(row(s, y, wc, "NZEV", draw(st.integers(1, 20)), aer=draw(st.integers(20, 90))))
    banks = [("M", s, 2023, g, c, f"{draw(st.integers(0, 300)) / 10:.1f}")
             for s in states for g in ("2b-3", "tractor") for c in ("ZEV", "NZEV") if draw(st.booleans())]
    return rows, banks, [years, years + 2], draw(st.sampled_from(["act-2021", "act-2025"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_scenarios())
def test_optimal_never_worse_and_solvers_agree(scenario_of, case):
    rows, banks, years, rules = case
    sc = scenario_of(rows, rules=rules, bank=banks, model_years=years, overrides=NO_SMALL,
                     retirement="earliest-expiring")
    regulatory = act_pool.run(sc)  # act-2021 fixes the order; its optimum still bounds it from below
    highs = outcome(regulatory, "highs")
    assert highs == outcome(regulatory, "networkx") == outcome(regulatory, "simplex")
    ee_unmet = int(regulatory.compliance["unmet"].sum())
    ee_expired = int(regulatory.ledger.loc[regulatory.ledger["action"] == "expire", "credits"].sum())
    assert highs[0] <= ee_unmet
    if highs[0] == ee_unmet:
        assert highs[1] <= ee_expired


def test_network_size_is_linear_in_years(scenario_of):
    def size(n_years):
        sales = [row(s, y, "2b-3", "ICE", 1000) for s in ("CA", "OR") for y in range(2024, 2024 + n_years)]
        sales += [row(s, y, "2b-3", "ZEV", 100) for s in ("CA", "OR") for y in range(2024, 2024 + n_years)]
        r = act_pool.run(scenario_of(sales, rules="act-2025"))
        G = build_network(r.problem, "M")
        return G.number_of_nodes(), G.number_of_edges()

    n10, n20 = size(10), size(20)
    assert n20[0] <= 2.3 * n10[0] and n20[1] <= 2.3 * n10[1]


def test_unknown_solver_is_refused(scenario_of):
    r = act_pool.run(scenario_of([row("CA", 2024, "2b-3", "ICE", 1000)]))
    with pytest.raises(ValueError):
        solve_optimal(r.problem, "guesswork")


def test_network_is_exposed_with_flows(scenario_of, tmp_path):
    sc = scenario_of([row("CA", 2024, "2b-3", "ICE", 1000)], rules="act-2025",
                     bank=[("M", "CA", 2021, "2b-3", "ZEV", "30.0")])
    r = act_pool.run(sc, keep_network=True)
    G = r.network
    # the 30.0 credits flow into the 40.0 deficit; 10.0 come from the unmet source
    assert G[("M", "unmet")][("M", "deficit", "CA", 2024, "2b-3")]["flow"] == 100
    assert sum(a["flow"] for u, v, a in G.in_edges(("M", "deficit", "CA", 2024, "2b-3"), data=True)) == 400
    out = r.write(tmp_path / "out", graphml=True)
    import networkx as nx
    H = nx.read_graphml(out / "network.graphml")
    assert H.number_of_nodes() == G.number_of_nodes()


def test_progress_counts_each_manufacturer_once_as_it_ends(scenario_of, monkeypatch):
    """Manufacturers are solved at once, largest first, and progress counts each as it ends: here
    the largest (M0) waits until the other two have been counted, which, were progress reported in
    manufacturer order, would never happen (it would wait on M0 first). The plan is the same as on
    one CPU, one after another."""
    import threading

    from act_pool.solve import optimal

    sales = [row(state, 2024, "2b-3", "ICE", 1000, manufacturer="M0") for state in ("CA", "NJ", "OR")]
    sales += [row("CA", 2024, "2b-3", kind, vehicles, manufacturer=m)
              for m in ("M1", "M2") for kind, vehicles in (("ICE", 1000), ("ZEV", 30))]
    r = act_pool.run(scenario_of(sales, rules="act-2025", model_years=[2024, 2025]))
    others_counted, waited = threading.Event(), []
    real_solve = optimal.solve_flows

    def largest_waits(arcs, maker, *args):
        if arcs.manufacturers[maker] == "M0":
            waited.append(others_counted.wait(timeout=10))
        return real_solve(arcs, maker, *args)

    seen = []

    def progress(stage, done, total):
        seen.append((stage, done, total))
        if done == 1:
            others_counted.set()

    monkeypatch.setattr(optimal, "solve_flows", largest_waits)
    monkeypatch.setattr(optimal, "usable_cpus", lambda: 3)
    plan = solve_optimal(r.problem, "simplex", progress=progress)
    assert waited == [True]
    assert seen == [("solving", 0, 3), ("solving", 1, 3), ("solving", 2, 3)]
    monkeypatch.setattr(optimal, "solve_flows", real_solve)
    monkeypatch.setattr(optimal, "usable_cpus", lambda: 1)
    one_by_one = solve_optimal(r.problem, "simplex")
    assert plan.flow.any() and (one_by_one.flow == plan.flow).all()


def test_where_several_manufacturers_fail_the_first_in_order_is_raised(scenario_of, monkeypatch):
    """M2's solve fails first and M1's after it: the error raised is M1's, as one after another."""
    import threading

    from act_pool.solve import optimal

    sales = [row("CA", 2024, "2b-3", kind, vehicles, manufacturer=m)
             for m in ("M0", "M1", "M2") for kind, vehicles in (("ICE", 1000), ("ZEV", 30))]
    r = act_pool.run(scenario_of(sales, rules="act-2025", model_years=[2024, 2025]))
    second_failed = threading.Event()
    real_solve = optimal.solve_flows

    def failing(arcs, maker, *args):
        name = arcs.manufacturers[maker]
        if name == "M2":
            second_failed.set()
            raise RuntimeError("M2")
        if name == "M1":
            second_failed.wait(timeout=10)
            raise RuntimeError("M1")
        return real_solve(arcs, maker, *args)

    monkeypatch.setattr(optimal, "solve_flows", failing)
    monkeypatch.setattr(optimal, "usable_cpus", lambda: 3)
    with pytest.raises(RuntimeError, match="^M1$"):
        solve_optimal(r.problem, "simplex")
