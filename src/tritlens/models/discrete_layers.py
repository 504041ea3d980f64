"""Building blocks of fully discrete networks: ternary weights, integer biases, binary step units.

Latent float parameters are trained; the forward pass only ever uses their discrete images (trits
via ``tritlens.quant.ternary_trits``, biases rounded to integers, activations stepped to {0, 1}),
with straight-through gradients. A ``mask`` buffer lets pruning force individual trits to zero
without moving the latent weights (which would shift the per-tensor absmean scale of the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from tritlens.errors import CheckpointError, ConfigError
from tritlens.quant.quantizers import ste, ternary_trits

ENCODINGS = ("onehot", "binary")
SURROGATES = ("sigmoid", "clipped")


def token_bits(d_vocab: int) -> int:
    """Binary bits needed for one token of a ``d_vocab`` vocabulary."""
    return max(1, (d_vocab - 1).bit_length())


def encode_tokens(tokens: Tensor, d_vocab: int, encoding: str) -> Tensor:
    """[N, T] integer tokens -> [N, T, width] float 0/1 features (one-hot or LSB-first binary)."""
    if encoding == "onehot":
        return nn.functional.one_hot(tokens.long(), d_vocab).float()
    if encoding == "binary":
        shifts = torch.arange(token_bits(d_vocab), device=tokens.device)
        return ((tokens.long().unsqueeze(-1) >> shifts) & 1).float()
    raise ConfigError(f"unknown input encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")


def encoded_width(d_vocab: int, encoding: str) -> int:
    return d_vocab if encoding == "onehot" else token_bits(d_vocab)


def step(z: Tensor, surrogate: str = "sigmoid", temperature: float = 1.0) -> Tensor:
    """Heaviside [z >= 0] forward; a smooth surrogate gradient backward.

    Pre-activations are integers, so the surrogate is centred at -0.5, halfway between the last
    "off" value (-1) and the first "on" value (0).
    """
    hard = (z >= 0).to(z.dtype)
    centred = (z + 0.5) / temperature
    if surrogate == "sigmoid":
        soft = torch.sigmoid(4.0 * centred)
    elif surrogate == "clipped":
        soft = torch.clamp(centred + 0.5, 0.0, 1.0)
    else:
        raise ConfigError(f"unknown surrogate {surrogate!r}; choose one of {', '.join(SURROGATES)}")
    return ste(soft, hard)  # forward exactly 0/1 (soft + (hard - soft) can miss by a rounding error)


MAX_BIAS = 1 << 20  # with at most 2^16 inputs, every sum stays below 2^24: exact in float32


@dataclass(frozen=True)
class IntLayer:
    """Exact integer form of a layer: ``weight`` [out, in] in {-1, 0, +1} and integer ``bias`` [out].

    ``kind`` is ``"threshold"`` (outputs step(W x + b)), ``"scores"`` (integer scores for argmax),
    ``"bit"`` (one threshold readout bit) or ``"linear"`` (integer outputs W x + b that feed further
    integer arithmetic, e.g. the discrete transformer's embeddings, queries, keys and values).
    """

    weight: np.ndarray
    bias: np.ndarray
    kind: str
    name: str


class TernaryLinear(nn.Module):
    """y = trits(W) x + round(b): exact integers in the forward pass."""

    def __init__(self, d_in: int, d_out: int, generator: torch.Generator, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in, generator=generator) / max(1, d_in) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(d_out)) if bias else None
        self.register_buffer("mask", torch.ones(d_out, d_in))

    def trits(self) -> Tensor:
        """Effective trit weights with a straight-through gradient into the latent weights."""
        return ste(self.weight, ternary_trits(self.weight) * self.mask)

    @torch.no_grad()
    def int_trits(self) -> Tensor:
        """Exact trits (no gradient), after the pruning mask."""
        return ternary_trits(self.weight) * self.mask

    def int_bias(self) -> Tensor:
        if self.bias is None:
            return torch.zeros(self.weight.shape[0], device=self.weight.device)
        return ste(self.bias, torch.round(self.bias))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.trits().t() + self.int_bias()

    def integer(self, kind: str, name: str) -> IntLayer:
        """The exact integer layer; weights no training produces (a pruning mask other than 0/1, a bias
        beyond ``MAX_BIAS``, where float32 sums stop being exact) are refused, not silently cast."""
        with torch.no_grad():
            if not bool(((self.mask == 0) | (self.mask == 1)).all()):
                raise CheckpointError(f"{name}: the pruning mask holds values other than 0 and 1")
            bias = self.int_bias().round()
            if bool((bias.abs() > MAX_BIAS).any()):
                raise CheckpointError(f"{name}: a bias beyond +-{MAX_BIAS} (float sums would not be exact)")
            w = self.int_trits().to(torch.int8).cpu().numpy()
            b = bias.to(torch.int64).cpu().numpy()
        return IntLayer(w, b, kind, name)

    def set_integer(self, weight: np.ndarray | list, bias: np.ndarray | list | None = None) -> None:
        """Load exact trits and integer biases (hand-built networks, tests)."""
        w = torch.as_tensor(np.asarray(weight), dtype=torch.float32)
        if w.shape != self.weight.shape or not torch.isin(w, torch.tensor([-1.0, 0.0, 1.0])).all():
            raise ConfigError(f"expected trits of shape {tuple(self.weight.shape)}, got {tuple(w.shape)}")
        with torch.no_grad():
            self.weight.copy_(w)  # absmean <= 1 keeps every +-1 at +-1 after rounding and clipping
            self.mask.fill_(1.0)
            if bias is not None:
                if self.bias is None:
                    raise ConfigError("this layer has no bias")
                self.bias.copy_(torch.as_tensor(np.asarray(bias), dtype=torch.float32))
            elif self.bias is not None:
                self.bias.zero_()

    def sparsity_penalty(self) -> Tensor:
        """Hoyer ratio mean|w| / rms(w) of the latent weights, in (0, 1].

        Trits come from w / mean|w|, so a plain L1 term only rescales every weight and leaves the
        trits unchanged. The L1/L2 ratio is scale invariant and smallest when a few weights are large
        and the rest near zero, which is exactly what moves entries into the zero trit.
        """
        w = self.weight
        return w.abs().mean() / (w.pow(2).mean().sqrt() + 1e-8)

    def trit_counts(self) -> tuple[int, int, int]:
        t = self.int_trits()
        return int((t < 0).sum()), int((t == 0).sum()), int((t > 0).sum())
