"""Collapse a small circuit to truth tables and resynthesise it, optionally with don't-cares.

When a circuit reads few bits (inputs plus latches, at most ``COLLAPSE_LIMIT``), every output and
latch next-state function is a truth table over all 2^n assignments. ``collapse`` forgets the
structure and builds each function anew by recursive Shannon decomposition, trying first to reuse
a node already built (equal on the care set, up to complement), then one AND/OR of two such nodes,
and ending in the 4-input structure library (``synth``) once a function depends on at most four
variables. With a care mask, the function only has to agree on care assignments, so every choice
above may take the cheaper value on the don't-cares. Several variable orders are tried; the
smallest result wins.

Example: ``small = collapse(aig, care=mask)`` where ``mask[k]`` says whether input assignment k
(bit i of k = input i, then latches) can occur.
"""

from __future__ import annotations

import re

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, AND, FALSE, TRUE
from tritlens.logic.passes import rebuild
from tritlens.logic.synth import build_tt, cheapest_completion

COLLAPSE_LIMIT = 14


def variable_tables(n: int) -> np.ndarray:
    """bool [n, 2^n]: row i is variable i's value in assignment k (bit i of k)."""
    k = np.arange(1 << n, dtype=np.int64)
    return ((k[None, :] >> np.arange(n)[:, None]) & 1).astype(bool)


def root_tables(aig: AIG) -> np.ndarray:
    """bool [outputs + latches, 2^n] truth tables of outputs and next states (inputs, then latches)."""
    n = len(aig.inputs) + len(aig.latches)
    if n > COLLAPSE_LIMIT:
        raise TritlensError(f"circuit reads {n} bits; collapsing is limited to {COLLAPSE_LIMIT}")
    tt = np.zeros((aig.num_vars, 1 << n), dtype=bool)
    leaves = list(aig.inputs) + [latch.var for latch in aig.latches]
    tt[leaves] = variable_tables(n)
    for v in range(aig.num_vars):
        if aig.kind[v] == AND:
            a, b = aig.fanin0[v], aig.fanin1[v]
            tt[v] = (tt[a >> 1] ^ bool(a & 1)) & (tt[b >> 1] ^ bool(b & 1))
    return np.array([tt[lit >> 1] ^ bool(lit & 1) for lit in aig.roots()], dtype=bool).reshape(-1, 1 << n)


def _pack(rows: np.ndarray) -> np.ndarray:
    """bool [..., 2^n] -> uint64 words [..., ceil(2^n / 64)] (zero padded)."""
    packed = np.packbits(rows, axis=-1, bitorder="little")
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((*packed.shape[:-1], pad), dtype=np.uint8)], axis=-1)
    return np.ascontiguousarray(packed).view(np.uint64)


class _Synth:
    """Builds functions into ``g``; keeps the exact table of every node for reuse checks."""

    def __init__(self, g: AIG, leaves: list[int], max_pairs: int = 64) -> None:
        self.g, self.leaves, self.n = g, leaves, len(leaves)
        self.var_tt = variable_tables(self.n)
        self.tt: dict[int, np.ndarray] = {0: np.zeros(1 << self.n, dtype=bool)}
        for lit, row in zip(leaves, self.var_tt, strict=True):
            self.tt[lit >> 1] = row
        self.vars = [0] + [lit >> 1 for lit in leaves]
        self.packed = _pack(np.array([self.tt[v] for v in self.vars]))
        self.max_pairs = max_pairs
        self.seen = g.num_vars

    def lit_tt(self, lit: int) -> np.ndarray:
        return self.tt[lit >> 1] ^ bool(lit & 1)

    def _register(self) -> None:
        """Record tables of ANDs created since the last call."""
        g, new = self.g, []
        for v in range(self.seen, g.num_vars):
            if g.kind[v] == AND:
                self.tt[v] = self.lit_tt(g.fanin0[v]) & self.lit_tt(g.fanin1[v])
                new.append(v)
        self.seen = g.num_vars
        if new:
            self.vars += new
            rows = _pack(np.array([self.tt[v] for v in new]))
            self.packed = np.concatenate([self.packed, rows])

    def _find(self, f: np.ndarray, care: np.ndarray) -> int | None:
        """A literal equal to ``f`` on ``care`` among the built nodes, if any."""
        pf, pc = _pack(f), _pack(care)
        diff = (self.packed ^ pf) & pc
        same = ~diff.any(axis=1)
        if same.any():
            return 2 * self.vars[int(np.argmax(same))]
        inv = ~((self.packed ^ ~pf) & pc).any(axis=1)
        if inv.any():
            return 2 * self.vars[int(np.argmax(inv))] + 1
        return None

    def _and_pair(self, f: np.ndarray, care: np.ndarray) -> int | None:
        """One new AND (or OR) of two built literals that equals ``f`` on ``care``."""
        for neg in (0, 1):  # neg = 1 looks for ~f = p & q, i.e. f = ~p | ~q
            target = f ^ bool(neg)
            on, off = _pack(target & care), _pack(~target & care)
            rows = np.concatenate([self.packed, ~self.packed])
            covers = ~(on & ~rows).any(axis=1)  # literals true wherever target is on
            idx = np.nonzero(covers)[0][: self.max_pairs]
            if len(idx) < 2:
                continue
            cand = rows[idx] & off  # off-set points each candidate lets through
            clash = (cand[:, None, :] & cand[None, :, :]).any(axis=2)
            pairs = np.argwhere(~clash)
            pairs = pairs[pairs[:, 0] < pairs[:, 1]]
            if len(pairs):
                i, j = (int(idx[k]) for k in pairs[0])
                lit_i, lit_j = (2 * self.vars[k % len(self.vars)] + (k >= len(self.vars)) for k in (i, j))
                out = self.g.AND(lit_i, lit_j) ^ neg
                self._register()
                return out
        return None

    def support(self, f: np.ndarray, care: np.ndarray) -> list[int]:
        """Variables whose flip changes ``f`` between two care assignments."""
        out = []
        for i in range(self.n):
            shape = (1 << (self.n - 1 - i), 2, 1 << i)
            fr, cr = f.reshape(shape), care.reshape(shape)
            if (cr[:, 0] & cr[:, 1] & (fr[:, 0] != fr[:, 1])).any():
                out.append(i)
        return out

    def _small(self, f: np.ndarray, care: np.ndarray, sup: list[int]) -> int:
        """f over at most four support variables: the cheapest 4-input structure on the care set."""
        idx = np.zeros(1 << self.n, dtype=np.int64)
        for j, i in enumerate(sup):
            idx |= self.var_tt[i].astype(np.int64) << j
        reps = (1 << len(sup)) if sup else 1
        on = np.bincount(idx[care & f], minlength=reps)[:reps] > 0
        off = np.bincount(idx[care & ~f], minlength=reps)[:reps] > 0
        lo = sum(1 << m for m in range(reps) if on[m])
        hi = sum(1 << m for m in range(reps) if not off[m])
        tt = cheapest_completion(lo, hi, len(sup))
        out = build_tt(self.g, tt, [self.leaves[i] for i in sup])
        self._register()
        return out

    def build(self, f: np.ndarray, care: np.ndarray, order: list[int]) -> int:
        """A literal equal to ``f`` wherever ``care`` holds."""
        if not (f & care).any():
            return FALSE
        if not (~f & care).any():
            return TRUE
        hit = self._find(f, care)
        if hit is not None:
            return hit
        sup = self.support(f, care)
        if len(sup) <= 4:
            return self._small(f, care, sup)
        hit = self._and_pair(f, care)
        if hit is not None:
            return hit
        x = next(i for i in order if i in sup)
        then = self.build(f, care & self.var_tt[x], order)
        other = self.build(f, care & ~self.var_tt[x], order)
        out = self.g.MUX(self.leaves[x], then, other)
        self._register()
        return out


def _orders(names: list[str], n_random: int, seed: int) -> list[list[int]]:
    """Variable orders to try: bit-major (bit k of every token together, low and high bits
    first) when the names follow the ``t{pos}_b{bit}`` convention, natural, reversed, shuffles."""
    n = len(names)
    orders = []
    parsed = [re.fullmatch(r"t(\d+)_b(\d+)", name) for name in names]
    if parsed and all(parsed):
        keys = [(int(m.group(2)), int(m.group(1))) for m in parsed]
        orders.append(sorted(range(n), key=lambda i: keys[i]))
        orders.append(sorted(range(n), key=lambda i: (-keys[i][0], keys[i][1])))
    orders += [list(range(n)), list(range(n))[::-1]]
    rng = np.random.default_rng(seed)
    orders += [[int(i) for i in rng.permutation(n)] for _ in range(n_random)]
    return orders


def synthesize(aig: AIG, tables: np.ndarray, care: np.ndarray, order: list[int]) -> AIG:
    """A new AIG with ``aig``'s pins whose roots equal ``tables`` on ``care`` (one variable order)."""
    g = AIG()
    leaves = [g.add_input(name) for name in aig.input_names]
    latch_lits = [g.add_latch(latch.name, latch.init) for latch in aig.latches]
    s = _Synth(g, leaves + latch_lits)
    roots = [s.build(row, care, order) for row in tables]
    n_out = len(aig.outputs)
    for lit, nxt in zip(latch_lits, roots[n_out:], strict=True):
        g.set_next(lit, nxt)
    for lit, name in zip(roots[:n_out], aig.output_names, strict=True):
        g.add_output(lit, name)
    return g


def collapse(aig: AIG, care: np.ndarray | None = None, n_random: int = 4, seed: int = 0) -> AIG:
    """Resynthesise ``aig`` from its truth tables (equal on ``care``, a bool mask over 2^n
    assignments of inputs then latches; default: everywhere); the smallest over the orders tried
    (structured ones plus ``n_random`` shuffles)."""
    tables = root_tables(aig)
    n = len(aig.inputs) + len(aig.latches)
    care = np.ones(1 << n, dtype=bool) if care is None else np.asarray(care, dtype=bool)
    if care.shape != (1 << n,):
        raise TritlensError(f"care mask needs {1 << n} entries (2^{n} assignments), got {care.size}")
    best = None
    names = list(aig.input_names) + [latch.name for latch in aig.latches]
    for order in _orders(names, n_random, seed):
        cand = rebuild(synthesize(aig, tables, care, order))
        if best is None or cand.num_ands < best.num_ands:
            best = cand
    return best


__all__ = ["COLLAPSE_LIMIT", "collapse", "root_tables", "synthesize", "variable_tables"]
