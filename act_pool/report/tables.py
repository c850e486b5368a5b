"""Result tables as planners read them: tenths turned into credits, columns in contract order."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from act_pool.tenths import format_tenths_array, format_tenths_column

if TYPE_CHECKING:
    from act_pool.run import Result

TENTHS_COLUMNS = {
    "compliance": ["deficits", "zev_credits", "nzev_credits", "met", "unmet", "met_in_model_year", "met_by_makeup",
                   "met_by_nzev", "met_by_pooled", "met_by_traded", "met_by_tractor_offset", "met_by_purchase"],
    "ledger": ["credits", "deficit_met"],
    "balances": ["credits"],
}


def tenths_to_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of ``frame`` for CSV: integer-tenths columns as exact decimal text ('40.3'), booleans
    as ``true``/``false``."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = format_tenths_column(out[col])
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "true", False: "false"})
    return out


def write_csv(frame: pd.DataFrame, path: Path, plain: Iterable[str] = ()) -> None:
    """``frame`` as CSV at ``path``, in pandas' dialect (``,``, quotes only where a value holds a
    comma, a quote or a line break, ``\\n`` line ends, missing as empty), for integer and text columns.

    Written with pyarrow where no value needs quotes (several times faster), else with pandas; the
    bytes are the same either way. ``plain`` names columns known to need none (numbers as text).
    """
    if _needs_quotes(frame, set(plain)) or not all(pd.api.types.is_integer_dtype(t) or pd.api.types.is_string_dtype(t)
                                       for t in frame.dtypes):
        frame.to_csv(path, index=False, lineterminator="\n")
        return
    buf = io.BytesIO()
    buf.write((",".join(map(str, frame.columns)) + "\n").encode("utf-8"))
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf,
                     pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    Path(path).write_bytes(buf.getvalue())


#: Characters that make pandas quote a CSV field.
_QUOTED = r'[,"\r\n]'
_BOOL_TEXT = pa.array(["false", "true"])


def write_table_csv(frame: pd.DataFrame, path: Path, tenths: list[str]) -> None:
    """:func:`write_csv` of :func:`tenths_to_text` (``tenths`` the integer-tenths columns), the same bytes,
    written with pyarrow straight from the columns where every column is integer, boolean or text and no
    text needs quotes (no copy of the table as text in pandas first); else through those two."""
    columns = _csv_columns(frame, tenths)
    if columns is None:
        numbers = [c for c in tenths if c in frame] + [c for c in frame.columns if frame[c].dtype == bool]
        write_csv(tenths_to_text(frame, tenths), path, plain=numbers)
        return
    buf = io.BytesIO()
    buf.write((",".join(map(str, frame.columns)) + "\n").encode("utf-8"))
    pa_csv.write_csv(pa.Table.from_arrays(list(columns.values()), names=[str(c) for c in columns]), buf,
                     pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    Path(path).write_bytes(buf.getvalue())


def _csv_columns(frame: pd.DataFrame, tenths: list[str]) -> dict | None:
    """The columns of ``frame`` as pyarrow arrays of what its CSV holds (tenths as decimal text, booleans as
    ``true``/``false``, integers and text as they are); None where a column is of another kind or a name
    or a text needs quotes."""
    if re.search(_QUOTED, "\x00".join(map(str, frame.columns))) is not None or not frame.columns.is_unique:
        return None
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if name in tenths:
            columns[name] = format_tenths_array(values.to_numpy(dtype=np.int64))
        elif values.dtype == bool:
            columns[name] = _BOOL_TEXT.take(pa.array(values.to_numpy().astype(np.int8)))
        elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
            columns[name] = pa.array(values.to_numpy())
        elif pd.api.types.is_string_dtype(values.dtype):
            try:
                text = pa.array(values.array if isinstance(values.dtype, pd.StringDtype) else values.to_numpy(),
                                type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None
            if pa_compute.any(pa_compute.match_substring_regex(text, _QUOTED)).as_py():
                return None
            columns[name] = text
        else:
            return None
    return columns


def _needs_quotes(frame: pd.DataFrame, plain: set[str]) -> bool:
    """Whether a column name or a text value (outside the ``plain`` columns) holds a comma, a quote
    or a line break."""
    texts = [str(c) for c in frame.columns]
    for c in frame.columns:
        if c not in plain and pd.api.types.is_string_dtype(frame[c].dtype):
            texts.extend(str(v) for v in frame[c].dropna().unique())
    return re.search(r'[,"\r\n]', "\x00".join(texts)) is not None


def tenths_to_credits(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of ``frame`` with integer-tenths columns as credits (float, exact to the tenth for display)."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = out[col].astype("int64") / 10
    return out


def display_tables(result: "Result") -> dict[str, pd.DataFrame]:
    """compliance, ledger and balances with amounts in credits."""
    ledger = result.ledger.drop(columns=["lot"])
    return {
        "compliance": tenths_to_credits(result.compliance, TENTHS_COLUMNS["compliance"]),
        "ledger": tenths_to_credits(ledger, TENTHS_COLUMNS["ledger"]),
        "balances": tenths_to_credits(result.balances, TENTHS_COLUMNS["balances"]),
    }
