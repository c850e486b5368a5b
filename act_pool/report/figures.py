"""Figures of a result, for planners: pure functions ``fig_xxx(result) -> Figure``.

Reports are views: every figure reads the result's tables (the ledger, the compliance and balances
views, the problem's credit lots) and sums them for display; none calculates compliance. The
small table each figure draws is built by a ``*_data`` function beside it, so the numbers on a
figure can be checked (and reused) without drawing.

The figures are :class:`matplotlib.figure.Figure` objects made directly, never through
:mod:`matplotlib.pyplot`: no global figure state, no backend needed to draw, nothing shown.
Every figure carries a title, a subtitle naming the scenario, the rule set and the run's
settings, axis labels with units (credits) and a legend.

Figures
-------
bank_by_state
    The bank at the end of each model year, by state (where the credits were generated).
deficits_vs_credits
    Per group and model year: deficits (met and unmet) against credits generated (ZEV, NZEV).
pooled_flows
    Credits pooled between states, as a network of states with arrows weighted by credits.
expiring_credits
    Credits expired by vintage, and credits at risk: left in the bank at the end of the horizon
    and last usable within two model years of it, by state and vintage.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from act_pool.run import Result

#: Model years after the horizon within which a banked credit counts as "at risk" of expiring.
AT_RISK_YEARS = 2
#: Resolution of the PNG files (and the layout unit of every format), dots per inch.
DPI = 120

GROUP_TITLES = {"2b-3": "Class 2b-3 group", "4-8": "Class 4-8 group", "tractor": "Class 7-8 tractor group"}
_STATE_COLORS = mpl.colormaps["tab10"].colors + mpl.colormaps["Dark2"].colors
_COLORS = {"met": "#3b6ea8", "unmet": "#c0392b", "ZEV": "#2e8b57", "NZEV": "#9acd32", "total": "#222222"}
#: zlib level of the PNG files: 3 writes them about a third faster than the default 6, a few % larger.
PNG_COMPRESS_LEVEL = 3
#: Settings every figure is saved with: stable SVG ids, text as SVG text (selectable and searchable;
#: the viewer draws it in DejaVu Sans or its own sans-serif font).
SAVE_RC = {"svg.hashsalt": "act-pool", "svg.fonttype": "none", "svg.id": None}


# --------------------------------------------------------------------------------------------- helpers

def _credits(tenths: pd.Series | int) -> pd.Series | float:
    """Integer tenths as credits (float), for plotting only."""
    return tenths / 10


def _years(result: "Result") -> list[int]:
    first, last = result.scenario.model_years
    return list(range(int(first), int(last) + 1))


def _states(result: "Result") -> list[str]:
    """The scenario's states, then any other state the tables name (opening banks, pooling)."""
    seen = list(result.scenario.states)
    extra = {s for col in (result.balances["state"], result.ledger["origin_state"], result.ledger["state"])
             for s in col.unique()}  # unique() first: a set of the whole ledger column walks every row
    return seen + sorted(s for s in extra if s not in seen)


def _state_colors(result: "Result") -> dict[str, tuple]:
    return {s: _STATE_COLORS[i % len(_STATE_COLORS)] for i, s in enumerate(_states(result))}


def subtitle(result: "Result") -> str:
    """The scenario name and the run's settings, as figure subtitles print them."""
    sc = result.scenario
    retirement = sc.retirement if isinstance(sc.retirement, str) else "explicit order: " + ", ".join(sc.retirement)
    first, last = sc.model_years
    name = textwrap.shorten(f"Scenario: {sc.name}", width=120, placeholder=" ...")
    settings = (f"rules {sc.rules.id} · retirement {retirement} · pooling {'on' if sc.pooling else 'off'} · "
                f"MY{first}-{last} · states {', '.join(sc.states)}")
    return name + "\n" + textwrap.shorten(settings, width=140, placeholder=" ...")


def _figure(result: "Result", title: str, size: tuple[float, float], ncols: int = 1,
            width_ratios: list[float] | None = None) -> tuple[Figure, list["Axes"]]:
    """A constrained-layout figure with ``ncols`` axes below a title and a two-line subtitle."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    top = 1 - 0.95 / size[1]  # room (inches) for the title and the subtitle
    fig.get_layout_engine().set(rect=(0, 0, 1, top))
    fig.suptitle(title, x=0.5, y=1 - 0.12 / size[1], ha="center", va="top", fontsize=14, fontweight="bold",
                 in_layout=False)
    fig.text(0.5, 1 - 0.45 / size[1], subtitle(result), ha="center", va="top", fontsize=9, color="0.3",
             linespacing=1.4, parse_math=False, in_layout=False)
    axes = fig.subplots(1, ncols, squeeze=False, width_ratios=width_ratios)[0]
    return fig, list(axes)


def _panel_title(ax: "Axes", text: str) -> None:
    """A panel's title, at its usual place above an axes whose ticks and labels are all below it.

    The place is given (``y=1``), so matplotlib does not re-measure the axes' tick labels at every
    draw to check whether the title must move up to clear them (it never must here).
    """
    ax.set_title(text, fontsize=10, y=1.0)


def _message(ax: "Axes", text: str) -> None:
    """A clear message in an empty panel (its axes keep their labels; the meaningless ticks go)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="0.25",
            wrap=True, parse_math=False,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f4f4f4", "edgecolor": "0.75"})


def _year_axis(ax: "Axes", years: list[int]) -> None:
    step = 1 if len(years) <= 12 else 2 if len(years) <= 24 else 5
    ax.set_xticks([y for y in years if (y - years[0]) % step == 0])
    ax.tick_params(axis="x", labelrotation=0)


def _tick(x: float, _pos: int | None = None) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def _credit_axis(ax: "Axes") -> None:
    """Credits on the y axis: from 0, thousands separated, a tenth shown only where a tick needs it."""
    ax.grid(axis="y", color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not len(ax.get_yticks()):  # an empty panel with a message
        return
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, 0.0), max(hi, 1.0))
    ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(_tick))


def _bars(ax: "Axes", x: np.ndarray, heights: np.ndarray, width: float, bottom: np.ndarray | float = 0.0,
          **style: Any) -> PolyCollection:
    """Vertical bars centred on ``x``, as ``ax.bar`` draws them, but as one artist.

    The same rectangles, data limits and sticky bottoms (the axis does not extend below a bar's
    bottom); ``ax.bar`` instead adds one patch per bar, measures each in display space to update
    the data limits and draws each on its own. ``style`` is passed to the collection (``facecolor``,
    ``edgecolor``, ``hatch``, ``linewidth``, ``label``); edges are drawn as a patch's are, with
    mitred corners and butt ends.
    """
    heights = np.asarray(heights, dtype=float)
    left = np.broadcast_to(np.asarray(x, dtype=float) - width / 2, heights.shape)
    bottom = np.broadcast_to(np.asarray(bottom, dtype=float), heights.shape)
    right, top = left + width, bottom + heights
    corners = [(left, bottom), (right, bottom), (right, top), (left, top)]
    bars = PolyCollection(np.stack([np.column_stack(c) for c in corners], axis=1), joinstyle="miter",
                          capstyle="butt", **style)
    bars.sticky_edges.y.extend(bottom.tolist())
    ax.add_collection(bars, autolim=True)
    return bars


# --------------------------------------------------------------------------------------------- data

def bank_by_state_data(result: "Result") -> pd.DataFrame:
    """Credits in the bank at the end of each model year (rows) by state (columns), in credits.

    Summed over manufacturers, groups, credit types and vintages from ``result.balances``; a
    state is where the credits were generated.
    """
    bal = result.balances
    table = bal.pivot_table(index="model_year", columns="state", values="credits", aggfunc="sum", fill_value=0)
    states = [s for s in _states(result) if s in table.columns or s in result.scenario.states]
    table = table.reindex(index=_years(result), columns=states, fill_value=0).fillna(0).astype("int64")
    table.index.name, table.columns.name = "model_year", "state"
    return _credits(table)


def deficits_vs_credits_data(result: "Result") -> pd.DataFrame:
    """Per group and model year: deficits, met, unmet, ZEV and NZEV credits generated, in credits.

    Summed over manufacturers and states from ``result.compliance``.
    """
    comp = result.compliance
    cols = ["deficits", "met", "unmet", "zev_credits", "nzev_credits"]
    table = comp.groupby(["group", "model_year"])[cols].sum()
    index = pd.MultiIndex.from_product([list(GROUP_TITLES), _years(result)], names=["group", "model_year"])
    return _credits(table.reindex(index, fill_value=0).astype("int64"))


def pooled_flows_data(result: "Result") -> pd.DataFrame:
    """Credits pooled from one state (``origin_state``) to meet deficits of another (``state``).

    Columns ``origin_state``, ``state``, ``credits`` (credits), sorted by ``origin_state``,
    ``state``; empty when nothing was pooled. Summed from the ledger's pooled retirements.
    """
    led = result.ledger
    pooled = led[(led["action"] == "retire") & led["pooled"]]
    flows = pooled.groupby(["origin_state", "state"], sort=True)["credits"].sum().reset_index()
    flows = flows[flows["credits"] > 0].reset_index(drop=True)
    flows["credits"] = _credits(flows["credits"].astype("int64"))
    return flows


def expired_data(result: "Result") -> pd.DataFrame:
    """Credits expired (ledger ``expire`` rows) by vintage (rows) and state of origin (columns), in credits."""
    led = result.ledger
    exp = led[led["action"] == "expire"]
    if exp.empty:
        return pd.DataFrame(dtype=float, index=pd.Index([], name="vintage"), columns=pd.Index([], name="state"))
    table = exp.pivot_table(index="vintage", columns="origin_state", values="credits", aggfunc="sum", fill_value=0)
    table.columns.name = "state"
    return _credits(table.astype("int64"))


def at_risk_data(result: "Result", within: int = AT_RISK_YEARS) -> pd.DataFrame:
    """Credits left in the bank at the end of the horizon whose life ends within ``within`` model
    years of it (``last_use`` <= last model year + ``within``), per lot.

    Each lot's balance is its credits less every ledger movement drawn on it (as in
    :func:`act_pool.ledger.balances_view`); its last model year of use is ``problem.lots['last_use']``
    (13 CCR §1963.2(g)).

    Returns
    -------
    DataFrame
        ``manufacturer``, ``state`` (of origin), ``vintage``, ``group``, ``credit_type``,
        ``last_use`` and ``credits`` (credits), one row per group of lots with the same values,
        sorted; only balances > 0.
    """
    last = int(result.scenario.model_years[1])
    lots = result.problem.lots
    spent = result.ledger.groupby("lot")["credits"].sum()
    held = lots[lots["available_from"] <= last].copy()
    held["left"] = held["credits"] - held["lot"].map(spent).fillna(0).astype("int64")
    risk = held[(held["left"] > 0) & (held["last_use"] <= last + within)]
    keys = ["manufacturer", "origin_state", "vintage", "group", "credit_type", "last_use"]
    out = risk.groupby(keys, sort=True)["left"].sum().reset_index()
    out = out.rename(columns={"origin_state": "state", "left": "credits"})
    out["credits"] = _credits(out["credits"].astype("int64"))
    return out


# --------------------------------------------------------------------------------------------- figures

def fig_bank_by_state(result: "Result") -> Figure:
    """The bank at the end of each model year, by state of origin, with the total over states."""
    data = bank_by_state_data(result)
    years = _years(result)
    fig, (ax,) = _figure(result, "Credit bank at the end of each model year, by state", (10, 6))
    colors = _state_colors(result)
    if float(data.to_numpy().sum()) == 0:
        _message(ax, "No credits were held in the bank at the end of any model year.")
    else:
        for state in data.columns:
            ax.plot(years, data[state].to_numpy(), marker="o", markersize=4, linewidth=2,
                    color=colors[state], label=state)
        if len(data.columns) > 1:
            ax.plot(years, data.sum(axis=1).to_numpy(), linestyle="--", linewidth=1.5, color=_COLORS["total"],
                    label="All states")
        ax.legend(title="State of origin", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_ylim(0, float(data.sum(axis=1).max() if len(data.columns) > 1 else data.to_numpy().max()) * 1.12)
    _panel_title(ax, "Unretired, unexpired credits held by all manufacturers (ZEV and NZEV, every group and "
                     "vintage)")
    ax.set_xlabel("Model year (bank at the end of the year)")
    ax.set_ylabel("Credits in the bank (credits)")
    if len(ax.get_yticks()):
        _year_axis(ax, years)
    _credit_axis(ax)
    return fig


def fig_deficits_vs_credits(result: "Result") -> Figure:
    """Per group: deficits (met and unmet) against credits generated (ZEV, NZEV), by model year."""
    data = deficits_vs_credits_data(result)
    years = np.array(_years(result))
    fig, axes = _figure(result, "Deficits against credits generated and deficits met, by group", (15, 6), ncols=3)
    width = 0.4
    for ax, group in zip(axes, GROUP_TITLES, strict=True):
        d = data.loc[group]
        _bars(ax, years - width / 2, d["met"], width, facecolor=_COLORS["met"], label="Deficits met")
        _bars(ax, years - width / 2, d["unmet"], width, bottom=d["met"], facecolor="white",
              edgecolor=_COLORS["unmet"], hatch="////", linewidth=0.8, label="Deficits unmet")
        _bars(ax, years + width / 2, d["zev_credits"], width, facecolor=_COLORS["ZEV"], label="ZEV credits generated")
        _bars(ax, years + width / 2, d["nzev_credits"], width, bottom=d["zev_credits"], facecolor=_COLORS["NZEV"],
              label="NZEV credits generated")
        _panel_title(ax, f"{GROUP_TITLES[group]}\ndeficits {d['deficits'].sum():,.1f} · "
                         f"unmet {d['unmet'].sum():,.1f}\n"
                         f"credits generated {(d['zev_credits'] + d['nzev_credits']).sum():,.1f}")
        ax.set_xlabel("Model year")
        ax.set_ylabel("Credits or deficits (credits)")
        _year_axis(ax, list(years))
        ax.tick_params(axis="x", labelrotation=90 if len(years) > 8 else 0)
        if not (d["deficits"].any() or d["zev_credits"].any() or d["nzev_credits"].any()):
            ax.text(0.5, 0.5, "No deficits and no credits in this group", transform=ax.transAxes, ha="center",
                    va="center", fontsize=10, color="0.3")
            ax.set_ylim(0, 1)
        _credit_axis(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False,
               title="Left bar of each model year: deficits (met + unmet); right bar: credits generated (ZEV + NZEV)",
               title_fontsize=9)
    return fig


def _layout(nodes: list[str], weight: dict[str, float]) -> dict[str, np.ndarray]:
    """States on a circle; with four states or more, the one that pools the most in the middle
    (its flows become spokes, the rest stay readable)."""
    if not nodes:
        return {}
    if len(nodes) == 1:
        return {nodes[0]: np.array([0.0, 0.0])}
    if len(nodes) == 2:
        return {nodes[0]: np.array([-1.0, 0.0]), nodes[1]: np.array([1.0, 0.0])}
    if len(nodes) >= 4 and any(weight.values()):
        hub = max(nodes, key=lambda n: (weight.get(n, 0.0), -nodes.index(n)))
        pos = nx.shell_layout(nodes, nlist=[[hub], [n for n in nodes if n != hub]])
    else:
        pos = nx.circular_layout(nodes)
    reach = max(float(np.hypot(*p)) for p in pos.values()) or 1.0
    return {n: np.asarray(p, dtype=float) / reach for n, p in pos.items()}


def _draw_network(ax: "Axes", result: "Result", flows: pd.DataFrame, labels: int = 14) -> None:
    """States as nodes, pooled flows as curved arrows (width proportional to credits); the
    ``labels`` largest flows carry their amount."""
    G = nx.DiGraph()
    G.add_nodes_from(_states(result))
    for r in flows.itertuples(index=False):
        G.add_edge(r.origin_state, r.state, credits=float(r.credits))
    nodes = list(G.nodes)
    weight = {n: float(G.in_degree(n, weight="credits") + G.out_degree(n, weight="credits")) for n in nodes}
    pos = _layout(nodes, weight)
    colors = _state_colors(result)
    size = 1500.0 if len(nodes) <= 6 else 1000.0
    radius_pt = float(np.sqrt(size) / 2)
    top = float(flows["credits"].max()) if not flows.empty else 1.0

    def lw(c: float) -> float:
        return 0.8 + 9.0 * c / top

    edges = sorted(G.edges(data="credits"), key=lambda e: (e[2], e[0], e[1]))
    labelled = {(u, v) for u, v, _ in edges[-labels:]}
    for u, v, c in edges:  # the smallest first, the largest on top
        (x1, y1), (x2, y2) = pos[u], pos[v]
        rad = 0.15
        # add_artist, not add_patch: the limits are set below, and add_patch would measure every
        # curved arrow in display space to update them (a third of this figure's drawing time)
        ax.add_artist(FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                     mutation_scale=12 + lw(c), linewidth=lw(c), color=colors[u], alpha=0.75,
                                     shrinkA=radius_pt + 2, shrinkB=radius_pt + 3, zorder=1))
        if (u, v) in labelled:
            # the middle of the arc3 curve (a quadratic Bezier): mid + rad/2 * (dy, -dx)
            mx, my = (x1 + x2) / 2 + rad / 2 * (y2 - y1), (y1 + y2) / 2 - rad / 2 * (x2 - x1)
            ax.text(mx, my, f"{c:,.1f}", ha="center", va="center", fontsize=8, zorder=3, in_layout=False,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colors[u], "alpha": 0.9})
    if nodes:
        xy = np.array([pos[n] for n in nodes])
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c=[colors[n] for n in nodes], edgecolors="white", linewidths=2,
                   zorder=4)
    for n in nodes:
        x, y = pos[n]
        ax.text(x, y, n, ha="center", va="center", fontsize=11, fontweight="bold", color="white", zorder=5,
                in_layout=False)
    ax.set_aspect("equal")
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.3, 1.3)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if not flows.empty:
        marks = sorted({round(top, 1), round(top / 2, 1), round(top / 10, 1)})
        ax.legend(handles=[Line2D([], [], color="0.4", linewidth=lw(c), label=f"{c:,.1f}") for c in marks],
                  title="Arrow width (credits)", frameon=False, loc="lower left", fontsize=8, title_fontsize=9)


def _draw_matrix(fig: Figure, ax: "Axes", result: "Result", flows: pd.DataFrame) -> None:
    """Origin state (rows) x receiving state (columns) table of credits pooled, with totals."""
    states = [s for s in _states(result) if s in set(flows["origin_state"]) | set(flows["state"])]
    n = len(states)
    m = flows.pivot_table(index="origin_state", columns="state", values="credits", aggfunc="sum", fill_value=0)
    m = m.reindex(index=states, columns=states, fill_value=0).astype(float)
    masked = np.ma.masked_equal(m.to_numpy(), 0.0)
    im = ax.imshow(masked, cmap="Blues", vmin=0, aspect="auto", extent=(-0.5, n - 0.5, n - 0.5, -0.5))
    vmax = float(m.to_numpy().max())
    for i in range(n):
        for j in range(n):
            c = m.iat[i, j]
            if i == j:
                ax.text(j, i, "-", ha="center", va="center", fontsize=7, color="0.6", in_layout=False)
            elif c:
                ax.text(j, i, f"{c:,.0f}", ha="center", va="center", fontsize=7, in_layout=False,
                        color="white" if c > 0.55 * vmax else "0.1")
    out_tot, in_tot = m.sum(axis=1), m.sum(axis=0)
    for i, s in enumerate(states):
        ax.text(n - 0.1, i, f"{out_tot[s]:,.0f}", ha="left", va="center", fontsize=7, fontweight="bold")
        ax.text(i, n - 0.1, f"{in_tot[s]:,.0f}", ha="center", va="top", fontsize=7, fontweight="bold",
                rotation=90 if n > 6 else 0)
    ax.text(n - 0.1, -0.7, "out", ha="left", va="bottom", fontsize=7.5, fontweight="bold")
    ax.text(-0.7, n - 0.1, "in", ha="right", va="top", fontsize=7.5, fontweight="bold")
    ax.set_xlim(-0.5, n + 0.9)
    ax.set_ylim(n + 0.9, -0.5)
    ax.set_xticks(range(n), states)
    ax.set_yticks(range(n), states)
    ax.tick_params(length=0, labelsize=8.5)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("State whose deficits the credits met")
    ax.set_ylabel("State that generated the credits")
    fig.colorbar(im, ax=ax, shrink=0.7, label="Credits pooled (credits)", format="{x:,.0f}")


def fig_pooled_flows(result: "Result") -> Figure:
    """Credits pooled between states.

    Left, a network: states as nodes (with four or more, the state that pools the most in the
    middle), an arrow from the state that generated the credits to the state whose deficits they
    met, its width proportional to the credits; the largest flows are labelled. Right, every flow
    as an origin x receiving state table with totals out and in. Where nothing was pooled, the
    states alone are drawn and the figure says so and why.
    """
    flows = pooled_flows_data(result)
    sc = result.scenario
    if flows.empty:
        fig, (ax,) = _figure(result, "Credits pooled between states", (10, 7.5))
        _draw_network(ax, result, flows)
        nodes = _states(result)
        if not sc.pooling:
            why = "Pooling is off for this scenario (or the rule set does not allow it)."
        elif len(nodes) < 2:
            why = "The scenario has a single state: there is nowhere to pool to."
        else:
            why = "Pooling was allowed, but every deficit met was met with credits of its own state."
        ax.text(0.5, 0.97, "No pooling happened: no credits moved between states.\n" + why,
                transform=ax.transAxes, ha="center", va="top", fontsize=11, color="0.15", parse_math=False,
                zorder=6, bbox={"boxstyle": "round,pad=0.6", "facecolor": "#fff7e0", "edgecolor": "#d4a017"})
        colors = _state_colors(result)
        ax.legend(handles=[Patch(facecolor=colors[n], label=n) for n in nodes], title="State", frameon=False,
                  loc="lower right")
        _panel_title(ax, "States in the scenario: 0 credits pooled")
        ax.set_xlabel("Arrows (none here) would run from the state whose credits were retired "
                      "to the state whose deficits they met")
        ax.set_ylabel("ACT states in the scenario")
        return fig
    fig, (ax1, ax2) = _figure(result, "Credits pooled between states", (16, 8.5), ncols=2,
                              width_ratios=[1.15, 1])
    _draw_network(ax1, result, flows)
    total = flows["credits"].sum()
    _panel_title(ax1, f"{total:,.1f} credits pooled in {len(flows)} flows, summed over manufacturers, groups,\n"
                      f"credit types and model years (amounts on the {min(14, len(flows))} largest)")
    ax1.set_xlabel("Arrow: from the state whose credits were retired to the state whose deficits they met")
    ax1.set_ylabel("ACT states")
    _draw_matrix(fig, ax2, result, flows)
    ax2.set_title("Every flow (credits), with the totals each state pooled out and in", fontsize=10, pad=34)
    return fig


def _stacked_by_state(ax: "Axes", table: pd.DataFrame, colors: dict) -> None:
    x = np.arange(len(table.index))
    bottom = np.zeros(len(x))
    for state in table.columns:
        vals = table[state].to_numpy(dtype=float)
        _bars(ax, x, vals, 0.7, bottom=bottom, facecolor=colors.get(state, "0.5"), label=state)
        bottom += vals
    for xi, b in zip(x, bottom, strict=True):
        ax.annotate(f"{b:,.1f}", (xi, b), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8.5)
    ax.set_xticks(x, [str(v) for v in table.index])
    ax.set_xlim(-0.8, len(x) - 0.2)
    ax.set_ylim(0, bottom.max() * 1.12)


def fig_expiring_credits(result: "Result") -> Figure:
    """Left: credits expired, by vintage and state. Right: credits at risk (in the bank at the end
    of the horizon, last usable within two model years of it), by vintage and state."""
    first, last = result.scenario.model_years
    expired = expired_data(result)
    risk = at_risk_data(result)
    colors = _state_colors(result)
    fig, (ax1, ax2) = _figure(result, "Credits expired and credits at risk of expiring, by vintage", (14, 6.5),
                              ncols=2)
    if expired.empty or float(expired.to_numpy().sum()) == 0:
        _message(ax1, f"No credits expired in MY{first}-{last}.")
    else:
        _stacked_by_state(ax1, expired, colors)
    _panel_title(ax1, f"Expired unused, MY{first}-{last}\n{expired.to_numpy().sum():,.1f} credits")
    ax1.set_xlabel("Vintage (model year the credits were generated)")
    ax1.set_ylabel("Credits expired (credits)")
    if risk.empty:
        _message(ax2, f"No credit left in the bank at the end of MY{last}\nexpires by MY{last + AT_RISK_YEARS}.")
    else:
        table = risk.pivot_table(index="vintage", columns="state", values="credits", aggfunc="sum", fill_value=0)
        _stacked_by_state(ax2, table, colors)
        ends = risk.groupby("vintage")["last_use"].agg(["min", "max"])
        ax2.set_xticks(range(len(ends)), [f"{v}\nlast use MY{lo}" if lo == hi else f"{v}\nlast use MY{lo}-{hi}"
                                          for v, (lo, hi) in ends.iterrows()])
    _panel_title(ax2, f"At risk: in the bank at the end of MY{last} and last usable by MY{last + AT_RISK_YEARS}\n"
                      f"{risk['credits'].sum():,.1f} credits")
    ax2.set_xlabel("Vintage (model year the credits were generated) and its last model year of use")
    ax2.set_ylabel("Credits at risk (credits)")
    for ax in (ax1, ax2):
        _credit_axis(ax)
    shown = [s for s in _states(result) if s in set(expired.columns) | set(risk["state"])]
    if shown:
        fig.legend(handles=[Patch(facecolor=colors[s], label=s) for s in shown], title="State of origin",
                   loc="outside right upper", frameon=False)
    return fig


#: Every figure, by the name its files take.
FIGURES: dict[str, Callable[["Result"], Figure]] = {
    "bank_by_state": fig_bank_by_state,
    "deficits_vs_credits": fig_deficits_vs_credits,
    "pooled_flows": fig_pooled_flows,
    "expiring_credits": fig_expiring_credits,
}


class PlotAccessor:
    """``result.plot``: one method per figure, each returning a new :class:`~matplotlib.figure.Figure`.

    Examples
    --------
    >>> fig = result.plot.bank_by_state()      # doctest: +SKIP
    >>> fig.savefig("bank.png")                 # doctest: +SKIP
    """

    def __init__(self, result: "Result") -> None:
        self._result = result

    def bank_by_state(self) -> Figure:
        """See :func:`fig_bank_by_state`."""
        return fig_bank_by_state(self._result)

    def deficits_vs_credits(self) -> Figure:
        """See :func:`fig_deficits_vs_credits`."""
        return fig_deficits_vs_credits(self._result)

    def pooled_flows(self) -> Figure:
        """See :func:`fig_pooled_flows`."""
        return fig_pooled_flows(self._result)

    def expiring_credits(self) -> Figure:
        """See :func:`fig_expiring_credits`."""
        return fig_expiring_credits(self._result)

    def save(self, folder: str | Path) -> list[Path]:
        """See :func:`save_figures`."""
        return save_figures(self._result, folder)


def freeze_layout(fig: Figure, dpi: float | None = None) -> Figure:
    """Run the figure's layout once and keep it, so every format saved afterwards (PNG, SVG) has
    the same geometry, whatever was saved before, and none redoes it.

    The layout is measured as the PNG at ``dpi`` (default: the figure's) is drawn: the figure gets
    an Agg canvas where it has none of its own, whose renderer the PNG then reuses (with the text
    sizes it measured). Only the layout runs, not a whole draw, and the figure is left without a
    layout engine: with one, even an inactive one, ``savefig`` draws the figure once more without
    output before each format, to lay it out.
    """
    if type(fig.canvas) is FigureCanvasBase:
        FigureCanvasAgg(fig)
    engine = fig.get_layout_engine()
    if engine is not None:
        own_dpi = fig.get_dpi()
        fig.set_dpi(dpi or own_dpi)
        engine.execute(fig)
        fig.set_dpi(own_dpi)
    # None means "no engine" only where the settings ask for no automatic layout
    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Save one figure, deterministically: PNG or SVG (by the suffix), without a date, with stable SVG ids.

    Freeze the layout first (:func:`freeze_layout`) when saving one figure in several formats.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    with mpl.rc_context(SAVE_RC):
        fig.savefig(path, format=fmt, dpi=dpi, metadata={"Date": None} if fmt in ("svg", "png", "pdf") else None,
                    **({"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}} if fmt == "png" else {}))
    return path


def save_figures(result: "Result", folder: str | Path, formats: tuple[str, ...] = ("png", "svg"),
                 dpi: int = DPI, names: list[str] | None = None) -> list[Path]:
    """Draw every figure (or those in ``names``) and write it into ``folder`` as ``<name>.png`` and
    ``<name>.svg``.

    Each figure is laid out once, as its PNG is measured, and then drawn once per format
    (:func:`freeze_layout`), so every format has the same geometry.
    Output is byte-identical for the same result: no date in the metadata, SVG ids from a fixed
    salt (:rc:`svg.hashsalt`), text as SVG text (:data:`SAVE_RC`).

    Returns
    -------
    list of Path
        The files written, in :data:`FIGURES` order, each figure's formats in ``formats`` order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        if names is not None and name not in names:
            continue
        fig = freeze_layout(draw(result), dpi=dpi)
        written += [save_figure(fig, folder / f"{name}.{fmt}", dpi=dpi) for fmt in formats]
    return written
