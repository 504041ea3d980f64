"""`analyze` on a discrete transformer (hard attention, threshold MLP): the per-layer measures read W_O from
the effective weights, since hard attention has no quantized ``weight()`` accessor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tritlens.api as api
from tritlens.build import build_model, build_task
from tritlens.interp import analyze_run, summary_rows
from tritlens.interp.attention import operand_reads
from tritlens.interp.grid import cyclic_view, raw_tokens
from tritlens.interp.layers import freq_share, layer_activations
from tritlens.models import DiscreteTransformer, DiscreteTransformerConfig


def test_analyze_reads_a_discrete_transformer() -> None:
    cfg = api.make_config("discrete-transformer-p11", ["model.d_mlp=32", "model.d_model=16"])
    model = build_model(cfg, build_task(cfg))
    analysis = analyze_run(api.Run(None, cfg, model, []), checkpoints=False)
    (layer,) = analysis["fourier"]["layers"]
    heads = layer["attn"]["heads"]
    assert [h["head"] for h in heads] == [0, 1]
    # each head's dominant-frequency share is that of z_h @ W_O[h] with the model's integer W_O
    view = cyclic_view(build_task(cfg))
    z = layer_activations(model, view, 0)["attn.hook_z"]
    w_o = torch.from_numpy(model.integer_weights()["blocks.0.attn.W_O"]).double()
    for h, head in enumerate(heads):
        share = freq_share(z[..., h, :].double() @ w_o[h])
        assert abs(head["fve"] - float(share.max())) < 1e-9
    assert analysis["trits"] is not None


def set_reader(p: int, second: str) -> DiscreteTransformer:
    """Hand-built two-head reader of (a, b, '='): head 0 attends to the larger operand (ties: the first);
    head 1 to the smaller one (``second="min"``, so together they read {a, b} as a set) or, like head 0,
    to the larger (``"max"``, so both miss the smaller operand). Tokens embed as thermometers (t ones in
    dims 0..p-2); '=' sets the p dims after them, which every key reads with -1, so '=' is never chosen."""
    m = DiscreteTransformer(DiscreteTransformerConfig(
        n_heads=2, d_model=2 * p - 1, d_head=1, d_mlp=0, pos_embed=False, tie_break="first"), p + 1, p, 3)
    w_e = np.zeros((p + 1, 2 * p - 1), dtype=int)
    for t in range(p):
        w_e[t, :t] = 1
    w_e[p, p - 1:] = 1
    m.set_integer("embed.W_E", w_e)
    w_k = np.zeros((2, 2 * p - 1, 1), dtype=int)
    w_k[:, p - 1:, 0] = -1
    w_k[0, : p - 1, 0] = 1
    w_k[1, : p - 1, 0] = -1 if second == "min" else 1
    m.set_integer("blocks.0.attn.W_Q", np.zeros((2, 2 * p - 1, 1), dtype=int))
    m.set_integer("blocks.0.attn.b_Q", [[1], [1]])
    m.set_integer("blocks.0.attn.W_K", w_k)
    return m


@pytest.mark.parametrize("p", [5, 7])
def test_operand_reads_counts_pairs_read_as_a_set(p: int) -> None:
    tokens = raw_tokens(p)
    first = p * (p - 1) // 2 + p  # pairs with a >= b: the larger operand (or the first of two equal) is a
    reads = operand_reads(set_reader(p, "min"), tokens)
    assert reads["pairs"] == p * p and reads["both_operands"] == p * p
    h0, h1 = (h["share"] for h in reads["heads"])
    assert h0 == pytest.approx([first / p**2, 1 - first / p**2, 0.0])
    assert h1 == pytest.approx([first / p**2, 1 - first / p**2, 0.0])  # a <= b: the same count
    # two heads that both take the larger operand read both only where a == b
    assert operand_reads(set_reader(p, "max"), tokens)["both_operands"] == p


def test_operand_reads_in_the_analysis_of_a_discrete_transformer() -> None:
    cfg = api.make_config("discrete-transformer-p11", ["model.d_mlp=32", "model.d_model=16"])
    model = build_model(cfg, build_task(cfg))
    analysis = analyze_run(api.Run(None, cfg, model, []), checkpoints=False)
    reads = analysis["attention"]
    assert reads["pairs"] == 121 and 0 <= reads["both_operands"] <= 121
    assert [(h["layer"], h["head"]) for h in reads["heads"]] == [(0, 0), (0, 1)]
    for h in reads["heads"]:  # hard attention: every share is a count of pairs over 121
        assert sum(h["share"]) == pytest.approx(1.0)
        assert all(abs(x * 121 - round(x * 121)) < 1e-9 for x in h["share"])
    assert any(label == "attention at '='" for label, _ in summary_rows(analysis))
