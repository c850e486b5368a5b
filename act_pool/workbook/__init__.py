"""Scenario workbooks: a scenario as one .xlsx file that a planner fills in Excel.

:func:`write_template` writes the workbook (empty, or filled from a scenario file),
:func:`load_workbook_scenario` reads and validates one like a scenario file (``load_scenario``
does so for any path ending in ``.xlsx``), and :func:`export_workbook` writes it back as
scenario.toml and CSV tables. The sheets and their columns are in :mod:`act_pool.workbook.layout`.
"""
from act_pool.workbook.export import export_workbook
from act_pool.workbook.read import load_workbook_scenario, read_workbook
from act_pool.workbook.template import write_template

__all__ = ["export_workbook", "load_workbook_scenario", "read_workbook", "write_template"]
