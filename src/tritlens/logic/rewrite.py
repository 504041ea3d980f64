"""DAG-aware cut rewriting: replace 4-input cones by smaller structures that share existing nodes.

Per round: bottom-up k-feasible cut enumeration (k = 4, a few priority cuts per node, truth tables
as 16-bit integers). For each AND node and cut, candidate structures for the cut's function come
from a memoised heuristic synthesiser (single-variable AND/OR/XOR decomposition, AND/OR
bi-decomposition, Shannon/MUX, factored ISOP, majority forms, both 3-AND XOR shapes). A candidate
costs the ANDs it adds to the graph (structural-hash hits outside the node's cut-bounded MFFC are
free); it is applied when that cost is below the MFFC size. The graph is edited in place; a
topological key per node (``ord``) keeps every edit acyclic. Every edit preserves each node's
function, so cut truth tables stay valid even when a cut is stale.
"""

from __future__ import annotations

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, AND
from tritlens.logic.passes import rebuild
from tritlens.logic.synth import FULL, VAR_TT, K, Program, expand_table, library, shrink_table

Cut = tuple[tuple[int, ...], int]  # sorted leaves, truth table


# -- the in-place graph ------------------------------------------------------------------------


class _Graph:
    """Mutable AIG with reference counts, fanout sets, a structural hash and a topological key."""

    def __init__(self, aig: AIG, cut_limit: int) -> None:
        self.src = aig
        n = aig.num_vars
        self.f0, self.f1 = list(aig.fanin0), list(aig.fanin1)
        self.is_and = [k == AND for k in aig.kind]
        self.ord = [float(v) for v in range(n)]
        self.dead = [False] * n
        self.ref = [0] * n
        self.fanouts: list[set[int]] = [set() for _ in range(n)]
        self.strash: dict[tuple[int, int], int] = {}
        for v in range(n):
            if self.is_and[v]:
                self._link(v)
                self.strash[(self.f0[v], self.f1[v])] = v
        self.roots = aig.roots()
        for lit in self.roots:
            self.ref[lit >> 1] += 1
        self.cut_limit = cut_limit
        self.cuts: dict[int, list[Cut]] = {}
        self.columns = (self.f0, self.f1, self.is_and, self.ord, self.dead, self.ref, self.fanouts)

    def _link(self, v: int) -> None:
        for f in (self.f0[v] >> 1, self.f1[v] >> 1):
            self.ref[f] += 1
            self.fanouts[f].add(v)

    def lookup(self, a: int, b: int) -> int | None:
        """Literal of AND(a, b) if it exists or simplifies; None if it would be a new node."""
        if a > b:
            a, b = b, a
        if a == 0 or a == b ^ 1:
            return 0
        if a == 1 or a == b:
            return b
        v = self.strash.get((a, b))
        return None if v is None else 2 * v

    def new_and(self, a: int, b: int, order: float) -> int:
        hit = self.lookup(a, b)
        if hit is not None:
            return hit
        a, b = min(a, b), max(a, b)
        v = len(self.f0)
        for column, value in zip(self.columns, (a, b, True, order, False, 0, set()), strict=True):
            column.append(value)
        self._link(v)
        self.strash[(a, b)] = v
        return 2 * v

    # -- cuts ---------------------------------------------------------------------------------
    def get_cuts(self, v: int) -> list[Cut]:
        """Priority cuts of ``v`` (the trivial cut last): sorted leaves and truth table."""
        if not self.is_and[v]:
            return [((v,), VAR_TT[0])]
        got = self.cuts.get(v)
        if got is not None:
            return got
        a, b = self.f0[v], self.f1[v]
        na, nb = FULL if a & 1 else 0, FULL if b & 1 else 0
        dead = self.dead
        found: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {}
        cuts_b = self.get_cuts(b >> 1)
        for la, ta in self.get_cuts(a >> 1):
            for lb, tb in cuts_b:
                if la == lb:
                    leaves = la
                else:
                    union = set(la)
                    union.update(lb)
                    if len(union) > K:
                        continue
                    leaves = tuple(sorted(union))
                if leaves in found or any(dead[x] for x in leaves):
                    continue
                ta2 = expand_table(ta ^ na, tuple(map(leaves.index, la)))
                tb2 = expand_table(tb ^ nb, tuple(map(leaves.index, lb)))
                keep, tt = shrink_table(ta2 & tb2, len(leaves))
                found[leaves] = (leaves if len(keep) == len(leaves) else tuple(leaves[i] for i in keep), tt)
        kept: list[Cut] = []
        kept_sets: list[frozenset[int]] = []
        for leaves, tt in sorted(found.values(), key=lambda c: len(c[0])):
            as_set = frozenset(leaves)
            if not any(k <= as_set for k in kept_sets):
                kept.append((leaves, tt))
                kept_sets.append(as_set)
                if len(kept) >= self.cut_limit:
                    break
        kept.append(((v,), VAR_TT[0]))
        self.cuts[v] = kept
        return kept

    # -- evaluation and editing ---------------------------------------------------------------
    def mffc(self, v: int, leaves: tuple[int, ...]) -> set[int]:
        """AND nodes freed if ``v`` were replaced by logic over ``leaves`` (``v`` included)."""
        freed, stack, touched = {v}, [v], []
        while stack:
            n = stack.pop()
            for f in (self.f0[n] >> 1, self.f1[n] >> 1):
                self.ref[f] -= 1
                touched.append(f)
                if self.ref[f] == 0 and self.is_and[f] and f not in leaves:
                    freed.add(f)
                    stack.append(f)
        for f in touched:
            self.ref[f] += 1
        return freed

    def cost(self, v: int, prog: Program, leaves: tuple[int, ...], freed: set[int], limit: int) -> int:
        """ANDs the program adds (reused MFFC nodes count as added); ``limit + 1`` if it cannot help."""
        lits = [0] + [2 * x for x in leaves] + [0] * (K - len(leaves))
        added = 0
        for a, b in prog[0]:
            la = None if lits[a >> 1] is None else lits[a >> 1] ^ (a & 1)
            lb = None if lits[b >> 1] is None else lits[b >> 1] ^ (b & 1)
            hit = None if la is None or lb is None else self.lookup(la, lb)
            if hit is None or (hit >> 1) in freed:
                added += 1
                if added > limit or (hit is not None and hit >> 1 == v):
                    return limit + 1
            lits.append(hit)
        out = prog[1]
        if lits[out >> 1] is not None and lits[out >> 1] >> 1 == v:
            return limit + 1
        return added

    def apply(self, v: int, prog: Program, leaves: tuple[int, ...]) -> None:
        """Build ``prog`` over ``leaves`` below ``v`` in the topological key, then replace ``v``."""
        top = self.ord[v]
        lits = [0] + [2 * x for x in leaves] + [0] * (K - len(leaves))
        for a, b in prog[0]:
            la, lb = lits[a >> 1] ^ (a & 1), lits[b >> 1] ^ (b & 1)
            low = max(self.ord[la >> 1], self.ord[lb >> 1])
            lit = self.new_and(la, lb, (low + top) / 2)
            u = lit >> 1
            if self.ord[u] >= top:  # an existing node outside v's fanout cone: move it below v
                self.ord[u] = (low + top) / 2
            lits.append(lit)
        out = prog[1]
        self.replace(v, lits[out >> 1] ^ (out & 1))

    def replace(self, v: int, new: int) -> None:
        for p in list(self.fanouts[v]):
            if self.strash.get((self.f0[p], self.f1[p])) == p:
                del self.strash[(self.f0[p], self.f1[p])]
            fa, fb = (new ^ (f & 1) if f >> 1 == v else f for f in (self.f0[p], self.f1[p]))
            moved = (self.f0[p] >> 1 == v) + (self.f1[p] >> 1 == v)
            self.ref[new >> 1] += moved
            self.ref[v] -= moved
            self.f0[p], self.f1[p] = min(fa, fb), max(fa, fb)
            self.fanouts[new >> 1].add(p)
            self.strash.setdefault((self.f0[p], self.f1[p]), p)
            self.cuts.pop(p, None)
        self.fanouts[v].clear()
        for k, lit in enumerate(self.roots):
            if lit >> 1 == v:
                self.roots[k] = new ^ (lit & 1)
                self.ref[new >> 1] += 1
                self.ref[v] -= 1
        self._delete(v)

    def _delete(self, v: int) -> None:
        stack = [v]
        while stack:
            n = stack.pop()
            self.dead[n] = True
            if self.strash.get((self.f0[n], self.f1[n])) == n:
                del self.strash[(self.f0[n], self.f1[n])]
            self.cuts.pop(n, None)
            for f in (self.f0[n] >> 1, self.f1[n] >> 1):
                self.ref[f] -= 1
                self.fanouts[f].discard(n)
                if self.ref[f] == 0 and self.is_and[f] and not self.dead[f]:
                    stack.append(f)

    def extract(self) -> AIG:
        """Copy the live cone of the roots, in ``ord`` order, into a fresh strashed AIG."""
        src, dst = self.src, AIG()
        lit_of = {0: 0} | {
            v: dst.add_input(name) for v, name in zip(src.inputs, src.input_names, strict=True)
        }
        lit_of |= {latch.var: dst.add_latch(latch.name, latch.init) for latch in src.latches}
        cone, stack = set(), [lit >> 1 for lit in self.roots]
        while stack:
            n = stack.pop()
            if n not in cone and self.is_and[n]:
                cone.add(n)
                stack += [self.f0[n] >> 1, self.f1[n] >> 1]

        def get(lit: int) -> int:
            if lit >> 1 not in lit_of:
                raise TritlensError("rewrite broke the topological order")
            return lit_of[lit >> 1] ^ (lit & 1)

        for n in sorted(cone, key=self.ord.__getitem__):
            lit_of[n] = dst.AND(get(self.f0[n]), get(self.f1[n]))
        n_out = len(src.outputs)
        for latch, lit in zip(src.latches, self.roots[n_out:], strict=True):
            dst.set_next(lit_of[latch.var], get(lit))
        for lit, name in zip(self.roots[:n_out], src.output_names, strict=True):
            dst.add_output(get(lit), name)
        return dst


def _sweep(g: _Graph, zero_gain: bool) -> int:
    """One pass over the original AND nodes in topological order; returns the estimated gain."""
    total = 0
    for v in range(len(g.src.kind)):
        if not g.is_and[v] or g.dead[v]:
            continue
        best: tuple[int, Program, tuple[int, ...]] | None = None
        for leaves, tt in g.get_cuts(v):
            if leaves == (v,) or any(g.dead[x] or g.ord[x] >= g.ord[v] for x in leaves):
                continue
            freed = g.mffc(v, leaves)
            if len(freed) == 1 and not zero_gain:  # only a node that already exists could replace v
                continue
            need = len(freed) - (0 if zero_gain else 1) if best is None else len(freed) - best[0] - 1
            if need < 0:
                continue
            for prog in library(tt):
                added = g.cost(v, prog, leaves, freed, need)
                if added <= need:
                    best = (len(freed) - added, prog, leaves)
                    need = len(freed) - best[0] - 1
        if best is not None:
            total += best[0]
            g.apply(v, best[1], best[2])
    return total


def rewrite(aig: AIG, rounds: int = 2, cut_limit: int = 6, zero_gain: bool = False) -> AIG:
    """DAG-aware 4-cut rewriting; up to ``rounds`` sweeps, stopping when one gains nothing."""
    aig = rebuild(aig)
    for _ in range(rounds):
        g = _Graph(aig, cut_limit)
        gained = _sweep(g, zero_gain)
        new = rebuild(g.extract())
        if new.num_ands > aig.num_ands or (new.num_ands == aig.num_ands and not zero_gain):
            break
        aig = new
        if gained <= 0:
            break
    return aig


__all__ = ["library", "rewrite"]
