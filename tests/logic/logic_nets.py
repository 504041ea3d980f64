"""Hand-built discrete networks with known behaviour, and a helper for optional external tools."""

from __future__ import annotations

import os
import shutil

import pytest

from tritlens.models.discrete import DiscreteMLPConfig, DiscreteRNNConfig, TernaryMLP, TernaryRNN


def need_tool(name: str) -> str:
    """Path of an external tool; skip when absent, unless CI is set (then the test must run)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI")
        pytest.skip(f"{name} not installed")
    return path


def serial_adder(bug: bool = False, readout: str = "argmax", encoding: str = "binary") -> TernaryRNN:
    """Base-2 serial adder as a 3-neuron ternary RNN: n_k = [a + b + carry >= k], carry = n_2.

    The sum bit is n_1 - n_2 + n_3 (ternary readout). ``bug`` drops n_3 from the readout, which is
    wrong only when a = b = carry = 1, so the shortest counterexample is (1,1), (1,1).
    """
    cfg = DiscreteRNNConfig(hidden=3, encoding=encoding, readout=readout)
    m = TernaryRNN(cfg, d_vocab=4, d_vocab_out=2, n_ctx=5)
    if encoding == "binary":  # token = 2a + b: bits (b, a)
        m.cell_x.set_integer([[1, 1]] * 3, [-1, -2, -3])
    else:  # one-hot over tokens 0..3 whose digit sums are 0, 1, 1, 2
        m.cell_x.set_integer([[0, 1, 1, 1], [-1, 0, 0, 1], [-1, 0, 0, 1]], [-1, -1, -2])
    m.cell_h.set_integer([[0, 1, 0]] * 3)
    last = 0 if bug else 1
    if readout == "argmax":
        m.readout.set_integer([[0, 0, 0], [1, -1, last]], [0, 0])
    else:
        m.readout.set_integer([[1, -1, last]], [-1])
    return m


def mlp_compare2() -> TernaryMLP:
    """Hand-set MLP comparing two 1-bit tokens a, b (binary encoding), answering at position 1.

    Hidden: h0 = [a - b >= 1] (a > b), h1 = [b - a >= 1] (a < b). Scores at position 1:
    lt = h1, eq = 1 - h0 - h1, gt = h0; position 0's head is all zeros.
    """
    cfg = DiscreteMLPConfig(hidden=(2,), encoding="binary")
    m = TernaryMLP(cfg, d_vocab=2, d_vocab_out=3, n_ctx=2)
    m.hidden[0].set_integer([[1, -1], [-1, 1]], [-1, -1])
    head = [[0, 0]] * 3 + [[0, 1], [-1, -1], [1, 0]]  # position 1: lt = h1, eq = 1 - h0 - h1, gt = h0
    m.head.set_integer(head, [0, 0, 0, 0, 1, 0])
    return m


def count3(bug: bool = False) -> TernaryRNN:
    """Hand-set RNN with a two-layer cell counting 1 tokens mod 3 (one-hot tokens x0, x1).

    State (h1, h2) one-hot for counts 1 and 2, both 0 for count 0. First layer: u_a = [count 0 and x1],
    u_b = [count 1 and x0], u_c = [count 1 and x1], u_d = [count 2 and x0]; second layer h1 = u_a or u_b,
    h2 = u_c or u_d. ``bug`` drops u_d, so a 0 at count 2 resets the count: the shortest trace breaking
    "a 0 leaves the count alone" is 1, 1, 0.
    """
    cfg = DiscreteRNNConfig(hidden=2, cell_hidden=4, encoding="onehot")
    m = TernaryRNN(cfg, d_vocab=2, d_vocab_out=3, n_ctx=6)
    m.cell_x.set_integer([[0, 1], [1, 0], [0, 1], [1, 0]], [-1, -2, -2, -2])
    m.cell_h.set_integer([[-1, -1], [1, 0], [1, 0], [0, 1]])
    m.cell_out.set_integer([[1, 1, 0, 0], [0, 0, 1, 0 if bug else 1]], [-1, -1])
    m.readout.set_integer([[0, 0], [1, 0], [0, 1]], [0, 0, 0])
    return m
