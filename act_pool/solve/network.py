"""The credit network: a networkx graph of one manufacturer's credits, banks and deficits.

Nodes (``kind`` attribute, tuple ids):

- ``("bank", s, g, c, e, t)``: credits of origin state ``s``, group ``g``, type ``c`` whose life
  ends with model year ``e`` (credits of one expiry year and class are interchangeable), held at
  the end of year ``t``. Lots enter in the year the holder may first use them (their vintage,
  the first simulated year for opening balances, the trade's year for credits bought): the node's
  ``demand`` is minus their credits.
- ``("avail", s, g, c, t)``: those credits of ``s`` usable in year ``t``, whatever their expiry.
- ``("hub", g, c, t)`` and ``("import", s, g, c, t)``: pooling in year ``t`` routes through one
  hub per group and type, so its size grows with the states, not their pairs. Only states whose gate
  row allows it (``may_send``) export to the hub that year.
- ``("gate_in"|"gate_out", s, d, gate)``: a rule limit for the deficits of state ``s``, model year
  ``d`` (NZEV caps, low-volume flexibility, tractor offset), as the capacity of the arc between them.
- ``("deficit", s, d, h)``: deficits of group ``h``; ``demand`` is the deficit in tenths.
- ``("unmet",)`` supplies every deficit that credits do not; ``("expire",)``, ``("end",)`` and
  ``("spill",)`` drain into ``("sink",)``.

Edges carry ``capacity`` (absent: unbounded), ``weight`` (integer cost), ``kind`` (carry, draw,
retire, gate, export, import, expire, end, unmet, spill, drain) and, on retire arcs, ``route``
(the retirement step) and ``pooled``.

Costs make the optimum lexicographic: fewest unmet deficits, then fewest expired credits (the
largest unexpired bank at the horizon, since retirements are then fixed), then the least use of
flexibilities (pooling, tractor credits on non-tractor deficits, the low-volume flexibility and the
tractor offset), so that a plan uses them only where they change the first two goals.
The graph grows linearly with states x years x groups: bank chains per expiry class, one
``avail`` node per state and year, one hub per year.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from act_pool.solve.problem import ComplianceProblem

UNMET, EXPIRE, END, SPILL, SINK = ("unmet",), ("expire",), ("end",), ("spill",), ("sink",)


@dataclass(frozen=True)
class Weights:
    """Integer costs of the lexicographic objective (see the module docstring)."""

    unmet: int
    expire: int
    flex: int


#: Retirement steps that count as using a flexibility (third goal); pooling counts as well.
FLEX_ROUTES = frozenset({"tractor-nzev-to-nontractor", "tractor-zev-to-nontractor", "low-volume-flexibility",
                         "tractor-offset"})


def weights_for(total_supply: int, total_deficits: int) -> Weights:
    """Smallest integer weights that keep the three goals in strict order.

    A tenth is counted at most twice as a flexibility (pooled and on a flexible route), so their
    use costs at most ``2 * total_deficits`` and one expired tenth must cost more; expiry and
    flexibility together cost at most ``expire * supply + 2 * deficits``, so one unmet tenth
    must cost more than that.
    """
    expire = 2 * total_deficits + 1
    unmet = expire * total_supply + 2 * total_deficits + 1
    return Weights(unmet=unmet, expire=expire, flex=1)


def build_network(problem: ComplianceProblem, manufacturer: str) -> nx.DiGraph:
    """The credit network of one manufacturer (see the module docstring)."""
    lots = problem.usable_lots(manufacturer)
    deficits = problem.deficits[problem.deficits["manufacturer"] == manufacturer]
    gates = {(r["state"], int(r["model_year"])): r
             for r in problem.gates[problem.gates["manufacturer"] == manufacturer].to_dict("records")}
    first, last = problem.years.start, problem.years.stop - 1
    m = problem.makeup_years
    G = nx.DiGraph(manufacturer=manufacturer)
    supply = int(lots.loc[lots["last_use"] >= first, "credits"].sum())
    total_def = int(deficits["deficits"].sum())
    w = weights_for(supply, total_def)
    G.graph["weights"] = w

    def node(n: tuple, **attrs) -> tuple:
        if n not in G:
            G.add_node(n, kind=n[0], demand=0, **attrs)
        return n

    # Deficits and their unmet supply.
    node(UNMET)
    node(SINK)
    for r in deficits.itertuples(index=False):
        d = node(("deficit", r.state, int(r.model_year), r.group))
        G.nodes[d]["demand"] += int(r.deficits)
        G.add_edge(UNMET, d, kind="unmet", weight=w.unmet, capacity=int(r.deficits))
    G.nodes[UNMET]["demand"] = -total_def
    for n in (EXPIRE, END, SPILL):
        node(n)
        G.add_edge(n, SINK, kind="drain", weight=0)
    G.add_edge(UNMET, SPILL, kind="spill", weight=0)

    # Bank chains per expiry class, drawn into the year's available credits.
    usable = lots[lots["last_use"] >= first].copy()
    usable["enter"] = usable["available_from"].clip(lower=first)
    entries = usable.groupby(["origin_state", "group", "credit_type", "last_use", "enter"], sort=True)["credits"].sum()
    classes: dict[tuple, dict[int, int]] = {}
    for (s, g, c, e, enter), amount in entries.items():
        classes.setdefault((s, g, c, int(e)), {})[int(enter)] = int(amount)
    for (s, g, c, e), by_enter in classes.items():
        stop = min(e, last)
        for t in range(min(by_enter), stop + 1):
            b = node(("bank", s, g, c, e, t))
            G.add_edge(b, node(("avail", s, g, c, t)), kind="draw", weight=0)
            if t < stop:
                G.add_edge(b, node(("bank", s, g, c, e, t + 1)), kind="carry", weight=0)
        for enter, amount in by_enter.items():
            G.nodes[("bank", s, g, c, e, enter)]["demand"] -= amount
        tail = ("bank", s, g, c, e, stop)
        if e <= last:
            G.add_edge(tail, EXPIRE, kind="expire", weight=w.expire)
        else:
            G.add_edge(tail, END, kind="end", weight=0)
    G.nodes[SINK]["demand"] = supply + total_def - total_def  # every credit ends retired, expired or banked

    # Retirement routes from each state's available credits (own) and imports (pooled).
    deficit_keys = {(s, d, h) for _, s, d, h in (n for n in G if n[0] == "deficit")}
    avail_nodes = [n for n in G if n[0] == "avail"]
    for n in avail_nodes:
        _, s, g, c, t = n
        _add_routes(G, problem, n, s, g, c, t, m, deficit_keys, gates, pooled=False)
    if problem.pooling:
        for n in avail_nodes:
            _, s, g, c, t = n
            origin_gate = gates.get((s, t))
            if s not in problem.pool_states or origin_gate is None or not bool(origin_gate["may_send"]):
                continue
            hub = node(("hub", g, c, t))
            G.add_edge(n, hub, kind="export", weight=w.flex)
            for s2 in sorted({k[0] for k in deficit_keys}):
                if s2 == s or s2 not in problem.pool_states:
                    continue
                imp = ("import", s2, g, c, t)
                if imp not in G:
                    node(imp)
                    G.add_edge(hub, imp, kind="import", weight=0)
                    _add_routes(G, problem, imp, s2, g, c, t, m, deficit_keys, gates, pooled=True)
                    if G.out_degree(imp) == 0:
                        G.remove_node(imp)
    return G


def _add_routes(G: nx.DiGraph, problem: ComplianceProblem, src: tuple, state: str, g: str, c: str, t: int,
                m: int, deficit_keys: set, gates: dict, pooled: bool) -> None:
    """Retire arcs from ``src`` (credits of group g, type c usable in year t) to ``state``'s deficits."""
    first = problem.years.start
    for d in range(max(first, t - m), t + 1):
        if c == "NZEV" and d < t and problem.makeup_zev_only:
            continue  # carried deficits: ZEV credits only (§1963.3(b))
        gate_row = gates.get((state, d))
        if gate_row is None:
            continue
        if pooled and not bool(gate_row["may_receive"]):
            continue
        for step in problem.steps:
            if step.credit_type != c or g not in step.source_groups:
                continue
            targets = [("deficit", state, d, h) for h in step.target_groups if (state, d, h) in deficit_keys]
            if not targets:
                continue
            cost = G.graph["weights"].flex if step.name in FLEX_ROUTES else 0
            if step.gate is None:
                for tgt in targets:
                    G.add_edge(src, tgt, kind="retire", weight=cost, route=step.name, pooled=pooled)
                continue
            cap = int(gate_row[step.gate])
            if cap <= 0:
                continue
            gin, gout = ("gate_in", state, d, step.gate), ("gate_out", state, d, step.gate)
            if gin not in G:
                G.add_node(gin, kind="gate_in", demand=0)
                G.add_node(gout, kind="gate_out", demand=0)
                G.add_edge(gin, gout, kind="gate", weight=0, capacity=cap, gate=step.gate)
                for tgt in targets:
                    G.add_edge(gout, tgt, kind="retire", weight=0, route=step.name, pooled=False)
            G.add_edge(src, gin, kind="retire", weight=cost, route=step.name, pooled=pooled)


def write_graphml(G: nx.DiGraph, path: str) -> None:
    """Write the network as GraphML (tuple node ids and non-scalar attributes as text)."""
    H = nx.DiGraph()
    for n, a in G.nodes(data=True):
        H.add_node("|".join(map(str, n)), **{k: v for k, v in a.items() if isinstance(v, (int, str, bool))})
    for u, v, a in G.edges(data=True):
        H.add_edge("|".join(map(str, u)), "|".join(map(str, v)),
                   **{k: v2 for k, v2 in a.items() if isinstance(v2, (int, str, bool))})
    nx.write_graphml(H, path)
