"""Training extensions: what the trainer runs alongside a model besides the task loss.

An :class:`Extension` is an ``nn.Module`` that may have parameters of its own (optimised together
with the model's), hooks on the model's activations during the training forward pass, an extra
loss term, and a callback before each step. Its ``state_dict`` (parameters and buffers) and the
optimiser moments of its parameters go into the run's resume file, so a resumed run continues
exactly. Used by the LayerNorm-removal schedule (``train/lnfree.py``), by auxiliary losses such as
Bai et al.'s running-sum regression heads, and by the GrokFast gradient filter (``train/grokfast.py``).

    class Penalty(Extension):
        def loss(self, data):
            return 1e-3 * sum(p.pow(2).sum() for p in model.parameters())

    Trainer(cfg, run, extensions=[Penalty()]).fit()
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor, nn

from tritlens.errors import ConfigError
from tritlens.models.hooks import HookFn, HookPoint, NameFilter
from tritlens.tasks import Split, Task

READABLE = re.compile(r"^blocks\.(\d+)\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|"
                      r"hook_mlp_out|attn\.hook_z|mlp\.hook_post)$")


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

    def after_backward(self) -> None:
        """Called after the backward pass, before gradient clipping and the update (e.g. to filter
        the gradients, as GrokFast does)."""


class LinearReadout(Extension):
    """Bias-free linear maps from a hook's activations to a task feature, trained with the model: the
    mean squared error at the positions where the feature is defined, times ``weight``, joins the loss.

    A per-head hook (``attn.hook_z``: [batch, pos, head, d_head]) gets one map per head, each scored
    on its own (Bai et al. 2025: running-sum heads on the second layer's attention heads); other hooks
    ([batch, pos, d]) get one map. The maps predict the feature divided by its root mean square at each
    position (over the task's test set), so the error is in units of the feature's size and
    ``weight`` ~ 1 balances it with the task loss whatever the feature's range.
    """

    def __init__(self, task: Task, hook: str, target: str, weight: float, heads: int, width: int) -> None:
        super().__init__()
        self.hook, self.target, self.weight = hook, target, weight
        object.__setattr__(self, "task", task)  # not a module
        self.w = nn.Parameter(torch.zeros(heads, width))
        values = feature_values(task, task.split()[1], target)  # [N, pos]
        rms = torch.nan_to_num(values.pow(2).mean(0).sqrt(), nan=1.0)
        self.register_buffer("scale", torch.where(rms > 0, rms, torch.ones_like(rms)))  # [pos]
        self._act: Tensor | None = None

    def fwd_hooks(self) -> list[tuple[NameFilter, HookFn]]:
        return [(self.hook, self._keep)]

    def _keep(self, x: Tensor, hook: HookPoint) -> None:
        self._act = x

    def _scaled(self, act: Tensor) -> Tensor:
        act = act if act.dim() == 4 else act.unsqueeze(2)  # [batch, pos, maps, width]
        return torch.einsum("bthe,he->bth", act, self.w)

    def predict(self, act: Tensor) -> Tensor:
        """Predictions of the feature [batch, pos, maps] from activations at the hook."""
        return self._scaled(act) * self.scale[: act.shape[1], None]

    def loss(self, data: Split) -> Tensor | None:
        act, self._act = self._act, None
        if act is None:
            return None
        values = feature_values(self.task, data, self.target).to(act.device)  # [batch, pos]
        known = torch.isfinite(values)
        target = torch.nan_to_num(values / self.scale[: values.shape[1]]).unsqueeze(-1)
        err = (self._scaled(act) - target).pow(2)  # [batch, pos, maps]
        return self.weight * err[known].mean()


def feature_values(task: Task, data: Split, name: str) -> Tensor:
    """A task feature as [batch, pos] floats (NaN where undefined)."""
    features = task.features(data)
    if name not in features:
        raise ConfigError(f"train.aux_target {name!r:.40} is not a feature of this task; it defines "
                          f"{', '.join(features)}")
    values = features[name].values.float()
    return values if values.dim() == 2 else values.unsqueeze(1).expand(-1, data.tokens.shape[1])


def check_aux(cfg: Any, task: Task) -> str | None:
    """The hook of the configured auxiliary loss (checked against the model's layers and the task's
    features), or None when there is none."""
    t, m = cfg.train, cfg.model
    if t.aux_target is None:
        return None
    if cfg.arch != "transformer":
        raise ConfigError(f"train.aux_target needs a transformer; model.arch is {cfg.arch}")
    hook = t.aux_hook or f"blocks.{m.n_layers - 1}.attn.hook_z"
    found = READABLE.match(hook)
    needs_mlp = found is not None and found.group(2) in ("hook_resid_mid", "hook_mlp_out", "mlp.hook_post")
    if found is None or int(found.group(1)) >= m.n_layers or (needs_mlp and not m.d_mlp):
        raise ConfigError(f"train.aux_hook {hook!r:.60} is not a readable hook of this model (blocks.L."
                          "hook_resid_pre|resid_mid|resid_post|attn_out|mlp_out|attn.hook_z|mlp.hook_post)")
    probe = task.split()[1]
    feature_values(task, probe.subset(slice(0, 2)), t.aux_target)
    return hook


def config_extensions(cfg: Any, task: Task, model: Any) -> list[Extension]:
    """The extensions a run's config asks for (the auxiliary readout loss)."""
    hook = check_aux(cfg, task)
    if hook is None:
        return []
    shape = {"attn.hook_z": (model.cfg.n_heads, model.blocks[0].attn.d_head),
             "mlp.hook_post": (1, model.cfg.d_mlp)}
    heads, width = next((v for k, v in shape.items() if hook.endswith(k)), (1, model.cfg.d_model))
    return [LinearReadout(task, hook, cfg.train.aux_target, cfg.train.aux_weight, heads, width)]
