"""The sweep's result files: runs.csv, detail.parquet, summary.json, figures/*.png and sweep.html.

The data files hold no timestamps and are sorted by run id, so the same sweep writes the same bytes
whatever the number of workers; only ``timing`` in summary.json varies from run to run.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from act_pool.sweep.figures import FIGURES
from act_pool.sweep.folder import replace_folder
from act_pool.sweep.results import TOTALS

if TYPE_CHECKING:
    from act_pool.sweep.results import SweepResult

CAPTIONS = {
    "shortfall_probability": "Share of runs in which some manufacturer is short (unmet after the make-up "
                             "period), by state and model year.",
    "unmet_by_parameter": "Total unmet deficits against each varied parameter: median and bands over the runs at "
                          "each value (Monte Carlo samples and the other parameters' values).",
    "tornado": "Each parameter's effect on total unmet: the range of the mean over the runs at each of its values.",
    "robustness": "Manufacturer x state x model year rows with deficits: short in every run, in some, in none.",
}


def write_sweep(result: "SweepResult", out_dir: Path) -> Path:
    """Write the sweep's files into ``out_dir`` all at once (built beside it, then swapped in;
    see :func:`act_pool.sweep.folder.replace_folder`)."""
    return replace_folder(Path(out_dir), lambda folder: write_into(result, folder))


def write_into(result: "SweepResult", folder: Path) -> None:
    """Every sweep file into an existing, empty folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    runs_csv(result.runs).to_csv(folder / "runs.csv", index=False, lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(result.detail, preserve_index=False), folder / "detail.parquet")
    with open(folder / "summary.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(result.summary(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    paths = result.plot.save(folder / "figures")
    (folder / "sweep.html").write_text(render_html(result, {p.stem: p for p in paths}), encoding="utf-8")


def runs_csv(runs: pd.DataFrame) -> pd.DataFrame:
    """runs as written: credits with one decimal; a value that a spreadsheet would read as a formula
    (starting with =, +, - or @ and not a number) prefixed with an apostrophe."""
    out = runs.copy()
    for column in TOTALS:
        out[column] = out[column].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_not_a_formula)
    return out


def _not_a_formula(text: str) -> str:
    if text[:1] in ("=", "+", "-", "@"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in rec) + "</tr>"
                   for rec in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_html(result: "SweepResult", figures: dict[str, Path]) -> str:
    """A self-contained page: the sweep, its figures (base64 PNG) and the rows short in every or some runs."""
    spec = result.spec.describe()
    counts = result.summary()["counts"]
    robust = result.robustness()
    every = robust[robust["short_in"] == "every"].drop(columns=["short_in"])
    some = (robust[robust["short_in"] == "some"].drop(columns=["short_in"])
            .sort_values(["share_short", "manufacturer", "state", "model_year"], ascending=[False, True, True, True]))
    some = some.assign(share_short=some["share_short"].map(lambda s: f"{s:.0%}"))
    vary = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(', '.join(map(str, v)))}</li>"
                   for k, v in spec["vary"].items()) or "<li>nothing varied</li>"
    mc = spec["monte_carlo"]
    noise = (f"{mc['samples']} Monte Carlo samples of ZEV and NZEV sales (lognormal, sigma {mc['zev_sales_sigma']}, "
             f"correlation {mc['correlation']}, seed {mc['seed']})" if mc else "no Monte Carlo (the scenario's sales)")
    figs = "".join(
        f"<figure><img alt=\"{html.escape(name)}\" src=\"data:image/png;base64,"
        f"{base64.b64encode(figures[name].read_bytes()).decode('ascii')}\"><figcaption>{html.escape(CAPTIONS[name])}"
        "</figcaption></figure>" for name in FIGURES if name in figures)
    effects = result.effects()
    effects = effects.assign(**{c: effects[c].map(lambda v: f"{v:,.1f}") for c in ("low_unmet", "high_unmet", "span")})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>act-pool sweep: {html.escape(spec['scenario'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;font-size:.85em}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}
th{{background:#f3f3f3}}img{{max-width:100%}}figure{{margin:1.5em 0}}figcaption{{font-size:.9em;color:#555}}</style>
</head><body>
<h1>Sweep: {html.escape(spec['scenario'])}</h1>
<p>{counts['runs']} runs: {counts['grid_points']} grid points x {counts['samples']} sample(s); {html.escape(noise)}.
Runs whose inputs were infeasible (see the <code>error</code> column of runs.csv): {counts['runs_failed']}.
Runs with unmet deficits: {counts['runs_with_unmet']}; with a shortfall after the make-up period:
{counts['runs_with_short']}. Amounts in credits.</p>
<h2>Varied</h2><ul>{vary}</ul>
<h2>Figures</h2>{figs}
<h2>Effect of each parameter on total unmet</h2>{_table(effects)}
<h2>Short in every run ({len(every)} rows)</h2>{_table(every)}
<h2>Short in some runs ({len(some)} rows)</h2>{_table(some)}
</body></html>
"""
