"""Arithmetic and threshold building blocks on an AIG.

Numbers are lists of literals, least significant bit first, unsigned. Threshold neurons with
ternary weights are cardinality constraints (see ``threshold``); two encodings are provided and
``threshold(method="auto")`` picks the cheaper one per neuron by building both on a scratch graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, FALSE, TRUE, negate

Bits = list[int]
THRESHOLD_METHODS = ("auto", "adder", "totalizer")


def const_bits(value: int, width: int) -> Bits:
    """Constant ``value`` as ``width`` literal bits."""
    if value < 0 or value >= 1 << width:
        raise TritlensError(f"constant {value} does not fit in {width} bits")
    return [TRUE if (value >> i) & 1 else FALSE for i in range(width)]


def width_for(max_value: int) -> int:
    """Bits needed to hold 0..max_value."""
    return max(1, int(max_value).bit_length())


def full_adder(g: AIG, a: int, b: int, c: int) -> tuple[int, int]:
    """(sum, carry) of three bits."""
    t = g.XOR(a, b)
    return g.XOR(t, c), g.OR(g.AND(a, b), g.AND(c, t))


def half_adder(g: AIG, a: int, b: int) -> tuple[int, int]:
    return g.XOR(a, b), g.AND(a, b)


def _pad(bits: Sequence[int], width: int) -> Bits:
    return list(bits) + [FALSE] * (width - len(bits))


def add(g: AIG, a: Sequence[int], b: Sequence[int], cin: int = FALSE) -> Bits:
    """Ripple-carry a + b + cin, one bit wider than the wider operand."""
    width = max(len(a), len(b))
    a, b = _pad(a, width), _pad(b, width)
    out, carry = [], cin
    for x, y in zip(a, b, strict=True):
        s, carry = full_adder(g, x, y, carry)
        out.append(s)
    return out + [carry]


def add_const(g: AIG, a: Sequence[int], k: int) -> Bits:
    """a + k for a non-negative constant (constant propagation trims the adder)."""
    if k == 0:
        return list(a)
    return trim(add(g, a, const_bits(k, width_for(k))))


def trim(bits: Sequence[int]) -> Bits:
    """Drop constant-false high bits (keeps at least one bit)."""
    bits = list(bits)
    while len(bits) > 1 and bits[-1] == FALSE:
        bits.pop()
    return bits


def popcount(g: AIG, lits: Sequence[int]) -> Bits:
    """Number of true literals as a binary number: a Wallace-style tree of full adders.

    Bits of equal weight are reduced three at a time by full adders (two at a time by a half adder
    when only two remain), so n inputs cost about n full adders.
    """
    columns: list[list[int]] = [[x for x in lits if x != FALSE]]
    ones = sum(1 for x in columns[0] if x == TRUE)
    columns[0] = [x for x in columns[0] if x != TRUE]
    w = 0
    while w < len(columns):
        col = columns[w]
        while len(col) > 1:
            if len(col) >= 3:
                s, c = full_adder(g, col.pop(0), col.pop(0), col.pop(0))
            else:
                s, c = half_adder(g, col.pop(0), col.pop(0))
            col.append(s)
            if w + 1 == len(columns):
                columns.append([])
            columns[w + 1].append(c)
        w += 1
    bits = [col[0] if col else FALSE for col in columns]
    return add_const(g, bits, ones)


def ge_const(g: AIG, a: Sequence[int], k: int) -> int:
    """a >= k for a constant k (a chain of ANDs/ORs, no adder)."""
    if k <= 0:
        return TRUE
    if k >= 1 << len(a):
        return FALSE
    # Scan from the MSB: result = a > k-1, i.e. compare with m = k - 1 for strict greater.
    m = k - 1
    gt = FALSE
    for i in range(len(a)):  # LSB to MSB: gt_i = a_i & ~m_i | (a_i == m_i) & gt_{i-1}
        gt = g.AND(a[i], gt) if m >> i & 1 else g.OR(a[i], gt)
    return gt


def compare(g: AIG, a: Sequence[int], b: Sequence[int]) -> tuple[int, int, int]:
    """(a < b, a == b, a > b) for unsigned numbers."""
    width = max(len(a), len(b))
    a, b = _pad(a, width), _pad(b, width)
    gt, eq = FALSE, TRUE
    for x, y in zip(a, b, strict=True):  # LSB to MSB; higher bits override lower ones
        bit_gt = g.AND(x, negate(y))
        bit_eq = g.XNOR(x, y)
        gt = g.OR(bit_gt, g.AND(bit_eq, gt))
        eq = g.AND(bit_eq, eq)
    lt = g.AND(negate(gt), negate(eq))
    return lt, eq, gt


def greater(g: AIG, a: Sequence[int], b: Sequence[int]) -> int:
    """a > b (unsigned), cheaper than ``compare`` when only one relation is needed."""
    width = max(len(a), len(b))
    a, b = _pad(a, width), _pad(b, width)
    gt = FALSE
    for x, y in zip(a, b, strict=True):
        gt = g.MUX(g.XOR(x, y), x, gt)
    return gt


def mux_bits(g: AIG, sel: int, then: Sequence[int], other: Sequence[int]) -> Bits:
    width = max(len(then), len(other))
    return [g.MUX(sel, x, y) for x, y in zip(_pad(then, width), _pad(other, width), strict=True)]


def increment(g: AIG, a: Sequence[int], enable: int = TRUE) -> Bits:
    """a + enable (same width, wraps): the next state of a counter."""
    out, carry = [], enable
    for x in a:
        out.append(g.XOR(x, carry))
        carry = g.AND(x, carry)
    return out


def counter(g: AIG, width: int, enable: int = TRUE, name: str = "cnt") -> Bits:
    """A ``width``-bit counter of latches that increments when ``enable`` is true."""
    state = [g.add_latch(f"{name}{i}") for i in range(width)]
    for latch, nxt in zip(state, increment(g, state, enable), strict=True):
        g.set_next(latch, nxt)
    return state


def totalizer(g: AIG, lits: Sequence[int], limit: int) -> Bits:
    """Unary count truncated at ``limit``: out[k-1] = (at least k literals are true), k = 1..limit."""
    leaves = [[x] for x in lits]
    if not leaves:
        return [FALSE] * limit
    while len(leaves) > 1:
        merged = [_merge_unary(g, leaves[i], leaves[i + 1], limit) for i in range(0, len(leaves) - 1, 2)]
        if len(leaves) % 2:
            merged.append(leaves[-1])
        leaves = merged
    return _pad(leaves[0][:limit], limit)


def _merge_unary(g: AIG, a: Bits, b: Bits, limit: int) -> Bits:
    size = min(limit, len(a) + len(b))
    out = []
    for k in range(1, size + 1):
        terms = []
        for i in range(0, min(k, len(a)) + 1):
            j = k - i
            if j > len(b):
                continue
            x = TRUE if i == 0 else a[i - 1]
            y = TRUE if j == 0 else b[j - 1]
            terms.append(g.AND(x, y))
        out.append(g.OR_all(terms))
    return out


def threshold(g: AIG, lits: Sequence[int], t: int, method: str = "auto") -> int:
    """True when at least ``t`` of ``lits`` are true (a cardinality constraint)."""
    lits = [x for x in lits if x != FALSE]
    t -= sum(1 for x in lits if x == TRUE)
    lits = [x for x in lits if x != TRUE]
    n = len(lits)
    if t <= 0:
        return TRUE
    if t > n:
        return FALSE
    if method == "auto":
        method = best_threshold_method(n, t)
    if method == "adder":
        return ge_const(g, popcount(g, lits), t)
    if method == "totalizer":
        if t <= n - t + 1:
            return totalizer(g, lits, t)[t - 1]
        # at least t true  <=>  not (at least n - t + 1 false)
        return negate(totalizer(g, [negate(x) for x in lits], n - t + 1)[n - t])
    raise TritlensError(f"unknown threshold method {method!r}; choose one of {', '.join(THRESHOLD_METHODS)}")


@lru_cache(maxsize=4096)
def threshold_cost(n: int, t: int, method: str) -> int:
    """AND count of one ``n``-input threshold ``>= t`` built alone with ``method``."""
    g = AIG()
    lits = [g.add_input() for _ in range(n)]
    g.add_output(threshold(g, lits, t, method))
    return g.num_ands


def best_threshold_method(n: int, t: int) -> str:
    """The cheaper encoding for this neuron shape (ties go to the shallower adder tree)."""
    adder = threshold_cost(n, t, "adder")
    total = threshold_cost(n, t, "totalizer")
    return "totalizer" if total < adder else "adder"


def ternary_threshold(
    g: AIG, x: Sequence[int], weights: Sequence[int], bias: int, method: str = "auto"
) -> int:
    """step(sum_i w_i x_i + bias >= 0) for w_i in {-1, 0, +1}.

    sum_{w=+1} x_i - sum_{w=-1} x_i >= -bias  <=>  count(x_i: w=+1) + count(~x_i: w=-1) >= #neg - bias,
    so zero weights vanish and negative weights read the complemented input.
    """
    lits, n_neg = [], 0
    for xi, wi in zip(x, weights, strict=True):
        if wi == 1:
            lits.append(xi)
        elif wi == -1:
            lits.append(negate(xi))
            n_neg += 1
        elif wi != 0:
            raise TritlensError(f"weight {wi} is not a trit (-1, 0, +1)")
    return threshold(g, lits, n_neg - int(bias), method)


def one_hot(g: AIG, bits: Sequence[int], n_values: int) -> Bits:
    """Decoder: literal k is true when the unsigned number ``bits`` equals k (k < n_values)."""
    return [g.AND_all(b if (v >> i) & 1 else negate(b) for i, b in enumerate(bits)) for v in range(n_values)]


def argmax(g: AIG, scores: Sequence[Sequence[int]]) -> Bits:
    """Index (binary, LSB first) of the largest unsigned score, ties going to the lowest index.

    A tournament over adjacent pairs: the right (higher-index) group wins only when strictly greater,
    so among equal maxima the lowest index survives.
    """
    if not scores:
        raise TritlensError("argmax of no scores")
    width = width_for(len(scores) - 1)
    items = [(list(s), const_bits(i, width)) for i, s in enumerate(scores)]
    while len(items) > 1:
        merged = []
        for i in range(0, len(items) - 1, 2):
            (va, ia), (vb, ib) = items[i], items[i + 1]
            take_b = greater(g, vb, va)
            merged.append((mux_bits(g, take_b, vb, va), mux_bits(g, take_b, ib, ia)))
        if len(items) % 2:
            merged.append(items[-1])
        items = merged
    return items[0][1]
