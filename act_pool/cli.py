"""The ``act-pool`` command line: a thin shell over the Python API.

Exit status (CONTRACT.md): 0 when the run completed, whether or not every deficit was met;
2 for invalid input, with one line per problem on standard error and no result file written;
1 only for an internal error.
"""
from __future__ import annotations

import argparse
import gc
import sys
import textwrap
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from act_pool import __version__
from act_pool.errors import InputError, Problem

if TYPE_CHECKING:
    from act_pool.scenario import Scenario

EXAMPLES = {
    "run": """writes compliance.csv, ledger.csv, balances.csv, summary.json, results.xlsx, figures/ and report.html

examples:
  act-pool run                                   # the bundled default scenario, into ./results
  act-pool run scenarios/pooling/scenario.toml --out out/pooling
  act-pool run my.toml --tables-only --quiet     # CSV and JSON only, no output on success
  act-pool run my.toml --out shared --force      # beside files act-pool did not write (none is touched)

act-pool never deletes or overwrites a file it did not write: a result folder carries a marker,
.act-pool.json, listing the files act-pool wrote; a rerun replaces those in one step and keeps the rest.""",
    "compare": """examples:
  act-pool compare scenarios/default/scenario.toml
  act-pool compare my.toml --rules act-2021 --rules act-2025 --out out/compare""",
    "rules": """examples:
  act-pool rules list
  act-pool rules show act-2025
  act-pool rules diff act-2021 act-2025""",
    "plan": """writes plan.csv, planned_sales.csv, credit_values.csv, not_met.csv, the planned run's tables,
summary.json (cost per manufacturer), results.xlsx, figures/ and report.html (with a plan section)

examples:
  act-pool plan my.toml --out out/plan            # levers from the scenario's [plan] table
  act-pool plan my.toml --market --out out/market # manufacturers trade with one another first""",
    "validate": """examples:
  act-pool validate scenarios/default/scenario.toml
  act-pool validate plan.xlsx""",
    "template": """sheets: Scenario, Sales, Bank, Trades, Overrides, Plan, Read me

examples:
  act-pool template plan.xlsx                                      # an empty workbook
  act-pool template plan.xlsx --from scenarios/default/scenario.toml
  act-pool run plan.xlsx                                           # once it is filled in""",
    "export": """examples:
  act-pool export plan.xlsx --out plan-scenario    # writes scenario.toml, sales.csv, ...""",
    "sweep": """writes runs.csv, detail.parquet, summary.json, figures/ and sweep.html

examples:
  act-pool sweep sweep.toml --out out/sweep                  # a local cluster, one worker per core
  act-pool sweep sweep.toml --out out/sweep --resume         # after an interruption: only the missing runs
  act-pool sweep sweep.toml --scheduler tcp://10.0.0.5:8786  # an existing Dask cluster""",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="act-pool", description="Simulate ACT credits and deficits (2021 and 2025 rules).",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"act-pool {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES.get(name),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    r = add("run", "Run one scenario and write compliance.csv, ledger.csv, balances.csv and summary.json.")
    r.add_argument("scenario", nargs="?", help="scenario TOML file (default: the bundled default scenario)")
    r.add_argument("--out", default="results",
                   help="folder for the result files (default: ./results); a new folder, an empty one or one "
                        "act-pool wrote before (files act-pool did not write in it are kept)")
    r.add_argument("--force", action="store_true",
                   help="also write into an existing non-empty folder act-pool did not write, beside its files "
                        "(none of them is deleted or replaced)")
    r.add_argument("--graphml", action="store_true", help="also write the credit network as network.graphml")
    r.add_argument("--tables-only", action="store_true",
                   help="write the CSV tables and summary.json only (no results.xlsx, figures or report.html)")
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_solver_option(r)
    r.set_defaults(handler=_cmd_run)

    c = add("compare", "Run one scenario under several rule sets (and pooling on/off) and report the differences.")
    c.add_argument("scenario", help="scenario TOML file")
    c.add_argument("--rules", action="append", default=[], metavar="ID",
                   help="rule set to compare (repeatable; default: act-2021, act-2025, act-2025 without pooling)")
    c.add_argument("--out", help="folder to write compare.csv into (the same folder rules as run --out)")
    c.add_argument("--force", action="store_true",
                   help="also write into an existing non-empty folder act-pool did not write, beside its files")
    _add_solver_option(c)
    c.set_defaults(handler=_cmd_compare)

    ru = add("rules", "List, show and compare the bundled rule sets.")
    rsub = ru.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rsub.add_parser("list", help="list the bundled rule sets").set_defaults(handler=_cmd_rules_list)
    sh = rsub.add_parser("show", help="every parameter of a rule set with its value, unit, source and confidence")
    sh.add_argument("id")
    sh.set_defaults(handler=_cmd_rules_show)
    df = rsub.add_parser("diff", help="what changed between two rule sets")
    df.add_argument("a")
    df.add_argument("b")
    df.set_defaults(handler=_cmd_rules_diff)

    v = add("validate", "Check a scenario's inputs only and report every problem found.")
    v.add_argument("scenario")
    v.set_defaults(handler=_cmd_validate)

    t = add("template", "Write a scenario workbook to fill in Excel (empty, or filled from a scenario).")
    t.add_argument("out", metavar="OUT.xlsx", help="the workbook to write (refused if it exists, unless --force)")
    t.add_argument("--from", dest="source", metavar="SCENARIO", help="fill it from this scenario file or workbook")
    t.add_argument("--force", action="store_true", help="replace OUT.xlsx if it exists")
    t.set_defaults(handler=_cmd_template)

    e = add("export", "Write a scenario workbook as scenario.toml and CSV tables.")
    e.add_argument("book", metavar="BOOK.xlsx", help="the scenario workbook")
    e.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write into: a new or empty one, or one act-pool wrote before (the same folder "
                        "rules as run --out)")
    e.add_argument("--force", action="store_true",
                   help="also write into an existing non-empty folder act-pool did not write, beside its files "
                        "(none of them is deleted or replaced)")
    e.set_defaults(handler=_cmd_export)

    pl = add("plan", "The least-cost conversions of ICE sales to ZEVs and credit purchases that leave nothing unmet.")
    pl.add_argument("scenario", help="scenario TOML file with a [plan] table")
    pl.add_argument("--out", default="plan", help="folder for the result files (default: ./plan); the same folder "
                                                   "rules as run --out")
    pl.add_argument("--force", action="store_true",
                    help="also write into an existing non-empty folder act-pool did not write, beside its files "
                         "(none of them is deleted or replaced)")
    pl.add_argument("--market", action="store_true",
                    help="let the manufacturers trade with one another at credit_price first")
    pl.add_argument("--tables-only", action="store_true", help="write the CSV tables and summary.json only")
    pl.add_argument("--quiet", action="store_true", help="print nothing but errors")
    pl.set_defaults(handler=_cmd_plan)

    sw = add("sweep", "Run a grid of rule parameters and switches, and Monte Carlo samples of sales, on Dask.")
    sw.add_argument("sweep", help="sweep TOML file")
    sw.add_argument("--out", default="sweep-results", help="folder for the result files (default: ./sweep-results)")
    sw.add_argument("--workers", type=int, metavar="N",
                    help="process workers of the local cluster (default: one per core)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="address of an existing Dask scheduler to run on instead of a local cluster")
    sw.add_argument("--resume", action="store_true",
                    help="keep the runs already checkpointed in --out and compute only the missing ones")
    sw.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sw.set_defaults(handler=_cmd_sweep)

    try:
        from act_pool.lcfs.cli import register
    except ImportError:  # the LCFS companion is optional while it is being built
        pass
    else:
        register(sub)
    return p


def _add_solver_option(parser: argparse.ArgumentParser) -> None:
    from act_pool.solve import SOLVERS

    parser.add_argument("--solver", choices=SOLVERS, help="solver of the optimal plan (default: the scenario's "
                        "solver key, else simplex; networkx and highs are reference solvers)")


def _with_solver(scenario: "Scenario", solver: str | None) -> "Scenario":
    """The scenario with the optimal plan's solver chosen on the command line (if any)."""
    from dataclasses import replace

    return replace(scenario, solver=solver) if solver else scenario


def _cmd_run(args: argparse.Namespace) -> int:
    from act_pool.report.figure_worker import FigureWorker
    from act_pool.report.write import result_files, write_results
    from act_pool.run import run
    from act_pool.scenario import default_scenario_path

    if args.scenario is not None and not args.scenario.strip():
        raise InputError([Problem("command line", None, "scenario", "the scenario path is empty: give a scenario "
                                  "file, or leave it out for the bundled default scenario")])
    path = Path(args.scenario) if args.scenario is not None else default_scenario_path()
    # The figures' second process starts now, so that its imports overlap the run.
    with (FigureWorker.start(fork=True) if not args.tables_only else None) or nullcontext() as worker:
        files = result_files(reports=not args.tables_only, graphml=args.graphml)
        scenario = _with_solver(_load_checking_out(path, args.out, args.force, files), args.solver)
        result = run(scenario, progress=None if args.quiet else ProgressLine(), keep_network=args.graphml)
        out = write_results(result, Path(args.out), graphml=args.graphml, reports=not args.tables_only,
                            force=args.force, figure_worker=worker)
    if not args.quiet:
        s = result.summary()
        t = s["totals"]
        print(f"{s['scenario']}: rules {s['rules']}, retirement {s['retirement']}, pooling {'on' if s['pooling'] else 'off'}")
        print(f"  deficits {t['deficits']:.1f}, met {t['met']:.1f}, unmet {t['unmet']:.1f} "
              f"(short {t['unmet_short']:.1f}, open {t['unmet_open']:.1f}); expired {t['expired']:.1f}; "
              f"closing bank {t['closing_bank']:.1f}")
        print(f"  {len(s['assumptions'])} assumptions in force (see summary.json)")
        print(f"  results written to {out}")
    return 0


def _load_checking_out(path: Path, out: str | None, force: bool, files: list[str] | tuple[str, ...] = ()
                       ) -> "Scenario":
    """Load the scenario and check the ``--out`` folder (when given) for the ``files`` the command
    writes there, before anything is computed, reporting the problems of both at once
    (:class:`InputError`)."""
    from act_pool.report.outdir import check_out_dir
    from act_pool.scenario import load_scenario

    problems = []
    if out is not None:
        try:
            check_out_dir(out, scenario_path=path, force=force, files=files)
        except InputError as exc:
            problems = exc.problems
    try:
        scenario = load_scenario(path)
    except InputError as exc:
        raise InputError(exc.problems + problems) from None
    if problems:
        raise InputError(problems)
    return scenario


class ProgressLine:
    """Progress on standard error, shown only once a run has taken more than ``after`` seconds."""

    def __init__(self, after: float = 2.0) -> None:
        self.start = time.monotonic()
        self.after = after

    def __call__(self, stage: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed >= self.after:
            step = f" {done + 1}/{total}" if total > 1 else ""
            print(f"  [{elapsed:5.1f} s] {stage}{step}", file=sys.stderr, flush=True)


def _cmd_compare(args: argparse.Namespace) -> int:
    from act_pool.compare import compare, write_compare

    repeated = sorted({r for r in args.rules if args.rules.count(r) > 1})
    if repeated:
        raise InputError([Problem("command line", None, "--rules", f"rule set {', '.join(repeated)} named more "
                                  "than once: name each rule set to compare once")])
    scenario = _with_solver(_load_checking_out(Path(args.scenario), args.out, args.force, ("compare.csv",)),
                            args.solver)
    table = compare(scenario, args.rules or None)
    print(table.to_string(index=False))
    if args.out:
        print(f"written to {write_compare(table, Path(args.out), scenario_path=args.scenario, force=args.force)}")
    return 0


def _cmd_rules_list(args: argparse.Namespace) -> int:
    from act_pool.rules import bundled_ids, load_rules

    for rid in bundled_ids("act-"):
        rs = load_rules(rid)
        print(f"{rid:10s} {rs.title}")
    return 0


def _cmd_rules_show(args: argparse.Namespace) -> int:
    from act_pool.rules import load_rules

    rs = load_rules(args.id)
    print(f"{rs.id}: {rs.title}" + (f" (based on {rs.based_on})" if rs.based_on else ""))
    print(textwrap.fill(rs.description, 100))
    print()
    for p in rs.parameters.values():
        print(f"{p.name}  [{p.confidence}]")
        print(f"    value:  {p.display_value()}  ({p.unit}; model years: {p.effective})")
        print(f"    what:   {p.description}")
        print(f"    source: {p.source}")
        if p.note:
            print(f"    note:   {p.note}")
    return 0


def _cmd_rules_diff(args: argparse.Namespace) -> int:
    from act_pool.rules import diff, load_rules

    a, b = load_rules(args.a), load_rules(args.b)
    changes = diff(a, b)
    print(f"{len(changes)} parameters differ between {a.id} and {b.id}")
    for name, pa, pb in changes:
        print(f"{name}")
        print(f"    {a.id}: {pa.display_value() if pa else '(absent)'}" + (f"  [{pa.confidence}]" if pa else ""))
        print(f"    {b.id}: {pb.display_value() if pb else '(absent)'}" + (f"  [{pb.confidence}]" if pb else ""))
        if pb:
            print(f"    source: {pb.source}")
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from act_pool.plan import plan
    from act_pool.plan.result import plan_files, usd

    scenario = _load_checking_out(Path(args.scenario), args.out, args.force,
                                  plan_files(reports=not args.tables_only, market=args.market))
    result = plan(scenario, market=args.market, progress=None if args.quiet else ProgressLine())
    out = result.write(args.out, reports=not args.tables_only, force=args.force)
    if not args.quiet:
        by = result.cost_by_manufacturer()
        print(f"{result.scenario.name}: least-cost plan{' (market)' if args.market else ''}, "
              f"total {usd(result.cost)} USD in {result.seconds:.1f} s")
        for r in by[by["cost"] != 0].itertuples(index=False):
            print(f"  {r.manufacturer}: {r.extra_zev} ZEVs added, {r.credits_bought / 10:.1f} credits bought, "
                  f"{usd(r.cost)} USD")
        if result.trades is not None:
            print(f"  market: {result.trades['credits'].sum() / 10:.1f} credits traded between manufacturers")
        for r in result.not_met.itertuples(index=False):
            print(f"  not met: {r.manufacturer} {r.state} MY{r.model_year} {r.group} {r.unmet / 10:.1f}: {r.why}")
        print(f"  {result.statement()}")
        print(f"  results written to {out}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from act_pool.scenario import load_scenario

    sc = load_scenario(args.scenario)
    print(f"{args.scenario}: valid ({len(sc.sales)} sales rows, {len(sc.bank)} bank rows, rules {sc.rules.id}, "
          f"model years {sc.model_years[0]}-{sc.model_years[1]}, states {', '.join(sc.states)})")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from act_pool.workbook import write_template

    out = write_template(args.out, args.source, force=args.force)
    print(f"scenario workbook written to {out}" + (f" (from {args.source})" if args.source else ""))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from act_pool.workbook import export_workbook

    print(f"scenario written to {export_workbook(args.book, args.out, force=args.force)}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from act_pool.errors import Problem
    from act_pool.sweep import load_sweep, sweep

    if args.workers is not None and args.workers < 1:
        raise InputError([Problem("command line", None, "--workers", f"expected a number >= 1, got {args.workers}")])
    spec = load_sweep(args.sweep)
    bar = None if args.quiet else SweepProgressBar()
    try:
        if args.scheduler:
            from distributed import Client

            with Client(args.scheduler) as client:
                result = sweep(spec, client=client, out=args.out, resume=args.resume, progress=bar)
        else:
            result = sweep(spec, out=args.out, resume=args.resume, workers=args.workers, progress=bar)
    except KeyboardInterrupt:
        print(f"\nact-pool: sweep interrupted; finished runs are kept in {args.out}: "
              "rerun with --resume to compute only the missing ones", file=sys.stderr)
        return 130
    if not args.quiet:
        s = result.summary()
        c = s["counts"]
        print(f"\n{spec.scenario.name}: {c['runs']} runs ({c['grid_points']} grid points x {c['samples']} samples), "
              f"{s['timing']['runs_computed']} computed in {result.elapsed_s:.1f} s")
        print(f"  runs with unmet deficits {c['runs_with_unmet']}, with a shortfall {c['runs_with_short']}; "
              f"rows short in every run {c['rows_short_in_every_run']}, in some {c['rows_short_in_some_runs']}")
        if c["runs_failed"]:
            print(f"  {c['runs_failed']} runs had infeasible inputs (see the error column of runs.csv)")
        print(f"  results written to {args.out}")
    return 0


class SweepProgressBar:
    """A progress bar on standard error: runs done, rate and time left."""

    def __init__(self, width: int = 30) -> None:
        self.start = time.monotonic()
        self.width = width
        self.calls = 0
        self.first: int | None = None  # runs done when the first run of this call finished

    def __call__(self, done: int, total: int) -> None:
        if self.first is None and self.calls > 0:  # the rate counts from the first run computed
            self.first, self.start = done, time.monotonic()
        self.calls += 1
        elapsed = time.monotonic() - self.start
        computed = done - (self.first if self.first is not None else done)
        rate = computed / elapsed if elapsed > 0 and computed else 0.0
        left = f"{(total - done) / rate:6.0f} s left" if rate > 0 else "   ... s left"
        filled = int(self.width * done / total) if total else self.width
        print(f"\r  [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} runs, {rate:5.2f} runs/s, {left}",
              end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``act-pool`` console command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as exc:
        print(f"act-pool: invalid input ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}):",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - anything else is our defect, reported as such
        print("act-pool: internal error (please report it with the scenario):", file=sys.stderr)
        traceback.print_exc()
        return 1


def console() -> None:
    """The ``act-pool`` command: :func:`main` in a process of its own, exiting with its status.

    The objects that live as long as the process (the imported modules: hundreds of thousands of
    objects with pandas) are moved out of the garbage collector's reach (:func:`gc.freeze`) at the
    start, and everything left at the end: its collections during the run, and the interpreter's
    at exit, then walk only the run's own objects (about a tenth less CPU for writing the workbook,
    a fifth of a second less at exit). :func:`main` itself leaves the collector alone, for callers
    in a long-lived process.
    """
    gc.freeze()
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    console()
