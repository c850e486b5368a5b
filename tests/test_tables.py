"""Result tables as CSV: the fast writer gives pandas' bytes, whatever the text holds."""
import pandas as pd
import pytest

from act_pool.report import tables
from act_pool.report.tables import write_csv

PLAIN = ["Alder Motors", "Über Trucks", " spaced ", "", "=1+1", "x;y", "tab\there"]
NEEDS_QUOTES = ["Acme, Inc.", 'the "big" one', "two\nlines", "cr\rhere"]


@pytest.mark.parametrize("names", [PLAIN, PLAIN + NEEDS_QUOTES[:1], PLAIN + NEEDS_QUOTES[1:2],
                                   PLAIN + NEEDS_QUOTES[2:3], PLAIN + NEEDS_QUOTES[3:]])
def test_write_csv_gives_pandas_bytes(tmp_path, names):
    frame = pd.DataFrame({"manufacturer": pd.array(names, dtype="str"),
                          "model_year": range(2024, 2024 + len(names)),
                          "credits": [f"{i}.5" for i in range(len(names))],
                          "reason": pd.array([None] + ["short"] * (len(names) - 1), dtype="str")})
    write_csv(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_write_csv_takes_the_fast_path_only_where_nothing_needs_quotes(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, *a, **k: calls.append(1))
    write_csv(pd.DataFrame({"manufacturer": pd.array(PLAIN, dtype="str")}), tmp_path / "a.csv")
    assert calls == [] and (tmp_path / "a.csv").exists()
    write_csv(pd.DataFrame({"manufacturer": pd.array(NEEDS_QUOTES, dtype="str")}), tmp_path / "b.csv")
    assert calls == [1]
    assert tables._needs_quotes(pd.DataFrame({"a,b": [1]}), set())
    named = pd.DataFrame({"credits": pd.array(["1,5"], dtype="str")})
    assert tables._needs_quotes(named, set()) and not tables._needs_quotes(named, {"credits"})
