"""Figures of a sweep: pure functions ``fig_xxx(result) -> Figure`` over a :class:`SweepResult`.

Like the run's figures (:mod:`act_pool.report.figures`), they are made as
:class:`matplotlib.figure.Figure` objects directly, never through pyplot, and only draw what the
result's tables say.

Figures
-------
shortfall_probability
    Share of runs in which some manufacturer is short, by state x model year.
unmet_by_parameter
    Total unmet against each varied name's values: median with 5-95 % and 25-75 % bands over the
    runs at that value (samples and the other names' values).
tornado
    The span of mean total unmet across each varied name's values, largest first.
robustness
    Manufacturer x state x model year rows short in every run, in some, in none, by state.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from act_pool.report.figures import DPI

if TYPE_CHECKING:
    from act_pool.sweep.results import SweepResult

FIGURES = ("shortfall_probability", "unmet_by_parameter", "tornado", "robustness")
_SHORT_IN_COLORS = {"every": "#c0392b", "some": "#f0a35e", "none": "#3b6ea8"}


def _subtitle(result: "SweepResult") -> str:
    spec = result.spec
    mc = spec.monte_carlo
    noise = (f"; {mc.samples} samples, ZEV sales sigma {mc.zev_sales_sigma}, correlation {mc.correlation}"
             if mc else "")
    return f"{spec.scenario.name} - {len(result.ok_runs)} runs over {len(spec.points())} grid points{noise}"


def _nothing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _figure(result: "SweepResult", title: str, size: tuple[float, float], ncols: int = 1) -> tuple[Figure, list]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, ncols)))
    wrap = max(60, int(size[0] * 14))  # characters of the subtitle per line, at 9 pt
    fig.suptitle(f"{title}\n" + "\n".join(textwrap.wrap(_subtitle(result), wrap)), fontsize=9)
    return fig, axes


def fig_shortfall_probability(result: "SweepResult") -> Figure:
    """Heat map: share of runs with a shortfall (unmet after the make-up period), state x model year."""
    table = result.shortfall_probability()
    fig, (ax,) = _figure(result, "Probability of a shortfall by state and model year",
                         (max(6.0, 0.55 * table.shape[1] + 2), max(3.0, 0.45 * table.shape[0] + 1.6)))
    if table.empty:
        _nothing(ax, "no deficits in any completed run")
        return fig
    image = ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="Reds", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(y) for y in table.columns], rotation=90)
    ax.set_yticks(range(table.shape[0]), list(table.index))
    ax.set_xlabel("model year")
    ax.set_ylabel("state")
    for (i, j), share in np.ndenumerate(table.to_numpy(dtype=float)):
        if share > 0:
            ax.text(j, i, f"{share:.0%}", ha="center", va="center", fontsize=6,
                    color="white" if share > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="share of runs")
    return fig


def fig_unmet_by_parameter(result: "SweepResult") -> Figure:
    """Total unmet (credits) against each varied name: median, 25-75 % and 5-95 % bands over runs."""
    names = list(result.spec.vary) or ["sample"]
    fig, axes = _figure(result, "Total unmet deficits against each varied parameter",
                        (max(6.0, 3.6 * len(names)), 3.8), ncols=len(names))
    for ax, name in zip(axes, names):
        runs = result.ok_runs
        if runs.empty:
            _nothing(ax, "no completed run")
            continue
        order = list(dict.fromkeys(runs[name]))
        groups = [runs.loc[runs[name] == v, "unmet"].to_numpy() for v in order]
        x = np.arange(len(order))
        q = np.array([np.percentile(g, [5, 25, 50, 75, 95]) for g in groups])
        ax.fill_between(x, q[:, 0], q[:, 4], color="#c0392b", alpha=0.15, label="5-95 % of runs")
        ax.fill_between(x, q[:, 1], q[:, 3], color="#c0392b", alpha=0.3, label="25-75 % of runs")
        ax.plot(x, q[:, 2], "o-", color="#c0392b", label="median")
        ax.set_xticks(x, [str(v) for v in order], rotation=30 if len(order) > 4 else 0)
        ax.set_xlabel(name)
        ax.set_ylabel("total unmet (credits)")
        ax.set_ylim(bottom=0)
    if not result.ok_runs.empty:
        axes[0].legend(fontsize=7, loc="best")
    return fig


def fig_tornado(result: "SweepResult") -> Figure:
    """Each varied name's effect on total unmet: the range of its values' mean unmet, largest first."""
    effects = result.effects()
    fig, (ax,) = _figure(result, "Effect of each parameter on total unmet deficits",
                         (7.5, max(2.6, 0.6 * len(effects) + 1.6)))
    if effects.empty:
        _nothing(ax, "nothing varied")
        return fig
    mean = float(result.ok_runs["unmet"].mean())
    y = np.arange(len(effects))[::-1]
    ax.barh(y, effects["high_unmet"] - effects["low_unmet"], left=effects["low_unmet"], color="#c0392b", alpha=0.7)
    ax.axvline(mean, color="#222222", lw=1, label=f"mean of all runs: {mean:,.1f}")
    ax.set_yticks(y, list(effects["name"]))
    for yi, (_, row) in zip(y, effects.iterrows()):
        ax.text(row["low_unmet"], yi, f"{row['low_value']} ", ha="right", va="center", fontsize=7)
        ax.text(row["high_unmet"], yi, f" {row['high_value']}", ha="left", va="center", fontsize=7)
    ax.set_xlabel("mean total unmet over the runs at a value (credits)")
    low, high = float(effects["low_unmet"].min()), float(effects["high_unmet"].max())
    pad = max(0.25 * (high - low), 1.0)  # room for the value labels beside the bars
    ax.set_xlim(low - pad, high + pad)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def fig_robustness(result: "SweepResult") -> Figure:
    """Manufacturer x state x model year rows with deficits: short in every run, some, none, by state."""
    table = result.robustness()
    counts = table.groupby(["state", "short_in"]).size().unstack("short_in").reindex(
        columns=["every", "some", "none"]).fillna(0)
    fig, (ax,) = _figure(result, "Which manufacturer x state x model year rows are short",
                         (max(6.0, 0.5 * len(counts) + 2), 3.8))
    bottom = np.zeros(len(counts))
    for kind in ("every", "some", "none"):
        ax.bar(range(len(counts)), counts[kind], bottom=bottom, color=_SHORT_IN_COLORS[kind],
               label=f"short in {kind} run{'s' if kind != 'every' else ''}")
        bottom += counts[kind].to_numpy()
    ax.set_xticks(range(len(counts)), list(counts.index))
    ax.set_xlabel("state")
    ax.set_ylabel("manufacturer x model year rows with deficits")
    ax.legend(fontsize=7)
    return fig


class SweepPlots:
    """``sweep_result.plot``: the sweep's figures as methods, each returning a Figure."""

    def __init__(self, result: "SweepResult") -> None:
        self.result = result

    def shortfall_probability(self) -> Figure:
        return fig_shortfall_probability(self.result)

    def unmet_by_parameter(self) -> Figure:
        return fig_unmet_by_parameter(self.result)

    def tornado(self) -> Figure:
        return fig_tornado(self.result)

    def robustness(self) -> Figure:
        return fig_robustness(self.result)

    def save(self, folder: str | Path) -> list[Path]:
        """Every figure as ``folder/<name>.png``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in FIGURES:
            path = folder / f"{name}.png"
            getattr(self, name)().savefig(path, format="png", dpi=DPI, metadata={"Software": None})
            paths.append(path)
        return paths
