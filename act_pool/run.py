"""Run a scenario through the pipeline: obligations -> problem -> solver -> ledger -> views."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from act_pool.diagnose import why_short
from act_pool.ledger import balances_view, build_ledger, check_conservation, compliance_view
from act_pool.obligations import compute_obligations
from act_pool.scenario import Scenario, load_scenario
from act_pool.solve.problem import ComplianceProblem, build_problem
from act_pool.solve.purchase import purchase_movements
from act_pool.solve.sequential import solve_earliest_expiring


@dataclass
class Result:
    """The outcome of one run. Tables hold credits and deficits in integer tenths.

    Attributes
    ----------
    scenario : Scenario
    obligations : DataFrame
        Deficits and credits generated, per manufacturer x state x model year x group.
    problem : ComplianceProblem
        Credit lots, deficits and rule gates the solver worked on.
    ledger : DataFrame
        Every retirement and expiry.
    compliance : DataFrame
        Obligations with met, unmet and status.
    balances : DataFrame
        The bank at the end of each model year.
    conservation : DataFrame
        The per-manufacturer conservation terms (checked on every run).
    """

    scenario: Scenario
    obligations: pd.DataFrame
    problem: ComplianceProblem
    ledger: pd.DataFrame
    compliance: pd.DataFrame
    balances: pd.DataFrame
    conservation: pd.DataFrame
    extras: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Totals, the run's settings and every assumption in force (see :mod:`act_pool.report.summary`)."""
        from act_pool.report.summary import build_summary

        return build_summary(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables as planners read them: amounts in credits (floats rounded to the tenth)."""
        from act_pool.report.tables import display_tables

        return display_tables(self)

    def write(self, out_dir: str | Path) -> Path:
        """Write the result files into ``out_dir`` atomically (see :func:`act_pool.report.write.write_results`)."""
        from act_pool.report.write import write_results

        return write_results(self, Path(out_dir))


def run(scenario: Scenario | str | Path) -> Result:
    """Run a scenario (a :class:`Scenario` or the path of a scenario file) and check conservation."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    obligations = compute_obligations(scenario)
    problem = build_problem(scenario, obligations)
    if scenario.retirement == "optimal":
        from act_pool.solve.optimal import solve_optimal

        movements = solve_optimal(problem)
    else:
        movements = solve_earliest_expiring(problem)
    movements += problem.transfers
    ledger = build_ledger(movements)
    compliance = compliance_view(obligations, ledger, problem.makeup_years, scenario.model_years[1])
    purchases = purchase_movements(scenario, compliance)
    if purchases:
        ledger = build_ledger(movements + purchases)
        compliance = compliance_view(obligations, ledger, problem.makeup_years, scenario.model_years[1])
    balances = balances_view(problem, ledger)
    compliance["reason"] = why_short(compliance, ledger, balances, problem, scenario.rules)
    conservation = check_conservation(problem, obligations, ledger, balances)
    return Result(scenario=scenario, obligations=obligations, problem=problem, ledger=ledger,
                  compliance=compliance, balances=balances, conservation=conservation)
