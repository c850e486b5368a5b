"""Rule sets as data: named, versioned parameter files, every value with unit, source and confidence.

A rule-set file (TOML) holds metadata and a list of ``[[parameter]]`` tables. A parameter has
either a ``value`` (a number, string, boolean or list) or a ``by_year`` schedule: a table from the
first model year a value applies to, to that value (a step function, as PolicyEngine's
parameters are values by date). A rule set may name another in ``based_on``: it then holds the
other's parameters, replaced or added to by its own.

Numbers are read as :class:`decimal.Decimal`, so ``0.8`` means exactly 4/5.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from act_pool.errors import InputError, Problem
from act_pool.files import load_toml

CONFIDENCE = ("verified", "secondary", "assumed")
_DATA = Path(__file__).parent / "data"
_SCALAR_TYPES = (int, Decimal, str, bool, list)


@dataclass(frozen=True)
class Parameter:
    """One rule-set parameter.

    Attributes
    ----------
    name : str
        Dotted name, e.g. ``zev_sales_percent.tractor``; the name overrides use.
    value : scalar, list or None
        The value where it does not vary by model year.
    by_year : dict of int to value, or None
        Step schedule: value from each key's model year until the next key.
    unit, description, source : str
        What the number measures, what it does, and the regulation clause and document it comes from.
    confidence : {"verified", "secondary", "assumed"}
        Read in the regulation text; from a secondary source; or an assumption to confirm.
    note : str
        Why the value was chosen where the source is uncertain.
    allowed : list or None
        The only values a string parameter may take.
    minimum, maximum : Decimal or None
        Bounds for numbers.
    """

    name: str
    value: Any = None
    by_year: dict[int, Any] | None = None
    unit: str = ""
    description: str = ""
    source: str = ""
    confidence: str = "assumed"
    note: str = ""
    allowed: list | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def at(self, model_year: int) -> Any:
        """The value in force for ``model_year``.

        Raises
        ------
        KeyError
            If the schedule starts after ``model_year``.
        """
        if self.by_year is None:
            return self.value
        keys = [y for y in self.by_year if y <= model_year]
        if not keys:
            raise KeyError(f"{self.name} has no value for model year {model_year}")
        return self.by_year[max(keys)]

    @property
    def effective(self) -> str:
        """Model years the value applies to, as text (e.g. ``2024+`` or ``2024-2034, 2035+``)."""
        if self.by_year is None:
            return "all"
        years = sorted(self.by_year)
        return f"{years[0]}+" if len(years) == 1 else f"{years[0]}-{years[-1]} (from {years[-1]}: constant)"

    def display_value(self) -> str:
        """The value as one line of text."""
        if self.by_year is None:
            return _show(self.value)
        return ", ".join(f"{y}: {_show(v)}" for y, v in sorted(self.by_year.items()))


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


@dataclass(frozen=True)
class RuleSet:
    """A named, versioned set of parameters (see module docstring)."""

    id: str
    title: str
    description: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    based_on: str | None = None
    overridden: tuple[str, ...] = ()
    #: Values of pure clauses of this rule set, by clause and arguments (see
    #: :func:`act_pool.rules.clauses.cached_per_rule_set`): each rule set, and each copy with overrides
    #: (:meth:`with_overrides` makes a new object), has its own.
    clause_values: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getitem__(self, name: str) -> Parameter:
        return self.parameters[name]

    def value(self, name: str) -> Any:
        """Scalar value of a parameter that does not vary by model year."""
        return self.parameters[name].value

    def at(self, name: str, model_year: int) -> Any:
        """Value of ``name`` in force for ``model_year``."""
        return self.parameters[name].at(model_year)

    def assumptions(self) -> dict[str, Parameter]:
        """Every parameter whose confidence is not 'verified' (listed in every result)."""
        return {n: p for n, p in sorted(self.parameters.items()) if p.confidence != "verified"}

    def with_overrides(self, overrides: Mapping[str, Any], file: str) -> "RuleSet":
        """A copy with scenario overrides applied; each overridden value becomes an assumption.

        A scalar replaces the value (or makes a schedule constant); a table ``{year = value}``
        changes a schedule from those model years on.

        Raises
        ------
        InputError
            Naming ``file`` and the key, for an unknown name or a value of the wrong kind.
        """
        params = dict(self.parameters)
        problems: list[Problem] = []
        for name, raw in overrides.items():
            field_name = f"overrides.{name}"
            if name not in params:
                near = [n for n in params if n.split(".")[0] == name.split(".")[0]][:6]
                hint = f"; parameters of this kind: {', '.join(near)}" if near else "; see 'act-pool rules show'"
                problems.append(Problem(file, None, field_name, f"unknown rule parameter '{name}'{hint}"))
                continue
            p = params[name]
            try:
                if isinstance(raw, dict):
                    if p.by_year is None:
                        raise ValueError("this parameter does not vary by model year: give a single value")
                    sched = dict(p.by_year)
                    for k, v in raw.items():
                        sched[_year_key(k)] = _check_value(p, v)
                    new = replace(p, by_year=sched)
                else:
                    v = _check_value(p, raw)
                    if name.endswith("_states"):
                        _check_states(v, params)
                    new = (replace(p, value=v) if p.by_year is None
                           else replace(p, by_year={min(p.by_year): v}))
            except ValueError as exc:
                problems.append(Problem(file, None, field_name, str(exc)))
                continue
            params[name] = replace(new, confidence="assumed", source=f"scenario override ({file})",
                                   note=f"was: {p.display_value()} [{p.confidence}] {p.source}")
        if problems:
            raise InputError(problems)
        return replace(self, parameters=params, overridden=self.overridden + tuple(overrides))


def _year_key(k: Any) -> int:
    try:
        return int(k)
    except (TypeError, ValueError):
        raise ValueError(f"schedule key {k!r} is not a model year") from None


#: Longest span of model years a parameter may count (credit life, make-up period): longer than any
#: rule set's horizon, so a larger value would mean nothing more (and overflow the year keys).
MAX_MODEL_YEAR_SPAN = 100
#: Largest magnitude of any other number a parameter may hold (factors, modifiers, credits): far above
#: any reading of the regulation, and small enough that credits in integer tenths cannot overflow.
MAX_MAGNITUDE = 1_000_000


def _check_states(codes: list[str], params: Mapping[str, Parameter]) -> None:
    """Every code of a list of states is a state the rule set knows (has ``states.XX.*`` parameters for)."""
    known = sorted({n.split(".")[1] for n in params if n.startswith("states.")})
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"unknown state {unknown[0]!r}; expected some of {', '.join(known)}")


def _check_value(p: Parameter, v: Any) -> Any:
    """Check an override value against the parameter's kind and bounds; return it normalised.

    Numbers must be finite, whole where the unit is (model years, vehicles), and within the bounds
    (the parameter's own, and :data:`MAX_MODEL_YEAR_SPAN` or :data:`MAX_MAGNITUDE`); list items must be model years (``*model_years``) or codes (other lists).
    """
    sample = p.value if p.by_year is None else next(iter(p.by_year.values()))
    if isinstance(v, float):
        v = Decimal(repr(v))
    if isinstance(sample, bool):
        if not isinstance(v, bool):
            raise ValueError("expected true or false")
    elif isinstance(sample, (int, Decimal)):
        if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
            raise ValueError(f"expected a number ({p.unit})")
        if isinstance(v, Decimal) and not v.is_finite():
            raise ValueError(f"expected a number ({p.unit}), got {v}")
        if p.unit in ("model year", "model years") or p.unit.startswith("vehicles"):
            if v != int(v):
                raise ValueError(f"expected a whole number ({p.unit}), got {v}")
            v = int(v)
        if p.unit == "model years" and v > MAX_MODEL_YEAR_SPAN:
            raise ValueError(f"expected at most {MAX_MODEL_YEAR_SPAN} model years, got {Decimal(v):.6g}")
        if p.unit != "model year" and abs(v) > MAX_MAGNITUDE:
            raise ValueError(f"expected a number between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, "
                             f"got {Decimal(v):.6g}")
        if p.minimum is not None and v < p.minimum:
            raise ValueError(f"expected a number >= {p.minimum}, got {v}")
        if p.maximum is not None and v > p.maximum:
            raise ValueError(f"expected a number <= {p.maximum}, got {v}")
    elif isinstance(sample, str):
        if not isinstance(v, str) or (p.allowed and v not in p.allowed):
            raise ValueError(f"expected one of {p.allowed}, got {v!r}")
    elif isinstance(sample, list):
        want_years = p.name.endswith("model_years")
        if not isinstance(v, list) or not all(
                (isinstance(x, int) and not isinstance(x, bool)) if want_years else isinstance(x, str) for x in v):
            raise ValueError("expected a list of model years" if want_years else "expected a list of codes")
    return v


_TEXT_FIELDS = ("name", "unit", "description", "source", "confidence", "note")


def _parse_parameter(raw: Any, file: str) -> Parameter:
    """One ``[[parameter]]`` table, checked for its shape.

    Raises
    ------
    ValueError
        Naming the parameter and what is malformed.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"{file}: every [[parameter]] must be a table, got {type(raw).__name__}")
    known = {"name", "value", "by_year", "unit", "description", "source", "confidence", "note",
             "allowed", "minimum", "maximum"}
    extra = set(raw) - known
    if extra or "name" not in raw or ("value" in raw) == ("by_year" in raw):
        raise ValueError(f"{file}: parameter {raw.get('name')!r} is malformed (keys {sorted(raw)})")
    for key in _TEXT_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise ValueError(f"{file}: parameter {raw['name']!r}: '{key}' must be text")
    if raw.get("confidence", "assumed") not in CONFIDENCE:
        raise ValueError(f"{file}: parameter {raw['name']}: confidence must be one of {CONFIDENCE}")
    if "by_year" in raw and not (isinstance(raw["by_year"], dict) and raw["by_year"]):
        raise ValueError(f"{file}: parameter {raw['name']}: 'by_year' must be a table of model year = value")
    values = list(raw["by_year"].values()) if "by_year" in raw else [raw["value"]]
    if not all(isinstance(v, _SCALAR_TYPES) for v in values):
        raise ValueError(f"{file}: parameter {raw['name']}: values must be numbers, text, true/false or lists")
    for key in ("minimum", "maximum"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], (int, Decimal))):
            raise ValueError(f"{file}: parameter {raw['name']}: '{key}' must be a number")
    if "allowed" in raw and not isinstance(raw["allowed"], list):
        raise ValueError(f"{file}: parameter {raw['name']}: 'allowed' must be a list")
    by_year = {_year_key(k): v for k, v in raw["by_year"].items()} if "by_year" in raw else None
    parameter = Parameter(
        name=raw["name"], value=raw.get("value"), by_year=by_year, unit=raw.get("unit", ""),
        description=raw.get("description", ""), source=raw.get("source", ""),
        confidence=raw.get("confidence", "assumed"), note=raw.get("note", ""),
        allowed=raw.get("allowed"), minimum=raw.get("minimum"), maximum=raw.get("maximum"))
    for v in values:  # a file's numbers meet the checks of an override
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            continue
        try:
            _check_value(parameter, v)
        except ValueError as exc:
            raise ValueError(f"{file}: parameter {raw['name']}: {exc}") from None
    return parameter


def read_rule_file(path: Path, label: str | None = None) -> tuple[dict, list[Parameter]]:
    """Metadata and parameters of one rule-set file (no inheritance resolved).

    The file must be a regular file within :data:`act_pool.files.MAX_TOML_BYTES`, nested at most
    :data:`act_pool.files.MAX_TOML_DEPTH` levels.

    Raises
    ------
    InputError
        If the file cannot be read or is not valid TOML.
    ValueError
        If a parameter is malformed.
    """
    data = load_toml(path, label or str(path))
    raw = data.pop("parameter", [])
    if not isinstance(raw, list):
        raise ValueError(f"{path.name}: 'parameter' must be an array of tables ([[parameter]])")
    for key in ("id", "title", "description", "based_on"):
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"{path.name}: '{key}' must be text")
    return data, [_parse_parameter(p, path.name) for p in raw]


def bundled_ids(prefix: str = "") -> list[str]:
    """Ids of the rule sets shipped with act-pool."""
    return sorted(p.stem for p in _DATA.glob("*.toml") if p.stem.startswith(prefix))


def load_rules(ref: str | Path, relative_to: Path | None = None) -> RuleSet:
    """Load a bundled rule set by id (``act-2025``) or a rule-set file by path.

    A file's ``based_on`` (a bundled id, or a path relative to the file) is loaded first; a chain
    of ``based_on`` that comes back to a file already in it is an error.

    Raises
    ------
    InputError
        If the id is unknown, the file cannot be read, or ``based_on`` forms a loop.
    """
    return _load_rules(ref, relative_to, ())


def _rule_file(ref: str, relative_to: Path | None) -> Path:
    if ref in bundled_ids():
        return _DATA / f"{ref}.toml"
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not path.suffix == ".toml" or not path.is_file():
        raise InputError([Problem(ref, None, "rules", "unknown rule set: expected one of "
                                  f"{', '.join(bundled_ids())} or the path of a rule-set TOML file")])
    return path


def _load_rules(ref: str | Path, relative_to: Path | None, chain: tuple[Path, ...]) -> RuleSet:
    path = _rule_file(str(ref), relative_to)
    here = path.resolve()
    if here in chain:
        loop = " -> ".join(p.name for p in (*chain[chain.index(here):], here))
        raise InputError([Problem(str(chain[-1]), None, "based_on", f"'based_on' forms a loop: {loop}")])
    try:
        meta, params = read_rule_file(path)
    except (ValueError, OSError) as exc:
        raise InputError([Problem(str(path.name), None, None, f"cannot read rule set: {exc}")]) from None
    merged: dict[str, Parameter] = {}
    base = meta.get("based_on")
    if base:
        try:
            merged.update(_load_rules(base, path.parent, (*chain, here)).parameters)
        except InputError as exc:
            if exc.problems[0].field != "rules":
                raise
            raise InputError([Problem(str(path), None, "based_on", f"unknown rule set '{base}': expected one of "
                                      f"{', '.join(bundled_ids())} or the path of a rule-set TOML file")]) from None
    for p in params:
        merged[p.name] = p
    return RuleSet(id=meta.get("id", path.stem), title=meta.get("title", ""),
                   description=meta.get("description", ""), parameters=merged, based_on=base)


def diff(a: RuleSet, b: RuleSet) -> list[tuple[str, Parameter | None, Parameter | None]]:
    """Parameters that differ between two rule sets: (name, in a, in b), sorted by name."""
    out = []
    for name in sorted(set(a.parameters) | set(b.parameters)):
        pa, pb = a.parameters.get(name), b.parameters.get(name)
        if pa is None or pb is None or pa.value != pb.value or pa.by_year != pb.by_year:
            out.append((name, pa, pb))
    return out
