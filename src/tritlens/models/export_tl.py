"""Export to TransformerLens 3.x (``pip install tritlens[tl]``) so users can move between tools.

Parameter names and shapes already match; what differs is configuration: TransformerLens always has
biases (filled with zeros here), has no "no positional embedding" mode (a zero ``W_pos`` is the same
function), and has no "normalisation only before the unembed" mode (refused).
"""

from __future__ import annotations

from typing import Any

import torch

from tritlens.errors import TritlensError
from tritlens.models.transformer import HookedTransformer

_NORM = {"none": None, "layer": "LN", "rms": "RMS"}


def _tl_config(model: HookedTransformer) -> Any:
    from transformer_lens import HookedTransformerConfig

    cfg = model.cfg
    return HookedTransformerConfig(
        n_layers=cfg.n_layers, d_model=cfg.d_model, n_ctx=model.n_ctx,
        d_head=cfg.d_head or cfg.d_model // cfg.n_heads, n_heads=cfg.n_heads,
        d_mlp=cfg.d_mlp if cfg.d_mlp else None, attn_only=cfg.d_mlp == 0,
        d_vocab=model.d_vocab, d_vocab_out=model.d_vocab_out, act_fn=cfg.act,
        normalization_type=_NORM[cfg.norm], attention_dir="causal" if cfg.causal else "bidirectional",
        attn_scale=model.blocks[0].attn.attn_scale if model.blocks else -1.0, eps=cfg.norm_eps,
        positional_embedding_type="standard", default_prepend_bos=False, init_weights=False,
        device="cpu", dtype=torch.float32,
    )


def to_hooked_transformer(model: HookedTransformer, effective: bool = False) -> Any:
    """A ``transformer_lens.HookedTransformer`` computing the same logits as ``model``.

    Full-precision models export as they are. Quantized models are refused unless ``effective=True``,
    which exports a float snapshot of the effective (quantized) weights; models with activation
    quantization cannot be expressed in TransformerLens and are always refused.
    """
    try:
        from transformer_lens import HookedTransformer as TLHookedTransformer
    except ImportError:
        raise TritlensError("TransformerLens export needs `pip install 'tritlens[tl]'` "
                            "(transformer-lens < 4)") from None
    q = model.quant
    quantized = [g for g in ("attn", "mlp", "embed", "unembed") if getattr(q, g) != "none"]
    if quantized and not effective:
        raise TritlensError(f"model has quantized {', '.join(quantized)} weights; pass effective=True to "
                            "export a float snapshot of the effective weights")
    if quantized and q.act_bits is not None:
        raise TritlensError("activation quantization (quant.act_bits) has no TransformerLens equivalent")
    if model.cfg.norm != "none" and model.cfg.norm_where != "all":
        raise TritlensError("model.norm_where=final (normalisation only before the unembed) has no "
                            "TransformerLens equivalent")
    tl = TLHookedTransformer(_tl_config(model))
    ours = model.effective_weights()
    state = tl.state_dict()
    for name, value in state.items():
        if name in ours:
            state[name] = ours[name].clone()
        elif name.rsplit(".", 1)[-1].startswith("b_") or name == "pos_embed.W_pos":
            state[name] = torch.zeros_like(value)
    tl.load_state_dict(state)
    return tl.eval()
