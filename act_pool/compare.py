"""The same sales under several rule sets (and pooling on/off): what each amendment buys."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from act_pool.report.outdir import publish_results
from act_pool.run import run
from act_pool.scenario import Scenario

DEFAULT_RULES = ("act-2021", "act-2025")


def variants(scenario: Scenario, rule_ids: list[str] | None = None) -> list[tuple[str, Scenario]]:
    """(label, scenario) for each rule set, with its default retirement mode and pooling, plus the
    same rule set without pooling where it allows pooling."""
    out = []
    for rid in rule_ids or DEFAULT_RULES:
        sc = scenario.with_rules(rid, pooling=None, retirement=None)
        out.append((rid, sc))
        if sc.pooling:
            out.append((f"{rid} no pooling", scenario.with_rules(rid, pooling=False, retirement=None)))
    return out


def compare(scenario: Scenario, rule_ids: list[str] | None = None) -> pd.DataFrame:
    """Per state and model year: unmet deficits, expired credits and end-of-year bank under each
    variant (credits), and the differences from the first variant (``avoided`` unmet deficits,
    ``saved`` credits from expiry)."""
    frames = []
    labels = []
    for label, sc in variants(scenario, rule_ids):
        res = run(sc)
        labels.append(label)
        comp = res.compliance.groupby(["state", "model_year"])["unmet"].sum().rename(f"unmet [{label}]")
        exp = res.ledger[res.ledger["action"] == "expire"].groupby(["state", "model_year"])["credits"].sum() \
            .rename(f"expired [{label}]")
        bank = res.balances.groupby(["state", "model_year"])["credits"].sum().rename(f"bank [{label}]")
        frames.append(pd.concat([comp, exp, bank], axis=1))
    table = pd.concat(frames, axis=1).fillna(0).astype("int64")
    base = labels[0]
    for label in labels[1:]:
        table[f"avoided [{label}]"] = table[f"unmet [{base}]"] - table[f"unmet [{label}]"]
        table[f"saved [{label}]"] = table[f"expired [{base}]"] - table[f"expired [{label}]"]
    table = table.sort_index().reset_index()
    amounts = [c for c in table.columns if c not in ("state", "model_year")]
    table[amounts] = table[amounts] / 10
    return table


def write_compare(table: pd.DataFrame, out_dir: str | Path, scenario_path: str | Path | None = None,
                  force: bool = False) -> Path:
    """Write compare.csv into the result folder ``out_dir`` and return the file's path.

    The folder follows the result-folder rules of :func:`act_pool.report.outdir.publish_results`
    (atomic replacement of act-pool's own files, files it did not write kept, ``force`` for an
    existing non-empty folder act-pool did not write; ``scenario_path``'s folder is refused).
    """
    text = table.to_csv(index=False, lineterminator="\n", float_format="%.1f")

    def fill(folder: Path) -> None:
        (folder / "compare.csv").write_text(text, encoding="utf-8", newline="\n")

    return publish_results(out_dir, fill, scenario_path=scenario_path, force=force) / "compare.csv"
