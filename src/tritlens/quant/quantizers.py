"""Weight and activation quantizers with straight-through gradients (BitNet, BitNet b1.58, Li 2024).

Weight modes (a config chooses ``ternary`` and a ``ternary_rule``; the quantizer sees these names):

- ``binary``: BitNet, sign(W - mean W) as exact {-1, +1}, times beta = mean|W| (or 1 without scale).
- ``ternary``: BitNet b1.58, clip(round(W / (mean|W| + eps)), -1, 1) times gamma = mean|W|.
- ``ternary_centred``: Li 2024's reference code, the same absmean rule applied to the centred
  C = W - mean W: clip(round(C / max(mean|C|, eps)), -1, 1), rescaled by max(mean|C|, eps).

Every quantizer returns the *effective* (dequantized) tensor in the forward pass, exactly. The backward
pass is straight-through: the rounding (or sign) step is treated as the identity. Where a mode centres
the weights first (``binary``, ``ternary_centred``) the centring is differentiated as usual, as in the
reference implementations, so W receives the upstream gradient minus its mean; ``ternary`` passes the
upstream gradient to W unchanged, as BitNet b1.58's reference code does. ``integer_form`` returns the
exact integer weights ({-1, +1} or {-1, 0, +1}) and the scale that maps them back to the effective weights.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from tritlens.errors import ConfigError

WeightMode = Literal["none", "binary", "ternary", "ternary_centred"]
WEIGHT_MODES: tuple[str, ...] = ("none", "binary", "ternary")  # what a config's component group chooses
TERNARY_RULES: tuple[str, ...] = ("b158", "centred")  # ternary: BitNet b1.58's rule or Li 2024's
QUANTIZER_MODES: tuple[str, ...] = (*WEIGHT_MODES, "ternary_centred")
EPS = 1e-5


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor, q: Tensor) -> Tensor:
        return q.clone()

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


def ste(x: Tensor, q: Tensor) -> Tensor:
    """Forward exactly the value of ``q``, backward the identity into ``x`` (straight-through).

    ``x + (q - x).detach()`` is the usual idiom, but its forward value can differ from ``q`` by a
    rounding error; a custom function keeps quantized values exact.
    """
    return _StraightThrough.apply(x, q.detach())


def binary_sign(w: Tensor) -> Tensor:
    """sign(w - mean(w)) as exact {-1, +1} values (zero maps to +1, so no zero ever appears)."""
    centred = w - w.mean()
    return torch.where(centred >= 0, 1.0, -1.0).to(w.dtype)


def binary_scale(w: Tensor) -> Tensor:
    """BitNet's binary scale beta = mean|W|."""
    return w.abs().mean()


def ternary_trits(w: Tensor, eps: float = EPS) -> Tensor:
    """BitNet b1.58 absmean rule: clip(round(w / (mean|w| + eps)), -1, 1), exact {-1, 0, +1} values."""
    gamma = w.abs().mean()
    return torch.clamp(torch.round(w / (gamma + eps)), -1.0, 1.0)


def ternary_scale(w: Tensor, eps: float = EPS) -> Tensor:
    """BitNet b1.58's dequantization scale gamma = mean|W| (eps only guards the division)."""
    return w.abs().mean()


def centred_ternary(w: Tensor, floor: float = EPS) -> tuple[Tensor, Tensor, Tensor]:
    """Li 2024's rule on C = w - mean(w): (trits, effective, scale), with
    trits = clip(round(C * inv), -1, 1), inv = 1 / max(mean|C|, floor), effective = trits / inv, and
    scale = 1 / inv, so that effective = trits * scale exactly (the reference code's float operations)."""
    centred = w - w.mean()
    inv = 1.0 / centred.abs().mean().clamp_min(floor)
    trits = torch.clamp(torch.round(centred * inv), -1.0, 1.0)
    return trits, trits / inv, 1.0 / inv


def quantizer_mode(mode: str, ternary_rule: str = "b158") -> str:
    """The quantizer for a config's mode and ternary rule (ternary + centred: ``ternary_centred``)."""
    return "ternary_centred" if mode == "ternary" and ternary_rule == "centred" else mode


def integer_form(w: Tensor, mode: str, scale: bool = True) -> tuple[Tensor, float]:
    """Exact integer weights (int8) and the float scale with ``effective = ints * scale``."""
    w = w.detach()
    if mode == "binary":
        return binary_sign(w).to(torch.int8), float(binary_scale(w)) if scale else 1.0
    if mode == "ternary":
        return ternary_trits(w).to(torch.int8), float(ternary_scale(w))
    if mode == "ternary_centred":
        trits, _, gamma = centred_ternary(w)
        return trits.to(torch.int8), float(gamma)
    raise ConfigError(f"integer_form needs a quantized mode (binary, ternary, ternary_centred), got {mode!r}")


def quantize_weight(w: Tensor, mode: str, scale: bool = True) -> Tensor:
    """Effective weight for ``mode`` with straight-through gradients; ``none`` returns ``w``."""
    if mode == "none":
        return w
    if mode == "binary":
        q = binary_sign(w)
        if scale:
            q = q * binary_scale(w)
        return ste(w - w.mean(), q)  # the gradient reaches W through the centring
    if mode == "ternary":
        return ste(w, ternary_trits(w) * ternary_scale(w))
    if mode == "ternary_centred":
        return ste(w - w.mean(), centred_ternary(w)[1])
    raise ConfigError(f"unknown weight quantization mode {mode!r}; "
                      f"choose one of {', '.join(QUANTIZER_MODES)}")


def quantize_activation(x: Tensor, bits: int | None) -> Tensor:
    """Per-token (last dimension) absmax quantization to signed ``bits`` with straight-through gradients.

    BitNet's rule: scale each token so max|x| maps to 2^(bits-1) - 1, round, clip, rescale.
    ``bits=None`` returns ``x`` unchanged.
    """
    if bits is None:
        return x
    qmax = 2 ** (bits - 1) - 1
    scale = qmax / x.detach().abs().amax(dim=-1, keepdim=True).clamp_min(EPS)
    q = torch.clamp(torch.round(x * scale), -qmax, qmax) / scale
    return ste(x, q)


def zero_fraction(ints: Tensor) -> float:
    """Fraction of exactly-zero entries of an integer weight tensor (trit sparsity)."""
    return float((ints == 0).float().mean()) if ints.numel() else 0.0
