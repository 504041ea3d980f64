"""Generic tag tools on hand-made data: filters and hypotheses, PCA separation, attention tags."""

from __future__ import annotations

import pytest
import torch

from tritlens.interp.attention import attention_tags
from tritlens.interp.filters import FilterError, Tagged, check_hypothesis, parse_hypothesis, select
from tritlens.interp.nodes import Node
from tritlens.interp.pca import pca_tag
from tritlens.models import HookedTransformer, TransformerConfig

NAMES = ["D1", "D0", "OP", "D'1", "D'0", "EQ", "A2", "A1", "A0"]
position_of = lambda name: NAMES.index(name) if name in NAMES else None  # noqa: E731

NODES = [
    Tagged(Node(5, 0, 0), fail=12.0, impact=["A1"], attention={"D1": 0.5, "D'1": 0.45},
           algo={"A1.SA": "strong"}, classes=["S0", "S1"]),
    Tagged(Node(5, 0, 1), fail=3.0, impact=["A2", "A1"], attention={"D0": 0.6, "D'0": 0.4},
           algo={"A0.SC": "weak"}, classes=["S1"], pca=["ST.D0"]),
    Tagged(Node(6, 1, None), fail=40.0, impact=["A1"], classes=["S0", "S1", "S2"]),
    Tagged(Node(7, 1, 2), fail=0.5, impact=["A0"], attention={"D0": 0.9}, algo={"A0.SA": "strong"}),
]


@pytest.mark.parametrize(("text", "keys"), [
    ("head", ["P5.L0H0", "P5.L0H1", "P7.L1H2"]),
    ("mlp", ["P6.L1MLP"]),
    ("head = 1", ["P5.L0H1"]),
    ("layer >= 1 and not mlp", ["P7.L1H2"]),
    ("position < A2", ["P5.L0H0", "P5.L0H1"]),
    ("position <= P6", ["P5.L0H0", "P5.L0H1", "P6.L1MLP"]),
    ("impact:A2 or fail > 30", ["P5.L0H1", "P6.L1MLP"]),
    ("attends:D'1 and attends:D1", ["P5.L0H0"]),
    ("algo:*.SA", ["P5.L0H0", "P7.L1H2"]),
    ("algo:A0.SC and not strong:A0.SC", ["P5.L0H1"]),
    ("strong:A?.S?", ["P5.L0H0", "P7.L1H2"]),
    ("class:S2", ["P6.L1MLP"]),
    ("pca or pca:ST.D1", ["P5.L0H1"]),
    ("(head or mlp) and not (fail < 1 or impact:A2)", ["P5.L0H0", "P6.L1MLP"]),
    ("HEAD AND Layer = 0 AND NOT Impact:A2", ["P5.L0H0"]),
])
def test_filters_select_the_right_nodes(text, keys):
    assert [t.node.key() for t in select(NODES, text, position_of)] == keys


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty filter"), ("head and", "ends too early"), ("(head mlp", "missing"),
    ("head or or mlp", "unknown"),
    ("layer 1", "comparison"), ("layer = x", "needs a number"), ("position < A9", "unknown position"),
    ("colour:red", "unknown tag kind"), ("algo:", "cannot read"), ("head $", "cannot read"),
    ("wizard", "unknown filter word"), ("head mlp", "unexpected"),
])
def test_bad_filters_are_one_line_errors(text, match):
    with pytest.raises(FilterError, match=match):
        select(NODES, text, position_of)


def test_hypothesis_clauses_and_quantifiers():
    text = """# the clauses
    some algo:A1.SA and position < A1
    no mlp and algo:*
    all fail > 0.1
    some algo:A2.SA      # fails: nobody computes A2
    """
    check = check_hypothesis(NODES, parse_hypothesis(text, position_of))
    assert [c["holds"] for c in check["clauses"]] == [True, True, True, False]
    assert check["score"] == "3 of 4 clauses hold" and check["clauses"][0]["matches"] == ["P5.L0H0"]
    assert check["with_purpose"] == 3 and check["purpose_share"] == 0.75
    with pytest.raises(FilterError, match="line 2: unknown position"):
        parse_hypothesis("some head\nsome position < Z3", position_of)
    with pytest.raises(FilterError, match="no clauses"):
        parse_hypothesis("# nothing\n\n", position_of)


def test_pca_separation():
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(50)
    centres = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    tight = centres[labels] + 0.05 * torch.randn(150, 3, generator=gen)
    assert pca_tag(tight, labels).separates and pca_tag(tight, labels).separation > 0.99
    merged = centres[labels.clamp(max=1)] + 0.05 * torch.randn(150, 3, generator=gen)  # 1 and 2 coincide
    assert pca_tag(merged, labels).separation < 0.05
    noise = torch.randn(150, 3, generator=gen)
    assert pca_tag(noise, labels).separation < 0.2
    assert sum(pca_tag(tight, labels).explained[:2]) > 0.99


def test_attention_tags_are_the_mean_pattern_above_one_percent():
    cfg = TransformerConfig(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=0)
    model = HookedTransformer(cfg, 7, 7, 6, seed=4)
    tokens = torch.randint(7, (40, 6), generator=torch.Generator().manual_seed(5))
    _, cache = model.run_with_cache(tokens)
    tags = attention_tags(model, tokens, [Node(5, 1, 1), Node(3, 0, 0), Node(3, 0, None)])
    assert set(tags) == {Node(5, 1, 1), Node(3, 0, 0)}  # MLP nodes have no attention
    mean = cache["pattern", 1][:, 1, 5].mean(0)
    expected = {k: float(mean[k]) for k in range(6) if mean[k] >= 0.01}
    assert tags[Node(5, 1, 1)].keys() == expected.keys()
    assert all(abs(tags[Node(5, 1, 1)][k] - v) < 1e-6 for k, v in expected.items())
    assert list(tags[Node(5, 1, 1)]) == sorted(expected, key=expected.get, reverse=True)
    assert set(tags[Node(3, 0, 0)]) <= {0, 1, 2, 3}  # causal: nothing after the query


def test_node_keys_round_trip():
    for node in (Node(14, 0, 2), Node(3, 1, None)):
        assert Node.from_key(node.key()) == node


def test_useful_nodes_shortcuts_equal_full_ablation_runs():
    """Starting from the cached residual stream at the node's layer, and skipping last-layer nodes
    off the answer positions, gives exactly what full ablated forward passes give."""
    from tritlens.interp.nodes import ablation_effect, useful_nodes

    cfg = TransformerConfig(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=32, norm="layer")
    model = HookedTransformer(cfg, 7, 7, 8, seed=9).eval()
    tokens = torch.randint(7, (60, 8), generator=torch.Generator().manual_seed(10))
    answers = (5, 6, 7)
    targets = model(tokens)[:, list(answers)].argmax(-1)  # the model is "right" on its own answers
    groups = [str(int(t[0]) % 3) for t in tokens]
    fast = useful_nodes(model, tokens, targets, answers, list(range(8)), tokens, groups)
    assert any(e.useful for e in fast.values()) and not all(e.useful for e in fast.values())
    for node, effect in fast.items():
        full = ablation_effect(model, tokens, targets, answers, [node.site()], tokens, "mean", groups)
        got, want = (effect.failures, effect.impact, effect.groups), (full.failures, full.impact, full.groups)
        assert got == want, node
