"""Exact tenths: the rounding of group sums (13 CCR §1963.1(c), §1963.2(c))."""
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from act_pool.tenths import as_fraction, format_tenths, format_tenths_column, round_to_tenth


@pytest.mark.parametrize("thousandths, half_up, literal", [
    (7350, 74, 74),   # 7.35: fractional part .35 >= .05 -> up either way
    (7525, 75, 76),   # 7.525: half-up 7.5; literal: fractional part .525 >= .05 -> up to 7.6
    (7020, 70, 70),   # 7.02: fractional part .02 < .05 -> down
    (7050, 71, 71),   # 7.05: exactly .05 -> up
    (7049, 70, 70),   # 7.049: half-up 7.0; literal: fractional part .049 < .05 -> down
    (7151, 72, 72),   # 7.151: half-up 7.2; literal .151 >= .05 -> up to 7.2
    (7300, 73, 73),   # a whole tenth stays
    (7000, 70, 70),   # a whole number stays
    (0, 0, 0),
])
def test_rounding_modes(thousandths, half_up, literal):
    assert round_to_tenth(np.array([thousandths]), 1000, "half-up")[0] == half_up
    assert round_to_tenth(np.array([thousandths]), 1000, "literal")[0] == literal


def test_two_tractors_in_2025_owe_point_four():
    # 2 x 7 % x 2.5 = 0.35 deficits; rounded half-up to the tenth = 0.4, never 0.3 (float 0.35 is 0.34999...).
    per_vehicle = Fraction(7, 100) * Fraction(5, 2)
    total = 2 * per_vehicle
    assert round_to_tenth(np.array([total.numerator]), total.denominator)[0] == 4
    # 0.175 x 2 = 0.35 -> 0.4 as well
    assert round_to_tenth(np.array([2 * 175]), 1000)[0] == 4


def test_large_sums_stay_exact():
    # 10**15 + 0.05 credits in units of 1/1000 overflows int64 arithmetic of 20*n: exact integers are used.
    n = 10**18 + 50
    assert round_to_tenth(np.array([n], dtype=object), 1000)[0] == (10**18 + 100) // 100


def test_as_fraction_is_exact_for_decimals():
    assert as_fraction(0.8) == Fraction(4, 5)
    assert as_fraction(Decimal("1.5")) == Fraction(3, 2)
    assert as_fraction("0.01") == Fraction(1, 100)
    with pytest.raises(TypeError):
        as_fraction(True)


def test_format_tenths():
    assert format_tenths(403) == "40.3"
    assert format_tenths(0) == "0.0"
    assert format_tenths(7) == "0.7"
    assert format_tenths(-5) == "-0.5"


def test_format_tenths_column_matches_format_tenths():
    values = [0, 7, -5, 10, -10, 403, -403, 99999999, -1, 123456789012]
    column = pd.Series(values, index=range(10, 20), dtype="int64")
    text = format_tenths_column(column)
    assert text.tolist() == [format_tenths(v) for v in values]
    assert text.index.tolist() == list(range(10, 20))
    assert text.tolist()[:4] == ["0.0", "0.7", "-0.5", "1.0"]


def test_as_fraction_caches_but_still_refuses_what_is_not_a_number():
    assert as_fraction("0.8") == Fraction(4, 5) and as_fraction("0.8") is as_fraction("0.8")
    assert as_fraction(1) == 1 and as_fraction(0.8) == Fraction(4, 5)
    for bad in (True, False, None, [1], {"a": 1}):
        with pytest.raises(TypeError):
            as_fraction(bad)
