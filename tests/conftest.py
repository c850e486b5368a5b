"""Shared fixtures: build small scenarios from rows, in a temporary folder."""
from __future__ import annotations

from typing import Any

import pytest

import act_pool
from helpers import write_scenario


@pytest.fixture
def scenario_of(tmp_path):
    """Build and load a scenario: ``scenario_of(sales_rows, rules=..., bank=..., **keys)``."""
    counter = iter(range(10_000))

    def make(sales: list[tuple], **kwargs: Any) -> act_pool.Scenario:
        return act_pool.load_scenario(write_scenario(tmp_path / f"s{next(counter)}", sales, **kwargs))

    return make
