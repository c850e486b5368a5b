"""Before and after, side by side: the command line of two revisions of act-pool, timed in one run.

Each build is installed on its own (``pip install`` of the revision, so its compiled parts build) in a
temporary virtual environment; the national scenario (benchmarks/national.py) is written once at every
scale; then, over several repeats and alternating between the two builds (A B, then B A, ...) so that
the load of the machine falls on both alike, each build runs as a child process:

- ``act-pool validate NATIONAL`` and ``act-pool run NATIONAL --tables-only --quiet`` at every scale;
- ``act-pool validate DEFAULT`` and ``act-pool run DEFAULT --quiet`` (all reports) on the build's
  own bundled default scenario.

Reported: the median wall time of each command, its peak resident set size (``ru_maxrss`` of the
child, from ``os.wait4``), the ratios run / validate (the cost of a run over the cost of reading its
input), the ratios after / before, and the growth exponent of the national run (the least-squares
slope of log time against log scale), as a markdown table on standard output and as JSON.

Usage (from a checkout, with any Python that has numpy and pandas for writing the national scenario)::

    python benchmarks/compare_revisions.py                      # main against the working tree
    python benchmarks/compare_revisions.py --base v0.1 --head HEAD --repeats 5
    python benchmarks/compare_revisions.py --quick              # a smoke test: scales 1 and 2, one repeat

``--head`` is a git revision, or ``WORKTREE`` (the default: the files of the working tree, tracked and
untracked but not ignored). Builds go into a temporary folder that is removed at the end (``--keep`` to
keep it). The default run (scales 1, 2, 4, 8; three repeats at 1x and of the default scenario, one at
the larger scales) takes about ten minutes on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

WORKTREE = "WORKTREE"
#: Targets of the fast engine, checked on the head build.
TARGETS = {"national_run_over_validate": 2.0, "default_run_over_validate": 4.0, "growth_exponent": 1.05,
           "peak_rss_8x_mib": 600.0}


def growth_exponent(scales: list[float], seconds: list[float]) -> float | None:
    """Least-squares slope of log(seconds) against log(scale): 1 is linear growth. None below two points."""
    import numpy as np

    pts = [(k, s) for k, s in zip(scales, seconds) if k > 0 and s is not None and s > 0]
    if len({k for k, _ in pts}) < 2:
        return None
    return float(np.polyfit(np.log([k for k, _ in pts]), np.log([s for _, s in pts]), 1)[0])


@dataclass
class Build:
    """One revision, installed in its own virtual environment."""

    label: str
    revision: str
    commit: str
    source: Path
    venv: Path

    @property
    def act_pool(self) -> str:
        return str(self.venv / "bin" / "act-pool")

    @property
    def default_scenario(self) -> Path:
        return self.source / "scenarios" / "default" / "scenario.toml"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def export_source(revision: str, folder: Path) -> str:
    """Copy the files of ``revision`` (or of the working tree) into ``folder``; return its commit."""
    folder.mkdir(parents=True)
    if revision == WORKTREE:
        for name in git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0"):
            src = REPO / name
            if name and src.is_file():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, folder / name)
        dirty = git("status", "--porcelain")
        return git("rev-parse", "HEAD") + ("+changes" if dirty else "")
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=REPO, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return git("rev-parse", revision)


def install(label: str, revision: str, root: Path) -> Build:
    """Export ``revision`` and ``pip install`` it (not editable: its compiled parts build) into a new venv."""
    source, venv = root / f"src-{label}", root / f"venv-{label}"
    commit = export_source(revision, source)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run([*pip, str(source)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pip install of {revision} failed:\n{proc.stderr[-3000:]}")
    print(f"{label}: {revision} ({commit[:12]}) installed in {time.perf_counter() - t0:.0f} s", flush=True)
    return Build(label, revision, commit, source, venv)


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident set size (MiB) of one child process; raise if it fails."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}:\n{err.read().decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0  # Linux: KiB


def commands(build: Build, national: dict[int, Path], out: Path) -> dict[str, list[str]]:
    """The commands timed for ``build``, by name."""
    exe = build.act_pool
    cmds = {}
    for k, toml in national.items():
        cmds[f"validate national {k}x"] = [exe, "validate", str(toml)]
        cmds[f"run national {k}x"] = [exe, "run", str(toml), "--out", str(out / f"national-{k}x"),
                                      "--tables-only", "--quiet"]
    cmds["validate default"] = [exe, "validate", str(build.default_scenario)]
    cmds["run default"] = [exe, "run", str(build.default_scenario), "--out", str(out / "default"), "--quiet"]
    return cmds


def repeats_of(name: str, repeats: int, large_repeats: int) -> int:
    """Repeats of one command: ``large_repeats`` for the national scenario above 1x."""
    return large_repeats if "national" in name and not name.endswith(" 1x") else repeats


def measure(builds: list[Build], national: dict[int, Path], root: Path, repeats: int,
            large_repeats: int) -> dict:
    """Time every command of every build, alternating the builds' order from one repeat to the next."""
    samples: dict[str, dict[str, list]] = {b.label: {} for b in builds}
    for rep in range(max(repeats, large_repeats)):
        order = builds if rep % 2 == 0 else builds[::-1]
        for name in commands(builds[0], national, root):
            if rep >= repeats_of(name, repeats, large_repeats):
                continue
            for b in order:
                out = root / f"out-{b.label}-{rep}"
                wall, rss = timed(commands(b, national, out)[name], cwd=root)
                samples[b.label].setdefault(name, []).append({"seconds": wall, "peak_rss_mib": rss})
                shutil.rmtree(out, ignore_errors=True)
            print(f"repeat {rep + 1}: {name}: " + ", ".join(
                f"{b.label} {samples[b.label][name][-1]['seconds']:.2f} s" for b in builds), flush=True)
    return samples


def summarise(builds: list[Build], samples: dict, scales: list[int]) -> dict:
    """Medians, peak memory, the ratios and the growth exponents of every build."""
    out: dict = {}
    for b in builds:
        s = samples[b.label]
        med = {n: statistics.median(x["seconds"] for x in v) for n, v in s.items()}
        rss = {n: max(x["peak_rss_mib"] for x in v) for n, v in s.items()}
        ratios = {f"national {k}x": med[f"run national {k}x"] / med[f"validate national {k}x"] for k in scales}
        ratios["default"] = med["run default"] / med["validate default"]
        out[b.label] = {
            "revision": b.revision, "commit": b.commit, "median_seconds": med, "peak_rss_mib": rss,
            "run_over_validate": ratios,
            "growth_exponent": {what: growth_exponent(scales, [med[f"{what} national {k}x"] for k in scales])
                                for what in ("run", "validate")},
        }
    if len(builds) == 2:
        a, b = (out[x.label]["median_seconds"] for x in builds)
        out["after_over_before"] = {n: b[n] / a[n] for n in a}
    return out


def check_targets(summary: dict, head: str, scales: list[int]) -> list[dict]:
    """The fast engine's targets, measured on the head build."""
    h = summary[head]
    top = max(scales)
    rows = [("national 1x: run --tables-only / validate", h["run_over_validate"].get("national 1x"),
             TARGETS["national_run_over_validate"]),
            ("default scenario: full run / validate", h["run_over_validate"]["default"],
             TARGETS["default_run_over_validate"]),
            (f"growth exponent of the national run, {min(scales)}x-{top}x", h["growth_exponent"]["run"],
             TARGETS["growth_exponent"]),
            ("peak RSS of the national run at 8x, MiB", h["peak_rss_mib"].get("run national 8x"),
             TARGETS["peak_rss_8x_mib"])]
    return [{"what": w, "measured": m, "at_most": t, "met": None if m is None else m <= t} for w, m, t in rows]


def fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def markdown(res: dict) -> str:
    """The figures as markdown tables."""
    base, head = res["builds"][0]["label"], res["builds"][-1]["label"]
    s = res["summary"]
    m = res["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
             f"load average {m['loadavg_start']} at the start, {m.get('loadavg_end')} at the end.", "",
             "| build | revision | commit |", "|---|---|---|"]
    lines += [f"| {b['label']} | {b['revision']} | {b['commit'][:12]} |" for b in res["builds"]]
    lines += ["", f"| command | {base} s | {head} s | {head} / {base} | {base} peak MiB | {head} peak MiB |",
              "|---|---:|---:|---:|---:|---:|"]
    for name in s[base]["median_seconds"]:
        a, b = s[base]["median_seconds"][name], s[head]["median_seconds"][name]
        lines.append(f"| `{name}` | {fmt(a)} | {fmt(b)} | {fmt(b / a)} | {s[base]['peak_rss_mib'][name]:.0f} "
                     f"| {s[head]['peak_rss_mib'][name]:.0f} |")
    lines += ["", f"| run / validate | {base} | {head} |", "|---|---:|---:|"]
    for name in s[base]["run_over_validate"]:
        lines.append(f"| {name} | {fmt(s[base]['run_over_validate'][name])} | "
                     f"{fmt(s[head]['run_over_validate'][name])} |")
    for what in ("run", "validate"):
        lines.append(f"| growth exponent of `{what} national` | {fmt(s[base]['growth_exponent'][what])} | "
                     f"{fmt(s[head]['growth_exponent'][what])} |")
    lines += ["", f"Targets ({head}):", ""]
    for t in res["targets"]:
        mark = "met" if t["met"] else "not met" if t["met"] is False else "not measured"
        lines.append(f"- [{mark}] {t['what']}: {fmt(t['measured'])} (at most {t['at_most']:g})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time two revisions of act-pool side by side.")
    p.add_argument("--base", default="main", help="git revision measured first (default main)")
    p.add_argument("--head", default=WORKTREE, help=f"git revision, or {WORKTREE} (default)")
    p.add_argument("--scales", default="1,2,4,8", help="national scales (default 1,2,4,8)")
    p.add_argument("--repeats", type=int, default=3, help="repeats at 1x and of the default scenario (default 3)")
    p.add_argument("--large-repeats", type=int, default=1, help="repeats above 1x (default 1)")
    p.add_argument("--quick", action="store_true", help="smoke test: scales 1,2 and one repeat")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--out", default=str(HERE / "compare_results.json"), help="JSON results file")
    p.add_argument("--keep", action="store_true", help="keep the temporary builds and scenarios")
    a = p.parse_args(argv)
    if a.quick:
        a.scales, a.repeats, a.large_repeats = "1,2", 1, 1
    scales = sorted(int(x) for x in a.scales.split(","))

    from bench_solvers import machine_info
    from national import write_national

    start = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="act-pool-compare-"))
    try:
        builds = [install("base", a.base, root), install("head", a.head, root)]
        national = {k: write_national(root / f"national-{k}x", k, a.seed) for k in scales}
        res: dict = {"machine": machine_info(), "seed": a.seed, "scales": scales, "repeats": a.repeats,
                     "large_repeats": a.large_repeats,
                     "builds": [{"label": b.label, "revision": b.revision, "commit": b.commit} for b in builds]}
        samples = measure(builds, national, root, a.repeats, a.large_repeats)
        res["machine"]["loadavg_end"] = list(os.getloadavg())
        res["samples"] = samples
        res["summary"] = summarise(builds, samples, scales)
        res["targets"] = check_targets(res["summary"], "head", scales)
        res["total_seconds"] = time.perf_counter() - start
    finally:
        if a.keep:
            print(f"builds and scenarios kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(markdown(res))
    print(f"\ntotal {res['total_seconds']:.0f} s")
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"results written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
