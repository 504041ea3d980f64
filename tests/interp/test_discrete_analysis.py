"""`analyze` on a discrete transformer (hard attention, threshold MLP): the per-layer measures read W_O from
the effective weights, since hard attention has no quantized ``weight()`` accessor."""

from __future__ import annotations

import torch

import tritlens.api as api
from tritlens.build import build_model, build_task
from tritlens.interp import analyze_run
from tritlens.interp.grid import cyclic_view
from tritlens.interp.layers import freq_share, layer_activations


def test_analyze_reads_a_discrete_transformer() -> None:
    cfg = api.make_config("discrete-transformer-p11", ["model.d_mlp=32", "model.d_model=16"])
    model = build_model(cfg, build_task(cfg))
    analysis = analyze_run(api.Run(None, cfg, model, []), checkpoints=False)
    (layer,) = analysis["fourier"]["layers"]
    heads = layer["attn"]["heads"]
    assert [h["head"] for h in heads] == [0, 1]
    # each head's dominant-frequency share is that of z_h @ W_O[h] with the model's integer W_O
    view = cyclic_view(build_task(cfg))
    z = layer_activations(model, view, 0)["attn.hook_z"]
    w_o = torch.from_numpy(model.integer_weights()["blocks.0.attn.W_O"]).double()
    for h, head in enumerate(heads):
        share = freq_share(z[..., h, :].double() @ w_o[h])
        assert abs(head["fve"] - float(share.max())) < 1e-9
    assert analysis["trits"] is not None
