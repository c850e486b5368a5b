"""The sweep's output folder: act-pool writes only into a folder of its own and swaps results in whole.

A folder qualifies when it does not exist, is empty, or holds nothing but what a sweep writes
(:data:`SWEEP_ENTRIES`, with a sweep's marker). Results are built in a temporary folder beside it
and renamed into place, so a failure leaves the folder as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from act_pool.errors import InputError, Problem
from act_pool.report.outdir import current_umask
from act_pool.sweep.checkpoint import CHECKPOINT

SWEEP_FILES = ("runs.csv", "detail.parquet", "summary.json", "sweep.html")
SWEEP_ENTRIES = (*SWEEP_FILES, "figures", CHECKPOINT)


def is_sweep_folder(folder: Path) -> bool:
    """True where ``folder`` holds only what an act-pool sweep wrote (its summary or checkpoint marker)."""
    names = set(os.listdir(folder))
    if not names <= set(SWEEP_ENTRIES):
        return False
    if (folder / CHECKPOINT / "spec.json").is_file():
        return True
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("kind") == "act-pool sweep"
    except (OSError, ValueError, AttributeError):
        return False


def check_out_dir(out_dir: Path) -> None:
    """Refuse an existing file, or a non-empty folder that is not an act-pool sweep's.

    Raises
    ------
    InputError
        Naming the folder and what was expected.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError([Problem(str(out_dir), None, "--out", "is a file: expected a folder for the results")])
    if out_dir.is_dir() and os.listdir(out_dir) and not is_sweep_folder(out_dir):
        raise InputError([Problem(str(out_dir), None, "--out", "holds files act-pool did not write: choose an "
                                  "empty or new folder (act-pool never overwrites others' files)")])


def replace_folder(out_dir: Path, build: Callable[[Path], None]) -> Path:
    """Build the results with ``build(folder)`` in a temporary folder beside ``out_dir``, then swap it
    in for ``out_dir`` (whose earlier contents, all act-pool's, go with the checkpoint)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    old = None
    try:
        build(tmp)
        os.chmod(tmp, 0o777 & ~current_umask())  # like any folder the user makes (not mkdtemp's 0700)
        check_out_dir(out_dir)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.rename(out_dir, old / out_dir.name)
        os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out_dir
