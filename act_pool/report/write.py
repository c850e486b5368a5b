"""Writing result files: all of them or none, into a result folder (see :mod:`act_pool.report.outdir`)."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from act_pool.report.outdir import publish_results
from act_pool.report.tables import TENTHS_COLUMNS, tenths_to_text

if TYPE_CHECKING:
    from act_pool.run import Result

RESULT_FILES = ("compliance.csv", "ledger.csv", "balances.csv", "summary.json")
REPORT_FILES = ("results.xlsx", "report.html", "figures/")


def write_results(result: "Result", out_dir: Path, graphml: bool = False, reports: bool = True,
                  force: bool = False) -> Path:
    """Write compliance.csv, ledger.csv, balances.csv and summary.json into ``out_dir``; with
    ``reports``, also results.xlsx, the figures (figures/*.png and *.svg) and report.html; with
    ``graphml``, the credit network (network.graphml).

    The folder follows the result-folder rules of :func:`act_pool.report.outdir.publish_results`:
    the new files replace the old results in one atomic step, files act-pool did not write are
    kept, an existing non-empty folder without act-pool's marker is refused unless ``force``
    (:class:`~act_pool.errors.InputError`). Output is byte-identical for the same scenario
    (sorted rows, no timestamps, ``\\n`` line ends).
    """
    def fill(folder: Path) -> None:
        write_into(result, folder)
        if reports:
            write_reports(result, folder)
        if graphml:
            from act_pool.solve.network import write_graphml

            write_graphml(result.network, str(folder / "network.graphml"))

    return publish_results(out_dir, fill, scenario_path=result.scenario.path, force=force)


def write_into(result: "Result", folder: Path) -> None:
    """Write the CSV tables and summary.json into an existing folder (no atomicity)."""
    ledger = result.ledger.drop(columns=["lot"])
    tables = {
        "compliance.csv": tenths_to_text(result.compliance, TENTHS_COLUMNS["compliance"]),
        "ledger.csv": tenths_to_text(ledger, TENTHS_COLUMNS["ledger"]),
        "balances.csv": tenths_to_text(result.balances, TENTHS_COLUMNS["balances"]),
    }
    for name, frame in tables.items():
        frame.to_csv(folder / name, index=False, lineterminator="\n")
    with open(folder / "summary.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(result.summary(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")


#: Figures drawn in a second process while this one writes the workbook and the other figures
#: (the two halves take about the same time on the default scenario).
SECOND_PROCESS_FIGURES = ("pooled_flows", "bank_by_state")


def spare_cpu() -> bool:
    """Whether a second process would find a CPU of its own: more than one CPU usable by this
    process and fewer runnable processes (the one-minute load average) than CPUs. On a busy
    machine the second process only competes with this one and costs its start-up time."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this system
        load = 0.0
    return cpus > 1 and load + 1 <= cpus


def _changed_rc() -> dict:
    """The matplotlib settings changed in this session (a notebook's style), for the second process."""
    import matplotlib as mpl

    return {k: v for k, v in mpl.rcParams.items() if k != "backend" and v != mpl.rcParamsOrig[k]}


def write_reports(result: "Result", folder: Path) -> None:
    """results.xlsx, figures/ and report.html into an existing folder (no atomicity).

    Each figure is drawn once per format and the page embeds the SVG files just written. When a
    CPU is spare (:func:`spare_cpu`), half the figures (:data:`SECOND_PROCESS_FIGURES`) are drawn
    in a second process while this one writes the workbook and the other half; the files are the
    same bytes either way.
    """
    from act_pool.report.excel import workbook_bytes
    from act_pool.report.figures import FIGURES, save_figures
    from act_pool.report.html import figure_files, render_html

    figures = folder / "figures"
    if spare_cpu():
        second = [n for n in FIGURES if n in SECOND_PROCESS_FIGURES]
        first = [n for n in FIGURES if n not in SECOND_PROCESS_FIGURES]
        figures.mkdir()
        worker = subprocess.Popen([sys.executable, "-m", "act_pool.report.figure_worker"], stdin=subprocess.PIPE)
        try:
            with worker.stdin:
                pickle.dump((result, figures, second, _changed_rc()), worker.stdin)
            (folder / "results.xlsx").write_bytes(workbook_bytes(result))
            paths = save_figures(result, figures, names=first)
        finally:
            if worker.wait() != 0:
                raise RuntimeError(f"drawing the figures {', '.join(second)} failed (status {worker.returncode})")
        paths = [figures / f"{n}.{fmt}" for n in FIGURES for fmt in ("png", "svg")]
    else:
        (folder / "results.xlsx").write_bytes(workbook_bytes(result))
        paths = save_figures(result, figures)
    (folder / "report.html").write_text(render_html(result, figures=figure_files(paths)), encoding="utf-8",
                                        newline="\n")
