"""Opening input files safely: regular files only, of bounded size, and TOML of bounded depth.

Every input act-pool reads (scenario and rule-set TOML files, the sales, bank and trades tables,
LCFS volume tables) goes through :func:`open_input`, so a directory, a named pipe, a device such
as ``/dev/zero`` or an unreadable file is refused with an :class:`~act_pool.errors.InputError`
naming the file, instead of hanging, filling memory or ending in a traceback.
"""
from __future__ import annotations

import os
import stat
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from act_pool.errors import InputError, Problem

#: Largest table (CSV) act-pool reads, in bytes: 1 GiB, five times a national plan of 7 million rows.
MAX_TABLE_BYTES = 1 << 30
#: Largest TOML file (scenario or rule set) act-pool reads, in bytes: 1 MiB.
MAX_TOML_BYTES = 1 << 20
#: Deepest nesting of tables and arrays a TOML file may hold (the bundled files use 3 levels).
MAX_TOML_DEPTH = 16


def _megabytes(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


def open_input(path: str | Path, label: str, limit: int, missing: str = "file not found") -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file of at most ``limit`` bytes.

    The file is opened without blocking, so a named pipe with no writer is refused rather than
    waited on; the checks apply to the opened file itself, not to a name that could change between
    a check and the open.

    Parameters
    ----------
    path : path-like
    label : str
        How the file is named in problems.
    limit : int
        Largest size accepted, in bytes.
    missing : str
        The message for a file that does not exist.

    Raises
    ------
    InputError
        If the file is missing, unreadable, not a regular file or larger than ``limit``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError([Problem(label, None, None, missing)]) from None
    except PermissionError:
        raise InputError([Problem(label, None, None, "cannot read: permission denied")]) from None
    except OSError as exc:
        raise InputError([Problem(label, None, None, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a pipe, socket or device"
            raise InputError([Problem(label, None, None, f"is {kind}: expected a regular file")])
        if info.st_size > limit:
            raise InputError([Problem(label, None, None, f"is {_megabytes(info.st_size)}, larger than the "
                                      f"limit of {_megabytes(limit)}")])
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: str | Path, label: str, limit: int, missing: str = "file not found") -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes (see :func:`open_input`)."""
    try:
        with open_input(path, label, limit, missing) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError([Problem(label, None, None, f"cannot read: {exc.strerror or exc}")]) from None
    if len(data) > limit:
        raise InputError([Problem(label, None, None, f"larger than the limit of {_megabytes(limit)}")])
    return data


def load_toml(path: str | Path, label: str, missing: str = "file not found") -> dict[str, Any]:
    """Parse a TOML file (floats as exact :class:`~decimal.Decimal`), refusing deep nesting.

    Raises
    ------
    InputError
        If the file cannot be read (see :func:`open_input`), is not UTF-8, is not valid TOML, or
        nests tables and arrays more than :data:`MAX_TOML_DEPTH` levels deep.
    """
    data = read_input(path, label, MAX_TOML_BYTES, missing)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(label, None, None, "not UTF-8 text")]) from None
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(label, None, None, f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(label, None, None, "values nested more than "
                                  f"{MAX_TOML_DEPTH} levels deep")]) from None
    deep = _too_deep(doc)
    if deep is not None:
        raise InputError([Problem(label, None, deep, f"values nested more than {MAX_TOML_DEPTH} levels deep")])
    return doc


def _too_deep(doc: dict[str, Any]) -> str | None:
    """The top-level key under which tables and arrays nest deeper than :data:`MAX_TOML_DEPTH`, if any."""
    for key, value in doc.items():
        stack = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, (dict, list)):
                if depth > MAX_TOML_DEPTH:
                    return key
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return None
