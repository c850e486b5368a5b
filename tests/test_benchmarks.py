"""The benchmark harness's arithmetic (not timings): the growth exponent of a run over scales."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compare_revisions import growth_exponent  # noqa: E402


def test_growth_exponent_of_known_power_laws():
    # t = 0.5 k: linear, slope 1; t = 2 k^1.5 at 1, 2, 4, 8 -> 2, 5.657, 16, 45.25: slope 1.5;
    # a constant time: slope 0.
    assert growth_exponent([1, 2, 4, 8], [0.5, 1.0, 2.0, 4.0]) == pytest.approx(1.0)
    assert growth_exponent([1, 2, 4, 8], [2 * k**1.5 for k in (1, 2, 4, 8)]) == pytest.approx(1.5)
    assert growth_exponent([1, 8], [3.0, 3.0]) == pytest.approx(0.0)


def test_growth_exponent_needs_two_scales():
    assert growth_exponent([1], [2.0]) is None
    assert growth_exponent([2, 2], [1.0, 3.0]) is None
