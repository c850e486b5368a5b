"""The plan's section of report.html (every text from the scenario HTML-escaped)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from act_pool.report.html import esc
from act_pool.tenths import format_tenths

if TYPE_CHECKING:
    from act_pool.plan.result import PlanResult

#: Rows of plan.csv shown on the page (the file has them all).
SHOWN_ROWS = 40


def plan_section(result: "PlanResult") -> str:
    """Cost per manufacturer, the largest conversions and purchases, what no lever meets, the re-run's
    verdict and (market mode) the trades."""
    from act_pool.plan.result import usd

    by = result.cost_by_manufacturer()
    cost_rows = "".join(
        f"<tr><td>{esc(r.manufacturer)}</td><td class=num>{r.extra_zev}</td>"
        f"<td class=num>{format_tenths(int(r.credits_bought))}</td><td class=num>{usd(r.conversion_cost)}</td>"
        f"<td class=num>{usd(r.purchase_cost)}</td><td class=num>{usd(r.market_payments)}</td>"
        f"<td class=num>{usd(r.cost)}</td></tr>" for r in by.itertuples(index=False))
    top = result.table.sort_values("cost", ascending=False, kind="stable").head(SHOWN_ROWS)
    plan_rows = "".join(
        f"<tr><td>{esc(r.manufacturer)}</td><td>{esc(r.state)}</td><td>{r.model_year}</td>"
        f"<td>{esc(r.weight_class or '(purchase)')}</td><td>{esc(r.group)}</td><td class=num>{r.extra_zev}</td>"
        f"<td class=num>{format_tenths(int(r.credits_bought))}</td><td class=num>{usd(r.cost)}</td></tr>"
        for r in top.itertuples(index=False))
    not_met = "".join(
        f"<li>{esc(r.manufacturer)} {esc(r.state)} MY{r.model_year} {esc(r.group)}: "
        f"{format_tenths(int(r.unmet))} credits ({esc(r.why)})</li>" for r in result.not_met.itertuples(index=False))
    market = ""
    if result.trades is not None:
        covered = int(result.expiring["covered_from_expiring"].sum()) if result.expiring is not None else 0
        market = (f"<p>Market mode: {format_tenths(int(result.trades['credits'].sum()))} credits traded between "
                  f"manufacturers at {usd(result.levers.credit_price)} USD per credit, "
                  f"{format_tenths(covered)} of them credits that would have expired unused at the seller "
                  "(see market_trades.csv).</p>")
    return f"""<section id="plan">
<h2>Least-cost plan</h2>
<p>Total cost {usd(result.cost)} USD. {esc(result.statement())}</p>
{market}
<table><thead><tr><th>Manufacturer</th><th>ZEVs added</th><th>Credits bought</th><th>Conversions (USD)</th>
<th>Purchases (USD)</th><th>Market payments (USD)</th><th>Total (USD)</th></tr></thead><tbody>{cost_rows}</tbody></table>
<h3>Conversions and purchases{f" (the {SHOWN_ROWS} costliest; plan.csv has all)" if len(result.table) > SHOWN_ROWS else ""}</h3>
<table><thead><tr><th>Manufacturer</th><th>State</th><th>MY</th><th>Weight class</th><th>Group</th>
<th>ZEVs added</th><th>Credits bought</th><th>Cost (USD)</th></tr></thead><tbody>{plan_rows}</tbody></table>
{f"<h3>Deficits no lever can meet</h3><ul>{not_met}</ul>" if not_met else ""}
<p>credit_values.csv gives, for every deficit, the marginal cost of one more credit (USD per credit).</p>
</section>"""
