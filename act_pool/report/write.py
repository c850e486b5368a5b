"""Writing result files: all of them or none, into a result folder (see :mod:`act_pool.report.outdir`)."""
from __future__ import annotations

import json
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


def write_reports(result: "Result", folder: Path) -> None:
    """results.xlsx, figures/ and report.html into an existing folder (no atomicity); the page
    embeds the SVG figures just written, so each figure is drawn once per format."""
    from act_pool.report.excel import workbook_bytes
    from act_pool.report.figures import save_figures
    from act_pool.report.html import figure_files, render_html

    (folder / "results.xlsx").write_bytes(workbook_bytes(result))
    paths = save_figures(result, folder / "figures")
    (folder / "report.html").write_text(render_html(result, figures=figure_files(paths)), encoding="utf-8",
                                        newline="\n")
