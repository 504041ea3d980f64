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

A token's one-hot literals are mutually exclusive, so weighted sums of them are table lookups (one OR
per bit). When the input space is small, every range is measured on all valid inputs
(``transformer_ranges``): adder trees are exactly as wide as the values they hold, and a head that
attends to the same key on every input is wired to that key's values (its comparator tree would be
constant). A consumer reads the residual either directly (weights folded through) or after each
coordinate has been compressed once, whichever needs fewer adder inputs. Only what the answer
positions need is built: the last block runs at the answer positions alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG
from tritlens.logic.build import argmax, one_hot
from tritlens.logic.circuit import Circuit, bits_for
from tritlens.logic.linform import Groups, Lin, Num, Range, align, compress, mul, select, threshold
from tritlens.logic.transformer_ranges import Ranges, measure_ranges
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


def _adder_inputs(mat: np.ndarray, lits: list[int], groups: Groups) -> int:
    """Rough cost of compressing each row of ``mat``: one adder input per set weight bit, one per bit of
    the largest weight for each exclusive group."""
    grouped = np.array([groups.get(lit, -1) for lit in lits], dtype=np.int64)
    free = np.abs(mat[:, grouped < 0])
    total = sum(bin(int(x)).count("1") for x in free[free != 0])
    for group in set(grouped[grouped >= 0].tolist()):
        total += sum(int(x).bit_length() for x in np.abs(mat[:, grouped == group]).max(axis=1, initial=0))
    return total


class _Compiler:
    def __init__(self, model: DiscreteTransformer, ranges: Ranges | None) -> None:
        self.model, self.cfg, self.w, self.ranges = model, model.cfg, model.integer_weights(), ranges
        self.g = AIG()
        self.groups: dict[int, int] = {}  # one-hot literal -> its position

    def known(self, layer: int, kind: str, index: tuple[int, ...]) -> Range | None:
        return None if self.ranges is None else self.ranges.get(layer, kind, index)

    def num(self, form: Lin, known: Range | None) -> Num:
        return compress(self.g, form, self.groups, known)

    def embed(self) -> dict[int, Stream]:
        w, width = self.w, bits_for(self.model.d_vocab)
        streams = {}
        for p in range(self.model.n_ctx):
            bits = [self.g.add_input(f"t{p}_b{k}") for k in range(width)]
            onehot = one_hot(self.g, bits, self.model.d_vocab)
            self.groups.update({lit: p for lit in onehot if lit > 1 and not lit & 1})
            const = w["pos_embed.W_pos"][p].copy() if "pos_embed.W_pos" in w \
                else np.zeros(self.cfg.d_model, dtype=np.int64)
            streams[p] = Stream(onehot, w["embed.W_E"].T.copy(), const)
        return streams

    def project(self, stream: Stream, layer: int, which: str, head: int, pos: int) -> list[Num]:
        pre = f"blocks.{layer}.attn."
        bias = self.w.get(f"{pre}b_{which}")
        forms = stream.forms(self.w[f"{pre}W_{which}"][head], None if bias is None else bias[head])
        kind = which.lower()
        return [self.num(f, self.known(layer, kind, (pos, head, e))) for e, f in enumerate(forms)]

    def keys_of(self, i: int) -> list[int]:
        return list(range(i + 1)) if self.cfg.causal else list(range(self.model.n_ctx))

    def head(self, streams: dict[int, Stream], layer: int, h: int, i: int
             ) -> tuple[list[int], np.ndarray, np.ndarray]:
        """One head at query i: literals, [d_model, n] columns and constant of its output (through W_O)."""
        pre = f"blocks.{layer}.attn."
        visible = self.keys_of(i)
        fixed = None if self.ranges is None else int(self.ranges.choice[layer][h, i])
        if len(visible) == 1 or (fixed is not None and fixed >= 0):
            j = visible[0] if len(visible) == 1 else fixed
            w_vo = self.w[f"{pre}W_V"][h] @ self.w[f"{pre}W_O"][h]  # [d_model, d_model]
            b_v = self.w.get(f"{pre}b_V")
            const = w_vo.T @ streams[j].const + (0 if b_v is None else b_v[h] @ self.w[f"{pre}W_O"][h])
            return streams[j].lits, w_vo.T @ streams[j].matrix, const
        q = self.project(streams[i], layer, "Q", h, i)
        keys = [self.project(streams[j], layer, "K", h, j) for j in visible]
        values = [self.project(streams[j], layer, "V", h, j) for j in visible]
        scores = [self.num(self.dot(q, k), self.known(layer, "scores", (h, i, j)))
                  for j, k in zip(visible, keys, strict=True)]
        return num_columns(self.pick(scores, values), self.w[f"{pre}W_O"][h])

    def attention(self, streams: dict[int, Stream], layer: int, queries: list[int]) -> dict[int, Stream]:
        """Each query position's stream plus the attention output."""
        b_o = self.w.get(f"blocks.{layer}.attn.b_O")
        out = {}
        for i in queries:
            lits, cols = [], []
            const = np.zeros(self.cfg.d_model, dtype=np.int64) if b_o is None else b_o.copy()
            for h in range(self.cfg.n_heads):
                hl, hc, hk = self.head(streams, layer, h, i)
                lits += hl
                cols.append(hc)
                const = const + hk
            out[i] = streams[i].extend(lits, np.concatenate(cols, axis=1), const)
        return out

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

    def reader(self, stream: Stream, weight: np.ndarray, layer: int, kind: str, pos: int) -> Stream:
        """``stream`` itself, or (when cheaper for the readers ``weight`` [d_model, n]) the stream of its
        coordinates compressed once each."""
        eye = np.eye(self.cfg.d_model, dtype=np.int64)
        coords = stream.forms(eye, None)
        known = [self.known(layer, kind, (pos, d)) or f.bounds(self.groups) for d, f in enumerate(coords)]
        widths = np.array([max(1, (hi - lo).bit_length()) for lo, hi in known])
        direct = _adder_inputs(weight.T @ stream.matrix, stream.lits, self.groups)
        staged = _adder_inputs(stream.matrix, stream.lits, self.groups)
        staged += int((np.abs(weight).T @ widths).sum())
        if direct <= staged:
            return stream
        nums = [self.num(f, rng) for f, rng in zip(coords, known, strict=True)]
        return Stream(*num_columns(nums, eye))

    def mlp(self, stream: Stream, layer: int, pos: int) -> Stream:
        pre = f"blocks.{layer}.mlp."
        source = self.reader(stream, self.w[f"{pre}W_in"], layer, "resid_mid", pos)
        forms = source.forms(self.w[f"{pre}W_in"], self.w[f"{pre}b_in"])
        units = [threshold(self.g, f, self.groups, self.known(layer, "pre", (pos, u)))
                 for u, f in enumerate(forms)]
        b_out = self.w.get(f"{pre}b_out")
        const = np.zeros(self.cfg.d_model, dtype=np.int64) if b_out is None else b_out.copy()
        return stream.extend(units, self.w[f"{pre}W_out"].T.copy(), const)

    def run(self, positions: tuple[int, ...]) -> AIG:
        n_layers, n_ctx = self.cfg.n_layers, self.model.n_ctx
        needed = max(positions) + 1 if self.cfg.causal else n_ctx
        current = self.embed()
        for layer in range(n_layers):
            queries = list(positions) if layer == n_layers - 1 else list(range(needed))
            current = self.attention(current, layer, queries)
            if self.cfg.d_mlp:
                current = {i: self.mlp(s, layer, i) for i, s in current.items()}
        last, w_u, b_u = n_layers - 1, self.w["unembed.W_U"], self.w.get("unembed.b_U")
        for p in positions:
            source = self.reader(current[p], w_u, last, "resid_post", p)
            logits = [self.num(f, self.known(last, "logits", (p, c)))
                      for c, f in enumerate(source.forms(w_u, b_u))]
            for k, lit in enumerate(argmax(self.g, align(self.g, logits))):
                self.g.add_output(lit, f"y{p}_b{k}")
        return self.g


def compile_transformer(model: DiscreteTransformer, positions: Sequence[int] | None = None,
                        measure: bool = True) -> Circuit:
    """Combinational circuit of a DiscreteTransformer answering at ``positions`` (default: the model's
    answer positions, else every position). ``measure``: size the adders by the ranges measured on every
    valid input when there are at most ``transformer_ranges.ENUMERATE_LIMIT`` of them (the circuit then
    equals the model on every valid input; invalid token codes are don't-cares)."""
    if positions is None:
        positions = model.answer_positions or tuple(range(model.n_ctx))
    positions = tuple(positions)
    if not positions or any(not 0 <= p < model.n_ctx for p in positions):
        raise TritlensError(f"answer positions {positions} outside 0..{model.n_ctx - 1}")
    ranges = measure_ranges(model) if measure else None
    g = _Compiler(model, ranges).run(positions)
    circuit = Circuit(g, model.d_vocab, model.d_vocab_out, model.n_ctx, positions, False,
                      type(model).__name__, "adder")
    circuit.check()
    return circuit


__all__ = ["compile_transformer"]
