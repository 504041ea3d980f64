"""Check properties of a circuit for every input length; counterexamples are shortest traces.

Own engine: breadth-first exploration of the product (circuit latches x monitor latches) over the
real tokens 0..d_vocab-1, one bit-parallel simulation per BFS layer, to a fixpoint. ``bad`` seen at
layer d gives a trace of length d + 1 and no shorter one exists. A combinational circuit is checked
on every token tuple (or by SAT beyond 2^24 of them). Independent engine: berkeley-abc's ``pdr``
(IC3) on the binary AIGER of the guarded product. A counterexample is replayed on the circuit and,
when given, the torch model, and judged by the reference semantics in ``props.evaluate``.

Example::

    result = check_property(circuit, parse_properties(text), model=run.model, abc=True)
    print(result.summary())
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tritlens.errors import TritlensError
from tritlens.logic.abc import ToolTimeout, _abc
from tritlens.logic.aig import AIG
from tritlens.logic.aiger import write_aiger
from tritlens.logic.circuit import Circuit
from tritlens.logic.monitor import abc_product, product
from tritlens.logic.props import PropertySet, evaluate
from tritlens.logic.sim import Simulator, pack, unpack

PROVED, FAILED, UNKNOWN = "PROVED", "FAILED", "UNKNOWN"
ABC_TIMEOUT = 120.0  # seconds pdr gets before its verdict counts as UNKNOWN
EXHAUSTIVE_LIMIT = 1 << 24


@dataclass
class PropertyResult:
    """Verdict of one property file on one circuit, with the evidence."""

    status: str  # PROVED | FAILED | UNKNOWN (state limit or budget)
    method: str
    seconds: float
    states: int = 0
    depth: int = 0
    trace: list | None = None  # tokens per step (recurrent) or the token tuple (combinational)
    answers: list | None = None  # circuit answers along the trace
    violated: list[str] | None = None  # invariants false at the last step of the trace
    confirmed: bool | None = None  # the reference semantics see the violation on the circuit's answers
    model_confirmed: bool | None = None  # ... and on the model's answers, which equal the circuit's
    abc: str | None = None  # abc pdr verdict, when run
    abc_length: int | None = None  # pdr's trace length: at least ours (IC3 traces need not be shortest)
    abc_seconds: float | None = None

    @property
    def proved(self) -> bool:
        return self.status == PROVED

    @property
    def abc_agrees(self) -> bool | None:
        """Same verdict from pdr (and a trace no shorter than our shortest one); None if pdr did not run."""
        if self.abc is None:
            return None
        return self.abc == self.status and (self.trace is None or (self.abc_length or 0) >= len(self.trace))

    def summary(self) -> str:
        text = f"{self.status} by {self.method} in {self.seconds:.3f}s"
        text += f" ({self.states} states, depth {self.depth})"
        if self.trace is not None:
            text += (
                f"; shortest counterexample {self.trace} -> answers {self.answers}, violates {self.violated}"
            )
            if self.model_confirmed is not None:
                text += f"; replayed on the model: {'confirmed' if self.model_confirmed else 'NOT confirmed'}"
        if self.abc is not None:
            text += f"; abc pdr: {self.abc}" + (f" (length {self.abc_length})" if self.abc_length else "")
        return text


def _explore(g: AIG, n_tokens: int, width: int, max_states: int, seconds: float | None):
    """BFS over latch states; returns (status, states, depth, trace, bad flags at the trace end)."""
    start, sim, n_l = time.perf_counter(), Simulator(g), len(g.latches)
    root = tuple(bool(latch.init) for latch in g.latches)
    parent: dict[tuple, tuple | None] = {root: None}
    frontier, depth = [root], 0
    tok_bits = ((np.arange(n_tokens)[:, None] >> np.arange(width)) & 1).astype(bool)
    while frontier:
        n = len(frontier) * n_tokens
        states = np.repeat(np.array(frontier, dtype=bool).reshape(-1, n_l), n_tokens, axis=0)
        ins = np.tile(tok_bits, (len(frontier), 1))
        outs, nxt = sim.run(pack(ins), pack(states) if n_l else None)
        outs, nxt = unpack(outs, n), unpack(nxt, n)
        hit = np.nonzero(outs[:, 0])[0]
        if len(hit):
            k = int(hit[0])
            state, tok = frontier[k // n_tokens], k % n_tokens
            return FAILED, len(parent), depth + 1, _trace(parent, state) + [tok], outs[k, 1:]
        previous, frontier = frontier, []
        for k, row in enumerate(map(tuple, nxt.tolist())):
            if row not in parent:
                parent[row] = (previous[k // n_tokens], k % n_tokens)
                frontier.append(row)
        depth += 1
        if len(parent) > max_states or (seconds is not None and time.perf_counter() - start > seconds):
            return UNKNOWN, len(parent), depth, None, None
    return PROVED, len(parent), depth, None, None


def _trace(parent: dict, state: tuple) -> list[int]:
    out: list[int] = []
    link = parent[state]
    while link is not None:
        prev, tok = link
        out.append(tok)
        link = parent[prev]
    return out[::-1]


def _combinational(g: AIG, circuit: Circuit):
    """Every token tuple, in chunks; returns (status, count, tuple, bad flags)."""
    valid = (circuit.d_vocab,) * circuit.n_ctx
    total = math.prod(valid)
    if total > EXHAUSTIVE_LIMIT:
        raise TritlensError(
            f"{total} token tuples are too many to check exhaustively (limit {EXHAUSTIVE_LIMIT})"
        )
    sim = Simulator(g)
    for lo in range(0, total, 1 << 20):
        idx = np.arange(lo, min(total, lo + (1 << 20)))
        tokens = np.stack(
            [(idx // circuit.d_vocab**p) % circuit.d_vocab for p in range(circuit.n_ctx)], axis=1
        )
        outs, _ = sim.run(pack(circuit.token_bits(tokens)))
        outs = unpack(outs, len(idx))
        hit = np.nonzero(outs[:, 0])[0]
        if len(hit):
            return FAILED, total, [int(t) for t in tokens[hit[0]]], outs[hit[0], 1:]
    return PROVED, total, None, None


def _model_answers(model, circuit: Circuit, trace: list[int]) -> list:
    positions = tuple(range(len(trace))) if circuit.recurrent else circuit.positions
    with torch.no_grad():
        return model.predict(torch.tensor([trace], dtype=torch.long), positions)[0].tolist()


def check_property(
    circuit: Circuit,
    props: PropertySet,
    model=None,
    abc: bool = False,
    max_states: int = 1 << 20,
    seconds: float | None = None,
    abc_timeout: float = ABC_TIMEOUT,
) -> PropertyResult:
    """Prove ``props`` on every input sequence of ``circuit`` (every token tuple if combinational)."""
    start = time.perf_counter()
    g = product(circuit, props)
    if circuit.recurrent:
        status, states, depth, trace, flags = _explore(
            g, circuit.d_vocab, circuit.token_width, max_states, seconds
        )
        method = "product-machine reachability (circuit x monitor)"
    else:
        status, states, trace, flags = _combinational(g, circuit)
        depth, method = 1, f"exhaustive simulation of {states} token tuples"
    result = PropertyResult(status, method, time.perf_counter() - start, states, depth)
    if trace is not None:
        _replay(result, circuit, props, model, trace, flags)
    if abc:
        _run_pdr(result, circuit, props, abc_timeout)
    return result


def _replay(result: PropertyResult, circuit: Circuit, props: PropertySet, model, trace, flags) -> None:
    result.trace = trace
    texts = [text for text, _ in props.invariants]
    result.violated = [texts[i] for i in np.nonzero(flags)[0]]
    answers = circuit.evaluate(np.array([trace]))[0].tolist()
    result.answers = answers
    tokens = trace if circuit.recurrent else [trace]
    per_step = evaluate(props, tokens, answers if circuit.recurrent else [answers])
    result.confirmed = not all(per_step[-1])
    if model is not None:
        mine = _model_answers(model, circuit, trace)
        model_steps = evaluate(props, tokens, mine if circuit.recurrent else [mine])
        result.model_confirmed = mine == answers and not all(model_steps[-1])


def abc_pdr(aig: AIG, timeout: float = ABC_TIMEOUT) -> tuple[str, int | None, float]:
    """Run berkeley-abc ``pdr`` on a one-output AIG (output = bad): (verdict, trace length, seconds).
    UNKNOWN when pdr gives no verdict within ``timeout`` seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tritlens-pdr-") as tmp:
        write_aiger(aig, Path(tmp) / "m.aig")
        try:
            text = _abc("read m.aig; pdr", Path(tmp), timeout)
        except ToolTimeout:
            text = ""
    secs = time.perf_counter() - start
    if "Property proved" in text:
        return PROVED, None, secs
    found = re.search(r"asserted in frame (\d+)", text)
    if found:
        return FAILED, int(found.group(1)) + 1, secs
    return UNKNOWN, None, secs


def _run_pdr(result: PropertyResult, circuit: Circuit, props: PropertySet, timeout: float) -> None:
    verdict, length, secs = abc_pdr(abc_product(circuit, props), timeout)
    result.abc, result.abc_length, result.abc_seconds = verdict, length, secs


__all__ = ["PropertyResult", "abc_pdr", "check_property"]
