"""Helpers for tests: build small scenarios from rows."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from act_pool.scenario import BANK_COLUMNS, SALES_COLUMNS

REPO = Path(__file__).resolve().parent.parent


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def write_scenario(folder: Path, sales: list[tuple], rules: str = "act-2025", bank: list[tuple] | None = None,
                   overrides: dict | None = None, **keys: Any) -> Path:
    """Write sales.csv (rows in SALES_COLUMNS order), bank.csv and scenario.toml; return the TOML path."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "sales.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SALES_COLUMNS)
        w.writerows(sales)
    lines = ['name = "test"', f'rules = "{rules}"', 'sales = "sales.csv"']
    if bank is not None:
        with open(folder / "bank.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(BANK_COLUMNS)
            w.writerows(bank)
        lines.append('bank = "bank.csv"')
    lines += [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
    if overrides:
        lines.append("[overrides]")
        lines += [f'"{k}" = {_toml_value(v)}' for k, v in overrides.items()]
    path = folder / "scenario.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def row(state: str, year: int, weight_class: str, powertrain: str, vehicles: int, aer: Any = "",
        manufacturer: str = "M") -> tuple:
    """One sales row in SALES_COLUMNS order."""
    return (manufacturer, state, year, weight_class, powertrain, aer, vehicles)


def write_trades(folder: Path, trades: list[tuple]) -> str:
    """Write trades.csv (rows in TRADE_COLUMNS order) beside a scenario; return its file name."""
    from act_pool.scenario import TRADE_COLUMNS

    with open(folder / "trades.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRADE_COLUMNS)
        w.writerows(trades)
    return "trades.csv"
