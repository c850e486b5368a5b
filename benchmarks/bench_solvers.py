"""Benchmarks of the act-pool pipeline on the synthetic national scenario (benchmarks/national.py).

Run on its own (no pytest)::

    . .venv/bin/activate   # a virtual environment with act-pool installed
    python benchmarks/bench_solvers.py                 # 1x, 2x, 4x, 8x within an 11 min budget
    python benchmarks/bench_solvers.py --full          # every scale, whatever it takes
    python benchmarks/bench_solvers.py --scales 1,2 --repeats 3,3 --budget 0
    python benchmarks/bench_solvers.py --profile       # also a cProfile of the 1x run (benchmarks/profile_1x.txt)

What is timed, at each scale k (15 k manufacturers, see national.py), each in a fresh child process
so that its peak memory is its own:

- ``load``: ``act_pool.load_scenario`` of the written scenario folder (TOML + CSV read and validated);
- ``obligations``: ``compute_obligations``; ``problem``: ``build_problem``;
- ``run``: the whole optimal run, ``act_pool.run(scenario)`` with ``retirement = "optimal"``
  (the default solver, the compiled network simplex), from the loaded Scenario to the checked
  result (no files written);
- ``arcs``, ``solve``, ``split``: the time spent inside that run in ``build_arcs`` (every
  manufacturer's network as arrays), ``solve_flows`` (summed over the manufacturers) and
  ``flows_to_movements`` (the functions are wrapped with a timer for the run; the wrapper costs
  microseconds);
- ``highs_ref``: the HiGHS reference solver (lexicographic stages) on every manufacturer's network,
  run after the whole run, summed; its unmet, expired, flexibility and pooled-out totals are checked
  against the run's. The graph sizes reported (nodes, arcs) are of these networks.

Each figure is the median over the repeats. Memory: the child's peak resident set size,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (Linux: KiB), read right after the timed runs
(``peak_rss_run``: generation, load and the runs) and at the child's end (``peak_rss_end``: plus
network simplex, one manufacturer's graph at a time). It includes the interpreter and libraries (``rss_baseline``).
The growth exponent of a stage is the least-squares slope of log(median time) against
log(graph nodes) over the scales measured (the nodes grow linearly with k; the slope against k
is reported as well).

Budget: by default the script predicts each next scale's cost from the last one measured (time
times the growth so far) and lowers its repeats, or skips the scale, to stay within ``--budget``
seconds (660); 1x always runs its full repeats. Skipped scales are listed, with the prediction.
Results are printed and written to benchmarks/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

STAGES = ("load", "obligations", "problem", "arcs", "solve", "highs_ref", "split", "run")
LABELS = {"load": "load", "obligations": "oblig.", "problem": "problem", "arcs": "arcs", "solve": "solve",
          "highs_ref": "HiGHS ref.", "split": "split", "run": "run"}
DEFAULT_REPEATS = {1: 3, 2: 1, 4: 1, 8: 1}
TARGETS = {"run_1x_seconds": 2.0, "growth_exponent": 1.2, "peak_rss_8x_mib": 1024.0, "default_run_seconds": 30.0}


# --------------------------------------------------------------------------------------------- child
def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _timed(fn, acc: dict, key: str):
    """``fn`` adding its wall time to ``acc[key]`` and its CPU time to ``acc[key + "_cpu"]``."""
    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            acc[key] = acc.get(key, 0.0) + time.perf_counter() - t
            acc[key + "_cpu"] = acc.get(key + "_cpu", 0.0) + time.process_time() - c
    return wrapper


class _Clock:
    """Wall (perf_counter) and CPU (process_time, all threads) seconds of a ``with`` block."""

    def __enter__(self) -> Self:
        self.t, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.c


def _tier_totals(arcs, maker: int, flow) -> list[int]:
    """Unmet, expired, flexibility and pooled-out totals (tenths) of one manufacturer's flow."""
    from act_pool.solve.mincost import tier_flags

    part = arcs.part(maker)[1]
    return [int(x) for x in tier_flags(arcs, part).astype("int64") @ flow]


def child(scale: int, repeats: int, seed: int) -> dict:
    """Measure one scale in this process; return the figures (see the module docstring)."""
    rss_baseline = _maxrss_mib()
    from national import national_frames, national_scenario, write_national

    import act_pool
    from act_pool.obligations import compute_obligations
    from act_pool.solve import optimal
    from act_pool.solve.mincost import solve_flows
    from act_pool.solve.problem import build_problem

    rss_imports = _maxrss_mib()
    out: dict = {"scale": scale, "repeats": repeats, "times": {s: [] for s in STAGES},
                 "cpu": {s: [] for s in STAGES}, "breakdown": []}

    def record(stage: str, clock: _Clock) -> None:
        out["times"][stage].append(clock.wall)
        out["cpu"][stage].append(clock.cpu)

    with _Clock() as c:
        sales, _bank = national_frames(scale, seed)
    out["generate_seconds"] = c.wall
    tmp = Path(tempfile.mkdtemp(prefix=f"act-national-{scale}x-"))
    try:
        toml = write_national(tmp, scale, seed)
        with _Clock() as c:
            national_scenario(scale, seed)
        out["from_frames_seconds"] = c.wall  # scenario_from_frames, once
        for _ in range(repeats):
            with _Clock() as c:
                scenario = act_pool.load_scenario(toml)
            record("load", c)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["manufacturers"] = int(sales["manufacturer"].nunique())
    out["sales_rows"] = len(sales)
    for _ in range(repeats):
        with _Clock() as c:
            obligations = compute_obligations(scenario)
        record("obligations", c)
    for _ in range(repeats):
        with _Clock() as c:
            problem = build_problem(scenario, obligations)
        record("problem", c)
    out["obligation_rows"] = len(obligations)
    out["credit_lots"] = len(problem.lots)

    # The whole optimal run, with the time inside its stages.
    run_mod = sys.modules["act_pool.run"]
    originals = {(optimal, "build_arcs"): optimal.build_arcs, (optimal, "solve_flows"): optimal.solve_flows,
                 (optimal, "flows_to_movements"): optimal.flows_to_movements}
    for name in ("compute_obligations", "build_problem", "build_ledger", "compliance_view", "balances_view",
                 "why_short", "check_conservation", "purchase_movements"):
        originals[(run_mod, name)] = getattr(run_mod, name)

    result = None
    for _ in range(repeats):
        acc: dict = {}
        for (mod, name), fn in originals.items():
            setattr(mod, name, _timed(fn, acc, name))
        try:
            result = None
            with _Clock() as c:
                result = act_pool.run(scenario, keep_network=True)  # keeps the arrays and flows (for the check)
            acc["run"], acc["run_cpu"] = c.wall, c.cpu
        finally:
            for (mod, name), fn in originals.items():
                setattr(mod, name, fn)
        for stage, key in (("run", "run"), ("arcs", "build_arcs"), ("solve", "solve_flows"),
                           ("split", "flows_to_movements")):
            out["times"][stage].append(acc.get(key, 0.0))
            out["cpu"][stage].append(acc.get(key + "_cpu", 0.0))
        out["breakdown"].append(acc)
    out["peak_rss_run_mib"] = _maxrss_mib()
    comp = result.compliance
    out["compliance_status"] = {str(k): int(v) for k, v in comp.groupby("status").size().items()}

    # The HiGHS reference on every manufacturer's network, checked against the run's flows.
    arcs, flow = result.plan.arcs, result.plan.flow
    del result
    ref_wall, ref_cpu = [0.0] * repeats, [0.0] * repeats
    agree = True
    for maker in range(len(arcs.manufacturers)):
        for i in range(repeats):
            with _Clock() as c:
                ref = solve_flows(arcs, maker, "highs")
            ref_wall[i] += c.wall
            ref_cpu[i] += c.cpu
        agree = agree and _tier_totals(arcs, maker, ref) == _tier_totals(arcs, maker, flow[arcs.part(maker)[1]])
    sizes = [s_.stop - s_.start for s_ in (arcs.part(m)[0] for m in range(len(arcs.manufacturers)))]
    out["times"]["highs_ref"], out["cpu"]["highs_ref"] = ref_wall, ref_cpu
    out["graph_nodes"], out["graph_edges"], out["max_graph_nodes"] = len(arcs.key), len(arcs.tail), max(sizes)
    out["solvers_agree"] = agree
    out["peak_rss_end_mib"] = _maxrss_mib()
    out["rss_baseline_mib"] = rss_baseline
    out["rss_after_imports_mib"] = rss_imports
    return out


# -------------------------------------------------------------------------------------------- parent
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import networkx
    import numpy
    import pandas
    import scipy

    try:
        mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kib = 0
    try:
        from importlib.metadata import version

        highs = version("highspy")
    except Exception:  # noqa: BLE001 - not installed: the engine may not use it
        highs = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "numpy": numpy.__version__, "scipy": scipy.__version__, "networkx": networkx.__version__,
            "pandas": pandas.__version__, "highspy": highs, "loadavg_start": list(os.getloadavg())}


def code_version() -> dict:
    """The commit measured and the files changed since (the tree is shared and moves)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    import hashlib

    digest = hashlib.sha256()
    for f in sorted((REPO / "act_pool").rglob("*")):
        rel = f.relative_to(REPO / "act_pool").as_posix()
        if f.is_file() and f.suffix in (".py", ".toml") and not rel.startswith(("report/", "lcfs/")):
            digest.update(rel.encode() + b"\0" + f.read_bytes())
    return {"commit": git("rev-parse", "HEAD"), "subject": git("log", "-1", "--format=%s"),
            "changed_files": [ln for ln in git("status", "--short", "--", "act_pool").splitlines() if ln],
            "engine_sha256": digest.hexdigest()}


def time_default_run(repeats: int = 3) -> dict:
    """Median wall time of ``act-pool run`` (the bundled default scenario) as a subprocess."""
    exe = shutil.which("act-pool") or str(Path(sys.executable).parent / "act-pool")
    samples = []
    with tempfile.TemporaryDirectory(prefix="act-default-") as tmp:
        for i in range(repeats):
            t0 = time.perf_counter()
            proc = subprocess.run([exe, "run", "--out", str(Path(tmp) / str(i)), "--quiet"], capture_output=True,
                                  text=True, check=False)
            samples.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(f"act-pool run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {"command": f"{exe} run --out DIR --quiet", "samples": samples, "median": statistics.median(samples)}


def run_child(scale: int, repeats: int, seed: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(scale), "--child-repeats", str(repeats),
                           "--seed", str(seed)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"scale {scale} failed:\n{proc.stderr[-4000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["child_wall_seconds"] = wall
    return data


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) against log(x); None with fewer than two points."""
    import numpy as np

    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y is not None and y > 0]
    if len(pts) < 2:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def summarise(scales: list[dict]) -> dict:
    medians = {str(s["scale"]): {st: statistics.median(s["times"][st]) for st in STAGES if s["times"][st]}
               for s in scales}
    nodes = [s["graph_nodes"] for s in scales]
    ks = [s["scale"] for s in scales]
    exps_nodes = {st: slope(nodes, [medians[str(k)].get(st) for k in ks]) for st in STAGES}
    exps_k = {st: slope(ks, [medians[str(k)].get(st) for k in ks]) for st in STAGES}
    ratio = {str(k): medians[str(k)]["highs_ref"] / medians[str(k)]["solve"] for k in ks
             if medians[str(k)].get("solve")}
    cpu = {str(s["scale"]): {st: statistics.median(s["cpu"][st]) for st in STAGES if s.get("cpu", {}).get(st)}
           for s in scales}
    exps_cpu = {st: slope(nodes, [cpu[str(k)].get(st) for k in ks]) for st in STAGES}
    # Inside the run: every wrapped function, median over the repeats.
    parts = sorted({key for s in scales for b in s["breakdown"] for key in b if not key.endswith("_cpu")})
    breakdown = {str(s["scale"]): {key: statistics.median(b.get(key, 0.0) for b in s["breakdown"]) for key in parts}
                 for s in scales}
    exps_parts = {key: slope(nodes, [breakdown[str(k)][key] for k in ks]) for key in parts}
    return {"medians_seconds": medians, "growth_exponent_vs_nodes": exps_nodes, "growth_exponent_vs_scale": exps_k,
            "nodes_exponent_vs_scale": slope(ks, nodes), "highs_over_simplex": ratio,
            "cpu_medians_seconds": cpu, "cpu_growth_exponent_vs_nodes": exps_cpu,
            "run_breakdown_seconds": breakdown, "run_breakdown_exponent_vs_nodes": exps_parts}


def fmt(x: float | None, width: int = 11) -> str:
    if x is None:
        return "—".rjust(width)
    if abs(x) < 0.0005:
        x = 0.0
    if x >= 100:
        return f"{x:{width}.0f}"
    if x >= 1:
        return f"{x:{width}.2f}"
    return f"{x:{width}.3f}"


def report(res: dict) -> str:
    m = res["machine"]
    lines = [(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
              f"numpy {m['numpy']}, scipy {m['scipy']}, networkx {m['networkx']}, pandas {m['pandas']}, "
              f"highspy {m.get('highspy')}"),
             f"code: {res['code']['commit'][:10]} {res['code']['subject'][:70]}"
             + (f" (+ uncommitted: {', '.join(x.split()[-1] for x in res['code']['changed_files'])})"
                if res["code"]["changed_files"] else ""),
             f"load average at start {m['loadavg_start']}, at end {m.get('loadavg_end')}", ""]
    s = res["summary"]
    head = (f"{'scale':>5} {'mfrs':>5} {'nodes':>8} {'arcs':>8} {'reps':>4} "
            + " ".join(LABELS[st].rjust(11) for st in STAGES))
    lines += ["median seconds per stage (arcs, solve, split: inside the run)", head]
    for sc in res["scales"]:
        med = s["medians_seconds"][str(sc["scale"])]
        lines.append(f"{sc['scale']:>4}x {sc['manufacturers']:>5} {sc['graph_nodes']:>8} {sc['graph_edges']:>8} "
                     f"{sc['repeats']:>4} " + " ".join(fmt(med.get(st)) for st in STAGES))
    for sk in res.get("skipped", []):
        lines.append(f"{sk['scale']:>4}x skipped: predicted {sk['predicted_seconds']:.0f} s for one repeat "
                     f"(budget left {sk['budget_left_seconds']:.0f} s)")
    for label, key in (("growth exponent vs nodes", "growth_exponent_vs_nodes"),
                       ("growth exponent vs k", "growth_exponent_vs_scale")):
        lines.append(f"{label:<34} " + " ".join(fmt(s[key].get(st)) for st in STAGES))
    lines += ["", "median CPU seconds per stage (process_time: less sensitive to other load on the machine)", head]
    for sc in res["scales"]:
        med = s["cpu_medians_seconds"][str(sc["scale"])]
        lines.append(f"{sc['scale']:>4}x {sc['manufacturers']:>5} {sc['graph_nodes']:>8} {sc['graph_edges']:>8} "
                     f"{sc['repeats']:>4} " + " ".join(fmt(med.get(st)) for st in STAGES))
    lines.append(f"{'CPU growth exponent vs nodes':<34} "
                 + " ".join(fmt(s["cpu_growth_exponent_vs_nodes"].get(st)) for st in STAGES))
    lines += ["", "inside the run (wall seconds, median; exponent vs nodes):"]
    bd = s["run_breakdown_seconds"]
    for key, e in s["run_breakdown_exponent_vs_nodes"].items():
        if key == "run" or max(bd[str(sc["scale"])][key] for sc in res["scales"]) < 0.01:
            continue
        lines.append(f"  {key:<20} " + " ".join(f"{sc['scale']}x {bd[str(sc['scale'])][key]:7.2f}"
                                                for sc in res["scales"]) + f"   exponent {fmt(e, 5).strip()}")
    lines.append("")
    lines.append(f"graph nodes grow as k^{s['nodes_exponent_vs_scale']:.3f}" if s["nodes_exponent_vs_scale"]
                 else "graph nodes: one scale only")
    lines.append("HiGHS reference / solve time: " + ", ".join(f"{k}x {v:.2f}" for k, v in
                                                              s["highs_over_simplex"].items()))
    lines.append("solvers agree on unmet, expired, flexibility and pooled-out totals: " + ", ".join(f"{sc['scale']}x {sc['solvers_agree']}"
                                                                for sc in res["scales"]))
    lines.append("peak RSS (ru_maxrss) after load + runs / at end, MiB: " + ", ".join(
        f"{sc['scale']}x {sc['peak_rss_run_mib']:.0f} / {sc['peak_rss_end_mib']:.0f}" for sc in res["scales"])
        + f" (interpreter + imports: {res['scales'][0]['rss_after_imports_mib']:.0f})")
    if res.get("default_run"):
        d = res["default_run"]
        lines.append(f"default scenario, act-pool run (subprocess): median {d['median']:.2f} s of "
                     + ", ".join(f"{x:.2f}" for x in d["samples"]))
    lines += ["", "targets:"]
    for t in res["targets"]:
        lines.append(f"  [{'met' if t['met'] else 'NOT MET' if t['met'] is False else 'unknown'}] {t['what']}: "
                     f"{t['measured']}")
    return "\n".join(lines)


def check_targets(res: dict) -> list[dict]:
    s = res["summary"]
    out = []
    one = s["medians_seconds"].get("1", {}).get("run")
    out.append({"what": f"national 1x whole optimal run < {TARGETS['run_1x_seconds']} s",
                "measured": f"{one:.2f} s" if one is not None else "not measured",
                "met": None if one is None else one < TARGETS["run_1x_seconds"]})
    e = s["growth_exponent_vs_nodes"].get("run")
    e_cpu = s["cpu_growth_exponent_vs_nodes"].get("run")
    big = s["run_breakdown_seconds"][str(res["scales"][-1]["scale"])] if res["scales"] else {}
    candidates = {**s["growth_exponent_vs_nodes"],  # and the functions of the run over 2 % of it at the top scale
                  **{k: x for k, x in s["run_breakdown_exponent_vs_nodes"].items()
                     if k != "run" and big.get(k, 0.0) >= 0.02 * big.get("run", 0.0)}}
    worst = max(((st, x) for st, x in candidates.items() if x is not None), key=lambda p: p[1], default=None)
    out.append({"what": f"growth exponent of the whole run <= {TARGETS['growth_exponent']}",
                "measured": (f"{e:.2f} (CPU time: {e_cpu:.2f})" if e is not None and e_cpu is not None
                             else "fewer than two scales")
                + (f"; largest of any stage or function in the run: {worst[0]} {worst[1]:.2f}" if worst else ""),
                "met": None if e is None else e <= TARGETS["growth_exponent"]})
    eight = next((sc for sc in res["scales"] if sc["scale"] == 8), None)
    out.append({"what": f"peak memory of the 8x run < {TARGETS['peak_rss_8x_mib']:.0f} MiB "
                        "(ru_maxrss after load + run)",
                "measured": f"{eight['peak_rss_run_mib']:.0f} MiB" if eight else "8x not measured",
                "met": None if eight is None else eight["peak_rss_run_mib"] < TARGETS["peak_rss_8x_mib"]})
    d = res.get("default_run")
    out.append({"what": f"default scenario act-pool run < {TARGETS['default_run_seconds']} s",
                "measured": f"{d['median']:.2f} s" if d else "not measured",
                "met": None if d is None else d["median"] < TARGETS["default_run_seconds"]})
    return out


def profile_1x(seed: int, path: Path) -> None:
    """cProfile of the 1x whole optimal run: top functions by own and cumulative time."""
    import cProfile
    import io
    import pstats

    from national import national_scenario

    import act_pool

    scenario = national_scenario(1, seed)
    prof = cProfile.Profile()
    prof.enable()
    act_pool.run(scenario)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("cumulative").print_stats(40)
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_callers(r"(_core.run|lexicographical_topological_sort|get_loc_level|add_edge)")
    path.write_text(buf.getvalue())
    print(f"profile written to {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmarks of act-pool on the synthetic national scenario.")
    p.add_argument("--scales", default="1,2,4,8", help="comma-separated scales k (default 1,2,4,8)")
    p.add_argument("--repeats", help="comma-separated repeats per scale (default 3,1,1,1)")
    p.add_argument("--budget", type=float, default=660.0, help="seconds for the whole benchmark; 0 = no limit")
    p.add_argument("--full", action="store_true", help="measure every scale whatever the budget (= --budget 0)")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--no-default", action="store_true", help="skip timing the default scenario's act-pool run")
    p.add_argument("--profile", action="store_true", help="write a cProfile of the 1x run to benchmarks/profile_1x.txt")
    p.add_argument("--out", default=str(HERE / "results.json"))
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-repeats", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.child:
        print(json.dumps(child(a.child, a.child_repeats, a.seed)))
        return 0

    start = time.perf_counter()
    budget = 0.0 if a.full else a.budget
    scales = [int(x) for x in a.scales.split(",")]
    reps = ([int(x) for x in a.repeats.split(",")] if a.repeats else [DEFAULT_REPEATS.get(k, 1) for k in scales])
    res: dict = {"machine": machine_info(), "code": code_version(), "seed": a.seed, "budget_seconds": budget,
                 "scales": [], "skipped": []}
    print(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, Python {res['machine']['python']}",
          flush=True)
    if not a.no_default:
        res["default_run"] = time_default_run(3)
        print(f"default scenario act-pool run: median {res['default_run']['median']:.2f} s", flush=True)
    last: dict | None = None
    for k, r in zip(scales, reps):
        if last is not None and budget > 0:
            # one repeat ~ the last scale's wall per (repeats + 1), grown by the run's exponent so far (>= 1)
            grow = max(1.0, slope([s["scale"] for s in res["scales"]],
                                  [statistics.median(s["times"]["run"]) for s in res["scales"]]) or 1.0)
            unit = last["child_wall_seconds"] / (last["repeats"] + 1) * (k / last["scale"]) ** grow
            left = budget - (time.perf_counter() - start)
            fit = int(left // unit) - 1
            if fit < 1:
                res["skipped"].append({"scale": k, "predicted_seconds": 2 * unit, "budget_left_seconds": left})
                print(f"{k}x skipped: one repeat predicted {2 * unit:.0f} s, {left:.0f} s of budget left", flush=True)
                continue
            r = min(r, fit)
        print(f"{k}x: {r} repeat(s) ...", flush=True)
        last = run_child(k, r, a.seed)
        res["scales"].append(last)
        med = {st: statistics.median(v) for st, v in last["times"].items() if v}
        print(f"{k}x done in {last['child_wall_seconds']:.0f} s: run {med['run']:.2f} s, solve {med['solve']:.2f} s, "
              f"HiGHS reference {med['highs_ref']:.2f} s, peak RSS {last['peak_rss_end_mib']:.0f} MiB",
              flush=True)
    res["machine"]["loadavg_end"] = list(os.getloadavg())
    res["code_at_end"] = code_version()
    if res["code_at_end"]["engine_sha256"] != res["code"]["engine_sha256"]:
        print("WARNING: the engine's sources (act_pool/ outside report/ and lcfs/) changed while the benchmark "
              "ran; the scales may not be comparable", flush=True)
    res["summary"] = summarise(res["scales"])
    res["targets"] = check_targets(res)
    res["total_seconds"] = time.perf_counter() - start
    print()
    print(report(res))
    print(f"\ntotal {res['total_seconds']:.0f} s")
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"results written to {a.out}")
    if a.profile:
        profile_1x(a.seed, HERE / "profile_1x.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
