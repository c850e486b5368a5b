"""Planner-facing reports: figures, the Excel workbook and the HTML page.

The default scenario is run once per test session (see :func:`default_result`); the small
scenarios are built from rows.
"""
from __future__ import annotations

import filecmp
import functools
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest
from matplotlib.figure import Figure
from openpyxl.utils import get_column_letter

import act_pool
from act_pool.report import excel as excel_module
from act_pool.report.figure_worker import FigureWorker
from act_pool.report.excel import CREDIT_FORMAT, FIXED_TIMESTAMP, write_excel
from act_pool.report.figures import (FIGURES, PlotAccessor, at_risk_data, bank_by_state_data,
                                     deficits_vs_credits_data, pooled_flows_data, save_figures)
from act_pool.report.html import esc, figure_files, inline_svg, render_html, write_html
from act_pool.report.tables import TENTHS_COLUMNS
from helpers import row, write_scenario

HOSTILE_MANUFACTURER = "<script>alert(1)</script>"
HOSTILE_NAME = "Plan <img src=x onerror=alert(2)> $x^2$ & co"


@functools.cache
def default_result() -> act_pool.Result:
    """The bundled default scenario, run once and shared (read-only) by every test that needs it."""
    return act_pool.run(act_pool.default_scenario_path())


def build(folder: Path, sales: list[tuple], name: str | None = None, **keys) -> act_pool.Result:
    path = write_scenario(folder, sales, **keys)
    if name is not None:
        path.write_text(path.read_text().replace('name = "test"', f'name = "{name}"', 1))
    return act_pool.run(path)


def tiny_without_pooling(folder: Path) -> act_pool.Result:
    """One state, the 2021 rules (no pooling): a deficit year with a few ZEVs, then nothing."""
    return build(folder, [row("CA", 2024, "2b-3", "ICE", 1000), row("CA", 2024, "2b-3", "ZEV", 20),
                          row("CA", 2025, "2b-3", "ICE", 1000)], rules="act-2021", model_years=[2024, 2025])


def hostile(folder: Path) -> act_pool.Result:
    """Two states with pooling; the manufacturer and the scenario name are markup. California is
    left short (open), Oregon's surplus is pooled to California."""
    m = HOSTILE_MANUFACTURER
    return build(folder, [row("CA", 2025, "2b-3", "ICE", 1000, manufacturer=m),
                          row("CA", 2025, "2b-3", "ZEV", 10, manufacturer=m),
                          row("OR", 2025, "4-5", "ICE", 600, manufacturer=m),
                          row("OR", 2025, "4-5", "ZEV", 100, manufacturer=m)],
                 name=HOSTILE_NAME, model_years=[2025, 2025])


@pytest.fixture
def tiny(tmp_path) -> act_pool.Result:
    return tiny_without_pooling(tmp_path / "tiny")


@pytest.fixture
def hostile_result(tmp_path) -> act_pool.Result:
    return hostile(tmp_path / "hostile")


def figure_texts(fig: Figure) -> list[str]:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts] + [ax.get_title()]
    return texts


# --------------------------------------------------------------------------------------------- figures

def check_figure(fig: Figure, result: act_pool.Result) -> None:
    assert isinstance(fig, Figure)
    assert fig.get_suptitle().strip(), "figure has no title"
    subtitle = " ".join(t.get_text() for t in fig.texts)
    assert result.scenario.name in subtitle and result.scenario.rules.id in subtitle
    assert fig.axes
    main = fig.axes[0]
    assert main.get_xlabel().strip() and main.get_ylabel().strip()
    for ax in fig.axes:
        assert (ax.get_xlabel() + ax.get_ylabel()).strip(), f"unlabelled axes in {fig.get_suptitle()!r}"
    if fig.get_suptitle() != FIGURES["pooled_flows"](result).get_suptitle():
        assert "(credits)" in main.get_ylabel(), "the amounts' unit is not on the axis"


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_of_the_default_scenario_are_readable(name):
    result = default_result()
    fig = FIGURES[name](result)
    check_figure(fig, result)
    assert fig.legends or any(ax.get_legend() is not None for ax in fig.axes), "no legend"


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_of_a_tiny_scenario_without_pooling_are_readable(name, tiny):
    check_figure(FIGURES[name](tiny), tiny)


def test_pooled_flows_says_when_no_pooling_happened(tiny):
    assert not tiny.scenario.pooling
    fig = FIGURES["pooled_flows"](tiny)
    text = "\n".join(figure_texts(fig))
    assert "No pooling happened" in text
    assert "Pooling is off" in text


def test_pooled_flows_of_the_default_scenario_are_the_pooled_retirements():
    result = default_result()
    flows = pooled_flows_data(result)
    assert not flows.empty
    assert (flows["origin_state"] != flows["state"]).all()
    assert round(flows["credits"].sum(), 1) == result.summary()["totals"]["retired_pooled"]
    fig = FIGURES["pooled_flows"](result)
    assert "No pooling happened" not in "\n".join(figure_texts(fig))


def test_figure_data_are_views_of_the_result_tables():
    result = default_result()
    totals = result.summary()["totals"]
    bank = bank_by_state_data(result)
    assert round(bank.iloc[-1].sum(), 1) == totals["closing_bank"]
    dvc = deficits_vs_credits_data(result)
    assert round(dvc["deficits"].sum(), 1) == totals["deficits"]
    assert round(dvc["unmet"].sum(), 1) == totals["unmet"]
    # every lot left at the end, whatever its life, is the closing bank; the at-risk part is within it
    everything = at_risk_data(result, within=10_000)
    assert round(everything["credits"].sum(), 1) == totals["closing_bank"]
    risk = at_risk_data(result)
    last = result.scenario.model_years[1]
    assert (risk["last_use"] <= last + 2).all() and (risk["last_use"] >= last).all()
    assert risk["credits"].sum() <= everything["credits"].sum()


def test_plot_accessor_has_one_method_per_figure(tiny):
    plot = PlotAccessor(tiny)
    for name in FIGURES:
        assert isinstance(getattr(plot, name)(), Figure)


def test_save_figures_writes_png_and_svg_byte_identical_on_rerun(tmp_path, tiny):
    first = save_figures(tiny, tmp_path / "a")
    second = save_figures(tiny, tmp_path / "b")
    assert [p.name for p in first] == [f"{n}.{ext}" for n in FIGURES for ext in ("png", "svg")]
    for a, b in zip(first, second, strict=True):
        assert a.stat().st_size > 1000
        assert filecmp.cmp(a, b, shallow=False), f"{a.name} differs between two runs"
        if a.suffix == ".png":
            assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            text = a.read_text(encoding="utf-8")
            ElementTree.fromstring(text)  # well-formed
            assert "<dc:date>" not in text


def test_save_figures_of_the_default_scenario_are_byte_identical(tmp_path):
    result = default_result()
    first = save_figures(result, tmp_path / "a")
    second = save_figures(result, tmp_path / "b")
    assert len(first) == 2 * len(FIGURES)
    for a, b in zip(first, second, strict=True):
        assert filecmp.cmp(a, b, shallow=False), f"{a.name} differs between two runs"


def test_figures_draw_a_scenario_name_with_markup_and_dollars(hostile_result, tmp_path):
    """Matplotlib would read $...$ as mathematics; names are drawn as plain text."""
    paths = save_figures(hostile_result, tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


# --------------------------------------------------------------------------------------------- Excel

@pytest.fixture(scope="module")
def default_workbook(tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "result.xlsx"
    write_excel(default_result(), path)
    return path


def test_workbook_sheets_headers_widths_and_formats(default_workbook):
    wb = openpyxl.load_workbook(default_workbook)
    assert wb.sheetnames == ["summary", "compliance", "ledger", "balances"]
    tables = default_result().tables()
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        header = [c.value for c in ws[1]]
        assert all(ws.cell(1, j).font.b for j in range(1, len(header) + 1)), ws.title
        for j in range(1, len(header) + 1):
            width = ws.column_dimensions[get_column_letter(j)].width
            assert width and width >= len(str(header[j - 1])), (ws.title, header[j - 1])
        if ws.title in tables:
            assert header == list(tables[ws.title].columns)
            for col in TENTHS_COLUMNS[ws.title]:
                if col in header and ws.max_row > 1:
                    assert ws.cell(2, header.index(col) + 1).number_format == CREDIT_FORMAT, (ws.title, col)
    # widths follow the content: the manufacturer column is as wide as the longest name
    ws = wb["compliance"]
    longest = max(len(m) for m in tables["compliance"]["manufacturer"])
    assert ws.column_dimensions["A"].width >= longest


@pytest.mark.parametrize("sheet", ["compliance", "ledger", "balances"])
def test_workbook_values_equal_the_result_tables(default_workbook, sheet):
    expected = default_result().tables()[sheet].reset_index(drop=True)
    got = pd.read_excel(default_workbook, sheet_name=sheet, engine="openpyxl", keep_default_na=False, na_values=[])
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        e, g = expected[col], got[col]
        if col in TENTHS_COLUMNS[sheet]:
            assert (g.astype(float) * 10).round().astype("int64").tolist() == \
                   (e.astype(float) * 10).round().astype("int64").tolist(), col
        elif e.dtype == bool:
            assert g.astype(bool).tolist() == e.tolist(), col
        elif pd.api.types.is_integer_dtype(e):
            assert g.astype("int64").tolist() == e.tolist(), col
        else:
            assert g.astype(str).tolist() == e.astype(str).tolist(), col


def test_workbook_summary_first_with_settings_totals_assumptions_and_reasons(default_workbook):
    result = default_result()
    s = result.summary()
    summary = pd.read_excel(default_workbook, sheet_name="summary", engine="openpyxl", keep_default_na=False,
                            na_values=[])
    assert list(summary.columns) == excel_module.SUMMARY_COLUMNS
    assert {"settings", "totals", "assumptions", "unmet by reason"} <= set(summary["section"])
    items = summary.set_index(["section", "item"])
    assert items.loc[("settings", "scenario"), "value"] == s["scenario"]
    assert items.loc[("settings", "rules"), "value"] == s["rules"]
    assert float(items.loc[("totals", "unmet"), "value"]) == s["totals"]["unmet"]
    assumptions = summary[summary["section"] == "assumptions"]
    assert set(assumptions["item"]) == set(s["assumptions"])
    assert set(assumptions["confidence"]) <= {"secondary", "assumed"}
    assert (assumptions["source"] != "").all()
    reasons = summary[summary["section"] == "unmet by reason"].set_index("item")["value"]
    assert {k: float(reasons[k]) for k in s["unmet_by_reason"]} == s["unmet_by_reason"]


def test_workbook_is_byte_identical_on_rerun_with_fixed_properties(tmp_path, tiny, default_workbook):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_excel(tiny, a)
    write_excel(tiny, b)
    assert a.read_bytes() == b.read_bytes()
    write_excel(default_result(), b)
    assert b.read_bytes() == default_workbook.read_bytes()
    wb = openpyxl.load_workbook(a)
    assert wb.properties.created == FIXED_TIMESTAMP and wb.properties.modified == FIXED_TIMESTAMP
    assert wb.properties.creator == "act-pool"
    with zipfile.ZipFile(a) as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_workbook_of_an_empty_ledger(tmp_path):
    """No credit ever moves: the ledger sheet holds its header alone."""
    result = build(tmp_path / "s", [row("CA", 2021, "2b-3", "ICE", 1000)], model_years=[2021, 2021])
    assert result.ledger.empty
    write_excel(result, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["ledger"]
    assert ws.max_row == 1 and ws.freeze_panes == "A2"


# --------------------------------------------------------------------------------------------- HTML

NETWORK_RESOURCE = re.compile(r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
                              r"""|url\(\s*["']?\s*(?:https?:)?//|@import|<link\b(?![^>]*href="data:)""",
                              re.I)


def test_html_of_the_default_scenario(tmp_path):
    result = default_result()
    paths = save_figures(result, tmp_path / "figs")
    out = write_html(result, tmp_path / "report.html", figure_files(paths))
    text = out.read_text(encoding="utf-8")
    s = result.summary()
    assert text.startswith("<!DOCTYPE html>")
    assert f"<h1>{esc(s['scenario'])}</h1>" in text
    for name in s["assumptions"]:
        assert f"<code>{name}</code>" in text, name
    for heading in ("Summary", "Assumptions in force", "Compliance by manufacturer and state",
                    "Why each shortfall happened", "Figures"):
        assert f"<h2>{heading}</h2>" in text
    for m in s["manufacturers"]:
        assert esc(m) in text
    n_unmet = int((result.compliance["unmet"] > 0).sum())
    assert f"Every row with deficits unmet ({n_unmet})" in text
    assert text.count("<svg") == len(FIGURES)
    assert not NETWORK_RESOURCE.search(text), NETWORK_RESOURCE.search(text)
    assert "<script" not in text.lower()
    # determinism: the same result, the same bytes; figures drawn in memory (figures=None) are the
    # very SVG files save_figures writes
    again = write_html(result, tmp_path / "again.html")
    assert again.read_bytes() == out.read_bytes()


def test_html_escapes_every_scenario_text(hostile_result, tmp_path):
    text = write_html(hostile_result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert HOSTILE_MANUFACTURER not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "<script" not in text.lower()
    assert "onerror=" not in text.replace("&lt;img src=x onerror=alert(2)&gt;", "")
    # the hostile manufacturer is short in California (pooling from Oregon did not cover it) and is listed
    assert "Why each shortfall happened" in text and "no credits held" in text
    assert not NETWORK_RESOURCE.search(text)


def test_html_is_deterministic_and_self_contained(tmp_path, tiny):
    a = render_html(tiny)
    b = render_html(tiny)
    assert a == b
    assert not NETWORK_RESOURCE.search(a)
    assert "Content-Security-Policy" in a and "default-src 'none'" in a
    assert a.count("<svg") == len(FIGURES)
    assert "No shortfall" in a or "Every row with deficits unmet" in a


def test_html_embeds_png_figures_as_base64_and_can_leave_figures_out(tmp_path, tiny):
    paths = save_figures(tiny, tmp_path / "figs", formats=("png",))
    text = render_html(tiny, figure_files(paths))
    assert text.count('src="data:image/png;base64,') == len(FIGURES)
    assert "<svg" not in text
    bare = render_html(tiny, {})
    assert "<h2>Figures</h2>" not in bare and "<svg" not in bare and "data:image/png" not in bare


def test_inline_svg_prefixes_ids_and_drops_the_prologue():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n'
           '<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="5pt" viewBox="0 0 10 5">'
           '<metadata><rdf:RDF/></metadata><!-- a <b> comment --><defs><path id="g1" d="M0 0"/></defs>'
           '<use xlink:href="#g1"/><g clip-path="url(#c1)"/><clipPath id="c1"/></svg>')
    out = inline_svg(svg, "f")
    assert out.startswith("<svg") and "<!DOCTYPE" not in out and "<metadata" not in out and "<!--" not in out
    assert 'id="f-g1"' in out and 'href="#f-g1"' in out and 'url(#f-c1)' in out and 'id="f-c1"' in out
    assert 'width="10pt"' not in out and 'viewBox="0 0 10 5"' in out


FORMULA_TEXTS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)"]


def test_scenario_text_that_looks_like_a_formula_is_a_string_cell(tmp_path):
    """Manufacturers and a scenario name written as spreadsheet formulas are stored as text in
    every sheet (string cells, no formula), and verbatim in the CSV files (data, not a spreadsheet)."""
    sales = [row("CA", 2025, "2b-3", pt, n, manufacturer=m) for m in FORMULA_TEXTS
             for pt, n in (("ICE", 100), ("ZEV", 200))]  # a surplus: every maker has a closing bank
    result = build(tmp_path / "s", sales, name="=1+1", model_years=[2025, 2025])
    path = write_excel(result, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    seen = set()
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if cell.value in FORMULA_TEXTS:
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    seen.add((ws.title, cell.value))
    for sheet in ("compliance", "balances"):
        assert {(sheet, m) for m in FORMULA_TEXTS} <= seen
    assert ("summary", "=1+1") in seen  # the scenario name
    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    result.write(tmp_path / "out", reports=False)
    compliance = pd.read_csv(tmp_path / "out" / "compliance.csv", dtype=str, keep_default_na=False)
    assert sorted(set(compliance["manufacturer"])) == sorted(FORMULA_TEXTS)


def test_reports_are_the_same_bytes_drawn_in_one_process_or_two(tmp_path, tiny, monkeypatch):
    """The figures drawn in a second process (when a CPU is spare, or started before the run as a new
    interpreter or a copy of this one) equal those drawn in this one, and so does every other report
    file; a second process that fails has its figures drawn here."""
    from act_pool.report import figure_worker as worker_module
    from act_pool.report import write as write_module

    class FailingWorker(FigureWorker):
        """A second process that reads its input and fails without writing anything."""

        def __init__(self) -> None:
            super().__init__()
            self.close()
            self._process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"],
                                             stdin=subprocess.PIPE)

    folders = {}
    ways = {"started-early": FigureWorker, "forked-early": lambda: FigureWorker(fork=True),
            "second-fails": FailingWorker}
    for way in ("one", "two", *ways):
        monkeypatch.setattr(worker_module, "spare_cpu", lambda w=way: w == "two")
        folders[way] = tmp_path / way
        folders[way].mkdir()
        if way in ways:
            with ways[way]() as worker:
                if way == "forked-early":  # a copy of this process where it can fork, else a new one
                    assert isinstance(worker._process, worker_module.ForkedProcess) is worker_module.CAN_FORK
                write_module.write_reports(tiny, folders[way], figure_worker=worker)
                assert worker.wait() is (way != "second-fails")
        else:
            write_module.write_reports(tiny, folders[way])
    assert FigureWorker.forks is sys.platform.startswith("linux")  # in two processes, where it can fork
    files = sorted(p.relative_to(folders["one"]) for p in folders["one"].rglob("*") if p.is_file())
    assert len(files) == 2 + 2 * len(FIGURES)
    for way in ("two", *ways):
        assert files == sorted(p.relative_to(folders[way]) for p in folders[way].rglob("*") if p.is_file())
        for rel in files:
            assert (folders["one"] / rel).read_bytes() == (folders[way] / rel).read_bytes(), (way, rel)


FAILING_COPY = """
import pickle, sys
from act_pool.report import figure_worker, figures
real = figures.save_figures
def save(result, folder, names=None):
    if any(n in figure_worker.COPY_FIGURES for n in names):
        raise RuntimeError("the copy fails")
    return real(result, folder, names=names)
figures.save_figures = save
result = pickle.loads(sys.stdin.buffer.read())
print(figure_worker.draw_figures(result, sys.argv[1], list(figures.FIGURES)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the second process forks on Linux only")
def test_the_figures_copy_that_fails_is_reported(tmp_path, tiny):
    """The second process splits its figures with a forked copy; a copy that fails is reported (the
    first process then draws its figures again), and the other figures are still written. Run in
    a process of its own: the copy is a fork of it."""
    import pickle

    proc = subprocess.run([sys.executable, "-c", FAILING_COPY, str(tmp_path)], input=pickle.dumps(tiny),
                          capture_output=True, timeout=120)
    assert proc.stdout.decode().strip() == "False", proc.stderr.decode()
    from act_pool.report.figure_worker import COPY_FIGURES

    drawn = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert drawn == sorted(n for n in FIGURES if n not in COPY_FIGURES)
    assert set(COPY_FIGURES) < set(FIGURES)


def test_figure_names_are_the_figures():
    from act_pool.report.write import FIGURE_NAMES, FIRST_PROCESS_FIGURES

    assert FIGURE_NAMES == tuple(FIGURES)
    assert set(FIRST_PROCESS_FIGURES) < set(FIGURE_NAMES)


def test_a_figure_worker_given_nothing_ends_without_writing(tmp_path):
    """A run that fails after the second process was started ends it; an empty input makes it exit cleanly."""
    worker = FigureWorker()
    worker.close()
    assert worker._process.returncode is not None  # ended, not left behind
    proc = subprocess.run([sys.executable, "-m", "act_pool.report.figure_worker"], input=b"", cwd=tmp_path,
                          capture_output=True)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert list(tmp_path.iterdir()) == []


def test_a_process_runnable_for_an_instant_is_not_counted_as_a_competitor(monkeypatch):
    """The run queue is read several times and the least count taken: a passer-by in one reading
    (here 2 running of which one is this process) leaves a CPU spare; a process in every reading
    does not; without /proc/loadavg, the one-minute load average is used."""
    import io

    from act_pool.report import figure_worker as worker_module

    def queue(*running):
        readings = iter(f"0.50 0.40 0.30 {n}/80 12345\n" for n in running)
        monkeypatch.setattr(worker_module, "open", lambda *a, **k: io.StringIO(next(readings)), raising=False)

    monkeypatch.setattr(worker_module.time, "sleep", lambda s: None)
    assert worker_module.RUN_QUEUE_READINGS == 3
    queue(2, 1, 1)
    assert worker_module._other_runnable() == 0
    queue(1, 3, 1)
    assert worker_module._other_runnable() == 0
    queue(2, 2, 3)
    assert worker_module._other_runnable() == 1

    def missing(*a, **k):
        raise FileNotFoundError("/proc/loadavg")

    monkeypatch.setattr(worker_module, "open", missing, raising=False)
    monkeypatch.setattr(worker_module.os, "getloadavg", lambda: (2.5, 1.0, 0.5))
    assert worker_module._other_runnable() == 1.5


def test_a_cpu_is_spare_only_when_no_other_process_wants_it(monkeypatch):
    from act_pool.report import figure_worker as worker_module

    monkeypatch.setattr(worker_module.os, "sched_getaffinity", lambda pid: {0, 1})
    for others, spare in ((0, True), (0.4, True), (1, False), (3, False)):
        monkeypatch.setattr(worker_module, "_other_runnable", lambda o=others: o)
        assert worker_module.spare_cpu() is spare, others
        worker = worker_module.FigureWorker.start()
        try:
            assert (worker is not None) is spare, others
        finally:
            if worker is not None:
                worker.close()
    monkeypatch.setattr(worker_module.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(worker_module, "_other_runnable", lambda: 0)
    assert worker_module.spare_cpu() is False
