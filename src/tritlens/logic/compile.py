"""Compile fully discrete networks (TernaryMLP, TernaryRNN, DiscreteTransformer) to And-Inverter Graphs.

Each threshold neuron becomes a cardinality circuit (``build.ternary_threshold``), each ternary
score head an adder tree plus a constant offset (so all scores are non-negative and compare as
unsigned numbers), and the argmax a comparator tournament with lowest-index tie-break. Anything
that is not fully discrete is refused with the offending module named. The discrete transformer has
its own compiler (``compile_transformer``: adder trees, comparator trees and multiplexers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, negate
from tritlens.logic.build import add_const, argmax, one_hot, popcount, ternary_threshold
from tritlens.logic.circuit import Circuit, bits_for
from tritlens.logic.compile_transformer import compile_transformer
from tritlens.models.discrete import TernaryMLP, TernaryRNN
from tritlens.models.discrete_layers import IntLayer, TernaryLinear
from tritlens.models.discrete_transformer import DiscreteTransformer
from tritlens.models.protocol import is_discrete

COMPILABLE = (TernaryMLP, TernaryRNN, DiscreteTransformer)
_FLOAT_HINTS = (nn.Softmax, nn.LayerNorm, nn.Embedding, nn.Linear, nn.MultiheadAttention, nn.GELU, nn.ReLU)
_TRANSFORMER_PARTS = (("embed", "embed", "float embedding W_E"),
                      ("attn", "blocks.0.attn", "float attention weights"),
                      ("mlp", "blocks.0.mlp", "float MLP weights"),
                      ("unembed", "unembed", "float unembedding W_U"))


def _transformer_offender(model: nn.Module) -> str | None:
    """The first part of a (quantized) HookedTransformer that is not discrete, by its module name."""
    quant = getattr(model, "quant", None)
    if quant is None:
        return None
    for group, module, why in _TRANSFORMER_PARTS:
        if getattr(quant, group, "none") == "none" and _has_module(model, module):
            return f"module '{module}' ({why})"
    for name, module in model.named_modules():
        if type(module).__name__ == "Norm" and getattr(module, "kind", "none") != "none":
            return f"module '{name}' ({module.kind} norm: float division)"
    if getattr(quant, "binary_scale", False) and "binary" in {quant.attn, quant.mlp}:
        return "module 'blocks.0.attn' (binary weights with a float scale)"
    return "module 'blocks.0.attn' (softmax attention over float scores) and 'blocks.0.mlp' (ReLU units)"


def _has_module(model: nn.Module, name: str) -> bool:
    return name in dict(model.named_modules())


def _offender(model: nn.Module) -> str:
    """Name the first sub-module that keeps the model from being fully discrete."""
    found = _transformer_offender(model)
    if found is not None:
        return found
    for name, module in model.named_modules():
        if isinstance(module, TernaryLinear):
            continue
        if isinstance(module, _FLOAT_HINTS):
            return f"module '{name or '<root>'}' ({type(module).__name__})"
        own = [p for p, _ in module.named_parameters(recurse=False)]
        if own:
            return f"module '{name or '<root>'}' ({type(module).__name__}) with float parameter '{own[0]}'"
    return f"module '<root>' ({type(model).__name__})"


def refuse_unless_discrete(model: object) -> None:
    """Raise TritlensError naming the offending layer unless ``model`` compiles to gates."""
    if is_discrete(model) and isinstance(model, COMPILABLE):
        return
    if not isinstance(model, nn.Module):
        raise TritlensError(f"cannot compile {type(model).__name__}: not a torch module")
    raise TritlensError(
        f"cannot compile {type(model).__name__} to gates: {_offender(model)} is not fully discrete "
        "(TernaryMLP, TernaryRNN and DiscreteTransformer are)"
    )


def encode_inputs(g: AIG, bits: Sequence[int], d_vocab: int, encoding: str) -> list[int]:
    """Model features of one token from its binary code: the bits, or a one-hot decoder."""
    if encoding == "binary":
        return list(bits)
    return one_hot(g, bits, d_vocab)


def threshold_layer(g: AIG, x: Sequence[int], layer: IntLayer, method: str) -> list[int]:
    """One hidden layer of step(W x + b) neurons."""
    return [
        ternary_threshold(g, x, w.tolist(), int(b), method)
        for w, b in zip(layer.weight, layer.bias, strict=True)
    ]


def score_bits(g: AIG, x: Sequence[int], weight: np.ndarray, bias: np.ndarray) -> list[list[int]]:
    """Unsigned binary scores u_j = s_j + C with one common offset C, so argmax(u) == argmax(s).

    s_j = count(x: w=+1) + count(~x: w=-1) - #neg_j + b_j; C = max_j(#neg_j - b_j) makes every
    constant term C - #neg_j + b_j non-negative.
    """
    n_neg = (weight == -1).sum(axis=1)
    offset = int(np.max(n_neg - bias))
    out = []
    for w, b, k in zip(weight, bias, n_neg, strict=True):
        lits = [xi if wi == 1 else negate(xi) for xi, wi in zip(x, w.tolist(), strict=True) if wi != 0]
        out.append(add_const(g, popcount(g, lits), int(offset - k + b)))
    return out


def _answer_bits(g: AIG, x: Sequence[int], layer: IntLayer, rows: slice, method: str) -> list[int]:
    if layer.kind == "bit":
        return [ternary_threshold(g, x, layer.weight[0].tolist(), int(layer.bias[0]), method)]
    return argmax(g, score_bits(g, x, layer.weight[rows], layer.bias[rows]))


def compile_mlp(model: TernaryMLP, positions: Sequence[int] | None = None, method: str = "auto") -> Circuit:
    """Combinational circuit of a TernaryMLP answering at ``positions`` (default: every position)."""
    positions = tuple(range(model.n_ctx)) if positions is None else tuple(positions)
    if any(not 0 <= p < model.n_ctx for p in positions):
        raise TritlensError(f"answer positions {positions} outside 0..{model.n_ctx - 1}")
    g = AIG()
    width = bits_for(model.d_vocab)
    x: list[int] = []
    for p in range(model.n_ctx):
        bits = [g.add_input(f"t{p}_b{k}") for k in range(width)]
        x += encode_inputs(g, bits, model.d_vocab, model.cfg.encoding)
    *hidden, head = model.integer_layers()
    for layer in hidden:
        x = threshold_layer(g, x, layer, method)
    d_out = model.d_vocab_out
    for p in positions:
        answer = _answer_bits(g, x, head, slice(p * d_out, (p + 1) * d_out), method)
        for k, lit in enumerate(answer):
            g.add_output(lit, f"y{p}_b{k}")
    circuit = Circuit(g, model.d_vocab, d_out, model.n_ctx, positions, False, type(model).__name__, method)
    circuit.check()
    return circuit


def compile_rnn(model: TernaryRNN, method: str = "auto") -> Circuit:
    """Sequential circuit of a TernaryRNN: one latch per state bit (reset 0), one token per step."""
    g = AIG()
    bits = [g.add_input(f"x_b{k}") for k in range(bits_for(model.d_vocab))]
    x = encode_inputs(g, bits, model.d_vocab, model.cfg.encoding)
    wx, wh, *second, readout = model.integer_layers()
    state = [g.add_latch(f"h{i}") for i in range(model.cfg.hidden)]
    cell = IntLayer(np.concatenate([wx.weight, wh.weight], axis=1), wx.bias, "threshold", "cell")
    new_state = threshold_layer(g, x + state, cell, method)
    for layer in second:  # the cell's second threshold layer (cell_hidden > 0)
        new_state = threshold_layer(g, new_state, layer, method)
    for latch, nxt in zip(state, new_state, strict=True):
        g.set_next(latch, nxt)
    for k, lit in enumerate(_answer_bits(g, new_state, readout, slice(None), method)):
        g.add_output(lit, f"y_b{k}")
    circuit = Circuit(g, model.d_vocab, model.d_vocab_out, 1, (0,), True, type(model).__name__, method)
    circuit.check()
    return circuit


def compile_model(model: nn.Module, positions: Sequence[int] | None = None, method: str = "auto") -> Circuit:
    """Compile a fully discrete model to a Circuit; refuse anything else with TritlensError.

    ``positions`` selects the answer positions of a TernaryMLP (pass the task's answer positions so
    untrained heads are not compiled); ``method`` is the threshold encoding (auto | adder | totalizer).
    """
    refuse_unless_discrete(model)
    if isinstance(model, TernaryRNN):
        return compile_rnn(model, method)
    if isinstance(model, DiscreteTransformer):
        return compile_transformer(model, positions)
    return compile_mlp(model, positions, method)
