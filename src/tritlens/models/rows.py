"""Exact one-layer fast path: the answer position's MLP input and direct logits as gathered table rows.

In a one-layer model without norms after attention, the residual stream at an answer position is a
sum of vectors that depend only on (token, position): its own embedding row, and per head and key
position, the pattern weight times that key's value row times W_O. Everything linear after it, the
MLP input (``@ W_in``) and the direct path to the logits (``@ W_U``), can therefore be applied to the
small (head, position, token) table once per step, and each example's pre-activation becomes a
weighted sum of ``n_heads * n_pos + 1`` table rows instead of a [d_model x d_mlp] matrix product.
With no final norm, ``W_out @ W_U`` is one [d_mlp, d_vocab_out] matrix. Exact algebra: the same sums
in another order (tested against the plain forward, values and gradients, in float64).

    logits = answer_logits_by_rows(model, grid, normed, index, pattern, pos)
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from tritlens.models.transformer import HookedTransformer


class _GatherRows(torch.autograd.Function):
    """out_i[n] = sum_k w[n, k] * tables_i[idx[n, k]] for each table: PyTorch's ``embedding_bag``
    forward, with a backward built from two sparse products (the stock dense backward is ~10x slower
    on a CPU). Several tables share the index work of the backward."""

    @staticmethod
    def forward(idx: Tensor, w: Tensor, *tables: Tensor) -> tuple[Tensor, ...]:
        return tuple(F.embedding_bag(idx, t, per_sample_weights=w, mode="sum") for t in tables)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor, ...], output: Any) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, ...]:
        idx, w, *tables = ctx.saved_tensors
        n, k = idx.shape
        n_rows = tables[0].shape[0]
        grad_w, grad_tables = None, []
        if any(ctx.needs_input_grad[2:]):  # table row r gets the sum of w * grad over the (n, k) reading it
            order, offsets = _grouped(idx, n_rows)
            examples, weights = order // k, w.flatten()[order]
            grad_tables = [F.embedding_bag(examples, g.contiguous(), offsets, mode="sum",
                                           per_sample_weights=weights) if need else None
                           for g, need in zip(grads, ctx.needs_input_grad[2:], strict=True)]
        if ctx.needs_input_grad[1]:  # grad_w[n, k] = grad[n] . table[idx[n, k]]: a sampled product
            crow = torch.arange(0, n * k + 1, k, device=idx.device)
            zeros = torch.zeros(n * k, dtype=w.dtype, device=w.device)
            with warnings.catch_warnings():  # "sparse CSR support is in beta": used read-only here
                warnings.simplefilter("ignore")
                mask = torch.sparse_csr_tensor(crow, idx.flatten(), zeros, size=(n, n_rows),
                                               check_invariants=False)
                grad_w = sum(torch.sparse.sampled_addmm(mask, g.contiguous(), t.t()).values()
                             for g, t in zip(grads, tables, strict=True)).view(n, k)
        return None, grad_w, *grad_tables

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None, ...], idx: Tensor, w: Tensor, *tables: Tensor
             ) -> tuple[tuple[Tensor, ...], tuple[int, ...]]:
        """Under ``torch.func.vmap`` (ensembles): the K problems become one, the tables stacked and
        each member's indices moved to its own block of rows."""
        k = info.batch_size
        idx, w, *tables = (x.movedim(d, 0) if d is not None else x.expand(k, *x.shape)
                           for x, d in zip((idx, w, *tables), in_dims, strict=True))
        n_rows = tables[0].shape[1]
        offsets = torch.arange(k, device=idx.device).view(k, 1, 1) * n_rows
        outs = _GatherRows.apply((idx + offsets).flatten(0, 1), w.flatten(0, 1),
                                 *(t.flatten(0, 1) for t in tables))
        return tuple(o.unflatten(0, (k, -1)) for o in outs), (0,) * len(outs)


_LAST = threading.local()  # per thread (ensemble groups train side by side): the last index grouped


def _grouped(idx: Tensor, n_rows: int) -> tuple[Tensor, Tensor]:
    """The positions of ``idx``'s entries grouped by row (a stable sort) and each row's first position.
    The last answer is kept: a full-batch run gathers the same rows every step, and sorting them
    again would cost more than the rest of the backward pass."""
    last = getattr(_LAST, "entry", None)
    if last is not None:
        seen, rows, order, offsets = last
        same = seen.shape == idx.shape and seen.device == idx.device and torch.equal(seen, idx)
        if same and rows == n_rows:
            return order, offsets
    flat = idx.flatten()
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=n_rows)
    offsets = counts.cumsum(0) - counts
    _LAST.entry = (idx.clone(), n_rows, order, offsets)
    return order, offsets


def gather_rows(idx: Tensor, w: Tensor, *tables: Tensor) -> tuple[Tensor, ...]:
    """For each table [R, width_i]: [N, width_i] whose row n is the ``w[n]``-weighted sum of the rows
    ``idx[n]`` [N, K] of that table (all tables have R rows)."""
    return _GatherRows.apply(idx, w, *tables)


def rows_apply(model: HookedTransformer) -> bool:
    """Whether :func:`answer_logits_by_rows` is exact for ``model``: one layer with an MLP, no norm
    after attention (before the MLP or the unembedding), and no activation quantization at the
    attention output, MLP or unembedding (those act per example, not linearly)."""
    cfg, q = model.cfg, model.quant
    quantized_acts = q.act_bits is not None and any(m != "none" for m in (q.attn, q.mlp, q.unembed))
    block = model.blocks[0]
    return (len(model.blocks) == 1 and block.mlp is not None and block.ln2.kind == "none"
            and model.ln_final.kind == "none" and not quantized_acts and cfg.d_mlp > 0)


def answer_logits_by_rows(model: HookedTransformer, grid: Tensor, normed: Tensor, index: Tensor,
                          pattern: Tensor, pos: list[int]) -> Tensor:
    """Logits [B, A, d_vocab_out] at the answer positions ``pos`` of a model :func:`rows_apply` accepts.

    ``grid`` [T * V, d] holds the residual rows of every (position, token) pair (row t * V + token),
    ``normed`` the same after the first norm, ``index`` [B, T] each input token's grid row and
    ``pattern`` [B, H, A, T] the attention weights of the answer positions.
    """
    block = model.blocks[0]
    attn, mlp, unembed = block.attn, block.mlp, model.unembed
    assert mlp is not None
    n_batch, n_heads, n_ans, n_pos = pattern.shape
    n_grid, vocab, device = grid.shape[0], model.d_vocab, index.device
    w_in, w_u = mlp.weight("W_in"), unembed.weight("W_U")  # [d, M], [d, O]
    v, w_o = attn.project(normed, "V").transpose(0, 1), attn.weight("W_O")  # [H, T * V, e], [H, e, d]
    own = grid.unflatten(0, (-1, vocab))[pos].flatten(0, 1)  # [A * V, d]: the answer rows' own residual
    tables = []
    b_o, b_out = attn.b_O, mlp.b_out
    for w, bias in ((w_in, _total(_times(b_o, w_in), mlp.b_in)),  # the MLP input, the direct logits
                    (w_u, _total(_times(b_o, w_u), _times(b_out, w_u), unembed.b_U))):
        own_rows = own @ w if bias is None else own @ w + bias  # the biases ride on the own row
        tables.append(torch.cat([torch.bmm(v, w_o @ w).flatten(0, 1), own_rows]))  # [H*T*V + A*V, .]
    head_rows = torch.arange(n_heads, device=device).view(1, -1, 1) * n_grid + index[:, None, :]
    head_rows = head_rows.unsqueeze(1).expand(-1, n_ans, -1, -1)  # [B, A, H, T]
    tokens = index[:, pos] - torch.tensor(pos, device=device) * vocab  # [B, A]
    own_idx = n_heads * n_grid + torch.arange(n_ans, device=device) * vocab + tokens
    idx = torch.cat([head_rows.flatten(2), own_idx.unsqueeze(-1)], -1).flatten(0, 1)  # [B * A, H*T + 1]
    weights = torch.cat([pattern.transpose(1, 2).flatten(2), pattern.new_ones(n_batch, n_ans, 1)], -1)
    pre, direct = gather_rows(idx, weights.flatten(0, 1), *tables)  # [B * A, M], [B * A, O]
    logits = direct + mlp.act_fn(pre) @ (mlp.weight("W_out") @ w_u)  # W_out W_U: one matrix
    # (not addmm: its fused sum rounds differently from vmap's batched form, and ensembles are exact)
    return logits.unflatten(0, (n_batch, n_ans))


def _total(*terms: Tensor | None) -> Tensor | None:
    """The sum of the terms that exist (None when none does)."""
    present = [t for t in terms if t is not None]
    return sum(present[1:], present[0]) if present else None


def _times(b: Tensor | None, w: Tensor) -> Tensor | None:
    return None if b is None else b @ w
