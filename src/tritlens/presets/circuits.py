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
