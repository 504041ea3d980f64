"""Per-layer Fourier structure of a modular-arithmetic transformer with any number of layers.

For every block L, over the full (a, b) grid at the answer position ('='), in group order:

* ``resid_key_fve``: share of the variance of the residual stream after the block (``hook_resid_post``)
  carried by the key frequencies: the 2D Fourier energy in the terms built from the waves of a and b at
  key frequencies and the constant (cos/sin k a, cos/sin k' b and their products, k, k' keys), over all
  non-constant energy. ``resid_freq_share`` is the same per single frequency k (terms of k alone).
* ``attn``: the same key share of the block's attention output, and per head (its output z_h W_O[h]):
  the dominant single frequency, the share of the head's variance it explains, and the key share.
* ``mlp``: the neuron measures of the block's MLP (dominant frequency and one-frequency FVE per neuron,
  clusters above the cut-off, share of live neurons in a cluster) and the key share of its output.

The answer position of a later block sees earlier blocks' outputs, so these numbers say where along the
depth the waves of a and b appear (attention), where they are multiplied (MLP: products cos k a cos k b)
and what reaches the unembedding (the last residual).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from tritlens.interp.fourier import FVE_CUTOFF, clusters, dominant_frequency, freq_energy_2d, single_freq_fve
from tritlens.interp.grid import CyclicView, group_tokens

POSITION = 2  # the answer ('=') position


def key_share(acts: Tensor, key_freqs: list[int]) -> float:
    """Share of the non-constant variance of ``acts`` [n, n, ...] (summed over trailing dims) in the 2D
    Fourier terms whose row and column frequencies are both key frequencies or 0."""
    block = freq_energy_2d(acts.reshape(acts.shape[0], acts.shape[1], -1)).sum(-1)
    total = float(block.sum() - block[0, 0])
    if total <= 1e-20 * (1 + float(block[0, 0])):
        return 0.0
    idx = torch.tensor([0, *key_freqs], dtype=torch.long)
    return float(block[idx][:, idx].sum() - block[0, 0]) / total


def freq_share(acts: Tensor) -> Tensor:
    """[n//2] share of the non-constant variance of ``acts`` [n, n, ...] in each single frequency's terms
    (cos/sin k a, cos/sin k b and their products), summed over trailing dims."""
    n = acts.shape[0]
    fve = single_freq_fve(acts.reshape(n, n, -1))  # per column; weight columns by their variance
    centred = acts.reshape(n * n, -1).double()
    var = (centred - centred.mean(0)).pow(2).sum(0)
    total = float(var.sum())
    return (fve @ var / total)[1:] if total > 0 else torch.zeros(n // 2, dtype=torch.float64)


def neuron_measures(acts: Tensor | None, cutoff: float = FVE_CUTOFF) -> dict[str, Any]:
    """Dominant frequency, FVE, clusters and the Li 2024 degree-2 fit per neuron of one MLP
    (``acts`` [n, n, d_mlp] post-activations at '=', or None for a block without MLP)."""
    if acts is None:
        return {"neuron_freq": [], "neuron_fve": [], "clusters": {}, "frac_neurons_one_freq": 0.0,
                "fve_cutoff": cutoff, "poly2_fve": [], "poly2_best_k": [], "dead_neurons": 0}
    freq, fve = dominant_frequency(single_freq_fve(acts))
    # Li 2024's degree-2 fit: on the complete grid its 8 regressors are orthonormal 2D Fourier terms, so the
    # least-squares R^2 equals the one-frequency FVE (tests check fourier.poly2_fve, the explicit fit).
    best_k, r2 = freq, fve
    alive = acts.reshape(-1, acts.shape[-1]).std(0) > 0
    freq_l, fve_l = freq.tolist(), fve.tolist()
    groups = clusters(freq_l, fve_l, cutoff)
    n_alive = int(alive.sum())
    explained = sum(len(v) for v in groups.values())
    return {"neuron_freq": freq_l, "neuron_fve": fve_l, "clusters": groups,
            "frac_neurons_one_freq": explained / n_alive if n_alive else 0.0, "fve_cutoff": cutoff,
            "poly2_fve": r2.tolist(), "poly2_best_k": best_k.tolist(),
            "dead_neurons": acts.shape[-1] - n_alive}


def _heads(z: Tensor, w_o: Tensor, key_freqs: list[int]) -> list[dict[str, Any]]:
    """Per head, from its output z_h W_O[h] over the grid: the dominant single frequency and its share of
    the head's variance, the share of each key frequency (in key_frequencies order) and of all of them."""
    out = []
    for h in range(w_o.shape[0]):
        head_out = z[..., h, :].double() @ w_o[h].double()  # [n, n, d_model]
        share = freq_share(head_out)
        best = int(torch.argmax(share))
        out.append({"head": h, "freq": best + 1 if share[best] > 0 else 0, "fve": float(share[best]),
                    "key_freq_share": [float(share[k - 1]) for k in key_freqs],
                    "key_fve": key_share(head_out, key_freqs)})
    return out


@torch.no_grad()
def layer_activations(model: nn.Module, view: CyclicView, layer: int) -> dict[str, Tensor]:
    """One block's activations at '=' over the grid, in group order [n, n, ...]."""
    prefix = f"blocks.{layer}"
    block = model.blocks[layer]
    names = [f"{prefix}.hook_resid_post", f"{prefix}.hook_attn_out", f"{prefix}.attn.hook_z"]
    if getattr(block, "mlp", None) is not None:
        names += [f"{prefix}.mlp.hook_post", f"{prefix}.hook_mlp_out"]
    _, cache = model.run_with_cache(group_tokens(view), names_filter=lambda name: name in names)
    return {name.removeprefix(f"{prefix}."): cache[name][:, POSITION].reshape(view.n, view.n,
                                                                              *cache[name].shape[2:])
            for name in names}


def layer_measures(model: nn.Module, view: CyclicView, key_freqs: list[int],
                   weights: dict[str, Tensor]) -> list[dict[str, Any]]:
    """The per-layer section of analysis.json (see the module docstring), one entry per block.

    ``weights`` are the effective weights by parameter name (``blocks.L.attn.W_O`` is read from them, so
    any model with TransformerLens names works, the discrete transformer's hard attention included).
    """
    layers = []
    for layer in range(len(getattr(model, "blocks", []))):
        acts = layer_activations(model, view, layer)
        post = acts.get("mlp.hook_post")
        mlp = None
        if post is not None:
            mlp = {**neuron_measures(post), "key_fve": key_share(acts["hook_mlp_out"], key_freqs)}
        layers.append({
            "layer": layer,
            "resid_key_fve": key_share(acts["hook_resid_post"], key_freqs),
            "resid_freq_share": freq_share(acts["hook_resid_post"]).tolist(),
            "attn": {"key_fve": key_share(acts["hook_attn_out"], key_freqs),
                     "heads": _heads(acts["attn.hook_z"], weights[f"blocks.{layer}.attn.W_O"], key_freqs)},
            "mlp": mlp,
        })
    return layers
