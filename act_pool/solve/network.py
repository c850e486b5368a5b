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
(the retirement step; out of a gate, the first step through it) and ``pooled``; gate arcs carry
``gate``. Under a pooling exchange ratio other than 1, pooled retire arcs run straight from their
``import`` node to the deficit and carry ``gates`` (the gates they count against, comma-separated).

Costs make the optimum lexicographic, in four tiers: fewest unmet deficits, then fewest expired
credits (the largest unexpired bank at the horizon, since retirements are then fixed), then the
least use of flexibilities (pooling, tractor credits on non-tractor deficits, the low-volume
flexibility and the tractor offset), so that a plan uses them only where they change the first two
goals, then the fewest credits pooled out of their state. The last tier makes pooling "surplus
only" (13 CCR §1963.2 as amended, see docs/regulatory-readings.md): while a state's own deficits
that its credits of a year could legally meet stay unmet, pooling those credits out instead never
costs less in the first three tiers (every tenth is still retired once, and the own route is at
most one flexibility while the pooled one is at least one), so the optimum keeps them at home.
The ``weight`` of an edge is the integer cost of :func:`~act_pool.solve.mincost.tier_weights`.
The graph grows linearly with states x years x groups: bank chains per expiry class, one
``avail`` node per state and year, one hub per year.

The solvers work on arrays (:mod:`act_pool.solve.arcs`, built for every manufacturer at once);
:func:`build_network` and :func:`network_graph` build this networkx graph from them on request.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from act_pool.solve.arcs import ARC_KINDS, GATES, CreditArcs, build_arcs
from act_pool.solve.mincost import tier_flags, tier_limits, tier_weights
from act_pool.solve.problem import ComplianceProblem

#: Ids of the network's single nodes (see the module docstring).
UNMET, EXPIRE, END, SPILL, SINK = ("unmet",), ("expire",), ("end",), ("spill",), ("sink",)


def build_network(problem: ComplianceProblem, manufacturer: str) -> nx.DiGraph:
    """The credit network of one manufacturer (see the module docstring)."""
    arcs = build_arcs(problem)
    return network_graph(arcs, arcs.manufacturers.index(manufacturer))


def network_graph(arcs: CreditArcs, maker: int, flow: np.ndarray | None = None, prefix: tuple = ()) -> nx.DiGraph:
    """The networkx graph of one manufacturer's slice of ``arcs`` (node ids prefixed by ``prefix``).

    With ``flow`` (one value per arc of all manufacturers), every edge carries its ``flow`` in tenths.
    """
    nodes, part = arcs.part(maker)
    ids = [prefix + n for n in arcs.node_ids(nodes)]
    weights = tier_weights(tier_limits(int(arcs.supply[maker]), int(arcs.deficits[maker])))
    flags = tier_flags(arcs, part).T.tolist()
    G = nx.DiGraph(manufacturer=arcs.manufacturers[maker])
    G.add_nodes_from((n, {"kind": n[len(prefix)], "demand": d}) for n, d in zip(ids, arcs.demand[nodes].tolist()))
    columns = zip((arcs.tail[part] - nodes.start).tolist(), (arcs.head[part] - nodes.start).tolist(),
                  arcs.capacity[part].tolist(), arcs.kind[part].tolist(), arcs.route[part].tolist(),
                  arcs.pooled[part].tolist(), arcs.gate[part].tolist(), arcs.pooled_gates[part].tolist(), flags,
                  flow[part].tolist() if flow is not None else [None] * (part.stop - part.start))
    for u, v, cap, kind, route, pooled, gate, bits, flag, f in columns:
        attrs = {"kind": ARC_KINDS[kind], "weight": sum(w for w, on in zip(weights, flag) if on)}
        if cap >= 0:
            attrs["capacity"] = cap
        if route >= 0:
            attrs["route"], attrs["pooled"] = arcs.steps[route], pooled
        if gate >= 0:
            attrs["gate"] = GATES[gate]
        if bits:
            attrs["gates"] = ",".join(g for i, g in enumerate(GATES) if bits >> i & 1)
        if f is not None:
            attrs["flow"] = f
        G.add_edge(ids[u], ids[v], **attrs)
    return G


def write_graphml(G: nx.DiGraph, path: str) -> None:
    """Write the network as GraphML (tuple node ids and non-scalar attributes as text)."""
    H = nx.DiGraph()
    for n, a in G.nodes(data=True):
        H.add_node("|".join(map(str, n)), **{k: v for k, v in a.items() if isinstance(v, (int, str, bool))})
    for u, v, a in G.edges(data=True):
        H.add_edge("|".join(map(str, u)), "|".join(map(str, v)),
                   **{k: v2 for k, v2 in a.items() if isinstance(v2, (int, str, bool))})
    nx.write_graphml(H, path)
