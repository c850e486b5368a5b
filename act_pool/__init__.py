"""act-pool: California's Advanced Clean Trucks credit program (as amended in 2025), simulated.

Load a scenario, run it, read the result tables as pandas DataFrames::

    import act_pool
    result = act_pool.run(act_pool.load_scenario("scenarios/default/scenario.toml"))
    result.compliance          # one row per manufacturer x state x model year x group
"""
__version__ = "0.1.0"

from act_pool.errors import ConservationError, InputError, Problem  # noqa: E402
from act_pool.rules import RuleSet, load_rules  # noqa: E402
from act_pool.run import Result, run  # noqa: E402
from act_pool.scenario import Scenario, default_scenario_path, load_scenario, scenario_from_frames  # noqa: E402
from act_pool.plan import PlanResult, plan  # noqa: E402
from act_pool.sweep import SweepResult, load_sweep, sweep  # noqa: E402

__all__ = ["ConservationError", "InputError", "PlanResult", "Problem", "Result", "RuleSet", "Scenario",
           "SweepResult", "__version__", "default_scenario_path", "load_rules", "load_scenario", "load_sweep",
           "plan", "run", "scenario_from_frames", "sweep"]
