"""Result tables as planners read them: tenths turned into credits, columns in contract order."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from act_pool.tenths import format_tenths

if TYPE_CHECKING:
    from act_pool.run import Result

TENTHS_COLUMNS = {
    "compliance": ["deficits", "zev_credits", "nzev_credits", "met", "unmet", "met_in_model_year", "met_by_makeup",
                   "met_by_nzev", "met_by_pooled", "met_by_traded", "met_by_tractor_offset", "met_by_purchase"],
    "ledger": ["credits", "deficit_met"],
    "balances": ["credits"],
}


def tenths_to_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of ``frame`` for CSV: integer-tenths columns as exact decimal text ('40.3'), booleans
    as ``true``/``false``."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = [format_tenths(int(v)) for v in out[col]]
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "true", False: "false"})
    return out


def tenths_to_credits(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of ``frame`` with integer-tenths columns as credits (float, exact to the tenth for display)."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = out[col].astype("int64") / 10
    return out


def display_tables(result: "Result") -> dict[str, pd.DataFrame]:
    """compliance, ledger and balances with amounts in credits."""
    ledger = result.ledger.drop(columns=["lot"])
    return {
        "compliance": tenths_to_credits(result.compliance, TENTHS_COLUMNS["compliance"]),
        "ledger": tenths_to_credits(ledger, TENTHS_COLUMNS["ledger"]),
        "balances": tenths_to_credits(result.balances, TENTHS_COLUMNS["balances"]),
    }
