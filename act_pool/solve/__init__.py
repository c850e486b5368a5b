"""Solvers of the compliance problem: the regulatory order and the optimum.

The names of the optimal plan's solvers live here, so that reading a scenario can check them
without importing the solvers (see :mod:`act_pool.solve.optimal`).
"""

#: Solvers of the optimal plan: the compiled network simplex (networkx's where it was not built),
#: and the two references.
SOLVERS = ("simplex", "networkx", "highs")
DEFAULT_SOLVER = "simplex"
