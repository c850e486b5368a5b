"""Split the optimal arc flows back into credit lots (vintages): the ledger movements of the plan.

Parcels of lots travel the network in topological order (each year's bank, available, hub and
import nodes, then the gates), earliest expiring and oldest vintage first at every node (ties:
lot id, then the order of arrival, which is earlier year first), and each out-arc takes its flow
in turn, in a fixed order (draw, retire, export, import, carry, expire, end; among arcs of one
kind, by the name of the node they lead to). A parcel that reaches a deficit is a retirement,
decided where it left its ``avail`` or ``import`` node (that year, on that arc's route); one that
reaches the expiry node expired. The result is a DataFrame with the ledger's movement columns.

The walk is compiled (``act_pool/solve/_walk.c``, built at install where a C compiler is) and does
the same, piece for piece; the walk in Python here stands in where it was not built and where
pooled arcs share what they meet (below).

Under a pooling exchange ratio r other than 1, a pooled retire arc runs straight to its deficit and
meets m tenths (``met``: its share of its group's met column, see
:func:`~act_pool.solve.mincost.solve_generalised`) with the f tenths of credits it carries. Its
parcels share m in the order they were taken (:func:`~act_pool.solve.mincost.share_met`): each
meets floor(r x credits) (less where m runs out first), and what m has beyond those floors goes a
tenth at a time, in the same order, to the parcels whose r x credits is not whole, so that no
parcel meets more than r x credits rounded up and the parcels together meet exactly m.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from act_pool.errors import ConservationError
from act_pool.rules import clauses
from act_pool.solve.arcs import ARC_KINDS, GATES, NODE_KINDS, CreditArcs, node_key, text_codes, without_year
from act_pool.solve.mincost import share_met
from act_pool.solve.problem import ComplianceProblem
from act_pool.solve.sequential import MOVEMENT_KEYS

try:
    from act_pool.solve import _walk
except ImportError:  # built without a C compiler: the walk in Python below
    _walk = None

_EDGE_ORDER = {"draw": 0, "retire": 1, "export": 2, "import": 3, "carry": 4, "expire": 5, "end": 6}
_LAYER = {"bank": 0, "avail": 1, "hub": 2, "import": 3}
# What a node does with the parcels that reach it (the roles of ``_walk.c``): pass them on over its
# out-arcs; the same, stamping its year (and a retire arc's route) on what it sends (``avail`` and
# ``import`` nodes); or take them in (deficit, expiry, end).
_ROLE_PASS, _ROLE_LEAVING, _ROLE_DEFICIT, _ROLE_EXPIRE, _ROLE_END = range(5)
_ROLES = np.array([{"avail": _ROLE_LEAVING, "import": _ROLE_LEAVING, "deficit": _ROLE_DEFICIT,
                    "expire": _ROLE_EXPIRE, "end": _ROLE_END}.get(k, _ROLE_PASS) for k in NODE_KINDS], dtype=np.int64)
_WALK_ERRORS = {1: "flow out of a credit network node exceeds the credits that reached it",
                2: "credits stranded in the credit network"}


def _arc_order(arcs: CreditArcs, arcs_taken: np.ndarray) -> np.ndarray:
    """The arcs ``arcs_taken`` (indices) sorted by tail, then the out-arc order of the module docstring."""
    edge_rank = np.array([_EDGE_ORDER.get(k, 9) for k in ARC_KINDS])[arcs.kind[arcs_taken]]
    h = arcs.head[arcs_taken]
    kind_name = np.argsort(np.argsort(np.array(NODE_KINDS)))[arcs.field("kind", h)]  # alphabetical
    gate_name = np.append(np.argsort(np.argsort(np.array(GATES))), 0)[arcs.field("gate", h)]
    last = np.where(arcs.field("kind", h) == NODE_KINDS.index("deficit"), arcs.field("group", h), gate_name)
    keys = (last, arcs.field("year", h), arcs.field("state", h), kind_name, edge_rank, arcs.tail[arcs_taken])
    return arcs_taken[np.lexsort(keys)]


def _node_order(arcs: CreditArcs) -> np.ndarray:
    """Nodes that pass credits on, in a topological order: year by year bank, avail, hub and import
    nodes, then gate_in and gate_out nodes."""
    kind = arcs.field("kind")
    layer_of_kind = np.full(len(NODE_KINDS), -1)
    layer_of_kind[[NODE_KINDS.index(k) for k in _LAYER]] = list(_LAYER.values())
    layer = layer_of_kind[kind]
    yearly = layer >= 0
    gate_in, gate_out = kind == NODE_KINDS.index("gate_in"), kind == NODE_KINDS.index("gate_out")
    year = arcs.field("year")
    order_yearly = np.nonzero(yearly)[0][np.lexsort((np.nonzero(yearly)[0], layer[yearly], year[yearly]))]
    return np.concatenate([order_yearly, np.nonzero(gate_in)[0], np.nonzero(gate_out)[0]])


def flows_to_movements(arcs: CreditArcs, flow: np.ndarray, problem: ComplianceProblem,
                       met: np.ndarray | None = None) -> pd.DataFrame:
    """Ledger movements (retire and expire) of the flows of every manufacturer's network; ``met``
    (default: the flows) is what each arc delivers to its head (see the module docstring).

    Raises
    ------
    ConservationError
        Where the flows out of a node exceed the credits that reached it, or credits are stranded.
    """
    first = problem.years.start
    usable = problem.lots[problem.lots["usable"]]
    current = usable["last_use"].to_numpy(np.int64) >= first  # the others' life ended before the first year
    lots = usable[current]
    maker_code = {m: i for i, m in enumerate(arcs.manufacturers)}
    state_code = {s: i for i, s in enumerate(arcs.states)}
    group_code = {g: i for i, g in enumerate(clauses.GROUPS)}
    entry = node_key(text_codes(lots["manufacturer"], maker_code), "bank", text_codes(lots["origin_state"], state_code),
                     text_codes(lots["group"], group_code), (lots["credit_type"] == "NZEV").to_numpy(np.int64),
                     lots["last_use"].to_numpy(np.int64) - arcs.base_year,
                     np.maximum(lots["available_from"].to_numpy(np.int64), first) - arcs.base_year)
    entry_node = np.searchsorted(arcs.key, entry)

    positive = _arc_order(arcs, np.nonzero(flow > 0)[0])  # the arcs that carry credits, in walk order
    met = flow if met is None else met
    shared = arcs.pooled[positive] & ((met[positive] != flow[positive]) | (problem.exchange_ratio != 1))
    network = _Network(starts=np.searchsorted(arcs.tail[positive], np.arange(len(arcs.key) + 1)),
                       heads=arcs.head[positive], flows=flow[positive],
                       retire=(arcs.kind[positive] == ARC_KINDS.index("retire")).astype(np.int64),
                       routes=arcs.route[positive].astype(np.int64), role=_ROLES[arcs.field("kind")],
                       year=arcs.field("year"))
    in_order, drawn, bank_expired = _bank_chains(arcs, flow, lots, entry_node)
    others = np.nonzero(~in_order)[0]  # the other chains' lots enter the walk at their bank nodes
    arrivals = np.concatenate([drawn, np.column_stack([entry_node[others], others,
                                                       lots["credits"].to_numpy(np.int64)[others]])])
    walk = _node_order(arcs)
    bank = walk[arcs.field("kind", walk) == NODE_KINDS.index("bank")]
    split_here = np.zeros(len(arcs.key), dtype=bool)  # the bank nodes of the chains split above
    split_here[bank[np.isin(without_year(arcs.key[bank]), without_year(arcs.key[entry_node[in_order]]))]] = True
    walk = walk[~split_here[walk]]
    rank = _sort_rank(lots)
    if _walk is not None and not shared.any():
        retired, expired = _compiled_walk(walk, network, arrivals, rank)
    else:
        retired, expired = _python_walk(walk, network, arrivals, rank, shared, met[positive], problem.exchange_ratio)
    return _movements(arcs, usable, current, retired, np.concatenate([bank_expired, expired]))


@dataclass(frozen=True)
class _Network:
    """The arcs that carry credits, as the walk reads them: each node's out-arcs (``starts``, CSR
    offsets, in the out-arc order of the module docstring) with their head, flow, whether each is a
    retire arc (1 or 0) and its route; each node's role (``_ROLE_*``) and year."""

    starts: np.ndarray
    heads: np.ndarray
    flows: np.ndarray
    retire: np.ndarray
    routes: np.ndarray
    role: np.ndarray
    year: np.ndarray


def _sort_rank(lots: pd.DataFrame) -> np.ndarray:
    """Each lot row's place in the order parcels are split at a node (last use, vintage, lot); equal
    keys share a rank, so that their parcels keep their order of arrival."""
    keys = np.stack([lots[c].to_numpy(np.int64) for c in ("last_use", "vintage", "lot")])
    order = np.lexsort(keys[::-1])
    new = np.ones(len(order), dtype=bool)
    new[1:] = (keys[:, order[1:]] != keys[:, order[:-1]]).any(axis=0)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    return rank


def _compiled_walk(walk: np.ndarray, network: _Network, arrivals: np.ndarray,
                   rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_python_walk` without shared arcs, compiled (``act_pool.solve._walk``)."""
    def arr(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.int64)

    status, retired, expired = _walk.walk(arr(walk), arr(network.starts), arr(network.heads), arr(network.flows),
                                          arr(network.retire), arr(network.routes), arr(network.role),
                                          arr(network.year), arr(arrivals[:, 0]), arr(arrivals[:, 1]),
                                          arr(arrivals[:, 2]), arr(rank))
    if status:
        raise ConservationError(_WALK_ERRORS[status])
    r = np.frombuffer(retired, dtype=np.int64).reshape(-1, 5)
    return np.column_stack([r, r[:, 2]]), np.frombuffer(expired, dtype=np.int64).reshape(-1, 2)


def _python_walk(walk: np.ndarray, network: _Network, arrivals: np.ndarray, rank: np.ndarray, shared: np.ndarray,
                 delivered: np.ndarray, ratio: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """The walk of the module docstring: the nodes ``walk`` in turn split the parcels that reached
    them (``arrivals`` before the walk: node, lot row, credits; each node's in order of arrival) over
    their out-arcs by ``rank`` (:func:`_sort_rank`); ``shared`` arcs share what they ``delivered``.
    Returns the retired pieces (lot row, deficit node, credits, year, route, deficit met) and the
    expired ones (lot row, credits), in the order found."""
    starts, heads, flows = network.starts.tolist(), network.heads.tolist(), network.flows.tolist()
    retire, routes = network.retire.tolist(), network.routes.tolist()
    role, node_year, sort_rank = network.role.tolist(), network.year.tolist(), rank.tolist()
    shared, delivered = shared.tolist(), delivered.tolist()
    inbox: dict[int, list[list]] = {}
    for n, row, credits in arrivals.tolist():
        inbox.setdefault(n, []).append([row, credits, -1, -1])
    retired: list[tuple] = []
    expired: list[tuple] = []
    for n in walk.tolist():
        parcels = inbox.pop(n, None)
        if not parcels:
            continue
        leaving = role[n] == _ROLE_LEAVING
        if starts[n + 1] - starts[n] == 1 and not leaving and role[heads[starts[n]]] not in (_ROLE_DEFICIT,
                                                                                              _ROLE_EXPIRE):
            inbox.setdefault(heads[starts[n]], []).extend(parcels)  # one way on: every parcel takes it
            continue
        if len(parcels) > 1:
            parcels.sort(key=lambda p: sort_rank[p[0]])  # stable: ties keep the order of arrival
        q = 0
        for a in range(starts[n], starts[n + 1]):
            v, need = heads[a], flows[a]
            route = routes[a] if leaving and retire[a] else None
            year = node_year[n] if leaving else None
            v_role = role[v]
            first_piece = len(retired)
            while need > 0:
                if q == len(parcels):
                    raise ConservationError(_WALK_ERRORS[1])
                p = parcels[q]
                take = min(need, p[1])
                moved = [p[0], take, p[2] if route is None else route, p[3] if year is None else year]
                if v_role == _ROLE_DEFICIT:
                    retired.append((moved[0], v, take, moved[3], moved[2], take))
                elif v_role == _ROLE_EXPIRE:
                    expired.append((moved[0], take))
                elif v_role != _ROLE_END:
                    inbox.setdefault(v, []).append(moved)
                need -= take
                p[1] -= take
                if p[1] == 0:
                    q += 1
            if shared[a] and v_role == _ROLE_DEFICIT:
                shares = share_met([piece[2] for piece in retired[first_piece:]], delivered[a], ratio)
                retired[first_piece:] = [piece[:5] + (m,) for piece, m in zip(retired[first_piece:], shares)]
        if any(p[1] > 0 for p in parcels[q:]):
            raise ConservationError(_WALK_ERRORS[2])
    return np.array(retired, dtype=np.int64).reshape(-1, 6), np.array(expired, dtype=np.int64).reshape(-1, 2)


def _bank_chains(arcs: CreditArcs, flow: np.ndarray, lots: pd.DataFrame,
                 entry_node: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the bank chains whose lots enter in the order they are drawn, on arrays.

    In a chain (one expiry class), every bank node sorts its credits by vintage and lot and draws
    the first into the year's available credits. Where lots enter the chain in that order (no lot
    bought later with an older vintage), the draws of the years are consecutive stretches of the
    chain's lots in that order, as are what expires or stays banked at its end: each parcel is the
    overlap of a lot's stretch with a draw's. Returns which lots were split here (the others' chains
    are walked node by node), the parcels drawn (``avail`` node, lot row, credits) and those expired
    (lot row, credits), each in chain order.
    """
    chain = without_year(arcs.key[entry_node])
    enter = arcs.field("year", entry_node)
    by_key = np.lexsort((lots["lot"].to_numpy(), lots["vintage"].to_numpy(), chain))
    sorted_chain, sorted_enter = chain[by_key], enter[by_key]
    late = (sorted_chain[1:] == sorted_chain[:-1]) & (sorted_enter[1:] < sorted_enter[:-1])
    bad_chains = np.unique(sorted_chain[1:][late])
    good = ~np.isin(chain, bad_chains)
    rows = by_key[good[by_key]]
    if len(rows) == 0:
        return good, np.empty((0, 3), dtype=np.int64), np.empty((0, 2), dtype=np.int64)
    # Stretches of the lots, chain after chain on one line.
    credits = lots["credits"].to_numpy(np.int64)[rows]
    lot_end = np.cumsum(credits)
    # What leaves each chain, in order: each year's draw, then expiry or the end of the horizon.
    bank = NODE_KINDS.index("bank")
    tail_is_bank = arcs.field("kind", arcs.tail) == bank
    leaves = tail_is_bank & (arcs.kind != ARC_KINDS.index("carry"))
    idx = np.nonzero(leaves)[0]
    taker_chain = without_year(arcs.key[arcs.tail[idx]])
    keep = np.isin(taker_chain, chain[rows])
    idx, taker_chain = idx[keep], taker_chain[keep]
    last = (arcs.kind[idx] != ARC_KINDS.index("draw")).astype(np.int64)
    idx = idx[np.lexsort((last, arcs.field("year", arcs.tail[idx]), taker_chain))]
    take_end = np.cumsum(flow[idx])
    if take_end[-1] != lot_end[-1]:
        raise ConservationError("credits drawn from the bank chains differ from the credits in them")
    # Overlaps: every stretch between consecutive ends belongs to one lot and one draw.
    cuts = np.union1d(lot_end, take_end)
    begin = np.concatenate([[0], cuts[:-1]])
    lot_i = np.searchsorted(lot_end, cuts, side="left")
    take_i = np.searchsorted(take_end, cuts, side="left")
    amount = cuts - begin
    lot_row, arc = rows[lot_i], idx[take_i]
    lot_row, arc, amount = lot_row[amount > 0], arc[amount > 0], amount[amount > 0]
    head_kind = arcs.field("kind", arcs.head[arc])
    to_avail, to_expiry = head_kind == NODE_KINDS.index("avail"), head_kind == NODE_KINDS.index("expire")
    drawn = np.column_stack([arcs.head[arc[to_avail]], lot_row[to_avail], amount[to_avail]]).astype(np.int64)
    return good, drawn, np.column_stack([lot_row[to_expiry], amount[to_expiry]]).astype(np.int64)


def _movements(arcs: CreditArcs, usable: pd.DataFrame, current: np.ndarray, r: np.ndarray,
               x: np.ndarray) -> pd.DataFrame:
    """The movement table: lot columns joined to the retirements (``r``: rows of lot row, deficit
    node, credits, year, route, deficit met) and expiries (``x``: lot row, credits) of the lots of
    ``usable`` that are ``current`` (their rows among those), then the expiry of the others whole."""
    at, ended = np.nonzero(current)[0], np.nonzero(~current)[0]
    rows = np.concatenate([at[r[:, 0]], at[x[:, 0]], ended])  # retired, expired, expired before the horizon
    n = len(r)
    deficit = r[:, 1]
    last_use = usable["last_use"].to_numpy(np.int64)[rows[n:]]

    text = usable["origin_state"].dtype  # the text columns', whatever rows there are

    def lot_column(name: str) -> pd.api.extensions.ExtensionArray:
        return usable[name].array.take(rows)

    def text_column(retired: np.ndarray, expired: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return pd.array(np.concatenate([retired, expired]), dtype=text)

    ended_rows = rows[n:]
    return pd.DataFrame({
        "manufacturer": lot_column("manufacturer"),
        "origin_manufacturer": lot_column("origin_manufacturer"),
        "origin_state": lot_column("origin_state"),
        "vintage": usable["vintage"].to_numpy(np.int64)[rows],
        "origin_group": lot_column("group"),
        "credit_type": lot_column("credit_type"),
        "action": text_column(np.full(n, "retire", dtype=object), np.full(len(ended_rows), "expire", dtype=object)),
        "state": text_column(np.array(arcs.states, dtype=object)[arcs.field("state", deficit)],
                             usable["origin_state"].to_numpy(object)[ended_rows]),
        "model_year": np.concatenate([arcs.field("year", deficit), last_use]),
        "group": text_column(np.array(clauses.GROUPS, dtype=object)[arcs.field("group", deficit)],
                             usable["group"].to_numpy(object)[ended_rows]),
        "credits": np.concatenate([r[:, 2], x[:, 1], usable["credits"].to_numpy(np.int64)[ended]]),
        "deficit_met": np.concatenate([r[:, 5], np.zeros(len(ended_rows), dtype=np.int64)]),
        "year": np.concatenate([r[:, 3], last_use]),
        "rule": text_column(np.array(arcs.steps, dtype=object)[r[:, 4]],
                            np.full(len(ended_rows), "credit-life", dtype=object)),
        "lot": usable["lot"].to_numpy(np.int64)[rows],
    }, columns=list(MOVEMENT_KEYS))

