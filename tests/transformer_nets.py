"""Hand-built discrete transformers with known behaviour (shared by the model and compiler tests)."""

from __future__ import annotations

import numpy as np

from tritlens.models import DiscreteTransformer, DiscreteTransformerConfig


def where_max(tie_break: str) -> DiscreteTransformer:
    """Hand-built: at every position, the position (0..2) of the largest token so far.

    d_model 9 = token one-hot (dims 0-2) | position one-hot (3-5) | attention output (6-8). One head:
    q = 1 (bias), k_j = token_j - 1, so the head attends to the largest token (ties per ``tie_break``);
    its value is the attended position's one-hot, which the unembedding reads.
    """
    m = DiscreteTransformer(DiscreteTransformerConfig(
        n_heads=1, d_model=9, d_head=3, d_mlp=0, tie_break=tie_break, biases=True), 3, 3, 3)
    eye = np.eye(3, dtype=int)
    m.set_integer("embed.W_E", np.hstack([eye, 0 * eye, 0 * eye]))
    m.set_integer("pos_embed.W_pos", np.hstack([0 * eye, eye, 0 * eye]))
    w_k = np.zeros((1, 9, 3), dtype=int)
    w_k[0, :3, 0] = [-1, 0, 1]
    w_v = np.zeros((1, 9, 3), dtype=int)
    w_v[0, 3:6] = eye
    w_o = np.zeros((1, 3, 9), dtype=int)
    w_o[0, :, 6:] = eye
    m.set_integer("blocks.0.attn.W_Q", np.zeros((1, 9, 3), dtype=int))
    m.set_integer("blocks.0.attn.b_Q", [[1, 0, 0]])
    m.set_integer("blocks.0.attn.W_K", w_k)
    m.set_integer("blocks.0.attn.W_V", w_v)
    m.set_integer("blocks.0.attn.W_O", w_o)
    w_u = np.zeros((9, 3), dtype=int)
    w_u[6:] = eye
    m.set_integer("unembed.W_U", w_u)
    return m


def sum_at_least_three() -> DiscreteTransformer:
    """Hand-built: at position 1, class 1 when token_0 + token_1 >= 3, else class 0.

    Tokens embed as thermometers (0 -> 00, 1 -> 10, 2 -> 11) in dims 0-1; the head's scores are all 0, so
    it attends to position 0 (first of the tied keys) and copies its thermometer into dims 2-3; one MLP
    unit [x0 + x1 + x2 + x3 - 3 >= 0] writes dim 4, which is class 1's logit.
    """
    m = DiscreteTransformer(DiscreteTransformerConfig(
        n_heads=1, d_model=5, d_head=2, d_mlp=1, pos_embed=False, tie_break="first"), 3, 2, 2)
    m.set_integer("embed.W_E", [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]])
    zero = np.zeros((1, 5, 2), dtype=int)
    m.set_integer("blocks.0.attn.W_Q", zero)
    m.set_integer("blocks.0.attn.W_K", zero)
    w_v = zero.copy()
    w_v[0, 0, 0] = w_v[0, 1, 1] = 1
    m.set_integer("blocks.0.attn.W_V", w_v)
    w_o = np.zeros((1, 2, 5), dtype=int)
    w_o[0, 0, 2] = w_o[0, 1, 3] = 1
    m.set_integer("blocks.0.attn.W_O", w_o)
    m.set_integer("blocks.0.mlp.W_in", [[1], [1], [1], [1], [0]])
    m.set_integer("blocks.0.mlp.b_in", [-3])
    m.set_integer("blocks.0.mlp.W_out", [[0, 0, 0, 0, 1]])
    m.set_integer("unembed.W_U", [[0, 0]] * 4 + [[0, 1]])
    return m
