"""Reading a CSV table as coded text with pyarrow: fast, and memory proportional to the file.

Nothing is converted on reading: every field is text, stripped of surrounding blanks, and each
column is dictionary-encoded as a pandas :class:`~pandas.Categorical` (its categories are the
column's distinct values). The checks of :mod:`act_pool.validation` then run once per distinct
value and reach the rows through the codes.

Rows are numbered as the user sees them: row N is the Nth record after the header, counting blank
lines (which are skipped); a quoted field may span lines within one record.
"""
from __future__ import annotations

import csv
from typing import TYPE_CHECKING, BinaryIO, Callable

import numpy as np
import pandas as pd

from act_pool.errors import InputError, Problem
from act_pool.files import MAX_TABLE_BYTES, open_input

if TYPE_CHECKING:
    import pyarrow as pa

#: Column of a text table holding each row's number (1-based, the header not counted).
ROW = "_row"
#: Longest header line read, in bytes.
MAX_HEADER_BYTES = 1 << 16
#: Longest data record read, in bytes (pyarrow's block size; a record must fit in one block).
MAX_RECORD_BYTES = 1 << 20
#: Rows with the wrong number of fields listed one by one; the rest are counted.
MAX_LISTED = 20


def read_csv_table(path: str, label: str, header_ok: Callable[[list[str]], bool],
                   problems: list[Problem]) -> pd.DataFrame | None:
    """Read a UTF-8 CSV table (regular file, at most :data:`~act_pool.files.MAX_TABLE_BYTES`) as text.

    Parameters
    ----------
    path : str
    label : str
        How the file is named in problems.
    header_ok : callable
        Called with the stripped column names; records any header problem and returns False to
        stop before the data rows are read.
    problems : list of Problem
        Receives the rows with the wrong number of fields (at most :data:`MAX_LISTED` listed).

    Returns
    -------
    DataFrame or None
        One categorical column of stripped text per header name, and the row numbers in
        :data:`ROW`; blank rows left out. None where ``header_ok`` returned False.

    Raises
    ------
    InputError
        For a file that cannot be read, an empty file, or text that is not UTF-8.
    """
    with open_input(path, label, MAX_TABLE_BYTES) as fh:
        header = _read_header(fh, label)
        if not header_ok(header):
            return None
        start = fh.tell()
        if not fh.peek(1):  # a header and nothing else
            return pd.DataFrame({**{name: pd.Categorical([]) for name in header}, ROW: np.empty(0, dtype=np.int64)})
        table, invalid = _parse(fh, len(header), label, threads=True)
        if any(number is None for number, _ in invalid):  # pyarrow numbers rows only when reading serially
            fh.seek(start)
            table, invalid = _parse(fh, len(header), label, threads=False)
    bad = [(int(n), actual) for n, actual in invalid if actual is not None]
    for number, actual in bad[:MAX_LISTED]:
        problems.append(Problem(label, number, None, f"{actual} fields, expected {len(header)}"))
    if len(bad) > MAX_LISTED:
        problems.append(Problem(label, None, None, f"and {len(bad) - MAX_LISTED} more rows with the wrong "
                                f"number of fields (the first {MAX_LISTED} are listed)"))
    skipped = np.array(sorted(int(n) for n, _ in invalid), dtype=np.int64)
    numbers = np.setdiff1d(np.arange(1, table.num_rows + len(skipped) + 1, dtype=np.int64), skipped,
                           assume_unique=True)
    columns = {name: _coded(table.column(i)) for i, name in enumerate(header)}
    frame = pd.DataFrame({**columns, ROW: numbers})
    blank = np.ones(len(frame), dtype=bool)
    for col in columns.values():
        empty = col.categories.get_indexer([""])[0]
        blank &= col.codes == empty
    return frame[~blank].reset_index(drop=True) if blank.any() else frame


def _read_header(fh: BinaryIO, label: str) -> list[str]:
    """The stripped column names of the first line (ended by LF, CR LF or CR); ``fh`` is left after it."""
    head = fh.read(MAX_HEADER_BYTES + 2)
    ends = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
    end = min(ends) if ends else len(head)
    if end > MAX_HEADER_BYTES:
        raise InputError([Problem(label, None, None, f"header row longer than {MAX_HEADER_BYTES} bytes")])
    after = end + (2 if head[end:end + 2] == b"\r\n" else 1) if ends else len(head)
    fh.seek(after)
    try:
        text = head[:end].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError([Problem(label, None, None, "not UTF-8 text")]) from None
    try:
        header = [h.strip() for h in next(csv.reader([text]), [])]
    except csv.Error as exc:
        raise InputError([Problem(label, None, None, f"header row cannot be read: {exc}")]) from None
    if not any(header):
        raise InputError([Problem(label, None, None, "empty file: expected a header row")])
    return header


def _parse(fh: BinaryIO, width: int, label: str, threads: bool) -> tuple[pa.Table, list[tuple[int | None, int | None]]]:
    """The data records after the header as a table of dictionary-encoded text, and the records
    skipped: (number, field count), the count None for a blank record."""
    import pyarrow as pa  # imported on use: loading act-pool stays quick
    import pyarrow.csv as pa_csv

    invalid: list[tuple[int | None, int | None]] = []

    def handle(row: pa_csv.InvalidRow) -> str:
        blank = not any(f.strip() for f in next(csv.reader([row.text]), []))
        invalid.append((row.number, None if blank else row.actual_columns))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pa_csv.read_csv(
            fh, memory_pool=pa.system_memory_pool(),  # returns freed memory to the system at once
            read_options=pa_csv.ReadOptions(use_threads=threads, column_names=names, block_size=MAX_RECORD_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                              invalid_row_handler=handle),
            convert_options=pa_csv.ConvertOptions(column_types={n: text for n in names}, strings_can_be_null=False,
                                                  quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message:
            message = "not UTF-8 text"
        elif "straddling" in message or "block" in message:
            message = f"a record longer than {MAX_RECORD_BYTES >> 20} MiB"
        else:
            message = f"cannot read the table: {message}"
        raise InputError([Problem(label, None, None, message)]) from None
    except OSError as exc:
        raise InputError([Problem(label, None, None, f"cannot read: {exc}")]) from None
    return table, invalid


def _coded(column: pa.ChunkedArray) -> pd.Categorical:
    """One column as a Categorical of its distinct stripped values (in order of first appearance)."""
    values: dict[str, int] = {}
    parts = []
    for chunk in column.chunks:
        remap = np.fromiter((values.setdefault(v.strip(), len(values)) for v in chunk.dictionary.to_pylist()),
                            dtype=np.int32)
        parts.append(remap[chunk.indices.to_numpy(zero_copy_only=False)])
    codes = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(values), dtype=object))
