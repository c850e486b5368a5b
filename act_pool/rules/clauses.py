"""The ACT clauses as small pure functions of a rule set.

Each function is named after the clause it implements and reads parameters, never literals.
Amounts before rounding are exact :class:`~fractions.Fraction` credits; after rounding, integer
tenths (see :mod:`act_pool.tenths`).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

import numpy as np

from act_pool.rules.model import RuleSet
from act_pool.tenths import as_fraction

#: Weight classes of the sales table and the vehicle group each belongs to (13 CCR §1963.1 Table A-2:
#: Class 4-5, 6-7 and 8 non-tractors form the Class 4-8 group; Class 7-8 tractors their own group).
WEIGHT_CLASS_GROUP: dict[str, str] = {
    "2b-3": "2b-3", "4-5": "4-8", "6-7": "4-8", "8": "4-8", "tractor": "tractor",
}
GROUPS: tuple[str, ...] = ("2b-3", "4-8", "tractor")
NONTRACTOR_GROUPS: tuple[str, ...] = ("2b-3", "4-8")
CREDIT_TYPES: tuple[str, ...] = ("ZEV", "NZEV")
POWERTRAINS: tuple[str, ...] = ("ICE", "ZEV", "NZEV")


_Clause = TypeVar("_Clause", bound=Callable)


def cached_per_rule_set(clause: _Clause) -> _Clause:
    """``clause(rules, *args)`` computed once per rule set and arguments, kept in the rule set's
    :attr:`~act_pool.rules.model.RuleSet.clause_values`: for pure clauses whose value depends only on
    the rule set's parameters and the (hashable) arguments. A rule set with scenario overrides is
    another object, with its own values."""
    @functools.wraps(clause)
    def cached(rules: RuleSet, *args):
        key = (clause.__name__, *args)
        try:
            return rules.clause_values[key]
        except KeyError:
            value = rules.clause_values[key] = clause(rules, *args)
            return value

    return cached  # type: ignore[return-value]


def state_codes(rules: RuleSet) -> list[str]:
    """Codes of the ACT states the rule set knows, in file order."""
    seen: dict[str, None] = {}
    for name in rules.parameters:
        if name.startswith("states."):
            seen[name.split(".")[1]] = None
    return list(seen)


def first_credit_model_year(rules: RuleSet, state: str) -> int:
    """First model year whose sales earn credits in ``state`` (§1963.2; state early-action windows)."""
    return int(rules.value(f"states.{state}.first_credit_model_year"))


def first_deficit_model_year(rules: RuleSet, state: str) -> int:
    """First model year whose sales accrue deficits in ``state`` (§1963.1(a); state adoptions)."""
    return int(rules.value(f"states.{state}.first_deficit_model_year"))


def is_enforced(rules: RuleSet, state: str, model_year: int) -> bool:
    """Whether ``state`` enforces ``model_year``: deficits accrue and no pause is announced."""
    paused = {int(y) for y in rules.value(f"states.{state}.paused_model_years")}
    return model_year >= first_deficit_model_year(rules, state) and model_year not in paused


@cached_per_rule_set
def zev_sales_fraction(rules: RuleSet, group: str, model_year: int) -> Fraction:
    """ZEV sales percentage of Table A-1 (§1963.1(b)) as a fraction; 0 before the schedule starts."""
    try:
        return as_fraction(rules.at(f"zev_sales_percent.{group}", model_year)) / 100
    except KeyError:
        return Fraction(0)


@cached_per_rule_set
def weight_class_modifier(rules: RuleSet, weight_class: str) -> Fraction:
    """Weight class modifier of Table A-2 (§1963.1)."""
    return as_fraction(rules.value(f"weight_class_modifier.{weight_class}"))


def deficit_per_vehicle(rules: RuleSet, state: str, weight_class: str, model_year: int) -> Fraction:
    """Deficits one vehicle accrues (§1963.1(a)-(b)): ZEV sales percentage x weight class modifier.

    Every vehicle counts, ZEVs and NZEVs included; nothing accrues before the state's first
    deficit model year.
    """
    if model_year < first_deficit_model_year(rules, state):
        return Fraction(0)
    group = WEIGHT_CLASS_GROUP[weight_class]
    return zev_sales_fraction(rules, group, model_year) * weight_class_modifier(rules, weight_class)


@cached_per_rule_set
def nzev_factor(rules: RuleSet, aer_miles: Fraction, model_year: int) -> Fraction:
    """NZEV factor (§1963.2(b)(1)): min(factor_per_mile x AER + factor_intercept, factor_cap).

    0 below the model year's minimum all-electric range and after the last NZEV model year. With the
    default reading (0.01 per mile + 0.15, capped at 0.75) a 40-mile NZEV has factor 0.55 and the cap
    is reached at 60 miles; ``nzev.factor_intercept = 0`` gives the 0.01 x AER reading.
    """
    if model_year > int(rules.value("nzev.last_model_year")):
        return Fraction(0)
    if aer_miles < as_fraction(rules.at("nzev.min_aer_miles", model_year)):
        return Fraction(0)
    per_mile = as_fraction(rules.value("nzev.factor_per_mile"))
    intercept = as_fraction(rules.value("nzev.factor_intercept"))
    return min(per_mile * aer_miles + intercept, as_fraction(rules.value("nzev.factor_cap")))


def credit_per_vehicle(rules: RuleSet, state: str, weight_class: str, powertrain: str,
                       aer_miles: Fraction | None, model_year: int) -> Fraction:
    """Credits one vehicle earns (§1963.2(a)-(b)): WCM for a ZEV, WCM x NZEV factor for an NZEV,
    nothing for other vehicles or before the state's first credit model year."""
    if model_year < first_credit_model_year(rules, state) or powertrain == "ICE":
        return Fraction(0)
    wcm = weight_class_modifier(rules, weight_class)
    if powertrain == "ZEV":
        return wcm
    return wcm * nzev_factor(rules, Fraction(aer_miles or 0), model_year)


def credit_last_model_year(rules: RuleSet, state: str, vintage: int) -> int:
    """Last model year in which a credit of ``vintage`` earned in ``state`` may be retired (§1963.2(g)).

    Credits last through vintage + ``credit_life.model_years`` (§1963.2(g)(2)). Early-action credits
    (vintages before the state's first deficit year) last through the later of that and
    ``credit_life.early_last_model_year`` (§1963.2(g)(1)): the fixed date lengthens California's
    MY2021-2023 credit lives and never shortens a late-start state's (CO MY2026: through MY2031). In
    the states listed in ``credit_life.early_fixed_states`` they end with the fixed date instead.
    """
    ordinary = vintage + int(rules.value("credit_life.model_years"))
    if vintage >= first_deficit_model_year(rules, state):
        return ordinary
    early_end = int(rules.value("credit_life.early_last_model_year"))
    if state in rules.value("credit_life.early_fixed_states"):
        return early_end
    return max(early_end, ordinary)


def nzev_cap_fraction(rules: RuleSet, tractor: bool) -> Fraction:
    """Share of a model year's deficits that NZEV credits may meet (§1963.3(d)): non-tractor or tractor."""
    return as_fraction(rules.value("nzev_cap.tractor_fraction" if tractor else "nzev_cap.nontractor_fraction"))


def nzev_cap_tenths(rules: RuleSet, deficits_tenths: int, tractor: bool) -> int:
    """Most NZEV credits (tenths) that may meet a model year's deficits (§1963.3(d)).

    ``deficits_tenths`` is the summed 2b-3 + 4-8 deficits, or the tractor deficits with
    ``tractor=True``. A cap that falls between tenths rounds down: credits retire in whole tenths.
    """
    return int(nzev_cap_fraction(rules, tractor) * deficits_tenths)


def nzev_cap_tenths_array(rules: RuleSet, deficits_tenths: np.ndarray, tractor: bool) -> np.ndarray:
    """:func:`nzev_cap_tenths` of every element of ``deficits_tenths`` (§1963.3(d)), rounded down to a tenth."""
    return floor_times(nzev_cap_fraction(rules, tractor), deficits_tenths)


def low_volume_threshold_tenths(rules: RuleSet) -> Fraction:
    """Most tractor deficits (tenths) of a model year that still allow the low tractor volume
    flexibility (§1963.3(c)(3))."""
    return as_fraction(rules.value("low_volume_tractor.deficit_threshold")) * 10


def low_volume_max_tenths(rules: RuleSet) -> int:
    """Most Class 2b-3 or 4-8 ZEV credits (tenths) the low tractor volume flexibility lets meet tractor
    deficits (§1963.3(c)(3))."""
    return int(as_fraction(rules.value("low_volume_tractor.max_credits")) * 10)


def low_volume_allowance_tenths(rules: RuleSet, tractor_deficits_tenths: int) -> int:
    """Class 2b-3 or 4-8 ZEV credits (tenths) that may meet tractor deficits under the low tractor
    volume flexibility (§1963.3(c)(3)): up to 25 when the model year's tractor deficits are 25 or fewer."""
    if tractor_deficits_tenths > low_volume_threshold_tenths(rules):
        return 0
    return low_volume_max_tenths(rules)


def low_volume_allowance_tenths_array(rules: RuleSet, tractor_deficits_tenths: np.ndarray) -> np.ndarray:
    """:func:`low_volume_allowance_tenths` of every element of ``tractor_deficits_tenths`` (§1963.3(c)(3)).

    An integer exceeds a rational threshold exactly when it exceeds the threshold's floor.
    """
    over = np.asarray(tractor_deficits_tenths, dtype=np.int64) > math.floor(low_volume_threshold_tenths(rules))
    return np.where(over, 0, low_volume_max_tenths(rules)).astype(np.int64)


def tractor_offset_fraction(rules: RuleSet, model_year: int) -> Fraction:
    """Portion of a model year's tractor deficits that Class 2b-3 or 4-8 ZEV credits may offset (2025 amendment)."""
    return as_fraction(rules.at("tractor_offset.fraction", model_year))


def tractor_offset_allowance_tenths(rules: RuleSet, model_year: int, tractor_deficits_tenths: int) -> int:
    """Class 2b-3 or 4-8 ZEV credits (tenths) that may offset a model year's tractor deficits under the
    2025 amendment: the offset portion of those deficits, rounded down to a tenth."""
    return int(tractor_offset_fraction(rules, model_year) * tractor_deficits_tenths)


def tractor_offset_allowance_tenths_array(rules: RuleSet, model_years: np.ndarray,
                                          tractor_deficits_tenths: np.ndarray) -> np.ndarray:
    """:func:`tractor_offset_allowance_tenths` element by element (2025 amendment), rounded down to a tenth."""
    years = np.asarray(model_years, dtype=np.int64)
    deficits = np.asarray(tractor_deficits_tenths, dtype=np.int64)
    out = np.zeros(len(deficits), dtype=np.int64)
    for year in np.unique(years):
        here = years == year
        out[here] = floor_times(tractor_offset_fraction(rules, int(year)), deficits[here])
    return out


def pooling_cap_fraction(rules: RuleSet) -> Fraction:
    """Share of one state's deficits of one model year that pooled credits may meet (2025 amendments)."""
    return as_fraction(rules.value("pooling.cap_fraction"))


def pooling_cap_tenths(rules: RuleSet, deficits_tenths: int) -> int:
    """Most pooled credits (tenths) that may meet one state's deficits of one model year."""
    return int(pooling_cap_fraction(rules) * deficits_tenths)


def pooling_cap_tenths_array(rules: RuleSet, deficits_tenths: np.ndarray) -> np.ndarray:
    """:func:`pooling_cap_tenths` of every element of ``deficits_tenths``, rounded down to a tenth."""
    return floor_times(pooling_cap_fraction(rules), deficits_tenths)


def pooling_exchange_ratio(rules: RuleSet) -> Fraction:
    """Tenths of a receiving state's deficit met by each tenth of a credit pooled from another state
    (2025 amendments; 1 where the rule set has no such parameter)."""
    if "pooling.exchange_ratio" not in rules.parameters:
        return Fraction(1)
    return as_fraction(rules.value("pooling.exchange_ratio"))


def pooled_deficit_met(ratio: Fraction, credits_tenths: int, before: int = 0) -> int:
    """Tenths of deficit that ``credits_tenths`` pooled credits meet at ``ratio``, after ``before``
    tenths pooled into the same deficit row by the same route: the pooled credits of a row and
    route are converted together, rounded down to a tenth, so this is
    floor(ratio x (before + credits)) - floor(ratio x before)."""
    return math.floor(ratio * (before + credits_tenths)) - math.floor(ratio * before)


def pooled_credits_needed(ratio: Fraction, deficit_tenths: int, before: int = 0) -> int:
    """Fewest tenths of pooled credits whose :func:`pooled_deficit_met` (after ``before``) reaches
    ``deficit_tenths`` (``ratio`` > 0, ``deficit_tenths`` > 0): the smallest c with
    floor(ratio x (before + c)) >= floor(ratio x before) + deficit."""
    return math.ceil((math.floor(ratio * before) + deficit_tenths) / ratio) - before


def pooling_may_receive(rules: RuleSet, state: str, model_year: int) -> bool:
    """Whether pooled credits may meet ``state``'s deficits of ``model_year`` (2025 amendments):
    pooling allowed, the state in the pool, and the model year from the first pooling year.

    A state whose program has not started has no deficits to receive credits for.
    """
    if not rules.value("pooling.allowed"):
        return False
    return state in rules.value("pooling.states") and model_year >= int(rules.value("pooling.first_model_year"))


def pooling_may_send(rules: RuleSet, state: str, model_year: int) -> bool:
    """Whether credits of origin ``state`` used in ``model_year`` may be pooled to another state (2025
    amendments): pooling allowed, the state in the pool and, where ``pooling.require_origin_in_force``
    is set, ``state``'s deficits in force that model year (from its first deficit model year; an
    enforcement pause changes nothing).
    """
    if not rules.value("pooling.allowed") or state not in rules.value("pooling.states"):
        return False
    if rules.value("pooling.require_origin_in_force"):
        return model_year >= first_deficit_model_year(rules, state)
    return True


def floor_times(fraction: Fraction, tenths: np.ndarray) -> np.ndarray:
    """``fraction`` x every element of ``tenths`` (non-negative integers), rounded down to an integer,
    exactly: ``int(fraction * d)`` of each element, computed as ``numerator * d // denominator``.

    Falls back to Python integers where the product could overflow 64 bits.
    """
    if fraction < 0:
        raise ValueError(f"a negative share {fraction} of deficits has no meaning")
    d = np.asarray(tenths, dtype=np.int64)
    if d.size and fraction.numerator and int(d.max()) > np.iinfo(np.int64).max // fraction.numerator:
        exact = [int(fraction * int(x)) for x in d]
        return np.array(exact, dtype=np.int64)
    return d * fraction.numerator // fraction.denominator


def makeup_model_years(rules: RuleSet) -> int:
    """Model years after its own in which a deficit may still be made up (§1963.3(b))."""
    return int(rules.value("makeup.model_years"))
