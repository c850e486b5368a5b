"""Sweep files (TOML): parsing and validation.

A sweep file names a scenario (relative to the sweep file), a ``[vary]`` table of rule parameters
and scenario switches to run as a full grid, and an optional ``[monte_carlo]`` table of sales
samples (see docs/scenario-format.md). Every problem is collected and raised at once as
:class:`~act_pool.errors.InputError`, naming the sweep file and the key, before anything runs.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from act_pool.errors import InputError, Problem
from act_pool.rules import RuleSet, load_rules
from act_pool.scenario import Scenario, load_scenario

#: Scenario switches a sweep may vary besides rule parameters.
SWITCHES = ("pooling", "retirement", "rules")
#: How Monte Carlo draws are shared: one per sales row, per manufacturer and model year, or per model year.
CORRELATIONS = ("none", "manufacturer", "market")
_SWEEP_KEYS = {"scenario", "vary", "monte_carlo", "description"}
_MC_KEYS = {"samples", "seed", "zev_sales_sigma", "correlation"}


@dataclass(frozen=True)
class MonteCarlo:
    """Seeded Monte Carlo of ZEV and NZEV sales (see :mod:`act_pool.sweep.sampling`).

    Attributes
    ----------
    samples : int
        Samples per grid point (every grid point sees the same samples).
    seed : int
        Sample ``s`` is drawn from ``numpy.random.SeedSequence([seed, s])``.
    zev_sales_sigma : Decimal
        Standard deviation of the log of the factor ZEV and NZEV sales are multiplied by.
    correlation : {"none", "manufacturer", "market"}
        One draw per sales row; per manufacturer and model year; or per model year for everyone.
    """

    samples: int
    seed: int
    zev_sales_sigma: Decimal
    correlation: str = "manufacturer"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the scenario, the grid and the samples.

    Attributes
    ----------
    scenario : Scenario
        The base scenario, loaded and validated once.
    vary : dict of str to list
        The varied names, in the order written, each with its values.
    monte_carlo : MonteCarlo or None
        Without it every grid point runs once on the scenario's own sales (sample 0).
    path : Path or None
        The sweep file, when read from one.
    """

    scenario: Scenario
    vary: dict[str, list] = field(default_factory=dict)
    monte_carlo: MonteCarlo | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        """The sweep file as error messages name it."""
        return str(self.path) if self.path else "sweep"

    @property
    def samples(self) -> int:
        """Monte Carlo samples per grid point (1 without ``[monte_carlo]``)."""
        return self.monte_carlo.samples if self.monte_carlo else 1

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, the first varied name changing slowest (one point, ``{}``, without ``[vary]``)."""
        names = list(self.vary)
        return [dict(zip(names, values)) for values in itertools.product(*self.vary.values())]

    @property
    def n_runs(self) -> int:
        """Grid points x samples."""
        return len(self.points()) * self.samples

    def run_key(self, run: int) -> tuple[dict[str, Any], int]:
        """The grid point and sample of run id ``run`` (``run = point * samples + sample``)."""
        return self.points()[run // self.samples], run % self.samples

    def describe(self) -> dict[str, Any]:
        """The sweep as JSON-ready data (numbers as exact text), for summary.json and checkpoints."""
        mc = self.monte_carlo
        return {
            "sweep_file": str(self.path) if self.path else None,
            "scenario": self.scenario.name,
            "scenario_file": str(self.scenario.path) if self.scenario.path else None,
            "vary": {name: [json_value(v) for v in values] for name, values in self.vary.items()},
            "monte_carlo": None if mc is None else {"samples": mc.samples, "seed": mc.seed,
                                                    "zev_sales_sigma": str(mc.zev_sales_sigma),
                                                    "correlation": mc.correlation},
            "grid_points": len(self.points()),
            "runs": self.n_runs,
        }

    def fingerprint(self) -> str:
        """A hash of everything a run depends on: the grid, the samples, the scenario's tables and rules.
        A checkpoint is resumed only under the same fingerprint."""
        sc = self.scenario
        where = ("sweep_file", "scenario_file")  # moving the files changes nothing a run depends on
        h = hashlib.sha256(json.dumps({k: v for k, v in self.describe().items() if k not in where},
                                      sort_keys=True).encode())
        for frame in (sc.sales, sc.bank, sc.trades):
            h.update(frame.to_csv(index=False, lineterminator="\n").encode())
        h.update(repr((sorted(sc.rules.parameters.items()), sc.pooling, sc.retirement, sc.model_years,
                       sc.states, sc.purchase_price, sc.purchase_manufacturers)).encode())
        return h.hexdigest()


def json_value(v: Any) -> Any:
    """A TOML value as JSON: Decimals as exact text, lists and tables item by item."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    return v


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file, its scenario and every grid point.

    Raises
    ------
    InputError
        With every problem found, naming the sweep file and the key (``vary.<name>``,
        ``monte_carlo.<key>``), or the scenario's own problems.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise InputError([Problem(label, None, None, "sweep file not found")])
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(label, None, None, f"not valid TOML: {exc}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(label, None, None, f"cannot read: {exc}")]) from None
    problems: list[Problem] = []
    for key in sorted(set(doc) - _SWEEP_KEYS):
        problems.append(Problem(label, None, key, f"unknown key; expected one of {sorted(_SWEEP_KEYS)}"))
    scenario_ref = doc.get("scenario")
    if not isinstance(scenario_ref, str) or not scenario_ref.strip():
        problems.append(Problem(label, None, "scenario", "required: the scenario file, relative to this file"))
    vary = doc.get("vary", {})
    if not isinstance(vary, dict):
        problems.append(Problem(label, None, "vary", "expected a table of name = [values]"))
        vary = {}
    mc = _monte_carlo(doc.get("monte_carlo"), label, problems)
    if problems:
        raise InputError(problems)
    scenario = load_scenario(path.parent / scenario_ref)
    spec = SweepSpec(scenario=scenario, vary=_vary(vary, scenario, label, path.parent, problems),
                     monte_carlo=mc, path=path)
    if problems:
        raise InputError(problems)
    for point in spec.points():
        try:
            point_scenario(scenario, point, label, path.parent)
        except InputError as exc:
            where = ", ".join(f"{k} = {json.dumps(json_value(v))}" for k, v in point.items())
            problems.extend(Problem(label, None, "vary", f"grid point {where}: {p.message}") for p in exc.problems)
    if problems:
        raise InputError(problems)
    return spec


def _monte_carlo(raw: Any, label: str, problems: list[Problem]) -> MonteCarlo | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(label, None, "monte_carlo", "expected a table with samples, seed, zev_sales_sigma"))
        return None
    before = len(problems)
    for key in sorted(set(raw) - _MC_KEYS):
        problems.append(Problem(label, None, f"monte_carlo.{key}", f"unknown key; expected one of {sorted(_MC_KEYS)}"))
    for key in ("samples", "seed", "zev_sales_sigma"):
        if key not in raw:
            problems.append(Problem(label, None, f"monte_carlo.{key}", "required key is missing"))
    samples, seed = raw.get("samples", 1), raw.get("seed", 0)
    if not _is_int(samples) or samples < 1:
        problems.append(Problem(label, None, "monte_carlo.samples", f"expected a whole number >= 1, got {samples!r}"))
    if not _is_int(seed) or seed < 0:
        problems.append(Problem(label, None, "monte_carlo.seed", f"expected a whole number >= 0, got {seed!r}"))
    sigma = raw.get("zev_sales_sigma", Decimal(0))
    if isinstance(sigma, bool) or not isinstance(sigma, (int, Decimal)) or not Decimal(sigma).is_finite() \
            or not 0 <= sigma <= 2:
        problems.append(Problem(label, None, "monte_carlo.zev_sales_sigma",
                                f"expected a number from 0 to 2 (the standard deviation of log sales), got {sigma!r}"))
    correlation = raw.get("correlation", "manufacturer")
    if correlation not in CORRELATIONS:
        problems.append(Problem(label, None, "monte_carlo.correlation",
                                f"expected one of {', '.join(CORRELATIONS)}, got {correlation!r}"))
    if len(problems) > before:
        return None
    return MonteCarlo(samples=samples, seed=seed, zev_sales_sigma=Decimal(sigma), correlation=correlation)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _vary(raw: Mapping[str, Any], scenario: Scenario, label: str, base: Path,
          problems: list[Problem]) -> dict[str, list]:
    """The ``[vary]`` table checked name by name: a known name, a non-empty list of distinct values,
    each valid on its own (values that clash with each other are caught per grid point)."""
    known = set(scenario.rules.parameters)
    for ref in raw.get("rules", []) if isinstance(raw.get("rules"), list) else []:
        try:
            known |= set(_rule_set(ref, base).parameters)
        except InputError:
            pass
    vary: dict[str, list] = {}
    for name, values in raw.items():
        key = f"vary.{name}"
        if name not in SWITCHES and name not in known:
            near = [n for n in sorted(known) if n.split(".")[0] == name.split(".")[0]][:6]
            hint = f"; parameters of this kind: {', '.join(near)}" if near else "; see 'act-pool rules show'"
            problems.append(Problem(label, None, key, f"unknown name: expected a rule parameter or one of "
                                    f"{', '.join(SWITCHES)}{hint}"))
            continue
        if not isinstance(values, list) or not values:
            problems.append(Problem(label, None, key, "expected a non-empty list of values"))
            continue
        texts = [json.dumps(json_value(v), sort_keys=True) for v in values]
        if len(set(texts)) < len(texts):
            problems.append(Problem(label, None, key, "a value is listed more than once"))
            continue
        before = len(problems)
        for value in values:
            _check_one(name, value, scenario, label, base, problems)
        if len(problems) == before:
            vary[name] = values
    return vary


def _check_one(name: str, value: Any, scenario: Scenario, label: str, base: Path, problems: list[Problem]) -> None:
    key = f"vary.{name}"
    shown = json.dumps(json_value(value))
    if name == "pooling":
        if not isinstance(value, bool):
            problems.append(Problem(label, None, key, f"expected true or false, got {shown}"))
    elif name == "rules":
        if not isinstance(value, str):
            problems.append(Problem(label, None, key, f"expected a rule-set id or file, got {shown}"))
        else:
            try:
                _rule_set(value, base)
            except InputError as exc:
                problems.append(Problem(label, None, key, f"{shown}: {exc.problems[0].message}"))
    elif name == "retirement":
        if not isinstance(value, (str, list)):
            problems.append(Problem(label, None, key,
                                    f"expected a retirement mode or a list of preferences, got {shown}"))
    elif name in scenario.rules.parameters:
        try:
            scenario.rules.with_overrides({name: value}, label)
        except InputError as exc:
            problems.extend(Problem(label, None, key, p.message) for p in exc.problems)


def _rule_set(ref: str, base: Path) -> RuleSet:
    return load_rules(ref, relative_to=base)


def point_scenario(scenario: Scenario, point: Mapping[str, Any], label: str = "sweep",
                   base: Path | None = None) -> Scenario:
    """The scenario of one grid point: its rule set (``rules``, with the scenario's own overrides),
    its rule parameters as overrides, its ``pooling`` and ``retirement``.

    Where ``rules`` is varied, ``pooling`` and ``retirement`` not varied take the rule set's defaults
    (as ``act-pool compare`` does); otherwise they keep the scenario's.

    Raises
    ------
    InputError
        Where the point's values clash (e.g. pooling under a rule set without it).
    """
    params = {k: v for k, v in point.items() if k not in SWITCHES}
    if "rules" in point:
        rules = _rule_set(point["rules"], base or Path("."))
        if scenario.overrides:
            rules = rules.with_overrides(scenario.overrides, label)
        pooling, retirement = point.get("pooling"), point.get("retirement")
    else:
        rules = scenario.rules
        pooling, retirement = point.get("pooling", scenario.pooling), point.get("retirement", scenario.retirement)
    if params:
        rules = rules.with_overrides(params, label)
    if isinstance(retirement, list):
        retirement = tuple(retirement)
    changed = replace(scenario, overrides={}).with_rules(rules, pooling=pooling, retirement=retirement)
    return replace(changed, overrides={**scenario.overrides, **params})
