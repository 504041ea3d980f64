"""Force-directed layout of the gate graph, for pictures (report view, Gephi via GraphML).

Positions come from igraph's Fruchterman-Reingold (FR) force-directed layout. A gate graph is held
together by a few hubs (the input bits feed everything), so one FR run over the whole graph gives
an even blob; the default therefore works in two levels: FR on the graph of communities
(``communities.find_communities``) places one centre per community, and FR inside each community
lays out its gates in a disc around that centre. ``method="global"`` keeps the single whole-graph run
(FR with its grid approximation). ForceAtlas2 through ``fa2-modified`` installs here but was ~70x
slower than igraph's FR at 26,000 nodes (benchmarks/RESULTS.md). Start positions are seeded, so a
layout is reproducible. Nodes are the live inputs, latches and AND gates plus one node per output;
each carries its role and its community, so a view can colour by module.

``layout_graph`` returns a compact, JSON-ready structure (columns rather than one dict per node)::

    {"nodes": {"id": [...], "x": [...], "y": [...], "module": [...], "role": [...]},
     "edges": [s0, t0, s1, t1, ...],            # indices into the node columns, fanin -> reader
     "roles": ["input", "latch", "and", "output", "const"], "modules": 12}
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import igraph as ig
import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, AND, INPUT, LATCH
from tritlens.logic.communities import Partition, find_communities
from tritlens.logic.export import signal_names

ROLES = ("input", "latch", "and", "output", "const")
SCALE = 1000.0  # coordinates are scaled into [0, SCALE]
MAX_NODES = 200_000
GRID_ABOVE = 500  # communities larger than this use FR's grid approximation (near-linear per step)


def _nodes_and_edges(aig: AIG) -> tuple[list[str], list[int], list[int], list[tuple[int, int]]]:
    """Node ids, roles, the variable each node shows (an output shows its driver) and edges."""
    sig = signal_names(aig)
    live = sorted(set(aig.cone(aig.roots())) | set(aig.inputs) | {x.var for x in aig.latches})
    if any(lit >> 1 == 0 for lit in aig.roots()):
        live = [0, *live]
    role_of = {INPUT: 0, LATCH: 1, AND: 2}
    index = {v: i for i, v in enumerate(live)}
    ids = [sig[v] for v in live]
    roles = [role_of.get(aig.kind[v], 4) if v else 4 for v in live]
    source = list(live)
    edges = []
    for v in live:
        if aig.kind[v] == AND:
            edges += [(index[aig.fanin0[v] >> 1], index[v]), (index[aig.fanin1[v] >> 1], index[v])]
    for latch in aig.latches:
        edges.append((index[latch.next >> 1], index[latch.var]))
    for k, lit in enumerate(aig.outputs):
        ids.append(f"out{k}")
        roles.append(3)
        source.append(lit >> 1)
        edges.append((index[lit >> 1], len(ids) - 1))
    return ids, roles, source, edges


@contextmanager
def _igraph_seed(seed: int) -> Iterator[None]:
    """igraph's layouts draw from a process-wide generator: seed it, then restore the default."""
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def _global(n: int, edges: np.ndarray, rng: np.random.Generator, iterations: int) -> np.ndarray:
    """Fruchterman-Reingold (grid approximation) on the whole graph."""
    graph = ig.Graph(n=n, edges=edges.tolist())
    start = rng.uniform(-1, 1, size=(n, 2)) * np.sqrt(n) / 2
    return np.array(
        graph.layout_fruchterman_reingold(seed=start.tolist(), niter=iterations, grid=True).coords
    )


def _leaf_labels(labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Nodes without a community (inputs, outputs' drivers aside) join their readers' commonest one."""
    out = labels.copy()
    spare = int(labels.max()) + 1 if len(labels) else 0
    for i in np.nonzero(labels < 0)[0]:
        near = np.concatenate([edges[edges[:, 0] == i, 1], edges[edges[:, 1] == i, 0]])
        near = labels[near][labels[near] >= 0]
        out[i] = np.bincount(near).argmax() if len(near) else spare
    return out


def _by_modules(
    labels: np.ndarray, edges: np.ndarray, rng: np.random.Generator, iterations: int
) -> np.ndarray:
    """Two levels: FR on the graph of communities (edge weight log(1 + cross edges)) places each
    community's centre; FR inside each community places its nodes in a disc of radius sqrt(size)."""
    labels = _leaf_labels(labels, edges)
    n_c = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=n_c)
    cross = labels[edges[:, 0]] != labels[edges[:, 1]]
    pos = np.zeros((len(labels), 2))
    centres = np.zeros((n_c, 2))
    if n_c > 1:
        pairs = np.sort(np.stack([labels[edges[cross, 0]], labels[edges[cross, 1]]], axis=1), axis=1)
        links, counts = np.unique(pairs, axis=0, return_counts=True) if len(pairs) else (np.zeros((0, 2)), [])
        graph = ig.Graph(n=n_c, edges=links.astype(int).tolist())
        start = rng.uniform(-1, 1, size=(n_c, 2)).tolist()
        weights = np.log1p(counts).tolist() if len(pairs) else None
        centres = np.array(graph.layout_fruchterman_reingold(weights=weights, niter=1000, seed=start).coords)
        radius = np.sqrt(sizes)
        dist = np.linalg.norm(centres[:, None] - centres[None], axis=2)
        need = (radius[:, None] + radius[None]) / np.maximum(dist, 1e-9)
        centres *= float(np.quantile(need[np.triu_indices(n_c, 1)], 0.9))
    inner = edges[~cross]
    for c in range(n_c):
        idx = np.nonzero(labels == c)[0]
        if len(idx) == 1:
            pos[idx] = centres[c]
            continue
        local = np.full(len(labels), -1)
        local[idx] = np.arange(len(idx))
        mine = inner[labels[inner[:, 0]] == c]
        graph = ig.Graph(n=len(idx), edges=local[mine].tolist())
        start = rng.uniform(-1, 1, size=(len(idx), 2)).tolist()
        coords = np.array(
            graph.layout_fruchterman_reingold(seed=start, niter=iterations, grid=len(idx) > GRID_ABOVE).coords
        )
        coords -= coords.mean(axis=0)
        pos[idx] = centres[c] + coords / max(float(np.abs(coords).max()), 1e-9) * np.sqrt(len(idx))
    return pos


def layout_graph(
    aig: AIG,
    partition: Partition | None = None,
    seed: int = 0,
    method: str = "modules",
    iterations: int = 150,
) -> dict:
    """Positions, roles and modules of every live node, plus the edges; see the module docstring.

    ``method``: ``modules`` (default) lays out the communities, then each community inside its own
    disc, so modules are visible as islands; ``global`` runs one force-directed layout on the whole
    graph (grid FR), where modules show only as much as the forces separate them.
    """
    if method not in ("modules", "global"):
        raise TritlensError(f"unknown layout method {method!r}; choose modules or global")
    ids, roles, source, edges = _nodes_and_edges(aig)
    if len(ids) > MAX_NODES:
        raise TritlensError(
            f"gate graph has {len(ids)} nodes; the layout is limited to {MAX_NODES} "
            "(simplify first, or lay out one module)"
        )
    partition = partition if partition is not None else find_communities(aig, seed=seed)
    modules = [partition.label.get(v, -1) for v in source]
    edge_arr = np.array([(a, b) for a, b in edges if a != b], dtype=np.int64).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    with _igraph_seed(seed):
        if method == "global":
            coords = _global(len(ids), edge_arr, rng, iterations)
        else:
            coords = _by_modules(np.array(modules, dtype=np.int64), edge_arr, rng, iterations)
    if len(ids) > 1:
        coords = coords - coords.min(axis=0)
        coords = coords / max(float(coords.max()), 1e-9) * SCALE
    return {
        "nodes": {
            "id": ids,
            "x": [round(float(x), 1) for x in coords[:, 0]],
            "y": [round(float(y), 1) for y in coords[:, 1]],
            "module": modules,
            "role": roles,
        },
        "edges": [i for edge in edges for i in edge],
        "roles": list(ROLES),
        "modules": len(partition.communities),
    }


def node_attributes(layout: dict) -> dict[str, dict]:
    """Per node id: x, y, module and role name (what the GraphML export attaches)."""
    nodes, roles = layout["nodes"], layout["roles"]
    return {
        nid: {"x": x, "y": y, "module": m, "role": roles[r]}
        for nid, x, y, m, r in zip(
            nodes["id"], nodes["x"], nodes["y"], nodes["module"], nodes["role"], strict=True
        )
    }


__all__ = ["MAX_NODES", "ROLES", "layout_graph", "node_attributes"]
