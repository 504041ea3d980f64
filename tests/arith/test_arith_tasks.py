"""n-digit arithmetic tasks: token layouts, exact answers, complexity classes, enrichment, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tritlens.errors import ConfigError
from tritlens.tasks.arith import (
    CLASS_NAMES,
    AddConfig,
    ArithTask,
    MixedConfig,
    MulConfig,
    SubConfig,
    to_text,
)


def _task(op: str, digits: int = 5, **kw) -> ArithTask:
    kind = {"add": AddConfig, "sub": SubConfig, "mixed": MixedConfig, "mul": MulConfig}[op]
    return ArithTask(op, kind(digits=digits, **kw))


def test_layout_of_the_paper_examples():
    add = _task("add", 6)
    assert to_text(add.from_ints([(133357, 182243)]).tokens) == ["133357+182243=+0315600"]
    sub = _task("sub", 6)
    assert to_text(sub.from_ints([(123450, 345670), (345670, 123450)]).tokens) == [
        "123450-345670=-0222220", "345670-123450=+0222220"]
    assert add.n_ctx == 3 * 6 + 4 and len(add.answer_positions) == 6 + 2
    assert add.answer_positions == tuple(range(13, 21))  # the positions of '=' .. A1 predict sign .. A0
    data = add.from_ints([(133357, 182243)])
    assert data.targets.tolist() == [[10, 0, 3, 1, 5, 6, 0, 0]]
    names = add.layout.position_names()
    assert names[:2] == ["D5", "D4"] and names[6:8] == ["OP", "D'5"] and names[13:16] == ["EQ", "A7", "A6"]
    assert add.layout.position_of("A0") == 21 and add.layout.position_of("P3") == 3
    assert add.layout.answer_names() == ["A7", "A6", "A5", "A4", "A3", "A2", "A1", "A0"]


def test_multiplication_and_lsb_first():
    mul = _task("mul", 4, lsb_first=True)
    assert to_text(mul.from_ints([(1234, 5678)]).tokens) == ["4321*8765=+25660070"]  # 07006652 reversed
    assert mul.n_ctx == 4 * 4 + 3 and len(mul.answer_positions) == 9
    msb = _task("mul", 3)
    assert to_text(msb.from_ints([(999, 999)]).tokens) == ["999*999=+998001"]
    lsb_add = _task("add", 3, lsb_first=True)
    assert to_text(lsb_add.from_ints([(123, 989)]).tokens) == ["321+989=+2111"]  # 1112 written 2,1,1,1


def test_answers_are_exact_on_random_questions():
    rng = np.random.default_rng(0)
    for op, fn in (("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y)):
        task = _task(op, 7)
        pairs = [(int(x), int(y)) for x, y in rng.integers(0, 10**7, (200, 2))]
        for text, (x, y) in zip(to_text(task.from_ints(pairs, op).tokens), pairs, strict=True):
            answer = text[text.index("=") + 1:]
            assert int(answer) == fn(x, y), text


@pytest.mark.parametrize(("op", "pair", "expected"), [
    ("add", (11111, 11111), "S0"), ("add", (15, 15), "S1"), ("add", (95, 5), "S2"), ("add", (995, 5), "S3"),
    ("add", (9995, 5), "S4"), ("add", (99995, 5), "S5"), ("add", (19995, 80005), "S5"),
    ("add", (55, 45), "S2"), ("add", (505, 495), "S3"),
    ("sub", (55555, 11111), "M0"), ("sub", (5, 5), "M0"), ("sub", (50, 5), "M1"), ("sub", (500, 5), "M2"),
    ("sub", (5000, 5), "M3"), ("sub", (50000, 5), "M4"),
    ("sub", (5, 50), "N1"), ("sub", (0, 1), "N1"), ("sub", (1005, 1050), "N3"), ("sub", (105, 150), "N2"),
    ("sub", (10005, 10050), "N4"),
])
def test_complexity_classes_of_hand_made_questions(op, pair, expected):
    task = _task(op)
    assert CLASS_NAMES[task.classes(task.from_ints([pair]).tokens)[0]] == expected


def test_fresh_batches_are_deterministic_per_step():
    task = _task("mixed", 5)
    a, b = task.sample(7, 64), _task("mixed", 5).sample(7, 64)
    assert torch.equal(a.tokens, b.tokens)
    assert not torch.equal(task.sample(8, 64).tokens, a.tokens)
    other_seed = ArithTask("mixed", MixedConfig(digits=5, data_seed=1)).sample(7, 64)
    assert not torch.equal(other_seed.tokens, a.tokens)
    train, test = task.split()
    assert len(train) == len(test) == 4096 and torch.equal(task.split()[1].tokens, test.tokens)


def _share_sum9(task: ArithTask, tokens: torch.Tensor) -> float:
    a, b, _ = task.layout.operands(tokens)
    return float(((a + b) == 9).mean())


def test_enrichment_statistics():
    task = _task("add", 5, enrich=0.4, enrich_frac=0.4)
    rng = np.random.default_rng(1)
    plain = task.draw(rng, 20_000, "add", enriched=False)
    rich = task.draw(rng, 20_000, "add", enriched=True)
    assert abs(_share_sum9(task, plain.tokens) - 0.1) < 0.01
    assert abs(_share_sum9(task, rich.tokens) - (0.4 + 0.6 * 0.1)) < 0.01  # 40% rewritten, 10% by chance
    shares = [_share_sum9(task, task.sample(step, 256).tokens) for step in range(400)]
    enriched = np.mean([s > 0.3 for s in shares])
    assert abs(enriched - 0.4) < 0.08  # 40% of batches are enriched
    sub = _task("sub", 5)
    uniform = sub.draw(rng, 20_000, "sub", enriched=False)
    more_negative = sub.draw(rng, 20_000, "sub", enriched=True)
    neg = lambda s: float((s.targets[:, 0] == 11).float().mean())  # noqa: E731
    assert abs(neg(uniform) - 0.5) < 0.02 and neg(more_negative) > 0.56  # the top digit of D' grows
    a, b, _ = sub.layout.operands(more_negative.tokens)
    assert 0.005 < float((a == b).all(axis=1).mean()) < 0.02  # 1% of questions have D' = D


def test_mixed_batches_hold_one_operation():
    task = _task("mixed", 4, sub_frac=0.66)
    ops = [set(task.sample(step, 32).tokens[:, 4].tolist()) for step in range(300)]
    assert all(len(o) == 1 for o in ops)
    assert abs(np.mean([o == {11} for o in ops]) - 0.66) < 0.08


def test_exhaustive_enumeration():
    task = _task("add", 2)
    chunks = list(task.exhaustive(chunk=3000))
    tokens = torch.cat([c.tokens for c in chunks])
    assert len(tokens) == 10_000 and len({tuple(t) for t in tokens[:, :5].tolist()}) == 10_000
    assert len(torch.cat([c.tokens for c in _task("mixed", 2).exhaustive()])) == 20_000
    with pytest.raises(ConfigError, match="exhaustive grade"):
        _task("add", 4).exhaustive()


@pytest.mark.parametrize(("kw", "match"), [
    ({"digits": 0}, "task.digits"), ({"digits": 31}, "task.digits"), ({"enrich": 1.5}, "task.enrich"),
    ({"eval_size": 0}, "task.eval_size"),
])
def test_bad_settings(kw, match):
    with pytest.raises(ConfigError, match=match):
        _task("add", **kw)


def test_bad_operation_and_operands():
    with pytest.raises(ConfigError, match="unknown arithmetic operation"):
        ArithTask("div", AddConfig())
    with pytest.raises(ConfigError, match="operands must lie"):
        _task("add", 3).from_ints([(1000, 1)])
    with pytest.raises(ConfigError, match="does not ask"):
        _task("add", 3).from_ints([(1, 1)], op="sub")
