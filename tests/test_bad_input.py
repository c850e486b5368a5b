"""Bad input is refused, and refused well.

Every invalid scenario, sales table, bank table or rule-set override must:

* raise :class:`act_pool.InputError` from :func:`act_pool.load_scenario`, carrying a Problem that
  names the file, the 1-based data row (header not counted; None for a whole-file problem), the
  field, and what was expected;
* make ``act-pool run`` and ``act-pool validate`` exit with status 2, one line per problem on
  standard error (``file, row R, field 'F': message``), no traceback, and no result written
  (CONTRACT.md, "Exit status").

Each case spells out its own scenario.toml, sales.csv and bank.csv text, so a case reads on its
own; the files are written into ``tmp_path`` by :func:`write_files`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import act_pool

ACT_POOL = shutil.which("act-pool") or str(Path(sys.executable).with_name("act-pool"))

SALES_HEADER = "manufacturer,state,model_year,weight_class,powertrain,aer_miles,vehicles"
BANK_HEADER = "manufacturer,state,vintage,group,credit_type,credits"
GOOD_SALES_ROW = "Maker A,CA,2025,tractor,ICE,,300"
GOOD_BANK_ROW = "Maker A,CA,2024,tractor,ZEV,10.5"
BASE_TOML = 'name = "t"\nrules = "act-2025"\nsales = "sales.csv"\n'
#: Model years a credit earned from a state's first deficit year on may be retired after its vintage.
LIFE = int(act_pool.load_rules("act-2025").value("credit_life.model_years"))
BANK_TOML = BASE_TOML + 'bank = "bank.csv"\n'


def table(header: str, *rows: str) -> str:
    """CSV text: a header line and the given data lines."""
    return "\n".join((header, *rows)) + "\n"


def sales(*rows: str) -> str:
    return table(SALES_HEADER, *rows)


def bank(*rows: str) -> str:
    return table(BANK_HEADER, *rows)


@dataclass(frozen=True)
class Case:
    """One bad input and the Problem it must produce."""

    id: str
    toml: str | None          # scenario.toml text (None: the file is not written)
    sales: str | None         # sales.csv text (None: the file is not written)
    bank: str | None          # bank.csv text (None: the file is not written)
    file: str                 # the Problem's file ends with this name
    row: int | None           # the Problem's row (1-based data row), None for a whole-file problem
    field: str | None         # the Problem's field
    phrase: str               # a key phrase of the Problem's message


CASES = [
    # ---- the scenario file itself -------------------------------------------------------------
    Case("missing-scenario-file", None, sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, None, "scenario file not found"),
    Case("malformed-toml", 'name = "t"\nrules = "act-2025\nsales = "sales.csv"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, None, "not valid TOML"),
    Case("missing-name", 'rules = "act-2025"\nsales = "sales.csv"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "name", "required key is missing"),
    Case("missing-rules", 'name = "t"\nsales = "sales.csv"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "rules", "required key is missing"),
    Case("missing-sales-key", 'name = "t"\nrules = "act-2025"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "sales", "required key is missing"),
    Case("unknown-top-level-key", BASE_TOML + "horizon = 2030\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "horizon", "unknown key"),
    # ---- referenced files and their columns ------------------------------------------------------
    Case("missing-sales-file", BASE_TOML, None, None,
         "sales.csv", None, None, "file not found"),
    Case("missing-bank-file", BANK_TOML, sales(GOOD_SALES_ROW), None,
         "bank.csv", None, None, "file not found"),
    Case("sales-missing-column",
         BASE_TOML,
         table("manufacturer,state,model_year,weight_class,powertrain,aer_miles", "Maker A,CA,2025,tractor,ICE,"),
         None, "sales.csv", None, "vehicles", "missing column"),
    Case("sales-unknown-column",
         BASE_TOML,
         table(SALES_HEADER + ",notes", GOOD_SALES_ROW + ",hello"),
         None, "sales.csv", None, "notes", "unknown column"),
    Case("bank-missing-column",
         BANK_TOML, sales(GOOD_SALES_ROW),
         table("manufacturer,state,vintage,group,credit_type", "Maker A,CA,2024,tractor,ZEV"),
         "bank.csv", None, "credits", "missing column"),
    Case("bank-unknown-column",
         BANK_TOML, sales(GOOD_SALES_ROW),
         table(BANK_HEADER + ",source", GOOD_BANK_ROW + ",purchase"),
         "bank.csv", None, "source", "unknown column"),
    # ---- rule set and overrides ------------------------------------------------------------------
    Case("unknown-rule-set", 'name = "t"\nrules = "act-2099"\nsales = "sales.csv"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "rules", "unknown rule set"),
    Case("unknown-override-name", BASE_TOML + '[overrides]\n"nzev_cap.no_such_parameter" = 0.5\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.nzev_cap.no_such_parameter", "unknown rule parameter"),
    Case("override-string-for-number", BASE_TOML + '[overrides]\n"nzev_cap.nontractor_fraction" = "half"\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.nzev_cap.nontractor_fraction", "expected a number"),
    Case("override-above-maximum", BASE_TOML + '[overrides]\n"nzev_cap.nontractor_fraction" = 1.5\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.nzev_cap.nontractor_fraction", "<= 1"),
    Case("override-below-minimum", BASE_TOML + '[overrides]\n"nzev_cap.nontractor_fraction" = -0.1\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.nzev_cap.nontractor_fraction", ">= 0"),
    Case("override-number-for-switch", BASE_TOML + '[overrides]\n"pooling.allowed" = 1\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.pooling.allowed", "expected true or false"),
    # ---- states ----------------------------------------------------------------------------------
    Case("sales-unknown-state", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,ZZ,2025,tractor,ICE,,300"), None,
         "sales.csv", 2, "state", "unknown state 'ZZ'"),
    Case("states-key-unknown-state", BASE_TOML + 'states = ["CA", "ZZ"]\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "states", "unknown state 'ZZ'"),
    # ---- sales rows ------------------------------------------------------------------------------
    Case("unknown-weight-class", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,9,ICE,,300"), None,
         "sales.csv", 2, "weight_class", "unknown weight class '9'"),
    Case("unknown-powertrain", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,tractor,diesel,,300"), None,
         "sales.csv", 2, "powertrain", "unknown powertrain 'diesel'"),
    Case("negative-vehicles", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,ICE,,-5"), None,
         "sales.csv", 2, "vehicles", "vehicles >= 0"),
    Case("fractional-vehicles", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,ICE,,2.5"), None,
         "sales.csv", 2, "vehicles", "whole number of vehicles"),
    Case("non-numeric-model-year", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,twenty,4-5,ICE,,10"), None,
         "sales.csv", 2, "model_year", "integer model year"),
    Case("nzev-without-aer", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,NZEV,,10"), None,
         "sales.csv", 2, "aer_miles", "all-electric range"),
    Case("nzev-aer-zero", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,NZEV,0,10"), None,
         "sales.csv", 2, "aer_miles", "> 0"),
    Case("nzev-aer-negative", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,NZEV,-40,10"), None,
         "sales.csv", 2, "aer_miles", "> 0"),
    Case("aer-on-ice-row", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,ICE,50,10"), None,
         "sales.csv", 2, "aer_miles", "expected empty"),
    Case("aer-on-zev-row", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,ZEV,150,10"), None,
         "sales.csv", 2, "aer_miles", "expected empty"),
    Case("duplicate-sales-rows", BASE_TOML,
         sales(GOOD_SALES_ROW, "Maker A,CA,2026,4-5,ZEV,,10", "Maker A,CA,2025,tractor,ICE,,120"), None,
         "sales.csv", 3, "vehicles", "duplicate of row 1"),
    Case("duplicate-nzev-rows", BASE_TOML,
         sales(GOOD_SALES_ROW, "Maker A,CA,2026,4-5,NZEV,75,10", "Maker A,CA,2026,4-5,NZEV,75,4"), None,
         "sales.csv", 3, "vehicles", "duplicate of row 2"),
    Case("model-year-before-rule-set", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2019,4-5,ICE,,10"), None,
         "sales.csv", 2, "model_year", "outside rule set"),
    Case("model-year-after-rule-set", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2051,4-5,ICE,,10"), None,
         "sales.csv", 2, "model_year", "outside rule set"),
    # ---- bank rows -------------------------------------------------------------------------------
    Case("bank-unknown-group", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,5-6,ZEV,10"),
         "bank.csv", 2, "group", "unknown group '5-6'"),
    Case("bank-unknown-credit-type", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,tractor,PHEV,10"),
         "bank.csv", 2, "credit_type", "unknown credit type 'PHEV'"),
    Case("bank-credits-hundredths", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,4-8,ZEV,1.25"),
         "bank.csv", 2, "credits", "at most a tenth"),
    Case("bank-credits-negative", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,4-8,ZEV,-3"),
         "bank.csv", 2, "credits", "credits >= 0"),
    # ---- run options -----------------------------------------------------------------------------
    Case("pooling-under-act-2021", 'name = "t"\nrules = "act-2021"\nsales = "sales.csv"\npooling = true\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "pooling", "does not allow pooling"),
    Case("optimal-under-act-2021", 'name = "t"\nrules = "act-2021"\nsales = "sales.csv"\nretirement = "optimal"\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "retirement", "fixes the retirement order"),
    Case("retirement-sideways", BASE_TOML + 'retirement = "sideways"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "retirement", "'sideways'"),
    Case("model-years-reversed", BASE_TOML + "model_years = [2030, 2021]\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "model_years", "first <= last"),
    Case("model-years-before-rule-set", BASE_TOML + "model_years = [2019, 2030]\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "model_years", "within the rule set"),
    Case("model-years-after-rule-set", BASE_TOML + "model_years = [2025, 2051]\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "model_years", "within the rule set"),
    # ---- more of the same kinds ------------------------------------------------------------------
    Case("bank-vintage-before-rule-set", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2019,4-8,ZEV,1"),
         "bank.csv", 2, "vintage", "2019"),
    Case("bank-duplicate-rows", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,4-8,ZEV,1", "Maker A,CA,2024,tractor,ZEV,2"),
         "bank.csv", 3, "credits", "duplicate of row 1"),
    Case("empty-manufacturer", BASE_TOML, sales(GOOD_SALES_ROW, ",CA,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "manufacturer", "manufacturer name"),
    # Defects found by this suite and since fixed. Any message wording: phrase "" matches any.
    Case("override-nan", BASE_TOML + '[overrides]\n"nzev_cap.nontractor_fraction" = nan\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.nzev_cap.nontractor_fraction", ""),
    Case("override-infinite", BASE_TOML + '[overrides]\n"makeup.model_years" = inf\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.makeup.model_years", ""),
    Case("override-fraction-for-whole-number", BASE_TOML + '[overrides]\n"makeup.model_years" = 2.5\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.makeup.model_years", ""),
    Case("override-list-of-wrong-items", BASE_TOML + '[overrides]\n"states.CA.paused_model_years" = ["x"]\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.states.CA.paused_model_years", ""),
    # An override too large for the credit network's year keys or integer tenths (was a traceback).
    Case("override-credit-life-of-3000-years", BASE_TOML + '[overrides]\n"credit_life.model_years" = 3000\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.credit_life.model_years", "at most 100 model years"),
    Case("override-makeup-1e300-years", BASE_TOML + '[overrides]\n"makeup.model_years" = 1e300\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.makeup.model_years", "at most 100 model years"),
    Case("override-modifier-1e300", BASE_TOML + '[overrides]\n"weight_class_modifier.tractor" = 1e300\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.weight_class_modifier.tractor", "between -1e+06 and 1e+06"),
    Case("override-low-volume-credits-beyond-int64",
         BASE_TOML + '[overrides]\n"low_volume_tractor.max_credits" = 99999999999999999999\n',
         sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.low_volume_tractor.max_credits", "between -1e+06 and 1e+06"),
    Case("override-early-fixed-states-unknown-state",
         BASE_TOML + '[overrides]\n"credit_life.early_fixed_states" = ["CO", "ZZ"]\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides.credit_life.early_fixed_states", "unknown state 'ZZ'"),
    Case("vehicles-beyond-int64", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2025,4-5,ICE,,99999999999999999999"),
         None, "sales.csv", 2, "vehicles", ""),
    Case("model-year-huge-exponent", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,1e5000,4-5,ICE,,10"), None,
         "sales.csv", 2, "model_year", ""),
    Case("bank-credits-beyond-int64", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2024,4-8,ZEV,1e30"),
         "bank.csv", 2, "credits", ""),
    Case("sales-duplicate-column", BASE_TOML,
         table(SALES_HEADER + ",vehicles", GOOD_SALES_ROW + ",5"), None,
         "sales.csv", None, "vehicles", ""),
    # ---- issue 13: control characters, in every text of the scenario and its tables ----------------
    Case("nul-in-manufacturer", BASE_TOML, sales(GOOD_SALES_ROW, "Maker\x00A,CA,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "manufacturer", "control character U+0000"),
    Case("tab-in-manufacturer", BASE_TOML, sales(GOOD_SALES_ROW, "Maker\tA,CA,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "manufacturer", "control character U+0009"),
    Case("escape-in-manufacturer", BASE_TOML, sales("Maker \x1b[31mA,CA,2025,4-5,ICE,,10"), None,
         "sales.csv", 1, "manufacturer", "control character U+001B"),
    Case("del-in-state", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,C\x7fA,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "state", "control character U+007F"),
    Case("c1-control-in-bank-manufacturer", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker\x85A,CA,2024,4-8,ZEV,1"),
         "bank.csv", 2, "manufacturer", "control character U+0085"),
    Case("nul-in-scenario-name", 'name = "plan\\u0000"\nrules = "act-2025"\nsales = "sales.csv"\n',
         sales(GOOD_SALES_ROW), None, "scenario.toml", None, "name", "control character U+0000"),
    Case("tab-in-description", BASE_TOML + 'description = "a\\tb"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "description", "control character U+0009"),
    Case("control-in-states-list", BASE_TOML + 'states = ["C\\u0001A"]\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "states", "control character U+0001"),
    Case("control-in-override-text", BASE_TOML + '[overrides]\n"rounding.mode" = "x\\u0007"\n',
         sales(GOOD_SALES_ROW), None, "scenario.toml", None, "overrides.rounding.mode", "control character U+0007"),
    # Invisible characters: a byte-order mark inside the file (two files pasted together), direction
    # overrides, zero-width spaces: names that look alike, or text shown in another order.
    Case("bom-inside-the-sales-file", BASE_TOML, sales(GOOD_SALES_ROW, "\ufeffMaker A,CA,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "manufacturer", "invisible character U+FEFF"),
    Case("direction-override-in-bank-manufacturer", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker \u202eA,CA,2024,4-8,ZEV,1"),
         "bank.csv", 2, "manufacturer", "invisible character U+202E"),
    Case("zero-width-space-in-state", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA\u200b,2025,4-5,ICE,,10"), None,
         "sales.csv", 2, "state", "invisible character U+200B"),
    Case("direction-isolate-in-scenario-name", 'name = "plan\\u2066x"\nrules = "act-2025"\nsales = "sales.csv"\n',
         sales(GOOD_SALES_ROW), None, "scenario.toml", None, "name", "invisible character U+2066"),
    # ---- issue 13: sizes and shapes --------------------------------------------------------------
    Case("field-of-200000-characters", BASE_TOML, sales(GOOD_SALES_ROW, "M" * 200_000 + ",CA,2025,4-5,ICE,,10"),
         None, "sales.csv", 2, "manufacturer", "200000 characters, more than the limit"),
    Case("toml-nested-thousands-deep", BASE_TOML + "description = " + "[" * 5000 + "]" * 5000 + "\n",
         sales(GOOD_SALES_ROW), None, "scenario.toml", None, None, "nested more than"),
    Case("toml-nested-too-deep-to-use", BASE_TOML + "[overrides]\nx = " + "[" * 40 + "]" * 40 + "\n",
         sales(GOOD_SALES_ROW), None, "scenario.toml", None, "overrides", "nested more than"),
    Case("sales-header-without-rows", BASE_TOML, sales(), None, "sales.csv", None, None, "no data rows"),
    Case("sales-row-too-many-fields", BASE_TOML, sales(GOOD_SALES_ROW, "Maker A,CA,2026,4-5,ICE,,10,extra"),
         None, "sales.csv", 2, None, "8 fields, expected 7"),
    Case("sales-row-too-few-fields", BASE_TOML, sales("Maker A,CA,2026,4-5", GOOD_SALES_ROW), None,
         "sales.csv", 1, None, "4 fields, expected 7"),
    Case("sales-is-a-device", BASE_TOML.replace('"sales.csv"', '"/dev/zero"'), None, None,
         "/dev/zero", None, None, "expected a regular file"),
    # ---- issue 13: keys of the wrong type name the scenario file and the key ------------------------
    Case("sales-is-a-list", BASE_TOML.replace('sales = "sales.csv"', 'sales = ["sales.csv"]'), sales(GOOD_SALES_ROW),
         None, "scenario.toml", None, "sales", "expected the name of a CSV file"),
    Case("sales-is-a-number", BASE_TOML.replace('sales = "sales.csv"', "sales = 5"), sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "sales", "expected the name of a CSV file"),
    Case("bank-is-a-number", BASE_TOML + "bank = 5\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "bank", "expected the name of a CSV file"),
    Case("trades-is-a-table", BASE_TOML + "trades = {file = 'trades.csv'}\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "trades", "expected the name of a CSV file"),
    Case("rules-is-a-list", BASE_TOML.replace('rules = "act-2025"', 'rules = ["act-2025"]'), sales(GOOD_SALES_ROW),
         None, "scenario.toml", None, "rules", "expected a bundled rule-set id or the path of a rule-set file"),
    Case("rules-is-empty", BASE_TOML.replace('rules = "act-2025"', 'rules = " "'), sales(GOOD_SALES_ROW),
         None, "scenario.toml", None, "rules", "expected a bundled rule-set id or the path of a rule-set file"),
    Case("name-is-a-number", BASE_TOML.replace('name = "t"', "name = 5"), sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "name", "expected a non-empty string"),
    Case("model-years-as-text", BASE_TOML + 'model_years = ["2025", "2026"]\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "model_years", "expected [first, last]"),
    Case("states-as-text", BASE_TOML + 'states = "CA"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "states", "expected a non-empty list"),
    Case("pooling-as-text", BASE_TOML + 'pooling = "yes"\n', sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "pooling", "expected true or false"),
    Case("retirement-as-number", BASE_TOML + "retirement = 5\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "retirement", "got 5"),
    Case("retirement-list-of-tables", BASE_TOML + "retirement = [{a = 1}]\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "retirement", "unknown preference"),
    Case("overrides-as-number", BASE_TOML + "overrides = 0\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "overrides", "expected a table"),
    Case("purchase-price-nan", BASE_TOML + "[purchase]\nprice = nan\n", sales(GOOD_SALES_ROW), None,
         "scenario.toml", None, "purchase.price", "expected a price >= 0"),
    # ---- issue 13: opening balances must be earned before the run and still usable in it ------------
    Case("bank-vintage-is-the-first-simulated-year", BANK_TOML, sales(GOOD_SALES_ROW),
         bank(GOOD_BANK_ROW, "Maker A,CA,2025,4-8,ZEV,1"),
         "bank.csv", 2, "vintage", "not before the first simulated model year 2025"),
    Case("bank-vintage-after-the-first-simulated-year", BANK_TOML, sales(GOOD_SALES_ROW),
         bank("Maker A,CA,2027,4-8,ZEV,1"),
         "bank.csv", 1, "vintage", "not before the first simulated model year 2025"),
    # A CA credit of MY2024 (CA's first deficit year, so not early action) is usable through
    # 2024 + credit_life.model_years (13 CCR §1963.2(g)); the run starts the year after.
    Case("bank-expired-before-the-run", BANK_TOML,
         sales(f"Maker A,CA,{2025 + LIFE},tractor,ICE,,300"), bank("Maker A,CA,2024,4-8,ZEV,1"),
         "bank.csv", 1, "vintage", f"usable through model year {2024 + LIFE}, before the first simulated"),
]


def _params(cases: list[Case]) -> list:
    return [pytest.param(c, id=c.id) for c in cases]


def write_files(folder: Path, case: Case) -> Path:
    """Write the case's files into ``folder``; return the scenario path (which may not exist)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("scenario.toml", case.toml), ("sales.csv", case.sales), ("bank.csv", case.bank)):
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder / "scenario.toml"


def find_problem(problems: list[act_pool.Problem], case: Case) -> act_pool.Problem:
    """The problem at the case's file, row and field, whose message holds the key phrase."""
    at = [p for p in problems if p.file.endswith(case.file) and p.row == case.row and p.field == case.field]
    assert at, f"no problem at {case.file}, row {case.row}, field {case.field!r}; got {problems}"
    matching = [p for p in at if case.phrase in p.message]
    assert matching, f"no message with {case.phrase!r} at {case.file}/{case.row}/{case.field}; got {at}"
    return matching[0]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ACT_POOL, *args], capture_output=True, text=True, timeout=120)


def assert_cli_refuses(proc: subprocess.CompletedProcess, case: Case) -> None:
    """Exit 2, a header line, the problem's line naming file/row/field, and no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "invalid input" in proc.stderr
    lines = [ln.strip() for ln in proc.stderr.splitlines()]
    ok = []
    for ln in lines:
        if case.file not in ln or case.phrase not in ln:
            continue
        if (case.row is None) == (", row " in ln):
            continue
        if case.row is not None and f", row {case.row}," not in ln and f", row {case.row}:" not in ln:
            continue
        if (case.field is None) == ("field '" in ln):
            continue
        if case.field is not None and f"field '{case.field}'" not in ln:
            continue
        ok.append(ln)
    assert ok, f"no stderr line names {case.file}, row {case.row}, field {case.field!r}:\n{proc.stderr}"


def assert_nothing_written(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), sorted(os.listdir(out))
    # and no half-written temporary folder beside it
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert not leftovers, leftovers


# ---- the Python API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(CASES))
def test_load_scenario_reports_the_problem(tmp_path, case):
    scenario = write_files(tmp_path / "in", case)
    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(scenario)
    problems = info.value.problems
    assert problems, "InputError without problems"
    find_problem(problems, case)
    for p in problems:
        assert isinstance(p, act_pool.Problem)
        assert p.file and p.message
        assert p.row is None or p.row >= 1


def test_the_good_base_files_are_valid(tmp_path):
    """The cases' shared good rows load: each case fails for its own bad input only."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text(BANK_TOML, encoding="utf-8")
    (folder / "sales.csv").write_text(sales(GOOD_SALES_ROW, "Maker A,CA,2026,4-5,NZEV,75,10"), encoding="utf-8")
    (folder / "bank.csv").write_text(bank(GOOD_BANK_ROW), encoding="utf-8")
    sc = act_pool.load_scenario(folder / "scenario.toml")
    assert len(sc.sales) == 2 and len(sc.bank) == 1
    assert sc.rules.id == "act-2025" and sc.states == ("CA",)


# ---- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(CASES))
def test_cli_run_exits_2_and_writes_nothing(tmp_path, case):
    scenario = write_files(tmp_path / "in", case)
    (tmp_path / "results").mkdir()
    out = tmp_path / "results" / "out"
    proc = cli("run", str(scenario), "--out", str(out))
    assert_cli_refuses(proc, case)
    assert_nothing_written(out)


#: One case of each kind for ``act-pool validate`` (``act-pool run`` above takes every case).
VALIDATE_SUBSET = {
    "missing-scenario-file", "malformed-toml", "missing-name", "unknown-top-level-key", "missing-sales-file",
    "missing-bank-file", "sales-missing-column", "sales-unknown-column", "unknown-rule-set",
    "unknown-override-name", "override-above-maximum", "sales-unknown-state", "states-key-unknown-state",
    "fractional-vehicles", "non-numeric-model-year", "nzev-aer-zero", "aer-on-ice-row", "duplicate-sales-rows",
    "model-year-after-rule-set", "bank-credits-hundredths", "bank-unknown-group", "pooling-under-act-2021",
    "optimal-under-act-2021", "retirement-sideways", "model-years-reversed", "override-nan",
    "override-list-of-wrong-items", "vehicles-beyond-int64", "sales-duplicate-column",
    "nul-in-manufacturer", "nul-in-scenario-name", "field-of-200000-characters", "toml-nested-thousands-deep",
    "sales-header-without-rows", "sales-row-too-many-fields", "sales-is-a-device", "sales-is-a-list",
    "sales-is-a-number", "retirement-list-of-tables", "purchase-price-nan",
    "bank-vintage-is-the-first-simulated-year", "bank-expired-before-the-run",
}


@pytest.mark.parametrize("case", _params([c for c in CASES if c.id in VALIDATE_SUBSET]))
def test_cli_validate_exits_2(tmp_path, case):
    scenario = write_files(tmp_path / "in", case)
    proc = cli("validate", str(scenario))
    assert_cli_refuses(proc, case)
    assert "valid (" not in proc.stdout


def test_failed_run_leaves_existing_results_byte_identical(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text(BASE_TOML, encoding="utf-8")
    (folder / "sales.csv").write_text(sales(GOOD_SALES_ROW, "Maker A,ZZ,2025,tractor,ICE,,300"), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    old = {
        "compliance.csv": b"manufacturer,state,model_year,group,deficits\r\nOld Maker,CA,2024,tractor,12.3\r\n",
        "summary.json": b'{"scenario": "an older run"}\n',
    }
    for name, data in old.items():
        (out / name).write_bytes(data)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}

    proc = cli("run", str(folder / "scenario.toml"), "--out", str(out))

    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "sales.csv, row 2, field 'state'" in proc.stderr
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


# ---- several problems at once; a good scenario -------------------------------------------------------


def test_validate_subset_names_real_cases():
    assert VALIDATE_SUBSET <= {c.id for c in CASES}


def test_every_problem_is_reported_at_once_in_row_order(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text(BASE_TOML, encoding="utf-8")
    (folder / "sales.csv").write_text(sales(
        GOOD_SALES_ROW,                        # row 1: good
        "Maker A,CA,twenty,4-5,ICE,,10",       # row 2: model_year not a number
        "Maker A,ZZ,2025,4-5,ICE,,10",         # row 3: unknown state
        "Maker A,CA,2025,2b-3,ICE,,-1",        # row 4: negative vehicles
    ), encoding="utf-8")

    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(folder / "scenario.toml")
    got = [(Path(p.file).name, p.row, p.field) for p in info.value.problems]
    assert got == [("sales.csv", 2, "model_year"), ("sales.csv", 3, "state"), ("sales.csv", 4, "vehicles")]

    proc = cli("validate", str(folder / "scenario.toml"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "act-pool: invalid input (3 problems):"
    assert [ln.strip().split(": ", 1)[0].rsplit("/", 1)[-1] for ln in lines[1:]] == [
        "sales.csv, row 2, field 'model_year'",
        "sales.csv, row 3, field 'state'",
        "sales.csv, row 4, field 'vehicles'",
    ]


def test_problems_of_scenario_sales_and_bank_are_reported_together(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text(BANK_TOML + 'states = ["CA", "ZZ"]\n', encoding="utf-8")
    (folder / "sales.csv").write_text(sales(GOOD_SALES_ROW, "Maker A,CA,2025,9,ICE,,10"), encoding="utf-8")
    (folder / "bank.csv").write_text(bank(GOOD_BANK_ROW, "Maker A,CA,2024,4-8,ZEV,1.25"), encoding="utf-8")

    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(folder / "scenario.toml")
    got = {(Path(p.file).name, p.row, p.field) for p in info.value.problems}
    assert {("sales.csv", 2, "weight_class"), ("bank.csv", 2, "credits"), ("scenario.toml", None, "states")} <= got


def test_rule_set_file_missing_parameters_is_an_input_error(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text('name = "t"\nrules = "my-rules.toml"\nsales = "sales.csv"\n', encoding="utf-8")
    (folder / "my-rules.toml").write_text('id = "mine"\ntitle = "no parameters at all"\n', encoding="utf-8")
    (folder / "sales.csv").write_text(sales(GOOD_SALES_ROW), encoding="utf-8")

    with pytest.raises(act_pool.InputError) as info:
        act_pool.load_scenario(folder / "scenario.toml")
    assert any(p.file.endswith(("my-rules.toml", "scenario.toml")) and p.field for p in info.value.problems)

    proc = cli("validate", str(folder / "scenario.toml"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cli_validate_accepts_a_good_scenario(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scenario.toml").write_text(BANK_TOML, encoding="utf-8")
    (folder / "sales.csv").write_text(sales(GOOD_SALES_ROW, "Maker A,CA,2026,4-5,NZEV,75,10"), encoding="utf-8")
    (folder / "bank.csv").write_text(bank(GOOD_BANK_ROW), encoding="utf-8")

    proc = cli("validate", str(folder / "scenario.toml"))

    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    assert proc.stderr == ""


def test_cli_run_with_an_empty_scenario_path_is_refused(tmp_path):
    """An empty path is a mistake (an unset shell variable), not a request for the default scenario."""
    for path in ("", "  "):
        proc = subprocess.run([ACT_POOL, "run", path, "--out", str(tmp_path / "out")], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "scenario path is empty" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()
