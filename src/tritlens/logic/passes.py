"""Simplification passes; each returns a new AIG with the same inputs, latches and outputs.

* ``rebuild``: structural hashing, constant propagation and dead-node removal in one copy (latches
  that no output depends on are removed too).
* ``balance``: AND-tree balancing: collapse each multi-input AND (through uncomplemented,
  single-fanout edges) and rebuild it pairing the shallowest operands first, to cut depth.
* ``fraig``: functional reduction: nodes with equal simulation signatures (up to complement) are
  merged when SAT proves them equivalent, latch outputs treated as free inputs (sound for the
  sequential circuit since equivalence then holds in every state).
* ``rewrite``: DAG-aware 4-cut rewriting, in ``rewrite.py``; ``simplify`` (``simplify.py``) chains them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
from pysat.solvers import Solver

from tritlens.logic.aig import AIG, AND, map_lit, transfer
from tritlens.logic.sat import SOLVER, sat_lit
from tritlens.logic.sim import Simulator, exhaustive_words

Rewrite = Callable[[AIG, AIG, list[int], int], int]


def live_latches(aig: AIG) -> set[int]:
    """Latch variables that outputs depend on, directly or through other live latches."""
    live: set[int] = set()
    frontier = [v for v in aig.support(aig.outputs) if aig.latch_index(v) is not None]
    while frontier:
        v = frontier.pop()
        if v in live:
            continue
        live.add(v)
        nxt = aig.latches[aig.latch_index(v)].next
        frontier += [u for u in aig.support([nxt]) if aig.latch_index(u) is not None]
    return live


def _copy_frame(src: AIG, keep: set[int] | None = None) -> tuple[AIG, list[int]]:
    """New AIG with ``src``'s inputs and latches (those in ``keep`` if given); returns it and the map."""
    dst = AIG()
    lit_of = [0] * src.num_vars
    for v, name in zip(src.inputs, src.input_names, strict=True):
        lit_of[v] = dst.add_input(name)
    for latch in src.latches:
        if keep is None or latch.var in keep:
            lit_of[latch.var] = dst.add_latch(latch.name, latch.init)
    return dst, lit_of


def _finish(
    src: AIG, dst: AIG, lit_of: list[int], build: Callable[[int], int], keep: set[int] | None = None
) -> AIG:
    """Connect latch inputs and outputs through ``build`` (which maps a source literal)."""
    for latch in src.latches:
        if keep is None or latch.var in keep:
            dst.set_next(lit_of[latch.var], build(latch.next))
    for lit, name in zip(src.outputs, src.output_names, strict=True):
        dst.add_output(build(lit), name)
    return dst


def _copy_cone(src: AIG, node_fn: Callable[[AIG, int, list[int]], int]) -> AIG:
    """Copy the cone of the live roots in topological order; ``node_fn`` builds each AND anew."""
    keep = live_latches(src)
    dst, lit_of = _copy_frame(src, keep)
    roots = list(src.outputs) + [latch.next for latch in src.latches if latch.var in keep]
    for v in sorted(src.cone(roots)):
        lit_of[v] = node_fn(dst, v, lit_of)
    return _finish(src, dst, lit_of, lambda lit: lit_of[lit >> 1] ^ (lit & 1), keep)


def _plain(src: AIG) -> Callable[[AIG, int, list[int]], int]:
    def node(dst: AIG, v: int, lit_of: list[int]) -> int:
        a, b = src.fanin0[v], src.fanin1[v]
        return dst.AND(lit_of[a >> 1] ^ (a & 1), lit_of[b >> 1] ^ (b & 1))

    return node


def rebuild(aig: AIG) -> AIG:
    """Strash + constant propagation + dead-node removal (only the cones of outputs and latches)."""
    return _copy_cone(aig, _plain(aig))


def _supergate(aig: AIG, v: int, fanout: list[int]) -> list[int]:
    """Leaves of the maximal AND tree rooted at ``v`` through positive, single-fanout AND edges."""
    leaves, stack = [], [aig.fanin0[v], aig.fanin1[v]]
    while stack:
        lit = stack.pop()
        u = lit >> 1
        if not lit & 1 and aig.kind[u] == AND and fanout[u] == 1:
            stack += [aig.fanin0[u], aig.fanin1[u]]
        else:
            leaves.append(lit)
    return leaves


def balance(aig: AIG) -> AIG:
    """Depth-oriented AND-tree balancing (Huffman-style pairing by level)."""
    aig = rebuild(aig)
    fanout = aig.fanout_counts()
    dst, lit_of = _copy_frame(aig)
    level: dict[int, int] = {}

    def lvl(lit: int) -> int:
        return level.get(lit >> 1, 0)

    for v in sorted(aig.cone(aig.roots())):
        leaves = [lit_of[x >> 1] ^ (x & 1) for x in _supergate(aig, v, fanout)]
        heap = [(lvl(x), i, x) for i, x in enumerate(leaves)]
        heapq.heapify(heap)
        count = len(heap)
        while len(heap) > 1:
            la, _, a = heapq.heappop(heap)
            lb, _, b = heapq.heappop(heap)
            out = dst.AND(a, b)
            level.setdefault(out >> 1, max(la, lb) + 1 if dst.kind[out >> 1] == AND else 0)
            heapq.heappush(heap, (lvl(out), count, out))
            count += 1
        lit_of[v] = heap[0][2]
    result = _finish(aig, dst, lit_of, lambda lit: lit_of[lit >> 1] ^ (lit & 1))
    return rebuild(result)


def _signatures(aig: AIG, n_random_words: int, seed: int) -> np.ndarray:
    """Simulation words per variable: exhaustive for <= 12 leaves, else random patterns."""
    n_leaves = len(aig.inputs) + len(aig.latches)
    if n_leaves <= 12:
        words = exhaustive_words(n_leaves)
    else:
        rng = np.random.default_rng(seed)
        words = rng.integers(0, 2**64, size=(n_leaves, n_random_words), dtype=np.uint64)
    n_in = len(aig.inputs)
    return Simulator(aig).values(words[:n_in], words[n_in:] if aig.latches else None)


def fraig(aig: AIG, n_random_words: int = 64, seed: int = 0, conflicts: int = 1000) -> AIG:
    """Merge functionally equivalent nodes (proved by SAT, budgeted; unproved pairs stay apart)."""
    aig = rebuild(aig)
    vals = _signatures(aig, n_random_words, seed)
    return merge_equivalent(aig, vals, len(aig.inputs) + len(aig.latches) <= 12, conflicts)


def merge_equivalent(
    aig: AIG,
    vals: np.ndarray,
    exact: bool,
    conflicts: int = 1000,
    assume: AIG | None = None,
    n_patterns: int | None = None,
) -> AIG:
    """Merge nodes whose signature rows (``vals``, [num_vars, W]) agree up to complement.

    With ``exact`` the rows cover every input that matters and merges need no proof; otherwise each
    merge is proved by SAT, with the one-output predicate ``assume`` (over ``aig``'s inputs)
    asserted when given. Only the first ``n_patterns`` lanes count (default: all).
    """
    if n_patterns is not None:
        lanes = np.zeros(vals.shape[1] * 64, dtype=bool)
        lanes[:n_patterns] = True
        vals = vals & np.packbits(lanes, bitorder="little").view("<u8").astype(np.uint64)[None, :]
        full = ~np.packbits(lanes, bitorder="little").view("<u8").astype(np.uint64)
    else:
        full = np.zeros(vals.shape[1], dtype=np.uint64)
    classes: dict[bytes, int] = {}
    dst, lit_of = _copy_frame(aig)
    for v in range(aig.num_vars):  # constant and leaves first, so they become representatives
        if aig.kind[v] != AND:
            classes.setdefault(vals[v].tobytes(), 2 * v)
    with Solver(name=SOLVER) as solver:
        encoded: set[int] = set()
        if assume is not None and not exact:
            _assume(solver, encoded, dst, assume)
        for v in sorted(aig.cone(aig.roots())):
            a, b = aig.fanin0[v], aig.fanin1[v]
            lit_of[v] = dst.AND(lit_of[a >> 1] ^ (a & 1), lit_of[b >> 1] ^ (b & 1))
            sig, inv = vals[v], ~(vals[v] | full)
            phase = 0 if sig.tobytes() <= inv.tobytes() else 1
            key = (inv if phase else sig).tobytes()
            rep = classes.get(key)
            if rep is None:
                classes[key] = 2 * v + phase
                continue
            target = lit_of[rep >> 1] ^ (rep & 1) ^ phase  # new-graph literal equal to node v
            if (
                target == lit_of[v]
                or exact
                or _prove_equal(solver, encoded, dst, lit_of[v], target, conflicts)
            ):
                lit_of[v] = target
    return rebuild(_finish(aig, dst, lit_of, lambda lit: lit_of[lit >> 1] ^ (lit & 1)))


def _assume(solver: Solver, encoded: set[int], dst: AIG, predicate: AIG) -> None:
    """Copy the predicate onto ``dst``'s inputs and assert it in the solver."""
    lits = transfer(dst, predicate, {v: 2 * u for v, u in zip(predicate.inputs, dst.inputs, strict=True)})
    valid = map_lit(lits, predicate.outputs[0])
    _encode(solver, encoded, dst, [valid])
    solver.add_clause([sat_lit(valid)])


def _encode(solver: Solver, encoded: set[int], g: AIG, lits: list[int]) -> None:
    """Add Tseitin clauses for the not-yet-encoded part of the cone of ``lits``."""
    if 0 not in encoded:
        encoded.add(0)
        solver.add_clause([-1])
    stack = [lit >> 1 for lit in lits]
    while stack:
        v = stack.pop()
        if v in encoded or g.kind[v] != AND:
            continue
        encoded.add(v)
        x, a, b = v + 1, sat_lit(g.fanin0[v]), sat_lit(g.fanin1[v])
        solver.append_formula([[-x, a], [-x, b], [x, -a, -b]])
        stack += [g.fanin0[v] >> 1, g.fanin1[v] >> 1]


def _prove_equal(solver: Solver, encoded: set[int], g: AIG, x: int, y: int, conflicts: int) -> bool:
    """Incremental SAT: is x XOR y unsatisfiable?"""
    _encode(solver, encoded, g, [x, y])
    sx, sy = sat_lit(x), sat_lit(y)
    solver.conf_budget(conflicts)
    differ_a = solver.solve_limited(assumptions=[sx, -sy])
    if differ_a is not False:
        return False
    solver.conf_budget(conflicts)
    return solver.solve_limited(assumptions=[-sx, sy]) is False


__all__ = ["balance", "fraig", "merge_equivalent", "rebuild"]
