"""Writing a scenario workbook back as a scenario file: scenario.toml and its CSV tables.

Only a valid workbook is exported, into a folder by the rules of every act-pool result folder
(:mod:`act_pool.report.outdir`): a new or empty folder, or one act-pool wrote before (its marker
lists the files), or with ``force`` beside files act-pool did not write, which are never deleted or
replaced. The files are written beside the folder and swapped in, all of them or none.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import tomli_w

from act_pool.report.outdir import check_out_dir, publish_results
from act_pool.rules.model import bundled_ids
from act_pool.workbook import layout
from act_pool.workbook.read import load_workbook_scenario, read_workbook

#: The CSV file of each table sheet, and the scenario key naming it.
TABLE_FILES = {layout.SALES_SHEET: ("sales", "sales.csv"), layout.BANK_SHEET: ("bank", "bank.csv"),
               layout.TRADES_SHEET: ("trades", "trades.csv")}
#: Order of the keys in the exported scenario.toml.
KEY_ORDER = ("name", "description", "rules", "sales", "bank", "trades", "model_years", "states", "pooling",
             "retirement", "purchase", "overrides", "plan")


def export_workbook(book: str | Path, out_dir: str | Path, force: bool = False) -> Path:
    """Write ``book`` as ``out_dir``/scenario.toml with sales.csv (and bank.csv, trades.csv when the
    workbook has such rows). Returns the path of scenario.toml.

    ``out_dir`` follows the result-folder rules (:func:`act_pool.report.outdir.check_out_dir`):
    ``force`` writes into a non-empty folder act-pool did not write, beside its files.

    Raises
    ------
    InputError
        When the workbook is invalid, or ``out_dir`` may not be written (checked first); nothing is
        written then.
    """
    book = Path(book)
    out_dir = check_out_dir(out_dir, scenario_path=book, force=force)
    load_workbook_scenario(book)
    inputs = read_workbook(book)
    doc: dict[str, Any] = dict(inputs.doc)
    rules = str(doc["rules"])
    if rules not in bundled_ids():
        doc["rules"] = os.path.relpath(book.resolve().parent / rules, out_dir)
    files: dict[str, list[dict[str, str]]] = {}
    for sheet, (key, name) in TABLE_FILES.items():
        rows = inputs.tables.get(sheet)
        if rows or sheet == layout.SALES_SHEET:
            doc[key] = name
            files[name] = _csv_text(layout.TABLE_COLUMNS[sheet], rows or [])
    ordered = {k: doc[k] for k in KEY_ORDER if k in doc}
    files["scenario.toml"] = f"# Exported by act-pool from {book.name}\n" + tomli_w.dumps(ordered)
    out_dir = publish_results(out_dir, lambda folder: _write_files(folder, files), scenario_path=book, force=force)
    return out_dir / "scenario.toml"


def _csv_text(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return text.getvalue()


def _write_files(folder: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name to text) into ``folder``."""
    for name, text in files.items():
        with open(folder / name, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
