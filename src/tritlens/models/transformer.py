"""A small decoder-only transformer with TransformerLens parameter names, shapes and hook names.

Weights: ``embed.W_E`` [d_vocab, d_model], ``pos_embed.W_pos`` [n_ctx, d_model],
``blocks.L.attn.W_Q|W_K|W_V`` [n_heads, d_model, d_head], ``W_O`` [n_heads, d_head, d_model],
``blocks.L.mlp.W_in`` [d_model, d_mlp], ``W_out`` [d_mlp, d_model], ``unembed.W_U`` [d_model, d_vocab_out].
Quantized layers keep latent float weights; ``effective_weights()`` gives what the forward pass uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tritlens.errors import ConfigError, short
from tritlens.fields import setting
from tritlens.models.hooks import HookedModule, HookPoint
from tritlens.models.init import INIT_MODES, initialise
from tritlens.models.layers import MLP, Attention, Embed, Norm, PosEmbed, QuantSpec, Unembed
from tritlens.models.rows import answer_logits_by_rows, rows_apply
from tritlens.quant import TERNARY_RULES, WEIGHT_MODES, quantizer_mode


@dataclass
class TransformerConfig:
    """Architecture knobs; vocabulary sizes and context length come from the task."""

    n_layers: int = setting(1, lo=1, hi=64)
    n_heads: int = setting(4, lo=1, hi=1024)
    d_model: int = setting(128, lo=1, hi=1 << 20)
    d_head: int | None = setting(None, lo=1, hi=1 << 20)  # None: d_model // n_heads
    d_mlp: int = setting(512, lo=0, hi=1 << 24)  # 0: attention only
    act: str = setting("relu", choices=("relu", "gelu"))
    norm: str = setting("none", choices=("none", "layer", "rms"))
    norm_where: str = setting("all", choices=("all", "final"))  # final: before the unembed only
    pos_embed: bool = True
    causal: bool = True
    biases: bool = True
    freeze_biases: bool = False
    init_std: float | None = setting(None, lo=0.0, hi=100.0, lo_open=True)  # None: 0.8/sqrt(d_model), as TL
    init: str = setting("tl", choices=INIT_MODES)  # tl | torch (nn.Linear defaults) | li2024 (models/init.py)
    attn_scale: str | float = setting("d_head", lo=0.0, hi=1e12, lo_open=True)  # scores = q.k / sqrt(d_head)
    # | / sqrt(d_model) ("d_model", Li 2024) | / a number (TransformerLens's attn_scale)
    norm_eps: float = setting(1e-5, lo=0.0, hi=1.0)  # added to the mean square inside RMSNorm/LayerNorm

    def __post_init__(self) -> None:
        if isinstance(self.attn_scale, str) and self.attn_scale not in ("d_head", "d_model"):
            try:
                self.attn_scale = float(self.attn_scale)
            except ValueError:
                raise ConfigError("model.attn_scale must be d_head, d_model or a positive number, "
                                  f"got {short(self.attn_scale)}") from None

    def attention_divisor(self, d_head: int) -> float:
        """What q.k is divided by: sqrt(d_head), sqrt(d_model) or the number given."""
        if self.attn_scale == "d_head":
            return math.sqrt(d_head)
        if self.attn_scale == "d_model":
            return math.sqrt(self.d_model)
        return float(self.attn_scale)


@dataclass
class QuantConfig:
    """Weight quantization per component group, and optional activation quantization."""

    attn: str = setting("none", choices=WEIGHT_MODES)  # none | binary | ternary (W_Q, W_K, W_V, W_O)
    mlp: str = setting("none", choices=WEIGHT_MODES)  # W_in, W_out
    embed: str = setting("none", choices=WEIGHT_MODES)  # W_E, W_pos
    unembed: str = setting("none", choices=WEIGHT_MODES)  # W_U
    binary_scale: bool = True  # multiply binary weights by mean|W| (BitNet); False: plain signs
    ternary_rule: str = setting("b158", choices=TERNARY_RULES)  # b158: BitNet b1.58; centred: Li 2024
    act_bits: int | None = setting(None, lo=2, hi=16)  # per-token absmax bits at quantized layers' inputs

    def spec(self, group: str, activations: bool = True) -> QuantSpec:
        """How the weights of ``group`` (attn, mlp, embed, unembed) are quantized."""
        return QuantSpec(quantizer_mode(getattr(self, group), self.ternary_rule), self.binary_scale,
                         self.act_bits if activations else None)


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, d_head: int, q: QuantConfig) -> None:
        super().__init__()
        per_block_norm = cfg.norm if cfg.norm_where == "all" else "none"
        self.ln1 = Norm(cfg.d_model, per_block_norm, cfg.norm_eps)
        self.attn = Attention(cfg.n_heads, cfg.d_model, d_head, cfg.causal, cfg.biases,
                              q.spec("attn"), cfg.attention_divisor(d_head))
        self.ln2 = Norm(cfg.d_model, per_block_norm, cfg.norm_eps) if cfg.d_mlp else None
        self.mlp = (MLP(cfg.d_model, cfg.d_mlp, cfg.act, cfg.biases,
                        q.spec("mlp")) if cfg.d_mlp else None)
        self.hook_resid_pre = HookPoint()
        self.hook_attn_out = HookPoint()
        if self.mlp is not None:  # attention-only blocks have no mid point (as in TransformerLens)
            self.hook_resid_mid = HookPoint()
            self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def kv(self, resid: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values [batch, pos, H, d_head] this block computes from ``resid``."""
        x = self.ln1(resid)
        return self.attn.project(x, "K"), self.attn.project(x, "V")

    def fast(self, resid: Tensor, pos: list[int] | None = None, past: tuple[Tensor, Tensor] | None = None
             ) -> Tensor:
        """The block without hooks and with fused attention.

        ``resid`` [batch, S, d_model] holds the positions after ``past``, the keys and values [batch, P,
        H, d_head] of positions 0..P-1 (None: P = 0). With ``pos`` (indices into ``resid``'s positions)
        queries, MLP and output are computed only there: [batch, len(pos) or S, d_model].
        """
        x = self.ln1(resid)
        attn = self.attn
        k, v = attn.project(x, "K"), attn.project(x, "V")
        offset = 0 if past is None else past[0].shape[1]
        if past is not None:
            k, v = torch.cat([past[0], k], 1), torch.cat([past[1], v], 1)
        if pos is None and offset == 0:
            z = attn.fused(attn.project(x, "Q"), k, v)
        else:
            pos = list(range(resid.shape[1])) if pos is None else pos
            resid = resid[:, pos]
            q_pos = torch.tensor(pos, device=x.device) + offset
            z = attn.fused(attn.project(x[:, pos], "Q"), k, v, q_pos)
        resid = resid + attn.output(z)
        if self.mlp is not None:
            resid = resid + self.mlp(self.ln2(resid))
        return resid

    def forward(self, resid: Tensor) -> Tensor:
        resid = self.hook_resid_pre(resid)
        resid = resid + self.hook_attn_out(self.attn(self.ln1(resid)))
        if self.mlp is not None:
            resid = self.hook_resid_mid(resid)
            resid = resid + self.hook_mlp_out(self.mlp(self.ln2(resid)))
        return self.hook_resid_post(resid)


class HookedTransformer(HookedModule):
    """Decoder-only transformer; ``answer_logits`` is the training entry point (with a fast path)."""

    fully_discrete = False

    def __init__(self, cfg: TransformerConfig, d_vocab: int, d_vocab_out: int, n_ctx: int,
                 quant: QuantConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        q = quant or QuantConfig()
        self.cfg, self.quant = cfg, q
        self.d_vocab, self.d_vocab_out, self.n_ctx = d_vocab, d_vocab_out, n_ctx
        d_head = cfg.d_head or cfg.d_model // cfg.n_heads
        self.embed = Embed(d_vocab, cfg.d_model, q.spec("embed", activations=False))
        self.hook_embed = HookPoint()
        self.pos_embed = PosEmbed(n_ctx, cfg.d_model, q.spec("embed", activations=False)) \
            if cfg.pos_embed else None
        self.hook_pos_embed = HookPoint() if cfg.pos_embed else None
        self.blocks = nn.ModuleList(Block(cfg, d_head, q) for _ in range(cfg.n_layers))
        self.ln_final = Norm(cfg.d_model, cfg.norm, cfg.norm_eps)
        self.unembed = Unembed(cfg.d_model, d_vocab_out, cfg.biases,
                               q.spec("unembed"))
        self.reset_parameters(seed)
        self.setup_hooks()

    @torch.no_grad()
    def reset_parameters(self, seed: int) -> None:
        """Seeded init by ``cfg.init`` (models/init.py: ``tl`` gives TransformerLens's exact weights);
        biases are frozen afterwards when ``cfg.freeze_biases``."""
        initialise(self, self.cfg.init, seed, self.cfg.init_std or 0.8 / math.sqrt(self.cfg.d_model))
        for name, p in self.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("b_") and self.cfg.freeze_biases:
                p.requires_grad_(False)

    # -- plain path: every position, every hook -------------------------------------------------
    def residual_embedding(self, tokens: Tensor) -> Tensor:
        resid = self.hook_embed(self.embed(tokens))
        if self.pos_embed is not None:
            resid = resid + self.hook_pos_embed(self.pos_embed(tokens.shape[-1]))
        return resid

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits [batch, pos, d_vocab_out] for integer tokens [batch, pos]."""
        return self.forward_from(self.residual_embedding(tokens), 0)

    def forward_from(self, resid: Tensor, layer: int) -> Tensor:
        """Logits from the residual stream entering block ``layer`` (hooks from there on apply), so an
        intervention at a later layer can reuse the activations before it."""
        for block in self.blocks[layer:]:
            resid = block(resid)
        return self.unembed(self.ln_final(resid))

    # -- fast path ------------------------------------------------------------------------------
    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        """Logits [batch, len(positions), d_vocab_out] at the answer positions only.

        In a one-layer model nothing but the answer positions reaches the loss, and the attention
        inputs (embedding + position, normalised) depend only on (token, position). So keys and
        values are computed once per step on the (position x vocabulary) grid, attention scores come
        from a small (query token x key row) table, and the MLP and unembedding run only at the
        answer positions; where no norm or activation quantization follows attention, the MLP input
        and direct logits are gathered rows of a (head, position, token) table (models/rows.py).
        Exact algebra: same numbers as ``forward(tokens)[:, positions]`` up to float rounding
        (tested, values and gradients). Models with several layers take :meth:`_deep_answer_logits`;
        attached hooks always get the plain path. Written so that ``torch.func.vmap`` over stacked
        weights (ensembles) rounds exactly as one model does: no ``addmm``, contiguous operands.
        """
        pos = list(positions)
        if self.has_active_hooks:
            return self(tokens)[:, pos]
        if self.cfg.causal:  # nothing after the last answer position can reach the answers
            tokens = tokens[:, :max(pos) + 1]
        if len(self.blocks) > 1:
            return self._deep_answer_logits(tokens, pos)
        block = self.blocks[0]
        grid, index = self._grid(tokens)
        normed = block.ln1(grid)
        scores = self._grid_scores(block.attn, normed, tokens, index, pos)
        if rows_apply(self):  # the MLP input as gathered table rows (models/rows.py)
            pattern = block.attn.pattern(scores, torch.tensor(pos, device=tokens.device))
            return answer_logits_by_rows(self, grid, normed, index, pattern, pos)
        v = F.embedding(index, block.attn.project(normed, "V").flatten(1))
        z = block.attn.mix(scores, v.unflatten(-1, (block.attn.n_heads, -1)),
                           torch.tensor(pos, device=tokens.device))
        resid = F.embedding(index[:, pos], grid) + block.attn.output(z)
        if block.mlp is not None:
            resid = resid + block.mlp(block.ln2(resid))
        return self.unembed(self.ln_final(resid))

    def _grid(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Residual rows [T * V, d] of every (position, token) pair (row t * V + token) and the row of
        each input token [B, T]."""
        n_pos = tokens.shape[1]
        grid = self.embed.weight("W_E").unsqueeze(0)  # [1, V, d]
        if self.pos_embed is not None:
            grid = grid + self.pos_embed(n_pos).unsqueeze(1)  # [T, V, d]
        grid = grid.expand(n_pos, -1, -1).reshape(n_pos * self.d_vocab, -1)
        index = tokens + torch.arange(n_pos, device=tokens.device) * self.d_vocab
        return grid, index

    def _deep_answer_logits(self, tokens: Tensor, pos: list[int]) -> Tensor:
        """The fast path of models with several layers, exact algebra like the one-layer path.

        Layer 0's queries, keys and values depend only on (token, position), so they are computed on
        the (position x vocabulary) grid and gathered. Attention uses PyTorch's fused kernel (no hook
        needs the pattern). The last layer needs keys and values at every position but queries, the
        MLP and the unembedding only at the answer positions, so only those are computed.
        """
        attn = self.blocks[0].attn
        grid, index = self._grid(tokens)
        normed = self.blocks[0].ln1(grid)
        qkv = [F.embedding(index, attn.project(normed, w).flatten(1)).unflatten(-1, (attn.n_heads, -1))
               for w in "QKV"]  # [B, T, H, d_head] each
        resid = self._first_block(grid, index, qkv, None)
        for block in self.blocks[1:-1]:
            resid = block.fast(resid)
        resid = self.blocks[-1].fast(resid, pos)
        return self.unembed(self.ln_final(resid))

    def answer_logits_shared(self, tokens: Tensor, positions: tuple[int, ...], prefix: int) -> Tensor:
        """:meth:`answer_logits` for rows whose first ``prefix`` tokens repeat in runs (sort the rows by
        them): the prefix positions are computed once per run of equal prefixes.

        Exact in causal models, where no position before ``prefix`` sees a later token: the prefix
        pass gives, per distinct prefix, the keys and values every layer after the first reads there;
        the rows then compute only their own positions from ``prefix`` on (layer 0 from the grid, as
        in :meth:`_deep_answer_logits`). Falls back to :meth:`answer_logits` where this does not apply
        (hooks, one layer, non-causal attention, an answer position inside the prefix).
        """
        pos = list(positions)
        if self.has_active_hooks or len(self.blocks) < 2 or not self.cfg.causal or not 0 < prefix <= min(pos):
            return self.answer_logits(tokens, positions)
        tokens = tokens[:, :max(pos) + 1]
        first, attn = self.blocks[0], self.blocks[0].attn
        grid, index = self._grid(tokens)
        normed = first.ln1(grid)
        tables = [attn.project(normed, w).flatten(1) for w in "QKV"]  # [T * V, H * d_head] each
        gather = lambda t, rows: F.embedding(rows, t).unflatten(-1, (attn.n_heads, -1))  # noqa: E731
        uniq, inverse = torch.unique_consecutive(index[:, :prefix], dim=0, return_inverse=True)
        resid = self._first_block(grid, uniq, [gather(t, uniq) for t in tables], None)
        pasts = []
        for block in self.blocks[1:]:
            pasts.append(block.kv(resid))
            if block is not self.blocks[-1]:
                resid = block.fast(resid)
        rows = index[:, prefix:]
        q, k, v = gather(tables[0], rows), gather(tables[1], index), gather(tables[2], index)
        later = torch.arange(prefix, index.shape[1], device=q.device)
        resid = self._first_block(grid, rows, [q, k, v], later)
        for block, (k, v) in zip(self.blocks[1:], pasts, strict=True):
            answers = [p - prefix for p in pos] if block is self.blocks[-1] else None
            resid = block.fast(resid, answers, past=(k[inverse], v[inverse]))
        return self.unembed(self.ln_final(resid))

    def _first_block(self, grid: Tensor, rows: Tensor, qkv: list[Tensor], q_pos: Tensor | None) -> Tensor:
        """Layer 0 from gathered grid rows: residual [B, len(q_pos) or T, d] after attention and MLP."""
        first = self.blocks[0]
        resid = F.embedding(rows, grid) + first.attn.output(first.attn.fused(*qkv, q_pos))
        return resid + first.mlp(first.ln2(resid)) if first.mlp is not None else resid

    def _grid_scores(self, attn: Attention, normed: Tensor, tokens: Tensor, index: Tensor,
                     pos: list[int]) -> Tensor:
        """Scaled attention scores [B, H, A, T] gathered from the table of every (answer position,
        query token) against every key grid row: [H, A, V, T * V], a few hundred thousand entries."""
        n_grid, vocab = normed.shape[0], self.d_vocab
        rows = normed.unflatten(0, (-1, vocab)).index_select(0, torch.tensor(pos, device=normed.device))
        q_grid = attn.project(rows.flatten(0, 1), "Q")  # [A * V, H, e]
        k_grid = attn.project(normed, "K")  # [T * V, H, e]
        # one matmul per head on contiguous copies: an einsum or strided views lay the product out
        # differently under vmap, and ensemble members must round as runs trained alone do
        q_h, k_h = q_grid.transpose(0, 1).contiguous(), k_grid.transpose(0, 1).contiguous()
        table = (q_h @ k_h.transpose(1, 2)) / attn.attn_scale  # [H, A * V, T * V]
        arange = partial(torch.arange, device=tokens.device)
        row = (arange(attn.n_heads).view(1, -1, 1) * len(pos) + arange(len(pos)).view(1, 1, -1)) * vocab
        row = row + tokens[:, pos].unsqueeze(1)  # [B, H, A]: the table row of each query
        return table.flatten()[row.unsqueeze(-1) * n_grid + index[:, None, None, :]]  # (vmap has no take)

    def extra_loss(self) -> Tensor | None:
        """No auxiliary loss (the trainer's hook for penalties such as a discrete model's sparsity)."""
        return None

    # -- quantized views --------------------------------------------------------------------------
    def quantized_layers(self) -> dict[str, tuple[nn.Module, str]]:
        """Parameter name -> (module, weight attribute) for every weight matrix."""
        out: dict[str, tuple[nn.Module, str]] = {}
        for mod_name, module in self.named_modules():
            for attr in getattr(module, "WEIGHT_NAMES", ()):
                if getattr(module, attr, None) is not None:
                    out[f"{mod_name}.{attr}"] = (module, attr)
        return out

    @torch.no_grad()
    def effective_weights(self) -> dict[str, Tensor]:
        """Every parameter as the forward pass uses it (quantized and rescaled where configured)."""
        weights = {name: p.detach().clone() for name, p in self.named_parameters()}
        for name, (module, attr) in self.quantized_layers().items():
            weights[name] = module.weight(attr).detach().clone()
        return weights

    @torch.no_grad()
    def integer_weights(self) -> dict[str, tuple[Tensor, float]]:
        """Quantized weight matrices as exact integers (int8) and scale: effective = ints * scale."""
        return {name: module.spec.integer_form(getattr(module, attr))
                for name, (module, attr) in self.quantized_layers().items() if module.spec.mode != "none"}

    def trit_stats(self) -> dict[str, dict[str, float]]:
        """Per quantized matrix: counts of -1, 0, +1 and the zero fraction."""
        stats: dict[str, dict[str, float]] = {}
        for name, (ints, scale) in self.integer_weights().items():
            n = ints.numel()
            stats[name] = {"neg": int((ints < 0).sum()), "zero": int((ints == 0).sum()),
                           "pos": int((ints > 0).sum()), "zero_frac": float((ints == 0).sum()) / n,
                           "scale": scale}
        return stats
