"""CI regression scenarios: the pinned outputs of every ``scenarios/*/expected.json``.

Each folder under ``scenarios/`` with an ``expected.json`` is one small scenario aimed at one feature
(see ``scenarios/README-regression.md``). ``expected.json`` pins key outputs, every value beside the
arithmetic that derives it by hand (``{"value": ..., "worked": "..."}``):

- ``summary``: dotted paths into ``result.summary()`` (``"totals.unmet"``, ``"by_state.NJ.met"``);
- ``compliance``: ``where`` selects exactly one row (manufacturer, state, model_year, group);
- ``ledger`` / ``balances``: ``where`` selects rows; ``credits`` pins their sum, ``rows`` their count;
- ``conservation``: ``where`` names a manufacturer; its conservation terms;
- ``variants``: the same scenario under another rule set / pooling / retirement mode
  (``Scenario.with_rules``), with pins of the same shapes.

Amounts are pinned in credits (the result tables hold integer tenths; they are compared in tenths).
A value marked ``"disputed": "why"`` is a hand derivation the engine does not reproduce: it is
checked by a strict xfail test and never overwritten by a re-pin.

Re-pinning on purpose: ``ACT_POOL_REPIN=1 pytest tests/test_regression.py`` rewrites the values from
the current run (keeping the worked texts) and then fails, so that a re-pin is never silent: review
``git diff scenarios/`` and re-check the worked arithmetic by hand.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest

import act_pool

REPO = Path(__file__).resolve().parent.parent
EXPECTED = sorted((REPO / "scenarios").glob("*/expected.json"))
REPIN = os.environ.get("ACT_POOL_REPIN") == "1"
RESULT_FILES = ("balances.csv", "compliance.csv", "ledger.csv", "summary.json")
#: Columns of the result DataFrames held in integer tenths (compared as credits to the tenth).
TENTHS = {
    "compliance": {"deficits", "zev_credits", "nzev_credits", "met", "unmet", "met_in_model_year", "met_by_makeup",
                   "met_by_nzev", "met_by_pooled", "met_by_traded", "met_by_tractor_offset", "met_by_purchase"},
    "conservation": {"opening", "generated", "traded_in", "retired", "expired", "traded_out", "closing"},
}
SECTIONS = ("summary", "compliance", "ledger", "balances", "conservation")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _has_disputed(doc: dict) -> list[str]:
    return [leaf["disputed"] for _, leaf, _ in _leaves(doc) if leaf.get("disputed")]


def _params(disputed_only: bool = False) -> list:
    params = []
    for path in EXPECTED:
        disputed = _has_disputed(_load(path))
        if disputed_only and not disputed:
            continue
        marks = [pytest.mark.xfail(strict=True, reason="; ".join(disputed))] if disputed_only else []
        params.append(pytest.param(path, id=path.parent.name, marks=marks))
    return params


# ------------------------------------------------------------------------------------------- runs

@lru_cache(maxsize=None)
def _run(expected: Path, variant: int | None) -> act_pool.Result:
    """The scenario of ``expected`` run through the API (``variant``: index into ``variants``)."""
    doc = _load(expected)
    scenario = act_pool.load_scenario(expected.parent / doc.get("scenario", "scenario.toml"))
    if variant is not None:
        spec = doc["variants"][variant]
        scenario = scenario.with_rules(spec["rules"], pooling=spec.get("pooling"), retirement=spec.get("retirement"))
    return act_pool.run(scenario)


@lru_cache(maxsize=None)
def _summary(expected: Path, variant: int | None) -> dict:
    return _run(expected, variant).summary()


def _runs(doc: dict) -> Iterator[tuple[str, int | None, dict]]:
    """(label, variant index, pins) of the scenario as written and of each variant."""
    yield "", None, doc
    for i, spec in enumerate(doc.get("variants", [])):
        yield f"variant '{spec.get('label', i)}' ", i, spec


def _leaves(doc: dict) -> Iterator[tuple[str, dict, tuple]]:
    """Every pinned leaf as (label, leaf, locator), locator = (variant, section, item index, key)."""
    for label, variant, pins in _runs(doc):
        for key, leaf in pins.get("summary", {}).items():
            yield f"{label}summary {key}", leaf, (variant, "summary", None, key)
        for section in SECTIONS[1:]:
            for i, item in enumerate(pins.get(section, [])):
                where = ", ".join(f"{k}={v}" for k, v in item["where"].items())
                for key, leaf in item["pinned"].items():
                    yield f"{label}{section}[{where}] {key}", leaf, (variant, section, i, key)


# --------------------------------------------------------------------------------- observations

def _plain(value: Any) -> Any:
    """numpy scalars as Python values."""
    return value.item() if hasattr(value, "item") else value


def _select(frame, where: dict):
    mask = None
    for k, v in where.items():
        m = frame[k] == v
        mask = m if mask is None else mask & m
    return frame if mask is None else frame[mask]


def _now(expected: Path, variant: int | None, section: str, item: dict | None, key: str) -> Any:
    """The current value of one pinned leaf."""
    result = _run(expected, variant)
    if section == "summary":
        node: Any = _summary(expected, variant)
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return f"<no {key} in summary>"
            node = node[part]
        return node
    where = item["where"]
    if section == "conservation":
        terms = result.conservation
        if where["manufacturer"] not in terms.index:
            return f"<no manufacturer {where['manufacturer']}>"
        return _plain(terms.loc[where["manufacturer"], key]) / 10
    if section == "compliance":
        rows = _select(result.compliance, where)
        if len(rows) != 1:
            return f"<{len(rows)} compliance rows match>"
        value = _plain(rows.iloc[0][key])
        return value / 10 if key in TENTHS["compliance"] else value
    rows = _select(result.ledger if section == "ledger" else result.balances, where)
    if key == "rows":
        return len(rows)
    return _plain(rows[key].sum()) / 10


def _same(pinned: Any, now: Any) -> bool:
    numbers = (int, float)
    if isinstance(pinned, numbers) and isinstance(now, numbers) and not isinstance(pinned, bool) \
            and not isinstance(now, bool):
        return round(pinned * 10) == round(now * 10)  # to the tenth
    return type(pinned) is type(now) and pinned == now


def _compare(expected: Path, disputed: bool) -> tuple[list[str], dict]:
    """Diff lines (pinned vs now) for the non-disputed (or only the disputed) leaves; the document
    with every non-disputed value set to the current run."""
    doc = _load(expected)
    lines = []
    for label, leaf, (variant, section, i, key) in _leaves(doc):
        if bool(leaf.get("disputed")) != disputed:
            continue
        pins = doc if variant is None else doc["variants"][variant]
        item = None if section == "summary" else pins[section][i]
        now = _now(expected, variant, section, item, key)
        if not _same(leaf["value"], now):
            lines.append(f"  {label}: pinned {leaf['value']!r}, now {now!r}")
            if not disputed and not (isinstance(now, str) and now.startswith("<")):  # never pin "<no row>"
                leaf["value"] = now
    return lines, doc


# ---------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("expected", _params())
def test_pinned_outputs(expected):
    lines, repinned = _compare(expected, disputed=False)
    name = expected.parent.name
    if REPIN:
        expected.write_text(json.dumps(repinned, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        changed = f"{len(lines)} value(s) changed:\n" + "\n".join(lines) if lines else "no value changed"
        pytest.fail(f"ACT_POOL_REPIN=1: re-pinned {expected.relative_to(REPO)}, {changed}\n"
                    "Review the change with `git diff scenarios/` and re-check every changed value against its "
                    "'worked' arithmetic by hand (fix the worked text where the rule really changed). "
                    "Run without ACT_POOL_REPIN to go green.", pytrace=False)
    if lines:
        pytest.fail(f"scenario '{name}' differs from scenarios/{name}/expected.json "
                    f"({len(lines)} value(s)):\n" + "\n".join(lines) +
                    "\nIf the change is intended: ACT_POOL_REPIN=1 pytest tests/test_regression.py, then review "
                    "the diff and the worked arithmetic (scenarios/README-regression.md).", pytrace=False)


_DISPUTED = _params(disputed_only=True)


@pytest.mark.skipif(not _DISPUTED, reason="no disputed values pinned")
@pytest.mark.parametrize("expected", _DISPUTED or [None])
def test_disputed_outputs(expected):
    """Hand derivations the engine does not reproduce (strict xfail: passes only while they differ)."""
    lines, _ = _compare(expected, disputed=True)
    assert not lines, "engine differs from the hand derivation:\n" + "\n".join(lines)


@pytest.mark.parametrize("expected", _params())
def test_every_pin_is_worked(expected):
    doc = _load(expected)
    bare = [label for label, leaf, _ in _leaves(doc) if not str(leaf.get("worked", "")).strip() or "value" not in leaf]
    assert not bare, "pinned values without their worked arithmetic:\n" + "\n".join(bare)
    scenario = act_pool.load_scenario(expected.parent / doc.get("scenario", "scenario.toml"))
    assert scenario.description.strip(), "scenario.toml needs a description of what it tests"


@pytest.mark.parametrize("expected", _params())
def test_conservation(expected):
    doc = _load(expected)
    for label, variant, _ in _runs(doc):
        t = _run(expected, variant).conservation
        lhs = t["opening"] + t["generated"] + t["traded_in"]
        rhs = t["retired"] + t["expired"] + t["traded_out"] + t["closing"]
        assert (lhs == rhs).all(), f"{label or 'scenario'}: credits not conserved\n{t[lhs != rhs]}"
        c = _run(expected, variant).compliance
        assert ((c["met"] + c["unmet"]) == c["deficits"]).all()


def _cli() -> list[str]:
    beside = Path(sys.executable).parent / "act-pool"
    found = str(beside) if beside.exists() else shutil.which("act-pool")
    assert found, "the act-pool command is not installed"
    return [found]


@pytest.fixture(scope="module")
def cli_outputs(request, tmp_path_factory) -> dict:
    """Every selected scenario run twice through the CLI, into two folders; the runs overlap (a
    handful at a time) because each process spends most of its time importing."""
    wanted = sorted({item.callspec.params["expected"] for item in request.session.items
                     if getattr(item, "originalname", "") == "test_cli_runs_are_byte_identical"})
    root = tmp_path_factory.mktemp("cli")
    jobs = [(expected, root / expected.parent.name / copy) for expected in wanted for copy in ("a", "b")]

    def run(job):
        expected, out = job
        scenario = expected.parent / _load(expected).get("scenario", "scenario.toml")
        proc = subprocess.run(_cli() + ["run", str(scenario), "--out", str(out), "--quiet", "--tables-only"],
                              capture_output=True, text=True, timeout=300)
        return expected, out, proc

    outputs: dict = {}
    with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
        for expected, out, proc in pool.map(run, jobs):
            outputs.setdefault(expected, []).append((out, proc))
    return outputs


@pytest.mark.parametrize("expected", _params())
def test_cli_runs_are_byte_identical(expected, cli_outputs):
    runs = cli_outputs[expected]
    assert all(proc.returncode == 0 for _, proc in runs), [proc.stderr for _, proc in runs]
    outs = [out for out, _ in runs]
    names = [sorted(p.name for p in out.iterdir()) for out in outs]
    assert names[0] == names[1] and set(RESULT_FILES) <= set(names[0]), names
    differ = [n for n in names[0] if (outs[0] / n).read_bytes() != (outs[1] / n).read_bytes()]
    assert not differ, f"two CLI runs of {expected.parent.name} wrote different bytes: {differ}"
