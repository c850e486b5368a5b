"""Shared fixtures of the LCFS tests."""
from __future__ import annotations

import pandas as pd
import pytest

from act_pool.lcfs import load_lcfs_rules
from act_pool.rules.model import RuleSet


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_lcfs_rules()


def sales_table(rows: list[tuple]) -> pd.DataFrame:
    """An ACT sales table from (manufacturer, state, model_year, weight_class, powertrain, vehicles)."""
    return pd.DataFrame(
        [(m, s, y, w, p, None, v) for (m, s, y, w, p, v) in rows],
        columns=["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles", "vehicles"])
