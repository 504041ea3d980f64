"""Bracket and count tasks, their state-machine specs, and base-10 serial addition as a spec."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tritlens.errors import ConfigError
from tritlens.logic import make_spec
from tritlens.logic.aig import AIG
from tritlens.logic.sim import simulate_bits
from tritlens.tasks import TASKS
from tritlens.tasks.sequences import BracketTask, CountTask


def test_bracket_labels_by_hand():
    task = BracketTask(length=6, max_depth=2)
    tokens = torch.tensor([[0, 0, 1, 1, 1, 0],   # ( ( ) ) ) (: depth 1 2 1 0, then ')' at depth 0 breaks
                           [0, 0, 0, 1, 1, 1],   # '(' at depth 2 breaks
                           [0, 1, 0, 1, 0, 0]])
    assert task.labels(tokens).tolist() == [[1, 2, 1, 0, 3, 3], [1, 2, 3, 3, 3, 3], [1, 0, 1, 0, 1, 2]]
    train, test = task.split()
    assert len(train) == 64 and torch.equal(train.tokens, test.tokens)
    assert TASKS["brackets"].task is BracketTask and task.d_vocab_out == 4


def test_count_labels_and_shape():
    task = CountTask(length=5, k=3)
    assert task.labels(torch.tensor([[1, 1, 0, 1, 1]])).tolist() == [[1, 2, 2, 0, 1]]
    shape = CountTask.shape(TASKS["count"].config(length=20, k=4))
    assert (shape.n_examples, shape.n_ctx, shape.d_vocab_out) == (20000, 20, 4)
    with pytest.raises(ConfigError, match="task.k must lie in"):
        CountTask(k=1)


@pytest.mark.parametrize(("task", "spec"), [
    (BracketTask(length=7, max_depth=2), make_spec("brackets", 7, max_depth=2)),
    (CountTask(length=7, k=3), make_spec("count", 7, k=3)),
])
def test_specs_agree_with_tasks_and_their_gate_form(task, spec):
    tokens = np.array(list(itertools.product(range(2), repeat=7)))
    want = task.labels(torch.tensor(tokens)).numpy()
    assert (spec.reference(tokens) == want).all()
    g = AIG()
    pins = [[g.add_input()] for _ in range(7)]
    for bits in spec.builder(g, pins):
        for b in bits:
            g.add_output(b)
    outs, _ = simulate_bits(g, tokens.astype(bool))
    width = len(outs[0]) // 7
    got = (outs.reshape(len(tokens), 7, width) * (1 << np.arange(width))).sum(-1)
    assert (got == want).all()
    state, answers = spec.fsm.init, []
    for tok in tokens[-1].tolist():
        answer, state = spec.fsm.step(state, tok)
        answers.append(answer)
    assert answers == want[-1].tolist()


def test_base10_serial_addition_is_the_add_spec():
    spec = make_spec("add", 3, base=10)
    tokens = np.array([[9 * 10 + 9, 9 * 10 + 9, 1 * 10 + 0, 0]])  # 199 + 099 = 298, LSB first
    assert spec.reference(tokens).tolist() == [[8, 9, 2, 0]]
    assert spec.fsm.d_vocab == 100 and spec.fsm.d_vocab_out == 10
