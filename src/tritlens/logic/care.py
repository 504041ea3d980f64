"""Care sets: the input assignments that can occur, and proofs that hold only on them.

A token code that no input ever carries (codes 11..15 of a 4-bit code when p = 11) is a
don't-care: a circuit may answer anything there. A ``CareSet`` is a predicate over the circuit's
input pins, stored as a one-output AIG, so it can be simulated (a mask over all assignments when
there are few inputs), sampled, and added to a SAT query as a constraint. For a recurrent circuit
the predicate constrains each step's input token; since every step's input is valid, the state
sequence on valid inputs is untouched by anything done on invalid ones.

Example::

    care = CareSet.tokens(circuit, valid=11)          # every position reads 0..10
    small = simplify(circuit.aig, care=care)           # proved equal on all valid inputs
    proof = prove_care_equivalent(circuit.aig, small, care)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, map_lit, transfer
from tritlens.logic.circuit import Circuit
from tritlens.logic.prove import FAILED, PROVED, TIMEOUT, UNKNOWN, ProofResult, cut_latches
from tritlens.logic.sat import solve
from tritlens.logic.sim import Simulator, pack, unpack

ENUM_LIMIT = 22  # enumerate care assignments explicitly up to 2^22 input patterns


@dataclass
class CareSet:
    """A predicate over ``n_inputs`` input pins (``predicate`` has one output: 1 = can occur)."""

    predicate: AIG
    description: str = "care set"

    @property
    def n_inputs(self) -> int:
        return len(self.predicate.inputs)

    @classmethod
    def tokens(cls, circuit: Circuit, valid: int | Sequence[int | Iterable[int]]) -> CareSet:
        """Care set of a circuit whose position p reads only the tokens in ``valid[p]``.

        ``valid`` is one entry for all positions or one per position; an entry is a count
        (tokens 0..count-1) or an iterable of token values.
        """
        per_pos = [valid] * circuit.n_ctx if isinstance(valid, int) else list(valid)
        if len(per_pos) != circuit.n_ctx:
            raise TritlensError(f"care set names {len(per_pos)} positions, the circuit reads {circuit.n_ctx}")
        w = circuit.token_width
        g = AIG()
        conds, names = [], []
        for p, entry in enumerate(per_pos):
            values = sorted(set(range(entry) if isinstance(entry, int) else (int(x) for x in entry)))
            bad = [x for x in values if not 0 <= x < 1 << w]
            if bad or not values:
                raise TritlensError(
                    f"valid tokens at position {p} must be a non-empty set within 0..{(1 << w) - 1}, "
                    f"got {entry!r}"
                )
            bits = [g.add_input(f"t{p}_b{k}") for k in range(w)]
            conds.append(g.OR_all(_equals(g, bits, x) for x in values))
            names.append(f"{len(values)} of {1 << w} codes" if len(values) < 1 << w else "all codes")
        g.add_output(g.AND_all(conds), "valid")
        return cls(g, "valid tokens: " + ", ".join(names))

    @classmethod
    def for_task(cls, circuit: Circuit, task: object) -> CareSet:
        """The tokens a task can feed the circuit: ``task.sizes[p]`` values at position p (a
        recurrent circuit gets the largest per step), else every token ``0..d_vocab-1``."""
        sizes = getattr(task, "sizes", None)
        if sizes is None:
            return cls.tokens(circuit, circuit.d_vocab)
        if circuit.recurrent:
            return cls.tokens(circuit, max(sizes))
        return cls.tokens(circuit, list(sizes))

    @classmethod
    def from_predicate(cls, predicate: AIG, description: str = "care predicate") -> CareSet:
        """A care set from a one-output AIG over the circuit's inputs (no latches)."""
        if len(predicate.outputs) != 1 or predicate.latches:
            raise TritlensError("a care predicate must be a combinational AIG with exactly one output")
        return cls(predicate, description)

    def check(self, aig: AIG) -> None:
        if self.n_inputs != len(aig.inputs):
            raise TritlensError(f"care set reads {self.n_inputs} inputs, the circuit has {len(aig.inputs)}")

    def mask(self) -> np.ndarray:
        """bool [2^n]: entry k says whether input assignment k (bit i = input i) can occur."""
        n = self.n_inputs
        if n > ENUM_LIMIT:
            raise TritlensError(f"care set over {n} inputs is too large to enumerate (limit {ENUM_LIMIT})")
        k = np.arange(1 << n, dtype=np.int64)
        bits = ((k[:, None] >> np.arange(n)) & 1).astype(bool)
        outs, _ = Simulator(self.predicate).run(pack(bits))
        return unpack(outs, 1 << n)[:, 0]

    def patterns(self, limit: int = 1 << 14, seed: int = 0) -> np.ndarray:
        """bool [N, n] care assignments: all of them when enumerable, else random valid ones."""
        n = self.n_inputs
        if n <= min(ENUM_LIMIT, 20):
            k = np.nonzero(self.mask())[0]
            return ((k[:, None] >> np.arange(n)) & 1).astype(bool)
        rng = np.random.default_rng(seed)
        bits = rng.integers(0, 2, size=(limit, n)).astype(bool)
        outs, _ = Simulator(self.predicate).run(pack(bits))
        return bits[unpack(outs, limit)[:, 0]]

    def fraction(self) -> float:
        """Share of input assignments that can occur (exact when enumerable)."""
        if self.n_inputs <= ENUM_LIMIT:
            return float(self.mask().mean())
        return float("nan")


def _equals(g: AIG, bits: list[int], value: int) -> int:
    return g.AND_all(b if (value >> i) & 1 else b ^ 1 for i, b in enumerate(bits))


def full_mask(aig: AIG, care: CareSet) -> np.ndarray:
    """Care mask over inputs then latches (latch values all possible), as ``collapse`` wants."""
    care.check(aig)
    inputs = care.mask()
    return np.tile(inputs, 1 << len(aig.latches))


def prove_care_equivalent(
    a: AIG, b: AIG, care: CareSet, conflicts: int | None = None, seconds: float | None = None
) -> ProofResult:
    """a and b (latches cut into pseudo pins) agree on every input assignment the care set allows.

    Exhaustive simulation of the care assignments (times every latch state) when that is at most
    2^24 patterns, else a SAT miter constrained by the care predicate.
    """
    start = time.perf_counter()
    care.check(a)
    ca, cb = cut_latches(a), cut_latches(b)
    if (len(ca.inputs), len(ca.outputs)) != (len(cb.inputs), len(cb.outputs)):
        raise TritlensError("cannot compare circuits with different pins")
    n_in, n_latch = len(a.inputs), len(a.latches)
    if care.n_inputs <= ENUM_LIMIT and math.log2(max(1, int(care.mask().sum()))) + n_latch <= 24:
        pats = care.patterns()
        k = np.arange(1 << n_latch, dtype=np.int64)
        states = ((k[:, None] >> np.arange(n_latch)) & 1).astype(bool)
        full = np.concatenate([np.repeat(pats, len(states), axis=0), np.tile(states, (len(pats), 1))], axis=1)
        oa, _ = Simulator(ca).run(pack(full))
        ob, _ = Simulator(cb).run(pack(full))
        diff = unpack(oa ^ ob, len(full)).any(axis=1)
        method = f"exhaustive simulation of {len(pats)} care inputs x {len(states)} states"
        if diff.any():
            cex = [int(x) for x in full[int(np.argmax(diff))][:n_in]]
            return ProofResult(FAILED, method, time.perf_counter() - start, cex)
        return ProofResult(PROVED, method, time.perf_counter() - start)
    return _sat_care(ca, cb, care, n_in, conflicts, seconds, start)


def _sat_care(ca: AIG, cb: AIG, care: CareSet, n_in: int, conflicts, seconds, start) -> ProofResult:
    m = AIG()
    shared = [m.add_input(name) for name in ca.input_names]
    lits_a = transfer(m, ca, dict(zip(ca.inputs, shared, strict=True)))
    lits_b = transfer(m, cb, dict(zip(cb.inputs, shared, strict=True)))
    lits_p = transfer(m, care.predicate, dict(zip(care.predicate.inputs, shared[:n_in], strict=True)))
    diff = m.OR_all(
        m.XOR(map_lit(lits_a, x), map_lit(lits_b, y)) for x, y in zip(ca.outputs, cb.outputs, strict=True)
    )
    found = solve(m, m.AND(diff, map_lit(lits_p, care.predicate.outputs[0])), conflicts, seconds)
    method = "SAT miter under the care predicate (glucose4)"
    if found is None:
        timed_out = seconds is not None and time.perf_counter() - start >= seconds
        return ProofResult(TIMEOUT if timed_out else UNKNOWN, method, time.perf_counter() - start)
    if found is False:
        return ProofResult(PROVED, method, time.perf_counter() - start)
    return ProofResult(FAILED, method, time.perf_counter() - start, [int(x) for x in found[:n_in]])


__all__ = ["CareSet", "full_mask", "prove_care_equivalent"]
