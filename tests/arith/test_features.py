"""Arithmetic features (operand digits, carries, borrows, running sums) and relabelling, against integers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tritlens.api as api
from tritlens.errors import TritlensError
from tritlens.interp.patching import make_pairs
from tritlens.interp.probes import probe_run
from tritlens.tasks.arith import AddConfig, ArithTask, MulConfig, SubConfig, digits_int


@pytest.mark.parametrize("lsb_first", [False, True])
def test_running_sums_give_the_product_digits(lsb_first):
    task = ArithTask("mul", MulConfig(digits=3, lsb_first=lsb_first))
    data = task.uniform(200, np.random.default_rng(0))
    f = task.features(data)
    a = digits_int(np.stack([f[f"a{i}"].values.long().numpy() for i in range(3)], 1))
    b = digits_int(np.stack([f[f"b{i}"].values.long().numpy() for i in range(3)], 1))
    sums = np.stack([f[f"running_sum{k}"].values.long().numpy() for k in range(6)], 1)
    assert digits_int(sums % 10) == [x * y for x, y in zip(a, b, strict=True)]
    aligned = f["running_sum"].values
    defined = [p for p in range(task.n_ctx) if bool(torch.isfinite(aligned[:, p]).all())]
    expected = sorted(task.layout.answer_pos(k) - 1 for k in range(6))
    assert defined == expected == list(task.answer_positions[1:])
    # c_hat_k = sum_{i+j=k} a_i b_j + floor(c_hat_{k-1} / 10), checked on one question by hand
    x, y = a[0], b[0]
    xd, yd = [x // 10**i % 10 for i in range(3)], [y // 10**i % 10 for i in range(3)]
    previous = 0
    for k in range(6):
        previous = sum(xd[i] * yd[k - i] for i in range(3) if 0 <= k - i < 3) + previous // 10
        assert sums[0, k] == previous


def test_carries_and_borrows():
    add = ArithTask("add", AddConfig(digits=3))
    f = add.features(add.from_ints([(199, 1), (555, 545), (100, 200)]))
    assert [f[f"carry{i}"].values.tolist() for i in range(3)] == [[1, 1, 0], [1, 1, 0], [0, 1, 0]]
    sub = ArithTask("sub", SubConfig(digits=3))
    g = sub.features(sub.from_ints([(100, 1), (555, 545)]))
    assert [g[f"borrow{i}"].values.tolist() for i in range(3)] == [[1, 0], [1, 0], [0, 0]]
    assert "carry0" not in g and "running_sum" not in g


def test_relabel_recomputes_answers():
    task = ArithTask("add", AddConfig(digits=3))
    data = task.from_ints([(123, 456)])
    tokens = data.tokens.clone()
    tokens[0, task.layout.a_pos(0)] = 9  # 129 + 456
    assert torch.equal(task.relabel(tokens).tokens, task.from_ints([(129, 456)]).tokens)
    tokens[0, task.layout.a_pos(1)] = 12
    with pytest.raises(TritlensError, match="digits 0-9"):
        task.relabel(tokens)
    pairs = make_pairs(task, task.uniform(50, np.random.default_rng(1)), [task.layout.a_pos(0)])
    assert not torch.equal(pairs.clean.tokens, pairs.corrupted.tokens)


def test_probe_and_aux_loss_on_a_multiplication_run():
    cfg = api.make_config("bai2025-aux", ["task.digits=2", "task.eval_size=256", "model.d_model=32",
                                          "model.d_head=8", "model.d_mlp=64", "train.steps=20",
                                          "train.warmup_steps=2", "train.eval_every=10"])
    run = api.train(config=cfg, progress=False)
    data = probe_run(run, "running_sum", "resid_post", n=200)
    assert data["metric"] == "mae" and data["cols"] == [f"pos {p}" for p in run.task.answer_positions[1:]]
    digit = probe_run(run, "a0", "resid_pre", positions=[run.task.layout.a_pos(0)], n=200)
    assert digit["test"][0, 0] > 0.9  # the embedding at a digit's position tells that digit
