"""Direct logit attribution (DLA) and direct effects of every component of a hooked transformer.

The residual stream entering the final norm is the sum of the components' outputs: the token and
position embeddings, each attention head (its z times its rows of W_O), each layer's attention bias
b_O, and each MLP (its neurons' activations times their rows of W_out, plus b_out). With the final
norm's per-example scale held at its cached value, a logit is exactly

    logit_t = sum over components c of DLA(c) + constant,   DLA(c) = N(c) . W_U[:, t]

where N is the norm's linear part (centring for LayerNorm, weight, divided by the cached scale) and
the constant is the unembedding bias plus the norm's bias read by W_U. The *direct effect* of c
removes it from the final residual and recomputes the norm: DE(c) = logit(x) - logit(x - c). In a
model without a final norm both are the same number; with one they differ, and
NMAE = mean|DLA - DE| / mean|DE| says by how much (Baroni et al. 2025).

    result = attribute(run.model, tokens, targets, positions)
    result.nmae(), result.dla.shape   # [batch, answer positions, components]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.runs import CHUNK, run_header, sample, transformer
from tritlens.interp.sensitivity import token_sensitivity, varying_positions
from tritlens.models import HookedTransformer
from tritlens.models.layers import Norm
from tritlens.run import Run

SCHEMA = 1
TOP_NEURONS = 16


@dataclass
class Attribution:
    """Per example, answer position and component: DLA and direct effect of one logit."""

    names: list[str]  # component names, e.g. embed, pos_embed, L0H1, L0 attn bias, L0 MLP
    positions: tuple[int, ...]
    token: Tensor  # [batch, A] the attributed output token
    logit: Tensor  # [batch, A] its logit
    constant: Tensor  # [batch, A] unembedding bias (+ the final norm's bias read by W_U)
    dla: Tensor  # [batch, A, C]
    direct_effect: Tensor  # [batch, A, C]
    neuron_dla: dict[int, Tensor]  # layer -> [batch, A, d_mlp]; with b_out's DLA they sum to the MLP's

    def nmae(self) -> float:
        """mean |DLA - DE| / mean |DE| over examples, positions and components."""
        return float((self.dla - self.direct_effect).abs().mean() / self.direct_effect.abs().mean())

    def sum_error(self) -> float:
        """max |sum of DLA + constant - logit|: zero up to float rounding, by construction."""
        return float((self.dla.sum(-1) + self.constant - self.logit).abs().max())

    def direct_sum_error(self) -> float:
        """max |sum of direct effects + constant - logit|: zero without a final norm, not with one."""
        return float((self.direct_effect.sum(-1) + self.constant - self.logit).abs().max())


def _components(model: HookedTransformer, cache: dict[str, Tensor],
                pos: list[int]) -> tuple[list[str], Tensor]:
    """Names and outputs [batch, A, C, d_model] of every component at the answer positions."""
    batch = cache["hook_embed"].shape[0]
    names, parts = ["embed"], [cache["hook_embed"][:, pos]]
    if "hook_pos_embed" in cache:
        names.append("pos_embed")
        parts.append(cache["hook_pos_embed"][pos].expand(batch, -1, -1))
    for i, block in enumerate(model.blocks):
        attn = block.attn
        z = cache[f"blocks.{i}.attn.hook_z"][:, pos]  # [batch, A, H, d_head]
        zq = attn.spec.act(z.flatten(-2)).unflatten(-1, z.shape[-2:])
        heads = torch.einsum("bahe,hed->bahd", zq, attn.weight("W_O"))
        names += [f"L{i}H{h}" for h in range(attn.n_heads)]
        parts += list(heads.unbind(2))
        if attn.b_O is not None:
            names.append(f"L{i} attn bias")
            parts.append(attn.b_O.expand(batch, len(pos), -1))
        if block.mlp is not None:
            names.append(f"L{i} MLP")
            parts.append(cache[f"blocks.{i}.hook_mlp_out"][:, pos])
    return names, torch.stack(parts, dim=2)


def _linear_norm(norm: Norm, x: Tensor, scale: Tensor | None) -> Tensor:
    """The final norm's linear part (no bias) with a fixed ``scale`` [..., 1] (identity without a norm)."""
    if norm.kind == "none":
        return x
    if norm.kind == "layer":
        x = x - x.mean(-1, keepdim=True)
    return x / scale * norm.w


def _readout(model: HookedTransformer, normed: Tensor, token: Tensor) -> Tensor:
    """normed [batch, A, ..., d] . W_U[:, token] (token [batch, A]) -> [batch, A, ...], no bias."""
    u = model.unembed.weight("W_U").t()[token]  # [batch, A, d]
    extra = normed.dim() - u.dim()
    return (normed * u.view(*u.shape[:2], *([1] * extra), -1)).sum(-1)


def _chunk(model: HookedTransformer, tokens: Tensor, token: Tensor, pos: list[int]) -> Attribution:
    last = len(model.blocks) - 1
    wanted = {"hook_embed", "hook_pos_embed", f"blocks.{last}.hook_resid_post", "ln_final.hook_scale"}
    wanted |= {f"blocks.{i}.{h}" for i in range(len(model.blocks))
               for h in ("attn.hook_z", "hook_mlp_out", "mlp.hook_post")}
    logits, cache = model.run_with_cache(tokens, names_filter=lambda n: n in wanted)
    names, comps = _components(model, cache, pos)
    norm, b_u = model.ln_final, model.unembed.b_U
    scale = cache["ln_final.hook_scale"][:, pos] if norm.kind != "none" else None  # [batch, A, 1]
    logit = logits[:, pos].gather(-1, token.unsqueeze(-1)).squeeze(-1)
    constant = b_u[token] if b_u is not None else torch.zeros_like(logit)
    if norm.kind == "layer" and norm.b is not None:
        constant = constant + _readout(model, norm.b.expand(*token.shape, -1), token)
    dla = _readout(model, _linear_norm(norm, comps, scale.unsqueeze(2) if scale is not None else None), token)
    resid = cache[f"blocks.{last}.hook_resid_post"][:, pos]
    removed = norm(resid.unsqueeze(2) - comps)  # the norm recomputed without each component
    kept = _readout(model, norm(resid), token)
    direct = kept.unsqueeze(-1) - _readout(model, removed, token)
    neurons = {}
    for i, block in enumerate(model.blocks):
        if block.mlp is None:
            continue
        post = block.mlp.spec.act(cache[f"blocks.{i}.mlp.hook_post"][:, pos])  # [batch, A, d_mlp]
        rows = _linear_norm(norm, block.mlp.weight("W_out"), None if scale is None else 1.0)  # [d_mlp, d]
        gain = model.unembed.weight("W_U").t()[token] @ rows.t()  # [batch, A, d_mlp]
        neurons[i] = post * gain / (scale if scale is not None else 1.0)
    return Attribution(names, tuple(pos), token, logit, constant, dla, direct, neurons)


def _cat(parts: list[Attribution]) -> Attribution:
    first = parts[0]
    cat = lambda key: torch.cat([getattr(p, key) for p in parts])  # noqa: E731
    neurons = {i: torch.cat([p.neuron_dla[i] for p in parts]) for i in first.neuron_dla}
    return Attribution(first.names, first.positions, cat("token"), cat("logit"), cat("constant"), cat("dla"),
                       cat("direct_effect"), neurons)


@torch.no_grad()
def attribute(model: HookedTransformer, tokens: Tensor, targets: Tensor, positions: tuple[int, ...],
              logit: str | int = "correct") -> Attribution:
    """DLA and direct effect of the ``logit`` (``correct``: the target; or an output token id) at every
    answer position of ``tokens`` [batch, n_ctx] (targets [batch, A])."""
    if logit == "correct":
        token = targets
    elif isinstance(logit, int) and not isinstance(logit, bool) and 0 <= logit < model.d_vocab_out:
        token = torch.full_like(targets, logit)
    else:
        raise TritlensError(f"--logit must be 'correct' or an output token in [0, {model.d_vocab_out}), "
                            f"got {logit!r:.20}")
    pos = list(positions)
    return _cat([_chunk(model, tokens[i:i + CHUNK], token[i:i + CHUNK], pos)
                 for i in range(0, len(tokens), CHUNK)])


def summary(result: Attribution, header: dict[str, Any], logit: str | int) -> dict[str, Any]:
    """The JSON of ``attribution.json``: per component and position, mean DLA and direct effect."""
    top = {}
    for layer, values in result.neuron_dla.items():
        mean = values.mean(0)  # [A, d_mlp]
        order = mean.abs().argsort(-1, descending=True)[:, :TOP_NEURONS]
        top[str(layer)] = [[{"neuron": int(n), "dla": float(mean[a, n])} for n in order[a]]
                           for a in range(mean.shape[0])]
    per_pos = (result.dla - result.direct_effect).abs().mean((0, 2)) / result.direct_effect.abs().mean((0, 2))
    return {
        "schema": SCHEMA, "run": header, "n_examples": len(result.token), "logit": str(logit),
        "positions": list(result.positions), "components": result.names,
        "dla": result.dla.mean(0).t(), "dla_abs": result.dla.abs().mean(0).t(),
        "direct_effect": result.direct_effect.mean(0).t(),
        "direct_effect_abs": result.direct_effect.abs().mean(0).t(),
        "logit_mean": result.logit.mean(0), "constant_mean": result.constant.mean(0),
        "nmae": result.nmae(), "nmae_by_position": per_pos,
        "dla_sum_error": result.sum_error(), "direct_sum_error": result.direct_sum_error(),
        "top_neurons": top,
    }


def attribute_run(run: Run, n: int | None = 1000, split: str = "test", logit: str | int = "correct",
                  seed: int = 0) -> tuple[Attribution, dict[str, Any]]:
    """Attribution of ``n`` examples of a run's split, and its ``attribution.json`` summary (with the
    token sensitivity grid when some input position varies)."""
    model = transformer(run, "attribution")
    data = sample(run, n, split, seed)
    positions = tuple(run.task.answer_positions)
    result = attribute(model, data.tokens, data.targets, positions, logit)
    out = summary(result, {**run_header(run), "split": split}, logit)
    if len(data) > 1 and varying_positions(data.tokens, min(positions)):
        out["sensitivity"] = token_sensitivity(model, data.tokens, positions, seed=seed)
    return result, out
