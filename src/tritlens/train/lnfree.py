"""LayerNorm removal by fine-tuning (Heimersheim 2024; Baroni et al. 2025): fake norms, schedule, folding.

While a model is fine-tuned, each normalisation is replaced, one at a time, by a *fake* one that
divides by a fixed scalar instead of each token's own scale. Until it goes fake, a norm tracks a
moving average of the real per-token scale; at its step in the schedule that average is frozen and
used from then on. The attention-input norm has two consumers (queries/keys and values) that go fake
separately. Positions listed as special (a BOS-like first token) keep their own frozen scale until
the last stage of the schedule. Once every norm is fake, the model is linear in each norm's input
up to a constant factor, so the factors fold exactly into the weights after them (:func:`fold`):
the result is an ordinary ``norm=none`` transformer.

    wrapped = FakeNormModel(model, momentum=0.9)
    schedule = RemovalSchedule(wrapped, removal_events(wrapped, ("mlp", "qk", "v", "final"), 20, 20))
    Trainer(cfg, run, model=wrapped, extensions=[schedule]).fit()
    lnfree = fold(wrapped)
"""

from __future__ import annotations

import copy
import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tritlens.errors import ConfigError
from tritlens.models import HookedModule, HookedTransformer
from tritlens.models.layers import NORM_EPS, Attention, Norm
from tritlens.train.extensions import Extension

GROUPS = ("mlp", "qk", "v", "final", "special")  # stages of the schedule, in the reference order
# a norm's phase: per-token scale; frozen (special positions keep their own); frozen everywhere
REAL, FAKE, FAKE_ALL = 0, 1, 2


class FakeNorm(nn.Module):
    """The scale state of one norm consumer: a moving average while real, a frozen scalar once fake."""

    def __init__(self, special: tuple[int, ...]) -> None:
        super().__init__()
        self.special = special
        self.register_buffer("scale", torch.ones(()))  # moving average over ordinary positions
        self.register_buffer("special_scale", torch.ones(len(special)))  # one per special position
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))  # an average has been recorded
        self.register_buffer("phase", torch.zeros((), dtype=torch.int64))

    def forward(self, x: Tensor, norm: Norm, record: bool, momentum: float) -> tuple[Tensor, Tensor]:
        """(normalised x [batch, pos, d], each token's real scale [batch, pos, 1]) through ``norm``'s
        weights; the scale is the real one while this consumer is real, the frozen one after."""
        centred = x - x.mean(-1, keepdim=True) if norm.kind == "layer" else x
        real = (centred.pow(2).mean(-1, keepdim=True) + NORM_EPS).sqrt()  # [batch, pos, 1]
        phase = int(self.phase)
        if record and phase == REAL:
            self._record(real.detach(), momentum)
        if phase == REAL:
            scale = real
        else:
            scale = self.scale.expand_as(real)
            if phase == FAKE and self.special:
                scale = scale.clone()
                scale[:, list(self.special)] = self.special_scale.view(1, -1, 1)
        out = centred / scale * norm.w
        return (out + norm.b if norm.b is not None else out), real

    @torch.no_grad()
    def _record(self, real: Tensor, momentum: float) -> None:
        ordinary = [p for p in range(real.shape[1]) if p not in self.special]
        batch = real[:, ordinary].mean() if ordinary else self.scale
        own = real[:, list(self.special)].mean((0, 2)) if self.special else self.special_scale
        first = not bool(self.seen)
        self.scale.copy_(batch if first else momentum * self.scale + (1 - momentum) * batch)
        self.special_scale.copy_(own if first else momentum * self.special_scale + (1 - momentum) * own)
        self.seen.fill_(True)


def _consumers(model: HookedTransformer) -> dict[str, tuple[str, str]]:
    """Name of each norm consumer -> (its group, the Norm module's path in the model)."""
    out: dict[str, tuple[str, str]] = {}
    for i, block in enumerate(model.blocks):
        if block.ln1.kind != "none":
            out[f"L{i}_qk"] = ("qk", f"blocks.{i}.ln1")
            out[f"L{i}_v"] = ("v", f"blocks.{i}.ln1")
        if block.ln2 is not None and block.ln2.kind != "none":
            out[f"L{i}_mlp"] = ("mlp", f"blocks.{i}.ln2")
    if model.ln_final.kind != "none":
        out["final"] = ("final", "ln_final")
    return out


class FakeNormModel(HookedModule):
    """A norm-carrying :class:`HookedTransformer` whose norms can go fake one consumer at a time.

    Its state is the base model's weights (``base.*``) and each consumer's scale state
    (``norms.*``), so a resume file restores both. ``aux_weight`` adds w * mean over tokens of
    (real scale - frozen target)^2 at the final norm's input, pulling the scales together.
    """

    def __init__(self, base: HookedTransformer, special: tuple[int, ...] = (), momentum: float = 0.9,
                 aux_weight: float = 0.0) -> None:
        super().__init__()
        consumers = _consumers(base)
        if not consumers:
            raise ConfigError("this model has no LayerNorm or RMSNorm to remove (model.norm=none)")
        if any(not 0 <= p < base.n_ctx for p in special):
            raise ConfigError(f"special positions {list(special)} must lie in [0, {base.n_ctx})")
        self.base = base
        self.d_vocab, self.d_vocab_out, self.n_ctx = base.d_vocab, base.d_vocab_out, base.n_ctx
        self.groups = {name: group for name, (group, _) in consumers.items()}
        self.norms = nn.ModuleDict({name: FakeNorm(tuple(special)) for name in consumers})
        self.momentum, self.aux_weight = momentum, aux_weight
        self._aux: Tensor | None = None
        self.hook_dict = base.hook_dict  # the base's hook names (the embedding and attention hooks fire)

    def _norm(self, name: str, x: Tensor, norm: Norm) -> tuple[Tensor, Tensor]:
        record = self.training and torch.is_grad_enabled()
        return self.norms[name](x, norm, record, self.momentum)

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits [batch, pos, d_vocab_out]: the base model's forward with each norm in its phase."""
        base = self.base
        resid = base.residual_embedding(tokens)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        for i, block in enumerate(base.blocks):
            attn = block.attn
            qk_in = self._norm(f"L{i}_qk", resid, block.ln1)[0] if f"L{i}_qk" in self.norms else resid
            v_in = self._norm(f"L{i}_v", resid, block.ln1)[0] if f"L{i}_v" in self.norms else resid
            q, k, v = attn.project(qk_in, "Q"), attn.project(qk_in, "K"), attn.project(v_in, "V")
            resid = resid + attn.output(self._attend(attn, q, k, v, positions))
            if block.mlp is not None:
                mlp_in = self._norm(f"L{i}_mlp", resid, block.ln2)[0] if f"L{i}_mlp" in self.norms else resid
                resid = resid + block.mlp(mlp_in)
        if "final" in self.norms:
            normed, real = self._norm("final", resid, base.ln_final)
            target = self.norms["final"].scale.detach()
            self._aux = (real - target).pow(2).mean() if self.aux_weight and torch.is_grad_enabled() else None
        else:
            normed, self._aux = resid, None
        return base.unembed(normed)

    def _attend(self, attn: Attention, q: Tensor, k: Tensor, v: Tensor, positions: Tensor) -> Tensor:
        """z [batch, pos, H, d_head]: PyTorch's fused attention (the same numbers up to rounding), or the
        model's own when hooks are attached (they need the scores and pattern)."""
        if self.has_active_hooks:
            return attn.attend(q, k, v, positions)
        z = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                           is_causal=attn.causal)
        return z.transpose(1, 2)

    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        return self(tokens)[:, list(positions)]

    def extra_loss(self) -> Tensor | None:
        aux, self._aux = self._aux, None
        return self.aux_weight * aux if aux is not None else None

    def trit_stats(self) -> dict[str, dict[str, float]]:
        return {}

    def all_fake(self) -> bool:
        return all(int(n.phase) == FAKE_ALL for n in self.norms.values())


def removal_events(model: FakeNormModel, order: tuple[str, ...], start: int,
                   gap: int) -> list[tuple[int, str]]:
    """(step, consumer or 'special') for each norm going fake: groups in ``order``, layer by layer
    inside a group, one every ``gap`` steps from step ``start``."""
    unknown = [g for g in order if g not in GROUPS]
    if unknown or len(set(order)) != len(order):
        raise ConfigError(f"removal order {','.join(order)!r:.60} must name each of {', '.join(GROUPS)} "
                          "at most once")
    present = set(model.groups.values())
    missing = sorted(present - set(order))
    if missing:
        raise ConfigError(f"removal order leaves out {', '.join(missing)}: every norm must go fake")
    special = bool(next(iter(model.norms.values())).special)
    if special and "special" not in order:
        raise ConfigError("special positions are set but the removal order has no 'special' stage")
    names: list[str] = []
    for group in order:
        if group == "special":
            names += ["special"] if special else []
        else:
            names += [n for n, g in model.groups.items() if g == group]
    return [(start + k * gap, name) for k, name in enumerate(names)]


class RemovalSchedule(Extension):
    """Sets every consumer's phase from the step: a pure function of the step, so resuming is exact."""

    def __init__(self, model: FakeNormModel, events: list[tuple[int, str]]) -> None:
        super().__init__()
        self.events = events
        object.__setattr__(self, "target", model)  # not a submodule: its state is the model's

    def begin_step(self, step: int) -> None:
        done = {name for at, name in self.events if step >= at}
        final = FAKE_ALL if "special" in done or not any(n == "special" for _, n in self.events) else FAKE
        for name, norm in self.target.norms.items():
            norm.phase.fill_(final if name in done else REAL)

    @property
    def last_step(self) -> int:
        return max(at for at, _ in self.events)


def _map(norm: Norm, scale: Tensor) -> tuple[Tensor, Tensor | None]:
    """(M [d, d], bias [d] or None) with fake_norm(x) = x @ M + bias for a frozen ``scale``."""
    d = norm.w.shape[0]
    eye = torch.eye(d, dtype=norm.w.dtype, device=norm.w.device)
    centre = eye - 1.0 / d if norm.kind == "layer" else eye
    return centre * (norm.w / scale), norm.b


@torch.no_grad()
def fold(model: FakeNormModel) -> HookedTransformer:
    """The ``norm=none`` transformer computing exactly what ``model`` computes with every norm fake."""
    if not model.all_fake():
        raise ConfigError("cannot fold: some norms are still real (the removal schedule has not finished)")
    base = model.base
    if base.quant.attn != "none" or base.quant.mlp != "none" or base.quant.unembed != "none":
        raise ConfigError("cannot fold norms into quantized weights; remove-ln needs quant.attn, quant.mlp "
                          "and quant.unembed = none")
    cfg = dataclasses.replace(base.cfg, norm="none", norm_where="all")
    out = HookedTransformer(cfg, base.d_vocab, base.d_vocab_out, base.n_ctx, copy.deepcopy(base.quant))
    state = {k: v.clone() for k, v in base.state_dict().items() if ".ln" not in f".{k}"}

    def apply(name: str, norm: Norm, weight: str, bias: str, heads: bool) -> None:
        m, b = _map(norm, model.norms[name].scale)
        w = state[weight]
        if b is not None and bool(b.any()) and bias not in state:
            raise ConfigError("cannot fold a LayerNorm bias into a model without biases (model.biases=false)")
        if b is not None and bias in state:
            state[bias] = state[bias] + (torch.einsum("d,hde->he", b, w) if heads else b @ w)
        state[weight] = torch.einsum("cd,hde->hce", m, w) if heads else m @ w

    for i, block in enumerate(base.blocks):
        pre = f"blocks.{i}"
        if f"L{i}_qk" in model.norms:
            for which, name in (("Q", f"L{i}_qk"), ("K", f"L{i}_qk"), ("V", f"L{i}_v")):
                apply(name, block.ln1, f"{pre}.attn.W_{which}", f"{pre}.attn.b_{which}", heads=True)
        if f"L{i}_mlp" in model.norms:
            apply(f"L{i}_mlp", block.ln2, f"{pre}.mlp.W_in", f"{pre}.mlp.b_in", heads=False)
    if "final" in model.norms:
        apply("final", base.ln_final, "unembed.W_U", "unembed.b_U", heads=False)
    out.load_state_dict(state, strict=True)
    return out.eval()
