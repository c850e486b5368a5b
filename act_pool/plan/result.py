"""The outcome of a plan: its tables, summary, report section and figure, and writing them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from act_pool.plan.levers import Levers
from act_pool.report.tables import tenths_to_text
from act_pool.tenths import format_tenths

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from act_pool.run import Result

#: plan.csv: one row per conversion (``extra_zev`` whole vehicles adding ``zev_credits``) or purchase
#: (``credits_bought`` for the deficit of ``group``; ``weight_class`` empty); credits in integer tenths.
PLAN_COLUMNS = ["manufacturer", "state", "model_year", "weight_class", "group", "extra_zev", "zev_credits",
                "credits_bought", "cost"]


def usd(amount: Decimal) -> str:
    """Exact USD amount as text with cents ('10430000.00')."""
    return f"{Decimal(amount).quantize(Decimal('0.01')):f}"


@dataclass
class PlanResult:
    """A least-cost plan and the re-run that checks it.

    Attributes
    ----------
    scenario : Scenario
    levers : Levers
    market : bool
        Whether the manufacturers traded with one another.
    table : DataFrame
        plan.csv (:data:`PLAN_COLUMNS`): credits in integer tenths, ``cost`` exact Decimal USD.
    credit_values : DataFrame
        Per manufacturer x state x model year x group with deficits: ``usd_per_credit``, the marginal
        cost of one more credit of deficit (:mod:`act_pool.plan.values`).
    planned_sales : DataFrame
        The sales table with the conversions applied.
    planned : Result
        The scenario re-run with the planned sales and purchases.
    baseline : Result
        The scenario's own run, without the plan.
    not_met : DataFrame
        Deficits no lever can meet (``unmet`` in tenths) and why.
    trades, expiring : DataFrame or None
        Market mode: the trades (:mod:`act_pool.plan.market`) and the expiring credits they use.
    seconds : float
        Time taken to plan and re-run.
    """

    scenario: Any
    levers: Levers
    market: bool
    table: pd.DataFrame
    credit_values: pd.DataFrame
    planned_sales: pd.DataFrame
    planned: "Result"
    baseline: "Result"
    not_met: pd.DataFrame
    trades: pd.DataFrame | None = None
    expiring: pd.DataFrame | None = None
    seconds: float = 0.0

    @property
    def cost(self) -> Decimal:
        """Total cost of the conversions and purchases (USD, exact)."""
        return sum(self.table["cost"], Decimal(0))

    def cost_by_manufacturer(self) -> pd.DataFrame:
        """Per manufacturer: vehicles converted, credits bought (tenths), conversion and purchase
        cost, market payments (buyer +, seller -, at credit_price) and the total (exact USD)."""
        makers = sorted(set(self.baseline.problem.manufacturers))
        rows = []
        price = self.levers.credit_price or Decimal(0)
        for m in makers:
            t = self.table[self.table["manufacturer"] == m]
            conv = sum(t.loc[t["extra_zev"] > 0, "cost"], Decimal(0))
            buy = sum(t.loc[t["credits_bought"] > 0, "cost"], Decimal(0))
            trade = Decimal(0)
            if self.trades is not None:
                net = int(self.trades.loc[self.trades["buyer"] == m, "credits"].sum()
                          - self.trades.loc[self.trades["seller"] == m, "credits"].sum())
                trade = price * net / 10
            rows.append((m, int(t["extra_zev"].sum()), int(t["credits_bought"].sum()), conv, buy, trade,
                         conv + buy + trade))
        return pd.DataFrame(rows, columns=["manufacturer", "extra_zev", "credits_bought", "conversion_cost",
                                           "purchase_cost", "market_payments", "cost"])

    def still_unmet(self) -> pd.DataFrame:
        """Rows of the planned run left unmet: short, or open where the levers do not allow it."""
        c = self.planned.compliance
        bad = (c["unmet"] > 0) & ((c["status"] == "short") | ((c["status"] == "open") & (not self.levers.allow_open)))
        return c.loc[bad, ["manufacturer", "state", "model_year", "group", "unmet", "status", "reason"]]

    def statement(self) -> str:
        """What the re-run of the plan shows, in one sentence."""
        left = self.still_unmet()
        if left.empty:
            opened = int((self.planned.compliance["status"] == "open").sum())
            tail = f" ({opened} rows left open within their make-up period, as allow_open permits)" if opened else ""
            return "Re-run with the planned sales and purchases: nothing is unmet" + tail + "."
        return (f"Re-run with the planned sales and purchases: {format_tenths(int(left['unmet'].sum()))} credits of "
                f"deficit in {len(left)} rows remain unmet, which no lever can meet (see not_met.csv).")

    def summary(self) -> dict:
        """The planned run's summary with a ``plan`` entry: levers, cost per manufacturer, the re-run's verdict."""
        s = self.planned.summary()
        by = self.cost_by_manufacturer()
        lev = self.levers
        s["plan"] = {
            "market": self.market,
            "levers": {"zev_cost": {k: usd(v) for k, v in lev.zev_cost.items()},
                       "max_zev_share": {"default": str(float(lev.share_default)),
                                         **{k: str(float(v)) for k, v in sorted(lev.share_by.items())}},
                       "credit_price": usd(lev.credit_price) if lev.credit_price is not None else None,
                       "allow_open": lev.allow_open},
            "cost_usd": usd(self.cost),
            "by_manufacturer": {r.manufacturer: {"cost_usd": usd(r.cost), "conversion_cost_usd": usd(r.conversion_cost),
                                                 "purchase_cost_usd": usd(r.purchase_cost),
                                                 "market_payments_usd": usd(r.market_payments),
                                                 "extra_zev": int(r.extra_zev),
                                                 "credits_bought": float(format_tenths(int(r.credits_bought)))}
                                for r in by.itertuples(index=False)},
            "not_met": [{"manufacturer": r.manufacturer, "state": r.state, "model_year": int(r.model_year),
                         "group": r.group, "unmet": float(format_tenths(int(r.unmet))), "why": r.why}
                        for r in self.not_met.itertuples(index=False)],
            "rerun": self.statement(),
            "traded": (float(format_tenths(int(self.trades["credits"].sum()))) if self.trades is not None else None),
            "traded_from_expiring": (float(format_tenths(int(self.expiring["covered_from_expiring"].sum())))
                                     if self.expiring is not None and not self.expiring.empty else
                                     (0.0 if self.expiring is not None else None)),
        }
        return s

    def tables(self) -> dict[str, pd.DataFrame]:
        """plan.csv, credit_values.csv, not_met.csv (and market_trades.csv) as written."""
        out = {"plan.csv": tenths_to_text(self.table.assign(cost=self.table["cost"].map(usd)),
                                          ["zev_credits", "credits_bought"]),
               "credit_values.csv": self.credit_values.assign(
                   usd_per_credit=self.credit_values["usd_per_credit"].map(lambda v: f"{v:.2f}")),
               "not_met.csv": tenths_to_text(self.not_met, ["unmet"])}
        if self.trades is not None:
            out["market_trades.csv"] = tenths_to_text(self.trades, ["credits"])
        return out

    def plot_credit_values(self) -> "Figure":
        """What a credit is worth: the mean marginal cost (USD per credit) by model year, one line per
        state, one panel per group."""
        from act_pool.plan.figures import credit_values_figure

        return credit_values_figure(self.credit_values)

    def report_section(self) -> str:
        """The plan's section of report.html."""
        from act_pool.plan.html import plan_section

        return plan_section(self)

    def write(self, out_dir: str | Path, reports: bool = True, force: bool = False) -> Path:
        """Write the plan and the planned run's result files into ``out_dir`` (see :func:`write_plan`);
        ``force`` writes into a non-empty folder act-pool did not write, beside its files."""
        return write_plan(self, Path(out_dir), reports=reports, force=force)


def plan_files(reports: bool = True, market: bool = False) -> list[str]:
    """The files :func:`write_plan` writes, relative to the result folder (for
    :func:`~act_pool.report.outdir.check_out_dir`, before anything is computed)."""
    from act_pool.report.write import result_files

    files = result_files(reports) + ["plan.csv", "credit_values.csv", "not_met.csv", "planned_sales.csv"]
    if market:
        files.append("market_trades.csv")
    if reports:
        files += ["figures/credit_values.png", "figures/credit_values.svg"]
    return files


def write_plan(result: PlanResult, out_dir: Path, reports: bool = True, force: bool = False) -> Path:
    """Write plan.csv, planned_sales.csv, credit_values.csv, not_met.csv (market_trades.csv), the
    planned run's tables and summary.json (with the plan's costs), and with ``reports`` its workbook,
    figures and report.html with a plan section.

    The folder follows the result-folder rules of :func:`act_pool.report.outdir.publish_results`
    (as ``act-pool run`` does): the new files replace the old results in one atomic step, files
    act-pool did not write are kept, and an existing non-empty folder without act-pool's marker is
    refused unless ``force``.

    Raises
    ------
    InputError
        If ``out_dir`` may not be written (see :func:`act_pool.report.outdir.check_out_dir`;
        nothing is written).
    """
    from act_pool.report.figures import freeze_layout, save_figure
    from act_pool.report.outdir import publish_results
    from act_pool.report.write import write_into, write_reports

    def fill(folder: Path) -> None:
        write_into(result.planned, folder)
        for name, frame in result.tables().items():
            frame.to_csv(folder / name, index=False, lineterminator="\n")
        sales = result.planned_sales.assign(aer_miles=result.planned_sales["aer_miles"].map(
            lambda a: "" if a is None else str(a)))
        sales.to_csv(folder / "planned_sales.csv", index=False, lineterminator="\n")
        with open(folder / "summary.json", "w", encoding="utf-8", newline="\n") as fh:
            json.dump(result.summary(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        if reports:
            write_reports(result.planned, folder)
            fig = freeze_layout(result.plot_credit_values())
            for fmt in ("png", "svg"):
                save_figure(fig, folder / "figures" / f"credit_values.{fmt}")
            page = (folder / "report.html").read_text(encoding="utf-8")
            page = page.replace("<footer>", result.report_section() + "\n<footer>", 1)
            (folder / "report.html").write_text(page, encoding="utf-8", newline="\n")

    return publish_results(out_dir, fill, scenario_path=result.scenario.path, force=force)
