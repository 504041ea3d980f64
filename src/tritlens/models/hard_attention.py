"""Building blocks of the discrete transformer: ternary weight tensors, hard attention, a threshold MLP.

Every forward quantity is an exact integer (stored in float32, exact below 2^24): trit weights in
{-1, 0, +1} without a scale, integer biases, integer residual vectors, integer attention scores,
binary MLP units. Gradients are straight-through: trits and rounded biases pass the gradient to their
latent float parameters, the step unit uses the surrogate of ``discrete_layers.step``, and hard
attention uses a softmax at temperature ``attn_temperature`` in the backward pass only.

Hard attention (the query at position i, keys j <= i when causal): the head attends to exactly one
key, the one with the largest integer score; among tied maxima the **first** (lowest position) or the
**last** (highest position) wins, fixed by ``tie_break``. In integers this is the argmax of
``n_ctx * score_j + rank_j`` with rank_j = n_ctx - 1 - j (first) or j (last), a key no two positions
share, so the choice is unique and the compiled comparator tree makes exactly the same one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tritlens.models.discrete_layers import step
from tritlens.models.hooks import HookPoint
from tritlens.models.layers import add_attention_biases_and_hooks
from tritlens.quant.quantizers import ste, ternary_trits

TIE_BREAKS = ("first", "last")


def trits(w: Tensor) -> Tensor:
    """Exact trits of a latent tensor (absmean rule over the whole tensor), straight-through gradient."""
    return ste(w, ternary_trits(w))


def int_bias(b: Tensor | None) -> Tensor | float:
    """Integer bias (rounded, straight-through), or 0.0 when the layer has none."""
    return 0.0 if b is None else ste(b, torch.round(b))


def hoyer(w: Tensor) -> Tensor:
    """Scale-invariant sparsity penalty mean|w| / rms(w) (see ``TernaryLinear.sparsity_penalty``)."""
    return w.abs().mean() / (w.pow(2).mean().sqrt() + 1e-8)


def _latent(*shape: int, generator: torch.Generator) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape, generator=generator))


def _bias(shape: tuple[int, ...], enabled: bool) -> nn.Parameter | None:
    return nn.Parameter(torch.zeros(shape)) if enabled else None


def tie_rank(n_keys: int, tie_break: str, device: torch.device | None = None) -> Tensor:
    """[n_keys] distinct ranks in 0..n_keys-1: the tied key with the larger rank wins."""
    j = torch.arange(n_keys, device=device)
    return n_keys - 1 - j if tie_break == "first" else j


def hard_pattern(scores: Tensor, allowed: Tensor, tie_break: str) -> Tensor:
    """One-hot [..., n_q, n_k] attention on the largest allowed score, ties broken by ``tie_break``.

    ``scores`` are exact integers; ``allowed`` [n_q, n_k] masks keys a query may not see.
    """
    n_k = scores.shape[-1]
    key = scores * n_k + tie_rank(n_k, tie_break, scores.device)
    key = key.masked_fill(~allowed, float("-inf"))
    return F.one_hot(key.argmax(-1), n_k).to(scores.dtype)


class HardAttention(nn.Module):
    """Multi-head attention with ternary W_Q, W_K, W_V, W_O, integer biases and hard attention."""

    def __init__(self, n_heads: int, d_model: int, d_head: int, causal: bool, biases: bool,
                 tie_break: str, temperature: float, generator: torch.Generator) -> None:
        super().__init__()
        self.n_heads, self.d_head, self.causal = n_heads, d_head, causal
        self.tie_break, self.temperature = tie_break, temperature
        self.W_Q = _latent(n_heads, d_model, d_head, generator=generator)
        self.W_K = _latent(n_heads, d_model, d_head, generator=generator)
        self.W_V = _latent(n_heads, d_model, d_head, generator=generator)
        self.W_O = _latent(n_heads, d_head, d_model, generator=generator)
        add_attention_biases_and_hooks(self, n_heads, d_head, d_model, biases)

    def project(self, x: Tensor, which: str) -> Tensor:
        """Integer queries, keys or values [batch, pos, n_heads, d_head] of residual vectors x."""
        w = trits(getattr(self, f"W_{which}"))  # [H, d_model, d_head]
        return torch.einsum("bpd,hde->bphe", x, w) + int_bias(getattr(self, f"b_{which}"))

    def allowed(self, n_pos: int, device: torch.device) -> Tensor:
        """[n_q, n_k] which keys each query sees (j <= i when causal)."""
        full = torch.ones(n_pos, n_pos, dtype=torch.bool, device=device)
        return full.tril() if self.causal else full

    def forward(self, x: Tensor, queries: list[int] | None = None) -> Tensor:
        """Attention output [batch, n_q, d_model] at every position, or only at ``queries``."""
        q = self.hook_q(self.project(x if queries is None else x[:, queries], "Q"))  # [batch, n_q, H, e]
        k = self.hook_k(self.project(x, "K"))  # [batch, pos, head, d_head]
        v = self.hook_v(self.project(x, "V"))
        allowed = self.allowed(x.shape[1], x.device)
        if queries is not None:
            allowed = allowed[queries]
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k)  # [batch, head, query, key], integers
        scores = self.hook_attn_scores(scores.masked_fill(~allowed, float("-inf")))
        hard = hard_pattern(scores.masked_fill(~allowed, 0.0), allowed, self.tie_break)
        rank = tie_rank(x.shape[1], self.tie_break, x.device) / x.shape[1]
        soft = ((scores + rank) / self.temperature).softmax(-1)  # surrogate: gradient only
        pattern = self.hook_pattern(ste(soft, hard))  # forward exactly one-hot, backward the softmax
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))  # the selected values
        return torch.einsum("bqhe,hed->bqd", z, trits(self.W_O)) + int_bias(self.b_O)

    def sparsity_terms(self) -> list[Tensor]:
        return [hoyer(w) for w in (self.W_Q, self.W_K, self.W_V, self.W_O)]


class ThresholdMLP(nn.Module):
    """post = step(x W_in + b_in) in {0, 1}; out = post W_out + b_out (ternary W_in, W_out)."""

    def __init__(self, d_model: int, d_mlp: int, biases: bool, surrogate: str, temperature: float,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.surrogate, self.temperature = surrogate, temperature
        self.W_in = _latent(d_model, d_mlp, generator=generator)
        self.b_in = nn.Parameter(torch.zeros(d_mlp))  # a threshold unit always has its threshold
        self.W_out = _latent(d_mlp, d_model, generator=generator)
        self.b_out = _bias((d_model,), biases)
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        pre = self.hook_pre(x @ trits(self.W_in) + int_bias(self.b_in))
        post = self.hook_post(step(pre, self.surrogate, self.temperature))
        return post @ trits(self.W_out) + int_bias(self.b_out)

    def sparsity_terms(self) -> list[Tensor]:
        return [hoyer(self.W_in), hoyer(self.W_out)]


class DiscreteBlock(nn.Module):
    """resid_mid = resid_pre + attn(resid_pre); resid_post = resid_mid + mlp(resid_mid); no norms."""

    def __init__(self, attn: HardAttention, mlp: ThresholdMLP | None) -> None:
        super().__init__()
        self.attn, self.mlp = attn, mlp
        self.hook_resid_pre = HookPoint()
        self.hook_attn_out = HookPoint()
        if mlp is not None:
            self.hook_resid_mid = HookPoint()
            self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, resid: Tensor, queries: list[int] | None = None) -> Tensor:
        """The block at every position, or (the answer fast path) only at ``queries``."""
        resid = self.hook_resid_pre(resid)
        here = resid if queries is None else resid[:, queries]
        resid = here + self.hook_attn_out(self.attn(resid, queries))
        if self.mlp is not None:
            resid = self.hook_resid_mid(resid)
            resid = resid + self.hook_mlp_out(self.mlp(resid))
        return self.hook_resid_post(resid)
