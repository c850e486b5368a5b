"""Write docs/api.md from the docstrings of act-pool's public API.

Run from the repository root: ``python docs/make_api.py``. tests/test_docs.py checks that the
committed page is what this script writes, so the reference never drifts from the code.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

#: (module, names) in the order the page presents them.
PUBLIC = [
    ("act_pool", ["load_scenario", "scenario_from_frames", "default_scenario_path", "run", "Result", "Scenario",
                  "load_rules", "RuleSet", "InputError", "Problem", "ConservationError", "sweep"]),
    ("act_pool.sweep", ["load_sweep", "SweepSpec", "MonteCarlo", "SweepResult", "local_cluster"]),
    ("act_pool.sweep.sampling", ["sample_sales", "sales_factors"]),
    ("act_pool.sweep.figures", ["SweepPlots"]),
    ("act_pool.compare", ["compare"]),
    ("act_pool.plan", ["plan", "PlanResult", "Levers"]),
    ("act_pool.plan.model", ["build_model", "solve_model", "network_matrix"]),
    ("act_pool.rules.clauses", ["deficit_per_vehicle", "credit_per_vehicle", "nzev_factor", "credit_last_model_year",
                                "nzev_cap_tenths", "low_volume_allowance_tenths", "tractor_offset_allowance_tenths"]),
    ("act_pool.solve.network", ["build_network", "network_graph"]),
    ("act_pool.solve.optimal", ["solve_optimal", "OptimalPlan"]),
    ("act_pool.solve.sequential", ["solve_sequential"]),
    ("act_pool.report.figures", ["PlotAccessor", "save_figures"]),
    ("act_pool.report.excel", ["write_excel"]),
    ("act_pool.report.html", ["write_html"]),
    ("act_pool.workbook", None),
    ("act_pool.report.outdir", ["check_out_dir", "publish_results"]),
    ("act_pool.lcfs", None),
]
OUT = Path(__file__).resolve().parent / "api.md"


def _section(qualname: str, obj: object) -> list[str]:
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        sig = ""
    kind = "class" if inspect.isclass(obj) else "function"
    lines = [f"### `{qualname}{sig}`", "", f"*{kind}*", "", inspect.getdoc(obj) or "(no docstring)", ""]
    if inspect.isclass(obj):
        for name, member in sorted(vars(obj).items()):
            if name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            if callable(target) and inspect.getdoc(target):
                first = inspect.getdoc(target).splitlines()[0]
                lines.append(f"- `{name}`{' (property)' if isinstance(member, property) else ''}: {first}")
        lines.append("")
    return lines


def build() -> str:
    lines = ["# API reference", "", "Generated from the docstrings by `docs/make_api.py`; do not edit by hand.", ""]
    for module_name, names in PUBLIC:
        module = importlib.import_module(module_name)
        lines += [f"## `{module_name}`", "", (inspect.getdoc(module) or "").split("\n\n")[0], ""]
        for name in names if names is not None else getattr(module, "__all__", []):
            lines += _section(f"{module_name}.{name}", getattr(module, name))
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(build(), encoding="utf-8")
