"""What a sweep keeps of each run (totals and per-row unmet and met), and the assembled result.

A run's amounts stay integer tenths until the tables are assembled; the assembled tables give
credits (floats that are exact to the tenth when printed with one decimal).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from act_pool.sweep.spec import json_value

if TYPE_CHECKING:
    from act_pool.run import Result
    from act_pool.sweep.spec import SweepSpec

#: The totals of each run, in runs.csv after ``run``, the varied names and ``sample``.
TOTALS = ("deficits", "met", "unmet", "short", "open", "expired", "pooled", "tractor_offset", "closing_bank",
          "trades_short")
#: Vehicle counts of each run (not credits).
COUNTS = ("vehicles", "zev_vehicles")
DETAIL_KEY = ["manufacturer", "state", "model_year"]
DETAIL_AMOUNTS = ["deficits", "met", "unmet", "short"]


def run_totals(result: "Result") -> dict[str, int]:
    """A run's totals in integer tenths (credits x 10), and its vehicle counts.

    ``short`` is what stays unmet after the make-up period (13 CCR §1963.3), ``open`` what is
    unmet but still within it at the horizon; ``pooled`` and ``tractor_offset`` are credits
    retired across states and from other groups against tractor deficits; ``trades_short`` is what
    declared trades sold beyond their sellers' holdings (non-zero only in Monte Carlo samples).
    """
    comp, led = result.compliance, result.ledger
    retired = led[led["action"] == "retire"]
    sales = result.scenario.sales
    return {
        "deficits": int(comp["deficits"].sum()),
        "met": int(comp["met"].sum()),
        "unmet": int(comp["unmet"].sum()),
        "short": int(comp.loc[comp["status"] == "short", "unmet"].sum()),
        "open": int(comp.loc[comp["status"] == "open", "unmet"].sum()),
        "expired": int(led.loc[led["action"] == "expire", "credits"].sum()),
        "pooled": int(retired.loc[retired["pooled"], "credits"].sum()),
        "tractor_offset": int(retired.loc[retired["tractor_offset"], "credits"].sum()),
        "closing_bank": int(result.conservation["closing"].sum()),
        "trades_short": int(result.scenario.trades["credits_tenths"].sum()) - int(
            led.loc[led["action"] == "transfer", "credits"].sum()),
        "vehicles": int(sales["vehicles"].sum()),
        "zev_vehicles": int(sales.loc[sales["powertrain"] != "ICE", "vehicles"].sum()),
    }


def run_detail(result: "Result") -> pd.DataFrame:
    """Deficits, met, unmet and short (integer tenths) per manufacturer x state x model year with
    deficits, summed over the groups."""
    comp = result.compliance
    rows = comp.assign(short=comp["unmet"].where(comp["status"] == "short", 0))
    detail = rows.groupby(DETAIL_KEY, sort=True)[DETAIL_AMOUNTS].sum().reset_index()
    detail = detail[detail["deficits"] > 0].reset_index(drop=True)
    return detail.astype({c: "int64" for c in DETAIL_AMOUNTS + ["model_year"]})


def empty_detail() -> pd.DataFrame:
    """The detail of a failed run: no rows."""
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("manufacturer", "state") else "int64")
                         for c in DETAIL_KEY + DETAIL_AMOUNTS})


def value_text(value: Any) -> str:
    """A varied value as it is written in a TOML sweep file (``true``, ``0.25``, ``act-2021``; a list or
    a model-year schedule as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(json_value(value), sort_keys=True)
    return str(value)


def assemble(spec: "SweepSpec", finished: dict[int, tuple[dict[str, int], pd.DataFrame]]) -> tuple[pd.DataFrame,
                                                                                                   pd.DataFrame]:
    """runs and detail tables (credits) from every run's totals and detail, sorted by run id, so
    they are the same whatever the order in which runs finished."""
    runs, details = [], []
    for run in sorted(finished):
        totals, detail = finished[run]
        point, sample = spec.run_key(run)
        failed = "error" in totals
        runs.append({"run": run, **{name: value_text(point[name]) for name in spec.vary}, "sample": sample,
                     **{k: None if failed else totals[k] / 10 for k in TOTALS},
                     **{k: None if failed else totals[k] for k in COUNTS}, "error": totals.get("error", "")})
        if not failed:
            details.append(detail.assign(run=run))
    runs_frame = pd.DataFrame(runs, columns=["run", *spec.vary, "sample", *TOTALS, *COUNTS, "error"])
    runs_frame = runs_frame.astype({**{k: "float64" for k in TOTALS}, **{k: "Int64" for k in COUNTS}})
    detail_frame = (pd.concat(details, ignore_index=True) if details
                    else pd.DataFrame(columns=["run", *DETAIL_KEY, *DETAIL_AMOUNTS]))
    detail_frame = detail_frame[["run", *DETAIL_KEY, *DETAIL_AMOUNTS]]
    for c in DETAIL_AMOUNTS:
        detail_frame[c] = detail_frame[c].astype("int64") / 10
    return runs_frame.astype({"run": "int64", "sample": "int64"}), detail_frame.astype({"run": "int64"})


@dataclass
class SweepResult:
    """The outcome of a sweep.

    Attributes
    ----------
    spec : SweepSpec
    runs : DataFrame
        One row per run: ``run``, one column per varied name (its value as written), ``sample``,
        the totals in credits (``deficits``, ``met``, ``unmet``, ``short``, ``open``, ``expired``,
        ``pooled``, ``tractor_offset``, ``closing_bank``) and the vehicles sold (``vehicles``,
        ``zev_vehicles``: ZEVs and NZEVs), and ``error``: empty, or why the run's inputs were
        infeasible (its totals are then missing and it has no detail rows).
    detail : DataFrame
        One row per run x manufacturer x state x model year with deficits: ``deficits``, ``met``,
        ``unmet`` and ``short`` (unmet after the make-up period), in credits.
    elapsed_s : float
        Wall time of the sweep.
    computed : int
        Runs computed in this call (the rest came from a checkpoint).
    """

    spec: "SweepSpec"
    runs: pd.DataFrame
    detail: pd.DataFrame
    elapsed_s: float = 0.0
    computed: int = 0
    workers: int = field(default=0)

    @property
    def ok_runs(self) -> pd.DataFrame:
        """The runs that completed (``error`` empty)."""
        return self.runs[self.runs["error"] == ""]

    @property
    def plot(self):
        """Figures of this sweep: ``shortfall_probability()``, ``unmet_by_parameter()``, ``tornado()``,
        ``robustness()`` (see :mod:`act_pool.sweep.figures`)."""
        from act_pool.sweep.figures import SweepPlots

        return SweepPlots(self)

    def shortfall_probability(self) -> pd.DataFrame:
        """Share of runs in which some manufacturer is short, by state (rows) x model year (columns)."""
        short = self.detail[self.detail["short"] > 0]
        hit = short.groupby(["state", "model_year"])["run"].nunique()
        states = sorted(self.detail["state"].unique())
        years = sorted(self.detail["model_year"].unique())
        table = hit.unstack("model_year").reindex(index=states, columns=years).fillna(0)
        return table / len(self.ok_runs)

    def robustness(self) -> pd.DataFrame:
        """Each manufacturer x state x model year row: in how many runs it is short, and whether
        that is ``every``, ``some`` or ``none`` of the runs (that completed)."""
        n = len(self.ok_runs)
        counts = (self.detail.assign(is_short=self.detail["short"] > 0)
                  .groupby(DETAIL_KEY, sort=True)["is_short"].sum().astype("int64").rename("runs_short").reset_index())
        counts["share_short"] = counts["runs_short"] / n
        counts["short_in"] = "some"
        counts.loc[counts["runs_short"] == n, "short_in"] = "every"
        counts.loc[counts["runs_short"] == 0, "short_in"] = "none"
        return counts

    def effects(self) -> pd.DataFrame:
        """For each varied name: the mean total unmet (credits) at its lowest- and highest-unmet values,
        and the span between them (the tornado's bars), largest span first."""
        rows = []
        for name in self.spec.vary:
            means = self.ok_runs.groupby(name, sort=False)["unmet"].mean()
            if means.empty:
                continue
            rows.append({"name": name, "low_value": means.idxmin(), "low_unmet": means.min(),
                         "high_value": means.idxmax(), "high_unmet": means.max(),
                         "span": means.max() - means.min()})
        table = pd.DataFrame(rows, columns=["name", "low_value", "low_unmet", "high_value", "high_unmet", "span"])
        return table.sort_values(["span", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        """summary.json: the spec, counts and (in ``timing``, which varies run to run) elapsed time."""
        from act_pool import __version__

        runs = self.ok_runs
        return {
            "kind": "act-pool sweep",
            "act_pool_version": __version__,
            "spec": self.spec.describe(),
            "units": "credits (exact to the tenth)",
            "counts": {"runs": len(self.runs), "runs_failed": len(self.runs) - len(runs),
                       "grid_points": len(self.spec.points()), "samples": self.spec.samples,
                       "runs_with_unmet": int((runs["unmet"] > 0).sum()),
                       "runs_with_short": int((runs["short"] > 0).sum()),
                       "rows_short_in_every_run": int((self.robustness()["short_in"] == "every").sum()),
                       "rows_short_in_some_runs": int((self.robustness()["short_in"] == "some").sum())},
            "timing": {"elapsed_s": round(self.elapsed_s, 3), "runs_computed": self.computed,
                       "runs_from_checkpoint": len(self.runs) - self.computed, "workers": self.workers},
        }
