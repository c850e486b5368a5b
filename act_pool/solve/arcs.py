"""The credit network of every manufacturer at once, as arrays.

The nodes and arcs are those :mod:`act_pool.solve.network` documents (that docstring is the
specification), built for all manufacturers together from the problem's tables with integer codes
and pandas merges instead of one networkx object per manufacturer. Nodes are sorted by
manufacturer, so each manufacturer's network is one contiguous slice of nodes and of arcs
(:meth:`CreditArcs.part`): without trades every manufacturer is its own problem, and trades are
ring-fenced lots held by the buyer, so each slice is solved on its own.

Every node is named by one packed integer key (manufacturer, kind, state, group, credit type,
expiry, year, gate, each in its own bits), so looking up an arc's end is a binary search and
sorting the keys orders the nodes deterministically.

Under a pooling exchange ratio other than 1 (a generalised flow, solved by
:func:`~act_pool.solve.mincost.solve_generalised`), a pooled retire arc meets a different amount of
deficit than the credits it carries, so it may not share a gate node with the state's own credits:
every pooled route then runs straight from its ``import`` node to the deficit (one arc per import
and deficit, labelled with the first step that joins them), and ``pooled_gates`` names the gates it
counts against, which side rows of the solver hold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from act_pool.rules import clauses
from act_pool.solve.problem import ComplianceProblem

#: Node kinds, in the order nodes are numbered within a manufacturer.
NODE_KINDS = ("unmet", "deficit", "bank", "avail", "hub", "import", "gate_in", "gate_out", "expire", "end",
              "spill", "sink")
#: Arc kinds (the ``kind`` edge attribute).
ARC_KINDS = ("unmet", "spill", "drain", "draw", "carry", "expire", "end", "retire", "gate", "export", "import")
#: Rule gates (per state and model year capacities of :func:`~act_pool.solve.problem.gate_capacities`).
GATES = ("nzev_nontractor", "nzev_tractor", "low_volume", "tractor_offset")
CREDIT_TYPES = ("ZEV", "NZEV")
_SPECIAL = ("unmet", "expire", "end", "spill", "sink")

# Bit layout of a node key, most significant first: manufacturer, kind, state, group, credit type,
# expiry, year, gate (years as offsets from a base year).
_BITS = {"maker": 20, "kind": 4, "state": 8, "group": 2, "ctype": 2, "expiry": 10, "year": 10, "gate": 3}
_SHIFT: dict[str, int] = {}
_pos = 0
for _name in reversed(list(_BITS)):
    _SHIFT[_name] = _pos
    _pos += _BITS[_name]
_NONE_GATE = len(GATES)


@dataclass
class CreditArcs:
    """All manufacturers' credit networks as arrays (see the module docstring).

    Attributes
    ----------
    manufacturers : list of str
        Manufacturer of each maker code.
    states : list of str
        State of each state code.
    base_year : int
        Years (expiry, year of use, deficit model year) are stored as offsets from it.
    key : ndarray of int64
        Packed key of each node, sorted.
    demand : ndarray of int64
        Node demand in tenths (networkx's sign: inflow minus outflow).
    tail, head : ndarray of int64
        Arc ends (node indices).
    capacity : ndarray of int64
        Arc capacity in tenths, -1 where unbounded.
    kind : ndarray of int8
        Index into :data:`ARC_KINDS`.
    route : ndarray of int8
        Index into ``steps`` of a retire arc, -1 for other arcs.
    pooled : ndarray of bool
        Retire arcs leaving an ``import`` node.
    pooled_gates : ndarray of int8
        For a pooled retire arc that runs straight to its deficit (exchange ratio other than 1),
        the gates it counts against as bits (bit i: ``GATES[i]``); 0 for other arcs.
    gate : ndarray of int8
        Index into :data:`GATES` of a gate arc, -1 for other arcs.
    steps : list of str
        Retirement step names (``route`` codes).
    node_start, arc_start : ndarray of int64
        Where each manufacturer's nodes and arcs begin (one entry more than manufacturers).
    supply, deficits : ndarray of int64
        Each manufacturer's credits in the network and deficits, in tenths.
    """

    manufacturers: list[str]
    states: list[str]
    base_year: int
    key: np.ndarray
    demand: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    kind: np.ndarray
    route: np.ndarray
    pooled: np.ndarray
    pooled_gates: np.ndarray
    gate: np.ndarray
    steps: list[str]
    node_start: np.ndarray
    arc_start: np.ndarray
    supply: np.ndarray
    deficits: np.ndarray

    def part(self, maker: int) -> tuple[slice, slice]:
        """The node and arc ranges of one manufacturer's network."""
        return (slice(int(self.node_start[maker]), int(self.node_start[maker + 1])),
                slice(int(self.arc_start[maker]), int(self.arc_start[maker + 1])))

    def field(self, name: str, nodes: np.ndarray | slice = slice(None)) -> np.ndarray:
        """One field (``maker``, ``kind``, ``state``, ``group``, ``ctype``, ``expiry``, ``year``,
        ``gate``) of the node keys; years as calendar years."""
        value = key_field(self.key[nodes], name)
        return value + self.base_year if name in ("expiry", "year") else value

    def node_ids(self, nodes: np.ndarray | slice = slice(None)) -> list[tuple]:
        """The tuple ids of nodes as :mod:`act_pool.solve.network` names them."""
        f = {name: self.field(name, nodes).tolist() for name in _BITS}
        out: list[tuple] = []
        for kind, s, g, c, e, t, gate in zip(f["kind"], f["state"], f["group"], f["ctype"], f["expiry"], f["year"],
                                             f["gate"]):
            name = NODE_KINDS[kind]
            state, group, ctype = (self.states[s] if s < len(self.states) else ""), clauses.GROUPS[g], CREDIT_TYPES[c]
            if name == "bank":
                out.append((name, state, group, ctype, e, t))
            elif name in ("avail", "import"):
                out.append((name, state, group, ctype, t))
            elif name == "hub":
                out.append((name, group, ctype, t))
            elif name in ("gate_in", "gate_out"):
                out.append((name, state, t, GATES[gate]))
            elif name == "deficit":
                out.append((name, state, t, group))
            else:
                out.append((name,))
        return out


def text_codes(values: pd.Series, code: dict) -> np.ndarray:
    """Integer codes of text values (every value must be a key of ``code``): each distinct value is
    looked up once (:func:`pandas.factorize`)."""
    found, distinct = pd.factorize(values)
    lookup = np.array([code.get(v, -1) for v in distinct] + [-1], dtype=np.int64)
    out = lookup[found]  # a missing value (-1) takes the last entry, -1
    if (out < 0).any():
        raise ValueError("a value without a code in the credit network")
    return out


def node_key(maker, kind: str, state=0, group=0, ctype=0, expiry=0, year=0, gate=_NONE_GATE) -> np.ndarray:
    """Packed keys of nodes of one ``kind`` (fields as integer codes, years as offsets from the base year)."""
    parts = {"maker": maker, "kind": NODE_KINDS.index(kind), "state": state, "group": group, "ctype": ctype,
             "expiry": expiry, "year": year, "gate": gate}
    key = np.zeros(np.shape(maker), dtype=np.int64)
    for name, value in parts.items():
        key |= np.asarray(value, dtype=np.int64) << _SHIFT[name]
    return key


def key_field(keys: np.ndarray, name: str) -> np.ndarray:
    """One field of packed node keys, as its integer code (years as offsets from the base year)."""
    return (keys >> _SHIFT[name]) & ((1 << _BITS[name]) - 1)


def without_year(keys: np.ndarray) -> np.ndarray:
    """Node keys with their year cleared: for bank nodes, the chain (expiry class) they belong to."""
    return keys & ~(((1 << _BITS["year"]) - 1) << _SHIFT["year"])


def build_arcs(problem: ComplianceProblem, pooled_direct: bool | None = None) -> CreditArcs:
    """Every manufacturer's credit network (see :mod:`act_pool.solve.network`) as :class:`CreditArcs`.

    Honours the gates' ``may_send`` column where present (a state whose credits usable in a year may
    not be pooled out, or that has no gate row that year, has no export arc that year); without the
    column every state may send. ``pooled_direct`` (default: pooling under an exchange ratio other
    than 1) runs pooled routes straight to their deficits (see the module docstring).
    """
    if pooled_direct is None:
        pooled_direct = generalised(problem)
    makers = problem.manufacturers
    first, last = problem.years.start, problem.years.stop - 1
    maker_code = {m: i for i, m in enumerate(makers)}
    lots = problem.lots[problem.lots["usable"] & (problem.lots["last_use"] >= first)]
    states = sorted(set(problem.deficits["state"].unique()) | set(lots["origin_state"].unique())
                    | set(problem.gates["state"].unique()))
    state_code = {s: i for i, s in enumerate(states)}
    group_code = {g: i for i, g in enumerate(clauses.GROUPS)}
    ctype_code = {c: i for i, c in enumerate(CREDIT_TYPES)}
    years = [first, last] + lots["last_use"].tolist() + lots["available_from"].tolist()
    base = min(years) - problem.makeup_years - 1
    if max(years) - base >= 1 << _BITS["year"] or len(makers) >= 1 << _BITS["maker"]:
        raise ValueError("years or manufacturers out of the credit network's key range")
    steps = problem.steps
    step_names = [s.name for s in steps]

    # Deficits.
    dfc = problem.deficits.groupby(["manufacturer", "state", "model_year", "group"], sort=False,
                                   as_index=False)["deficits"].sum()
    dfc = pd.DataFrame({"mk": text_codes(dfc["manufacturer"], maker_code),
                        "s": text_codes(dfc["state"], state_code),
                        "d": dfc["model_year"].to_numpy(np.int64) - base,
                        "h": text_codes(dfc["group"], group_code),
                        "amount": dfc["deficits"].to_numpy(np.int64)})
    dfc["key"] = node_key(dfc["mk"].to_numpy(), "deficit", dfc["s"].to_numpy(), dfc["h"].to_numpy(),
                          year=dfc["d"].to_numpy())
    n_makers = len(makers)
    all_mk = np.arange(n_makers, dtype=np.int64)
    total_def = np.bincount(dfc["mk"], weights=dfc["amount"], minlength=n_makers).astype(np.int64)

    # Bank chains per expiry class, from the first year a lot may be used to its expiry (or the
    # horizon). A lot enters at the bank node of its class and first year; sorted keys group the
    # entry nodes by class (the year is the class key's lowest field), earliest year first.
    lot_maker = text_codes(lots["manufacturer"], maker_code)
    lot_credits = lots["credits"].to_numpy(np.int64)
    supply = np.zeros(n_makers, dtype=np.int64)
    np.add.at(supply, lot_maker, lot_credits)
    lot_entry = node_key(lot_maker, "bank", text_codes(lots["origin_state"], state_code),
                         text_codes(lots["group"], group_code), text_codes(lots["credit_type"], ctype_code),
                         lots["last_use"].to_numpy(np.int64) - base,
                         np.maximum(lots["available_from"].to_numpy(np.int64), first) - base)
    entry_keys, lot_entry_row = np.unique(lot_entry, return_inverse=True)
    entry_credits = np.zeros(len(entry_keys), dtype=np.int64)
    np.add.at(entry_credits, lot_entry_row, lot_credits)
    class_keys, class_first = np.unique(without_year(entry_keys), return_index=True)
    enter = key_field(entry_keys[class_first], "year")
    stop = np.minimum(key_field(class_keys, "expiry"), last - base)
    length = stop - enter + 1
    idx = np.repeat(np.arange(len(class_keys)), length)
    t = enter[idx] + np.arange(len(idx)) - np.repeat(np.cumsum(length) - length, length)
    bank_key = class_keys[idx] | (t << _SHIFT["year"])
    bank = pd.DataFrame({name: key_field(bank_key, field) for name, field in
                         (("mk", "maker"), ("s", "state"), ("g", "group"), ("c", "ctype"), ("e", "expiry"))})
    bank["t"], bank["stop"], bank["key"] = t, stop[idx], bank_key
    bank["avail"] = node_key(bank["mk"].to_numpy(), "avail", bank["s"].to_numpy(), bank["g"].to_numpy(),
                             bank["c"].to_numpy(), year=t)

    parts: list[pd.DataFrame] = []

    def add(tail, head, kind: str, capacity=-1, route=-1, pooled=False, gate=-1, pooled_gates=0) -> None:
        n = len(tail)
        parts.append(pd.DataFrame({"tail": np.asarray(tail, dtype=np.int64), "head": np.asarray(head, dtype=np.int64),
                                  "capacity": np.broadcast_to(np.asarray(capacity, dtype=np.int64), n),
                                  "kind": np.int8(ARC_KINDS.index(kind)),
                                  "route": np.broadcast_to(np.asarray(route, dtype=np.int8), n),
                                  "pooled": np.broadcast_to(np.asarray(pooled, dtype=bool), n),
                                  "pooled_gates": np.broadcast_to(np.asarray(pooled_gates, dtype=np.int8), n),
                                  "gate": np.broadcast_to(np.asarray(gate, dtype=np.int8), n)}))

    special = {k: node_key(all_mk, k) for k in _SPECIAL}
    add(special["unmet"][dfc["mk"]], dfc["key"], "unmet", capacity=dfc["amount"].to_numpy())
    add(special["unmet"], special["spill"], "spill")
    for k in ("expire", "end", "spill"):
        add(special[k], special["sink"], "drain")
    add(bank["key"], bank["avail"], "draw")
    chain = bank["t"].to_numpy() < bank["stop"].to_numpy()
    add(bank["key"][chain], bank["key"][chain] + (1 << _SHIFT["year"]), "carry")
    tails = bank[bank["t"] == bank["stop"]]
    expires = (tails["e"] <= last - base).to_numpy()
    add(tails["key"][expires], special["expire"][tails["mk"][expires]], "expire")
    add(tails["key"][~expires], special["end"][tails["mk"][~expires]], "end")

    # Retirement routes: each state's available credits (own) and imports (pooled).
    avail = bank.iloc[_first_rows(bank["avail"].to_numpy())][["mk", "s", "g", "c", "t", "avail"]]
    avail = avail.rename(columns={"avail": "key"}).reset_index(drop=True)
    gates = _gate_table(problem, maker_code, state_code, base)
    own_routes = _routes(avail.assign(pooled=False), problem, gates, dfc, first - base)
    routes = [own_routes]
    if problem.pooling:
        pool_codes = [state_code[s] for s in problem.pool_states if s in state_code]
        senders = avail[avail["s"].isin(pool_codes)]
        # A state may send where its gate row that year says so; without the column every state
        # may, with it a state without a gate row that year may not.
        row = _gate_rows(gates, senders["mk"].to_numpy(), senders["s"].to_numpy(), senders["t"].to_numpy())
        may_send = np.full(len(row), "may_send" not in problem.gates)
        may_send[row >= 0] = gates["may_send"].to_numpy(bool)[row[row >= 0]]
        senders = senders[may_send]
        senders = senders.assign(hub=node_key(senders["mk"].to_numpy(), "hub", group=senders["g"].to_numpy(),
                                              ctype=senders["c"].to_numpy(), year=senders["t"].to_numpy()))
        add(senders["key"], senders["hub"], "export")
        imports = _imports(senders, dfc[dfc["s"].isin(pool_codes)])
        pooled_routes = _routes(imports.assign(pooled=True), problem, gates, dfc, first - base)
        imports = imports[imports["key"].isin(pooled_routes["src"])]
        add(imports["hub"], imports["key"], "import")
        routes.append(pooled_routes)
        hub_keys = senders["hub"].to_numpy()
    else:
        hub_keys = np.zeros(0, dtype=np.int64)
        imports = pd.DataFrame({"key": np.zeros(0, dtype=np.int64)})
    rt = pd.concat(routes, ignore_index=True)
    if pooled_direct:
        straight = rt["pooled"].to_numpy() & (rt["gate"].to_numpy() >= 0)
        direct = rt[straight].assign(bit=lambda r: np.left_shift(1, r["gate"].to_numpy()))
        direct = direct.sort_values("step", kind="stable").groupby(["src", "deficit"], sort=False).agg(
            step=("step", "first"), bits=("bit", lambda b: int(np.bitwise_or.reduce(b.to_numpy())))).reset_index()
        add(direct["src"], direct["deficit"], "retire", route=direct["step"].to_numpy(), pooled=True,
            pooled_gates=direct["bits"].to_numpy())
        rt = rt[~straight]
    ungated = rt[rt["gate"] < 0]
    add(ungated["src"], ungated["deficit"], "retire", route=ungated["step"].to_numpy(),
        pooled=ungated["pooled"].to_numpy())
    gated = rt[rt["gate"] >= 0]
    into_gate = gated.drop_duplicates(["src", "gate_in"])
    add(into_gate["src"], into_gate["gate_in"], "retire", route=into_gate["step"].to_numpy(),
        pooled=into_gate["pooled"].to_numpy())
    gate_nodes = gated.drop_duplicates("gate_in")
    add(gate_nodes["gate_in"], gate_nodes["gate_out"], "gate", capacity=gate_nodes["cap"].to_numpy(),
        gate=gate_nodes["gate"].to_numpy())
    outs = gated.sort_values("step", kind="stable").drop_duplicates(["gate_out", "deficit"])
    add(outs["gate_out"], outs["deficit"], "retire", route=outs["step"].to_numpy())

    # Nodes and their demands.
    node_keys = np.concatenate([dfc["key"].to_numpy(), bank["key"].to_numpy(), avail["key"].to_numpy(), hub_keys,
                                imports["key"].to_numpy(), gate_nodes["gate_in"].to_numpy(),
                                gate_nodes["gate_out"].to_numpy(), *special.values()])
    key = np.unique(node_keys)
    demand = np.zeros(len(key), dtype=np.int64)
    np.add.at(demand, np.searchsorted(key, dfc["key"].to_numpy()), dfc["amount"].to_numpy())
    np.add.at(demand, np.searchsorted(key, entry_keys), -entry_credits)
    demand[np.searchsorted(key, special["unmet"])] -= total_def
    demand[np.searchsorted(key, special["sink"])] += supply
    arc = pd.concat(parts, ignore_index=True)
    parts.clear()  # free the pieces before the sorted copies are made
    tail, head = np.searchsorted(key, arc["tail"].to_numpy()), np.searchsorted(key, arc["head"].to_numpy())
    order = np.lexsort((head, tail))  # by tail, then head; stable
    tail, head = tail[order], head[order]

    def column(name: str, dtype: type) -> np.ndarray:
        return arc[name].to_numpy(dtype)[order]

    node_maker = key >> _SHIFT["maker"]
    node_start = np.searchsorted(node_maker, np.arange(n_makers + 1))
    arc_start = np.searchsorted(tail, node_start)
    return CreditArcs(manufacturers=list(makers), states=states, base_year=base, key=key, demand=demand,
                      tail=tail.astype(np.int64), head=head.astype(np.int64),
                      capacity=column("capacity", np.int64), kind=column("kind", np.int8),
                      route=column("route", np.int8), pooled=column("pooled", bool),
                      pooled_gates=column("pooled_gates", np.int8),
                      gate=column("gate", np.int8), steps=step_names, node_start=node_start.astype(np.int64),
                      arc_start=arc_start.astype(np.int64), supply=supply, deficits=total_def)


def generalised(problem: ComplianceProblem) -> bool:
    """Whether the optimum is a generalised flow: pooling under an exchange ratio other than 1."""
    return problem.pooling and problem.exchange_ratio != 1


def _gate_table(problem: ComplianceProblem, maker_code: dict, state_code: dict, base: int) -> pd.DataFrame:
    """The gates as integer codes: capacities per gate, ``may_receive`` and ``may_send``."""
    g = problem.gates[problem.gates["manufacturer"].isin(list(maker_code))]
    out = pd.DataFrame({"mk": text_codes(g["manufacturer"], maker_code),
                        "s": text_codes(g["state"], state_code),
                        "d": g["model_year"].to_numpy(np.int64) - base,
                        "may_receive": g["may_receive"].to_numpy(bool),
                        "may_send": g["may_send"].to_numpy(bool) if "may_send" in g else np.ones(len(g), bool)})
    for name in GATES:
        out[name] = g[name].to_numpy(np.int64)
    return out


def _routes(sources: pd.DataFrame, problem: ComplianceProblem, gates: pd.DataFrame, dfc: pd.DataFrame,
            first: int) -> pd.DataFrame:
    """Retire routes from credit nodes (``avail`` or ``import``) to their state's deficits.

    One row per source, deficit model year, retirement step and deficit group that the rules
    allow (13 CCR §1963.3): deficits of the year of use or of the make-up period before it (ZEV
    credits only for carried deficits where the rule set says so, §1963.3(b)), pooled credits only
    into a state that may receive them, and gated steps only where their gate has room. Lookups
    are binary searches on packed keys.
    """
    m = problem.makeup_years
    rep = np.repeat(np.arange(len(sources)), m + 1)
    k = np.tile(np.arange(m + 1), len(sources))
    col = {name: sources[name].to_numpy()[rep] for name in ("mk", "s", "g", "c", "t", "key", "pooled")}
    col["d"] = col["t"] - k
    keep = col["d"] >= first
    if problem.makeup_zev_only:
        keep &= ~((col["c"] == CREDIT_TYPES.index("NZEV")) & (k > 0))
    col = {name: v[keep] for name, v in col.items()}
    # The gate row of each (manufacturer, state, deficit year); none: no deficits accrue there.
    gate_row = _gate_rows(gates, col["mk"], col["s"], col["d"])
    found = gate_row >= 0
    col = {name: v[found] for name, v in col.items()}
    gate_row = gate_row[found]
    if col["pooled"].any():
        ok = ~col["pooled"] | gates["may_receive"].to_numpy()[gate_row]
        col = {name: v[ok] for name, v in col.items()}
        gate_row = gate_row[ok]
    # Every step (and target group) the credit type and group may take.
    steps = [(i, CREDIT_TYPES.index(st.credit_type), clauses.GROUPS.index(g), GATES.index(st.gate) if st.gate else -1,
              clauses.GROUPS.index(h))
             for i, st in enumerate(problem.steps) for g in st.source_groups for h in st.target_groups]
    steps.sort(key=lambda r: (r[1], r[2], r[0], r[4]))
    table = np.array(steps, dtype=np.int64).reshape(-1, 5)
    combo = table[:, 1] * 4 + table[:, 2]
    starts = np.searchsorted(combo, np.arange(9))
    mine = col["c"] * 4 + col["g"]
    count = starts[mine + 1] - starts[mine]
    rep = np.repeat(np.arange(len(mine)), count)
    pick = starts[mine][rep] + np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    col = {name: v[rep] for name, v in col.items()}
    gate_row = gate_row[rep]
    step, gate, h = table[pick, 0], table[pick, 3], table[pick, 4]
    # Only deficits that exist; gated steps only where the gate has room.
    deficit = node_key(col["mk"], "deficit", col["s"], h, year=col["d"])
    hit = _find(np.sort(dfc["key"].to_numpy()), deficit) >= 0
    caps = gates[list(GATES)].to_numpy()[gate_row, np.maximum(gate, 0)]
    cap = np.where(gate >= 0, caps, -1)
    ok = hit & ((gate < 0) | (cap > 0))
    mk, st_, d, gt = col["mk"][ok], col["s"][ok], col["d"][ok], gate[ok]
    gate_code = np.maximum(gt, 0)
    return pd.DataFrame({"src": col["key"][ok], "pooled": col["pooled"][ok].astype(bool), "step": step[ok],
                         "gate": gt, "cap": cap[ok], "deficit": deficit[ok],
                         "gate_in": np.where(gt >= 0, node_key(mk, "gate_in", st_, year=d, gate=gate_code), 0),
                         "gate_out": np.where(gt >= 0, node_key(mk, "gate_out", st_, year=d, gate=gate_code), 0)})


def _imports(senders: pd.DataFrame, receiving: pd.DataFrame) -> pd.DataFrame:
    """The ``import`` nodes: credits of every sending state (rows of ``senders``: ``avail`` nodes with
    their ``hub``) offered to every other state with deficits in the pool (rows of ``receiving``,
    deficits), once per manufacturer, receiving state, group, type and year, in the order of the
    senders, then of the receiving states' first deficits."""
    recv_mk, recv_state = receiving["mk"].to_numpy(), receiving["s"].to_numpy()
    firsts = _first_rows(recv_mk << _BITS["state"] | recv_state)
    recv_mk, recv_state = recv_mk[firsts], recv_state[firsts]
    by_maker = np.argsort(recv_mk, kind="stable")
    recv_mk, recv_state = recv_mk[by_maker], recv_state[by_maker]
    send_mk = senders["mk"].to_numpy()
    start, stop = np.searchsorted(recv_mk, send_mk, "left"), np.searchsorted(recv_mk, send_mk, "right")
    count = stop - start
    rep = np.repeat(np.arange(len(send_mk)), count)
    to = recv_state[np.repeat(start, count) + np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)]
    col = {name: senders[name].to_numpy()[rep] for name in ("mk", "s", "g", "c", "t", "hub")}
    other = to != col["s"]
    col = {name: v[other] for name, v in col.items()}
    col["s"] = to[other]
    col["key"] = node_key(col["mk"], "import", col["s"], col["g"], col["c"], year=col["t"])
    keep = _first_rows(col["key"])
    return pd.DataFrame({name: v[keep] for name, v in col.items()})


def _gate_rows(gates: pd.DataFrame, maker: np.ndarray, state: np.ndarray, year: np.ndarray) -> np.ndarray:
    """The row of ``gates`` (:func:`_gate_table`) of each manufacturer, state and model year (as
    offsets from the base year), -1 where there is none."""
    gate_key = node_key(gates["mk"].to_numpy(), "gate_in", gates["s"].to_numpy(), year=gates["d"].to_numpy())
    order = np.argsort(gate_key, kind="stable")
    row = _find(gate_key[order], node_key(maker, "gate_in", state, year=year))
    return np.where(row >= 0, order[np.maximum(row, 0)] if len(order) else -1, -1)


def _first_rows(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in their order in ``keys``."""
    return np.sort(np.unique(keys, return_index=True)[1])


def _find(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``sorted_keys``, -1 where absent."""
    pos = np.searchsorted(sorted_keys, keys)
    inside = pos < len(sorted_keys)
    hit = np.zeros(len(keys), dtype=bool)
    hit[inside] = sorted_keys[pos[inside]] == keys[inside]
    return np.where(hit, pos, -1)
