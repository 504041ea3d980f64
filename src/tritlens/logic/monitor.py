"""Compile properties (``props``) into a monitor: gates and latches watching a circuit's pins.

The monitor reads the circuit's input bits and answer bits each step, keeps its own latches for
``prev``/``ever``/``count``/``counter``, and raises ``bad`` when an invariant is false. ``product``
returns one AIG holding the circuit and its monitor: outputs ``bad`` (any invariant violated) and
``bad{i}`` per invariant; ``abc_product`` adds the input-validity guard model checkers need (a
latch remembering an invalid token, after which nothing counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, FALSE, TRUE, negate, transfer
from tritlens.logic.build import add, compare, const_bits, ge_const, increment, mux_bits, trim
from tritlens.logic.circuit import Circuit, bits_for
from tritlens.logic.props import STATEFUL, Expr, PropertySet
from tritlens.logic.specs import table_bits

MAX_TABLE_BITS = 12  # '/' and '%' become lookup tables over at most this many bits


@dataclass
class Value:
    """A compiled value: a boolean literal, or an unsigned integer (bits LSB first)."""

    bits: list[int]
    is_bool: bool

    def as_bool(self, g: AIG) -> int:
        return self.bits[0] if self.is_bool else g.OR_all(self.bits)

    def as_int(self) -> list[int]:
        return list(self.bits) or [FALSE]


class _Compiler:
    def __init__(self, g: AIG, circuit: Circuit, ins: list[list[int]], outs: list[list[int]]) -> None:
        self.g, self.circuit, self.ins, self.outs = g, circuit, ins, outs
        self.memo: dict[int, Value] = {}
        self.n_latches = 0

    def signal(self, name: str, index: int | None) -> Value:
        seq = self.ins if name == "in" else self.outs
        what = "token positions" if name == "in" else "answers"
        if index is None:
            if len(seq) != 1:
                raise TritlensError(
                    f"'{name}' is ambiguous: the circuit has {len(seq)} {what}; write {name}[k]"
                )
            index = 0
        if not 0 <= index < len(seq):
            raise TritlensError(f"signal {name}[{index}] does not exist: the circuit has {len(seq)} {what}")
        return Value(seq[index], False)

    def value(self, e: Expr) -> Value:
        g, op = self.g, e[0]
        if op == "int":
            return Value(const_bits(e[1], max(1, e[1].bit_length())), False)
        if op == "bool":
            return Value([TRUE if e[1] else FALSE], True)
        if op == "sig":
            return self.signal(e[1], e[2])
        if op == "not":
            return Value([negate(self.value(e[1]).as_bool(g))], True)
        if op in ("and", "or"):
            a, b = self.value(e[1]).as_bool(g), self.value(e[2]).as_bool(g)
            return Value([g.AND(a, b) if op == "and" else g.OR(a, b)], True)
        if op == "add":
            return Value(trim(add(g, self.value(e[1]).as_int(), self.value(e[2]).as_int())), False)
        if op in ("div", "mod"):
            return self.divide(self.value(e[1]).as_int(), e[2], op)
        if op == "cmp":
            lt, eq, gt = compare(g, self.value(e[2]).as_int(), self.value(e[3]).as_int())
            rel = {"==": eq, "!=": negate(eq), "<": lt, ">": gt, "<=": negate(gt), ">=": negate(lt)}
            return Value([rel[e[1]]], True)
        key = id(e)
        if key not in self.memo:
            self.memo[key] = self.call(e[1], e[2:])
        return self.memo[key]

    def divide(self, bits: list[int], k: int, op: str) -> Value:
        """Quotient or remainder by the constant k, as a lookup table over the operand's bits."""
        if len(bits) > MAX_TABLE_BITS:
            raise TritlensError(f"'{'/' if op == 'div' else '%'} {k}' of a {len(bits)}-bit value is too wide "
                                f"(at most {MAX_TABLE_BITS} bits)")
        top = (1 << len(bits)) - 1
        width = max(1, (top // k if op == "div" else min(top, k - 1)).bit_length())
        fn = (lambda x: x // k) if op == "div" else (lambda x: x % k)
        return Value(trim(table_bits(self.g, bits, fn, width)), False)

    def latches(self, width: int, init: int, name: str) -> list[int]:
        out = [self.g.add_latch(f"mon{self.n_latches}_{name}{i}", (init >> i) & 1) for i in range(width)]
        self.n_latches += 1
        return out

    def call(self, name: str, args: tuple) -> Value:
        g = self.g
        if name == "bit":
            bits = self.value(args[0]).as_int()
            k = args[1][1]
            return Value([bits[k] if k < len(bits) else FALSE], True)
        if name == "prev":
            now = self.value(args[0])
            init = args[1] if len(args) > 1 else ("int", 0)
            if init[0] not in ("int", "bool"):
                raise TritlensError("the second argument of prev() must be a number or true/false")
            width = max(len(now.bits), max(1, int(init[1]).bit_length()))
            state = self.latches(width, int(init[1]), "prev")
            bits = now.bits + [FALSE] * (width - len(now.bits))
            for latch, nxt in zip(state, bits, strict=True):
                g.set_next(latch, nxt)
            return Value(state[: len(now.bits)] if now.is_bool else state, now.is_bool)
        if name == "ever":
            (state,) = self.latches(1, 0, "ever")
            val = g.OR(state, self.value(args[0]).as_bool(g))
            g.set_next(state, val)
            return Value([val], True)
        top = args[-1][1]
        width = bits_for(top + 1)
        state = self.latches(width, 0, name)
        up = self.value(args[0]).as_bool(g)
        at_max = ge_const(g, state, top)
        if name == "count":
            val = mux_bits(g, g.AND(up, negate(at_max)), increment(g, state), state)
        else:
            down = self.value(args[1]).as_bool(g)
            at_zero = negate(g.OR_all(state))
            dec = add(g, state, const_bits((1 << width) - 1, width))[:width]
            rise = g.AND(g.AND(up, negate(down)), negate(at_max))
            fall = g.AND(g.AND(down, negate(up)), negate(at_zero))
            val = mux_bits(g, rise, increment(g, state), mux_bits(g, fall, dec, state))
        for latch, nxt in zip(state, val, strict=True):
            g.set_next(latch, nxt)
        return Value(val, False)


def _check_fits(circuit: Circuit, props: PropertySet) -> None:
    if props.stateful and not circuit.recurrent:
        used = sorted({name for name in STATEFUL if _calls(name, [e for _, e in props.invariants])})
        raise TritlensError(
            f"the property needs state ({', '.join(used)}) but circuit {circuit.name!r} is not recurrent"
        )


def _calls(name: str, exprs: list) -> bool:
    return any(
        isinstance(e, tuple) and ((e[0] == "call" and e[1] == name) or _calls(name, list(e[1:])))
        for e in exprs
    )


def product(circuit: Circuit, props: PropertySet) -> AIG:
    """The circuit with its monitor: outputs ``bad``, then ``bad0``, ``bad1``, ... per invariant."""
    _check_fits(circuit, props)
    src, g = circuit.aig, AIG()
    leaves = {v: g.add_input(name) for v, name in zip(src.inputs, src.input_names, strict=True)}
    latch_lits = {latch.var: g.add_latch(latch.name, latch.init) for latch in src.latches}
    lit_of = transfer(g, src, leaves | latch_lits)
    for latch in src.latches:
        g.set_next(latch_lits[latch.var], lit_of[latch.next >> 1] ^ (latch.next & 1))
    w, ow = circuit.token_width, circuit.out_width
    in_bits = [2 * v for v in g.inputs]
    outs = [lit_of[lit >> 1] ^ (lit & 1) for lit in src.outputs]
    comp = _Compiler(
        g,
        circuit,
        [in_bits[p * w : (p + 1) * w] for p in range(circuit.n_ctx)],
        [outs[k * ow : (k + 1) * ow] for k in range(len(circuit.positions))],
    )
    bads = [negate(comp.value(e).as_bool(g)) for _, e in props.invariants]
    g.add_output(g.OR_all(bads), "bad")
    for i, lit in enumerate(bads):
        g.add_output(lit, f"bad{i}")
    return g


def valid_input(g: AIG, circuit: Circuit) -> int:
    """Literal: every token read this step is a real token (code < d_vocab)."""
    w = circuit.token_width
    bits = [2 * v for v in g.inputs[: circuit.n_ctx * w]]
    return g.AND_all(
        negate(ge_const(g, bits[p * w : (p + 1) * w], circuit.d_vocab)) for p in range(circuit.n_ctx)
    )


def abc_product(circuit: Circuit, props: PropertySet) -> AIG:
    """``product`` with one output for model checkers: bad while every token so far was valid."""
    g = product(circuit, props)
    valid = valid_input(g, circuit)
    seen_invalid = g.add_latch("seen_invalid")
    g.set_next(seen_invalid, g.OR(seen_invalid, negate(valid)))
    bad = g.AND(g.AND(g.outputs[0], valid), negate(seen_invalid))
    g.outputs, g.output_names = [bad], ["bad"]
    return g


__all__ = ["Value", "abc_product", "product", "valid_input"]
