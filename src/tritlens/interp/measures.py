"""All clock-algorithm measures of one model on the full grid (used for the final model and checkpoints)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from tritlens.interp.fourier import KeyFrequencies, detect_key_frequencies, embed_norms
from tritlens.interp.grid import CyclicView, group_logits, group_tokens
from tritlens.interp.layers import layer_measures, neuron_measures
from tritlens.interp.logits import clock_amplitudes, logit_measures, logit_norms


def effective(model: nn.Module) -> dict[str, Tensor]:
    """The weights the forward pass uses (quantized where configured)."""
    fn = getattr(model, "effective_weights", None)
    return fn() if fn is not None else {k: v.detach() for k, v in model.named_parameters()}


def weight_norm(weights: dict[str, Tensor]) -> float:
    """sqrt of the sum of squared effective weights over every parameter (what weight decay shrinks)."""
    return float(sum(w.double().pow(2).sum() for w in weights.values()) ** 0.5)


def group_embedding(weights: dict[str, Tensor], view: CyclicView) -> Tensor:
    """Effective W_E rows of the number tokens, in group order [n, d_model]."""
    return weights["embed.W_E"][view.inputs]


def key_norm_frac(norms: Tensor, key_freqs: list[int]) -> float:
    """Share of the embedding's non-constant squared Fourier norm in the given frequencies."""
    energy = norms.double().pow(2)
    total = float(energy.sum())
    return float(energy[[k - 1 for k in key_freqs]].sum()) / total if total > 0 and key_freqs else 0.0


@torch.no_grad()
def grid_activation(model: nn.Module, view: CyclicView, hook: str, position: int = 2) -> Tensor:
    """Any hooked activation at ``position`` over the full grid, in group order: [n, n, ...].

    E.g. ``blocks.0.attn.hook_attn_scores`` gives [n, n, n_heads, n_ctx] (query at ``position``),
    ``blocks.0.hook_resid_mid`` gives [n, n, d_model]; feed it to ``fourier.fourier_2d`` or
    ``fourier.freq_energy_2d``.
    """
    _, cache = model.run_with_cache(group_tokens(view), names_filter=hook)
    act = cache[hook]
    if hook.endswith(("attn_scores", "pattern")):  # [batch, heads, query, key]
        act = act[:, :, position].reshape(view.n, view.n, *act.shape[1:2], act.shape[-1])
        return act
    return act[:, position].reshape(view.n, view.n, *act.shape[2:])


def neuron_acts(model: nn.Module, view: CyclicView, position: int = 2) -> Tensor | None:
    """[n, n, d_mlp] post-activation of the last block's MLP at the answer position, group order."""
    blocks = getattr(model, "blocks", None)
    if not blocks or getattr(blocks[-1], "mlp", None) is None:
        return None
    return grid_activation(model, view, f"blocks.{len(blocks) - 1}.mlp.hook_post", position)


CLOCK_SOURCE = ("on the clock amplitudes A_k of the logits, the terms A_k cos(w_k (s - c)) that raise the "
                "correct answer; noise floor: the largest amplitude chance reaches among the K frequencies, "
                "the smaller of two estimates (see measures.noise_floor)")


def noise_floor(amplitude: Tensor, noise: Tensor) -> float:
    """The largest clock amplitude that chance alone gives among K frequencies: sqrt(2 ln K) (the expected
    maximum of K standard normals) times a noise scale, taking the smaller of two estimates of it.

    * per frequency: ``noise`` (the amplitude its non-clock coefficients would give by chance), median
      over frequencies; too high when the non-clock part is concentrated in directions other than the
      clock's (cross-talk from other frequencies), which a projection does not pick up;
    * across frequencies: the median amplitude plus 1.4826 x the median absolute deviation (a robust
      standard deviation); too high when many frequencies carry a clock or memorisation amplitude.
    """
    k = amplitude.numel()
    if k < 2:
        return 0.0
    expected_max = math.sqrt(2 * math.log(k))
    median = amplitude.median()
    spread = float(median.clamp_min(0)) + expected_max * 1.4826 * float((amplitude - median).abs().median())
    return min(expected_max * float(noise.median()), spread)


def key_frequencies(logits: Tensor, s: Tensor) -> tuple[KeyFrequencies, Tensor, Tensor]:
    """The key frequencies of a model from its logits [n, n, n] (group order): the largest gap in the
    clock amplitudes above their noise floor (:func:`tritlens.interp.logits.clock_amplitudes`);
    also returns the amplitudes and noise scales."""
    amplitude, noise = clock_amplitudes(logits, s)
    keys = detect_key_frequencies(amplitude, CLOCK_SOURCE, floor=noise_floor(amplitude, noise))
    return keys, amplitude, noise


def final_measures(model: nn.Module, view: CyclicView, train: Tensor) -> dict[str, Any]:
    """The "fourier" section of analysis.json (without applies/note) for one model.

    Key frequencies come from the clock amplitudes of the logits (:func:`key_frequencies`): the logits
    are the function the model computes, and for a clock model they are sum_k A_k cos(w_k(s-c)). The
    amplitude of exactly that term ignores what noise, harmonics and cross-talk add at a frequency, so its
    spectrum keeps a weak key frequency far above the non-key ones, where the logit norms (the previous
    rule, still reported as ``norm_key_*``) and the embedding norms (Nanda's definition, ``embed_key_*``)
    can put a weak key closer to the strong ones than to the bulk, and drop it.
    """
    weights = effective(model)
    norms = embed_norms(group_embedding(weights, view))
    embed_keys = detect_key_frequencies(norms, "on the embedding's Fourier norms")
    logits = group_logits(model, view)
    s = view.label_index()
    l_norms = logit_norms(logits, s)
    norm_keys = detect_key_frequencies(torch.tensor(l_norms), "on the logits' Fourier norms")
    keys, amplitude, _ = key_frequencies(logits, s)
    lm = logit_measures(logits, s, keys.freqs, train)
    out: dict[str, Any] = {
        "group_order": view.n,
        "frequencies": list(range(1, view.n // 2 + 1)),
        "embed_norms": norms.tolist(),
        "key_frequencies": keys.freqs,
        "key_confidence": keys.confidence,
        "key_gap_ratio": keys.gap_ratio,
        "key_rule": keys.rule,
        "key_noise_floor": keys.floor,
        "key_norm_frac": key_norm_frac(norms, keys.freqs),
        "clock_amplitudes": amplitude.tolist(),
        "embed_key_frequencies": embed_keys.freqs,
        "embed_key_confidence": embed_keys.confidence,
        "norm_key_frequencies": norm_keys.freqs,
        "norm_key_confidence": norm_keys.confidence,
        "logit_norms": l_norms,
        "logit_key_fve": lm["logit_key_fve"],
    }
    layers = layer_measures(model, view, keys.freqs, weights)
    last_mlp = layers[-1]["mlp"] if layers else None
    # the top-level neuron fields describe the last block's MLP (schema 1); "layers" has every block
    out.update({k: v for k, v in (last_mlp or neuron_measures(None)).items() if k != "key_fve"})
    out["layers"] = layers
    out.update({"loss_full": lm["loss_full"], "loss_restricted": lm["loss_restricted"],
                "loss_excluded": lm["loss_excluded"], "acc_full": lm["acc_full"],
                "acc_restricted": lm["acc_restricted"], "weight_norm": weight_norm(weights)})
    out["grid"] = {k: lm[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
    return out


def checkpoint_measures(model: nn.Module, view: CyclicView, train: Tensor,
                        key_freqs: list[int]) -> dict[str, float]:
    """The per-checkpoint progress measures, relative to the final model's key frequencies."""
    weights = effective(model)
    logits = group_logits(model, view)
    s = view.label_index()
    lm = logit_measures(logits, s, key_freqs, train, detail=False)
    row = {k: lm[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
    row.update({"full_loss": lm["loss_full"], "restricted_loss": lm["loss_restricted"],
                "excluded_loss": lm["loss_excluded"], "weight_norm": weight_norm(weights),
                "key_norm_frac": key_norm_frac(embed_norms(group_embedding(weights, view)), key_freqs)})
    return row
