"""Figures of LCFS results. Views only: they draw tables the calculation made, never calculate.

Each function draws on ``ax`` if given, else on a new :class:`matplotlib.figure.Figure` (no pyplot
state), and returns the figure.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MILLION = 1e6


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.5)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_fleet_value(table: pd.DataFrame, ax: Axes | None = None, by: str = "weight_class",
                     column: str = "value_usd") -> Figure:
    """Stacked bars of a :func:`act_pool.lcfs.fleet_value` table by calendar year.

    Parameters
    ----------
    table : DataFrame
        Output of ``fleet_value``.
    by : str
        Column whose values stack (``weight_class``, ``model_year`` or ``manufacturer``).
    column : {"value_usd", "credits_t", "energy_mwh"}
        What to draw; ``value_usd`` is shown in USD millions.
    """
    fig, ax = _axes(ax)
    scale = MILLION if column == "value_usd" else 1.0
    wide = table.pivot_table(index="calendar_year", columns=by, values=column, aggfunc="sum", fill_value=0.0)
    up = pd.Series(0.0, index=wide.index)    # positive parts stack upwards from 0,
    down = pd.Series(0.0, index=wide.index)  # negative parts (deficits) downwards
    for key in wide.columns:
        v = wide[key] / scale
        ax.bar(wide.index, v, bottom=up.where(v >= 0, down), label=str(key))
        up, down = up + v.clip(lower=0), down + v.clip(upper=0)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("calendar year")
    ax.set_ylabel({"value_usd": "LCFS credit value (USD million)", "credits_t": "LCFS credits (t CO2e)",
                   "energy_mwh": "electricity (MWh)"}.get(column, column))
    if len(wide.columns):
        ax.legend(title=by.replace("_", " "), fontsize="small")
    ax.set_title("LCFS credits from California ZEV trucks")
    return fig


def plot_value_comparison(by_year: Mapping[str, pd.DataFrame], ax: Axes | None = None,
                          column: str = "value_usd") -> Figure:
    """Lines of yearly totals (:func:`act_pool.lcfs.fleet_by_year`) for several cases, e.g. with and
    without an acceleration; ``value_usd`` in USD millions."""
    fig, ax = _axes(ax)
    scale = MILLION if column == "value_usd" else 1.0
    for label, df in by_year.items():
        ax.plot(df["calendar_year"], df[column] / scale, marker="o", markersize=3, label=label)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("calendar year")
    ax.set_ylabel("LCFS credit value (USD million)" if column == "value_usd" else column)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_pool(quarters: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Credits (up) and deficits (down) by quarter of a :func:`act_pool.lcfs.pool_credits` result."""
    fig, ax = _axes(ax)
    labels = [f"{y}Q{q}" for y, q in zip(quarters["year"], quarters["quarter"])]
    x = range(len(labels))
    ax.bar(x, quarters["credits_t"], label="credits")
    ax.bar(x, -quarters["deficits_t"], label="deficits")
    ax.plot(x, quarters["net_t"], color="black", marker="o", markersize=3, label="net")
    ax.set_xticks(list(x), labels, rotation=90, fontsize="small")
    ax.set_ylabel("t CO2e")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend(fontsize="small")
    return fig
