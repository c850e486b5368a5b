"""Checkpoints of a sweep in progress: one small Parquet file per finished run in ``DIR/.checkpoint``.

Each file is written beside its final name and renamed into place after an fsync, so a crash
leaves either a whole run or none. ``spec.json`` holds the sweep's fingerprint: a checkpoint is
resumed only by the same sweep of the same scenario.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.sweep.spec import SweepSpec

CHECKPOINT = ".checkpoint"
_RUN_FILE = re.compile(r"run-(\d{6,})\.parquet")


class Checkpoint:
    """The checkpoint folder of one sweep."""

    def __init__(self, folder: Path, spec: SweepSpec) -> None:
        self.folder = Path(folder)
        self.spec = spec

    @classmethod
    def open(cls, out_dir: Path, spec: SweepSpec, resume: bool) -> "Checkpoint":
        """The checkpoint in ``out_dir``: the one found there with ``resume`` (it must be of this
        sweep), otherwise a fresh one (an earlier checkpoint, written by act-pool, is discarded).

        Raises
        ------
        InputError
            With ``resume``, where the checkpoint found is of another sweep or scenario.
        """
        folder = Path(out_dir) / CHECKPOINT
        marker = folder / "spec.json"
        if resume and marker.is_file():
            found = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
            if found != spec.fingerprint():
                raise InputError([Problem(str(out_dir), None, "--resume", "the unfinished sweep in this folder is of "
                                          "another sweep file or scenario; run without --resume to start afresh")])
            return cls(folder, spec)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_synced(marker, json.dumps({"fingerprint": spec.fingerprint(), "spec": spec.describe()},
                                         indent=2, sort_keys=True).encode())
        return cls(folder, spec)

    def finished(self) -> dict[int, tuple[dict[str, int], pd.DataFrame]]:
        """Every run checkpointed so far: run id -> (totals in tenths, detail)."""
        import pyarrow.parquet as pq

        runs = {}
        for path in sorted(self.folder.iterdir()):
            match = _RUN_FILE.fullmatch(path.name)
            if match and int(match.group(1)) < self.spec.n_runs:
                table = pq.read_table(path)
                totals = json.loads(table.schema.metadata[b"act_pool_totals"])
                runs[int(match.group(1))] = (totals, table.to_pandas().reset_index(drop=True))
        return runs

    def save(self, run: int, totals: dict[str, int], detail: pd.DataFrame) -> None:
        """Checkpoint one finished run."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(detail, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"act_pool_totals": json.dumps(totals, sort_keys=True).encode()})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        _write_synced(self.folder / f"run-{run:06d}.parquet", sink.getvalue().to_pybytes())


def _write_synced(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
