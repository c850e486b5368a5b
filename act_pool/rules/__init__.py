"""Rule sets (ACT 2021, ACT 2025) as data files, and the clauses that read them."""
from act_pool.rules.model import Parameter, RuleSet, bundled_ids, diff, load_rules

__all__ = ["Parameter", "RuleSet", "bundled_ids", "diff", "load_rules"]
