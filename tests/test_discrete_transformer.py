"""The discrete transformer: contract, exact integers, hand-built models vs hand computations, tie-break."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from transformer_nets import sum_at_least_three, where_max

from tritlens.models import DiscreteTransformer, DiscreteTransformerConfig, is_discrete
from tritlens.models.hard_attention import hard_pattern

ALL3 = torch.tensor(list(itertools.product(range(3), repeat=3)))


def _model(**kw) -> DiscreteTransformer:
    cfg = DiscreteTransformerConfig(**{"d_model": 8, "d_head": 3, "d_mlp": 6, "seed": 1, **kw})
    return DiscreteTransformer(cfg, d_vocab=4, d_vocab_out=3, n_ctx=3)


def test_contract_names_and_exact_integers():
    m = _model(n_layers=2)
    assert is_discrete(m)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["embed.W_E"] == (4, 8) and shapes["pos_embed.W_pos"] == (3, 8)
    assert shapes["blocks.1.attn.W_Q"] == (2, 8, 3) and shapes["blocks.1.attn.W_O"] == (2, 3, 8)
    assert shapes["blocks.0.mlp.W_in"] == (8, 6) and shapes["unembed.W_U"] == (8, 3)
    tokens = torch.randint(0, 4, (20, 3), generator=torch.Generator().manual_seed(0))
    logits, cache = m.run_with_cache(tokens)
    for name in ("hook_embed", "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern",
                 "blocks.1.hook_resid_mid", "blocks.1.mlp.hook_post", "blocks.1.hook_resid_post"):
        assert name in cache
    for value in [logits, *cache.values()]:
        finite = value[torch.isfinite(value)]
        assert torch.equal(finite, finite.round())  # every activation is an exact integer
    pattern = cache["blocks.0.attn.hook_pattern"]
    assert torch.equal(pattern.sum(-1), torch.ones_like(pattern.sum(-1)))  # one key per head
    assert set(cache["blocks.0.mlp.hook_post"].unique().tolist()) <= {0.0, 1.0}
    weights = m.effective_weights()
    assert all(set(w.unique().tolist()) <= {-1.0, 0.0, 1.0} for k, w in weights.items() if "W_" in k)
    assert torch.equal(m.answer_logits(tokens, (1, 2)), m(tokens)[:, [1, 2]])  # the fast path is exact
    stats = m.trit_stats()
    assert "embed.W_E" in stats and "unembed.W_U" in stats and 0 < stats["zero_fraction"] < 1
    kinds = {layer.name: layer.kind for layer in m.integer_layers()}
    assert kinds["blocks.0.mlp.W_in"] == "threshold" and kinds["unembed.W_U"] == "scores"


def test_gradients_reach_every_latent_parameter():
    m = _model()
    tokens = torch.randint(0, 4, (64, 3), generator=torch.Generator().manual_seed(1))
    loss = m.answer_logits(tokens, (2,)).logsumexp(-1).mean() + m.extra_loss()
    loss.backward()
    no_grad = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert no_grad in ([], ["blocks.0.attn.b_K"])  # a key bias shifts every score alike: no gradient


@pytest.mark.parametrize("tie_break", ["first", "last"])
def test_hard_pattern_tie_break(tie_break):
    scores = torch.tensor([[[3.0, 5.0, 5.0, 1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 7.0, 7.0, 7.0]]])
    allowed = torch.tensor([[True, True, True, True], [True, True, True, True], [True, True, False, False]])
    chosen = hard_pattern(scores, allowed, tie_break).argmax(-1)[0].tolist()
    assert chosen == ([1, 0, 1] if tie_break == "first" else [2, 3, 1])


@pytest.mark.parametrize("tie_break", ["first", "last"])
def test_hand_built_attention_against_hand_computation(tie_break):
    m = where_max(tie_break)
    got = m.predict(ALL3).tolist()
    for tokens, answers in zip(ALL3.tolist(), got, strict=True):
        for i in range(3):
            prefix = tokens[: i + 1]
            best = max(prefix)
            hits = [j for j, t in enumerate(prefix) if t == best]
            assert answers[i] == (hits[0] if tie_break == "first" else hits[-1]), (tokens, i)


def test_hand_built_threshold_mlp_against_hand_computation():
    m = sum_at_least_three()
    tokens = torch.tensor(list(itertools.product(range(3), repeat=2)))
    got = m.predict(tokens, (1,))[:, 0].tolist()
    assert got == [int(a + b >= 3) for a, b in tokens.tolist()]
    _, cache = m.run_with_cache(tokens)
    assert cache["blocks.0.attn.hook_pattern"][:, 0, 1].tolist() == [[1.0, 0.0]] * 9  # ties go to position 0


def test_set_integer_rejects_bad_values():
    m = _model()
    with pytest.raises(ValueError, match="trits"):
        m.set_integer("embed.W_E", np.full((4, 8), 2))
    with pytest.raises(ValueError, match="shape"):
        m.set_integer("embed.W_E", np.zeros((3, 8)))
    with pytest.raises(KeyError, match="no parameter"):
        m.set_integer("embed.W_X", np.zeros((4, 8)))
