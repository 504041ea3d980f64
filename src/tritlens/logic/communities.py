"""Communities of the gate graph: readable pieces inside the independent (cone) modules.

``modules.find_modules`` splits a circuit into parts that share no gate. Inside one part, gates still
cluster: a neuron's adder tree, a comparator, a decoder. ``find_communities`` finds such clusters
with the Leiden algorithm (``leidenalg`` on an ``igraph`` graph: modularity optimisation that, unlike
Louvain, guarantees every community is connected), run separately inside each cone module so no
community straddles two independent parts. Each community is described by its boundary: the signals
it reads (primary inputs, latches, or gates of other communities), the signals it exports (to other
communities, outputs or latch inputs), its size and, when it reads at most ``max_inputs`` signals,
the truth table and a formula of every export.

Example::

    part = find_communities(simplify(circuit.aig, STRUCTURAL_PASSES))
    print(part.modularity, [c.ands for c in part.communities])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import igraph as ig
import leidenalg
import numpy as np

from tritlens.logic.aig import AIG, AND, INPUT, LATCH
from tritlens.logic.modules import SMALL, find_modules, formula, truth_table


@dataclass
class Community:
    """One cluster of AND gates with its boundary and (when small) what it computes."""

    index: int
    module: int  # index of its cone module in ``find_modules`` order
    ands: int
    inputs: list[str]
    outputs: list[str]
    nodes: list[int] = field(repr=False)
    tables: dict[str, str] = field(default_factory=dict)
    formulas: dict[str, str] = field(default_factory=dict)
    drives: dict[str, list[str]] = field(
        default_factory=dict
    )  # export -> outputs / next(latch), "~" if inverted


@dataclass
class Partition:
    """Communities of a circuit, the label of every live variable, and summary numbers."""

    communities: list[Community]
    label: dict[int, int]  # variable -> community index (leaves get the community of a reader)
    modularity: float  # Newman modularity of the labels on the whole gate graph
    cone_modules: int

    def sizes(self) -> list[int]:
        return [c.ands for c in self.communities]


def signal_name(aig: AIG, v: int) -> str:
    """Name of a variable as a boundary signal: input/latch name or ``n{v}`` for a gate."""
    if aig.kind[v] == INPUT:
        return aig.input_names[aig.inputs.index(v)]
    if aig.kind[v] == LATCH:
        return aig.latches[aig.latch_index(v)].name
    return "const0" if v == 0 else f"n{v}"


def gate_graph(aig: AIG, nodes: list[int]) -> ig.Graph:
    """Undirected igraph of fanin edges (and latch feedback) among ``nodes`` (variables)."""
    index = {v: i for i, v in enumerate(nodes)}
    edges = set()
    for v in nodes:
        if aig.kind[v] == AND:
            for f in (aig.fanin0[v] >> 1, aig.fanin1[v] >> 1):
                if f in index and f != 0:
                    edges.add((index[f], index[v]))
        elif aig.kind[v] == LATCH:
            nxt = aig.latches[aig.latch_index(v)].next >> 1
            if nxt in index and nxt != 0 and nxt != v:
                edges.add((min(index[nxt], index[v]), max(index[nxt], index[v])))
    return ig.Graph(n=len(nodes), edges=sorted(edges))


def _module_cones(aig: AIG) -> list[set[int]]:
    """AND sets of the cone modules, in ``find_modules`` order."""
    roots = dict(zip(aig.output_names, aig.outputs, strict=True))
    roots |= {f"next({latch.name})": latch.next for latch in aig.latches}
    return [aig.cone([roots[name] for name in m.outputs]) for m in find_modules(aig, max_inputs=0)]


def find_communities(aig: AIG, resolution: float = 1.0, seed: int = 0, max_inputs: int = SMALL) -> Partition:
    """Leiden communities (RB configuration model at ``resolution``) inside each cone module."""
    label: dict[int, int] = {}
    groups: list[tuple[int, list[int]]] = []
    cones = _module_cones(aig)
    for m, cone in enumerate(cones):
        nodes = sorted(cone | aig.support([2 * v for v in cone]))
        if len(cone) == 0:
            continue
        graph = gate_graph(aig, nodes)
        part = leidenalg.find_partition(
            graph, leidenalg.RBConfigurationVertexPartition, resolution_parameter=resolution, seed=seed
        )
        base = len(groups)
        members: dict[int, list[int]] = {}
        for v, c in zip(nodes, part.membership, strict=True):
            if aig.kind[v] == AND:
                members.setdefault(c, []).append(v)
        order = sorted(members, key=lambda c: -len(members[c]))
        new = {c: base + k for k, c in enumerate(order)}
        groups += [(m, members[c]) for c in order]
        for v, c in zip(nodes, part.membership, strict=True):
            if aig.kind[v] == AND:
                label[v] = new[c]
            elif c in new:
                label.setdefault(v, new[c])
    for v in list(aig.inputs) + [latch.var for latch in aig.latches]:
        label.setdefault(v, -1)
    exported = {lit >> 1 for lit in aig.roots()}
    for v in label:
        if aig.kind[v] == AND:
            for f in (aig.fanin0[v] >> 1, aig.fanin1[v] >> 1):
                if aig.kind[f] == AND and label.get(f) != label[v]:
                    exported.add(f)
    communities = [_describe(aig, k, m, nodes, exported, max_inputs) for k, (m, nodes) in enumerate(groups)]
    return Partition(communities, label, _modularity(aig, label), len(cones))


def _modularity(aig: AIG, label: dict[int, int]) -> float:
    nodes = sorted(label)
    graph = gate_graph(aig, nodes)
    if graph.ecount() == 0:
        return 0.0
    membership = np.array([label[v] for v in nodes])
    membership[membership < 0] = membership.max() + 1
    return float(graph.modularity(membership.tolist()))


def _describe(
    aig: AIG, index: int, module: int, nodes: list[int], exported: set[int], max_inputs: int
) -> Community:
    inside = set(nodes)
    reads = sorted(
        {f for v in nodes for f in (aig.fanin0[v] >> 1, aig.fanin1[v] >> 1) if f not in inside and f != 0}
    )
    exports = sorted(v for v in nodes if v in exported)
    community = Community(
        index,
        module,
        len(nodes),
        [signal_name(aig, v) for v in reads],
        [signal_name(aig, v) for v in exports],
        sorted(nodes),
    )
    roots = list(zip(aig.output_names, aig.outputs, strict=True))
    roots += [(f"next({latch.name})", latch.next) for latch in aig.latches]
    for name, lit in roots:
        if lit >> 1 in inside:
            community.drives.setdefault(signal_name(aig, lit >> 1), []).append(
                ("~" if lit & 1 else "") + name
            )
    if len(reads) <= max_inputs and exports:
        sub = _sub_aig(aig, sorted(nodes), reads, exports)
        names = [signal_name(aig, v) for v in reads]
        for lit, name in zip(sub.outputs, community.outputs, strict=True):
            own = sorted(sub.support([lit]))
            table = truth_table(sub, lit, own)
            community.tables[name] = "".join("1" if x else "0" for x in table)
            community.formulas[name] = formula(table, [names[sub.inputs.index(v)] for v in own])
    return community


def _sub_aig(aig: AIG, nodes: list[int], reads: list[int], exports: list[int]) -> AIG:
    """The community alone: its read signals become inputs, its exports outputs."""
    g = AIG()
    lit_of = {0: 0} | {v: g.add_input(signal_name(aig, v)) for v in reads}
    for v in nodes:  # variable order is topological
        a, b = aig.fanin0[v], aig.fanin1[v]
        lit_of[v] = g.AND(lit_of[a >> 1] ^ (a & 1), lit_of[b >> 1] ^ (b & 1))
    for v in exports:
        g.add_output(lit_of[v], signal_name(aig, v))
    return g


__all__ = ["Community", "Partition", "find_communities", "gate_graph", "signal_name"]
