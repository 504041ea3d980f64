"""Tiny sweep specs shared by the sweep tests: (a + b) mod 17, d_model 16, 40 full-batch steps."""

from __future__ import annotations

import copy
from typing import Any

FIXED: dict[str, Any] = {"task.p": 17, "model.d_model": 16, "model.d_head": 4, "model.d_mlp": 32,
                         "train.steps": 40, "train.eval_every": 10, "train.checkpoint_every": 20}
TOML = """
name = "tiny"
presets = ["quick"]
seeds = "0-1"

[fixed]
"task.p" = 17
"model.d_model" = 16
"model.d_head" = 4
"model.d_mlp" = 32
"train.steps" = 40
"train.eval_every" = 10
"train.checkpoint_every" = 20

[grid.train]
weight_decay = [0.5, 1.0]
"""


def spec(**changes: Any) -> dict[str, Any]:
    """A two-setting, two-seed grid (four trials), with top-level keys replaced by ``changes``."""
    base = {"name": "tiny", "presets": ["quick"], "seeds": [0, 1], "fixed": dict(FIXED),
            "grid": {"train.weight_decay": [0.5, 1.0]}}
    return {**copy.deepcopy(base), **changes}
