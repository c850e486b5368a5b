"""Exact arithmetic for credits and deficits.

Credits and deficits are held as integer tenths from the moment the regulation rounds them
(13 CCR §1963.1(c), §1963.2(c)). Before rounding, per-vehicle amounts are exact rationals
(:class:`fractions.Fraction`), summed as integer numerators over one common denominator so the
sums are vectorised and exact. Floats never enter a comparison.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Hashable
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

ROUNDING_MODES = ("half-up", "literal")


def as_fraction(value: object) -> Fraction:
    """Exact rational of a rule-set or table number (int, Decimal, Fraction or numeric string).

    Floats are converted through their shortest decimal repr, so ``0.8`` is 4/5, not the binary value.
    Conversions are cached (rule values are converted many times per run).
    """
    try:
        return _cached_fraction(value)
    except TypeError:
        if isinstance(value, Hashable):
            raise
        raise TypeError(f"not a number: {value!r}") from None


@functools.lru_cache(maxsize=4096, typed=True)  # typed: True is not cached as 1
def _cached_fraction(value: object) -> Fraction:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, str):
        return Fraction(Decimal(value.strip()))
    raise TypeError(f"not a number: {value!r}")


def round_to_tenth(numerator: np.ndarray, denominator: int, mode: str = "half-up") -> np.ndarray:
    """Round exact sums ``numerator / denominator`` (credits) to integer tenths.

    Implements the rounding of group sums in 13 CCR §1963.1(c) and §1963.2(c): a sum that is
    not a whole number rounds up to the nearest tenth "when the fractional part is equal to or
    greater than 0.05", otherwise down.

    Parameters
    ----------
    numerator : array of int
        Non-negative exact sums, in units of ``1/denominator`` credits.
    denominator : int
        Positive common denominator.
    mode : {"half-up", "literal"}
        ``"half-up"``: ordinary rounding to one decimal, halves up (7.35 -> 7.4, 7.525 -> 7.5).
        ``"literal"``: "fractional part" read as every digit after the point: a sum whose
        fractional part is >= 0.05 rounds *up* to the next tenth (7.525 -> 7.6, 7.02 -> 7.0).

    Returns
    -------
    array of int64
        Integer tenths of a credit.
    """
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}; expected one of {ROUNDING_MODES}")
    den = int(denominator)
    num = np.asarray(numerator)
    # int64 when nothing can overflow (20 * n + den), exact Python integers otherwise.
    small = num.size == 0 or (int(np.max(num)) < (2**62 - den) // 20 and den < 2**58)
    n = num.astype(np.int64) if small else num.astype(object)
    if mode == "half-up":
        out = (20 * n + den) // (2 * den)
    else:
        frac = n % den  # fractional part of the credit sum, in 1/den
        up = 20 * frac >= den
        out = np.where(up, -((-10 * n) // den), (10 * n) // den)
    return np.asarray(out).astype(np.int64)


def floor_tenths(amount_tenths: int, fraction: Fraction) -> int:
    """Largest whole number of tenths not above ``fraction`` x ``amount_tenths`` (caps such as 50 %)."""
    return math.floor(fraction * amount_tenths)


def format_tenths(tenths: int) -> str:
    """Integer tenths as a decimal string with one digit after the point: 403 -> '40.3', -5 -> '-0.5'."""
    sign = "-" if tenths < 0 else ""
    q, r = divmod(abs(int(tenths)), 10)
    return f"{sign}{q}.{r}"


def format_tenths_column(tenths: pd.Series) -> pd.Series:
    """:func:`format_tenths` of every value of an integer column, at once (same index)."""
    text = format_tenths_array(tenths.to_numpy(dtype=np.int64))
    return pd.Series(pd.arrays.ArrowStringArray(text), index=tenths.index, dtype="str")


def format_tenths_array(tenths: np.ndarray) -> pa.Array:
    """:func:`format_tenths` of every value of an integer array, as a pyarrow string array."""
    values = np.asarray(tenths, dtype=np.int64)
    whole, tenth = np.divmod(np.abs(values), 10)
    text = pa_compute.binary_join_element_wise(pa.array(whole).cast(pa.string()), pa.array(tenth).cast(pa.string()),
                                               ".")
    negative = values < 0
    if negative.any():
        text = pa_compute.if_else(pa.array(negative), pa_compute.binary_join_element_wise("-", text, ""), text)
    return text
