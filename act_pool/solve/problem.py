"""The compliance problem both solvers work on: credit lots, deficits and the rule gates.

Built once from a scenario's obligations and opening bank, it is the single model that the
regulatory-order solver (:mod:`act_pool.solve.sequential`) and the optimiser
(:mod:`act_pool.solve.optimal`) share, so their results differ only by the retirement choices.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable

import numpy as np
import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.joins import key_sums, run_starts
from act_pool.rules import clauses
from act_pool.rules.model import RuleSet
from act_pool.scenario import Scenario
from act_pool.tenths import format_tenths

LOT_COLUMNS = ["lot", "manufacturer", "origin_manufacturer", "origin_state", "vintage", "group", "credit_type",
               "last_use", "credits", "source", "available_from", "usable"]
SOURCES = ("opening", "generated", "bought")
#: Lot columns that hold text.
_TEXT_COLUMNS = ["manufacturer", "origin_manufacturer", "origin_state", "group", "credit_type", "source"]


@dataclass(frozen=True)
class Step:
    """One step of the retirement order: which credits may meet which deficits, through which gate.

    ``gate`` names a per-(state, model year) capacity (see :func:`gate_capacities`), or None.
    """

    name: str
    source_groups: tuple[str, ...]
    credit_type: str
    target_groups: tuple[str, ...]
    gate: str | None


def retirement_steps(rules: RuleSet) -> list[Step]:
    """The regulation's retirement order (13 CCR §1963.3(c)-(d)), one step per credit route.

    Reconstructed as the reference notes give it (§5, EIA NEMS): NZEV credits first within the
    50 % caps, then tractor ZEV to tractor deficits, Class 2b-3/4-8 ZEV to their deficits, tractor
    ZEV to non-tractor deficits; then the low tractor volume flexibility (§1963.3(c)(3)) and, where
    the rule set has one, the 2025 tractor offset, both with Class 2b-3/4-8 ZEV credits only.
    """
    nt, tr = clauses.NONTRACTOR_GROUPS, ("tractor",)
    cross = bool(rules.value("tractor_credits.meet_nontractor_deficits"))
    steps = [Step("tractor-nzev", tr, "NZEV", tr, "nzev_tractor"),
             Step("nzev", nt, "NZEV", nt, "nzev_nontractor")]
    if cross:
        steps.append(Step("tractor-nzev-to-nontractor", tr, "NZEV", nt, "nzev_nontractor"))
    steps += [Step("tractor-zev", tr, "ZEV", tr, None),
              Step("zev", nt, "ZEV", nt, None)]
    if cross:
        steps.append(Step("tractor-zev-to-nontractor", tr, "ZEV", nt, None))
    steps += [Step("low-volume-flexibility", nt, "ZEV", tr, "low_volume"),
              Step("tractor-offset", nt, "ZEV", tr, "tractor_offset")]
    return steps


@dataclass
class ComplianceProblem:
    """Everything a solver needs, as plain tables (credits and deficits in integer tenths).

    Attributes
    ----------
    lots : DataFrame
        One row per credit lot: ``lot`` id, holder ``manufacturer``, ``origin_manufacturer``,
        ``origin_state``, ``vintage``, ``group``, ``credit_type``, ``last_use`` (last model year it
        may be retired in), ``credits``, ``source`` (opening, generated or bought),
        ``available_from`` (first model year the holder may use it) and ``usable`` (False for
        credits the holder has sold: they stay in its bank until the transfer, then leave).
    transfers : list of dict
        Ledger movements (action ``transfer``) of the declared trades.
    deficits : DataFrame
        One row per manufacturer x state x model year x group with deficits > 0 (``deficits``).
    gates : DataFrame
        Per manufacturer x state x model year: capacities ``nzev_nontractor``, ``nzev_tractor``,
        ``low_volume``, ``tractor_offset``, ``pool``, whether the state ``may_receive`` pooled credits for
        that model year's deficits and whether its credits used in that year ``may_send`` (be pooled out).
    years : range
        Simulated model years.
    makeup_years : int
        Model years after its own in which a deficit may still be met.
    makeup_zev_only : bool
    pooling : bool
    pool_states : frozenset of str
    steps : list of Step
    exchange_ratio : Fraction
        Tenths of a receiving state's deficit met by each tenth of a pooled credit (2025 amendments;
        rule ``pooling.exchange_ratio``). A pooled retirement of c tenths meets floor(ratio * c).
    """

    lots: pd.DataFrame
    deficits: pd.DataFrame
    gates: pd.DataFrame
    years: range
    makeup_years: int
    makeup_zev_only: bool
    pooling: bool
    pool_states: frozenset[str]
    steps: list[Step] = field(default_factory=list)
    transfers: list[dict] = field(default_factory=list)
    exchange_ratio: Fraction = Fraction(1)

    @property
    def manufacturers(self) -> list[str]:
        return sorted(set(self.deficits["manufacturer"].unique()) | set(self.lots["manufacturer"].unique()))

    def usable_lots(self, manufacturer: str) -> pd.DataFrame:
        """The lots ``manufacturer`` may retire (sold credits excluded)."""
        return self.lots[(self.lots["manufacturer"] == manufacturer) & self.lots["usable"]]


def build_problem(scenario: Scenario, obligations: pd.DataFrame) -> ComplianceProblem:
    """Lots, deficits and gate capacities of a scenario (13 CCR §1963.2(g), §1963.3)."""
    rules = scenario.rules
    lots, transfers = apply_trades(_credit_lots(scenario, obligations), scenario)
    deficits = obligations.loc[obligations["deficits"] > 0,
                               ["manufacturer", "state", "model_year", "group", "deficits"]].reset_index(drop=True)
    held = lots.loc[lots["usable"], ["manufacturer", "origin_state"]].drop_duplicates()
    held = zip(held["manufacturer"].tolist(), held["origin_state"].tolist())
    gates = gate_capacities(rules, obligations, scenario.pooling, held)
    pool_states = frozenset(rules.value("pooling.states")) if scenario.pooling else frozenset()
    return ComplianceProblem(lots=lots, deficits=deficits, gates=gates, years=scenario.years,
                             makeup_years=clauses.makeup_model_years(rules),
                             makeup_zev_only=bool(rules.value("makeup.zev_only")), pooling=scenario.pooling,
                             pool_states=pool_states, steps=retirement_steps(rules), transfers=transfers,
                             exchange_ratio=clauses.pooling_exchange_ratio(rules))


def _credit_lots(scenario: Scenario, obligations: pd.DataFrame) -> pd.DataFrame:
    """The opening bank and the credits generated, one lot per holder, state, vintage, group and type.

    A lot may be retired through the last model year of its credit life (§1963.2(g)), looked up once
    per state and vintage.
    """
    rules = scenario.rules
    bank = scenario.bank
    opening = pd.DataFrame({
        "manufacturer": bank["manufacturer"], "origin_manufacturer": bank["manufacturer"],
        "origin_state": bank["state"], "vintage": bank["vintage"].astype("int64"), "group": bank["group"],
        "credit_type": bank["credit_type"], "credits": bank["credits_tenths"].astype("int64"),
        "source": "opening", "available_from": scenario.model_years[0]})
    generated = []
    for ctype, column in (("ZEV", "zev_credits"), ("NZEV", "nzev_credits")):
        earned = obligations[obligations[column] > 0]
        generated.append(pd.DataFrame({
            "manufacturer": earned["manufacturer"], "origin_manufacturer": earned["manufacturer"],
            "origin_state": earned["state"], "vintage": earned["model_year"].astype("int64"),
            "group": earned["group"], "credit_type": ctype, "credits": earned[column].astype("int64"),
            "source": "generated", "available_from": earned["model_year"].astype("int64")}))
    lots = pd.concat([opening, *generated], ignore_index=True)
    lots = lots[lots["credits"] > 0].astype(dict.fromkeys(_TEXT_COLUMNS, "str"))
    # the last model year of each lot's credit life, looked up once per state and vintage
    state_code, states = pd.factorize(lots["origin_state"])
    vintage = lots["vintage"].to_numpy(dtype=np.int64)
    pairs, first, pair_of_lot = np.unique(state_code * (int(vintage.max(initial=0)) + 1) + vintage,
                                          return_index=True, return_inverse=True)
    names = states.tolist()
    last_use = np.array([clauses.credit_last_model_year(rules, names[c], v)
                         for c, v in zip(state_code[first].tolist(), vintage[first].tolist())], dtype=np.int64)
    lots["last_use"] = last_use[pair_of_lot] if len(lots) else np.zeros(0, dtype=np.int64)
    lots["usable"] = True
    # sorted by holder, state, vintage, group, type and source (codes ordered by value; ties in row order)
    sort_key = ["manufacturer", "origin_state", "vintage", "group", "credit_type", "source"]
    order = np.lexsort([np.arange(len(lots))] + [pd.factorize(lots[c], sort=True)[0] for c in reversed(sort_key)])
    lots = lots[LOT_COLUMNS[1:]].iloc[order].reset_index(drop=True)
    lots.insert(0, "lot", np.arange(len(lots), dtype=np.int64))
    return _typed(lots)


def _typed(lots: pd.DataFrame) -> pd.DataFrame:
    return lots.astype({"lot": "int64", "vintage": "int64", "last_use": "int64", "credits": "int64",
                        "available_from": "int64", "usable": bool})


def apply_trades(lots: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, list[dict]]:
    """Split lots for the declared trades (13 CCR §1963.2(e)); return the lots and transfer movements.

    A trade of model year T moves credits of one state, vintage, group and type from seller to
    buyer at the start of T. The credits sold are set aside from the seller's usable credits (it
    holds them until T but may not retire them), and the buyer may use them from T. A seller must
    hold the credits: earned, opened or bought earlier, not yet expired at T, and not sold twice;
    with ``scenario.trades_beyond_holdings == "cap"``, a trade beyond them moves what the seller holds.

    Raises
    ------
    InputError
        Naming the trades file and row where a seller sells credits it does not hold (unless capped).
    """
    if scenario.trades.empty:
        return lots, []
    table = {c: lots[c].to_numpy(copy=True) for c in LOT_COLUMNS}  # grows by two lots per lot a trade draws on
    problems: list[Problem] = []
    transfers: list[dict] = []
    for t in scenario.trades.sort_values(["model_year", "row"], kind="stable").itertuples(index=False):
        need = int(t.credits_tenths)
        held = np.flatnonzero((table["manufacturer"] == t.seller) & table["usable"] & (table["origin_state"] == t.state)
                              & (table["vintage"] == t.vintage) & (table["group"] == t.group)
                              & (table["credit_type"] == t.credit_type) & (table["available_from"] <= t.model_year)
                              & (table["last_use"] >= t.model_year))
        have = int(table["credits"][held].sum())
        if have < need and scenario.trades_beyond_holdings == "cap":
            need = have  # the trade moves what the seller holds (Monte Carlo samples of a plan's sales)
        elif have < need:
            problems.append(Problem(scenario.trades_file, int(t.row), "credits", (
                f"{t.seller} sells {format_tenths(need)} {t.state} {t.group} {t.credit_type} credits of vintage "
                f"{t.vintage} in model year {t.model_year} but holds {format_tenths(have)} usable then")))
            continue
        drawn, taken = [], []
        for i in held.tolist():
            if need == 0:
                break
            take = min(need, int(table["credits"][i]))
            if take == 0:  # a lot an earlier trade emptied
                continue
            need -= take
            table["credits"][i] -= take
            drawn.append(i)
            taken.append(take)
        first_id = len(table["lot"])
        for n, (i, take) in enumerate(zip(drawn, taken)):
            transfers.append({"manufacturer": t.seller, "origin_manufacturer": table["origin_manufacturer"][i],
                              "origin_state": table["origin_state"][i], "vintage": int(table["vintage"][i]),
                              "origin_group": table["group"][i], "credit_type": table["credit_type"][i],
                              "action": "transfer", "state": table["origin_state"][i], "model_year": int(t.model_year),
                              "group": table["group"][i], "credits": take, "deficit_met": 0, "year": int(t.model_year),
                              "rule": f"trade to {t.buyer}", "lot": first_id + 2 * n})
        table = _with_trade_lots(table, drawn, taken, t.buyer, int(t.model_year))
    if problems:
        raise InputError(problems)
    out = pd.DataFrame(table).astype(dict.fromkeys(_TEXT_COLUMNS, "str"))
    return _typed(out[out["credits"] > 0].reset_index(drop=True)), transfers


def _with_trade_lots(table: dict[str, np.ndarray], drawn: list[int], taken: list[int], buyer: str,
                     model_year: int) -> dict[str, np.ndarray]:
    """``table`` (lot columns) with two lots appended for each lot ``drawn`` on by a trade, in order: the
    seller's credits sold (``taken``; set aside, not usable) and the buyer's (bought, usable from ``model_year``).
    Lot ids continue from the table's length."""
    if not drawn:
        return table
    source = np.repeat(drawn, 2)
    added = {c: values[source] for c, values in table.items()}
    buyers = slice(1, None, 2)
    added["lot"] = np.arange(len(table["lot"]), len(table["lot"]) + len(source))
    added["credits"] = np.repeat(taken, 2)
    added["usable"] = np.resize([False, True], len(source))
    added["manufacturer"][buyers] = buyer
    added["source"][buyers] = "bought"
    added["available_from"][buyers] = model_year
    return {c: np.concatenate([table[c], added[c]]) for c in table}


def gate_capacities(rules: RuleSet, obligations: pd.DataFrame, pooling: bool,
                    held: Iterable[tuple[str, str]] = ()) -> pd.DataFrame:
    """Per manufacturer x state x model year, the capacity of every rule gate, in tenths, and the
    pooling switches ``may_receive`` (pooled credits may meet the state's deficits of that model year)
    and ``may_send`` (the state's credits used in that model year may be pooled out; 2025 amendments).

    The capacities follow from the model year's deficits (13 CCR §1963.3(c)(3), (d); 2025 amendments),
    computed for all rows at once. The pooling switches depend only on the state and model year, so
    each clause of :data:`POOLING_SWITCHES` is read once per state and model year. ``held`` adds
    (manufacturer, origin state) pairs of credits held without obligations there (bought credits),
    with zero capacities, so that every lot's origin has a ``may_send`` row in every year.
    """
    key = ["manufacturer", "state", "model_year"]
    # one row per manufacturer, state and model year, sorted (codes ordered by value: sorting them sorts the keys)
    codes = [pd.factorize(obligations[c], sort=True)[0] for c in key]
    order = np.lexsort(codes[::-1])
    starts = run_starts(codes, order)
    row_of = np.empty(len(order), dtype=np.int64)
    row_of[order] = np.cumsum(starts) - 1
    group = obligations["group"].to_numpy(dtype=object)
    deficits = obligations["deficits"].to_numpy(dtype=np.int64)
    totals = obligations[key].iloc[order[starts]].reset_index(drop=True).astype({"model_year": "int64"})
    totals["nontractor"] = key_sums(row_of, len(totals), np.where(np.isin(group, clauses.NONTRACTOR_GROUPS),
                                                                  deficits, 0))
    totals["tractor"] = key_sums(row_of, len(totals), np.where(group == "tractor", deficits, 0))
    pairs_with_rows = set(zip(totals["manufacturer"].tolist(), totals["state"].tolist()))
    extra = sorted(set(held) - pairs_with_rows)
    if extra:
        years = sorted(int(y) for y in obligations["model_year"].unique())
        zero = pd.DataFrame([(m, s, y, 0, 0) for m, s in extra for y in years], columns=list(totals.columns))
        totals = pd.concat([totals, zero], ignore_index=True).sort_values(key, kind="stable", ignore_index=True)
    nontractor, tractor = totals["nontractor"].to_numpy(), totals["tractor"].to_numpy()
    gates = totals[key].astype({"model_year": "int64"})
    gates["nzev_nontractor"] = clauses.nzev_cap_tenths_array(rules, nontractor, tractor=False)
    gates["nzev_tractor"] = clauses.nzev_cap_tenths_array(rules, tractor, tractor=True)
    gates["low_volume"] = clauses.low_volume_allowance_tenths_array(rules, tractor)
    gates["tractor_offset"] = clauses.tractor_offset_allowance_tenths_array(rules, gates["model_year"].to_numpy(),
                                                                            tractor)
    gates["pool"] = clauses.pooling_cap_tenths_array(rules, nontractor + tractor) if pooling else 0
    switches: dict[tuple[str, int], list[bool]] = {}
    state_years = list(zip(gates["state"].tolist(), gates["model_year"].tolist()))
    for s, y in state_years:
        if (s, y) not in switches:
            switches[(s, y)] = [bool(pooling and clause(rules, s, int(y))) for clause in POOLING_SWITCHES.values()]
    for i, column in enumerate(POOLING_SWITCHES):
        gates[column] = np.array([switches[sy][i] for sy in state_years], dtype=bool)
    return gates


#: The per-state, per-model-year pooling switches of the gates table: column -> clause(rules, state, model_year).
POOLING_SWITCHES = {"may_receive": clauses.pooling_may_receive, "may_send": clauses.pooling_may_send}
