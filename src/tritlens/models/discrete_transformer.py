"""A fully discrete transformer: every weight a trit, every activation an integer or a bit.

Parameter names and shapes are TransformerLens's (``embed.W_E`` [d_vocab, d_model], ``pos_embed.W_pos``,
``blocks.L.attn.W_Q`` [n_heads, d_model, d_head], ..., ``unembed.W_U`` [d_model, d_vocab_out]) and so are
the hook names (``hook_embed``, ``blocks.L.attn.hook_attn_scores``, ``blocks.L.mlp.hook_post``, ...), so
``run_with_cache``, the interventions and the Fourier analysis read it like any other model.

Forward, all exact integers: x = W_E[token] + W_pos[pos] (trits, no scale); per block hard attention
(integer scores q.k, one key per head: the argmax with a fixed tie-break, see ``hard_attention``), then a
threshold MLP (binary units); logits = x W_U + b_U, answer = argmax (ties to the lowest class, like
``torch.argmax``). Training uses straight-through gradients (trits, rounded biases), a surrogate for the
step and a softmax at ``attn_temperature`` in place of the hard attention in the backward pass only, so
the forward pass the trainer scores is always the exact integer model the compiler turns into gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from tritlens.fields import check_fields, seed, setting
from tritlens.models.discrete import TritStats
from tritlens.models.discrete_layers import SURROGATES, IntLayer
from tritlens.models.hard_attention import (
    TIE_BREAKS,
    DiscreteBlock,
    HardAttention,
    ThresholdMLP,
    hoyer,
    int_bias,
    trits,
)
from tritlens.models.hooks import HookedModule, HookPoint

BIASES = ("b_Q", "b_K", "b_V", "b_O", "b_in", "b_out", "b_U")


@dataclass
class DiscreteTransformerConfig:
    """Sizes and training knobs of the discrete transformer (vocabulary and context come from the task)."""

    n_layers: int = setting(1, lo=1, hi=8)
    n_heads: int = setting(2, lo=1, hi=64)
    d_model: int = setting(32, lo=1, hi=4096)
    d_head: int = setting(8, lo=1, hi=1024)
    d_mlp: int = setting(128, lo=0, hi=1 << 16)  # 0: attention only
    pos_embed: bool = True
    causal: bool = True
    biases: bool = True  # integer biases on Q, K, V, O, MLP out and unembed (b_in always exists)
    tie_break: str = setting("first", choices=TIE_BREAKS)  # which of several equal maxima a head attends to
    init_density: float = setting(0.2, lo=0.0, hi=1.0, lo_open=True)  # share of nonzero trits at init
    attn_temperature: float = setting(2.0, lo=0.0, hi=1e6, lo_open=True)  # softmax of the backward pass
    surrogate: str = setting("sigmoid", choices=SURROGATES)  # straight-through gradient of the step
    temperature: float = setting(2.0, lo=0.0, hi=1e6, lo_open=True)  # width of the step's surrogate
    sparsity: float = setting(1e-3, lo=0.0, hi=1e6)  # weight of the Hoyer penalty in the training loss
    logit_scale: float = setting(1.0, lo=0.0, hi=1e6, lo_open=True)  # positive: never changes the argmax
    seed: int = seed(0)


class DiscreteTransformer(HookedModule):
    """Decoder-only transformer with ternary weights, hard attention and threshold MLPs."""

    fully_discrete = True
    answer_positions: tuple[int, ...] | None = None  # set by the builder from the task

    def __init__(self, cfg: DiscreteTransformerConfig, d_vocab: int, d_vocab_out: int, n_ctx: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_fields(cfg, "model")
        self.cfg, self.d_vocab, self.d_vocab_out, self.n_ctx = cfg, d_vocab, d_vocab_out, n_ctx
        gen = generator if generator is not None else torch.Generator().manual_seed(cfg.seed)
        self.embed = nn.Module()
        self.embed.W_E = nn.Parameter(torch.randn(d_vocab, cfg.d_model, generator=gen))
        self.hook_embed = HookPoint()
        if cfg.pos_embed:
            self.pos_embed = nn.Module()
            self.pos_embed.W_pos = nn.Parameter(torch.randn(n_ctx, cfg.d_model, generator=gen))
            self.hook_pos_embed = HookPoint()
        else:
            self.pos_embed = None
        blocks = []
        for _ in range(cfg.n_layers):
            attn = HardAttention(cfg.n_heads, cfg.d_model, cfg.d_head, cfg.causal, cfg.biases, cfg.tie_break,
                                 cfg.attn_temperature, gen)
            mlp = ThresholdMLP(cfg.d_model, cfg.d_mlp, cfg.biases, cfg.surrogate, cfg.temperature, gen) \
                if cfg.d_mlp else None
            blocks.append(DiscreteBlock(attn, mlp))
        self.blocks = nn.ModuleList(blocks)
        self.unembed = nn.Module()
        self.unembed.W_U = nn.Parameter(torch.randn(cfg.d_model, d_vocab_out, generator=gen))
        self.unembed.b_U = nn.Parameter(torch.zeros(d_vocab_out)) if cfg.biases else None
        self.sparsify_init(cfg.init_density, gen)
        self.setup_hooks()

    @torch.no_grad()
    def sparsify_init(self, density: float, generator: torch.Generator) -> None:
        """Keep a ``density`` share of each matrix's latent weights and shrink the rest 100x.

        Integer sums have no normalisation, so dense random trits make residual values, attention scores
        and MLP inputs grow with every matrix (and the compiled adders with them). The absmean rule maps
        the shrunk entries to 0, so the model starts with about ``density`` nonzero trits.
        """
        if density >= 1.0:
            return
        for w in self._matrices().values():
            keep = torch.rand(w.shape, generator=generator) < density
            w.mul_(torch.where(keep, 1.0, 0.01))

    # -- forward --------------------------------------------------------------------------------
    def forward(self, tokens: Tensor, queries: list[int] | None = None) -> Tensor:
        """Integer logits [batch, pos, d_vocab_out] (times ``logit_scale``) for tokens [batch, pos];
        with ``queries`` the last block runs at those positions only (see ``answer_logits``)."""
        resid = self.hook_embed(trits(self.embed.W_E)[tokens])  # [batch, pos, d_model]
        if self.pos_embed is not None:
            resid = resid + self.hook_pos_embed(trits(self.pos_embed.W_pos)[: tokens.shape[1]])
        for n, block in enumerate(self.blocks):
            resid = block(resid, queries if n == len(self.blocks) - 1 else None)
        logits = resid @ trits(self.unembed.W_U) + int_bias(self.unembed.b_U)
        return logits * self.cfg.logit_scale

    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        """Logits [batch, len(positions), d_vocab_out] at the answer positions (the training entry point).

        Exact fast path: a position's output reads the last block only through its own query, its own
        attention output and MLP, so the last block runs at the answer positions alone (same integers as
        ``forward(tokens)[:, positions]``, tested). Hooks see the full forward pass.
        """
        if self.has_active_hooks:
            return self(tokens)[:, list(positions)]
        return self(tokens, list(positions))

    @torch.no_grad()
    def predict(self, tokens: Tensor, positions: tuple[int, ...] | None = None) -> Tensor:
        """Discrete answers (argmax, lowest class on ties) at ``positions`` (default: all)."""
        positions = tuple(range(tokens.shape[1])) if positions is None else positions
        return self.answer_logits(tokens, positions).argmax(dim=-1)

    # -- training -------------------------------------------------------------------------------
    def sparsity_penalty(self) -> Tensor:
        """Mean Hoyer ratio over every weight matrix (embedding and unembedding included)."""
        return torch.stack([hoyer(w) for w in self._matrices().values()]).mean()

    def extra_loss(self) -> Tensor:
        """Added to the task loss by the trainer: ``cfg.sparsity * sparsity_penalty()``."""
        return self.cfg.sparsity * self.sparsity_penalty()

    # -- exact views ----------------------------------------------------------------------------
    def _matrices(self) -> dict[str, Tensor]:
        """Latent weight matrices by TransformerLens name."""
        return {name: p for name, p in self.named_parameters() if name.rsplit(".", 1)[-1].startswith("W_")}

    @torch.no_grad()
    def integer_weights(self) -> dict[str, np.ndarray]:
        """Every parameter as the exact integer (int64) the forward pass uses, by TransformerLens name."""
        out = {}
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            value = ternary_int(p) if leaf.startswith("W_") else torch.round(p)
            out[name] = value.to(torch.int64).cpu().numpy()
        return out

    @torch.no_grad()
    def effective_weights(self) -> dict[str, Tensor]:
        """The integer weights as float tensors (what analysis reads, e.g. ``embed.W_E``)."""
        return {name: torch.from_numpy(w).float() for name, w in self.integer_weights().items()}

    def integer_layers(self) -> list[IntLayer]:
        """Every matrix as an exact ``IntLayer`` (kind ``linear``: [out, in] trits and an integer bias).

        Attention matrices come per head (``blocks.L.attn.W_Q.h``); the compiler reads the structure from
        ``integer_weights`` and the config, these layers are the protocol's flat view of the same numbers.
        """
        w = self.integer_weights()
        layers = [IntLayer(w["embed.W_E"].T, np.zeros(self.cfg.d_model, np.int64), "linear", "embed.W_E")]
        if self.pos_embed is not None:
            layers.append(IntLayer(w["pos_embed.W_pos"].T, np.zeros(self.cfg.d_model, np.int64), "linear",
                                   "pos_embed.W_pos"))
        for layer in range(self.cfg.n_layers):
            pre = f"blocks.{layer}."
            for m in ("Q", "K", "V", "O"):
                mat = w[f"{pre}attn.W_{m}"]
                bias = w.get(f"{pre}attn.b_{m}")
                for h in range(self.cfg.n_heads):
                    b = np.zeros(mat.shape[2], np.int64)  # W_O: b_O is added once, with head 0
                    if bias is not None and (m != "O" or h == 0):
                        b = bias if m == "O" else bias[h]
                    layers.append(IntLayer(mat[h].T, b, "linear", f"{pre}attn.W_{m}.{h}"))
            if self.cfg.d_mlp:
                b_in = w[f"{pre}mlp.b_in"]
                layers.append(IntLayer(w[f"{pre}mlp.W_in"].T, b_in, "threshold", f"{pre}mlp.W_in"))
                b_out = w.get(f"{pre}mlp.b_out", np.zeros(self.cfg.d_model, np.int64))
                layers.append(IntLayer(w[f"{pre}mlp.W_out"].T, b_out, "linear", f"{pre}mlp.W_out"))
        b_u = w.get("unembed.b_U", np.zeros(self.d_vocab_out, np.int64))
        layers.append(IntLayer(w["unembed.W_U"].T, b_u, "scores", "unembed.W_U"))
        return layers

    def trit_stats(self) -> TritStats:
        """Trit counts per matrix (embedding and unembedding included); totals via ``stats["zero"]``."""
        stats = TritStats()
        for name, p in self._matrices().items():
            t = ternary_int(p)
            n, z, pos = int((t < 0).sum()), int((t == 0).sum()), int((t > 0).sum())
            stats[name] = {"neg": n, "zero": z, "pos": pos, "zero_frac": z / max(1, t.numel()), "scale": 1.0}
        return stats

    @torch.no_grad()
    def set_integer(self, name: str, value: np.ndarray | list) -> None:
        """Load exact trits (``W_*``) or integer biases (``b_*``) by TransformerLens name (hand-built)."""
        params = dict(self.named_parameters())
        if name not in params:
            raise KeyError(f"no parameter {name!r}; parameters: {', '.join(params)}")
        p = params[name]
        v = torch.as_tensor(np.asarray(value), dtype=torch.float32)
        if v.shape != p.shape:
            raise ValueError(f"{name} has shape {tuple(p.shape)}, got {tuple(v.shape)}")
        is_matrix = name.rsplit(".", 1)[-1].startswith("W_")
        if is_matrix and not torch.isin(v, torch.tensor([-1.0, 0.0, 1.0])).all():
            raise ValueError(f"{name} must hold trits (-1, 0, +1)")
        p.copy_(v)


def ternary_int(w: Tensor) -> Tensor:
    """Trits of a latent tensor without gradient (the absmean rule; a tensor of exact trits maps to
    itself, since then mean|w| <= 1)."""
    return trits(w.detach())


__all__ = ["DiscreteTransformer", "DiscreteTransformerConfig", "BIASES", "ternary_int"]
