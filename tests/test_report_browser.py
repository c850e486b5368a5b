"""report.html in a real browser: headless Chromium renders it without a console message, shows
the expected headings and figures, runs no script from a scenario's text, and leaves a
screenshot in ``test-artifacts/report.png`` at the repository root for a person to look at.

Skipped (with the reason) where Chromium is not installed: ``apt-get install chromium``.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from act_pool.report.figures import FIGURES
from act_pool.report.html import esc, write_html
from helpers import REPO
from test_report import HOSTILE_MANUFACTURER, default_result, hostile

ARTIFACTS = REPO / "test-artifacts"
WINDOW = (1280, 2000)
HEADINGS = ("Summary", "Assumptions in force", "Compliance by manufacturer and state", "Why each shortfall happened",
            "Figures")
# What a console message or a blocked fetch looks like in Chromium's log (--enable-logging=stderr).
CONSOLE_PROBLEM = re.compile(r":CONSOLE|Uncaught|Refused to|violates the following Content Security Policy|net::ERR_")


def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Chromium not installed: apt-get install chromium")


def run_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a local file, offline, with the console logged to stderr."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           "--disable-default-apps", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--hide-scrollbars", *args, page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def console_problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_PROBLEM.search(line)]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_renders_in_chromium_without_console_errors(tmp_path):
    chromium()
    result = default_result()
    page = write_html(result, tmp_path / "report.html")

    dom = run_chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert not console_problems(dom.stderr), console_problems(dom.stderr)
    html = dom.stdout
    assert f"<h1>{esc(result.scenario.name)}</h1>" in html
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html, heading
    assert html.count("<svg") == len(FIGURES)
    assert "<script" not in html.lower()

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    proc = run_chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}",
                        f"--window-size={WINDOW[0]},{WINDOW[1]}")
    assert not console_problems(proc.stderr), console_problems(proc.stderr)
    assert shot.exists(), f"no screenshot written:\n{proc.stderr[-2000:]}"
    assert png_size(shot) == WINDOW
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one


def test_scenario_markup_stays_text_in_the_browser(tmp_path):
    chromium()
    result = hostile(tmp_path / "scenario")
    page = write_html(result, tmp_path / "report.html")
    dom = run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert not console_problems(dom.stderr), console_problems(dom.stderr)
    html = dom.stdout
    # the browser parsed the manufacturer as text: it serialises it escaped, and made no element of it
    assert esc(HOSTILE_MANUFACTURER) in html
    assert "<script" not in html.lower()
    assert "<img src=\"x\"" not in html and "<img src=x" not in html
