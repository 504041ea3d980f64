"""Proofs about compiled circuits.

(a) circuit == model on every input: exhaustive bit-parallel simulation when the input space has at
    most 2^24 points, else a SAT miter against an independently encoded second compilation.
(b) circuit == specification: the same two methods against a spec's reference function / circuit;
    a counterexample is re-simulated on the circuit, the spec and (if given) the model.
(c) recurrent circuits: every reachable state of the product machine (circuit x reference FSM) is
    explored breadth first to a fixpoint, so PROVED covers all input lengths and a failure comes with
    a shortest counterexample.
A budget that runs out returns TIMEOUT (time) or UNKNOWN (conflicts, state limit), never PROVED.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, map_lit, transfer
from tritlens.logic.build import ge_const
from tritlens.logic.circuit import Circuit
from tritlens.logic.fsm import CircuitMachine, Machine, ModelMachine, SpecMachine, explore
from tritlens.logic.sat import miter, solve
from tritlens.logic.sim import CHUNK_WORDS, Simulator, exhaustive_words, n_words
from tritlens.logic.specs import Spec

PROVED, FAILED, TIMEOUT, UNKNOWN = "PROVED", "FAILED", "TIMEOUT", "UNKNOWN"
EXHAUSTIVE_LIMIT = 1 << 24
CHUNK = 1 << 20


@dataclass
class ProofResult:
    """Outcome of one proof; ``counterexample`` holds tokens (a sequence for recurrent proofs)."""

    status: str
    method: str
    seconds: float
    counterexample: list[int] | None = None
    expected: list[int] | None = None
    got: list[int] | None = None
    confirmed: bool | None = None  # the counterexample reproduces on re-simulation
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def proved(self) -> bool:
        return self.status == PROVED

    def summary(self) -> str:
        text = f"{self.status} by {self.method} in {self.seconds:.3f}s"
        if self.counterexample is not None:
            text += f"; counterexample tokens {self.counterexample}: expected {self.expected}, got {self.got}"
        return text + (f" ({self.detail})" if self.detail else "")


def _tokens_from_index(index: np.ndarray, valid: tuple[int, ...]) -> np.ndarray:
    """Mixed-radix decoding: index -> tokens, position 0 varying fastest."""
    out = np.zeros((len(index), len(valid)), dtype=np.int64)
    rest = index.copy()
    for p, size in enumerate(valid):
        out[:, p], rest = rest % size, rest // size
    return out


def exhaustive(
    circuit: Circuit, reference, valid: tuple[int, ...], low: tuple[int, ...] | None = None
) -> tuple[bool, np.ndarray | None]:
    """Compare circuit and ``reference(tokens) -> answers`` on every token tuple of the domain
    (position p ranges over ``low[p] .. low[p] + valid[p] - 1``; ``low`` defaults to zeros)."""
    total = math.prod(valid)
    offset = np.zeros(len(valid), dtype=np.int64) if low is None else np.asarray(low, dtype=np.int64)
    for lo in range(0, total, CHUNK):
        tokens = _tokens_from_index(np.arange(lo, min(total, lo + CHUNK), dtype=np.int64), valid) + offset
        bad = np.nonzero((circuit.evaluate(tokens) != reference(tokens)).any(axis=1))[0]
        if len(bad):
            return False, tokens[bad[0]]
    return True, None


def _domain_constraint(
    circuit: Circuit, valid: tuple[int, ...], low: tuple[int, ...] | None = None
) -> list[int]:
    """Literals over the circuit's inputs stating 'every token is inside the domain'."""
    g, w = circuit.aig, circuit.token_width
    out = []
    for p, size in enumerate(valid):
        start = 0 if low is None else low[p]
        bits = [2 * v for v in g.inputs[p * w : (p + 1) * w]]
        if start > 0:
            out.append(ge_const(g, bits, start))
        if start + size < 1 << w:
            out.append(ge_const(g, bits, start + size) ^ 1)
    return out


def _sat_compare(circuit: Circuit, other: AIG, valid: tuple[int, ...], conflicts, seconds, low=None):
    """SAT miter of the circuit against ``other`` (same pins) inside the token domain."""
    constraint = _domain_constraint(circuit, valid, low)
    m, diff = miter(circuit.aig, other, constraint)
    found = solve(m, diff, conflicts, seconds)
    if found is None or found is False:
        return found, None
    bits = np.array(found, dtype=np.int64).reshape(circuit.n_ctx, circuit.token_width)
    return True, (bits << np.arange(circuit.token_width)).sum(axis=1)


def _spec_aig(circuit: Circuit, spec: Spec) -> AIG:
    g = AIG()
    w = circuit.token_width
    tokens = [[g.add_input(f"t{p}_b{k}") for k in range(w)] for p in range(circuit.n_ctx)]
    for bits in spec.builder(g, tokens):
        for b in bits:
            g.add_output(b)
    return g


def _result(ok, method: str, start: float, cex=None, expected=None, got=None, confirmed=None, detail=""):
    status = UNKNOWN if ok is None else PROVED if ok else FAILED
    cex = None if cex is None else [int(x) for x in np.asarray(cex).ravel()]
    return ProofResult(status, method, time.perf_counter() - start, cex, expected, got, confirmed, detail)


def _model_answers(model, tokens: np.ndarray, positions: tuple[int, ...]) -> np.ndarray:
    with torch.no_grad():
        return model.predict(torch.as_tensor(tokens, dtype=torch.long), positions).cpu().numpy()


def prove_spec(
    circuit: Circuit,
    spec: Spec,
    model=None,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    conflicts: int | None = None,
    seconds: float | None = None,
) -> ProofResult:
    """(b) circuit == spec on the spec's domain; recurrent circuits get the all-length FSM proof."""
    spec.check_matches(circuit)
    if circuit.recurrent:
        return prove_fsm(circuit, SpecMachine(spec.fsm), model=model, seconds=seconds)
    start = time.perf_counter()
    if math.prod(spec.valid) <= exhaustive_limit:
        ok, cex = exhaustive(circuit, spec.reference, spec.valid, spec.low)
        method = f"exhaustive simulation of {math.prod(spec.valid)} inputs"
    else:
        ok, cex = _sat_compare(circuit, _spec_aig(circuit, spec), spec.valid, conflicts, seconds, spec.low)
        ok = None if ok is None else not ok
        method = "SAT miter (glucose4)"
        if ok is None and seconds is not None and time.perf_counter() - start >= seconds:
            return ProofResult(TIMEOUT, method, time.perf_counter() - start, detail="time budget exhausted")
    if ok is None or ok:
        return _result(ok, method, start, detail="" if ok else "conflict budget exhausted")
    tokens = np.asarray(cex)[None, :]
    expected = spec.reference(tokens)[0].tolist()
    got = circuit.evaluate(tokens)[0].tolist()
    confirmed = expected != got
    if model is not None:
        confirmed = confirmed and _model_answers(model, tokens, circuit.positions)[0].tolist() == got
    return _result(False, method, start, cex, expected, got, confirmed)


def prove_model(
    circuit: Circuit,
    model,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    conflicts: int | None = None,
    seconds: float | None = None,
    valid: tuple[int, ...] | None = None,
    low: tuple[int, ...] | None = None,
) -> ProofResult:
    """(a) circuit == model on every input (every input sequence, for a recurrent model).

    ``valid`` / ``low`` narrow a combinational proof to position p reading ``low[p] .. low[p] +
    valid[p] - 1`` (a care set, e.g. after don't-care simplification); default: every token.
    """
    if circuit.recurrent:
        return prove_fsm(circuit, ModelMachine(model), seconds=seconds)
    start = time.perf_counter()
    valid = valid or (circuit.d_vocab,) * circuit.n_ctx
    if math.prod(valid) <= exhaustive_limit:
        ok, cex = exhaustive(circuit, lambda t: _model_answers(model, t, circuit.positions), valid, low)
        method = f"exhaustive simulation of {math.prod(valid)} inputs"
    else:
        from tritlens.logic.compile import compile_model

        other = "totalizer" if circuit.method != "totalizer" else "adder"
        second = compile_model(model, circuit.positions, method=other)
        found, cex = _sat_compare(circuit, second.aig, valid, conflicts, seconds, low)
        ok = None if found is None else not found
        method = f"SAT miter against the {other} encoding (glucose4)"
        if ok is None and seconds is not None and time.perf_counter() - start >= seconds:
            return ProofResult(TIMEOUT, method, time.perf_counter() - start, detail="time budget exhausted")
    if ok is None or ok:
        return _result(ok, method, start)
    tokens = np.asarray(cex)[None, :]
    expected = _model_answers(model, tokens, circuit.positions)[0].tolist()
    got = circuit.evaluate(tokens)[0].tolist()
    return _result(False, method, start, cex, expected, got, expected != got)


def prove_fsm(
    circuit: Circuit, reference: Machine, model=None, max_states: int = 1 << 20, seconds: float | None = None
) -> ProofResult:
    """(c) circuit == reference machine for every input sequence, by product-machine reachability."""
    start = time.perf_counter()
    outcome = explore(CircuitMachine(circuit), reference, circuit.d_vocab, max_states, seconds)
    method = f"product-machine reachability vs {reference.name}"
    if outcome.status != FAILED:
        detail = f"{outcome.states} reachable product states, depth {outcome.depth}"
        return ProofResult(outcome.status, method, time.perf_counter() - start, detail=detail)
    trace = outcome.trace
    got = circuit.evaluate(np.array([trace]))[0].tolist()
    expected = reference.run(trace)
    confirmed = got != expected
    if model is not None:
        confirmed = (
            confirmed
            and _model_answers(model, np.array([trace]), tuple(range(len(trace))))[0].tolist() == got
        )
    return _result(
        False, method, start, trace, expected, got, confirmed, f"shortest failing length {len(trace)}"
    )


def cut_latches(aig: AIG) -> AIG:
    """Combinational view: latch outputs become extra inputs, next-state functions extra outputs."""
    g = AIG()
    leaves = {v: g.add_input(n) for v, n in zip(aig.inputs, aig.input_names, strict=True)}
    leaves |= {latch.var: g.add_input(f"{latch.name}") for latch in aig.latches}
    lit_of = transfer(g, aig, leaves)
    for lit, name in zip(aig.outputs, aig.output_names, strict=True):
        g.add_output(map_lit(lit_of, lit), name)
    for latch in aig.latches:
        g.add_output(map_lit(lit_of, latch.next), f"next({latch.name})")
    return g


def prove_equivalent(
    a: AIG,
    b: AIG,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    conflicts: int | None = None,
    seconds: float | None = None,
) -> ProofResult:
    """Combinational equivalence of two AIGs with matching pins (latches cut into pseudo pins).

    Exhaustive bit-parallel simulation up to ``exhaustive_limit`` input patterns, else a SAT miter.
    The counterexample is the list of input bits.
    """
    start = time.perf_counter()
    a, b = cut_latches(a), cut_latches(b)
    if (len(a.inputs), len(a.outputs)) != (len(b.inputs), len(b.outputs)):
        raise TritlensError(
            f"cannot compare circuits with {len(a.inputs)}/{len(a.outputs)} and "
            f"{len(b.inputs)}/{len(b.outputs)} inputs/outputs"
        )
    n = len(a.inputs)
    if (1 << n) <= exhaustive_limit:
        sim_a, sim_b = Simulator(a), Simulator(b)
        total = n_words(1 << n)
        for lo in range(0, total, CHUNK_WORDS):
            words = exhaustive_words(n, lo, min(CHUNK_WORDS, total - lo))
            oa, _ = sim_a.run(words)
            ob, _ = sim_b.run(words)
            diff = np.bitwise_or.reduce(oa ^ ob, axis=0) if len(oa) else np.zeros(1, dtype=np.uint64)
            if (1 << n) < 64:
                diff &= np.uint64((1 << (1 << n)) - 1)
            hit = np.nonzero(diff)[0]
            if len(hit):
                lane = (int(diff[hit[0]]) & -int(diff[hit[0]])).bit_length() - 1
                pattern = (lo + int(hit[0])) * 64 + lane
                cex = [(pattern >> i) & 1 for i in range(n)]
                return _result(False, f"exhaustive simulation of 2^{n} inputs", start, cex)
        return _result(True, f"exhaustive simulation of 2^{n} inputs", start)
    m, diff = miter(a, b)
    found = solve(m, diff, conflicts, seconds)
    method = "SAT miter (glucose4)"
    if found is None:
        timed_out = seconds is not None and time.perf_counter() - start >= seconds
        status = TIMEOUT if timed_out else UNKNOWN
        return ProofResult(status, method, time.perf_counter() - start, detail="budget exhausted")
    if found is False:
        return _result(True, method, start)
    return _result(False, method, start, [int(x) for x in found])
