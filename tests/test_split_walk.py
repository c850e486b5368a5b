"""The split of the optimal flows into credit lots: the compiled parcel walk (act_pool/solve/_walk.c)
gives the movements of the Python walk, row for row; both refuse flows that break conservation; the
Python walk is used where the extension is missing or arcs share what they meet."""
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from act_pool.errors import ConservationError
from act_pool.obligations import compute_obligations
from act_pool.scenario import load_scenario
from act_pool.solve import split
from act_pool.solve.arcs import ARC_KINDS, NODE_KINDS
from act_pool.solve.optimal import solve_optimal
from act_pool.solve.problem import build_problem
from helpers import REPO, row
from test_optimal import small_scenarios
from test_solvers import pooled_scenarios

sys.path.insert(0, str(REPO / "benchmarks"))
from national import national_scenario  # noqa: E402

BUNDLED = sorted(REPO.glob("scenarios/*/scenario.toml"))
NO_SMALL = {"small_manufacturer.max_vehicles": 0}
compiled = pytest.mark.skipif(split._walk is None, reason="the compiled walk was not built")


class CountingWalk:
    """Stands in for the extension module and counts the walks it runs."""

    def __init__(self):
        self.calls = 0
        self.module = split._walk

    def walk(self, *args):
        self.calls += 1
        return self.module.walk(*args)


def optimal_plan(scenario):
    """The problem of ``scenario`` and its optimal plan (whatever retirement order the scenario names)."""
    problem = build_problem(scenario, compute_obligations(scenario))
    return problem, solve_optimal(problem, "simplex")


def both_walks(problem, plan, monkeypatch):
    """The movements split by the compiled walk (checked to have run) and by the Python walk."""
    counter = CountingWalk()
    with monkeypatch.context() as m:
        m.setattr(split, "_walk", counter)
        fast = split.flows_to_movements(plan.arcs, plan.flow, problem, plan.met)
    assert counter.calls == 1
    with monkeypatch.context() as m:
        m.setattr(split, "_walk", None)
        slow = split.flows_to_movements(plan.arcs, plan.flow, problem, plan.met)
    return fast, slow


@compiled
@pytest.mark.parametrize("path", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_compiled_walk_matches_python_walk_on_bundled_scenarios(path, monkeypatch):
    problem, plan = optimal_plan(load_scenario(path))
    fast, slow = both_walks(problem, plan, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@compiled
def test_compiled_walk_matches_python_walk_on_the_national_scenario(monkeypatch):
    problem, plan = optimal_plan(national_scenario(scale=1))
    fast, slow = both_walks(problem, plan, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert (fast["action"] == "retire").sum() > 1000


@compiled
@pytest.mark.parametrize("name", ["default", "trades"])
def test_compiled_walk_matches_python_walk_through_the_bank_nodes(name, monkeypatch):
    # Every bank chain walked node by node (none split on arrays), as chains whose lots enter out of order are.
    problem, plan = optimal_plan(load_scenario(REPO / "scenarios" / name / "scenario.toml"))
    monkeypatch.setattr(split, "_bank_chains", lambda arcs, flow, lots, *rest: (
        np.zeros(len(lots), dtype=bool), np.empty((0, 3), dtype=np.int64), np.empty((0, 2), dtype=np.int64)))
    fast, slow = both_walks(problem, plan, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert (fast["action"] == "retire").sum() > 0


@compiled
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_scenarios())
def test_compiled_walk_matches_python_walk_on_random_scenarios(scenario_of, monkeypatch, case):
    rows, banks, years, rules = case
    sc = scenario_of(rows, rules=rules, bank=banks, model_years=years, overrides=NO_SMALL,
                     retirement="earliest-expiring")
    fast, slow = both_walks(*optimal_plan(sc), monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@compiled
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pooled_scenarios())
def test_compiled_walk_matches_python_walk_on_random_pooled_scenarios(scenario_of, monkeypatch, case):
    rows, banks, years = case
    sc = scenario_of(rows, rules="act-2025", bank=banks, model_years=years, pooling=True, retirement="optimal",
                     overrides=NO_SMALL)
    fast, slow = both_walks(*optimal_plan(sc), monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def hand_network(expire_flow: int) -> split._Network:
    # Node 0: an avail node of 2025 (it stamps its year, and its retire arc's route, on what it sends).
    # Its out-arcs: a retire arc (route 7) of 6 tenths to the deficit node 1, then an arc of
    # ``expire_flow`` tenths to the expiry node 2.
    role = np.array([NODE_KINDS.index(k) for k in ("avail", "deficit", "expire")])
    return split._Network(starts=np.array([0, 2, 2, 2]), heads=np.array([1, 2]), flows=np.array([6, expire_flow]),
                          retire=np.array([1, 0]), routes=np.array([7, -1]), role=split._ROLES[role],
                          year=np.array([2025, 2025, 2025]))


# Parcels reaching node 0, in this order (node, lot row, credits): row 0 (3), row 2 (5), row 1 (4), row 0 (2).
# Ranks: row 1 first (0), rows 0 and 2 tie (1): the node takes row 1 (4), then in order of arrival row 0
# (3), row 2 (5), row 0 (2): 14 tenths in all.
HAND_ARRIVALS = np.array([[0, 0, 3], [0, 2, 5], [0, 1, 4], [0, 0, 2]])
HAND_RANK = np.array([1, 0, 1])
# The retire arc takes 6: row 1's 4 and 2 of row 0's 3; the expiry arc (8) the last 1 of row 0, row 2's 5
# and row 0's 2.
HAND_RETIRED = [[1, 1, 4, 2025, 7, 4], [0, 1, 2, 2025, 7, 2]]
HAND_EXPIRED = [[0, 1], [2, 5], [0, 2]]


def hand_walks(expire_flow: int) -> dict:
    """The walk of the hand case by each implementation built here."""
    network, walk = hand_network(expire_flow), np.array([0])
    no_share = np.zeros(2, dtype=bool)
    runs = {"python": lambda: split._python_walk(walk, network, HAND_ARRIVALS, HAND_RANK, no_share,
                                                 network.flows, 1)}
    if split._walk is not None:
        runs["compiled"] = lambda: split._compiled_walk(walk, network, HAND_ARRIVALS, HAND_RANK)
    return runs


def test_a_node_splits_its_parcels_by_rank_then_arrival():
    for name, run in hand_walks(8).items():
        retired, expired = run()
        assert retired.tolist() == HAND_RETIRED, name
        assert expired.tolist() == HAND_EXPIRED, name


@pytest.mark.parametrize("expire_flow, message", [(9, "exceeds"), (7, "stranded")])
def test_hand_walk_refuses_flows_that_break_conservation(expire_flow, message):
    # 9 tenths to expiry: 15 leave a node that received 14; 7: one tenth of row 0 stays at the node.
    for run in hand_walks(expire_flow).values():
        with pytest.raises(ConservationError, match=message):
            run()


def test_sort_rank_is_the_order_of_last_use_vintage_and_lot():
    lots = pd.DataFrame({"last_use": [2030, 2029, 2030, 2030, 2029],
                         "vintage": [2025, 2026, 2024, 2025, 2026],
                         "lot": [5, 9, 7, 5, 3]})
    # Keys: (2030, 2025, 5), (2029, 2026, 9), (2030, 2024, 7), (2030, 2025, 5), (2029, 2026, 3); sorted:
    # (2029, 2026, 3) < (2029, 2026, 9) < (2030, 2024, 7) < (2030, 2025, 5) twice.
    assert split._sort_rank(lots).tolist() == [3, 1, 2, 3, 0]


def retire_arc_from_avail(plan) -> int:
    """A retire arc that carries credits out of an ``avail`` node."""
    arcs = plan.arcs
    found = np.nonzero((plan.flow > 0) & (arcs.kind == ARC_KINDS.index("retire"))
                       & (arcs.field("kind", arcs.tail) == NODE_KINDS.index("avail")))[0]
    return int(found[0])


@pytest.mark.parametrize("extension", ["compiled", "python"])
@pytest.mark.parametrize("change, message", [(1, "exceeds"), (-1, "stranded")])
def test_flows_that_break_conservation_are_refused(extension, change, message, monkeypatch):
    # One tenth more on a retire arc out of an avail node than reached the node; or one tenth less,
    # which leaves that tenth at the node.
    if extension == "compiled" and split._walk is None:
        pytest.skip("the compiled walk was not built")
    problem, plan = optimal_plan(load_scenario(REPO / "scenarios" / "default" / "scenario.toml"))
    flow = plan.flow.copy()
    flow[retire_arc_from_avail(plan)] += change
    if extension == "python":
        monkeypatch.setattr(split, "_walk", None)
    with pytest.raises(ConservationError, match=message):
        split.flows_to_movements(plan.arcs, flow, problem, flow)


def test_python_walk_without_the_extension(monkeypatch):
    problem, plan = optimal_plan(load_scenario(REPO / "scenarios" / "default" / "scenario.toml"))
    calls = []
    python_walk = split._python_walk
    monkeypatch.setattr(split, "_walk", None)
    monkeypatch.setattr(split, "_python_walk", lambda *args: calls.append(1) or python_walk(*args))
    movements = split.flows_to_movements(plan.arcs, plan.flow, problem, plan.met)
    assert calls == [1]
    assert movements["credits"].sum() > 0


@compiled
def test_python_walk_where_pooled_arcs_share_what_they_meet(scenario_of, monkeypatch):
    # Exchange ratio 0.8 (the case of tests/test_exchange_ratio.py): CA, 1,000 Class 2b-3 ICE, owes
    # 1,000 x 7 % x 0.8 = 56.0 and has no credits; OR's 100 ZEVs earn 80.0 and owe 5.6. CA is met by
    # 560 / 0.8 = 700 tenths of OR credits meeting 560: a pooled arc meets less than it carries, which
    # only the Python walk shares out.
    sales = [row("CA", 2025, "2b-3", "ICE", 1000), row("OR", 2025, "2b-3", "ZEV", 100)]
    sc = scenario_of(sales, rules="act-2025", model_years=[2025, 2025], pooling=True, retirement="optimal",
                     overrides={**NO_SMALL, "pooling.exchange_ratio": 0.8})
    problem, plan = optimal_plan(sc)
    counter = CountingWalk()
    monkeypatch.setattr(split, "_walk", counter)
    movements = split.flows_to_movements(plan.arcs, plan.flow, problem, plan.met)
    assert counter.calls == 0
    pooled = movements[(movements["action"] == "retire") & (movements["state"] == "CA")]
    assert (pooled["credits"].sum(), pooled["deficit_met"].sum()) == (700, 560)


@compiled
def test_compiled_walk_refuses_inconsistent_arrays():
    network = hand_network(8)
    arrays = [np.array([0]), network.starts, network.heads, network.flows[:1], network.retire, network.routes,
              network.role, network.year, HAND_ARRIVALS[:, 0], HAND_ARRIVALS[:, 1], HAND_ARRIVALS[:, 2], HAND_RANK]
    with pytest.raises(ValueError, match="inconsistent lengths"):
        split._walk.walk(*[np.ascontiguousarray(a, dtype=np.int64) for a in arrays])
    arrays[3] = network.flows
    arrays[9] = np.array([0, 2, 5, 0])  # lot row 5 of 3
    with pytest.raises(ValueError, match="out of range"):
        split._walk.walk(*[np.ascontiguousarray(a, dtype=np.int64) for a in arrays])


def test_compiled_walk_is_built_where_a_compiler_is():
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: the Python walk is expected")
    assert split._walk is not None
