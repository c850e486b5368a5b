"""Build the optional compiled min-cost flow solver (act_pool/solve/_mcf.c).

Everything else is configured in pyproject.toml. The extension is ``optional``: where no C compiler
is available the install still succeeds and act-pool solves with its pure-Python fallback
(see act_pool/solve/mincost.py).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("act_pool.solve._mcf", ["act_pool/solve/_mcf.c"], optional=True)])
