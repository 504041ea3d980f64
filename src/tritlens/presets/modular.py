"""Modular-arithmetic setups: Nanda et al. 2023, Li 2024 (binary and ternary), and a quick demo."""

from __future__ import annotations

from typing import Any

_NANDA_MODEL = {"arch": "transformer", "n_layers": 1, "n_heads": 4, "d_model": 128, "d_head": 32,
                "d_mlp": 512, "act": "relu", "norm": "none", "pos_embed": True, "causal": True,
                "biases": True, "freeze_biases": True, "init": "tl"}
# Li 2024's reference code: nn.Linear/nn.Embedding init (its draw order), scores scaled by d_model^-1/2,
# its RMSNorm (x / |x| * sqrt(d), no eps) before the unembed only, no biases, positions or mask.
_LI_MODEL = {**_NANDA_MODEL, "pos_embed": False, "causal": False, "biases": False,
             "freeze_biases": False, "norm": "rms", "norm_where": "final", "norm_eps": 0.0,
             "init": "li2024", "attn_scale": "d_model"}
_OPTIM = {"lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98], "batch_size": None}
_P113 = {"name": "modular", "p": 113, "op": "add", "train_frac": 0.3, "data_seed": 598}

MODULAR: dict[str, dict[str, Any]] = {
    "nanda2023": {
        "about": "Nanda et al. 2023, progress measures for grokking: 1-layer ReLU transformer, "
                 "(a+b) mod 113, 30% train, full batch, AdamW wd 1.0, 25k epochs",
        "task": _P113,
        "model": _NANDA_MODEL,
        "train": {**_OPTIM, "steps": 25_000, "seed": 999, "eval_every": 100, "checkpoint_every": 500},
    },
    # GrokFast amplifies the slow part of the gradient, but AdamW divides the amplified gradient by its
    # own scale: at nanda2023's full batch and weight decay 1.0 the filter groks no sooner. Weight decay
    # 5.0 shortens the plateau by itself (99% at step 1,900 for this seed; 1,100 with the filter), and
    # over other seeds the filter is not reliably faster (docs/training.md)
    "nanda2023-grokfast": {
        "about": "nanda2023's model and data with the GrokFast EMA gradient filter (Lee et al. 2024: alpha "
                 "0.98, lambda 2.0) and weight decay 5.0: groks by step ~1,100",
        "task": _P113,
        "model": _NANDA_MODEL,
        "train": {**_OPTIM, "weight_decay": 5.0, "steps": 5_000, "seed": 999, "eval_every": 100,
                  "checkpoint_every": 500, "grokfast_alpha": 0.98, "grokfast_lambda": 2.0},
    },
    "li2024-binary": {
        "about": "Li 2024, binary transformer as its reference code: sign(W - mean W) attention and MLP "
                 "weights (no scale), float embed/unembed, no positions, no mask, RMSNorm before unembed, "
                 "scores / sqrt(d_model), nn.Linear init, 10k epochs",
        "task": _P113,
        "model": _LI_MODEL,
        "quant": {"attn": "binary", "mlp": "binary", "binary_scale": False},
        "train": {**_OPTIM, "steps": 10_000, "seed": 999, "eval_every": 100, "checkpoint_every": 200},
    },
    "li2024-ternary": {
        "about": "Li 2024, ternary transformer as its reference code: absmean rule on the mean-centred "
                 "attention and MLP weights (not BitNet b1.58's), otherwise as li2024-binary",
        "task": _P113,
        "model": _LI_MODEL,
        "quant": {"attn": "ternary", "mlp": "ternary", "ternary_rule": "centred"},
        "train": {**_OPTIM, "steps": 10_000, "seed": 999, "eval_every": 100, "checkpoint_every": 200},
    },
    "quick": {
        "about": "small default for demos and tests: (a+b) mod 59, 50% train, d_model 64, lr 3e-3; "
                 "memorises by step ~100 (test accuracy ~50%), reaches 99% test accuracy by ~600",
        "task": {"name": "modular", "p": 59, "op": "add", "train_frac": 0.5, "data_seed": 598},
        "model": {**_NANDA_MODEL, "d_model": 64, "d_head": 16, "d_mlp": 256},
        "train": {**_OPTIM, "lr": 3e-3, "steps": 2_000, "seed": 0, "eval_every": 50, "checkpoint_every": 50},
    },
}
