"""Compile a ``DiscreteTransformer`` to an And-Inverter Graph.

Each position's residual stream is kept as integer linear forms over literals of the graph: a matrix
``[d_model, n_literals]`` plus a constant vector (``Stream``). Embeddings are one-hot decoders of the
token bits weighted by the trits of W_E (plus the constant row of W_pos); every later term is a bit the
graph computes (a selected value bit, an MLP unit). Multiplying a stream by a trit matrix is integer
matrix algebra (numpy), so no gate is spent until a quantity must exist as bits:

* queries, keys and values: ``compress`` (an adder tree) of ``W x + b``;
* attention scores: ``q . k`` as a sum of products (partial-product ANDs) and one adder tree;
* hard attention: a comparator tournament over the allowed keys (tie-break as the model's) whose
  multiplexers carry the value vectors, so the head's output is the selected key's values;
* MLP units: ``[W_in x + b_in >= 0]`` (adder tree and a constant comparison);
* readout: the logits as adder trees and the argmax tournament (lowest class on ties).

Only what the answer positions need is built: the last block's attention and MLP run at the answer
positions alone, earlier blocks at every position a later query can see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG
from tritlens.logic.build import argmax, one_hot
from tritlens.logic.circuit import Circuit, bits_for
from tritlens.logic.linform import Lin, Num, align, compress, mul, select, threshold
from tritlens.models.discrete_transformer import DiscreteTransformer


@dataclass
class Stream:
    """Integer residual vectors of one position: ``matrix @ literal_values + const``."""

    lits: list[int]  # the literals the columns stand for
    matrix: np.ndarray  # [d_model, len(lits)] int64
    const: np.ndarray  # [d_model] int64

    def extend(self, lits: Sequence[int], columns: np.ndarray, const: np.ndarray) -> Stream:
        """A new stream with ``columns`` ([d_model, len(lits)]) added for new literals and ``const``."""
        return Stream(self.lits + list(lits), np.concatenate([self.matrix, columns], axis=1),
                      self.const + const)

    def forms(self, weight: np.ndarray, bias: np.ndarray | None) -> list[Lin]:
        """``x @ weight + bias`` ([d_model, n] trits) as n linear forms over the literals."""
        mat = weight.T @ self.matrix  # [n, n_lits]
        const = weight.T @ self.const + (0 if bias is None else bias)
        out = []
        for row, c in zip(mat, const, strict=True):
            nz = np.nonzero(row)[0]
            out.append(Lin.of_terms(((self.lits[j], int(row[j])) for j in nz), int(c)))
        return out


def num_columns(nums: Sequence[Num], weights: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Literals, [d_model, bits] columns and constant of ``sum_e weights[e] * nums[e]``."""
    lits, cols, const = [], [], np.zeros(weights.shape[1], dtype=np.int64)
    for num, row in zip(nums, weights, strict=True):
        const += row * num.offset
        for k, bit in enumerate(num.bits):
            lits.append(bit)
            cols.append(row << k)
    matrix = np.stack(cols, axis=1) if cols else np.zeros((weights.shape[1], 0), dtype=np.int64)
    return lits, matrix, const


class _Compiler:
    def __init__(self, model: DiscreteTransformer) -> None:
        self.model, self.cfg, self.w = model, model.cfg, model.integer_weights()
        self.g = AIG()

    def embed(self) -> list[Stream]:
        w, n_ctx, width = self.w, self.model.n_ctx, bits_for(self.model.d_vocab)
        streams = []
        for p in range(n_ctx):
            bits = [self.g.add_input(f"t{p}_b{k}") for k in range(width)]
            onehot = one_hot(self.g, bits, self.model.d_vocab)
            const = w["pos_embed.W_pos"][p].copy() if "pos_embed.W_pos" in w \
                else np.zeros(self.cfg.d_model, dtype=np.int64)
            streams.append(Stream(onehot, w["embed.W_E"].T.copy(), const))
        return streams

    def project(self, stream: Stream, layer: int, which: str, head: int) -> list[Num]:
        pre = f"blocks.{layer}.attn."
        bias = self.w.get(f"{pre}b_{which}")
        forms = stream.forms(self.w[f"{pre}W_{which}"][head], None if bias is None else bias[head])
        return [compress(self.g, f) for f in forms]

    def attention(self, streams: dict[int, Stream], layer: int, queries: list[int]) -> dict[int, Stream]:
        """Each query position's stream plus the attention output (the selected values through W_O)."""
        g, cfg, pre = self.g, self.cfg, f"blocks.{layer}.attn."
        keys = sorted({j for i in queries for j in self.keys_of(i)})
        out = {}
        kv = {(j, h): (self.project(streams[j], layer, "K", h), self.project(streams[j], layer, "V", h))
              for j in keys for h in range(cfg.n_heads)}
        b_o = self.w.get(f"{pre}b_O")
        for i in queries:
            lits, cols, const = [], [], np.zeros(cfg.d_model, dtype=np.int64) if b_o is None else b_o.copy()
            for h in range(cfg.n_heads):
                q = self.project(streams[i], layer, "Q", h)
                visible = self.keys_of(i)
                values = [kv[(j, h)][1] for j in visible]
                if len(visible) == 1:
                    z = values[0]
                else:
                    scores = [compress(g, self.dot(q, kv[(j, h)][0])) for j in visible]
                    z = self.pick(scores, values)
                zl, zc, zk = num_columns(z, self.w[f"{pre}W_O"][h])
                lits += zl
                cols.append(zc)
                const += zk
            out[i] = streams[i].extend(lits, np.concatenate(cols, axis=1), const)
        return out

    def keys_of(self, i: int) -> list[int]:
        return list(range(i + 1)) if self.cfg.causal else list(range(self.model.n_ctx))

    def dot(self, q: list[Num], k: list[Num]) -> Lin:
        total = Lin()
        for a, b in zip(q, k, strict=True):
            total.add(mul(self.g, a, b))
        return total

    def pick(self, scores: list[Num], values: list[list[Num]]) -> list[Num]:
        """The values of the key with the largest score (ties per ``cfg.tie_break``), as Nums."""
        d_head = len(values[0])
        per_dim = [align(self.g, [v[e] for v in values]) for e in range(d_head)]
        offsets = [min(v[e].offset for v in values) for e in range(d_head)]
        payloads = [[b for e in range(d_head) for b in per_dim[e][j]] for j in range(len(values))]
        chosen = select(self.g, scores, payloads, last_wins=self.cfg.tie_break == "last")
        out, at = [], 0
        for e in range(d_head):
            width = len(per_dim[e][0])
            out.append(Num(chosen[at : at + width], offsets[e]))
            at += width
        return out

    def mlp(self, stream: Stream, layer: int) -> Stream:
        pre = f"blocks.{layer}.mlp."
        forms = stream.forms(self.w[f"{pre}W_in"], self.w[f"{pre}b_in"])
        units = [threshold(self.g, f) for f in forms]
        b_out = self.w.get(f"{pre}b_out")
        const = np.zeros(self.cfg.d_model, dtype=np.int64) if b_out is None else b_out.copy()
        return stream.extend(units, self.w[f"{pre}W_out"].T.copy(), const)

    def run(self, positions: tuple[int, ...]) -> AIG:
        n_layers, n_ctx = self.cfg.n_layers, self.model.n_ctx
        needed = max(positions) + 1 if self.cfg.causal else n_ctx
        current = dict(enumerate(self.embed()))
        for layer in range(n_layers):
            queries = list(positions) if layer == n_layers - 1 else list(range(needed))
            current = self.attention(current, layer, queries)
            if self.cfg.d_mlp:
                current = {i: self.mlp(s, layer) for i, s in current.items()}
        b_u = self.w.get("unembed.b_U")
        for p in positions:
            logits = [compress(self.g, f) for f in current[p].forms(self.w["unembed.W_U"], b_u)]
            for k, lit in enumerate(argmax(self.g, align(self.g, logits))):
                self.g.add_output(lit, f"y{p}_b{k}")
        return self.g


def compile_transformer(model: DiscreteTransformer, positions: Sequence[int] | None = None) -> Circuit:
    """Combinational circuit of a DiscreteTransformer answering at ``positions`` (default: the model's
    answer positions, else every position)."""
    if positions is None:
        positions = model.answer_positions or tuple(range(model.n_ctx))
    positions = tuple(positions)
    if not positions or any(not 0 <= p < model.n_ctx for p in positions):
        raise TritlensError(f"answer positions {positions} outside 0..{model.n_ctx - 1}")
    g = _Compiler(model).run(positions)
    circuit = Circuit(g, model.d_vocab, model.d_vocab_out, model.n_ctx, positions, False,
                      type(model).__name__, "adder")
    circuit.check()
    return circuit


__all__ = ["compile_transformer"]
