"""Trades between manufacturers and the purchase option: validated, in the ledger, conserved."""
import subprocess

import pytest

import act_pool
from helpers import row, write_scenario, write_trades

EE = "earliest-expiring"


def scenario_with_trades(tmp_path, trades, rules="act-2025", **keys):
    # Seller S: 200 Class 2b-3 ZEVs in CA MY2024 -> 160.0 credits; owes 200 x 5 % x 0.8 = 8.0 (exemption off).
    # Buyer B: 1000 Class 2b-3 ICE in CA MY2025 -> 1000 x 7 % x 0.8 = 56.0 deficits, no credits.
    sales = [row("CA", 2024, "2b-3", "ZEV", 200, manufacturer="S"), row("CA", 2025, "2b-3", "ICE", 1000, manufacturer="B")]
    path = write_scenario(tmp_path, sales, rules=rules, model_years=[2024, 2025],
                          overrides={"small_manufacturer.max_vehicles": 0}, **keys)
    text = path.read_text().replace('sales = "sales.csv"', f'sales = "sales.csv"\ntrades = "{write_trades(tmp_path, trades)}"')
    path.write_text(text)
    return path


def test_trade_meets_the_buyers_deficits(tmp_path):
    # S sells 50.0 of its MY2024 credits to B in MY2025: B meets 50.0 of its 56.0, 6.0 stay open.
    path = scenario_with_trades(tmp_path, [("S", "B", "CA", 2024, "2b-3", "ZEV", "50.0", 2025)], retirement=EE)
    r = act_pool.run(act_pool.load_scenario(path))
    c = r.compliance.set_index(["manufacturer", "model_year", "group"])
    assert c.loc[("B", 2025, "2b-3"), ["met", "met_by_traded", "unmet"]].tolist() == [500, 500, 60]
    assert c.loc[("S", 2024, "2b-3"), "met"] == 80
    transfer = r.ledger[r.ledger["action"] == "transfer"]
    assert transfer[["manufacturer", "credits", "model_year"]].values.tolist() == [["S", 500, 2025]]
    t = r.conservation
    # S: generated 160.0 = retired 8.0 + traded out 50.0 + closing 102.0; B: traded in 50.0 = retired 50.0
    assert t.loc["S", ["generated", "retired", "traded_out", "closing"]].tolist() == [1600, 80, 500, 1020]
    assert t.loc["B", ["traded_in", "retired", "closing"]].tolist() == [500, 500, 0]
    # the seller holds the credits sold until the trade: in its bank at the end of MY2024, gone after
    b = r.balances.set_index(["manufacturer", "model_year"])["credits"]
    assert b.loc[("S", 2024)].sum() == 1600 - 80
    assert b.loc[("S", 2025)].sum() == 1600 - 80 - 500


def test_selling_credits_not_held_is_an_input_error(tmp_path):
    # S earned 160.0 and owes 8.0 of its own; selling 170.0 is more than it holds.
    path = scenario_with_trades(tmp_path, [("S", "B", "CA", 2024, "2b-3", "ZEV", "170.0", 2025)])
    with pytest.raises(act_pool.InputError) as exc:
        act_pool.run(act_pool.load_scenario(path))
    p = exc.value.problems[0]
    assert (p.file.endswith("trades.csv"), p.row, p.field) == (True, 1, "credits")
    assert "holds 160.0" in p.message
    out = tmp_path / "out"
    cli = subprocess.run(["act-pool", "run", str(path), "--out", str(out)], capture_output=True, text=True)
    assert cli.returncode == 2 and "trades.csv, row 1, field 'credits'" in cli.stderr
    assert not out.exists()


def test_credits_cannot_be_sold_twice_or_before_they_exist(tmp_path):
    trades = [("S", "B", "CA", 2024, "2b-3", "ZEV", "100.0", 2025), ("S", "B", "CA", 2024, "2b-3", "ZEV", "100.0", 2025)]
    with pytest.raises(act_pool.InputError) as exc:
        act_pool.run(act_pool.load_scenario(scenario_with_trades(tmp_path / "a", trades)))
    assert [p.row for p in exc.value.problems] == [2]
    with pytest.raises(act_pool.InputError) as exc:
        act_pool.load_scenario(scenario_with_trades(tmp_path / "b", [("S", "B", "CA", 2025, "2b-3", "ZEV", "1.0", 2024)]))
    assert exc.value.problems[0].field == "model_year"


def test_purchase_option(tmp_path):
    # B's 56.0 deficits, nothing held: at 5,000 USD per credit it buys 56.0 credits for 280,000 USD.
    path = write_scenario(tmp_path, [row("CA", 2025, "2b-3", "ICE", 1000, manufacturer="B")],
                          model_years=[2025, 2025])
    path.write_text(path.read_text() + '\n[purchase]\nprice = 5000\n')
    r = act_pool.run(act_pool.load_scenario(path))
    c = r.compliance.set_index(["manufacturer", "model_year", "group"]).loc[("B", 2025, "2b-3")]
    assert c[["met", "met_by_purchase", "unmet", "status"]].tolist() == [560, 560, 0, "compliant"]
    totals = r.summary()["totals"]
    assert totals["purchased"] == 56.0 and totals["purchase_cost_usd"] == 280000.0
    assert r.conservation.loc["B", ["traded_in", "retired"]].tolist() == [560, 560]


def test_a_capped_trade_moves_what_the_seller_holds(tmp_path):
    # S holds 160.0 CA MY2024 credits and sells 170.0 in MY2025. Capped (Monte Carlo samples), the trade
    # moves all 160.0: B meets its 56.0; S keeps nothing usable for its own 8.0 (MY2024, 3-year make-up: open).
    from dataclasses import replace

    path = scenario_with_trades(tmp_path, [("S", "B", "CA", 2024, "2b-3", "ZEV", "170.0", 2025)], retirement=EE)
    r = act_pool.run(replace(act_pool.load_scenario(path), trades_beyond_holdings="cap"))
    transfer = r.ledger[r.ledger["action"] == "transfer"]
    assert transfer[["manufacturer", "credits", "model_year"]].values.tolist() == [["S", 1600, 2025]]
    c = r.compliance.set_index(["manufacturer", "model_year", "group"])
    assert c.loc[("B", 2025, "2b-3"), ["met", "unmet"]].tolist() == [560, 0]
    assert c.loc[("S", 2024, "2b-3"), ["met", "unmet", "status"]].tolist() == [0, 80, "open"]
    assert r.conservation.loc["S", ["generated", "traded_out", "closing"]].tolist() == [1600, 1600, 0]


def test_a_trade_after_another_emptied_a_lot_draws_on_the_next(tmp_path):
    """Two lots of one kind: the first sold whole by one trade, a later trade draws on the second.

    T: 100 Class 2b-3 ZEVs in CA MY2024 -> 80.0 credits; sells 40.0 of them to S in MY2024.
    S: its own 160.0 earned (a lot) and the 40.0 bought (a second lot, same state, vintage, group and
    type). In MY2025 S sells 160.0 to B (its earned lot, emptied), then 30.0 more (row 3: the bought
    lot). B receives 160.0 + 30.0 = 190.0; S keeps 40.0 - 30.0 = 10.0 for its own 8.0 of MY2024.
    (A first version stopped at the emptied lot: the second trade moved nothing and said nothing.)
    """
    trades = [("T", "S", "CA", 2024, "2b-3", "ZEV", "40.0", 2024), ("S", "B", "CA", 2024, "2b-3", "ZEV", "160.0", 2025),
              ("S", "B", "CA", 2024, "2b-3", "ZEV", "30.0", 2025)]
    sales = [row("CA", 2024, "2b-3", "ZEV", 200, manufacturer="S"), row("CA", 2024, "2b-3", "ZEV", 100, manufacturer="T"),
             row("CA", 2025, "2b-3", "ICE", 1000, manufacturer="B")]
    path = write_scenario(tmp_path, sales, model_years=[2024, 2025], retirement=EE,
                          overrides={"small_manufacturer.max_vehicles": 0})
    path.write_text(path.read_text().replace('sales = "sales.csv"',
                                             f'sales = "sales.csv"\ntrades = "{write_trades(tmp_path, trades)}"'))
    r = act_pool.run(act_pool.load_scenario(path))
    t = r.conservation
    assert t.loc["B", "traded_in"] == 1900 and t.loc["S", ["traded_in", "traded_out"]].tolist() == [400, 1900]
    transfer = r.ledger[(r.ledger["action"] == "transfer") & (r.ledger["manufacturer"] == "S")]
    assert sorted(transfer["credits"].tolist()) == [300, 1600]
    c = r.compliance.set_index(["manufacturer", "model_year", "group"])
    assert c.loc[("S", 2024, "2b-3"), ["met", "unmet"]].tolist() == [80, 0]
    assert c.loc[("B", 2025, "2b-3"), ["met", "unmet"]].tolist() == [560, 0]
