"""The array forms of the pipeline around the solver equal the row-by-row forms they replaced.

The reference implementations below are the earlier loops (kept only here): the credit lots and rule
gates of the problem, the ledger, the compliance and balances views and the why-short reasons must
come out identical, table for table, on every bundled scenario and on random small scenarios.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import act_pool
from act_pool.diagnose import REASONS, why_short
from act_pool.errors import ConservationError
from act_pool.ledger import LEDGER_SORT, balances_view, build_ledger, compliance_view, movement_table
from act_pool.obligations import compute_obligations
from act_pool.rules import clauses, load_rules
from act_pool.solve.problem import LOT_COLUMNS, _credit_lots, _typed, build_problem, gate_capacities
from act_pool.solve.purchase import purchase_movements
from act_pool.solve.sequential import MOVEMENT_KEYS, solve_sequential
from helpers import row

REPO = Path(__file__).resolve().parent.parent
BUNDLED = sorted((REPO / "scenarios").glob("*/scenario.toml"))


# ------------------------------------------------------------------ reference: the row-by-row forms
def ref_credit_lots(scenario, obligations):
    rules = scenario.rules
    first = scenario.model_years[0]
    rows = []
    for b in scenario.bank.itertuples(index=False):
        rows.append((b.manufacturer, b.manufacturer, b.state, int(b.vintage), b.group, b.credit_type,
                     clauses.credit_last_model_year(rules, b.state, int(b.vintage)), int(b.credits_tenths),
                     "opening", first, True))
    for o in obligations.itertuples(index=False):
        for ctype, amount in (("ZEV", o.zev_credits), ("NZEV", o.nzev_credits)):
            if amount > 0:
                rows.append((o.manufacturer, o.manufacturer, o.state, int(o.model_year), o.group, ctype,
                             clauses.credit_last_model_year(rules, o.state, int(o.model_year)), int(amount),
                             "generated", int(o.model_year), True))
    lots = pd.DataFrame(rows, columns=LOT_COLUMNS[1:])
    lots = lots[lots["credits"] > 0].sort_values(
        ["manufacturer", "origin_state", "vintage", "group", "credit_type", "source"], kind="stable")
    lots.insert(0, "lot", range(len(lots)))
    return _typed(lots.reset_index(drop=True))


def ref_gate_capacities(rules, obligations, pooling, held=()):
    wide = obligations.pivot_table(index=["manufacturer", "state", "model_year"], columns="group",
                                   values="deficits", aggfunc="sum", fill_value=0)
    for g in clauses.GROUPS:
        if g not in wide:
            wide[g] = 0
    years = sorted({int(y) for y in obligations["model_year"]})
    extra = sorted(set(held) - {(m, s) for m, s, _ in wide.index})
    rows = []
    totals = [(m, s, int(y), int(r["2b-3"] + r["4-8"]), int(r["tractor"])) for (m, s, y), r in wide.iterrows()]
    totals += [(m, s, y, 0, 0) for m, s in extra for y in years]
    for m, s, y, nt, tr in sorted(totals):
        rows.append({
            "manufacturer": m, "state": s, "model_year": y,
            "nzev_nontractor": clauses.nzev_cap_tenths(rules, nt, tractor=False),
            "nzev_tractor": clauses.nzev_cap_tenths(rules, tr, tractor=True),
            "low_volume": clauses.low_volume_allowance_tenths(rules, tr),
            "tractor_offset": clauses.tractor_offset_allowance_tenths(rules, y, tr),
            "pool": clauses.pooling_cap_tenths(rules, nt + tr) if pooling else 0,
            "may_receive": pooling and clauses.pooling_may_receive(rules, s, y),
            "may_send": pooling and clauses.pooling_may_send(rules, s, y),
        })
    cols = ["manufacturer", "state", "model_year", "nzev_nontractor", "nzev_tractor", "low_volume",
            "tractor_offset", "pool", "may_receive", "may_send"]
    return pd.DataFrame(rows, columns=cols)


def ref_build_ledger(movements):
    led = pd.DataFrame(movements, columns=list(MOVEMENT_KEYS))
    led = led[led["credits"] > 0].astype({"vintage": "int64", "model_year": "int64", "credits": "int64",
                                          "year": "int64", "lot": "int64"})
    led["pooled"] = (led["action"] == "retire") & (led["origin_state"] != led["state"])
    led["traded"] = (led["origin_manufacturer"] != led["manufacturer"]) | (led["action"] == "transfer")
    led["tractor_offset"] = ((led["action"] == "retire") & (led["group"] == "tractor")
                             & (led["origin_group"] != "tractor"))
    keys = [c for c in led.columns if c != "credits"]
    led = led.groupby(keys, sort=False, dropna=False)["credits"].sum().reset_index()
    return led.sort_values(LEDGER_SORT, kind="stable").reset_index(drop=True)[
        [c for c in MOVEMENT_KEYS if c != "lot"] + ["pooled", "traded", "tractor_offset", "lot"]]


def ref_compliance_view(obligations, ledger, makeup_years, last_year):
    ret = ledger[ledger["action"] == "retire"]
    key = ["manufacturer", "state", "model_year", "group"]
    parts = {
        "met": ret,
        "met_in_model_year": ret[ret["year"] == ret["model_year"]],
        "met_by_makeup": ret[ret["year"] > ret["model_year"]],
        "met_by_nzev": ret[ret["credit_type"] == "NZEV"],
        "met_by_pooled": ret[ret["pooled"]],
        "met_by_traded": ret[ret["traded"]],
        "met_by_tractor_offset": ret[ret["tractor_offset"]],
        "met_by_purchase": ret[ret["rule"] == "purchase"],
    }
    table = obligations.copy()
    for name, rows in parts.items():
        sums = rows.groupby(key)["credits"].sum().rename(name).reset_index()
        table = table.merge(sums, on=key, how="left")
        table[name] = table[name].fillna(0).astype("int64")
    table["unmet"] = table["deficits"] - table["met"]
    open_ = table["model_year"] + makeup_years > last_year
    table["status"] = "compliant"
    table.loc[(table["unmet"] > 0) & open_, "status"] = "open"
    table.loc[(table["unmet"] > 0) & ~open_, "status"] = "short"
    cols = key + ["vehicles", "deficits", "zev_credits", "nzev_credits", "met", "unmet", "status", "enforced",
                  "small_manufacturer"] + [c for c in parts if c != "met"]
    return table[cols]


def ref_balances_view(problem, ledger):
    lots = problem.lots.copy()
    first = problem.years.start
    lots["from"] = lots["available_from"].clip(lower=first)
    frames = []
    for t in problem.years:
        spent = ledger[ledger["year"] <= t].groupby("lot")["credits"].sum()
        held = lots[lots["from"] <= t].copy()
        held["left"] = held["credits"] - held["lot"].map(spent).fillna(0).astype("int64")
        if (held["left"] < 0).any():
            raise ConservationError(f"lot overdrawn by the end of model year {t}")
        held = held[held["left"] > 0]
        held["model_year"] = t
        frames.append(held)
    cols = ["manufacturer", "state", "model_year", "vintage", "group", "credit_type"]
    if not frames or all(f.empty for f in frames):
        return pd.DataFrame(columns=cols + ["credits"]).astype({"credits": "int64"})
    allh = pd.concat(frames).rename(columns={"origin_state": "state"})
    out = allh.groupby(cols, sort=True)["left"].sum().rename("credits").reset_index()
    return out.astype({"model_year": "int64", "vintage": "int64", "credits": "int64"})


def ref_why_short(compliance, ledger, balances, problem):
    reasons = pd.Series("", index=compliance.index, dtype=object)
    open_rows = compliance[compliance["unmet"] > 0]
    if open_rows.empty:
        return reasons
    bal = balances.groupby(["manufacturer", "state", "model_year", "group", "credit_type"])["credits"].sum()
    ret = ledger[ledger["action"] == "retire"]
    used = ret.groupby(["manufacturer", "state", "model_year", "credit_type", "rule"])["credits"].sum()
    expired = ledger[ledger["action"] == "expire"].groupby(["manufacturer", "state", "model_year"])["credits"].sum()
    gates = problem.gates.set_index(["manufacturer", "state", "model_year"])
    latest_credit = problem.lots.groupby(["manufacturer", "origin_state"])["available_from"].max().to_dict()
    last = problem.years.stop - 1
    m = problem.makeup_years

    def left(mfr, state, year, groups, ctype):
        return sum(int(bal.get((mfr, state, year, g, ctype), 0)) for g in groups)

    states = sorted(set(problem.gates["state"]))

    def usable_left(mfr, state, year, tractor):
        groups = ("tractor",) if tractor else clauses.GROUPS
        return left(mfr, state, year, groups, "ZEV") > 0

    def gate_used(mfr, state, year, ctype, rules_):
        return sum(int(used.get((mfr, state, year, ctype, r), 0)) for r in rules_)

    for i, r in open_rows.iterrows():
        mfr, state, d, h = r["manufacturer"], r["state"], int(r["model_year"]), r["group"]
        g = gates.loc[(mfr, state, d)] if (mfr, state, d) in gates.index else None
        end = min(d + m, last)
        tractor = h == "tractor"
        nzev_groups = ("tractor",) if tractor else clauses.GROUPS
        nzev_left = left(mfr, state, d, nzev_groups, "NZEV")
        nzev_gate, nzev_rules = (("nzev_tractor", ("tractor-nzev",)) if tractor
                                 else ("nzev_nontractor", ("nzev", "tractor-nzev-to-nontractor")))
        nontractor_zev_left = left(mfr, state, d, clauses.NONTRACTOR_GROUPS, "ZEV")
        if nzev_left and g is not None and gate_used(mfr, state, d, "NZEV", nzev_rules) >= int(g[nzev_gate]):
            reasons[i] = REASONS[0]
        elif nzev_left or left(mfr, state, end, nzev_groups, "NZEV"):
            reasons[i] = REASONS[1]
        elif tractor and nontractor_zev_left and g is not None and int(g["tractor_offset"]) > 0 \
                and gate_used(mfr, state, d, "ZEV", ("tractor-offset",)) >= int(g["tractor_offset"]):
            reasons[i] = REASONS[2]
        elif tractor and (nontractor_zev_left or left(mfr, state, d, clauses.NONTRACTOR_GROUPS, "NZEV")):
            reasons[i] = REASONS[3]
        elif not (g is not None and bool(g["may_receive"])) and any(
                usable_left(mfr, s2, d, tractor) for s2 in states if s2 != state):
            reasons[i] = REASONS[4]
        elif usable_left(mfr, state, d, tractor) or (g is not None and bool(g["may_receive"]) and any(
                usable_left(mfr, s2, d, tractor) for s2 in states if s2 != state and s2 in problem.pool_states)):
            reasons[i] = REASONS[5]
        elif any(int(expired.get((mfr, state, y), 0)) for y in range(d - 1, end + 1)):
            reasons[i] = REASONS[6]
        elif r["status"] == "short" and latest_credit.get((mfr, state), end) > end:
            reasons[i] = REASONS[7]
        else:
            reasons[i] = REASONS[8]
    return reasons


# ------------------------------------------------------------------------------------- the checks
def assert_same(new: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Equal tables: values, order, index and dtypes (an empty table's text columns may differ in dtype:
    they hold no values)."""
    if new.empty and reference.empty:
        assert list(new.columns) == list(reference.columns)
    else:
        pd.testing.assert_frame_equal(new, reference)


def movements_of(scenario, problem):
    """The solver's movements as a list of dicts, the trades' transfers after them."""
    if scenario.retirement == "optimal":
        from act_pool.solve.optimal import solve_optimal

        moves = solve_optimal(problem)
    elif isinstance(scenario.retirement, tuple):
        moves = solve_sequential(problem, scenario.retirement)
    else:
        moves = solve_sequential(problem)
    moves = getattr(moves, "movements", moves)  # an optimal plan holds its movements as a table
    moves = moves.to_dict("records") if isinstance(moves, pd.DataFrame) else list(moves)
    return moves + problem.transfers


def assert_same_views(scenario) -> pd.Series:
    """Every array form equals its reference on ``scenario``; returns the reasons found."""
    obligations = compute_obligations(scenario)
    assert_same(_credit_lots(scenario, obligations), ref_credit_lots(scenario, obligations))
    problem = build_problem(scenario, obligations)
    held = list(zip(problem.lots.loc[problem.lots["usable"], "manufacturer"],
                    problem.lots.loc[problem.lots["usable"], "origin_state"]))
    for pairs in ((), held):
        assert_same(gate_capacities(scenario.rules, obligations, scenario.pooling, pairs),
                    ref_gate_capacities(scenario.rules, obligations, scenario.pooling, pairs))
    moves = movements_of(scenario, problem)
    ledger = build_ledger(moves)
    assert_same(ledger, ref_build_ledger(moves))
    # the solver's movements as a table (as the optimal solver gives them), the trades' as a list
    solver_moves, transfers = moves[:len(moves) - len(problem.transfers)], problem.transfers
    as_table = pd.DataFrame(solver_moves, columns=list(MOVEMENT_KEYS)).astype({"lot": "int32", "group": "category"})
    assert_same(build_ledger(movement_table(as_table, transfers)), ledger)
    last = scenario.model_years[1]
    compliance = compliance_view(obligations, ledger, problem.makeup_years, last)
    assert_same(compliance, ref_compliance_view(obligations, ledger, problem.makeup_years, last))
    purchases = purchase_movements(scenario, compliance)
    if purchases:
        ledger = build_ledger(movement_table(moves, purchases))
        assert_same(ledger, ref_build_ledger(moves + purchases))
        compliance = compliance_view(obligations, ledger, problem.makeup_years, last)
    balances = balances_view(problem, ledger)
    assert_same(balances, ref_balances_view(problem, ledger))
    reasons = why_short(compliance, ledger, balances, problem, scenario.rules)
    pd.testing.assert_series_equal(reasons, ref_why_short(compliance, ledger, balances, problem))
    return reasons


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.parent.name)
def test_bundled_scenarios_give_the_same_views(path):
    scenario = act_pool.load_scenario(path)
    assert_same_views(scenario)
    assert_same_views(scenario.with_rules(scenario.rules.id, retirement="earliest-expiring"))


@st.composite
def small_scenarios(draw):
    states = draw(st.lists(st.sampled_from(["CA", "OR", "NY", "NJ"]), min_size=1, max_size=3, unique=True))
    years = draw(st.integers(2023, 2027))
    mfrs = draw(st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=2, unique=True))
    rows = []
    for m in mfrs:
        for s in states:
            for y in range(years, years + 3):
                for wc in draw(st.lists(st.sampled_from(["2b-3", "6-7", "tractor"]), min_size=1, max_size=3,
                                        unique=True)):
                    rows.append(row(s, y, wc, "ICE", draw(st.integers(0, 400)), manufacturer=m))
                    rows.append(row(s, y, wc, "ZEV", draw(st.integers(0, 40)), manufacturer=m))
                    if draw(st.booleans()):
                        rows.append(row(s, y, wc, "NZEV", draw(st.integers(1, 20)), aer=draw(st.integers(20, 90)),
                                        manufacturer=m))
    banks = [(m, s, draw(st.integers(2021, years - 1)), g, c, f"{draw(st.integers(0, 300)) / 10:.1f}")
             for m in mfrs for s in states for g in ("2b-3", "tractor") for c in ("ZEV", "NZEV") if draw(st.booleans())]
    keys = {"model_years": [years, years + 2], "retirement": "earliest-expiring"}
    rules = draw(st.sampled_from(["act-2021", "act-2025"]))
    if rules == "act-2025":  # its order is flexible: the optimum too, with pooling on or off
        keys["retirement"] = draw(st.sampled_from(["optimal", "earliest-expiring"]))
        keys["pooling"] = draw(st.booleans())
    return rows, banks, keys, rules


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_scenarios())
def test_random_scenarios_give_the_same_views(scenario_of, drawn):
    sales, banks, keys, rules = drawn
    overrides = {"small_manufacturer.max_vehicles": 0}
    assert_same_views(scenario_of(sales, rules=rules, bank=banks or None, overrides=overrides, **keys))


# ------------------------------------------------------------------- the vector forms of the clauses
EDGE_DEFICITS = np.array([0, 1, 2, 3, 9, 10, 11, 249, 250, 251, 252, 999, 1001, 12345, 99_999, 10**9], dtype=np.int64)


@pytest.mark.parametrize("rules_id", ["act-2021", "act-2025"])
@pytest.mark.parametrize("share", ["0.5", "0.333", "0.3333333", "0.35", "0.07", "0", "1"])
def test_array_clauses_equal_the_scalar_clauses(rules_id, share):
    # Every share is overridden to a value whose products mostly fall between tenths (0.333 x 10 = 3.33
    # -> 3); the low-volume threshold is 25.0 credits = 250 tenths (249, 250, 251, 252 straddle it).
    base = load_rules(rules_id)
    shares = [n for n in ("nzev_cap.nontractor_fraction", "nzev_cap.tractor_fraction", "tractor_offset.fraction",
                          "pooling.cap_fraction") if n in base.parameters]
    rules = base.with_overrides({n: Decimal(share) for n in shares}, "test")
    d = np.concatenate([EDGE_DEFICITS, np.random.default_rng(7).integers(0, 10**7, 500)])
    years = np.resize(np.arange(2024, 2036), len(d))
    for tractor in (False, True):
        assert clauses.nzev_cap_tenths_array(rules, d, tractor).tolist() == [
            clauses.nzev_cap_tenths(rules, int(x), tractor) for x in d]
    assert clauses.low_volume_allowance_tenths_array(rules, d).tolist() == [
        clauses.low_volume_allowance_tenths(rules, int(x)) for x in d]
    assert clauses.tractor_offset_allowance_tenths_array(rules, years, d).tolist() == [
        clauses.tractor_offset_allowance_tenths(rules, int(y), int(x)) for y, x in zip(years, d)]
    if "pooling.cap_fraction" in shares:
        assert clauses.pooling_cap_tenths_array(rules, d).tolist() == [
            clauses.pooling_cap_tenths(rules, int(x)) for x in d]


def test_floor_times_by_hand():
    # 1/3 of 10 tenths is 3.33 -> 3; of 11 -> 3.67 -> 3; of 12 -> 4; 7/20 of 20 = 7 exactly, of 19 = 6.65 -> 6.
    assert clauses.floor_times(Fraction(1, 3), np.array([10, 11, 12])).tolist() == [3, 3, 4]
    assert clauses.floor_times(Fraction(7, 20), np.array([20, 19])).tolist() == [7, 6]
    # a product past 64 bits is still exact: (2**62 + 1) x 3/4 = 3 x 2**60 + 0.75 -> 3 x 2**60
    assert clauses.floor_times(Fraction(3, 4), np.array([2**62 + 1])).tolist() == [3 * 2**60]


def test_expiry_window_bounds_by_hand():
    # Rows of M in CA: deficit MY2026 with make-up through 2028 (window 2025-2028), MY2030 through 2030
    # (window 2029-2030). Expiries: M/CA 2024 (before both), 2029 (in the second only), N/CA 2026 and
    # M/OR 2027 (another manufacturer, another state: neither counts). M/NY has no expiries at all.
    from act_pool.diagnose import _expired_in_window

    rows = pd.DataFrame({"manufacturer": ["M", "M", "M"], "state": ["CA", "CA", "NY"],
                         "model_year": [2026, 2030, 2026], "end": [2028, 2030, 2028]})
    ledger = pd.DataFrame({"manufacturer": ["M", "M", "N", "M"], "state": ["CA", "CA", "CA", "OR"],
                           "model_year": [2024, 2029, 2026, 2027], "action": ["expire"] * 4})
    assert _expired_in_window(rows, ledger).tolist() == [False, True, False]
    # the window's first year (the year before the deficit) and last year count; one year outside does not
    for year, inside in ((2025, True), (2028, True), (2024, False), (2029, False)):
        one = ledger.iloc[:1].assign(model_year=year)
        assert _expired_in_window(rows.iloc[:1], one).tolist() == [inside], year
    assert _expired_in_window(rows, ledger.iloc[:0]).tolist() == [False, False, False]
