"""Training extensions: what the trainer runs alongside a model besides the task loss.

An :class:`Extension` is an ``nn.Module`` that may have parameters of its own (optimised together
with the model's), hooks on the model's activations during the training forward pass, an extra
loss term, and a callback before each step. Its ``state_dict`` (parameters and buffers) and the
optimiser moments of its parameters go into the run's resume file, so a resumed run continues
exactly. Used by the LayerNorm-removal schedule (``train/lnfree.py``) and by auxiliary losses such as
Bai et al.'s running-sum regression heads.

    class Penalty(Extension):
        def loss(self, data):
            return 1e-3 * sum(p.pow(2).sum() for p in model.parameters())

    Trainer(cfg, run, extensions=[Penalty()]).fit()
"""

from __future__ import annotations

from torch import Tensor, nn

from tritlens.models.hooks import HookFn, NameFilter
from tritlens.tasks import Split


class Extension(nn.Module):
    """Base class: every hook does nothing; override what the extension needs."""

    def begin_step(self, step: int) -> None:
        """Called before the forward pass of ``step`` (counting from 0), also after a resume."""

    def fwd_hooks(self) -> list[tuple[NameFilter, HookFn]]:
        """Hooks attached to the model during the training forward pass (e.g. to read activations)."""
        return []

    def loss(self, data: Split) -> Tensor | None:
        """A term added to the training loss of the batch ``data`` (after the forward pass), or None."""
        return None
