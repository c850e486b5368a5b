"""Least-cost compliance plans: conversions of ICE sales to ZEVs and credit purchases (``[plan]``).

::

    import act_pool
    result = act_pool.plan("scenario.toml")     # the scenario's [plan] table gives the levers
    result.table                                # plan.csv: conversions and purchases, cost in USD
    result.credit_values                        # marginal cost of one more credit of deficit
    result.statement()                          # the re-run's verdict
"""
from act_pool.plan.levers import Levers, parse_levers
from act_pool.plan.planner import plan
from act_pool.plan.result import PlanResult

__all__ = ["Levers", "PlanResult", "parse_levers", "plan"]
