"""Build the optional compiled parts of the solver: the min-cost flow solver (act_pool/solve/_mcf.c)
and the walk that splits its flows into credit lots (act_pool/solve/_walk.c).

Everything else is configured in pyproject.toml. Both extensions are ``optional``: where no C compiler
is available the install still succeeds and act-pool uses its pure-Python fallbacks
(see act_pool/solve/mincost.py and act_pool/solve/split.py).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("act_pool.solve._mcf", ["act_pool/solve/_mcf.c"], optional=True),
                   Extension("act_pool.solve._walk", ["act_pool/solve/_walk.c"], optional=True)])
