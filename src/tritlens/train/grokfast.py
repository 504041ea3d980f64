"""GrokFast (Lee et al. 2024, arXiv 2405.20233): amplify the slow part of the gradient.

Before every update, each trainable parameter's gradient g joins an exponential moving average
``ema = alpha * ema + (1 - alpha) * g`` (the first gradient starts it), and the update uses
``g + lambda * ema``: a low-pass filter that strengthens the slowly varying direction that
generalises, which shortens the plateau before grokking. ``alpha = 0.98, lambda = 2.0`` as the
arithmetic paper's code uses. The averages are buffers of the extension, so they go into the resume
file and a resumed run continues exactly.

    tritlens train --preset nanda2023 --set train.grokfast_lambda=2.0    # or --preset nanda2023-grokfast
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tritlens.train.extensions import Extension


class GrokFast(Extension):
    """The EMA gradient filter over ``model``'s trainable parameters (the model is not a submodule:
    the extension owns only the averages)."""

    def __init__(self, model: nn.Module, alpha: float, lamb: float) -> None:
        super().__init__()
        self.alpha, self.lamb = alpha, lamb
        object.__setattr__(self, "params", [(n, p) for n, p in model.named_parameters() if p.requires_grad])
        for name, p in self.params:
            self.register_buffer(self._key(name), torch.zeros_like(p, memory_format=torch.contiguous_format))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))  # the first gradient seeds it

    @staticmethod
    def _key(name: str) -> str:
        return "ema_" + name.replace(".", "_")

    @torch.no_grad()
    def after_backward(self) -> None:
        first = not bool(self.started)
        for name, p in self.params:
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            ema = getattr(self, self._key(name))
            if first:
                ema.copy_(grad)
            else:  # as the reference code: ema * alpha + grad * (1 - alpha)
                ema.mul_(self.alpha).add_(grad, alpha=1.0 - self.alpha)
            p.grad = grad.add(ema, alpha=self.lamb)
        self.started.fill_(True)


def grokfast_extensions(cfg: Any, model: nn.Module) -> list[Extension]:
    """The GrokFast filter when the config asks for it (``train.grokfast_lambda`` > 0)."""
    t = cfg.train
    return [GrokFast(model, t.grokfast_alpha, t.grokfast_lambda)] if t.grokfast_lambda > 0 else []
