"""Writing result files: all of them or none, into a result folder (see :mod:`act_pool.report.outdir`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from act_pool.report.figure_worker import FigureWorker
from act_pool.report.outdir import publish_results
from act_pool.report.tables import TENTHS_COLUMNS, write_table_csv

if TYPE_CHECKING:
    from act_pool.run import Result

RESULT_FILES = ("compliance.csv", "ledger.csv", "balances.csv", "summary.json")
#: The figures of :data:`act_pool.report.figures.FIGURES`, named here without importing matplotlib.
FIGURE_NAMES = ("bank_by_state", "deficits_vs_credits", "pooled_flows", "expiring_credits")
#: Each figure's files, relative to the result folder, in the order the page shows them.
FIGURE_FILES = tuple(f"figures/{name}.{fmt}" for name in FIGURE_NAMES for fmt in ("png", "svg"))
REPORT_FILES = ("results.xlsx", "report.html") + FIGURE_FILES


def write_results(result: "Result", out_dir: Path, graphml: bool = False, reports: bool = True,
                  force: bool = False, figure_worker: FigureWorker | None = None) -> Path:
    """Write compliance.csv, ledger.csv, balances.csv and summary.json into ``out_dir``; with
    ``reports``, also results.xlsx, the figures (figures/*.png and *.svg) and report.html; with
    ``graphml``, the credit network (network.graphml).

    The folder follows the result-folder rules of :func:`act_pool.report.outdir.publish_results`:
    the new files replace the old results in one atomic step, files act-pool did not write are
    kept, an existing non-empty folder without act-pool's marker is refused unless ``force``
    (:class:`~act_pool.errors.InputError`). Output is byte-identical for the same scenario
    (sorted rows, no timestamps, ``\\n`` line ends). ``figure_worker``: a second process started
    earlier to draw figures (see :func:`write_reports`).
    """
    def fill(folder: Path) -> None:
        if reports:
            write_reports(result, folder, figure_worker, tables=True)
        else:
            write_into(result, folder)
        if graphml:
            from act_pool.solve.network import write_graphml

            write_graphml(result.network, str(folder / "network.graphml"))

    return publish_results(out_dir, fill, scenario_path=result.scenario.path, force=force)


def result_files(reports: bool = True, graphml: bool = False) -> list[str]:
    """The files :func:`write_results` writes, relative to the result folder (for
    :func:`~act_pool.report.outdir.check_out_dir`, before anything is computed)."""
    files = list(RESULT_FILES) + (list(REPORT_FILES) if reports else [])
    if graphml:
        files.append("network.graphml")
    return files


def write_into(result: "Result", folder: Path) -> None:
    """Write the CSV tables and summary.json into an existing folder (no atomicity)."""
    ledger = result.ledger.drop(columns=["lot"])
    for name, frame in (("compliance", result.compliance), ("ledger", ledger), ("balances", result.balances)):
        write_table_csv(frame, folder / f"{name}.csv", TENTHS_COLUMNS[name])
    with open(folder / "summary.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(result.summary(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")


#: Figures this process draws when a second process (:class:`FigureWorker`) that cannot fork draws
#: the others, chosen so that the workbook, matplotlib's import and these take about as long as the
#: rest on the default scenario (estimated from the drawing times measured on Linux). One that forks draws them all, in two processes, and this one
#: only writes the workbook (never importing matplotlib).
FIRST_PROCESS_FIGURES = ("bank_by_state",)


def _changed_rc() -> dict:
    """The matplotlib settings changed in this session (a notebook's style), for the second process;
    none where matplotlib was never imported."""
    if "matplotlib" not in sys.modules:
        return {}
    import matplotlib as mpl

    return {k: v for k, v in mpl.rcParams.items() if k != "backend" and v != mpl.rcParamsOrig[k]}


def write_reports(result: "Result", folder: Path, figure_worker: FigureWorker | None = None,
                  tables: bool = False) -> None:
    """results.xlsx, figures/ and report.html into an existing folder (no atomicity); with
    ``tables``, the CSV tables and summary.json too (:func:`write_into`).

    Each figure is drawn once per format and the page embeds the SVG files just written (its other
    sections laid out while the figures are drawn, :func:`page_without_figures`). With a
    second process (``figure_worker``, or one started here when a CPU is spare,
    :meth:`FigureWorker.start`), that process draws the figures while this one writes the tables
    and the workbook: all of them where it forks (:attr:`FigureWorker.forks`), else those other than
    :data:`FIRST_PROCESS_FIGURES`, which this one draws; where it fails, this one draws its figures
    too. The files are the same bytes either way.
    """
    from act_pool.report.excel import workbook_bytes
    from act_pool.report.html import figure_files, page_without_figures

    figures = folder / "figures"
    worker = figure_worker or FigureWorker.start()
    try:
        if worker is not None:  # its figures first, so that it starts at once
            figures.mkdir()
            here = () if worker.forks else FIRST_PROCESS_FIGURES
            second = [n for n in FIGURE_NAMES if n not in here]
            worker.draw(result, figures, second, _changed_rc())
        if tables:
            write_into(result, folder)
        (folder / "results.xlsx").write_bytes(workbook_bytes(result))
        page = page_without_figures(result)  # while the second process may still draw
        if worker is None:
            _save_figures(result, figures)
        else:
            if here:
                _save_figures(result, figures, names=list(here))
            if not worker.wait():  # it failed (its errors hidden): draw them here, raising any error
                _save_figures(result, figures, names=second)
    finally:
        if worker is not None and worker is not figure_worker:
            worker.close()
    paths = [folder / name for name in FIGURE_FILES]
    (folder / "report.html").write_text(page(figure_files(paths)), encoding="utf-8", newline="\n")


def _save_figures(result: "Result", folder: Path, names: list[str] | None = None) -> None:
    from act_pool.report.figures import save_figures

    save_figures(result, folder, names=names)
