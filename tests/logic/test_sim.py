"""The levelised bit-parallel simulator against a gate-by-gate evaluation, and its memory-bounded slices."""

import numpy as np
import pytest

from tritlens.logic.aig import AIG, AND
from tritlens.logic.sim import Simulator, pack, unpack


def random_aig(seed: int, n_in: int = 6, n_latch: int = 3, n_and: int = 400) -> AIG:
    """Random gates over inputs, latches and earlier gates, with random complements (a deep, ragged graph)."""
    rng = np.random.default_rng(seed)
    g = AIG()
    lits = [g.add_input(f"i{k}") for k in range(n_in)] + [g.add_latch(f"l{k}", k % 2) for k in range(n_latch)]
    for _ in range(n_and):
        a, b = rng.choice(len(lits), 2)
        lits.append(g.AND(lits[a] ^ int(rng.integers(2)), lits[b] ^ int(rng.integers(2))))
    for k in range(n_latch):
        g.set_next(lits[n_in + k], lits[-1 - k] ^ (k % 2))
    for lit in lits[-8:]:
        g.add_output(lit ^ 1, "")
    return g


def gate_by_gate(g: AIG, inputs: np.ndarray, latches: np.ndarray) -> np.ndarray:
    """bool [N, num_vars]: every variable evaluated one pattern and one gate at a time."""
    vals = np.zeros((len(inputs), g.num_vars), dtype=bool)
    vals[:, g.inputs] = inputs
    vals[:, [latch.var for latch in g.latches]] = latches
    for v in range(g.num_vars):
        if g.kind[v] == AND:
            a, b = g.fanin0[v], g.fanin1[v]
            vals[:, v] = (vals[:, a >> 1] ^ bool(a & 1)) & (vals[:, b >> 1] ^ bool(b & 1))
    return vals


@pytest.mark.parametrize("seed", range(4))
def test_values_match_gate_by_gate(seed):
    g = random_aig(seed)
    rng = np.random.default_rng(100 + seed)
    inputs = rng.integers(0, 2, (333, len(g.inputs))).astype(bool)
    latches = rng.integers(0, 2, (333, len(g.latches))).astype(bool)
    got = unpack(Simulator(g).values(pack(inputs), pack(latches)), 333)
    assert np.array_equal(got, gate_by_gate(g, inputs, latches))


@pytest.mark.parametrize("max_bytes", [1, 8 * 1000, 8 * 5000])
def test_slices_do_not_change_results(max_bytes):
    """Outputs and next states are the same whether all words are simulated at once or a word at a time."""
    g = random_aig(7, n_and=1000)
    rng = np.random.default_rng(3)
    words = rng.integers(0, 1 << 63, (len(g.inputs), 37), dtype=np.uint64)
    state = rng.integers(0, 1 << 63, (len(g.latches), 37), dtype=np.uint64)
    small = Simulator(g, max_bytes=max_bytes)
    assert small.chunk_words() == max(1, max_bytes // (8 * g.num_vars)) < 37
    whole = Simulator(g, max_bytes=1 << 30)
    assert whole.chunk_words() >= 37
    for a, b in zip(small.run(words, state), whole.run(words, state), strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(small.values(words, state), whole.values(words, state))


def test_circuit_without_gates():
    """Outputs wired straight to inputs and constants: no level to simulate."""
    g = AIG()
    x = g.add_input("x")
    g.add_output(x ^ 1, "not_x")
    g.add_output(1, "one")
    outs, _ = Simulator(g).run(pack(np.array([[0], [1]], dtype=bool)))
    assert unpack(outs, 2).tolist() == [[True, True], [False, True]]
