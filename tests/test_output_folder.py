"""Result folders (README, "Result folders"): act-pool never deletes or overwrites a file it did not
write, refuses unusable ``--out`` folders before computing, replaces old results by new ones in one
atomic step, and follows the user's umask."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import act_pool
from act_pool import cli
from act_pool.errors import InputError
from act_pool.report import outdir
from act_pool.report.outdir import MARKER, check_out_dir, publish_results
from act_pool.report.write import result_files, write_results
from helpers import row, write_scenario

ACT_POOL = str(Path(sys.executable).with_name("act-pool"))


def tiny_scenario(folder: Path, ice: int = 1000) -> Path:
    """One manufacturer, one state, one model year: a fast run (``ice`` changes every result file)."""
    return write_scenario(folder, [row("CA", 2025, "2b-3", "ICE", ice), row("CA", 2025, "2b-3", "ZEV", 30)],
                          model_years=[2025, 2025])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes); folders and symbolic links by name."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else b"<dir or link>"
    return out


def leftovers(folder: Path) -> list[str]:
    """Hidden entries in ``folder``: a staging or retired result folder left behind."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def no_computing(monkeypatch) -> None:
    """Make any computation of a run fail the test: the --out check must come first."""
    monkeypatch.setattr(importlib.import_module("act_pool.run"), "run",
                        lambda *a, **k: pytest.fail("computed before checking --out"))


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


@pytest.fixture
def scenario(tmp_path) -> Path:
    return tiny_scenario(tmp_path / "scenario")


@pytest.fixture
def tiny_result(scenario) -> act_pool.Result:
    return act_pool.run(scenario)


def user_files(folder: Path) -> dict[str, bytes]:
    """A user's own files in ``folder``, including a figures/ folder of theirs."""
    files = {"notes.txt": b"my notes\n", "figures/mine.txt": b"my figure notes\n", "deep/a/b.txt": b"deep\n"}
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return files


# --------------------------------------------------------------------------------------------- refusals

def test_a_folder_with_the_users_figures_is_refused_and_kept(tmp_path, scenario, capsys, monkeypatch):
    """The reported data loss: --out naming a folder with the user's own figures/ deleted them."""
    out = tmp_path / "mine"
    out.mkdir()
    files = user_files(out)
    no_computing(monkeypatch)
    code, err = run_cli(["run", str(scenario), "--out", str(out), "--quiet"], capsys)
    assert code == 2
    assert str(out) in err and "did not write" in err and "--force" in err and "Traceback" not in err
    assert {rel: (out / rel).read_bytes() for rel in files} == files
    assert sorted(p.name for p in out.iterdir()) == ["deep", "figures", "notes.txt"]
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("case", ["existing file", "under a file", "dev null", "root", "home", "scenario folder",
                                  "inside the scenario's parent", "non-empty without marker"])
def test_unusable_out_is_refused_before_computing(case, tmp_path, scenario, capsys, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "file.txt").write_text("user data\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.csv").write_text("user data\n")
    out = {"existing file": tmp_path / "file.txt", "under a file": tmp_path / "file.txt" / "results",
           "dev null": Path("/dev/null"), "root": Path("/"), "home": home, "scenario folder": scenario.parent,
           "inside the scenario's parent": tmp_path, "non-empty without marker": tmp_path / "full"}[case]
    before = snapshot(tmp_path)
    no_computing(monkeypatch)
    code, err = run_cli(["run", str(scenario), "--out", str(out), "--quiet"], capsys)
    assert code == 2, err
    assert f"{out}, field '--out'" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before  # nothing written, nothing left beside


def test_root_and_home_are_refused_even_with_force(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for folder in (Path("/"), tmp_path):
        with pytest.raises(InputError, match="root folder|home folder"):
            check_out_dir(folder, force=True)


def test_a_read_only_folder_is_refused(tmp_path, scenario, capsys, monkeypatch):
    """Tests run as root, where permission bits do not stop writes: the check asks ``os.access``,
    which is made to answer "not writable" for the folder here (a real read-only folder is tested
    below when not root)."""
    out = tmp_path / "locked"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == out else real_access(p, mode, **k))
    no_computing(monkeypatch)
    code, err = run_cli(["run", str(scenario), "--out", str(out / "results"), "--quiet"], capsys)
    assert code == 2 and f"{out} is not writable" in err
    assert list(out.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_real_read_only_folder_is_refused(tmp_path, scenario):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        p = subprocess.run([ACT_POOL, "run", str(scenario), "--out", str(out / "r")], capture_output=True, text=True)
    finally:
        out.chmod(0o755)
    assert p.returncode == 2 and "not writable" in p.stderr and list(out.iterdir()) == []


def test_the_command_refuses_a_file_as_out_with_status_2_and_no_traceback(tmp_path):
    """End to end on the default scenario (seconds of computation, skipped: the tests above show
    that nothing is computed before the check)."""
    (tmp_path / "file.txt").write_text("x")
    p = subprocess.run([ACT_POOL, "run", "--out", str(tmp_path / "file.txt")], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "is not a folder" in p.stderr
    assert p.stdout == "" and (tmp_path / "file.txt").read_text() == "x"


@pytest.mark.parametrize("command, foreign", [
    (["run"], "ledger.csv"),
    (["run"], "figures/pooled_flows.svg"),
    (["run", "--graphml"], "network.graphml"),
    (["plan"], "planned_sales.csv"),
    (["plan"], "figures/credit_values.png"),
    (["compare"], "compare.csv"),
])
def test_with_force_a_foreign_file_named_as_a_result_is_refused_before_computing(command, foreign, tmp_path, scenario,
                                                                                 capsys, monkeypatch):
    """--force writes beside the user's files, but one with the name of a file the command writes is
    refused at once (not after the computation), and kept."""
    out = tmp_path / "shared"
    (out / foreign).parent.mkdir(parents=True, exist_ok=True)
    (out / foreign).write_text("the user's own\n")
    before = snapshot(tmp_path)
    no_computing(monkeypatch)
    monkeypatch.setattr("act_pool.compare.run", lambda *a, **k: pytest.fail("computed before checking --out"))
    monkeypatch.setattr(importlib.import_module("act_pool.plan"), "plan",
                        lambda *a, **k: pytest.fail("computed before checking --out"))
    code, err = run_cli([command[0], str(scenario), *command[1:], "--out", str(out), "--force"], capsys)
    assert code == 2, err
    assert f"{out / foreign}, field '--out': was not written by act-pool and a result file has its name" in err
    assert snapshot(tmp_path) == before


def test_with_force_a_file_where_a_result_folder_goes_is_refused_before_computing(tmp_path, scenario, capsys,
                                                                                 monkeypatch):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "figures").write_text("not a folder\n")
    no_computing(monkeypatch)
    code, err = run_cli(["run", str(scenario), "--out", str(out), "--force"], capsys)
    assert code == 2 and f"{out / 'figures'}, field '--out': is a file act-pool did not write" in err
    monkeypatch.undo()
    # the tables alone do not go into figures/: that run is accepted, beside the user's file
    code, err = run_cli(["run", str(scenario), "--out", str(out), "--force", "--tables-only", "--quiet"], capsys)
    assert code == 0, err
    assert (out / "figures").read_text() == "not a folder\n" and (out / "ledger.csv").is_file()


def test_compare_checks_out_first(tmp_path, scenario, capsys, monkeypatch):
    monkeypatch.setattr("act_pool.compare.run", lambda *a, **k: pytest.fail("computed before checking --out"))
    code, err = run_cli(["compare", str(scenario), "--out", str(scenario.parent)], capsys)
    assert code == 2 and "scenario's own folder" in err


# --------------------------------------------------------------------------------------------- writing

def test_marker_names_the_version_and_every_file_written(tmp_path, tiny_result):
    out = write_results(tiny_result, tmp_path / "out")
    marker = json.loads((out / MARKER).read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    assert marker == {"written_by": "act-pool", "version": act_pool.__version__, "files": files}
    assert {"compliance.csv", "results.xlsx", "report.html", "figures/bank_by_state.svg"} <= set(files)
    assert len(files) == 4 + 2 + 8  # tables and summary; workbook and page; 4 figures as PNG and SVG
    assert sorted(result_files()) == files  # what --out is checked for before computing


def test_force_writes_beside_foreign_files_and_a_rerun_keeps_them(tmp_path, tiny_result):
    out = tmp_path / "shared"
    out.mkdir()
    files = user_files(out)
    with pytest.raises(InputError, match="did not write"):
        write_results(tiny_result, out, reports=False)
    write_results(tiny_result, out, force=True)
    assert {rel: (out / rel).read_bytes() for rel in files} == files
    assert (out / "figures" / "bank_by_state.png").is_file() and (out / "compliance.csv").is_file()
    listed = set(json.loads((out / MARKER).read_text())["files"])
    assert not listed & set(files)  # the user's files are not claimed as act-pool's
    # the folder is now marked: a rerun (tables only: figures/ holds only the user's file) needs no
    # --force, replaces act-pool's files and keeps the user's
    (out / "deep" / "empty").mkdir()
    write_results(tiny_result, out, reports=False)
    assert {rel: (out / rel).read_bytes() for rel in files} == files
    assert (out / "deep" / "empty").is_dir()
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["mine.txt"]
    assert not (out / "results.xlsx").exists()  # act-pool's own old report, replaced by the new set
    assert not leftovers(tmp_path)


def test_a_foreign_file_with_a_result_files_name_is_never_replaced(tmp_path, tiny_result):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "summary.json").write_text("the user's own summary\n")
    with pytest.raises(InputError, match="summary.json, field '--out': was not written by act-pool"):
        write_results(tiny_result, out, reports=False, force=True)
    assert (out / "summary.json").read_text() == "the user's own summary\n"
    assert not leftovers(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_the_portable_swap_gives_the_same_folder(tmp_path, tiny_result, monkeypatch):
    """Without renameat2 (not Linux), the old folder is moved aside and the new one into place."""
    out = write_results(tiny_result, tmp_path / "out", reports=False)
    (out / "notes.txt").write_text("mine\n")
    first = snapshot(out)
    monkeypatch.setattr(outdir, "_renameat2_exchange", lambda: None)
    write_results(tiny_result, out, reports=False)
    assert snapshot(out) == first
    assert not leftovers(tmp_path)


def test_a_failure_while_writing_leaves_the_old_results(tmp_path, tiny_result):
    out = write_results(tiny_result, tmp_path / "out", reports=False)
    (out / "notes.txt").write_text("mine\n")
    first = snapshot(out)

    def fail(folder: Path) -> None:
        (folder / "compliance.csv").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish_results(out, fail)
    assert snapshot(out) == first
    assert not leftovers(tmp_path)


def test_result_folder_and_files_follow_the_umask(tmp_path, scenario):
    for umask, folder_mode, file_mode in ((0o022, 0o755, 0o644), (0o027, 0o750, 0o640)):
        out = tmp_path / f"out{umask:o}"
        p = subprocess.run([ACT_POOL, "run", str(scenario), "--out", str(out), "--quiet"], capture_output=True,
                           text=True, umask=umask)
        assert p.returncode == 0, p.stderr
        assert stat.S_IMODE(out.stat().st_mode) == folder_mode
        assert stat.S_IMODE((out / "figures").stat().st_mode) == folder_mode
        for f in out.rglob("*"):
            if f.is_file():
                assert stat.S_IMODE(f.stat().st_mode) == file_mode, f


# --------------------------------------------------------------------------------------------- atomicity

def _complete_set(folder: Path, sets: dict[str, dict[str, bytes]], foreign: dict[str, bytes]) -> str:
    """Which complete result set ``folder`` holds ('A' or 'B'); fails on a mix or a lost user file."""
    got = snapshot(folder)
    for rel, data in foreign.items():
        assert got.pop(rel) == data, f"user file {rel} lost or changed"
    got = {rel: data for rel, data in got.items() if data != b"<dir or link>"}
    matches = [name for name, files in sets.items() if got == files]
    assert matches, f"a mix of result sets: {sorted(got)}"
    return matches[0]


def _staging(parent: Path, name: str) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(f".{name}{outdir._STAGING}")]


def test_killing_a_run_while_it_writes_leaves_the_old_or_the_new_set(tmp_path):
    """SIGKILL a run at moments spread over its write phase (from the moment its new folder appears
    beside the old one to its end): the folder always holds one complete result set, old or new,
    and the user's files in it."""
    scenarios = {"A": tiny_scenario(tmp_path / "sa", ice=1000), "B": tiny_scenario(tmp_path / "sb", ice=2000)}
    sets = {}
    for name, path in scenarios.items():
        ref = tmp_path / f"ref{name}"
        p = subprocess.run([ACT_POOL, "run", str(path), "--out", str(ref), "--quiet"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        sets[name] = snapshot(ref)
        sets[name] = {rel: data for rel, data in sets[name].items() if data != b"<dir or link>"}
    assert sets["A"]["compliance.csv"] != sets["B"]["compliance.csv"]

    parent = tmp_path / "work"
    parent.mkdir()
    out = parent / "out"
    shutil.copytree(tmp_path / "refA", out)
    foreign = user_files(out)

    def start(name: str) -> tuple[subprocess.Popen, float, float]:
        """Start a run; return it, when it started writing (its new folder appeared) and when it began."""
        began = time.monotonic()
        proc = subprocess.Popen([ACT_POOL, "run", str(scenarios[name]), "--out", str(out), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        known = set(_staging(parent, "out"))
        while proc.poll() is None and not set(_staging(parent, "out")) - known:
            time.sleep(0.001)
        return proc, time.monotonic(), began

    # the length of the write phase, from one uninterrupted run
    proc, writing, _ = start("B")
    assert proc.wait() == 0
    write_phase = time.monotonic() - writing
    assert _complete_set(out, sets, foreign) == "B"

    points = 10
    killed_mid_write = outcomes = 0
    for k in range(points):
        current = _complete_set(out, sets, foreign)
        target = "A" if current == "B" else "B"
        proc, writing, _ = start(target)
        time.sleep(max(0.0, writing + write_phase * k / (points - 1) - time.monotonic()))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            if proc.wait() == -signal.SIGKILL and _complete_set(out, sets, foreign) == current:
                killed_mid_write += 1
        else:
            assert proc.returncode == 0
        outcomes += 1
        _complete_set(out, sets, foreign)
    assert outcomes == points and killed_mid_write >= 1
    # a rerun after the kills completes normally; beside the folder are only the hidden leftovers
    # of killed runs (act-pool's own copies)
    p = subprocess.run([ACT_POOL, "run", str(scenarios["A"]), "--out", str(out), "--quiet"], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert _complete_set(out, sets, foreign) == "A"
    assert {p.name for p in parent.iterdir() if not p.name.startswith(f".out{outdir._STAGING}")} == {"out"}
