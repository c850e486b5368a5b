"""The result as one self-contained HTML page, ``report.html``, for planners.

Sections: the summary (scenario, rules, retirement mode, pooling, totals), the assumptions in
force, compliance by manufacturer and state, why each shortfall happened, and the figures.

Self-contained: the style sheet is inline, the figures are inline SVG (or base64 PNG), there is
no script, no web font and nothing fetched; a Content-Security-Policy in the page forbids any
fetch, so a browser would refuse one even if it crept in. Every text that comes from a scenario
or a rule set (names, manufacturers, descriptions, sources) is HTML-escaped. The page is
deterministic: the same result gives the same bytes (no time stamp; SVG ids made unique per
figure by a fixed prefix).

Reports are views: amounts are summed from the result's tables for display, never calculated.
"""
from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import pandas as pd

from act_pool.tenths import format_tenths
from act_pool.report.atomic import write_atomic

if TYPE_CHECKING:
    from act_pool.run import Result

FIGURE_CAPTIONS = {
    "bank_by_state": ("Credit bank by state",
                      "Credits held (unretired, unexpired) at the end of each model year, by the state that "
                      "generated them, summed over manufacturers."),
    "deficits_vs_credits": ("Deficits against credits",
                            "For each group and model year: deficits met and unmet (left bar) against ZEV and "
                            "NZEV credits generated (right bar)."),
    "pooled_flows": ("Pooling between states",
                     "Credits retired in one state to meet deficits of another: arrows from the state that "
                     "generated the credits to the state whose deficits they met."),
    "expiring_credits": ("Expired and at-risk credits",
                         "Credits that expired unused, by vintage; and credits left in the bank at the end of "
                         "the horizon whose life ends within two model years."),
}

REASON_NOTES = {
    "NZEV cap": "NZEV credits were left, but the 50 % cap on NZEV credits for the model year was used up "
                "(13 CCR §1963.3(d)).",
    "make-up is ZEV only": "NZEV credits were left, but carried deficits may be made up with ZEV credits only "
                           "(§1963.3(b)).",
    "tractor offset used up": "Class 2b-3 or 4-8 ZEV credits were left, but the portion of tractor deficits they "
                              "may offset was used up.",
    "tractor group limit": "Non-tractor credits were left that tractor deficits may not use (the low-volume "
                           "flexibility was unavailable or used up, §1963.3(c)(3)).",
    "state not in the pool": "Other states held the manufacturer's credits, but pooling was off, not allowed, "
                             "or not open to this state and model year.",
    "credits expired": "The manufacturer's credits in this state expired before the make-up period ended "
                       "(§1963.2(g)).",
    "make-up window closed": "Credits came, but only after the make-up period had ended.",
    "no credits held": "The manufacturer held no credits it could use for this deficit.",
}

STATUS_NOTES = {
    "short": "unmet after the make-up period",
    "open": "unmet, but the make-up period runs past the last model year simulated",
}

CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d9dee5; --band:#f5f7fa; --accent:#2b5d95;
        --bad:#b03a2e; --badbg:#fbeaea; --warn:#8a5a00; --warnbg:#fff4d6; --ok:#23703f; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 8px; }
header.top .kicker { color: var(--muted); text-transform: uppercase; letter-spacing: .06em; font-size: 12px; margin: 0; }
h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { margin: 6px 0 10px; }
.lede { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
nav.toc { font-size: 13px; margin: 10px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; margin: 14px 0; }
@media (max-width: 700px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--band); }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .unit { color: var(--muted); font-size: 12px; }
.card.bad { background: var(--badbg); border-color: #e7b9b4; }
.card.bad .value { color: var(--bad); }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; align-items: start; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 12px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--band); border-bottom: 2px solid #b9c2cd; font-weight: 600; position: sticky; top: 0; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 34%; color: var(--muted); font-weight: 500; background: none; }
table.kv td { overflow-wrap: anywhere; }
td.src { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.note { display: block; color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.verified, .badge.compliant { background: #e3f3e8; color: var(--ok); }
.badge.secondary, .badge.open { background: var(--warnbg); color: var(--warn); }
.badge.assumed, .badge.short { background: var(--badbg); color: var(--bad); }
table.pivot { font-size: 12px; }
table.pivot td, table.pivot th { text-align: right; white-space: nowrap; padding: 3px 5px; }
table.pivot th.row, table.pivot td.row { text-align: left; white-space: normal; overflow-wrap: break-word; min-width: 7em; }
table.pivot td .unmet { font-weight: 600; font-variant-numeric: tabular-nums; }
table.pivot td .sub { display: block; color: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
table.pivot td.hasunmet { background: var(--badbg) !important; }
table.pivot td.hasunmet .unmet { color: var(--bad); }
table.pivot td.none { color: #aab2bd; }
table.pivot tr.total td { border-top: 2px solid #b9c2cd; font-weight: 600; }
table.pivot td.total, table.pivot th.total { border-left: 2px solid #b9c2cd; }
.legend { color: var(--muted); font-size: 12.5px; }
figure { margin: 18px 0 28px; }
figure .svg, figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figure .svg svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
figcaption b { color: var(--ink); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@media print { main { max-width: none; } thead th { position: static; } figure { break-inside: avoid; } }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


# --------------------------------------------------------------------------------------------- formatting

def esc(value: Any) -> str:
    """Text for HTML: every character that could open markup escaped (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_tenths(tenths: int) -> str:
    """Integer tenths as credits with thousands separators, exact: 1234567 -> '123,456.7'."""
    text = format_tenths(int(tenths))
    sign = "-" if text.startswith("-") else ""
    whole, frac = text.lstrip("-").split(".")
    return f"{sign}{int(whole):,}.{frac}"


def fmt_credits(value: float | int | None) -> str:
    """A credit amount from the summary (a float exact to the tenth) with thousands separators."""
    if value is None:
        return "-"
    return fmt_tenths(round(float(value) * 10))


def _share(part: int, whole: int) -> str:
    """``part / whole`` as a percentage rounded down to a tenth (so 100 % only when all is met)."""
    if whole <= 0:
        return "-"
    return f"{(1000 * part // whole) / 10:.1f} %"


def _value_text(rec: dict) -> str:
    """A parameter's value (or schedule by model year) as text."""
    if "by_year" in rec:
        return "; ".join(f"from MY{y}: {_scalar_text(v)}" for y, v in rec["by_year"].items())
    return _scalar_text(rec.get("value"))


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) if v else "(none)"
    return str(v)


def _table(head: Iterable[tuple[str, str]], rows: Iterable[str], cls: str = "") -> str:
    """A table: ``head`` as (label, css class) pairs; ``rows`` as ready ``<tr>`` markup."""
    th = "".join(f'<th class="{c}" scope="col">{esc(h)}</th>' if c else f'<th scope="col">{esc(h)}</th>'
                 for h, c in head)
    body = "\n".join(rows)
    cls_attr = f' class="{cls}"' if cls else ""
    return f'<div class="scroll"><table{cls_attr}>\n<thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'


# --------------------------------------------------------------------------------------------- sections

def _summary_section(result: "Result", s: dict) -> str:
    sc = result.scenario
    t = s["totals"]
    retirement = s["retirement"] if isinstance(s["retirement"], str) else "explicit order: " + ", ".join(s["retirement"])
    settings = [
        ("Scenario", esc(s["scenario"])),
        ("Rule set", f"<b>{esc(s['rules'])}</b> <span class=\"note\">{esc(sc.rules.title)}</span>"),
        ("Retirement mode", esc(retirement)),
        ("Pooling between states", "on" if s["pooling"] else "off"),
        ("Model years", f"{esc(s['model_years'][0])}-{esc(s['model_years'][1])}"),
        ("States", esc(", ".join(s["states"]))),
        ("Manufacturers", f"{len(s['manufacturers'])}: {esc(', '.join(s['manufacturers']))}"),
        ("Rule parameters overridden", esc(", ".join(s["overrides"])) if s["overrides"] else "none"),
    ]
    if sc.purchase_price is not None:
        settings.append(("Credit purchase price", f"{esc(sc.purchase_price)} USD per credit"))
    kv = "\n".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in settings)
    cards = [
        ("Deficits", t["deficits"], "credits", False),
        ("Met", t["met"], "credits", False),
        ("Unmet, short", t["unmet_short"], f"credits · {t['rows_short']} rows", t["unmet_short"] > 0),
        ("Unmet, open", t["unmet_open"], f"credits · {t['rows_open']} rows", t["unmet_open"] > 0),
        ("Credits generated", t["zev_credits_generated"] + t["nzev_credits_generated"], "credits (ZEV + NZEV)", False),
        ("Pooled", t["retired_pooled"], "credits retired in another state", False),
        ("Expired", t["expired"], "credits", t["expired"] > 0),
        ("Bank at the end", t["closing_bank"], f"credits, end of MY{s['model_years'][1]}", False),
    ]
    card_html = "\n".join(
        f'<div class="card{" bad" if bad else ""}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{fmt_credits(value)}</div><div class="unit">{esc(unit)}</div></div>'
        for label, value, unit, bad in cards)
    labels = {
        "vehicles": ("Vehicles sold", "vehicles"), "deficits": ("Deficits", "credits"),
        "zev_credits_generated": ("ZEV credits generated", "credits"),
        "nzev_credits_generated": ("NZEV credits generated", "credits"),
        "opening_bank": ("Opening bank", "credits"), "retired": ("Credits retired", "credits"),
        "retired_pooled": ("of which pooled from another state", "credits"),
        "retired_tractor_offset": ("of which tractor offset", "credits"),
        "expired": ("Credits expired", "credits"), "met": ("Deficits met", "credits"),
        "unmet": ("Deficits unmet", "credits"), "unmet_short": ("of which short", "credits"),
        "unmet_open": ("of which open", "credits"), "closing_bank": ("Bank at the end", "credits"),
        "purchased": ("Credits purchased", "credits"), "purchase_cost_usd": ("Purchase cost", "USD"),
        "traded": ("Credits traded between manufacturers", "credits"),
        "rows_short": ("Rows short", "rows"), "rows_open": ("Rows open", "rows"),
    }
    total_rows = []
    for key, value in t.items():
        label, unit = labels.get(key, (key.replace("_", " "), "credits"))
        if unit == "credits":
            text = fmt_credits(value)
        elif value is None:
            text = "-"
        elif unit == "USD":
            text = f"{float(value):,.2f}"
        else:
            text = f"{int(value):,}"
        total_rows.append(f'<tr><td>{esc(label)}</td><td class="num">{text}</td><td>{esc(unit)}</td></tr>')
    by_state = [f'<tr><td>{esc(state)}</td><td class="num">{fmt_credits(v["deficits"])}</td>'
                f'<td class="num">{fmt_credits(v["met"])}</td><td class="num">{fmt_credits(v["unmet"])}</td>'
                f'<td class="num">{fmt_credits(v["unmet_short"])}</td></tr>' for state, v in s["by_state"].items()]
    return f"""<section id="summary">
<h2>Summary</h2>
<div class="cards">
{card_html}
</div>
<div class="grid2">
<div>
<h3>Settings</h3>
<table class="kv"><tbody>
{kv}
</tbody></table>
<h3>By state</h3>
{_table([("State", ""), ("Deficits", "num"), ("Met", "num"), ("Unmet", "num"), ("of which short", "num")],
        by_state)}
</div>
<div>
<h3>Totals</h3>
{_table([("Total", ""), ("Amount", "num"), ("Unit", "")], total_rows)}
</div>
</div>
</section>"""


def _assumptions_section(s: dict) -> str:
    assumptions = s["assumptions"]
    rows = []
    for name, rec in assumptions.items():
        note = f'<span class="note">{esc(rec["note"])}</span>' if rec.get("note") else ""
        conf = esc(rec.get("confidence", ""))
        rows.append(f'<tr><td><code>{esc(name)}</code></td><td>{esc(_value_text(rec))}'
                    f'<span class="note">{esc(rec.get("unit", ""))}</span></td>'
                    f'<td><span class="badge {conf}">{conf}</span></td>'
                    f'<td class="src">{esc(rec.get("source", ""))}{note}</td></tr>')
    body = (_table([("Parameter", ""), ("Value", ""), ("Confidence", ""), ("Source", "")], rows)
            if rows else '<p class="empty">Every parameter used is verified: no assumption is in force.</p>')
    overrides = (f"<p>Overridden by the scenario: {esc(', '.join(s['overrides']))}.</p>" if s["overrides"] else "")
    return f"""<section id="assumptions">
<h2>Assumptions in force</h2>
<p>Every rule parameter this run used whose value is not verified against the regulation's text:
<span class="badge secondary">secondary</span> (from a secondary source) or
<span class="badge assumed">assumed</span> (an explicit assumption a scenario can override under
<code>[overrides]</code>). {len(rows)} in all.</p>
{overrides}
{body}
</section>"""


def _compliance_section(result: "Result") -> str:
    comp = result.compliance
    states = list(result.scenario.states)
    states += sorted(set(comp["state"]) - set(states))
    comp = comp.assign(short=comp["unmet"].where(comp["status"] == "short", 0))
    cols = ["deficits", "met", "unmet", "short"]
    cell = comp.groupby(["manufacturer", "state"])[cols].sum()
    by_mfr = comp.groupby("manufacturer")[cols].sum()
    by_state = comp.groupby("state")[cols].sum()
    total = comp[cols].sum()

    def td(v: pd.Series | None, extra: str = "") -> str:
        if v is None or (int(v["deficits"]) == 0 and int(v["met"]) == 0):
            return f'<td class="none{extra}">-</td>'
        unmet, short, met, deficits = int(v["unmet"]), int(v["short"]), int(v["met"]), int(v["deficits"])
        cls = ("hasunmet" if unmet else "") + extra
        short_line = f'<span class="sub">short {fmt_tenths(short)}</span>' if short else ""
        tip = f"met {fmt_tenths(met)} of {fmt_tenths(deficits)} credits of deficits"
        return (f'<td class="{cls.strip()}" title="{tip}"><span class="unmet">{fmt_tenths(unmet)}</span>{short_line}'
                f'<span class="sub">met {_share(met, deficits)}</span></td>')

    head = [("Manufacturer", "row")] + [(s_, "") for s_ in states] + [("All states", "total")]
    rows = []
    for mfr in sorted(set(comp["manufacturer"])):
        cells = "".join(td(cell.loc[(mfr, st)] if (mfr, st) in cell.index else None) for st in states)
        rows.append(f'<tr><td class="row">{esc(mfr)}</td>{cells}{td(by_mfr.loc[mfr], " total")}</tr>')
    cells = "".join(td(by_state.loc[st] if st in by_state.index else None) for st in states)
    rows.append(f'<tr class="total"><td class="row">All manufacturers</td>{cells}{td(total, " total")}</tr>')
    return f"""<section id="compliance">
<h2>Compliance by manufacturer and state</h2>
<p class="legend">Each cell, summed over every model year and group simulated: <b>deficits unmet</b> in
credits (tinted where any), of which <b>short</b> (unmet after the make-up period), and the share of the
deficits <b>met</b> (met / deficits; hover a cell for both amounts). "-": no deficits.</p>
{_table(head, rows, "pivot")}
</section>"""


def _shortfall_section(result: "Result", s: dict) -> str:
    comp = result.compliance
    rows_df = comp[comp["unmet"] > 0].sort_values(["manufacturer", "state", "model_year", "group"], kind="stable")
    why = s["unmet_by_reason"]
    if rows_df.empty:
        return """<section id="shortfalls">
<h2>Why each shortfall happened</h2>
<p class="empty">No shortfall: every deficit was met.</p>
</section>"""
    reason_rows = [f'<tr><td>{esc(reason)}</td><td class="num">{fmt_credits(value)}</td>'
                   f'<td class="src">{esc(REASON_NOTES.get(reason, ""))}</td></tr>' for reason, value in why.items()]
    rows = []
    for r in rows_df.itertuples(index=False):
        status = esc(r.status)
        rows.append(f'<tr><td>{esc(r.manufacturer)}</td><td>{esc(r.state)}</td><td class="num">{esc(r.model_year)}</td>'
                    f'<td>{esc(r.group)}</td><td class="num">{fmt_tenths(r.deficits)}</td>'
                    f'<td class="num">{fmt_tenths(r.unmet)}</td>'
                    f'<td><span class="badge {status}" title="{esc(STATUS_NOTES.get(r.status, ""))}">{status}</span>'
                    f'</td><td>{"yes" if r.enforced else "no"}</td><td>{esc(r.reason)}</td></tr>')
    return f"""<section id="shortfalls">
<h2>Why each shortfall happened</h2>
<p>For each deficit left unmet, the first rule found binding (see <code>act_pool.diagnose</code>).
<span class="badge short">short</span>: {esc(STATUS_NOTES["short"])};
<span class="badge open">open</span>: {esc(STATUS_NOTES["open"])}. "Enforced: no" marks model years a state
has paused or does not yet enforce (the accounting is the same).</p>
<h3>Unmet deficits by reason</h3>
{_table([("Reason", ""), ("Unmet (credits)", "num"), ("What it means", "")], reason_rows)}
<h3>Every row with deficits unmet ({len(rows)})</h3>
{_table([("Manufacturer", ""), ("State", ""), ("Model year", "num"), ("Group", ""), ("Deficits", "num"),
         ("Unmet", "num"), ("Status", ""), ("Enforced", ""), ("Reason", "")], rows)}
</section>"""


# --------------------------------------------------------------------------------------------- figures

_SVG_PROLOGUE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<metadata>.*?</metadata>", re.S)
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(href="#|url\(#)([^")]+)')


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG file's text made fit to sit inside an HTML page: no XML prologue, doctype, comments or
    metadata; every id (and every reference to one) prefixed so several figures can share a page;
    no fixed size (CSS scales it to the page)."""
    svg = _SVG_PROLOGUE.sub("", svg).strip()
    svg = _SVG_ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _SVG_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    svg = re.sub(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", svg, count=1)
    return svg


def render_figures(result: "Result") -> dict[str, str]:
    """Every figure of :mod:`act_pool.report.figures` drawn in memory as SVG text."""
    import matplotlib as mpl

    from act_pool.report.figures import DPI, FIGURES, SAVE_RC, freeze_layout

    out = {}
    for name, draw in FIGURES.items():
        buf = io.StringIO()
        fig = freeze_layout(draw(result))
        with mpl.rc_context(SAVE_RC):
            fig.savefig(buf, format="svg", dpi=DPI, metadata={"Date": None})
        out[name] = buf.getvalue()
    return out


def figure_files(paths: Iterable[str | Path]) -> dict[str, Path]:
    """The ``figures`` argument of :func:`write_html` from the files :func:`save_figures` wrote:
    one file per figure name (the file's stem), SVG preferred to PNG, in the order given."""
    out: dict[str, Path] = {}
    for p in map(Path, paths):
        if p.suffix.lower() == ".svg" or (p.suffix.lower() == ".png" and p.stem not in out):
            out[p.stem] = p
    return out


def _figure_html(name: str, body: str) -> str:
    title, caption = FIGURE_CAPTIONS.get(name, (name.replace("_", " ").capitalize(), ""))
    return (f'<figure id="fig-{esc(name)}">{body}\n<figcaption><b>{esc(title)}.</b> {esc(caption)}</figcaption>'
            f"</figure>")


def _figures_section(result: "Result", figures: dict[str, Path] | None) -> str:
    parts = []
    if figures is None:
        for name, svg in render_figures(result).items():
            parts.append(_figure_html(name, f'<div class="svg" role="img" aria-label="{esc(name)}">'
                                            f"{inline_svg(svg, 'fig-' + name)}</div>"))
    else:
        for name, path in figures.items():
            path = Path(path)
            suffix = path.suffix.lower()
            if suffix == ".svg":
                body = (f'<div class="svg" role="img" aria-label="{esc(name)}">'
                        f"{inline_svg(path.read_text(encoding='utf-8'), 'fig-' + re.sub(r'[^A-Za-z0-9_-]', '-', name))}"
                        "</div>")
            elif suffix == ".png":
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body = f'<img alt="{esc(FIGURE_CAPTIONS.get(name, (name,))[0])}" src="data:image/png;base64,{data}">'
            else:
                raise ValueError(f"{path}: a figure must be .svg or .png")
            parts.append(_figure_html(name, body))
    if not parts:
        return ""
    return '<section id="figures">\n<h2>Figures</h2>\n' + "\n".join(parts) + "\n</section>"


# --------------------------------------------------------------------------------------------- page

def render_html(result: "Result", figures: dict[str, Path] | None = None) -> str:
    """The report page as text (see :func:`write_html`)."""
    return page_without_figures(result)(figures)


def page_without_figures(result: "Result") -> Callable[[dict[str, Path] | None], str]:
    """The report page in two steps: every section but the figures now, the page with its figures
    later (``page_without_figures(result)(figures) == render_html(result, figures)``), so that
    the page can be laid out while the figures are still being drawn."""
    from act_pool import __version__

    s = result.summary()
    sc = result.scenario
    description = f'<p class="lede">{esc(sc.description)}</p>' if sc.description else ""
    sections = [_summary_section(result, s), _assumptions_section(s), _compliance_section(result),
                _shortfall_section(result, s)]

    def with_figures(figures: dict[str, Path] | None) -> str:
        figs = _figures_section(result, figures)
        toc = [("summary", "Summary"), ("assumptions", "Assumptions"), ("compliance", "Compliance"),
               ("shortfalls", "Why short")] + ([("figures", "Figures")] if figs else [])
        nav = "".join(f'<a href="#{a}">{esc(label)}</a>' for a, label in toc)
        body = "\n".join(sections + [figs])
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="act-pool {esc(__version__)}">
<title>ACT credit report: {esc(s["scenario"])}</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
</head>
<body>
<main>
<header class="top">
<p class="kicker">Advanced Clean Trucks credit report · rules {esc(s["rules"])}</p>
<h1>{esc(s["scenario"])}</h1>
{description}
<nav class="toc">{nav}</nav>
</header>
{body}
<footer>Written by act-pool {esc(__version__)}. Amounts in credits, exact to the tenth. Credits and deficits
are the simulator's results under the rule set and assumptions listed above, not regulatory determinations.</footer>
</main>
</body>
</html>
"""

    return with_figures


def write_html(result: "Result", path: str | Path, figures: dict[str, Path] | None = None) -> Path:
    """Write the self-contained report page at ``path`` (conventionally ``report.html``).

    Parameters
    ----------
    result : Result
    path : str or Path
    figures : dict of str to Path, optional
        Figure files to embed, by name (as :func:`act_pool.report.figures.save_figures` writes
        them): ``.svg`` inline, ``.png`` as base64. None (the default) draws every figure in
        memory and embeds it as SVG; an empty dict leaves the figures out.

    Returns
    -------
    Path
        ``path``, written atomically (beside it first, then moved into place).
    """
    return write_atomic(path, render_html(result, figures))
