"""Linear and logistic probes on cached activations: which layer and position carry a quantity.

A probe is an affine map from one activation vector (a hook at one layer and one position) to a
target the task defines (``task.features``: operands, carries, running sums, answer digits) or that
the user gives. Real targets get a linear regression scored by mean absolute error; class targets a
logistic (softmax) regression scored by accuracy. Examples are split into train / validation / test;
training (full-batch Adam on standardised inputs) stops early when the validation loss stops
improving, and the test score is reported next to chance (the majority class, or always predicting
the training mean). All probes of a layer x position grid are trained together as one batch.

    fit = fit_probes(acts, labels, classes=None)     # acts [probes, N, d], labels [probes, N]
    fit.test                                         # MAE per probe
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.runs import CHUNK, run_header, sample, transformer
from tritlens.models import HookedTransformer
from tritlens.run import Run
from tritlens.tasks import Feature, Split

SCHEMA = 1
FRACTIONS = (0.6, 0.2)  # train, validation; the rest is the held-out test set
MIN_EXAMPLES = 20
LAYER_HOOKS = ("resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out")
Target = str | Callable[[Split], Tensor]


@dataclass
class ProbeFit:
    """Scores per probe ([probes] each): accuracy for classes, mean absolute error for real targets."""

    metric: str  # "accuracy" or "mae"
    train: Tensor
    test: Tensor
    chance: Tensor  # the same score of a constant guess (majority class / training mean)
    steps: Tensor  # step of the kept (best validation) weights


def _split(n: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    if n < MIN_EXAMPLES:
        raise TritlensError(f"a probe needs at least {MIN_EXAMPLES} examples to split into train, validation "
                            f"and test sets, got {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    a, b = int(n * FRACTIONS[0]), int(n * (FRACTIONS[0] + FRACTIONS[1]))
    return order[:a], order[a:b], order[b:]


def _loss(out: Tensor, y: Tensor, classes: int | None) -> Tensor:
    """Per-probe loss [probes] of outputs [probes, n, k] against labels [probes, n]."""
    if classes is None:
        return (out.squeeze(-1) - y).pow(2).mean(1)
    return F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)


def _score(out: Tensor, y: Tensor, classes: int | None, mean: Tensor, std: Tensor) -> Tensor:
    if classes is None:
        return (out.squeeze(-1) * std + mean - y).abs().mean(1)
    return (out.argmax(-1) == y).float().mean(1)


def fit_probes(acts: Tensor, labels: Tensor, classes: int | None, *, steps: int = 1000, lr: float = 0.05,
               patience: int = 5, weight_decay: float = 1e-3, seed: int = 0) -> ProbeFit:
    """Train one probe per row of ``acts`` [probes, N, d] on ``labels`` [probes, N] (or [N]).

    Classes: labels are integers in [0, classes); None: real labels. Validation loss is checked every
    10 steps; a probe's weights are those of its best check, and training ends once no probe has
    improved by 0.1% for ``patience`` checks.
    """
    acts = acts.float()
    probes, n, d = acts.shape
    labels = labels.expand(probes, n) if labels.dim() == 1 else labels
    train, val, test = _split(n, seed)
    mu, sd = acts[:, train].mean(1, keepdim=True), acts[:, train].std(1, keepdim=True) + 1e-6
    x = (acts - mu) / sd
    if classes is None:
        y_raw = labels.float()
        y_mean, y_std = y_raw[:, train].mean(1, keepdim=True), y_raw[:, train].std(1, keepdim=True) + 1e-6
        y = (y_raw - y_mean) / y_std
    else:
        y_raw = y = labels.long()
        y_mean = y_std = torch.zeros(probes, 1)
    width = 1 if classes is None else classes
    gen = torch.Generator().manual_seed(seed)
    w = (torch.randn(probes, d, width, generator=gen) * 0.01).requires_grad_()
    b = torch.zeros(probes, 1, width, requires_grad=True)
    opt = torch.optim.AdamW([w, b], lr=lr, weight_decay=weight_decay)
    best = torch.full((probes,), float("inf"))
    best_w, best_b, best_step = w.detach().clone(), b.detach().clone(), torch.zeros(probes, dtype=torch.long)
    stale = 0
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        _loss(x[:, train] @ w + b, y[:, train], classes).sum().backward()
        opt.step()
        if step % 10:
            continue
        with torch.no_grad():
            v = _loss(x[:, val] @ w + b, y[:, val], classes)
            better = v < best * (1 - 1e-3)
            best = torch.where(better, v, best)
            best_w[better], best_b[better], best_step[better] = w[better], b[better], step
        stale = 0 if bool(better.any()) else stale + 1
        if stale >= patience:
            break
    with torch.no_grad():
        scores = [_score(x[:, idx] @ best_w + best_b, y_raw[:, idx], classes, y_mean, y_std)
                  for idx in (train, test)]
        chance = _chance(y_raw, classes, train, test, y_mean)
    return ProbeFit("mae" if classes is None else "accuracy", scores[0], scores[1], chance, best_step)


def _chance(y: Tensor, classes: int | None, train: Tensor, test: Tensor, mean: Tensor) -> Tensor:
    if classes is None:
        return (y[:, test] - mean).abs().mean(1)
    majority = torch.stack([torch.bincount(row, minlength=classes).argmax() for row in y[:, train]])
    return (y[:, test] == majority.unsqueeze(1)).float().mean(1)


# -- probes on a run ----------------------------------------------------------------------------------
def hook_names(model: HookedTransformer, hook: str) -> tuple[list[str], list[str]]:
    """Full hook names and row labels: a short name (``resid_post``) means that hook at every layer."""
    if hook in LAYER_HOOKS:
        names = [f"blocks.{i}.hook_{hook}" for i in range(len(model.blocks))]
        labels = [f"L{i}" for i in range(len(model.blocks))]
    else:
        names, labels = [hook], [hook]
    missing = [n for n in names if n not in model.hook_dict]
    if missing:
        raise TritlensError(f"no hook named {missing[0]!r:.80} in this model; use one of "
                            f"{', '.join(LAYER_HOOKS)} or a full name such as blocks.0.hook_resid_post")
    if any(not n.endswith(("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "hook_attn_out",
                            "hook_mlp_out", "hook_embed", "mlp.hook_post", "mlp.hook_pre")) for n in names):
        raise TritlensError(f"probes read [batch, position, features] activations; {hook!r:.60} is not one")
    return names, labels


def _target(run: Run, data: Split, target: Target, classes: int | None) -> tuple[str, Feature]:
    if callable(target):
        values = torch.as_tensor(target(data)).float()
        if values.shape not in (data.tokens.shape[:1], data.tokens.shape):
            raise TritlensError(f"a probe target function must return [N] or [N, n_ctx] values, got "
                                f"{list(values.shape)}")
        return getattr(target, "__name__", "custom"), Feature(values, classes)
    features = run.task.features(data)
    if target not in features:
        raise TritlensError(f"unknown probe target {target!r:.40}; this task defines {', '.join(features)}")
    return target, features[target]


@torch.no_grad()
def cache(model: HookedTransformer, tokens: Tensor, hooks: list[str]) -> Tensor:
    """Activations [len(hooks), N, n_ctx, d] at ``hooks``."""
    parts = []
    for i in range(0, len(tokens), CHUNK):
        _, c = model.run_with_cache(tokens[i:i + CHUNK], names_filter=lambda n: n in hooks)
        parts.append(torch.stack([c[h] for h in hooks]))
    return torch.cat(parts, dim=1)


def probe_key(target: Target, hook: str, shuffle: bool = False) -> str:
    """The name of a probe grid in ``probes.json``: ``target@hook`` (``+shuffled`` for the control)."""
    name = target if isinstance(target, str) else getattr(target, "__name__", "custom")
    return f"{name}@{hook}" + ("+shuffled" if shuffle else "")


def probe_run(run: Run, target: Target, hook: str = "resid_post", positions: Sequence[int] | None = None,
              n: int | None = 2000, split: str = "test", classes: int | None = None, shuffle: bool = False,
              seed: int = 0) -> dict[str, Any]:
    """Probe quality over layer x position for one target: the data of one ``probes.json`` entry.

    ``shuffle`` permutes the targets first (a control: a good probe of shuffled targets means the
    probe, not the model, does the work).
    """
    model = transformer(run, "probing")
    hooks, rows = hook_names(model, hook)
    data = sample(run, n, split, seed)
    name, feature = _target(run, data, target, classes)
    n_ctx = data.tokens.shape[1]
    values = feature.values if feature.values.dim() == 2 else feature.values.unsqueeze(1).expand(-1, n_ctx)
    defined = [p for p in range(n_ctx) if bool(torch.isfinite(values[:, p]).all())]
    chosen = defined if positions is None else list(positions)
    bad = [p for p in chosen if p not in defined]
    if bad or not chosen:
        raise TritlensError(f"target {name} is defined at positions {defined}; cannot probe at "
                            f"{bad or 'none'} (positions must lie in [0, {n_ctx}))")
    if shuffle:
        values = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(seed + 1))]
    acts = cache(model, data.tokens, hooks)[:, :, chosen]  # [layers, N, P, d]
    grid = acts.permute(0, 2, 1, 3).flatten(0, 1)  # [layers * P, N, d]
    labels = values[:, chosen].t().repeat(len(hooks), 1)  # [layers * P, N]
    fit = fit_probes(grid, labels, feature.classes, seed=seed)
    shape = (len(hooks), len(chosen))
    return {"schema": SCHEMA, "run": {**run_header(run), "split": split}, "target": name, "hook": hook,
            "kind": "linear" if feature.classes is None else "logistic", "metric": fit.metric,
            "classes": feature.classes, "shuffled": shuffle, "n_examples": len(data), "rows": rows,
            "cols": [f"pos {p}" for p in chosen], "positions": chosen, "test": fit.test.view(shape),
            "train": fit.train.view(shape), "chance": fit.chance.view(shape)}
