"""Setups for the circuit tools: LayerNorm variants of the modular-addition models (sources for
``remove-ln``, and LN-vs-norm-free comparisons of attribution, patching and probes)."""

from __future__ import annotations

from typing import Any

from tritlens.presets.modular import MODULAR

_LN = {"norm": "layer", "norm_where": "all", "freeze_biases": False}

CIRCUITS: dict[str, dict[str, Any]] = {
    "nanda2023-ln": {
        "about": "nanda2023 with LayerNorm before attention, MLP and unembed (biases trained): the "
                 "modular-addition source model for LayerNorm removal",
        "task": MODULAR["nanda2023"]["task"],
        "model": {**MODULAR["nanda2023"]["model"], **_LN},
        "train": MODULAR["nanda2023"]["train"],
    },
    "quick-ln": {
        "about": "quick with two layers and LayerNorm: (a+b) mod 59, a fast source for remove-ln and a "
                 "two-layer model for patching over layers x positions",
        "task": MODULAR["quick"]["task"],
        "model": {**MODULAR["quick"]["model"], **_LN, "n_layers": 2},
        "train": MODULAR["quick"]["train"],
    },
}

_BAI_MODEL = {"arch": "transformer", "n_layers": 2, "n_heads": 4, "d_model": 256, "d_head": 64, "d_mlp": 1024,
              "act": "gelu", "norm": "layer", "pos_embed": True, "causal": True, "biases": True,
              "freeze_biases": False}
_BAI_TASK = {"name": "mul", "digits": 4, "lsb_first": True, "eval_size": 4096, "data_seed": 2025}
_BAI_TRAIN = {"steps": 10000, "lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.98], "batch_size": 256,
              "warmup_steps": 800, "warmup_start": 0.01, "schedule": "cosine", "seed": 0, "eval_every": 500,
              "checkpoint_every": 1000}

CIRCUITS["bai2025-sft"] = {
    "about": "Bai et al. 2025, 4x4-digit multiplication with digits least significant first, standard "
             "fine-tuning: 2 layers, 4 heads, CPU-sized (d_model 256), fresh batches of 256, 10,000 steps",
    "task": _BAI_TASK, "model": _BAI_MODEL, "train": _BAI_TRAIN,
}
CIRCUITS["bai2025-aux"] = {
    "about": "bai2025-sft plus the running-sum auxiliary loss: one bias-free linear head per attention head "
             "of layer 2 predicts c_hat_k at each answer position (train.aux_target=running_sum)",
    "task": _BAI_TASK, "model": _BAI_MODEL,
    "train": {**_BAI_TRAIN, "aux_target": "running_sum", "aux_weight": 1.0},
}
