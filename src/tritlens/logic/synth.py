"""Small AIG structures for 4-input functions, for cut rewriting (``tritlens.logic.rewrite``).

Truth tables are 16-bit integers over at most four variables. ``library(tt)`` returns a few distinct
small structures for a function: single-variable AND/OR/XOR decomposition, AND/OR
bi-decomposition, Shannon/MUX splits, factored ISOP of the function and its complement, majority
forms, and both 3-AND XOR shapes (one of which shares ``a & b`` with a neighbouring carry).
Results are memoised per truth table.
"""

from __future__ import annotations

from functools import cache
from itertools import product

from tritlens.logic.aig import AIG

FULL = 0xFFFF
VAR_TT = (0xAAAA, 0xCCCC, 0xF0F0, 0xFF00)
K = 4
Program = tuple[tuple[tuple[int, int], ...], int]  # AND gates over local literals, output literal

# -- truth tables (4 variables, 16 bits; a function of fewer variables is replicated) -------------


def _cof(tt: int, i: int, val: int) -> int:
    """Cofactor of ``tt`` with variable i fixed to ``val`` (still a 16-bit table)."""
    x = tt & (VAR_TT[i] if val else ~VAR_TT[i] & FULL)
    return x | (x >> (1 << i)) if val else x | (x << (1 << i))


def _support(tt: int) -> list[int]:
    return [i for i in range(K) if _cof(tt, i, 0) != _cof(tt, i, 1)]


@cache
def expand_table(tt: int, pos: tuple[int, ...]) -> int:
    """Re-index a table over variables 0..len(pos)-1 so that variable j becomes variable pos[j]."""
    out = 0
    for m in range(16):
        idx = sum(1 << j for j, p in enumerate(pos) if m >> p & 1)
        out |= (tt >> idx & 1) << m
    return out


@cache
def shrink_table(tt: int, n: int) -> tuple[tuple[int, ...], int]:
    """(kept positions, table over them) after dropping variables the table does not depend on."""
    keep = tuple(_support(tt))  # variables outside it may go anywhere: the table ignores them
    return keep, tt if len(keep) == n else expand_table(
        tt, tuple(keep.index(i) if i in keep else 0 for i in range(n))
    )


# -- synthesis: expressions are nested tuples, built into an AIG by _build ------------------------


def _build(g: AIG, e: tuple, leaves: list[int], style: int) -> int:
    op = e[0]
    if op == "c":
        return e[1]
    if op == "l":
        return leaves[e[1]] ^ e[2]
    if op == "not":
        return _build(g, e[1], leaves, style) ^ 1
    args = [_build(g, x, leaves, style) for x in e[1:]]
    if op == "and":
        return g.AND(args[0], args[1])
    if op == "or":
        return g.OR(args[0], args[1])
    if op == "xor":
        a, b = args
        if style:  # (a | b) & ~(a & b): shares a & b
            return g.AND(g.AND(a, b) ^ 1, g.AND(a ^ 1, b ^ 1) ^ 1)
        return g.XOR(a, b)  # (a & ~b) | (~a & b)
    if op == "mux":
        return g.MUX(*args)
    a, b, c = args  # "maj" with the pair (a, b) first: ab | c(a ^ b)
    return g.OR(g.AND(a, b), g.AND(c, _build(g, ("xor", e[1], e[2]), leaves, style)))


@cache
def _program(e: tuple, style: int) -> Program:
    """``e`` as AND gates over local literals (2 + 2i is leaf i; gates from variable K + 1 on)."""
    g = AIG()
    out = _build(g, e, [g.add_input() for _ in range(K)], style)
    nodes = sorted(g.cone([out]))
    loc = {2 * v + n: 2 * (K + 1 + j) + n for j, v in enumerate(nodes) for n in (0, 1)}
    loc.update({x: x for x in range(2 * K + 2)})
    return tuple((loc[g.fanin0[v]], loc[g.fanin1[v]]) for v in nodes), loc[out]


def _lit(i: int, neg: int = 0) -> tuple:
    return ("l", i, neg)


def _isop(lo: int, hi: int) -> tuple[list[frozenset], int]:
    """Minato-Morreale irredundant SOP of any function between ``lo`` and ``hi``: (cubes, cover)."""
    if lo == 0:
        return [], 0
    if hi == FULL:
        return [frozenset()], FULL
    i = max(x for x in range(K) if _cof(lo, x, 0) != _cof(lo, x, 1) or _cof(hi, x, 0) != _cof(hi, x, 1))
    l0, l1, h0, h1 = _cof(lo, i, 0), _cof(lo, i, 1), _cof(hi, i, 0), _cof(hi, i, 1)
    c0, f0 = _isop(l0 & ~h1 & FULL, h0)
    c1, f1 = _isop(l1 & ~h0 & FULL, h1)
    cs, fs = _isop((l0 & ~f0 | l1 & ~f1) & FULL, h0 & h1)
    cover = (f0 & ~VAR_TT[i] | f1 & VAR_TT[i] | fs) & FULL
    return [c | {(i, 1)} for c in c0] + [c | {(i, 0)} for c in c1] + cs, cover


def _factor(cubes: list[frozenset]) -> tuple:
    """Algebraic factoring: divide by the most frequent literal, recursively."""
    counts: dict[tuple[int, int], int] = {}
    for c in cubes:
        for x in c:
            counts[x] = counts.get(x, 0) + 1
    best = max(counts, key=lambda x: (counts[x], -x[0], -x[1]), default=None)
    if best is None or counts[best] < 2:
        terms = [_and_all([_lit(*x) for x in sorted(c)]) for c in cubes]
        return _or_all(terms)
    quotient = [c - {best} for c in cubes if best in c]
    rest = [c for c in cubes if best not in c]
    term = _lit(*best) if frozenset() in quotient else ("and", _lit(*best), _factor(quotient))
    return ("or", term, _factor(rest)) if rest else term


def _and_all(xs: list[tuple]) -> tuple:
    while len(xs) > 1:
        xs = [("and", xs[i], xs[i + 1]) for i in range(0, len(xs) - 1, 2)] + xs[len(xs) - len(xs) % 2 :]
    return xs[0] if xs else ("c", 1)


def _or_all(xs: list[tuple]) -> tuple:
    return ("not", _and_all([("not", x) for x in xs])) if xs else ("c", 0)


def _quantify(tt: int, vs: tuple[int, ...], exists: bool) -> int:
    for i in vs:
        tt = _cof(tt, i, 0) | _cof(tt, i, 1) if exists else _cof(tt, i, 0) & _cof(tt, i, 1)
    return tt


def _maj_forms(tt: int, sup: list[int]) -> list[tuple]:
    """Majority-of-three (any input/output polarity) in every 'ab | c(a ^ b)' orientation."""
    out = []
    for negs in product((0, 1), repeat=3) if len(sup) == 3 else ():
        a, b, c = (VAR_TT[i] ^ (FULL if n else 0) for i, n in zip(sup, negs, strict=True))
        if tt in (maj := a & b | b & c | a & c, maj ^ FULL):
            x, y, z = (_lit(i, n) for i, n in zip(sup, negs, strict=True))
            out += [
                e if tt == maj else ("not", e) for e in (("maj", x, y, z), ("maj", x, z, y), ("maj", y, z, x))
            ]
    return out


@cache
def _best(tt: int) -> tuple[int, tuple]:
    """(AND count, expression) of the cheapest candidate the heuristics find."""
    cands = _candidates(tt)
    costs = [min(len(_program(e, s)[0]) for s in (0, 1)) for e in cands]
    k = min(range(len(cands)), key=costs.__getitem__)
    return costs[k], cands[k]


@cache
def _candidates(tt: int) -> list[tuple]:
    if tt in (0, FULL):
        return [("c", int(tt == FULL))]
    sup = _support(tt)
    for i in sup:
        if tt in (VAR_TT[i], VAR_TT[i] ^ FULL):
            return [_lit(i, int(tt != VAR_TT[i]))]
    out: list[tuple] = []
    for i in sup:  # single-variable AND / OR / XOR decompositions
        c0, c1 = _cof(tt, i, 0), _cof(tt, i, 1)
        if c0 == 0:
            out.append(("and", _lit(i), _best(c1)[1]))
        elif c1 == 0:
            out.append(("and", _lit(i, 1), _best(c0)[1]))
        elif c0 == FULL:
            out.append(("or", _lit(i, 1), _best(c1)[1]))
        elif c1 == FULL:
            out.append(("or", _lit(i), _best(c0)[1]))
        elif c0 == c1 ^ FULL:
            out.append(("xor", _lit(i), _best(c0)[1]))
    if out:
        return out
    out += _maj_forms(tt, sup)
    for mask in product((0, 1, 2), repeat=len(sup)):  # AND / OR bi-decomposition
        xa = tuple(v for v, m in zip(sup, mask, strict=True) if m == 1)
        xb = tuple(v for v, m in zip(sup, mask, strict=True) if m == 2)
        if not xa or not xb or xa > xb:
            continue
        a, b = _quantify(tt, xa, True), _quantify(tt, xb, True)  # tt = a & b?
        if a & b == tt:
            out.append(("and", _best(a)[1], _best(b)[1]))
        a, b = _quantify(tt, xa, False), _quantify(tt, xb, False)  # tt = a | b?
        if a | b == tt:
            out.append(("or", _best(a)[1], _best(b)[1]))
    for i in sup:  # Shannon expansion
        out.append(("mux", _lit(i), _best(_cof(tt, i, 1))[1], _best(_cof(tt, i, 0))[1]))
    out.append(_factor(_isop(tt, tt)[0]))
    out.append(("not", _factor(_isop(tt ^ FULL, tt ^ FULL)[0])))
    return out


@cache
def library(tt: int, slack: int = 1, limit: int = 8) -> tuple[Program, ...]:
    """Small distinct structures for ``tt`` (local literal 2 + 2i is cut leaf i; gates from var 5)."""
    cands = _candidates(tt)
    scored = sorted((len(_program(e, s)[0]), n, s) for n, e in enumerate(cands) for s in (0, 1))
    progs = dict.fromkeys(_program(cands[n], s) for cost, n, s in scored if cost <= scored[0][0] + slack)
    return tuple(progs)[:limit]


def replicate(tt: int, k: int) -> int:
    """A table over k <= 4 variables (2^k bits) as a 16-bit table that ignores variables k..3."""
    width = 1 << k
    return sum(tt << (width * r) for r in range(16 // width)) & FULL


def best_cost(tt: int) -> int:
    """AND count of the cheapest structure the heuristics find for a 16-bit table."""
    return _best(tt)[0]


def cheapest_completion(lo: int, hi: int, k: int, max_free: int = 4) -> int:
    """The cheapest 16-bit table between ``lo`` and ``hi`` (k-variable tables, lo within hi).

    Minterms in ``hi`` but not ``lo`` are don't-cares: every completion is tried when there are at
    most ``max_free`` of them, else the extremes and the ISOP cover of the interval.
    """
    free = [m for m in range(1 << k) if (hi >> m) & 1 and not (lo >> m) & 1]
    if len(free) <= max_free:
        cands = [lo | sum(1 << m for j, m in enumerate(free) if (s >> j) & 1) for s in range(1 << len(free))]
        cands = [replicate(c, k) for c in cands]
    else:
        lo16, hi16 = replicate(lo, k), replicate(hi, k)
        cands = [lo16, hi16, _isop(lo16, hi16)[1]]
    return min(cands, key=lambda tt: (best_cost(tt), tt))


def build_tt(g: AIG, tt: int, leaves: list[int]) -> int:
    """Build the cheapest found structure of a 16-bit table over ``leaves`` (padded to four) into g."""
    if tt in (0, FULL):
        return int(tt == FULL)
    _, expr = _best(tt)
    style = min((0, 1), key=lambda s: len(_program(expr, s)[0]))
    return _build(g, expr, list(leaves) + [0] * (K - len(leaves)), style)
