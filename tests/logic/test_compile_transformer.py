"""Compiling discrete transformers: integer arithmetic blocks, hand-built models, random models, refusals."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from transformer_nets import sum_at_least_three, where_max

from tritlens.errors import TritlensError
from tritlens.logic import compile_model, prove_model, refuse_unless_discrete
from tritlens.logic.aig import AIG
from tritlens.logic.linform import Lin, compress, mul, select, threshold
from tritlens.logic.sim import simulate_bits
from tritlens.models import (
    DiscreteTransformer,
    DiscreteTransformerConfig,
    HookedTransformer,
    QuantConfig,
    TransformerConfig,
)


def _eval(g: AIG, n_inputs: int) -> np.ndarray:
    patterns = np.array(list(itertools.product([0, 1], repeat=n_inputs)))[:, ::-1].astype(bool)
    outs, _ = simulate_bits(g, patterns)
    return outs


def _value(bits: np.ndarray, offset: int) -> np.ndarray:
    return (bits * (1 << np.arange(bits.shape[1]))).sum(1) + offset


def test_compress_mul_threshold_are_exact_on_every_assignment():
    g = AIG()
    x = [g.add_input() for _ in range(3)]
    y = [g.add_input() for _ in range(2)]
    a = compress(g, Lin.of_terms([(x[0], 3), (x[1], -5), (x[2] ^ 1, 2)], 1))  # 3x0 - 5x1 + 2~x2 + 1
    b = compress(g, Lin.of_bits(y, -2))  # y - 2
    prod = compress(g, mul(g, a, b))
    ge = threshold(g, Lin.of_num(prod, -3))  # [a * b >= 3]
    for lit in a.bits + prod.bits + [ge]:
        g.add_output(lit)
    outs = _eval(g, 5)
    idx = np.arange(32)
    xs = [(idx >> k) & 1 for k in range(3)]
    ys = (idx >> 3) & 3
    want_a = 3 * xs[0] - 5 * xs[1] + 2 * (1 - xs[2]) + 1
    na = len(a.bits)
    assert (_value(outs[:, :na], a.offset) == want_a).all()
    got_prod = _value(outs[:, na : na + len(prod.bits)], prod.offset)
    assert (got_prod == want_a * (ys - 2)).all()
    assert (outs[:, -1] == (want_a * (ys - 2) >= 3)).all()


@pytest.mark.parametrize("last_wins", [False, True])
def test_select_is_argmax_with_tie_break(last_wins):
    g = AIG()
    raw = [[g.add_input() for _ in range(2)] for _ in range(3)]
    scores = [compress(g, Lin.of_bits(bits, offset)) for bits, offset in zip(raw, (0, -1, 1), strict=True)]
    payload = [[1 if (k >> b) & 1 else 0 for b in range(2)] for k in range(3)]  # constants 0, 1, 2
    for lit in select(g, scores, payload, last_wins=last_wins):
        g.add_output(lit)
    outs = _eval(g, 6)
    for pattern, out in zip(itertools.product([0, 1], repeat=6), outs, strict=True):
        bits = pattern[::-1]
        values = [bits[0] + 2 * bits[1], bits[2] + 2 * bits[3] - 1, bits[4] + 2 * bits[5] + 1]
        best = [k for k, v in enumerate(values) if v == max(values)]
        assert out[0] + 2 * out[1] == (best[-1] if last_wins else best[0])


@pytest.mark.parametrize("tie_break", ["first", "last"])
def test_hand_built_attention_compiles_to_the_same_answers(tie_break):
    model = where_max(tie_break)
    circuit = compile_model(model, positions=(0, 1, 2))
    tokens = np.array(list(itertools.product(range(3), repeat=3)))
    assert (circuit.evaluate(tokens) == model.predict(torch.tensor(tokens)).numpy()).all()


def test_hand_built_threshold_mlp_compiles():
    circuit = compile_model(sum_at_least_three(), positions=(1,))
    tokens = np.array(list(itertools.product(range(3), repeat=2)))
    assert circuit.evaluate(tokens)[:, 0].tolist() == [int(a + b >= 3) for a, b in tokens]


@pytest.mark.parametrize("kw", [{}, {"tie_break": "last"}, {"causal": False}, {"n_layers": 2, "d_mlp": 6},
                                {"d_mlp": 0}, {"biases": False, "pos_embed": False}])
def test_random_transformer_equals_model_on_every_input(kw):
    cfg = DiscreteTransformerConfig(**{"d_model": 8, "d_head": 3, "d_mlp": 10, "seed": 3, "init_density": 0.4,
                                       **kw})
    model = DiscreteTransformer(cfg, 5, 4, 3)
    with torch.no_grad():  # nonzero integer biases everywhere
        gen = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("b_"):
                p.copy_(torch.randint(-2, 3, p.shape, generator=gen).float())
    circuit = compile_model(model, positions=(1, 2))
    assert prove_model(circuit, model).proved


def test_float_transformers_are_refused_with_the_module_named():
    cfg = TransformerConfig(n_layers=1, n_heads=1, d_model=4, d_mlp=4)
    every = {"embed": "ternary", "attn": "ternary", "mlp": "ternary", "unembed": "ternary"}
    cases = [(QuantConfig(), "module 'embed' (float embedding W_E)"),
             (QuantConfig(embed="ternary", unembed="ternary"), "module 'blocks.0.attn' (float attention"),
             (QuantConfig(**every), "module 'blocks.0.attn' (softmax attention")]
    for quant, message in cases:
        model = HookedTransformer(cfg, 5, 5, 3, quant)
        with pytest.raises(TritlensError, match=re.escape(message)) as err:
            refuse_unless_discrete(model)
        assert str(err.value).startswith("cannot compile HookedTransformer to gates:")
    refuse_unless_discrete(where_max("first"))  # the discrete one passes
