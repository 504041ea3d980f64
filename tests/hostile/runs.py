"""The tiny runs the hostile tests share: settings, and training them in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tritlens.api as tl

# (a + b) mod 11, d_model 16: 20 full-batch steps in ~0.1 s. Rows at 0, 5, ..., 20; checkpoints at 10, 20.
TINY: dict[str, Any] = {"task.p": 11, "model.d_model": 16, "model.d_head": 4, "model.d_mlp": 16,
                        "train.steps": 20, "train.eval_every": 5, "train.checkpoint_every": 10}
TINY_SETS = [f"{k}={v}" for k, v in TINY.items()]
TINY_ARGS = [a for kv in TINY_SETS for a in ("--set", kv)] + ["--quiet", "--threads", "1"]
# Minibatches (the generator's state must survive a restart), warm-up, rows every 3, checkpoints every 4.
BATCHED: dict[str, Any] = {**TINY, "train.steps": 12, "train.eval_every": 3, "train.checkpoint_every": 4,
                           "train.batch_size": 16, "train.warmup_steps": 5}
DISCRETE: dict[str, Any] = {"task.p": 5, "model.hidden": "[8]", "train.steps": 4, "train.eval_every": 2,
                            "train.checkpoint_every": 2}


def train(out: Path, preset: str = "quick", overrides: dict[str, Any] | None = None, **kw: Any) -> tl.Run:
    return tl.train(preset, out=out, overrides=dict(TINY if overrides is None else overrides),
                    progress=False, **kw)


def stop_at(event: str, step: int):
    """An ``on_event`` that interrupts training (as Ctrl-C would) right after ``event`` at ``step``."""
    def on_event(name: str, at: int) -> None:
        if (name, at) == (event, step):
            raise KeyboardInterrupt
    return on_event
