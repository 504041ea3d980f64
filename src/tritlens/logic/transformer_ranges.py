"""Value ranges of a discrete transformer's integers over every valid input, for the compiler.

The compiler sizes each adder tree by the range of the number it computes. Over all literal
assignments those bounds are loose (a residual coordinate could in principle add every weight at
once); over the inputs that can occur they are tight. When the input space (every token value at
every position) is small enough, ``measure_ranges`` runs the model on all of it once, through its
hooks, and records per quantity the smallest and largest value, and for each head and query the key
it attends to if that key never changes. The compiled circuit is then exact on every valid input,
which is exactly the domain ``prove_model`` checks it on; codes that are no token are don't-cares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from tritlens.models.discrete_transformer import DiscreteTransformer

ENUMERATE_LIMIT = 1 << 20  # token tuples measured (all of them) at most
CHUNK = 4096

_HOOKS = {  # hook -> how its batch axis is reduced away (the remaining axes are kept)
    "attn.hook_q": "q", "attn.hook_k": "k", "attn.hook_v": "v", "attn.hook_attn_scores": "scores",
    "hook_resid_mid": "resid_mid", "hook_resid_post": "resid_post", "mlp.hook_pre": "pre",
}


@dataclass
class Ranges:
    """Per-layer [lo, hi] arrays by kind (``q`` [pos, head, e], ``scores`` [head, query, key], ``pre``
    [pos, unit], ``resid_mid`` / ``resid_post`` [pos, d_model], ``logits`` [pos, class]) and the constant
    attention choices (``choice[layer]`` [head, query]: the key always attended, or -1)."""

    lo: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    hi: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    choice: dict[int, np.ndarray] = field(default_factory=dict)
    inputs: int = 0

    def get(self, layer: int, kind: str, index: tuple[int, ...]) -> tuple[int, int] | None:
        key = (layer, kind)
        if key not in self.lo:
            return None
        return int(self.lo[key][index]), int(self.hi[key][index])

    def _update(self, key: tuple[int, str], values: np.ndarray) -> None:
        lo, hi = values.min(axis=0), values.max(axis=0)
        if key in self.lo:
            lo, hi = np.minimum(self.lo[key], lo), np.maximum(self.hi[key], hi)
        self.lo[key], self.hi[key] = lo, hi


def _all_tokens(model: DiscreteTransformer, start: int, stop: int) -> torch.Tensor:
    index = torch.arange(start, stop)
    cols = [(index // model.d_vocab**p) % model.d_vocab for p in range(model.n_ctx)]
    return torch.stack(cols, dim=1)


@torch.no_grad()
def measure_ranges(model: DiscreteTransformer, limit: int = ENUMERATE_LIMIT) -> Ranges | None:
    """Ranges over every token tuple (``d_vocab ** n_ctx`` of them), or None when there are more than
    ``limit``."""
    total = model.d_vocab**model.n_ctx
    if total > limit:
        return None
    ranges, seen = Ranges(inputs=total), {}
    names = [f"blocks.{n}.{hook}" for n in range(model.cfg.n_layers) for hook in _HOOKS]
    names += [f"blocks.{n}.attn.hook_pattern" for n in range(model.cfg.n_layers)]
    for start in range(0, total, CHUNK):
        tokens = _all_tokens(model, start, min(total, start + CHUNK))
        logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name in names)
        ranges._update((model.cfg.n_layers - 1, "logits"), (logits / model.cfg.logit_scale).round().numpy())
        for name, value in cache.items():
            parts = name.split(".")
            layer, hook = int(parts[1]), ".".join(parts[2:])
            if hook == "attn.hook_pattern":
                chosen = value.argmax(-1).numpy()  # [batch, head, query]
                first = seen.setdefault(layer, chosen[0].copy())
                first[(chosen != first[None]).any(axis=0)] = -1
                continue
            arr = value.numpy()
            if hook == "attn.hook_attn_scores":
                arr = np.where(np.isfinite(arr), arr, 0)
            ranges._update((layer, _HOOKS[hook]), arr.astype(np.int64))
    ranges.choice = seen
    return ranges


__all__ = ["ENUMERATE_LIMIT", "Ranges", "measure_ranges"]
