"""Cell values: what a workbook cell holds as the text or the TOML value a scenario file would give.

Excel stores every number as a binary float. A number is read as the text Excel shows for it (at
most 15 significant digits, a whole number without decimals), so a cell holding 2030 reads as
``"2030"`` and one holding 0.1 + 0.2 as ``"0.3"``. Dates, times and durations are never numbers
here: a date where a year belongs is refused, not read as a serial day number.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from typing import Any

#: Cell values that are dates or times (python-calamine returns these for date-formatted cells).
DATE_TYPES = (dt.date, dt.datetime, dt.time, dt.timedelta)
_SIGNIFICANT = 15  # digits Excel shows of a number


def is_date(value: Any) -> bool:
    return isinstance(value, DATE_TYPES)


def number_text(value: float | int) -> str:
    """A number as Excel shows it: whole numbers without a decimal point, else 15 significant digits."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 10**_SIGNIFICANT:
        return str(int(value))
    return format(value, f".{_SIGNIFICANT}g")


def cell_text(value: Any) -> str:
    """The text of a cell that is not a date: stripped text, a number as Excel shows it, TRUE/FALSE."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return number_text(value)
    return str(value).strip()


def toml_value(value: Any) -> Any:
    """The value a TOML scenario file would give for a cell of a key-value sheet.

    A number is an integer when whole, else an exact :class:`~decimal.Decimal` of the digits Excel
    shows; TRUE/FALSE are booleans; a text is read as a TOML value when it is one (``0.4``,
    ``true``, ``[2025, 2026]``, ``"text"``), else (also when nested too deep to parse) it is the
    text itself, which the scenario checks then refuse where the key expects something else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        text = number_text(value)
        return int(text) if text.lstrip("-").isdigit() else Decimal(text)
    text = str(value).strip()
    try:
        return tomllib.loads(f"v = {text}", parse_float=Decimal)["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def inline_toml(value: Any) -> str:
    """``value`` (a list or table of numbers, booleans and texts) as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{inline_toml(str(k))} = {inline_toml(v)}" for k, v in value.items()) + " }"
    return "[" + ", ".join(inline_toml(v) for v in value) + "]"


def exact_float(value: int | Decimal) -> float | None:
    """``value`` as a float when the float shows (at 15 significant digits) exactly that number, else None."""
    f = float(value)
    return f if Decimal(number_text(f)) == Decimal(value) else None


def cell_for(value: Any) -> Any:
    """What to write in a cell of a key-value sheet so that :func:`toml_value` reads ``value`` back.

    Numbers as numbers where exact, booleans as booleans, lists and tables as inline TOML text, and
    a text as itself unless it would read back as something else (then as a quoted TOML string).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        f = exact_float(value)
        return f if f is not None else str(value)
    if isinstance(value, str):
        return value if toml_value(value) == value else inline_toml(value)
    return inline_toml(value)
