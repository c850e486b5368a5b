"""The scenario workbook's layout: its sheets, their columns and the keys of the key-value sheets.

The template writer and the reader both follow these names, so a workbook act-pool writes is one it
reads. The table sheets carry the columns of the CSV tables (:mod:`act_pool.scenario`); the
``Scenario`` sheet carries the other keys of a scenario file, one per row.
"""
from __future__ import annotations

from act_pool.scenario import BANK_COLUMNS, SALES_COLUMNS, TRADE_COLUMNS

SCENARIO_SHEET = "Scenario"
SALES_SHEET = "Sales"
BANK_SHEET = "Bank"
TRADES_SHEET = "Trades"
OVERRIDES_SHEET = "Overrides"
PLAN_SHEET = "Plan"
README_SHEET = "Read me"

#: Every sheet, in the workbook's order.
SHEETS = (SCENARIO_SHEET, SALES_SHEET, BANK_SHEET, TRADES_SHEET, OVERRIDES_SHEET, PLAN_SHEET, README_SHEET)
#: Sheets a workbook must have; the others may be deleted when unused.
REQUIRED_SHEETS = (SCENARIO_SHEET, SALES_SHEET)

KEY_VALUE_COLUMNS = ("key", "value")
OVERRIDE_COLUMNS = ("parameter", "value", "from_model_year")

#: Columns of each table sheet, and those that may be left out of its header.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    SALES_SHEET: SALES_COLUMNS,
    BANK_SHEET: BANK_COLUMNS,
    TRADES_SHEET: TRADE_COLUMNS,
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    SALES_SHEET: ("aer_miles",),
    SCENARIO_SHEET: (),
    BANK_SHEET: (),
    TRADES_SHEET: (),
    OVERRIDES_SHEET: ("from_model_year",),
    PLAN_SHEET: (),
}

#: Columns that hold numbers (a date there is refused as a number, not as text turned into a date).
NUMBER_COLUMNS = frozenset({"model_year", "vehicles", "aer_miles", "vintage", "credits"})

#: What each column holds: the note on its header cell.
COLUMN_NOTES: dict[str, str] = {
    "manufacturer": "Manufacturer of record.",
    "state": "Two-letter code of an ACT state (drop-down).",
    "model_year": "Model year, a whole number within the rule set's range.",
    "weight_class": "2b-3, 4-5, 6-7, 8 (Class 8 non-tractor) or tractor (Class 7-8 tractor).",
    "powertrain": "ICE (anything that is neither), ZEV or NZEV.",
    "aer_miles": "All-electric range in miles: > 0 for an NZEV, empty otherwise.",
    "vehicles": "Vehicles produced and delivered for sale in that state, a whole number >= 0.",
    "vintage": "Model year in which the credits were earned.",
    "group": "Credit group: 2b-3, 4-8 or tractor.",
    "credit_type": "ZEV or NZEV.",
    "credits": "Credits, to at most a tenth.",
    "seller": "Manufacturer transferring the credits.",
    "buyer": "Manufacturer receiving the credits.",
    "parameter": "A rule-set parameter by the name 'act-pool rules show' prints (drop-down).",
    "value": "The value: a number, TRUE/FALSE, a text, or a TOML value such as [2025, 2026].",
    "from_model_year": "Empty: the value holds for every model year. A model year: the schedule "
                       "changes from that model year on (one row per year).",
    "key": "The scenario setting named in this row.",
}
TRADE_NOTES = {"state": "State whose credits are transferred (drop-down).", "credits": "Credits transferred, > 0, "
               "to at most a tenth.", "model_year": "Model year at whose start the transfer is made."}

#: Keys of the ``Scenario`` sheet, in order, with what each holds.
SCENARIO_KEYS: dict[str, str] = {
    "name": "The scenario's name, printed in every result (required).",
    "description": "Free text.",
    "rules": "act-2021, act-2025, or the path of a rule-set file, relative to this workbook (required).",
    "model_years": "First and last model year simulated, e.g. 2021-2035 (default: the years in the sales).",
    "states": "The states simulated, e.g. CA, NY (default: every state in the sales).",
    "pooling": "TRUE or FALSE (default: what the rule set allows).",
    "retirement": "optimal, earliest-expiring, or an order of preferences such as zev-first, oldest-first.",
    "purchase.price": "USD per credit at which manufacturers may buy credits to cover what stays unmet.",
    "purchase.manufacturers": "Who may buy, separated by semicolons (default: everyone).",
}
#: Keys whose value is a list: the separator written between items. Reading, states and
#: preferences are also split at semicolons and spaces; manufacturer names (which may hold commas
#: and spaces) only at semicolons.
LIST_SEPARATORS = {"states": ",", "purchase.manufacturers": ";", "retirement": ","}

#: Keys of the ``Plan`` sheet listed in a new template (the ``[plan]`` table of ``act-pool plan``).
PLAN_KEYS: dict[str, str] = {
    "zev_cost.2b-3": "USD per Class 2b-3 ICE vehicle turned into a ZEV (empty: not converted).",
    "zev_cost.4-5": "USD per Class 4-5 ICE vehicle turned into a ZEV.",
    "zev_cost.6-7": "USD per Class 6-7 ICE vehicle turned into a ZEV.",
    "zev_cost.8": "USD per Class 8 non-tractor ICE vehicle turned into a ZEV.",
    "zev_cost.tractor": "USD per Class 7-8 tractor ICE vehicle turned into a ZEV.",
    "max_zev_share": "Cap on the ZEV share of sales after conversions, 0 to 1; per class, state or model "
                     "year as max_zev_share.CA, max_zev_share.tractor, max_zev_share.2030.",
    "credit_price": "USD per credit bought (empty: purchases forbidden).",
    "allow_open": "TRUE: deficits may stay open past the horizon within their make-up period.",
}

#: What each sheet is for (the ``Read me`` sheet).
SHEET_NOTES: dict[str, str] = {
    SCENARIO_SHEET: "The scenario's settings, one key per row (the keys of a scenario TOML file).",
    SALES_SHEET: "The sales plan: one row per manufacturer, state, model year, weight class and powertrain.",
    BANK_SHEET: "Opening credit balances (optional; leave empty for none).",
    TRADES_SHEET: "Credits transferred between manufacturers (optional).",
    OVERRIDES_SHEET: "Rule-set parameters replaced by this scenario; each becomes an assumption in the results.",
    PLAN_SHEET: "The levers of 'act-pool plan': costs of turning ICE vehicles into ZEVs, caps, credit price.",
    README_SHEET: "This sheet; act-pool does not read it.",
}
