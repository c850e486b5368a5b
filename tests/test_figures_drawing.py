"""How the figures are drawn: the cheaper ways draw what matplotlib's usual ways draw.

Each test draws the same small picture twice, once the usual way (``ax.bar``, an automatically
placed title, ``savefig`` laying the figure out itself) and once the way
:mod:`act_pool.report.figures` does, and compares the pixels.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from act_pool.report.figures import _bars, _panel_title, freeze_layout, save_figure

YEARS = np.array([2021.0, 2022.0, 2023.0, 2024.0])
MET = np.array([3.0, 0.0, 5.5, 2.0])
UNMET = np.array([1.0, 2.0, 0.0, 4.5])
ZEV = np.array([0.0, 6.0, 1.5, 3.0])


def pixels(fig: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def bar_figure(use_collections: bool) -> tuple[Figure, object]:
    """Stacked bars (met, then unmet hatched with an edge on top of it) and a bar beside them."""
    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    if use_collections:
        _bars(ax, YEARS - 0.2, MET, 0.4, facecolor="#3b6ea8", label="met")
        _bars(ax, YEARS - 0.2, UNMET, 0.4, bottom=MET, facecolor="white", edgecolor="#c0392b", hatch="////",
              linewidth=0.8, label="unmet")
        _bars(ax, YEARS + 0.2, ZEV, 0.4, facecolor="#2e8b57", label="ZEV")
    else:
        ax.bar(YEARS - 0.2, MET, 0.4, color="#3b6ea8", label="met")
        ax.bar(YEARS - 0.2, UNMET, 0.4, bottom=MET, color="white", edgecolor="#c0392b", hatch="////",
               linewidth=0.8, label="unmet")
        ax.bar(YEARS + 0.2, ZEV, 0.4, color="#2e8b57", label="ZEV")
    ax.legend()
    return fig, ax


def test_bars_draw_the_pixels_limits_and_legend_of_ax_bar():
    expected_fig, expected_ax = bar_figure(use_collections=False)
    fig, ax = bar_figure(use_collections=True)
    # autoscaled from the bars: from 0 (the bars' bottom, no margin below it) to the tallest stack,
    # 2.0 + 4.5 = 6.5 (2024), plus matplotlib's 5 % margin; x from 2020.6 to 2024.4 plus 5 %
    assert ax.get_ylim() == expected_ax.get_ylim()
    assert ax.get_ylim()[0] == 0.0
    assert np.isclose(ax.get_ylim()[1], 6.5 * 1.05)
    assert ax.get_xlim() == expected_ax.get_xlim()
    assert ax.get_legend_handles_labels()[1] == ["met", "unmet", "ZEV"]
    assert np.array_equal(pixels(fig), pixels(expected_fig))


def test_a_panel_title_is_where_matplotlib_places_a_title_above_bottom_ticks():
    def drawn(place_title) -> tuple[np.ndarray, tuple]:
        fig = Figure(figsize=(4, 3), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1000])
        ax.set_xlabel("Model year")
        place_title(ax)
        image = pixels(fig)
        return image, tuple(ax.title.get_window_extent().bounds)

    auto_image, auto_box = drawn(lambda ax: ax.set_title("Two lines\nof title", fontsize=10))
    image, box = drawn(lambda ax: _panel_title(ax, "Two lines\nof title"))
    assert box == auto_box
    assert np.array_equal(image, auto_image)


def layout_figure() -> Figure:
    fig = Figure(figsize=(5, 3), dpi=120, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot([2021, 2035], [0, 12345.5], label="a long label that needs room")
    left.set_ylabel("Credits in the bank (credits)")
    right.bar([1, 2], [3, 4])
    right.set_xlabel("Vintage")
    fig.legend(loc="outside right upper")
    return fig


def test_a_frozen_figure_has_savefigs_own_layout_and_is_drawn_once_per_format(tmp_path):
    laid_out_by_savefig = save_figure(layout_figure(), tmp_path / "savefig.png")
    fig = freeze_layout(layout_figure())
    assert fig.get_layout_engine() is None
    draws = []
    draw = fig.draw

    def counted_draw(renderer):
        draws.append(renderer)
        draw(renderer)

    fig.draw = counted_draw
    frozen = save_figure(fig, tmp_path / "frozen.png")
    save_figure(fig, tmp_path / "frozen.svg")
    assert len(draws) == 2  # one draw for the PNG, one for the SVG, no layout passes
    assert frozen.read_bytes() == laid_out_by_savefig.read_bytes()
