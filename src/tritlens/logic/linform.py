"""Signed integer arithmetic on an AIG: weighted sums of bits, compressed into unsigned numbers.

The discrete transformer computes with small signed integers (residual vectors, queries, keys,
attention scores, logits). Gates handle them in two forms:

* ``Lin``: an integer linear form ``sum_i w_i * lit_i + const`` over AIG literals (weights any
  integers). Sums, scalings and products of numbers are linear forms, built without any gate.
* ``Num``: a number held as unsigned bits plus a constant, ``value = unsigned(bits) + offset``.
  ``compress`` turns a form into one: a negative weight reads the complemented literal
  (``w * x = w + |w| * ~x``), every weight is split into powers of two, and the columns of equal
  weight are reduced by full and half adders (a Wallace tree: the "adder tree").

Widths come from the value's range [lo, hi]: by default the bounds over all literal assignments, or
a range the caller knows holds on every input it cares about (e.g. measured on every valid token
tuple). The tree then computes ``(value - lo) mod 2^W`` with ``W = bitlength(hi - lo)``: weights and
constants are reduced mod 2^W and carries out of bit W - 1 are dropped, which is exact whenever the
value lies in the range. Literals known to be mutually exclusive (a token's one-hot decoder: at most
one is true) form a group whose contribution is a table lookup, one OR per result bit, not an adder.

Comparisons follow: ``threshold`` is ``[form >= 0]``, ``select`` is a hard argmax (comparator
tournament with a fixed tie-break) that carries each candidate's payload bits through multiplexers.

Example::

    q = compress(g, Lin.of_bits(bits_a, -3))          # a - 3
    s = compress(g, mul(g, q, q))                      # (a - 3)^2, exact
    on = threshold(g, Lin.of_num(s, -4))               # [(a - 3)^2 >= 4]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tritlens.logic.aig import AIG, FALSE, TRUE, negate
from tritlens.logic.build import add_const, full_adder, ge_const, greater, half_adder, mux_bits


@dataclass
class Lin:
    """``sum(weight * literal) + const``; ``terms`` maps a positive (even) literal to its weight."""

    terms: dict[int, int] = field(default_factory=dict)
    const: int = 0

    def add_term(self, lit: int, weight: int) -> None:
        """Add ``weight * lit`` (a complemented literal becomes ``weight - weight * var``)."""
        if weight == 0 or lit == FALSE:
            return
        if lit == TRUE:
            self.const += weight
            return
        if lit & 1:
            self.const += weight
            lit, weight = lit ^ 1, -weight
        total = self.terms.get(lit, 0) + weight
        if total:
            self.terms[lit] = total
        else:
            self.terms.pop(lit, None)

    def add(self, other: Lin, scale: int = 1) -> Lin:
        """In place: self += scale * other; returns self."""
        for lit, w in other.terms.items():
            self.add_term(lit, scale * w)
        self.const += scale * other.const
        return self

    @classmethod
    def of_terms(cls, pairs: Iterable[tuple[int, int]], const: int = 0) -> Lin:
        out = cls(const=const)
        for lit, w in pairs:
            out.add_term(lit, int(w))
        return out

    @classmethod
    def of_bits(cls, bits: Sequence[int], offset: int = 0) -> Lin:
        """The unsigned number ``bits`` (LSB first) plus ``offset``."""
        return cls.of_terms(((b, 1 << k) for k, b in enumerate(bits)), offset)

    @classmethod
    def of_num(cls, num: Num, extra: int = 0) -> Lin:
        return cls.of_bits(num.bits, num.offset + extra)

    def bounds(self, groups: Groups | None = None) -> tuple[int, int]:
        """Smallest and largest value over all literal assignments (at most one true per group)."""
        lo = hi = self.const
        per_group: dict[int, list[int]] = {}
        for lit, w in self.terms.items():
            group = groups.get(lit) if groups else None
            if group is not None:
                per_group.setdefault(group, []).append(w)
            elif w < 0:
                lo += w
            else:
                hi += w
        for ws in per_group.values():
            lo += min(0, *ws)
            hi += max(0, *ws)
        return lo, hi


Groups = Mapping[int, int]  # positive literal -> id of its exclusive group (at most one literal true)
Range = tuple[int, int]


@dataclass
class Num:
    """``unsigned(bits) + offset`` (bits LSB first)."""

    bits: list[int]
    offset: int

    def lin(self) -> Lin:
        return Lin.of_bits(self.bits, self.offset)


def _reduce_columns(g: AIG, columns: list[list[int]], width: int) -> list[int]:
    """Sum of ``columns[k]`` (literals of weight 2^k) as ``width`` bits; the sum must be < 2^width."""
    columns = [list(c) for c in columns] + [[] for _ in range(max(0, width - len(columns)))]
    for k in range(width):
        col = columns[k]
        while len(col) > 1:
            if len(col) >= 3:
                s, c = full_adder(g, col.pop(), col.pop(), col.pop())
            else:
                s, c = half_adder(g, col.pop(), col.pop())
            col.insert(0, s)
            if k + 1 < width:
                columns[k + 1].append(c)
    return [columns[k][0] if columns[k] else FALSE for k in range(width)]


def _place(columns: list[list[int]], lit: int, w: int) -> None:
    k = 0
    while w:
        if w & 1:
            columns[k].append(lit)
        w >>= 1
        k += 1


def compress(g: AIG, form: Lin, groups: Groups | None = None, known: Range | None = None) -> Num:
    """``form`` as a Num ``(bits, lo)``: an adder tree computing ``(form - lo) mod 2^W``.

    ``known`` is a range the value is known to stay in (default: ``form.bounds(groups)``); the result is
    exact wherever the value lies in it. ``groups`` marks mutually exclusive literals (table lookups).
    """
    lo, hi = known if known is not None else form.bounds(groups)
    width = max(1, (hi - lo).bit_length())
    mod = 1 << width
    columns: list[list[int]] = [[] for _ in range(width)]
    const = form.const - lo
    lookups: dict[int, list[tuple[int, int]]] = {}
    for lit, w in form.terms.items():
        group = groups.get(lit) if groups else None
        if group is not None:
            lookups.setdefault(group, []).append((lit, w % mod))
            continue
        if w < 0:
            const += w
            lit, w = negate(lit), -w
        _place(columns, lit, w % mod)
    for members in lookups.values():  # at most one member is true: bit k is the OR of those with bit k
        for k in range(width):
            lit = g.OR_all(x for x, w in members if (w >> k) & 1)
            if lit != FALSE:
                columns[k].append(lit)
    _place(columns, TRUE, const % mod)
    return Num(_reduce_columns(g, columns, width), lo)


def mul(g: AIG, x: Num, y: Num) -> Lin:
    """x * y as a form: partial products (ANDs of bit pairs) plus the offset cross terms."""
    out = Lin(const=x.offset * y.offset)
    for a, xa in enumerate(x.bits):
        for b, yb in enumerate(y.bits):
            out.add_term(g.AND(xa, yb), 1 << (a + b))
    for b, yb in enumerate(y.bits):
        out.add_term(yb, x.offset << b)
    for a, xa in enumerate(x.bits):
        out.add_term(xa, y.offset << a)
    return out


def threshold(g: AIG, form: Lin, groups: Groups | None = None, known: Range | None = None) -> int:
    """Literal ``[form >= 0]`` (exact wherever the form's value lies in ``known``, if given)."""
    lo, hi = known if known is not None else form.bounds(groups)
    if lo >= 0:
        return TRUE
    if hi < 0:
        return FALSE
    num = compress(g, form, groups, (lo, hi))
    return ge_const(g, num.bits, -num.offset)


def align(g: AIG, nums: Sequence[Num]) -> list[list[int]]:
    """Unsigned bit vectors (equal width) of the nums shifted by one common offset (their smallest)."""
    base = min(n.offset for n in nums)
    shifted = [add_const(g, n.bits, n.offset - base) for n in nums]
    width = max(len(s) for s in shifted)
    return [s + [FALSE] * (width - len(s)) for s in shifted]


def select(g: AIG, scores: Sequence[Num], payloads: Sequence[Sequence[int]], last_wins: bool = False
           ) -> list[int]:
    """Payload bits of the candidate with the largest score (a comparator tournament with multiplexers).

    Among equal scores the first candidate wins, or the last one with ``last_wins``; every payload must
    have the same length.
    """
    items = list(zip(align(g, scores), (list(p) for p in payloads), strict=True))
    while len(items) > 1:
        merged = []
        for i in range(0, len(items) - 1, 2):
            (sa, pa), (sb, pb) = items[i], items[i + 1]
            take_b = negate(greater(g, sa, sb)) if last_wins else greater(g, sb, sa)
            merged.append((mux_bits(g, take_b, sb, sa), mux_bits(g, take_b, pb, pa)))
        if len(items) % 2:
            merged.append(items[-1])
        items = merged
    return items[0][1]


__all__ = ["Lin", "Num", "align", "compress", "mul", "select", "threshold"]
