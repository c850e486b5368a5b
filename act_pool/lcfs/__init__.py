"""LCFS companion: California Low Carbon Fuel Standard credits (17 CCR §§95480-95503, as amended 2024).

- :func:`calculate` credits or deficits for one quantity of fuel (§95486.1(a));
- :func:`fleet_value` the credits and their value from an ACT scenario's California ZEV trucks;
- :func:`pool_credits` a fuel supplier's credits and deficits by quarter, with the crop-oil cap.

Every regulatory number is in the rule set ``lcfs-2025`` (:func:`load_lcfs_rules`), with its
source and confidence; plots are in :mod:`act_pool.lcfs.plot`.
"""
from act_pool.lcfs.calc import (Credit, application, benchmark, calculate, credits, default_ci, energy_mj,
                                load_lcfs_rules, parse_announcements)
from act_pool.lcfs.fleet import fleet_by_year, fleet_value
from act_pool.lcfs.pool import PoolResult, pool_credits, read_volumes

__all__ = ["Credit", "PoolResult", "application", "benchmark", "calculate", "credits", "default_ci",
           "energy_mj", "fleet_by_year", "fleet_value", "load_lcfs_rules", "parse_announcements",
           "pool_credits", "read_volumes"]
