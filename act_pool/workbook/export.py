"""Writing a scenario workbook back as a scenario file: scenario.toml and its CSV tables.

Only a valid workbook is exported, and only into a new or empty folder: act-pool never overwrites
or deletes a file it did not write. The files are written into a temporary folder beside the
target and moved in when all are complete.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from act_pool.errors import InputError, Problem
from act_pool.rules.model import bundled_ids
from act_pool.workbook import layout
from act_pool.workbook.read import load_workbook_scenario, read_workbook

#: The CSV file of each table sheet, and the scenario key naming it.
TABLE_FILES = {layout.SALES_SHEET: ("sales", "sales.csv"), layout.BANK_SHEET: ("bank", "bank.csv"),
               layout.TRADES_SHEET: ("trades", "trades.csv")}
#: Order of the keys in the exported scenario.toml.
KEY_ORDER = ("name", "description", "rules", "sales", "bank", "trades", "model_years", "states", "pooling",
             "retirement", "purchase", "overrides", "plan")


def export_workbook(book: str | Path, out_dir: str | Path) -> Path:
    """Write ``book`` as ``out_dir``/scenario.toml with sales.csv (and bank.csv, trades.csv when the
    workbook has such rows). Returns the path of scenario.toml.

    Raises
    ------
    InputError
        When the workbook is invalid, or ``out_dir`` is a file or a folder that is not empty;
        nothing is written then.
    """
    book, out_dir = Path(book), Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError([Problem(str(out_dir), None, None, "exists and is not an empty folder: act-pool writes "
                                  "the scenario only into a new or empty folder")])
    load_workbook_scenario(book)
    inputs = read_workbook(book)
    doc: dict[str, Any] = dict(inputs.doc)
    rules = str(doc["rules"])
    if rules not in bundled_ids():
        doc["rules"] = os.path.relpath(book.resolve().parent / rules, out_dir.resolve())
    files: dict[str, list[dict[str, str]]] = {}
    for sheet, (key, name) in TABLE_FILES.items():
        rows = inputs.tables.get(sheet)
        if rows or sheet == layout.SALES_SHEET:
            doc[key] = name
            files[name] = _csv_text(layout.TABLE_COLUMNS[sheet], rows or [])
    ordered = {k: doc[k] for k in KEY_ORDER if k in doc}
    files["scenario.toml"] = f"# Exported by act-pool from {book.name}\n" + tomli_w.dumps(ordered)
    _write_folder(out_dir, files)
    return out_dir / "scenario.toml"


def _csv_text(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return text.getvalue()


def _write_folder(out_dir: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name to text) into ``out_dir`` (new or empty): all of them or none."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, text in files.items():
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        if not out_dir.exists():
            os.rename(tmp, out_dir)
        else:
            for name in files:
                os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
