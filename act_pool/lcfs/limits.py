"""Bounds on the numbers an LCFS request may hold, so that every result stays a finite number.

Credits are ``(benchmark x EER - CI) x energy x 1e-6`` t CO2e (17 CCR §95486.1(a)); with the
bounds below every factor, and so every credit amount and value, stays far inside float range.
"""
from __future__ import annotations

import math

#: Largest quantity of fuel in one request or row, in its unit (1e15 MJ is a third of a year's
#: transport energy in the United States).
MAX_QUANTITY = 1e15
#: Largest carbon intensity in magnitude, gCO2e/MJ (certified pathways lie within about -1,000 to 200).
MAX_CI = 1e4
#: Latest compliance year: benchmarks after their last year keep its value, so any later year is
#: taken for a typing mistake.
LAST_YEAR = 2100
#: Highest credit price, USD per t CO2e (the LCFS credit price ceiling is a few hundred dollars).
MAX_PRICE = 1e6


def out_of_range(quantity: float | None, year: int | None, ci: float | None) -> dict[str, str]:
    """Problems (field -> message) of a quantity, compliance year or CI beyond the bounds above.

    Values that are not finite are left to :func:`act_pool.lcfs.calc.check`.
    """
    found: dict[str, str] = {}
    if quantity is not None and math.isfinite(quantity) and quantity > MAX_QUANTITY:
        found["quantity"] = f"quantity must be at most {MAX_QUANTITY:g}, got {quantity:g}"
    if year is not None and year > LAST_YEAR:
        found["year"] = f"year must be at most {LAST_YEAR}, got {year}"
    if ci is not None and math.isfinite(ci) and abs(ci) > MAX_CI:
        found["ci"] = f"ci must be between {-MAX_CI:g} and {MAX_CI:g} gCO2e/MJ, got {ci:g}"
    return found


def price_problem(price: float) -> str | None:
    """The problem with a credit price in USD/t, if any: it must be finite, >= 0 and at most MAX_PRICE."""
    if not math.isfinite(price) or not 0 <= price <= MAX_PRICE:
        return f"expected a price in USD/t between 0 and {MAX_PRICE:g}"
    return None
