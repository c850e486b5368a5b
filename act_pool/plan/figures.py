"""The plan's figure: what a credit is worth, by state and model year (drawn, never calculated here)."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from act_pool.report.figures import DPI

GROUP_ORDER = ("2b-3", "4-8", "tractor")


def credit_values_figure(values: pd.DataFrame) -> Figure:
    """Mean marginal cost of one more credit of deficit (USD per credit) over the manufacturers with
    that deficit, by model year: one panel per group, one line per state."""
    groups = [g for g in GROUP_ORDER if g in set(values["group"])] or list(GROUP_ORDER)
    fig = Figure(figsize=(4.2 * len(groups), 3.8), dpi=DPI, layout="constrained")
    fig.suptitle("What a credit is worth: marginal cost of one more credit of deficit", fontsize=12)
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    for ax, group in zip(axes, groups):
        rows = values[values["group"] == group]
        mean = rows.groupby(["state", "model_year"])["usd_per_credit"].mean()
        for state in sorted(set(rows["state"])):
            series = mean.loc[state]
            ax.plot(series.index, series.to_numpy() / 1000, marker="o", markersize=3, label=state)
        ax.set_title(f"{group} deficits", fontsize=10)
        ax.set_xlabel("model year")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("thousand USD per credit")
    if len(values):
        axes[-1].legend(fontsize=7, ncols=2, frameon=False)
    return fig
