"""Least-cost compliance plans: which conversions and purchases close every deficit at the least cost.

:func:`plan` solves the program of :mod:`act_pool.plan.model` per manufacturer (all together in
market mode), applies the conversions to the sales table, and re-runs the scenario with the
planned sales and purchases through the ordinary pipeline (:func:`act_pool.run.run`), so the plan
is checked by the same rules as any run.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.obligations import compute_obligations
from act_pool.plan.levers import Levers, parse_levers
from act_pool.plan.market import expiring_covered, market_trades
from act_pool.plan.model import build_model, conversion_candidates, solve_model
from act_pool.plan.result import PLAN_COLUMNS, PlanResult
from act_pool.plan.values import credit_values
from act_pool.rules import clauses
from act_pool.run import run
from act_pool.scenario import Scenario, load_scenario
from act_pool.solve.problem import ComplianceProblem, build_problem


def levers_of(scenario: Scenario, levers: Levers | Mapping[str, Any] | None = None) -> Levers:
    """The plan's levers: ``levers`` if given (a :class:`Levers` or a ``[plan]`` table), else the
    scenario's ``[plan]`` table.

    Raises
    ------
    InputError
        If neither names any lever, or the table is invalid.
    """
    if isinstance(levers, Levers):
        return levers
    raw = levers if levers is not None else scenario.plan
    label = str(scenario.path or f"scenario '{scenario.name}'")
    if raw is None:
        raise InputError([Problem(label, None, "plan", "a plan needs a [plan] table naming its levers (zev_cost, "
                                  "max_zev_share, credit_price, allow_open; see docs/scenario-format.md)")])
    problems: list[Problem] = []
    rules = scenario.rules
    parsed = parse_levers(raw, label, clauses.state_codes(rules),
                          (int(rules.value("model_years.first")), int(rules.value("model_years.last"))), problems)
    if problems or parsed is None:
        raise InputError(problems)
    return parsed


def plan(scenario: Scenario | str | Path, levers: Levers | Mapping[str, Any] | None = None, market: bool = False,
         progress: Callable[[str, int, int], None] | None = None) -> PlanResult:
    """The least-cost plan of a scenario (see the module docstring).

    Parameters
    ----------
    scenario : Scenario, str or Path
        The scenario (or its file); its ``[plan]`` table gives the levers unless ``levers`` does.
    levers : Levers or mapping, optional
        Levers to use instead of the scenario's (a ``[plan]`` table as a dict).
    market : bool
        Let the scenario's manufacturers trade with one another at ``credit_price`` first.
    progress : callable, optional
        ``progress(stage, done, total)`` as the plan advances.

    Returns
    -------
    PlanResult

    Raises
    ------
    InputError
        If the levers are missing or invalid, market mode has no ``credit_price``, or pooling runs under
        an exchange ratio other than 1 (the plan's program is a pure network: it holds no gains).
    """
    report = progress or (lambda stage, done, total: None)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    lev = levers_of(scenario, levers)
    if scenario.pooling and clauses.pooling_exchange_ratio(scenario.rules) != 1:
        raise InputError([Problem(str(scenario.path or scenario.name), None, "overrides.pooling.exchange_ratio",
                                  "a plan holds pooled credits at an exchange ratio of 1 only: leave the ratio "
                                  "at 1 or set pooling = false to plan")])
    if market and lev.credit_price is None:
        raise InputError([Problem(str(scenario.path or scenario.name), None, "plan.credit_price",
                                  "market mode trades at credit_price: give a price in USD per credit")])
    started = time.monotonic()
    baseline = run(scenario)
    problem = baseline.problem
    conversions = conversion_candidates(scenario, lev)
    makers = problem.manufacturers
    market_table = None
    if market:
        report("market", 0, 1)
        joint = build_model(problem, lev, conversions, makers, market=True)
        market_table = market_trades(joint, solve_model(joint, integer=False).x)
    picked, values, not_met = [], [], []
    for i, m in enumerate(makers):
        report("planning", i, len(makers))
        model = build_model(problem, lev, conversions, [m], trades=market_table)
        best = solve_model(model)
        relaxed = solve_model(model, integer=False, duals=True)
        cols = model.columns.assign(x=best.x)
        picked.append(cols[cols["kind"].isin(["convert", "purchase"]) & (cols["x"] > 0.5)])
        not_met.append(cols[(cols["kind"] == "unmet") & cols["counted"] & (cols["x"] > 1e-6)])
        values.append(credit_values(model, relaxed))
    table = _plan_table(pd.concat(picked) if picked else pd.DataFrame(), lev)
    values_table = pd.concat(values, ignore_index=True) if values else pd.DataFrame()
    trade_table = market_table
    planned_scenario = planned(scenario, table, lev)
    if trade_table is not None and not trade_table.empty:
        planned_scenario = with_market_trades(planned_scenario, trade_table)
    report("re-running", 0, 1)
    planned_result = run(planned_scenario)
    return PlanResult(
        scenario=scenario, levers=lev, market=market, table=table, credit_values=values_table,
        planned_sales=planned_scenario.sales, planned=planned_result, baseline=baseline,
        not_met=_not_met(pd.concat(not_met) if not_met else pd.DataFrame(), conversions, table, problem, lev),
        trades=trade_table,
        expiring=expiring_covered(trade_table, baseline.ledger) if trade_table is not None else None,
        seconds=time.monotonic() - started)


def _plan_table(picked: pd.DataFrame, lev: Levers) -> pd.DataFrame:
    """plan.csv's rows: one per conversion (whole vehicles) and per purchase (tenths); cost in exact USD."""
    rows = []
    for r in picked.itertuples(index=False):
        n = int(round(r.x))
        if r.kind == "convert":
            rows.append((r.manufacturer, r.state, int(r.model_year), r.weight_class, r.group, n,
                         n * int(round(r.gain)), 0, lev.zev_cost[r.weight_class] * n))
        else:
            rows.append((r.manufacturer, r.state, int(r.model_year), "", r.group, 0, 0, n,
                         lev.credit_price * n / 10))
    out = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return out.sort_values(["manufacturer", "state", "model_year", "group", "weight_class"],
                           kind="stable").reset_index(drop=True)


def planned(scenario: Scenario, table: pd.DataFrame, lev: Levers) -> Scenario:
    """The scenario with the plan applied: converted ICE vehicles sold as ZEVs (the totals stay) and,
    for the manufacturers that buy, the purchase option at ``credit_price`` in place of the scenario's."""
    sales = scenario.sales.copy()
    key = ["manufacturer", "state", "model_year", "weight_class"]
    extra = table[table["extra_zev"] > 0].groupby(key)["extra_zev"].sum()
    if not extra.empty:
        moved = extra.reindex(pd.MultiIndex.from_frame(sales[key])).fillna(0).astype("int64").to_numpy()
        for powertrain, sign in (("ICE", -1), ("ZEV", 1)):
            rows = (sales["powertrain"] == powertrain).to_numpy()
            sales.loc[rows, "vehicles"] += sign * moved[rows]
        has_zev = pd.MultiIndex.from_frame(sales.loc[sales["powertrain"] == "ZEV", key])
        new = extra[~extra.index.isin(has_zev)]
        if not new.empty:
            rows = new.rename("vehicles").reset_index().assign(powertrain="ZEV", aer_miles=None)
            sales = pd.concat([sales, rows[sales.columns]], ignore_index=True)
    sales = sales.sort_values(key + ["powertrain"], kind="stable").reset_index(drop=True)
    buyers = tuple(sorted(set(table.loc[table["credits_bought"] > 0, "manufacturer"])))
    out = scenario.with_sales(sales)
    return replace(out, purchase_price=lev.credit_price if buyers else None,
                   purchase_manufacturers=buyers if buyers else None, plan=scenario.plan)


def with_market_trades(scenario: Scenario, trades: pd.DataFrame) -> Scenario:
    """The planned scenario with the market's trades declared (13 CCR §1963.2(e)), each split over the
    seller's credits of its expiry class, oldest vintage first, as the trades table names them."""
    problem = build_problem(scenario, compute_obligations(scenario))
    lots = problem.lots[problem.lots["usable"]].sort_values(["vintage", "lot"], kind="stable")
    left = lots.set_index("lot")["credits"].to_dict()
    rows = []
    next_row = int(scenario.trades["row"].max()) + 1 if len(scenario.trades) else 1
    for t in trades.itertuples(index=False):
        need = int(t.credits)
        held = lots[(lots["manufacturer"] == t.seller) & (lots["origin_state"] == t.state) & (lots["group"] == t.group)
                    & (lots["credit_type"] == t.credit_type) & (lots["last_use"] == t.last_use)
                    & (lots["available_from"] <= t.model_year)]
        for lot in held.itertuples(index=False):
            take = min(need, left[lot.lot])
            if take <= 0:
                continue
            left[lot.lot] -= take
            need -= take
            rows.append({"seller": t.seller, "buyer": t.buyer, "state": t.state, "vintage": int(lot.vintage),
                         "group": t.group, "credit_type": t.credit_type, "credits_tenths": take,
                         "model_year": int(t.model_year), "row": next_row})
            next_row += 1
    declared = pd.concat([scenario.trades, pd.DataFrame(rows, columns=scenario.trades.columns)], ignore_index=True)
    return replace(scenario, trades=declared.astype(scenario.trades.dtypes.to_dict()))


def _not_met(unmet: pd.DataFrame, conversions: pd.DataFrame, table: pd.DataFrame, problem: ComplianceProblem,
             lev: Levers) -> pd.DataFrame:
    """Deficits no lever can meet, in integer tenths, each with why."""
    cols = ["manufacturer", "state", "model_year", "group", "unmet", "why"]
    if unmet.empty:
        return pd.DataFrame(columns=cols)
    done = table.groupby(["manufacturer", "state", "model_year", "weight_class"])["extra_zev"].sum()
    last = problem.years.stop - 1
    rows = []
    for r in unmet.itertuples(index=False):
        y = int(r.model_year)
        reach = conversions[(conversions["manufacturer"] == r.manufacturer)
                            & (conversions["model_year"] <= min(y + problem.makeup_years, last))
                            & (conversions["last_use"] >= y)
                            & ((conversions["state"] == r.state) | (problem.pooling and r.state in problem.pool_states
                                                                   and conversions["state"].isin(problem.pool_states)))]
        if r.group == "tractor":
            reach_own = reach[reach["group"] == "tractor"]
        else:
            reach_own = reach
        left = sum(int(c.limit) - int(done.get((c.manufacturer, c.state, c.model_year, c.weight_class), 0))
                   for c in reach_own.itertuples(index=False))
        if reach.empty:
            why = "no ICE vehicle left to convert whose credits may meet it"
        elif left == 0:
            why = ("every ICE vehicle whose credits may meet it is converted (up to max_zev_share)"
                   if not reach_own.empty else
                   "only non-tractor vehicles are left to convert, and the tractor offset and low-volume limits are used up")
        else:
            why = "the rule limits (NZEV caps, tractor offset, make-up) leave the remaining conversions no route to it"
        if lev.credit_price is None:
            why += "; purchases are forbidden (no credit_price)"
        rows.append((r.manufacturer, r.state, y, r.group, int(round(r.x)), why))
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:4], kind="stable").reset_index(drop=True)


__all__ = ["levers_of", "plan", "planned"]
