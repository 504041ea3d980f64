import pytest
import torch

from tritlens.errors import ConfigError
from tritlens.tasks.modular import ModularTask


def _label(task: ModularTask, a: int, b: int) -> int:
    return int(task.labels()[a, b])


@pytest.mark.parametrize(("op", "fn"), [
    ("add", lambda a, b, p: (a + b) % p),
    ("sub", lambda a, b, p: (a - b) % p),
    ("mul", lambda a, b, p: (a * b) % p),
    ("div", lambda a, b, p: (a * pow(b, -1, p)) % p),
    ("a**2 + a*b", lambda a, b, p: (a * a + a * b) % p),
])
def test_labels(op, fn):
    task = ModularTask(p=13, op=op)
    for a in range(13):
        for b in range(1 if op == "div" else 0, 13):
            assert _label(task, a, b) == fn(a, b, 13)


def test_division_leaves_out_b_zero_and_needs_prime():
    task = ModularTask(p=11, op="div")
    assert len(task.all_pairs()) == 11 * 10
    assert (task.all_pairs().tokens[:, 1] != 0).all()
    with pytest.raises(ConfigError, match="prime"):
        ModularTask(p=12, op="div")


def test_callable_op_and_tokens():
    task = ModularTask(p=7, op=lambda a, b: 3 * a + b)
    data = task.all_pairs()
    assert data.tokens.shape == (49, 3)
    assert (data.tokens[:, 2] == 7).all()
    assert torch.equal(data.targets[:, 0], (3 * data.tokens[:, 0] + data.tokens[:, 1]) % 7)


def test_split_is_deterministic_and_disjoint():
    a_train, a_test = ModularTask(p=31, data_seed=1).split()
    b_train, _ = ModularTask(p=31, data_seed=1).split()
    c_train, _ = ModularTask(p=31, data_seed=2).split()
    assert torch.equal(a_train.tokens, b_train.tokens)
    assert not torch.equal(a_train.tokens, c_train.tokens)
    assert len(a_train) == int(0.3 * 31 * 31) and len(a_train) + len(a_test) == 31 * 31
    pairs = {tuple(t[:2].tolist()) for t in a_train.tokens}
    assert not pairs & {tuple(t[:2].tolist()) for t in a_test.tokens}


def test_split_is_the_transformerlens_demo_split():
    """Same pairs in the same order as the grokking demo: a permutation of the p^2 row-major pairs
    from a generator seeded with the data seed, cut at int(p * p * frac) (3,830, not 3,831)."""
    p, frac = 113, 0.3
    train, test = ModularTask(p=p, train_frac=frac, data_seed=598).split()
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(598))
    cutoff = int(p * p * frac)
    assert cutoff == 3830 and len(train) == cutoff and len(test) == p * p - cutoff
    pairs = torch.stack([torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)], dim=1)
    assert torch.equal(train.tokens[:, :2], pairs[perm[:cutoff]])
    assert torch.equal(test.tokens[:, :2], pairs[perm[cutoff:]])
    assert torch.equal(train.targets[:, 0], pairs[perm[:cutoff]].sum(1) % p)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"p": 1}, "task.p"), ({"train_frac": 0.0}, "train_frac"), ({"train_frac": 1.5}, "train_frac"),
    ({"op": "pow"}, "unknown name"), ({"op": "a + "}, "not a valid expression"),
    ({"op": "__import__('os')"}, "may use only"), ({"op": "a / 2.5"}, "may use only"),
])
def test_bad_task_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ModularTask(**kwargs)
