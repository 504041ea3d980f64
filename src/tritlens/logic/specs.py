"""Reference specifications to prove circuits against.

A ``Spec`` gives the same token interface as a compiled circuit plus (1) a numpy reference function
(for exhaustive checks and confirming counterexamples), (2) a reference circuit built from textbook
gates (for SAT miters) and, for streaming tasks, (3) a finite state machine (for all-length proofs).
Token conventions match ``tritlens.tasks.bits``: a digit pair is ``a * base + b``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, FALSE, negate
from tritlens.logic.build import add, compare, const_bits, ge_const, mux_bits
from tritlens.logic.circuit import Circuit, bits_for

Builder = Callable[[AIG, list[list[int]]], list[list[int]]]
SPEC_NAMES = ("add", "modadd", "parity", "compare", "brackets", "count")


@dataclass(frozen=True)
class FsmSpec:
    """A Mealy machine over tokens: ``step(state, token) -> (answer, next state)`` from ``init``."""

    name: str
    d_vocab: int
    d_vocab_out: int
    init: Hashable
    step: Callable[[Hashable, int], tuple[int, Hashable]]


@dataclass(frozen=True)
class Spec:
    """A combinational specification with an optional streaming (FSM) form."""

    name: str
    d_vocab: int
    d_vocab_out: int
    n_ctx: int
    positions: tuple[int, ...]
    valid: tuple[int, ...]  # tokens at position p range over 0..valid[p]-1 (the task's domain)
    reference: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    builder: Builder = field(repr=False)
    fsm: FsmSpec | None = None
    low: tuple[int, ...] | None = None  # first token value per position (default 0): low[p] + 0..valid[p]-1

    def check_matches(self, circuit: Circuit) -> None:
        """Raise TritlensError unless the circuit reads and answers like this spec."""
        if circuit.recurrent:
            if self.fsm is None:
                raise TritlensError(f"spec {self.name!r} has no streaming form for a recurrent circuit")
            if (circuit.d_vocab, circuit.d_vocab_out) != (self.fsm.d_vocab, self.fsm.d_vocab_out):
                raise TritlensError(
                    f"spec {self.name!r} reads {self.fsm.d_vocab} token values and answers "
                    f"{self.fsm.d_vocab_out} classes, the circuit reads {circuit.d_vocab} "
                    f"and answers {circuit.d_vocab_out}"
                )
            return
        mine = (self.n_ctx, self.d_vocab, self.d_vocab_out, self.positions)
        theirs = (circuit.n_ctx, circuit.d_vocab, circuit.d_vocab_out, circuit.positions)
        if mine != theirs:
            raise TritlensError(
                f"spec {self.name!r} has input width {self.n_ctx} tokens x {bits_for(self.d_vocab)} bits "
                f"(vocab {self.d_vocab}, {self.d_vocab_out} classes at positions {self.positions}) "
                f"but the circuit has {circuit.n_ctx} tokens x {circuit.token_width} bits "
                f"(vocab {circuit.d_vocab}, "
                f"{circuit.d_vocab_out} classes at positions {circuit.positions})"
            )


# -- serial addition -----------------------------------------------------------------------------


def _add_reference(digits: int, base: int) -> Callable[[np.ndarray], np.ndarray]:
    def ref(tokens: np.ndarray) -> np.ndarray:
        out = np.zeros(tokens.shape, dtype=np.int64)
        carry = np.zeros(tokens.shape[0], dtype=np.int64)
        for t in range(tokens.shape[1]):
            total = tokens[:, t] // base + tokens[:, t] % base + carry
            out[:, t], carry = total % base, total // base
        return out

    return ref


def table_bits(g: AIG, inputs: list[int], fn: Callable[[int], int], n_out: int) -> list[int]:
    """Any small function as gates, by Shannon expansion with a memo on sub-tables."""
    size = 1 << len(inputs)
    values = [fn(k) for k in range(size)]
    outs = []
    for bit in range(n_out):
        table = tuple((v >> bit) & 1 for v in values)
        outs.append(_shannon(g, inputs, table, {}))
    return outs


def _shannon(g: AIG, inputs: list[int], table: tuple[int, ...], memo: dict) -> int:
    if all(x == table[0] for x in table):
        return negate(FALSE) if table[0] else FALSE
    key = (len(inputs), table)
    if key in memo:
        return memo[key]
    half = len(table) // 2  # top variable is the last input (bit n-1 of the index)
    lo = _shannon(g, inputs[:-1], table[:half], memo)
    hi = _shannon(g, inputs[:-1], table[half:], memo)
    memo[key] = g.MUX(inputs[-1], hi, lo)
    return memo[key]


def _add_builder(base: int) -> Builder:
    def build(g: AIG, tokens: list[list[int]]) -> list[list[int]]:
        carry, out = FALSE, []
        for bits in tokens:
            if base == 2:  # token = 2a + b: bit 0 is b, bit 1 is a
                b, a = bits
                out.append([g.XOR(g.XOR(a, b), carry)])
                carry = g.MAJ(a, b, carry)
                continue

            def step(k: int, width: int = len(bits)) -> int:
                token, c = k & ((1 << width) - 1), k >> width
                if token >= base * base:
                    return 0
                total = token // base + token % base + c
                return (total % base) | ((total // base) << bits_for(base))

            res = table_bits(g, [*bits, carry], step, bits_for(base) + 1)
            out.append(res[:-1])
            carry = res[-1]
        return out

    return build


def add_spec(digits: int = 4, base: int = 2) -> Spec:
    """Serial addition of two ``digits``-digit numbers, least significant first, plus a final carry step.

    The final step reads the pair (0, 0) and answers the carry, like ``SerialAddTask``.
    """
    if digits < 1 or base < 2:
        raise TritlensError(f"add spec needs digits >= 1 and base >= 2, got {digits}, {base}")
    fsm = FsmSpec(
        f"add{base}",
        base * base,
        base,
        0,
        lambda c, tok: ((tok // base + tok % base + c) % base, (tok // base + tok % base + c) // base),
    )
    n = digits + 1
    return Spec(
        f"add(digits={digits}, base={base})",
        base * base,
        base,
        n,
        tuple(range(n)),
        (base * base,) * digits + (1,),
        _add_reference(digits, base),
        _add_builder(base),
        fsm,
    )


# -- modular addition, comparison, parity ----------------------------------------------------------


def modadd_spec(p: int = 113, equals: bool = False) -> Spec:
    """(a + b) mod p from tokens (a, b), answered at position 1.

    ``equals`` is the layout of ``tritlens.tasks.modular.ModularTask``: tokens (a, b, '=') over a
    vocabulary of p + 1 ('=' is token p), answered at position 2; the third token is always '='.
    """
    if p < 2:
        raise TritlensError(f"modadd spec needs p >= 2, got {p}")
    width = bits_for(p)

    def build(g: AIG, tokens: list[list[int]]) -> list[list[int]]:
        total = add(g, tokens[0], tokens[1])
        n = len(total)
        wrap = ge_const(g, total, p)
        minus = add(g, total, const_bits((1 << n) - p, n))[:n]
        return [mux_bits(g, wrap, minus, total)[:width]]

    def ref(t: np.ndarray) -> np.ndarray:
        return ((t[:, 0] + t[:, 1]) % p)[:, None]

    if equals:
        return Spec(f"modadd(p={p}, a b =)", p + 1, p, 3, (2,), (p, p, 1), ref, build, low=(0, 0, p))
    return Spec(f"modadd(p={p})", p, p, 2, (1,), (p, p), ref, build)


def compare_spec(bits: int = 4) -> Spec:
    """Compare two ``bits``-bit numbers: answer 0 (a < b), 1 (a == b) or 2 (a > b) at position 1."""
    n = 1 << bits

    def build(g: AIG, tokens: list[list[int]]) -> list[list[int]]:
        _, eq, gt = compare(g, tokens[0], tokens[1])
        return [[eq, gt]]

    def ref(t: np.ndarray) -> np.ndarray:
        return (np.sign(t[:, 0] - t[:, 1]) + 1)[:, None]

    return Spec(f"compare(bits={bits})", n, 3, 2, (1,), (n, n), ref, build)


def parity_spec(bits: int = 8, prefix: bool = False) -> Spec:
    """Parity of ``bits`` bit tokens: at the last position, or at every position when ``prefix``."""
    positions = tuple(range(bits)) if prefix else (bits - 1,)

    def build(g: AIG, tokens: list[list[int]]) -> list[list[int]]:
        acc, outs = FALSE, []
        for t, (bit,) in enumerate(tokens):
            acc = g.XOR(acc, bit)
            if t in positions:
                outs.append([acc])
        return outs

    def ref(t: np.ndarray) -> np.ndarray:
        return (np.cumsum(t, axis=1) % 2)[:, list(positions)]

    fsm = FsmSpec("parity", 2, 2, 0, lambda s, tok: ((s + tok) % 2, (s + tok) % 2))
    return Spec(f"parity(bits={bits})", 2, 2, bits, positions, (2,) * bits, ref, build, fsm)


# -- specs given by a state machine: brackets, count ------------------------------------------------


def fsm_spec(name: str, fsm: FsmSpec, n: int, states: list[Hashable]) -> Spec:
    """A streaming spec of length ``n`` answered at every step, from its machine: the reference runs the
    machine; the gate form unrolls it, one lookup table of (state code, token bits) per step."""
    code = {s: k for k, s in enumerate(states)}
    s_bits, o_bits = bits_for(len(states)), bits_for(fsm.d_vocab_out)

    def ref(tokens: np.ndarray) -> np.ndarray:
        out = np.zeros(tokens.shape, dtype=np.int64)
        for r, row in enumerate(tokens.tolist()):
            state = fsm.init
            for t, tok in enumerate(row):
                out[r, t], state = fsm.step(state, tok)
        return out

    def build(g: AIG, tokens: list[list[int]]) -> list[list[int]]:
        state, outs = const_bits(code[fsm.init], s_bits), []
        for bits in tokens:
            def step(k: int, width: int = len(bits)) -> int:
                tok, st = k & ((1 << width) - 1), k >> width
                if tok >= fsm.d_vocab or st >= len(states):
                    return 0
                answer, nxt = fsm.step(states[st], tok)
                return answer | (code[nxt] << o_bits)

            res = table_bits(g, [*bits, *state], step, o_bits + s_bits)
            outs.append(res[:o_bits])
            state = res[o_bits:]
        return outs

    return Spec(name, fsm.d_vocab, fsm.d_vocab_out, n, tuple(range(n)), (fsm.d_vocab,) * n, ref, build, fsm)


def brackets_spec(length: int = 10, max_depth: int = 3) -> Spec:
    """Next-token validity of bracket sequences with depth at most ``max_depth`` (``BracketTask``)."""
    def step(depth: Hashable, token: int) -> tuple[int, Hashable]:
        d = int(depth)  # type: ignore[call-overload]
        if d >= 0:
            d = d + 1 if token == 0 else d - 1
            d = -1 if d > max_depth else d
        if d < 0:
            return 3, -1
        return (0 if d == 0 else 2 if d == max_depth else 1), d

    fsm = FsmSpec(f"brackets{max_depth}", 2, 4, 0, step)
    return fsm_spec(f"brackets(length={length}, max_depth={max_depth})", fsm, length,
                    list(range(-1, max_depth + 1)))


def count_spec(length: int = 12, k: int = 3) -> Spec:
    """Number of 1 tokens so far mod ``k``, at every step (``CountTask``)."""
    fsm = FsmSpec(f"count{k}", 2, k, 0, lambda c, tok: ((int(c) + tok) % k, (int(c) + tok) % k))
    return fsm_spec(f"count(length={length}, k={k})", fsm, length, list(range(k)))


def make_spec(name: str, digits: int | None = None, **params: int) -> Spec:
    """A spec by name: add (digits, base), modadd (p, equals), parity (bits, prefix), compare (bits),
    brackets (length, max_depth), count (length, k).

    ``digits`` is the CLI's ``--digits``: the number of digit pairs for add, the sequence length for
    brackets and count, the bit width otherwise.
    """
    if name == "brackets":
        return brackets_spec(digits or params.get("length", 10), params.get("max_depth", 3))
    if name == "count":
        return count_spec(digits or params.get("length", 12), params.get("k", 3))
    if name == "add":
        return add_spec(digits or 4, params.get("base", 2))
    if name == "modadd":
        return modadd_spec(params.get("p", 113), bool(params.get("equals", False)))
    if name == "parity":
        return parity_spec(digits or params.get("bits", 8), bool(params.get("prefix", False)))
    if name == "compare":
        return compare_spec(digits or params.get("bits", 4))
    raise TritlensError(f"unknown spec {name!r}; choose one of {', '.join(SPEC_NAMES)}")
