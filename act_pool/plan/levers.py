"""The ``[plan]`` table of a scenario: the levers a compliance plan may pull, and their validation.

::

    [plan]
    zev_cost = { "2b-3" = 20000, "4-5" = 30000, "6-7" = 45000, "8" = 60000, "tractor" = 150000 }
    max_zev_share = 1.0       # or a table keyed by weight class, state code or model year
    credit_price = 28000      # USD per credit bought; omit to forbid purchases
    allow_open = false        # true: deficits may stay open past the horizon within their make-up

A conversion turns one ICE vehicle of a weight class, state and model year into a ZEV (whole
vehicles); weight classes without a ``zev_cost`` are not converted. ``max_zev_share`` caps the ZEV
share of a manufacturer's sales of one weight class, state and model year after the conversions;
a table names the cap for the classes, states and model years it lists (the smallest applies
where several do; 1 where none does). Purchases are in tenths of a credit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from act_pool.errors import Problem
from act_pool.rules.clauses import WEIGHT_CLASS_GROUP

PLAN_KEYS = ("zev_cost", "max_zev_share", "credit_price", "allow_open")


@dataclass(frozen=True)
class Levers:
    """The validated levers of a plan.

    Attributes
    ----------
    zev_cost : dict of str to Decimal
        USD per ICE vehicle of a weight class turned into a ZEV.
    share_default : Fraction
        Cap on the ZEV share where no table key applies.
    share_by : dict of str to Fraction
        Caps by weight class, state code or model year (as text).
    credit_price : Decimal or None
        USD per credit bought (None: purchases forbidden).
    allow_open : bool
        Whether deficits whose make-up period runs past the horizon may stay open.
    """

    zev_cost: dict[str, Decimal] = field(default_factory=dict)
    share_default: Fraction = Fraction(1)
    share_by: dict[str, Fraction] = field(default_factory=dict)
    credit_price: Decimal | None = None
    allow_open: bool = False

    def max_share(self, state: str, model_year: int, weight_class: str) -> Fraction:
        """The cap on the ZEV share of one weight class's sales in ``state`` and ``model_year``."""
        named = [self.share_by[k] for k in (weight_class, state, str(model_year)) if k in self.share_by]
        return min(named) if named else self.share_default


def _number(value: Any) -> bool:
    """A finite number (TOML numbers are read as Decimal; Python floats pass through their repr)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and Decimal(value).is_finite()


def _decimal(value: int | float | Decimal) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def parse_levers(raw: Any, label: str, known_states: list[str], years: tuple[int, int],
                 problems: list[Problem]) -> Levers | None:
    """The levers of a ``[plan]`` table, or None; every problem found is added to ``problems``.

    ``years`` bounds the model years a ``max_zev_share`` table may name (the rule set's range).
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(Problem(label, None, "plan", "expected a table [plan] with keys " + ", ".join(PLAN_KEYS)))
        return None
    start = len(problems)
    for key in sorted(set(raw) - set(PLAN_KEYS)):
        problems.append(Problem(label, None, f"plan.{key}", f"unknown key; expected one of {', '.join(PLAN_KEYS)}"))
    costs: dict[str, Decimal] = {}
    raw_cost = raw.get("zev_cost", {})
    if not isinstance(raw_cost, Mapping):
        problems.append(Problem(label, None, "plan.zev_cost", "expected a table of weight class = USD per vehicle"))
    else:
        for wc, cost in raw_cost.items():
            if wc not in WEIGHT_CLASS_GROUP:
                problems.append(Problem(label, None, f"plan.zev_cost.{wc}", "unknown weight class; expected one of "
                                        + ", ".join(WEIGHT_CLASS_GROUP)))
            elif not _number(cost) or cost < 0:
                problems.append(Problem(label, None, f"plan.zev_cost.{wc}", f"expected USD per vehicle >= 0, got {cost!r}"))
            else:
                costs[wc] = _decimal(cost)
    default, by = _shares(raw.get("max_zev_share", 1), label, known_states, years, problems)
    price = raw.get("credit_price")
    if price is not None and (not _number(price) or price < 0):
        problems.append(Problem(label, None, "plan.credit_price", f"expected USD per credit >= 0, got {price!r}"))
    allow_open = raw.get("allow_open", False)
    if not isinstance(allow_open, bool):
        problems.append(Problem(label, None, "plan.allow_open", f"expected true or false, got {allow_open!r}"))
    if len(problems) > start:
        return None
    return Levers(zev_cost=costs, share_default=default, share_by=by,
                  credit_price=_decimal(price) if price is not None else None, allow_open=allow_open)


def _shares(raw: Any, label: str, known_states: list[str], years: tuple[int, int],
            problems: list[Problem]) -> tuple[Fraction, dict[str, Fraction]]:
    def share(key: str, value: Any) -> Fraction | None:
        if not _number(value) or not 0 <= value <= 1:
            problems.append(Problem(label, None, key, f"expected a share between 0 and 1, got {value!r}"))
            return None
        return Fraction(_decimal(value))

    if not isinstance(raw, Mapping):
        return share("plan.max_zev_share", raw) or Fraction(0), {}
    by: dict[str, Fraction] = {}
    for key, value in raw.items():
        name = f"plan.max_zev_share.{key}"
        year_key = key.isdigit() and years[0] <= int(key) <= years[1]
        if key not in WEIGHT_CLASS_GROUP and key not in known_states and not year_key:
            problems.append(Problem(label, None, name, "expected a weight class ("
                                    + ", ".join(WEIGHT_CLASS_GROUP) + "), a state code or a model year "
                                    f"{years[0]}-{years[1]}"))
            continue
        value = share(name, value)
        if value is not None:
            by[key] = value
    return Fraction(1), by


def validate_plan(raw: Any, label: str, known_states: list[str], years: tuple[int, int],
                  problems: list[Problem]) -> Mapping[str, Any] | None:
    """The ``[plan]`` table as given when it is valid (problems added to ``problems`` otherwise)."""
    return raw if parse_levers(raw, label, known_states, years, problems) is not None else None
