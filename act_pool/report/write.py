"""Writing result files atomically: all of them or none."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from act_pool.report.tables import TENTHS_COLUMNS, tenths_to_text

if TYPE_CHECKING:
    from act_pool.run import Result

RESULT_FILES = ("compliance.csv", "ledger.csv", "balances.csv", "summary.json")
REPORT_FILES = ("results.xlsx", "report.html", "figures/")


def write_results(result: "Result", out_dir: Path, graphml: bool = False, reports: bool = True) -> Path:
    """Write compliance.csv, ledger.csv, balances.csv and summary.json into ``out_dir``; with
    ``reports``, also results.xlsx, the figures (figures/*.png and *.svg) and report.html; with
    ``graphml``, the credit network (network.graphml).

    Files are first written to a temporary folder beside ``out_dir`` and moved in only when all
    are complete, so a failure leaves ``out_dir`` as it was. Output is byte-identical for the same
    scenario (sorted rows, no timestamps, ``\\n`` line ends).
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_into(result, tmp)
        if reports:
            write_reports(result, tmp)
        if graphml:
            from act_pool.solve.network import write_graphml

            write_graphml(result.network, str(tmp / "network.graphml"))
        if not out_dir.exists():
            os.rename(tmp, out_dir)
        else:
            for name in sorted(os.listdir(tmp)):
                if (out_dir / name).is_dir():
                    shutil.rmtree(out_dir / name)
                os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def write_into(result: "Result", folder: Path) -> None:
    """Write every result file into an existing folder (no atomicity)."""
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
    """results.xlsx, figures/ and report.html (the page embeds the figures just written)."""
    from act_pool.report.excel import write_excel
    from act_pool.report.figures import save_figures
    from act_pool.report.html import figure_files, write_html

    write_excel(result, folder / "results.xlsx")
    paths = save_figures(result, folder / "figures")
    write_html(result, folder / "report.html", figures=figure_files(paths))
