"""The lexicographic min-cost flow of one manufacturer's credit network, three ways that must agree.

The objective has four tiers, each strictly before the next (see :mod:`act_pool.solve.network`):
fewest unmet deficits, fewest expired credits, least use of flexibilities, fewest credits pooled
out of their state. :func:`tier_flags` marks the arcs each tier counts.

Solvers (``solver`` of :func:`solve_flows`):

- ``"simplex"`` (default): primal network simplex compiled from ``_mcf.c`` on int64 arrays. When
  the tiers fit in int64 as one set of weights (:func:`tier_weights`; the bound on every potential,
  reduced cost and flow the method can reach is checked in Python integers, see
  :func:`int64_safe`), one solve; otherwise the tiers are solved in stages with small costs, each
  stage keeping only the optimal face of the one before by reduced-cost fixing (an arc whose
  reduced cost under an optimal dual is positive carries nothing in every optimum, a negative one
  is full in every optimum, so only zero reduced-cost arcs stay free). A later stage starts from
  the last spanning tree of the one before (its arcs all have reduced cost zero, so they stay free)
  rather than from scratch. Where the extension was not built (no C compiler at install), the
  ``"networkx"`` solver stands in.
- ``"networkx"``: networkx's ``network_simplex`` on the graph built from the arrays, with the tier
  weights as Python integers (exact at any size, slow). A reference.
- ``"highs"``: a linear program per tier with HiGHS, each later tier restricted to the optimal face
  of the earlier ones by a row. A reference, and the only solver of a pooling cap below 100 %
  (side rows the network solvers cannot hold): those manufacturers are always solved with HiGHS,
  as mixed-integer programs to keep whole tenths.

Under a pooling exchange ratio r other than 1 the network is a generalised flow, which no network
solver holds: :func:`solve_generalised` solves every manufacturer with pooled arcs by HiGHS, whatever
``solver`` says. The pooled retire arcs into one deficit through one class of rule gates
(:func:`pooled_groups`) share an integer column m (tenths of deficit met) with
den x m - num x (sum of their flows f, tenths of credits) <= 0 for r = num/den, and the deficit
receives m instead of the flows: the pooled credits a deficit row takes by one route are converted
together, rounded down to the tenth (one floor per arc left far more branching). The tiers stay,
but the second counts what is lost: credits expired plus, on pooled arcs, f - m (the credits
retired beyond the deficit they meet; negative where r > 1). With the deficits met fixed by the
first tier, that is the largest bank left at the horizon, as the second tier means at r = 1.

Gains make the tiers mixed-integer programs whose branch and bound need not close quickly: each
tier gets :data:`GENERALISED_NODES` nodes (and HiGHS's default relative gap of 0.01 %), starting
from the plan of the tier before. Small networks close within them (the tests' hand-worked cases
are exact). On the national default scenario at r = 0.9, some manufacturers stop at the node count:
their unmet and lost credits were within a tenth or two of HiGHS's bound, the least use of
flexibilities well above it, and the run takes minutes.
"""
from __future__ import annotations

import math
from fractions import Fraction

import networkx as nx
import numpy as np

from act_pool.errors import ConservationError
from act_pool.solve import SOLVERS
from act_pool.solve.arcs import ARC_KINDS, NODE_KINDS, CreditArcs

try:
    from act_pool.solve import _mcf
except ImportError:  # built without a C compiler: the networkx solver stands in
    _mcf = None

#: The tiers of the objective, most important first.
TIERS = ("unmet", "expire", "flex", "pool_out")
#: Retirement steps that count as using a flexibility (third tier); pooling counts as well.
FLEX_ROUTES = frozenset({"tractor-nzev-to-nontractor", "tractor-zev-to-nontractor", "low-volume-flexibility",
                         "tractor-offset"})
#: Branch-and-bound nodes HiGHS may spend on each tier of a generalised flow
#: (:func:`solve_generalised`), a count rather than a time so that runs stay deterministic. Where a
#: tier does not close within them, the best plan found stands (each tier starts from the plan of
#: the one before, so it is never worse than that); see the module docstring.
GENERALISED_NODES = 1000
#: Largest value the compiled simplex may meet (int64); tests lower it to force staged solves.
INT64_LIMIT = (1 << 63) - 1


def compiled_available() -> bool:
    """Whether the compiled network simplex (``act_pool.solve._mcf``) was built at install."""
    return _mcf is not None


def tier_flags(arcs: CreditArcs, part: slice) -> np.ndarray:
    """Boolean matrix (tier x arc of ``part``): which arcs each tier of :data:`TIERS` counts.

    Unmet: the arcs from the unmet source. Expire: arcs into the expiry node. Flexibility: pooling
    (export arcs) and retirements on a :data:`FLEX_ROUTES` step, counted where the credits leave
    their ``avail`` or ``import`` node. Pooling out: the export arcs again.
    """
    kind = arcs.kind[part]
    tail_kind = arcs.field("kind", arcs.tail[part])
    flex_route = np.array([name in FLEX_ROUTES for name in arcs.steps] + [False], dtype=bool)[arcs.route[part]]
    export = kind == ARC_KINDS.index("export")
    leaving = (tail_kind == NODE_KINDS.index("avail")) | (tail_kind == NODE_KINDS.index("import"))
    flex = export | ((kind == ARC_KINDS.index("retire")) & flex_route & leaving)
    return np.vstack([kind == ARC_KINDS.index("unmet"), kind == ARC_KINDS.index("expire"), flex, export])


def tier_limits(supply: int, deficits: int) -> tuple[int, ...]:
    """The largest count each tier can reach, in tenths: every deficit unmet; every credit expired;
    each retired tenth counted at most twice as a flexibility (pooled and on a flexible route) and
    at most once as pooled out."""
    return (deficits, supply, 2 * deficits, deficits)


def tier_weights(limits: tuple[int, ...]) -> tuple[int, ...]:
    """Smallest integer weights that keep the tiers in strict order: the last weighs 1, and each
    weighs one more than everything after it can cost (weight times largest count)."""
    out = [1]
    for i in range(len(limits) - 2, -1, -1):
        out.insert(0, sum(w * limit for w, limit in zip(out, limits[i + 1:])) + 1)
    return tuple(out)


def int64_safe(capacity: np.ndarray, cost_sum: int, max_cost: int, demand: np.ndarray) -> tuple[bool, int]:
    """Whether the compiled simplex stays within int64 on a network, and its ``faux_inf``.

    Artificial arcs cost and carry ``faux_inf`` (networkx's choice: three times the largest of the
    finite capacities, the costs and the demands, summed); every node potential is then at most
    ``faux_inf + n * max_cost`` in size, a reduced cost at most twice that plus ``max_cost``, and
    a flow at most ``faux_inf``. All sums are Python integers.
    """
    finite = int(capacity[capacity >= 0].sum(dtype=np.int64)) if len(capacity) else 0
    faux_inf = 3 * max(finite, cost_sum, int(np.abs(demand).sum(dtype=np.int64))) or 1
    bound = 3 * (faux_inf + (len(demand) + 1) * max_cost) + max_cost
    return bound <= INT64_LIMIT, faux_inf


def solve_flows(arcs: CreditArcs, maker: int, solver: str, side_rows: list | None = None) -> np.ndarray:
    """The optimal flow (tenths, int64, one per arc of the manufacturer's slice).

    ``side_rows`` (from :func:`pool_side_rows`) force HiGHS, the only solver that holds them.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    nodes, part = arcs.part(maker)
    tail, head = arcs.tail[part] - nodes.start, arcs.head[part] - nodes.start
    capacity, demand = arcs.capacity[part], arcs.demand[nodes]
    flags = tier_flags(arcs, part)
    limits = tier_limits(int(arcs.supply[maker]), int(arcs.deficits[maker]))
    if side_rows or solver == "highs":
        return solve_highs(tail, head, capacity, demand, flags, side_rows or [])
    if solver == "simplex" and _mcf is not None:
        return solve_simplex(tail, head, capacity, demand, flags, limits)
    return solve_networkx(tail, head, capacity, demand, flags, limits)


def _weighted(flags: np.ndarray, limits: tuple[int, ...], tiers: list[int]) -> tuple[list[int], int, int]:
    """Weights of ``tiers`` (indices into :data:`TIERS`), the sum of all arc costs and the largest."""
    weights = tier_weights(tuple(limits[t] for t in tiers))
    counts = [int(flags[t].sum()) for t in tiers]
    bits = sum(flags[t].astype(np.int64) << i for i, t in enumerate(tiers))
    patterns = np.flatnonzero(np.bincount(bits)).tolist()  # the distinct arc costs, as bit patterns of the tiers
    largest = max((sum(w for i, w in enumerate(weights) if p >> i & 1) for p in patterns), default=0)
    return list(weights), sum(w * c for w, c in zip(weights, counts)), largest


def next_stage(tiers: list[int], capacity: np.ndarray, demand: np.ndarray, flags: np.ndarray,
               limits: tuple[int, ...]) -> list[int]:
    """The tiers (indices into :data:`TIERS`, from the first of ``tiers``) that the next weighted
    stage of the compiled simplex solves at once: as many as stay int64-safe on this network.

    Raises
    ------
    OverflowError
        Where even one tier (costs 0 and 1) is not int64-safe: credits beyond any real program.
    """
    group = [tiers[0]]
    for t in tiers[1:]:
        _, total, largest = _weighted(flags, limits, group + [t])
        if not int64_safe(capacity, total, largest, demand)[0]:
            break
        group.append(t)
    _, total, largest = _weighted(flags, limits, group)
    if not int64_safe(capacity, total, largest, demand)[0]:
        raise OverflowError("the credit network's amounts exceed what int64 arithmetic can solve")
    return group


def solve_simplex(tail: np.ndarray, head: np.ndarray, capacity: np.ndarray, demand: np.ndarray,
                  flags: np.ndarray, limits: tuple[int, ...]) -> np.ndarray:
    """Lexicographic optimum with the compiled network simplex: tiers grouped into as few int64-safe
    weighted stages as possible (all four in one when they fit), each later stage solved on the
    optimal face of those before, from their last spanning tree (``network_simplex_stages``)."""
    flow = np.zeros(len(tail), dtype=np.int64)
    idx = np.nonzero(capacity != 0)[0]  # networkx drops zero-capacity arcs; so do we
    capacity, flags = capacity[idx], flags[:, idx]
    demand = demand.astype(np.int64)
    costs, faux_infs = [], []
    remaining = list(range(len(TIERS)))
    while remaining:
        group = next_stage(remaining, capacity, demand, flags, limits)
        remaining = remaining[len(group):]
        weights, total, largest = _weighted(flags, limits, group)
        faux_infs.append(int64_safe(capacity, total, largest, demand)[1])
        costs.append(sum(flags[t].astype(np.int64) * w for w, t in zip(weights, group)))
    sub_flow = np.zeros(len(idx), dtype=np.int64)
    potential = np.zeros(len(demand), dtype=np.int64)
    status = _mcf.network_simplex_stages(np.ascontiguousarray(tail[idx]), np.ascontiguousarray(head[idx]), capacity,
                                         np.concatenate(costs), demand, np.array(faux_infs, dtype=np.int64),
                                         sub_flow, potential)
    if status == 1:
        raise ConservationError("no flow meets the credit network's demands")
    if status == 2:
        raise ConservationError("an unbounded arc of the credit network has a negative reduced cost")
    flow[idx] = sub_flow
    return flow


def solve_networkx(tail: np.ndarray, head: np.ndarray, capacity: np.ndarray, demand: np.ndarray,
                   flags: np.ndarray, limits: tuple[int, ...]) -> np.ndarray:
    """Lexicographic optimum with networkx's network simplex, one solve with exact integer weights."""
    weights = tier_weights(limits)
    G = nx.DiGraph()
    G.add_nodes_from((i, {"demand": int(d)}) for i, d in enumerate(demand.tolist()))
    cost = [sum(w for w, f in zip(weights, col) if f) for col in flags.T.tolist()]
    for u, v, c, w in zip(tail.tolist(), head.tolist(), capacity.tolist(), cost):
        G.add_edge(u, v, weight=w, **({"capacity": c} if c >= 0 else {}))
    _, flow = nx.network_simplex(G)
    return np.array([flow[u][v] for u, v in zip(tail.tolist(), head.tolist())], dtype=np.int64)


def pooled_arcs(arcs: CreditArcs, part: slice) -> np.ndarray:
    """Indices (within ``part``) of the pooled retire arcs: those leaving an ``import`` node."""
    return np.nonzero(arcs.pooled[part] & (arcs.field("kind", arcs.tail[part]) == NODE_KINDS.index("import")))[0]


def pooled_groups(arcs: CreditArcs, part: slice) -> tuple[np.ndarray, np.ndarray]:
    """The pooled retire arcs of ``part`` (:func:`pooled_arcs`) and the group of each: arcs into one
    deficit node counting against one set of gates (``pooled_gates``), numbered by deficit node,
    then gate set. Groups share one met column in :func:`solve_generalised`."""
    gained = pooled_arcs(arcs, part)
    key = np.stack([arcs.head[part][gained], arcs.pooled_gates[part][gained].astype(np.int64)], axis=1)
    group = np.unique(key, axis=0, return_inverse=True)[1].reshape(-1) if len(gained) else np.zeros(0, np.int64)
    return gained, group.astype(np.int64)


def solve_generalised(arcs: CreditArcs, maker: int, ratio: Fraction,
                      side_rows: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The lexicographic optimum of a manufacturer's network under a pooling exchange ratio (see the
    module docstring): the flow (tenths of credits) and what each arc delivers to its head (tenths
    of deficit met on a pooled retire arc, the flow elsewhere), one value per arc of the slice.

    ``side_rows`` are (columns, cap) rows over the arcs of the slice and, from the slice's length
    on, the met columns of the groups of :func:`pooled_groups`. A group's met is handed to its arcs
    in arc order: floor(ratio x flow) each, then a tenth more to each arc whose product is not whole
    until the group's met is reached (less where it runs out first).
    """
    nodes, part = arcs.part(maker)
    tail, head = arcs.tail[part] - nodes.start, arcs.head[part] - nodes.start
    gained, group = pooled_groups(arcs, part)
    sink = int(np.nonzero(arcs.field("kind", nodes) == NODE_KINDS.index("sink"))[0][0])
    x = solve_highs(tail, head, arcs.capacity[part], arcs.demand[nodes], tier_flags(arcs, part), side_rows or [],
                    gained, ratio, sink, group)
    flow = x[:len(tail)]
    met = flow.copy()
    for g, group_met in enumerate(x[len(tail):].tolist()):
        members = gained[group == g]
        met[members] = share_met(flow[members].tolist(), group_met, ratio)
    return flow, met


def share_met(credits: list[int], met: int, ratio: Fraction) -> list[int]:
    """``met`` tenths of deficit shared among pooled amounts of ``credits`` tenths, in order: each
    floor(ratio x credits) while ``met`` lasts, then a tenth more to each whose product is not whole
    until ``met`` is reached. No share exceeds ratio x credits rounded up.

    Raises
    ------
    ConservationError
        Where ``met`` exceeds what the amounts can meet at ``ratio`` (rounded up one by one).
    """
    floors = [math.floor(ratio * c) for c in credits]
    left = met
    shares = []
    for f in floors:
        shares.append(min(f, left))
        left -= shares[-1]
    for i, c in enumerate(credits):
        if left and ratio * c != floors[i]:
            shares[i] += 1
            left -= 1
    if left:
        raise ConservationError("pooled credits meet more deficit than the exchange ratio allows")
    return shares


def solve_highs(tail: np.ndarray, head: np.ndarray, capacity: np.ndarray, demand: np.ndarray,
                flags: np.ndarray, side_rows: list[tuple[np.ndarray, int]],
                gained: np.ndarray | None = None, ratio: Fraction = Fraction(1), sink: int = -1,
                group: np.ndarray | None = None) -> np.ndarray:
    """Lexicographic LP with HiGHS: one stage per tier, each adding a row that holds the previous
    tier at its optimum, so HiGHS restarts from the previous basis (primal simplex, since the
    previous solution stays feasible). Presolve is off: on these network LPs it costs more than it
    saves. ``side_rows`` (column indices, cap) make the stages mixed-integer programs.

    With ``gained`` (arc indices) and their ``group`` (0, 1, ...; arcs of a group share a head),
    each group gets a met column (after the arcs, by group) that the head receives instead of the
    flows, at most ``ratio`` times their sum, and the second tier also counts flow minus met (see
    :func:`solve_generalised`). The stages are then mixed-integer programs (with presolve) and the
    result holds the arc flows followed by the met columns. Gains break the network's overall
    balance, so node ``sink`` (where every credit and every met deficit ends) then takes whatever
    reaches it: its row is left free.
    """
    import highspy  # imported here: a reference solver, and SciPy's sparse module is slow to import
    from scipy import sparse

    gained = np.zeros(0, dtype=np.int64) if gained is None else gained
    group = np.arange(len(gained)) if group is None else group
    n_e, n_v, n_g = len(tail), len(demand), (int(group.max()) + 1 if len(gained) else 0)
    n = n_e + n_g
    into = np.ones(n_e, dtype=bool)
    into[gained] = False  # a gained arc's head receives its group's met column instead
    group_head = np.zeros(n_g, dtype=np.int64)
    group_head[group] = head[gained]
    arc_cols = np.arange(n_e)
    A = sparse.csc_array((np.concatenate([np.ones(int(into.sum())), -np.ones(n_e), np.ones(n_g)]),
                          (np.concatenate([head[into], tail, group_head]),
                           np.concatenate([arc_cols[into], arc_cols, n_e + np.arange(n_g)]))),
                         shape=(n_v, n))
    h = _quiet_highs()
    h.setOptionValue("presolve", "on" if n_g else "off")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, n_v
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.concatenate([np.where(capacity >= 0, capacity, highspy.kHighsInf).astype(float),
                                    np.full(n_g, highspy.kHighsInf)])
    held = np.ones(n_v, dtype=bool)
    if n_g:
        held[sink] = False
    lp.row_lower_ = np.where(held, demand, -highspy.kHighsInf).astype(float)
    lp.row_upper_ = np.where(held, demand, highspy.kHighsInf).astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h.passModel(lp)
    for cols, cap in side_rows:
        h.addRow(-highspy.kHighsInf, float(cap), len(cols), cols.astype(np.int32), np.ones(len(cols)))
    for g in range(n_g):  # den * met - num * (sum of the group's flows) <= 0
        members = gained[group == g]
        h.addRow(-highspy.kHighsInf, 0.0, len(members) + 1, np.concatenate([[n_e + g], members]).astype(np.int32),
                 np.concatenate([[ratio.denominator], np.full(len(members), -ratio.numerator)]).astype(float))
    if side_rows or n_g:  # side rows and gains break total unimodularity: keep whole tenths by integrality
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))
    goals = np.hstack([flags.astype(float), np.zeros((len(flags), n_g))])
    if n_g:  # the second tier also counts the credits pooled arcs retire beyond the deficit they meet
        goals[TIERS.index("expire"), gained] += 1
        goals[TIERS.index("expire"), n_e:] = -1
    all_cols = np.arange(n, dtype=np.int32)
    x = np.zeros(n)
    for stage, cost in enumerate(goals):
        if stage == 1:  # only costs change (and a row the solution meets): primal simplex restarts best
            h.setOptionValue("simplex_strategy", 4)
        h.changeColsCost(n, all_cols, cost)
        if stage and (side_rows or n_g):  # the previous optimum is feasible: a mixed-integer start
            start = highspy.HighsSolution()
            start.col_value, start.value_valid = list(x), True
            h.setSolution(start)
        if n_g:
            h.setOptionValue("mip_max_nodes", GENERALISED_NODES)
        h.run()
        status = h.getModelStatus()
        cut_short = (n_g and status == highspy.HighsModelStatus.kSolutionLimit
                     and h.getInfo().primal_solution_status == 2)  # 2: a feasible solution
        if status != highspy.HighsModelStatus.kOptimal and not cut_short:
            raise ConservationError(f"HiGHS did not solve the credit network: {h.modelStatusToString(status)}")
        x = np.asarray(h.getSolution().col_value)
        picked = np.nonzero(cost)[0].astype(np.int32)
        if len(picked):  # later stages stay on this optimal face (whole tenths)
            h.addRow(-highspy.kHighsInf, float(np.round(cost @ x)), len(picked), picked, cost[picked])
    xi = np.round(x).astype(np.int64)
    if np.abs(x - xi).max(initial=0) > 1e-6 or np.abs((A @ xi - demand)[held]).max(initial=0) > 0:
        raise ConservationError("HiGHS returned a flow that is not whole tenths")
    if n_g and (ratio.denominator * xi[n_e:] > ratio.numerator * np.bincount(group, xi[gained], n_g)).any():
        raise ConservationError("HiGHS met more deficit with pooled credits than the exchange ratio allows")
    return xi


def _quiet_highs():
    """A HiGHS instance that prints nothing. ``highspy.Highs`` prints a banner when first built
    (before any option can be set); its base class ``_Highs`` does not, and has the same methods."""
    import highspy

    h = getattr(highspy, "_Highs", highspy.Highs)()
    h.setOptionValue("output_flag", False)
    return h
