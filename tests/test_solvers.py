"""The optimal plan's solvers: compiled network simplex, its fallback, networkx and HiGHS agree; the
optimum pools only surplus credits; the int64 guard; the solver setting."""
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import hypothesis.strategies as st
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import act_pool
from act_pool.errors import InputError
from act_pool.ledger import build_ledger, compliance_view
from act_pool.obligations import compute_obligations
from act_pool.scenario import load_scenario
from act_pool.solve import SOLVERS, mincost
from act_pool.solve.arcs import build_arcs
from act_pool.solve.mincost import FLEX_ROUTES, compiled_available, next_stage, tier_flags, tier_limits
from act_pool.solve.optimal import solve_optimal
from act_pool.solve.problem import build_problem
from helpers import REPO, row, write_scenario

BUNDLED = sorted(REPO.glob("scenarios/*/scenario.toml"))
NO_SMALL = {"small_manufacturer.max_vehicles": 0}


def goals(problem, obligations, last_year, movements):
    """(unmet, expired, flexibility use) of a plan, in tenths, read from its ledger: flexibility use
    counts pooled retirements and retirements on a flexible route (a tenth can count twice)."""
    led = build_ledger(movements)
    comp = compliance_view(obligations, led, problem.makeup_years, last_year)
    ret = led[led["action"] == "retire"]
    flex = int(ret.loc[ret["origin_state"] != ret["state"], "credits"].sum()
               + ret.loc[ret["rule"].isin(sorted(FLEX_ROUTES)), "credits"].sum())
    return int(comp["unmet"].sum()), int(led.loc[led["action"] == "expire", "credits"].sum()), flex


def all_goals(scenario, monkeypatch):
    """The goals reached by every solver, and by the compiled solver's fallback."""
    obligations = compute_obligations(scenario)
    problem = build_problem(scenario, obligations)
    last = scenario.model_years[1]
    out = {s: goals(problem, obligations, last, solve_optimal(problem, s).movements) for s in SOLVERS}
    with monkeypatch.context() as m:
        m.setattr(mincost, "_mcf", None)
        out["fallback"] = goals(problem, obligations, last, solve_optimal(problem, "simplex").movements)
    return out


@pytest.mark.parametrize("path", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_every_solver_reaches_the_same_goals_on_bundled_scenarios(path, monkeypatch):
    reached = all_goals(load_scenario(path), monkeypatch)
    assert len(set(reached.values())) == 1, reached


def own_first_case(scenario_of, **keys):
    # act-2025, MY2025, pooling on. CA: 1000 ICE + 200 ZEV Class 2b-3 and 1000 ICE tractors; NJ: 1000 ICE
    # Class 2b-3. CA 2b-3 deficits 1200 x 7 % x 0.8 = 67.2, credits 200 x 0.8 = 160.0: surplus 92.8.
    # CA tractor deficits 1000 x 7 % x 2.5 = 175.0; offset allowance 25 % x 175.0 = 43.75 -> 43.7.
    # NJ 2b-3 deficits 1000 x 7 % x 0.8 = 56.0.
    sales = [row("CA", 2025, "2b-3", "ICE", 1000), row("CA", 2025, "2b-3", "ZEV", 200),
             row("CA", 2025, "tractor", "ICE", 1000), row("NJ", 2025, "2b-3", "ICE", 1000)]
    return scenario_of(sales, rules="act-2025", model_years=[2025, 2025], pooling=True, retirement="optimal",
                       overrides=NO_SMALL, **keys)


@pytest.mark.parametrize("solver", SOLVERS)
def test_own_state_deficits_come_before_pooling_out(scenario_of, solver):
    # CA's tractors take the whole offset first (43.7): 175.0 - 43.7 = 131.3 unmet; only the rest of
    # the surplus, 92.8 - 43.7 = 49.1, is pooled to NJ: 56.0 - 49.1 = 6.9 unmet. (Not CA 138.2, NJ 0.)
    r = act_pool.run(own_first_case(scenario_of, solver=solver))
    unmet = r.compliance.set_index(["state", "group"])["unmet"]
    assert unmet[("CA", "tractor")] == 1313
    assert unmet[("NJ", "2b-3")] == 69
    assert unmet[("CA", "2b-3")] == 0
    pooled = r.ledger[(r.ledger["action"] == "retire") & r.ledger["pooled"]]
    assert int(pooled["credits"].sum()) == 491


def test_a_state_that_may_not_send_pools_nothing(scenario_of):
    # Same case, but CA's credits of 2025 may not leave CA: NJ keeps its 56.0 unmet, CA still 131.3.
    sc = own_first_case(scenario_of)
    problem = build_problem(sc, compute_obligations(sc))
    problem.gates["may_send"] = ~((problem.gates["state"] == "CA") & (problem.gates["model_year"] == 2025))
    led = build_ledger(solve_optimal(problem).movements)
    assert not (led["origin_state"] != led["state"]).any()
    comp = compliance_view(compute_obligations(sc), led, problem.makeup_years, 2025).set_index(["state", "group"])
    assert comp.loc[("NJ", "2b-3"), "unmet"] == 560
    assert comp.loc[("CA", "tractor"), "unmet"] == 1313


def surplus_violations(result) -> list[tuple]:
    """Credits pooled out of a state in a year while a deficit of that state that they could legally
    meet that year (any route of the rule set, within its gate) stays unmet. Read from the ledger,
    compliance table and rule gates only."""
    problem, led = result.problem, result.ledger
    first, m = problem.years.start, problem.makeup_years
    unmet = {k: u for k, u in zip(zip(result.compliance["manufacturer"], result.compliance["state"],
                                      result.compliance["model_year"], result.compliance["group"]),
                                  result.compliance["unmet"]) if u > 0}
    gates = problem.gates.set_index(["manufacturer", "state", "model_year"])
    ret = led[led["action"] == "retire"]
    used = ret.groupby(["manufacturer", "state", "model_year", "rule"])["credits"].sum().to_dict()

    def room(mk, s, d, gate):
        taken = sum(used.get((mk, s, d, step.name), 0) for step in problem.steps if step.gate == gate)
        return int(gates.loc[(mk, s, d), gate]) - taken > 0

    out = []
    pooled_out = ret[ret["origin_state"] != ret["state"]]
    for mk, s, t, g, c in pooled_out.groupby(["manufacturer", "origin_state", "year", "origin_group",
                                              "credit_type"]).groups:
        for d in range(max(first, t - m), t + 1):
            if (mk, s, d) not in gates.index or (c == "NZEV" and d < t and problem.makeup_zev_only):
                continue
            for step in problem.steps:
                if step.credit_type != c or g not in step.source_groups:
                    continue
                for h in step.target_groups:
                    if unmet.get((mk, s, d, h), 0) > 0 and (step.gate is None or room(mk, s, d, step.gate)):
                        out.append((mk, s, t, g, c, d, h, step.name))
    return out


def test_surplus_check_sees_the_reviewed_fault(scenario_of):
    # The check itself: the plan the review found (CA pools 56.0 to NJ, its tractors take only 36.8 of
    # the 43.7 offset) is flagged; the optimum is not.
    r = act_pool.run(own_first_case(scenario_of))
    assert surplus_violations(r) == []
    led = r.ledger.copy()
    offset = (led["rule"] == "tractor-offset")
    to_nj = led["state"] == "NJ"
    led.loc[offset, "credits"] = 368
    led.loc[to_nj, "credits"] = 560
    r.ledger = led
    r.compliance = compliance_view(r.obligations, build_ledger(led), r.problem.makeup_years, 2025)
    assert ("M", "CA", 2025, "2b-3", "ZEV", 2025, "tractor", "tractor-offset") in surplus_violations(r)


@st.composite
def pooled_scenarios(draw):
    states = draw(st.lists(st.sampled_from(["CA", "NJ", "OR"]), min_size=2, max_size=3, unique=True))
    first = draw(st.integers(2024, 2027))
    rows = []
    for s in states:
        for y in range(first, first + 2):
            for wc in draw(st.lists(st.sampled_from(["2b-3", "6-7", "tractor"]), min_size=1, max_size=3, unique=True)):
                rows.append(row(s, y, wc, "ICE", draw(st.integers(0, 600))))
                rows.append(row(s, y, wc, "ZEV", draw(st.integers(0, 80))))
                if draw(st.booleans()):
                    rows.append(row(s, y, wc, "NZEV", draw(st.integers(1, 30)), aer=draw(st.integers(20, 90))))
    banks = [("M", s, 2023, g, c, f"{draw(st.integers(0, 300)) / 10:.1f}")
             for s in states for g in ("2b-3", "tractor") for c in ("ZEV", "NZEV") if draw(st.booleans())]
    return rows, banks, [first, first + 1]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pooled_scenarios())
def test_optimum_pools_only_surplus_and_solvers_agree(scenario_of, monkeypatch, case):
    rows, banks, years = case
    sc = scenario_of(rows, rules="act-2025", bank=banks, model_years=years, pooling=True, retirement="optimal",
                     overrides=NO_SMALL)
    assert surplus_violations(act_pool.run(sc)) == []
    reached = all_goals(sc, monkeypatch)
    assert len(set(reached.values())) == 1, reached


def random_network(rng: random.Random) -> nx.DiGraph:
    n = rng.randint(2, 25)
    G = nx.DiGraph()
    G.add_nodes_from((i, {"demand": 0}) for i in range(n))
    for _ in range(rng.randint(1, 70)):
        u, v = rng.randrange(n), rng.randrange(n)
        if u != v and not G.has_edge(u, v):
            G.add_edge(u, v, weight=rng.randint(0, 20), **({"capacity": rng.randint(1, 15)} if rng.random() < 0.6 else {}))
    for _ in range(rng.randint(0, 5)):
        u, v, k = rng.randrange(n), rng.randrange(n), rng.randint(1, 10)
        G.nodes[u]["demand"] -= k
        G.nodes[v]["demand"] += k
    return G


def networkx_flow(G: nx.DiGraph, edges: list) -> list[int] | None:
    """networkx's optimal flow on ``edges`` of ``G``, None where no flow meets the demands."""
    try:
        _, flow = nx.network_simplex(G)
    except nx.NetworkXUnfeasible:
        return None
    return [flow[u][v] for u, v, _ in edges]


def network_arrays(G, edges):
    """Tails, heads and capacities (-1: none) of ``edges`` of ``G``, and every node's demand, as int64."""
    tail, head, cap = (np.array(x, dtype=np.int64) for x in zip(*[(u, v, a.get("capacity", -1)) for u, v, a in edges]))
    return tail, head, cap, np.array([G.nodes[i]["demand"] for i in G], dtype=np.int64)


@pytest.mark.skipif(not compiled_available(), reason="the compiled network simplex was not built")
def test_compiled_simplex_is_networkx_network_simplex():
    # The C code ports networkx's method choice for choice: on the same arrays, the same flows.
    rng = random.Random(7)
    solved = 0
    for _ in range(400):
        G = random_network(rng)
        edges = list(G.edges(data=True))
        tail, head, cap, demand = network_arrays(G, edges)
        weight = np.array([a["weight"] for _, _, a in edges], dtype=np.int64)
        ok, faux_inf = mincost.int64_safe(cap, int(weight.sum()), int(weight.max()), demand)
        flow, potential = np.zeros(len(edges), dtype=np.int64), np.zeros(len(demand), dtype=np.int64)
        status = mincost._mcf.network_simplex(tail, head, cap, weight, demand, faux_inf, flow, potential)
        expected = networkx_flow(G, edges)
        if expected is None:
            assert status == 1
            continue
        assert status == 0 and ok
        assert flow.tolist() == expected
        solved += 1
    assert solved > 100


@pytest.mark.skipif(not compiled_available(), reason="the compiled network simplex was not built")
def test_compiled_stages_reach_the_lexicographic_optimum():
    # Two or three cost vectors solved one after the other, each from the last tree of the one before
    # on its optimal face, must reach the objectives networkx finds for their exact weighted sum. The
    # weight M = 10^7 keeps the stages in order: a basic flow is at most the demands plus every
    # capacity (50 + 70 x 15 = 1,100 per arc), so a later stage costs at most 70 arcs x 20 x 1,100
    # = 1,540,000 < M.
    rng = random.Random(11)
    solved = 0
    for _ in range(300):
        G = random_network(rng)
        edges = list(G.edges(data=True))
        if not edges:
            continue
        k = rng.randint(2, 3)
        costs = [[rng.randint(0, 20) for _ in edges] for _ in range(k)]
        for (u, v, a), *stage_costs in zip(edges, *costs):
            a["weight"] = sum(c * 10 ** (7 * (k - 1 - i)) for i, c in enumerate(stage_costs))
        tail, head, cap, demand = network_arrays(G, edges)
        faux = [mincost.int64_safe(cap, sum(c), max(c), demand)[1] for c in costs]
        flow, potential = np.zeros(len(edges), dtype=np.int64), np.zeros(len(demand), dtype=np.int64)
        status = mincost._mcf.network_simplex_stages(tail, head, cap, np.array(costs, dtype=np.int64).ravel(), demand,
                                                     np.array(faux, dtype=np.int64), flow, potential)
        best = networkx_flow(G, edges)
        if best is None:
            assert status == 1
            continue
        assert status == 0
        assert [int(np.dot(c, flow)) for c in costs] == [int(np.dot(c, best)) for c in costs]
        solved += 1
    assert solved > 100


def test_compiled_simplex_is_built_where_a_compiler_is():
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: the networkx fallback is expected")
    assert compiled_available()


def test_simplex_falls_back_to_networkx_without_the_extension(scenario_of, monkeypatch):
    sc = own_first_case(scenario_of)
    problem = build_problem(sc, compute_obligations(sc))
    reference = solve_optimal(problem, "networkx")
    monkeypatch.setattr(mincost, "_mcf", None)
    assert not compiled_available()
    fallback = solve_optimal(problem, "simplex")
    assert fallback.flow.tolist() == reference.flow.tolist()


def test_staged_solves_reach_the_single_solve_optimum(monkeypatch):
    # With the int64 limit lowered, every tier is its own stage (reduced-cost fixing between them); the
    # goals must be those of the unstaged solve (itself checked against networkx and HiGHS above).
    sc = load_scenario(REPO / "scenarios" / "default" / "scenario.toml")
    obligations = compute_obligations(sc)
    problem = build_problem(sc, obligations)
    single = goals(problem, obligations, sc.model_years[1], solve_optimal(problem, "simplex").movements)
    arcs = build_arcs(problem)
    nodes, part = arcs.part(0)
    flags = tier_flags(arcs, part)
    limits = tier_limits(int(arcs.supply[0]), int(arcs.deficits[0]))
    monkeypatch.setattr(mincost, "INT64_LIMIT", 10 ** 9)
    assert next_stage([0, 1, 2, 3], arcs.capacity[part], arcs.demand[nodes], flags, limits) == [0]
    staged = goals(problem, obligations, sc.model_years[1], solve_optimal(problem, "simplex").movements)
    assert staged == single


def test_amounts_beyond_int64_weights_are_solved_in_stages(scenario_of):
    # 900,000,000.0 credits in the bank (9 x 10^9 tenths, near the largest a bank row may hold): the four
    # tiers' weights (unmet weight > supply x expire weight > 9 x 10^9 x 2 x 370,000^2) cannot be one int64 cost, so the simplex solves in stages and
    # must still reach the exact optimum networkx finds with Python integers.
    sales = [row("CA", 2026, "2b-3", "ICE", 100000), row("CA", 2026, "tractor", "ICE", 100000),
             row("NJ", 2026, "2b-3", "ICE", 50000)]
    sc = scenario_of(sales, rules="act-2025", model_years=[2026, 2026], pooling=True, retirement="optimal",
                     bank=[("M", "CA", 2024, "2b-3", "ZEV", "900000000.0")], overrides=NO_SMALL)
    obligations = compute_obligations(sc)
    problem = build_problem(sc, obligations)
    arcs = build_arcs(problem)
    nodes, part = arcs.part(0)
    limits = tier_limits(int(arcs.supply[0]), int(arcs.deficits[0]))
    assert next_stage([0, 1, 2, 3], arcs.capacity[part], arcs.demand[nodes], tier_flags(arcs, part), limits) != [0, 1, 2, 3]
    last = sc.model_years[1]
    simplex = goals(problem, obligations, last, solve_optimal(problem, "simplex").movements)
    assert simplex == goals(problem, obligations, last, solve_optimal(problem, "networkx").movements)
    # CA 2b-3: 100000 x 10 % x 0.8 = 8000.0; CA tractors 100000 x 10 % x 2.5 = 25000.0, offset 25 % = 6250.0;
    # NJ 2b-3: 50000 x 10 % x 0.8 = 4000.0. All met but CA tractors: 25000.0 - 6250.0 = 18750.0 unmet;
    # flexibility: 6250.0 offset + 4000.0 pooled.
    assert simplex == (187500, 0, 102500)


def test_unknown_solver_in_the_scenario_is_an_input_error(tmp_path):
    path = write_scenario(tmp_path, [row("CA", 2025, "2b-3", "ICE", 100)], solver="fastest")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    problem, = err.value.problems
    assert problem.field == "solver" and "scenario.toml" in str(problem.file)
    assert "simplex" in problem.message


def act_pool_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "act-pool"), *args], capture_output=True, text=True)


def test_solver_option_on_the_command_line(tmp_path):
    path = write_scenario(tmp_path / "sc", [row("CA", 2025, "2b-3", "ICE", 100)], retirement="optimal")
    bad = act_pool_cli("run", str(path), "--solver", "fastest", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "--solver" in bad.stderr and not (tmp_path / "bad").exists()
    good = act_pool_cli("run", str(path), "--solver", "highs", "--tables-only", "--quiet", "--out", str(tmp_path / "o"))
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "o" / "ledger.csv").exists()
    cmp = act_pool_cli("compare", str(path), "--solver", "networkx")
    assert cmp.returncode == 0, cmp.stderr


def test_solver_carries_through_scenario_changes(scenario_of):
    sc = replace(scenario_of([row("CA", 2025, "2b-3", "ICE", 100)]), solver="highs")
    assert sc.with_rules("act-2025").solver == "highs"
    assert sc.with_sales(sc.sales.assign(aer_miles="")).solver == "highs"


@pytest.mark.parametrize("name", ["default", "trades"])
def test_bank_chains_split_on_arrays_as_node_by_node(name, monkeypatch):
    # The array split of the bank chains must give the movements the node-by-node walk gives.
    from act_pool.solve import split

    sc = load_scenario(REPO / "scenarios" / name / "scenario.toml")
    problem = build_problem(sc, compute_obligations(sc))
    plan = solve_optimal(problem)
    with monkeypatch.context() as m:
        m.setattr(split, "_bank_chains", lambda arcs, flow, lots, *rest: (
            np.zeros(len(lots), dtype=bool), np.empty((0, 3), dtype=np.int64), np.empty((0, 2), dtype=np.int64)))
        walked = split.flows_to_movements(plan.arcs, plan.flow, problem)
    key = list(walked.columns)
    assert len(plan.movements) > 0
    assert build_ledger(plan.movements).sort_values(key).reset_index(drop=True).equals(
        build_ledger(walked).sort_values(key).reset_index(drop=True))
