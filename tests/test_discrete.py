"""Discrete models (contract, gradients, pruning) and the bit tasks."""

from __future__ import annotations

import itertools

import pytest
import torch

from tritlens.errors import ConfigError
from tritlens.models.discrete import DiscreteMLPConfig, DiscreteRNNConfig, TernaryMLP, TernaryRNN
from tritlens.tasks.bits import CompareTask, ModAddTask, ParityTask, SerialAddTask


@pytest.mark.parametrize("encoding", ["onehot", "binary"])
def test_mlp_contract_and_exact_integer_logits(encoding):
    model = TernaryMLP(DiscreteMLPConfig(hidden=(8, 4), encoding=encoding, logit_scale=2.0), 5, 3, 2)
    tokens = torch.tensor(list(itertools.product(range(5), repeat=2)))
    logits = model.answer_logits(tokens, (1,))
    assert logits.shape == (25, 1, 3)
    assert torch.equal(logits / 2.0, torch.round(logits / 2.0))  # integer scores
    assert model.forward(tokens).shape == (25, 2, 3)
    layers = model.integer_layers()
    assert [layer.kind for layer in layers] == ["threshold", "threshold", "scores"]
    assert all(set(layer.weight.ravel().tolist()) <= {-1, 0, 1} for layer in layers)


def test_gradients_reach_latent_weights():
    model = TernaryRNN(DiscreteRNNConfig(hidden=4), 4, 2, 5)
    tokens = torch.randint(0, 4, (16, 5), generator=torch.Generator().manual_seed(0))
    loss = model.answer_logits(tokens, (0, 4)).logsumexp(-1).mean() + 0.1 * model.sparsity_penalty()
    loss.backward()
    for layer in model.ternary_layers:
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_seeded_init_is_deterministic_and_independent_of_global_state():
    torch.manual_seed(123)
    a = TernaryMLP(DiscreteMLPConfig(seed=7), 4, 2, 2)
    torch.manual_seed(999)
    b = TernaryMLP(DiscreteMLPConfig(seed=7), 4, 2, 2)
    assert all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_exact_pruning_preserves_every_answer():
    model = TernaryMLP(DiscreteMLPConfig(hidden=(16,), seed=1), 4, 3, 2)
    tokens = torch.tensor(list(itertools.product(range(4), repeat=2)))
    before, stats = model.predict(tokens, (1,)), model.trit_stats()
    zeroed = model.prune(tokens, (1,))
    after = model.trit_stats()
    assert zeroed > 0 and after["zero"] == stats["zero"] + zeroed
    assert torch.equal(model.predict(tokens, (1,)), before)
    assert 0 < after["zero_fraction"] <= 1


def test_magnitude_pruning_and_bad_arguments():
    model = TernaryRNN(DiscreteRNNConfig(hidden=6), 3, 3, 4)
    live = model.trit_stats()["total"] - model.trit_stats()["zero"]
    assert model.prune(magnitude=0.5) == 0  # a nonzero trit already has |w| / mean|w| >= 0.5
    assert model.prune(magnitude=float("inf")) == live and model.trit_stats()["zero_fraction"] == 1.0
    with pytest.raises(ConfigError):
        model.prune()
    with pytest.raises(ConfigError, match='model.readout=bit needs 2 output classes'):
        TernaryRNN(DiscreteRNNConfig(readout="bit"), 3, 3, 4)
    with pytest.raises(ConfigError, match="encoding"):
        TernaryMLP(DiscreteMLPConfig(encoding="gray"), 3, 3, 4)


def test_serial_add_task_labels_and_determinism():
    task = SerialAddTask(digits=3, base=2, train_frac=0.5, data_seed=4)
    train, test = task.split()
    assert len(train) + len(test) == 64 and task.n_ctx == 4 and task.answer_positions == (0, 1, 2, 3)
    tokens = train.tokens
    a = sum(((tokens[:, i] // 2) << i) for i in range(3))
    b = sum(((tokens[:, i] % 2) << i) for i in range(3))
    total = sum((train.targets[:, i] << i) for i in range(4))
    assert torch.equal(total, a + b) and (tokens[:, 3] == 0).all()
    assert torch.equal(task.split()[0].tokens, tokens)


def test_other_bit_tasks():
    train, test = ModAddTask(p=7).split()
    assert len(train) == 49 and torch.equal(
        train.targets[:, 0], (train.tokens[:, 0] + train.tokens[:, 1]) % 7
    )
    par = ParityTask(bits=4, prefix=True).split()[0]
    assert torch.equal(par.targets[:, -1], par.tokens.sum(1) % 2) and par.targets.shape == (16, 4)
    cmp = CompareTask(bits=2).split()[0]
    assert cmp.targets[(cmp.tokens[:, 0] == 1) & (cmp.tokens[:, 1] == 3)].item() == 0
    big = SerialAddTask(digits=10, n_samples=100).split()[0]
    assert len(big) == 100
    with pytest.raises(ConfigError):
        ParityTask(bits=3, train_frac=0.0)
