"""Run a scenario through the pipeline: obligations -> problem -> solver -> ledger -> views."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import networkx as nx
import pandas as pd

from act_pool.diagnose import why_short
from act_pool.ledger import balances_view, build_ledger, check_conservation, compliance_view, movement_table
from act_pool.obligations import compute_obligations
from act_pool.scenario import Scenario, load_scenario
from act_pool.solve.problem import ComplianceProblem, build_problem
from act_pool.solve.purchase import purchase_movements
from act_pool.solve.sequential import solve_sequential

if TYPE_CHECKING:
    from act_pool.solve.optimal import OptimalPlan


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
    plan: "OptimalPlan | None" = field(default=None, repr=False)

    @property
    def network(self) -> nx.DiGraph:
        """The credit network of every manufacturer in one graph (see :mod:`act_pool.solve.network`
        for the node and edge attributes), built on request from the solver's arrays; node ids
        start with the manufacturer. After an optimal run with ``keep_network=True``, every edge
        carries its ``flow`` in tenths."""
        from act_pool.solve.arcs import build_arcs
        from act_pool.solve.network import network_graph

        arcs, flow = (self.plan.arcs, self.plan.flow) if self.plan is not None else (build_arcs(self.problem), None)
        G = nx.DiGraph()
        for maker, name in enumerate(arcs.manufacturers):
            G.update(network_graph(arcs, maker, flow, prefix=(name,)))
        return G

    @property
    def plot(self):
        """Figures of this result: ``result.plot.bank_by_state()``, ``deficits_vs_credits()``,
        ``pooled_flows()``, ``expiring_credits()`` (see :mod:`act_pool.report.figures`)."""
        from act_pool.report.figures import PlotAccessor

        return PlotAccessor(self)

    def summary(self) -> dict:
        """Totals, the run's settings and every assumption in force (see :mod:`act_pool.report.summary`)."""
        from act_pool.report.summary import build_summary

        return build_summary(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables as planners read them: amounts in credits (floats rounded to the tenth)."""
        from act_pool.report.tables import display_tables

        return display_tables(self)

    def write(self, out_dir: str | Path, graphml: bool = False, reports: bool = True, force: bool = False) -> Path:
        """Write the result files into ``out_dir`` atomically (see :func:`act_pool.report.write.write_results`):
        the tables and summary, with ``reports`` the workbook, figures and report page, with
        ``graphml`` the credit network (``network.graphml``). ``out_dir`` follows the result-folder
        rules of ``act-pool run --out``: ``force`` (as ``--force``) writes into an existing non-empty
        folder act-pool did not write, beside its files, none of which is deleted or replaced."""
        from act_pool.report.write import write_results

        return write_results(self, Path(out_dir), graphml=graphml, reports=reports, force=force)


Progress = Callable[[str, int, int], None]


def run(scenario: Scenario | str | Path, progress: Progress | None = None, keep_network: bool = False) -> Result:
    """Run a scenario (a :class:`Scenario` or the path of a scenario file) and check conservation.

    ``progress(stage, done, total)``, if given, is called as the run advances (the command line
    shows it on long runs). With ``keep_network``, an optimal run keeps the solved credit networks
    (as arrays: ``result.network`` then carries the flows); otherwise they are freed after the run.
    The optimum is found with the scenario's ``solver`` (see :mod:`act_pool.solve.optimal`).
    """
    report = progress or (lambda stage, done, total: None)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    report("obligations", 0, 1)
    obligations = compute_obligations(scenario)
    problem = build_problem(scenario, obligations)
    plan = None
    if scenario.retirement == "optimal":
        from act_pool.solve.optimal import solve_optimal

        plan = solve_optimal(problem, solver=scenario.solver, progress=report)
        movements = plan.movements
    elif isinstance(scenario.retirement, tuple):
        movements = solve_sequential(problem, scenario.retirement)
    else:
        movements = solve_sequential(problem)
    report("ledger", 0, 1)
    movements = movement_table(movements, problem.transfers)
    ledger = build_ledger(movements)
    compliance = compliance_view(obligations, ledger, problem.makeup_years, scenario.model_years[1])
    purchases = purchase_movements(scenario, compliance)
    if purchases:
        ledger = build_ledger(movement_table(movements, purchases))
        compliance = compliance_view(obligations, ledger, problem.makeup_years, scenario.model_years[1])
    balances = balances_view(problem, ledger)
    compliance["reason"] = why_short(compliance, ledger, balances, problem, scenario.rules)
    conservation = check_conservation(problem, obligations, ledger, balances)
    return Result(scenario=scenario, obligations=obligations, problem=problem, ledger=ledger,
                  compliance=compliance, balances=balances, conservation=conservation,
                  plan=plan if keep_network else None)
