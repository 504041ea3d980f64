"""Fully discrete networks that compile to logic gates: a ternary threshold MLP and a ternary RNN.

Every forward quantity is an exact integer or bit: trits {-1, 0, +1}, integer biases, binary step
activations, integer output scores. The logits handed to the trainer are those integer scores (times
a fixed positive ``logit_scale``), so their argmax (ties to the lowest index, like ``torch.argmax``)
is exactly the discrete model's answer and exactly what the compiled circuit computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tritlens.errors import ConfigError
from tritlens.fields import check_fields, seed, setting
from tritlens.models.discrete_layers import (
    ENCODINGS,
    SURROGATES,
    IntLayer,
    TernaryLinear,
    encode_tokens,
    encoded_width,
    step,
)

READOUTS = ("argmax", "bit")


@dataclass
class DiscreteMLPConfig:
    """Ternary threshold MLP: hidden widths, input encoding and training knobs."""

    hidden: tuple[int, ...] = setting(factory=lambda: (32,), lo=1, hi=1 << 16, max_items=64)  # widths
    encoding: str = setting("onehot", choices=ENCODINGS)
    surrogate: str = setting("sigmoid", choices=SURROGATES)  # straight-through gradient of the step
    temperature: float = setting(1.0, lo=0.0, hi=1e6, lo_open=True)  # width of the surrogate window
    sparsity: float = setting(1e-3, lo=0.0, hi=1e6)  # weight of sparsity_penalty() in the training loss
    logit_scale: float = setting(1.0, lo=0.0, hi=1e6, lo_open=True)  # positive: never changes the argmax
    output_bias: bool = True
    seed: int = seed(0)


@dataclass
class DiscreteRNNConfig:
    """Ternary RNN with binary state: state width, input encoding, readout and training knobs."""

    hidden: int = setting(8, lo=1, hi=1 << 12)
    cell_hidden: int = setting(0, lo=0, hi=1 << 12)  # >0: a threshold layer inside the cell (any FSM fits)
    encoding: str = setting("onehot", choices=ENCODINGS)
    readout: str = setting("argmax", choices=READOUTS)  # argmax of ternary scores | bit (1 unit, 2 classes)
    surrogate: str = setting("sigmoid", choices=SURROGATES)
    temperature: float = setting(1.0, lo=0.0, hi=1e6, lo_open=True)
    sparsity: float = setting(1e-3, lo=0.0, hi=1e6)
    logit_scale: float = setting(1.0, lo=0.0, hi=1e6, lo_open=True)
    seed: int = seed(0)


def _generator(cfg_seed: int, generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(cfg_seed)


class TritStats(dict):
    """Per-layer trit counts ``{layer: {neg, zero, pos, zero_frac, scale}}`` (the transformer's format,
    which ``tritlens.api.trit_summary`` reads), with the totals over all layers readable as
    ``stats["neg" | "zero" | "pos" | "total" | "zero_fraction"]``."""

    _TOTALS = ("neg", "zero", "pos", "total", "zero_fraction")

    def __missing__(self, key: str) -> float:
        if key not in self._TOTALS:
            raise KeyError(key)
        neg, zero, pos = (sum(int(s[k]) for s in self.values()) for k in ("neg", "zero", "pos"))
        total = neg + zero + pos
        return {"neg": neg, "zero": zero, "pos": pos, "total": total,
                "zero_fraction": zero / max(1, total)}[key]


class _DiscreteBase(nn.Module):
    """Shared helpers: sparsity, trit statistics, prediction and pruning."""

    fully_discrete = True
    ternary_layers: list[TernaryLinear]
    answer_positions: tuple[int, ...] | None = None  # set by tritlens.build from the task
    cfg: DiscreteMLPConfig | DiscreteRNNConfig

    def sparsity_penalty(self) -> Tensor:
        """Mean Hoyer ratio over all ternary layers (multiply by ``cfg.sparsity`` in the loss)."""
        return torch.stack([layer.sparsity_penalty() for layer in self.ternary_layers]).mean()

    def extra_loss(self) -> Tensor:
        """Added to the training loss by the trainer: ``cfg.sparsity * sparsity_penalty()``."""
        return self.cfg.sparsity * self.sparsity_penalty()

    def trit_stats(self) -> TritStats:
        """Trit counts per ternary layer; totals via ``stats["zero"]``, ``stats["zero_fraction"]``."""
        stats = TritStats()
        for name, layer in self.named_modules():
            if isinstance(layer, TernaryLinear):
                n, z, p = layer.trit_counts()
                stats[name] = {"neg": n, "zero": z, "pos": p, "zero_frac": z / max(1, n + z + p),
                               "scale": 1.0}
        return stats

    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        """[N, len(positions), d_vocab_out] logits at the answer positions."""
        return self.forward(tokens)[:, list(positions)]

    @torch.no_grad()
    def predict(self, tokens: Tensor, positions: tuple[int, ...] | None = None) -> Tensor:
        """Discrete answers (argmax, lowest index on ties) at ``positions`` (default: all)."""
        positions = tuple(range(tokens.shape[1])) if positions is None else positions
        return self.answer_logits(tokens, positions).argmax(dim=-1)

    @torch.no_grad()
    def prune(
        self,
        tokens: Tensor | None = None,
        positions: tuple[int, ...] | None = None,
        magnitude: float | None = None,
    ) -> int:
        """Zero trits; returns how many were zeroed.

        With ``tokens``: greedily zero each nonzero trit (weakest latent weight first) and keep the
        change only when every answer on ``tokens`` is unchanged. On an enumerated input space this
        preserves the function exactly, so the compiled circuit shrinks and still proves correct.
        With ``magnitude``: zero trits whose |w| / mean|w| is below it (cheap, not exact: verify after).
        """
        if (tokens is None) == (magnitude is None):
            raise ConfigError("prune needs exactly one of tokens (exact) or magnitude (heuristic)")
        zeroed = 0
        reference = None if tokens is None else self.predict(tokens, positions)
        for layer in self.ternary_layers:
            rel = layer.weight.abs() / (layer.weight.abs().mean() + 1e-5)
            live = (layer.int_trits() != 0).nonzero().tolist()
            live.sort(key=lambda ij: float(rel[ij[0], ij[1]]))
            for i, j in live:
                if magnitude is not None:
                    if float(rel[i, j]) < magnitude:
                        layer.mask[i, j] = 0.0
                        zeroed += 1
                    continue
                layer.mask[i, j] = 0.0
                if torch.equal(self.predict(tokens, positions), reference):
                    zeroed += 1
                else:
                    layer.mask[i, j] = 1.0
        return zeroed


class TernaryMLP(_DiscreteBase):
    """Threshold MLP over the whole sequence with one ternary argmax head per position."""

    def __init__(
        self,
        cfg: DiscreteMLPConfig,
        d_vocab: int,
        d_vocab_out: int,
        n_ctx: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check_fields(cfg, "model")
        self.cfg, self.d_vocab, self.d_vocab_out, self.n_ctx = cfg, d_vocab, d_vocab_out, n_ctx
        gen = _generator(cfg.seed, generator)
        widths = [n_ctx * encoded_width(d_vocab, cfg.encoding), *cfg.hidden]
        self.hidden = nn.ModuleList(
            TernaryLinear(a, b, gen) for a, b in zip(widths, widths[1:], strict=False)
        )
        self.head = TernaryLinear(widths[-1], n_ctx * d_vocab_out, gen, bias=cfg.output_bias)
        self.ternary_layers = [*self.hidden, self.head]

    def features(self, tokens: Tensor) -> Tensor:
        """Binary hidden features of the last hidden layer, [N, width]."""
        x = encode_tokens(tokens, self.d_vocab, self.cfg.encoding).flatten(1)
        for layer in self.hidden:
            x = step(layer(x), self.cfg.surrogate, self.cfg.temperature)
        return x

    def forward(self, tokens: Tensor) -> Tensor:
        """[N, n_ctx, d_vocab_out] integer scores (times logit_scale) for every position's head."""
        scores = self.head(self.features(tokens))
        return scores.view(-1, self.n_ctx, self.d_vocab_out) * self.cfg.logit_scale

    def integer_layers(self) -> list[IntLayer]:
        """Exact hidden threshold layers followed by the score head ([n_ctx * d_vocab_out, width])."""
        out = [layer.integer("threshold", f"hidden.{i}") for i, layer in enumerate(self.hidden)]
        return [*out, self.head.integer("scores", "head")]


class TernaryRNN(_DiscreteBase):
    """h_t = step(W_x x_t + W_h h_{t-1} + b), h_0 = 0, with a ternary readout of h_t at every step.

    With ``cell_hidden > 0`` the cell has two threshold layers, u = step(W_x x_t + W_h h_{t-1} + b) and
    h_t = step(W_u u + b_u): one layer of threshold units cannot compute every next-state function (a
    multiplexer "x ? a : b" is not a threshold function), two can (ANDs, then ORs), so any finite state
    machine fits in enough units.
    """

    def __init__(
        self,
        cfg: DiscreteRNNConfig,
        d_vocab: int,
        d_vocab_out: int,
        n_ctx: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check_fields(cfg, "model")
        if cfg.readout == "bit" and d_vocab_out != 2:
            raise ConfigError(f"model.readout=bit needs 2 output classes, got {d_vocab_out}")
        self.cfg, self.d_vocab, self.d_vocab_out, self.n_ctx = cfg, d_vocab, d_vocab_out, n_ctx
        gen = _generator(cfg.seed, generator)
        first = cfg.cell_hidden or cfg.hidden
        self.cell_x = TernaryLinear(encoded_width(d_vocab, cfg.encoding), first, gen)
        self.cell_h = TernaryLinear(cfg.hidden, first, gen, bias=False)
        self.cell_out = TernaryLinear(cfg.cell_hidden, cfg.hidden, gen) if cfg.cell_hidden else None
        n_out = 1 if cfg.readout == "bit" else d_vocab_out
        self.readout = TernaryLinear(cfg.hidden, n_out, gen)
        self.ternary_layers = [self.cell_x, self.cell_h, *([self.cell_out] if self.cell_out else []),
                               self.readout]

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        z = step(self.cell_x(x) + self.cell_h(h), self.cfg.surrogate, self.cfg.temperature)
        if self.cell_out is None:
            return z
        return step(self.cell_out(z), self.cfg.surrogate, self.cfg.temperature)

    def scores(self, h: Tensor) -> Tensor:
        """Readout logits of a state; the bit readout becomes [0, z + 0.5] so argmax == [z >= 0]."""
        z = self.readout(h)
        if self.cfg.readout == "bit":
            z = torch.cat([torch.zeros_like(z), z + 0.5], dim=-1)
        return z * self.cfg.logit_scale

    def forward(self, tokens: Tensor) -> Tensor:
        """[N, T, d_vocab_out] logits, one per step, from the state after reading that step's token."""
        x = encode_tokens(tokens, self.d_vocab, self.cfg.encoding)
        h = x.new_zeros(tokens.shape[0], self.cfg.hidden)
        out = []
        for t in range(tokens.shape[1]):
            h = self.cell(x[:, t], h)
            out.append(self.scores(h))
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def transition(self, state: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """One discrete step from explicit states: (answers [N], next states [N, hidden] as 0/1)."""
        x = encode_tokens(tokens.view(-1, 1), self.d_vocab, self.cfg.encoding)[:, 0]
        h = self.cell(x, state.float())
        return self.scores(h).argmax(dim=-1), h

    def integer_layers(self) -> list[IntLayer]:
        """[input weights with the cell bias, recurrent weights, (the cell's second layer,) readout]."""
        second = [self.cell_out.integer("threshold", "cell.out")] if self.cell_out is not None else []
        return [
            self.cell_x.integer("threshold", "cell.x"),
            self.cell_h.integer("threshold", "cell.h"),
            *second,
            self.readout.integer("bit" if self.cfg.readout == "bit" else "scores", "readout"),
        ]
