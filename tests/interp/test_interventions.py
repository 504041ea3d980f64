"""Ablation, activation patching and attribution patching against hand computations on small models."""

from __future__ import annotations

import pytest
import torch

from tritlens.errors import TritlensError
from tritlens.interp.interventions import (
    Site,
    ablate,
    ablation_sweep,
    attribution_patching,
    grid_sites,
    logit_diff,
    patch,
    patching_sweep,
    per_example_correct,
    site_index,
)
from tritlens.models import HookedTransformer, TransformerConfig

V, T = 7, 4


def _model(**kw) -> HookedTransformer:
    cfg = TransformerConfig(**{"n_layers": 1, "n_heads": 2, "d_model": 8, "d_head": 4, "d_mlp": 0, **kw})
    model = HookedTransformer(cfg, V, V, T, seed=3)
    with torch.no_grad():  # non-zero biases so that bias handling is tested too
        for name, p in model.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("b_"):
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(len(name))) * 0.1)
    return model.eval()


def _tokens(seed: int, n: int = 5) -> torch.Tensor:
    return torch.randint(V, (n, T), generator=torch.Generator().manual_seed(seed))


def _unembed(model: HookedTransformer, resid: torch.Tensor) -> torch.Tensor:
    return resid @ model.unembed.W_U + model.unembed.b_U


def test_zero_and_mean_ablation_of_attention_output_by_hand():
    model, x, ref = _model(), _tokens(0), _tokens(1, 9)
    _, cache = model.run_with_cache(x)
    _, ref_cache = model.run_with_cache(ref)
    base = cache["hook_embed"] + cache["hook_pos_embed"]
    with ablate(model, Site("blocks.0.hook_attn_out", position=2)):
        zero = model(x)
    attn = cache["blocks.0.hook_attn_out"].clone()
    attn[:, 2] = 0
    assert torch.allclose(zero, _unembed(model, base + attn), atol=1e-5)
    with ablate(model, Site("blocks.0.hook_attn_out", position=2), "mean", reference=ref):
        mean = model(x)
    attn[:, 2] = ref_cache["blocks.0.hook_attn_out"][:, 2].mean(0)
    assert torch.allclose(mean, _unembed(model, base + attn), atol=1e-5)
    assert torch.equal(model(x), model(x))  # hooks are gone after the block


def test_head_ablation_of_z_by_hand():
    model, x = _model(), _tokens(2)
    _, cache = model.run_with_cache(x)
    z = cache["blocks.0.attn.hook_z"].clone()
    z[:, 3, 1] = 0  # head 1 at position 3
    attn_out = torch.einsum("bthe,hed->btd", z, model.blocks[0].attn.W_O) + model.blocks[0].attn.b_O
    expected = _unembed(model, cache["hook_embed"] + cache["hook_pos_embed"] + attn_out)
    with ablate(model, Site("blocks.0.attn.hook_z", position=3, head=1)):
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_resample_ablation_is_seeded_and_uses_reference_rows():
    model, x, ref = _model(), _tokens(3), _tokens(4, 6)
    site = Site("blocks.0.hook_resid_post", position=1)
    with ablate(model, site, "resample", reference=ref, seed=5):
        first = model(x)
    with ablate(model, site, "resample", reference=ref, seed=5):
        assert torch.equal(model(x), first)
    _, ref_cache = model.run_with_cache(ref)
    rows = _unembed(model, ref_cache["blocks.0.hook_resid_post"][:, 1])  # every possible replacement
    assert all(any(torch.allclose(first[i, 1], r, atol=1e-5) for r in rows) for i in range(len(x)))


def test_patching_resid_post_by_hand_and_sweep():
    model, target, source = _model(), _tokens(5), _tokens(6)
    _, t_cache = model.run_with_cache(target)
    _, s_cache = model.run_with_cache(source)
    resid = t_cache["blocks.0.hook_resid_post"].clone()
    resid[:, 0] = s_cache["blocks.0.hook_resid_post"][:, 0]
    out = patch(model, target, source, Site("blocks.0.hook_resid_post", position=0))
    assert torch.allclose(out, _unembed(model, resid), atol=1e-5)
    sites = [Site("blocks.0.hook_resid_post", position=p) for p in range(T)]
    sweep = patching_sweep(model, target, source, sites, lambda logits: logits[:, -1].sum())
    patched_last = _unembed(model, s_cache["blocks.0.hook_resid_post"][:, -1]).sum()
    assert torch.allclose(sweep[-1], patched_last, atol=1e-4)
    assert all(torch.allclose(v, model(target)[:, -1].sum(), atol=1e-4) for v in sweep[:-1])  # causal


def test_attribution_patching_is_exact_on_a_linear_path():
    """With no MLP and no norm the logits are linear in the attention output: the estimate is exact."""
    model, target, source = _model(), _tokens(7), _tokens(8)
    correct, wrong = torch.zeros(5, 1, dtype=torch.long), torch.ones(5, 1, dtype=torch.long)
    metric = logit_diff([T - 1], correct, wrong)
    sites = [Site("blocks.0.hook_attn_out", position=p) for p in range(T)]
    estimate = attribution_patching(model, target, source, sites, metric)
    base = metric(model(target))
    exact = torch.stack([m - base for m in patching_sweep(model, target, source, sites, metric)])
    assert torch.allclose(estimate, exact, atol=1e-4)
    assert estimate[:-1].abs().max() < 1e-6 and estimate[-1].abs() > 1e-3


def test_attribution_patching_uses_the_full_gradient():
    """Several hooks at once, through two layers with MLPs: each estimate is the directional derivative
    of the metric along (source - target) at that site, measured here by finite differences."""
    model = _model(n_layers=2, d_mlp=16, act="gelu").double()
    target, source = _tokens(9), _tokens(10)
    metric = lambda logits: logits[:, -1, 0].mean()  # noqa: E731
    sites = [Site("blocks.0.hook_resid_pre", position=1), Site("blocks.1.hook_resid_pre", position=1),
             Site("blocks.0.attn.hook_z", position=1, head=0)]
    estimate = attribution_patching(model, target, source, sites, metric)
    _, t_cache = model.run_with_cache(target)
    _, s_cache = model.run_with_cache(source)
    eps = 1e-7
    for site, est in zip(sites, estimate, strict=True):
        index = site_index(site, t_cache[site.hook].shape)

        def nudge(x, hook, index=index, site=site):
            x = x.clone()
            x[index] += eps * (s_cache[site.hook][index] - t_cache[site.hook][index])
            return x

        with model.hooks([(site.hook, nudge)]):
            moved = metric(model(target))
        assert torch.allclose(est, (moved - metric(model(target))) / eps, rtol=1e-4, atol=1e-6)


def test_ablation_sweep_and_grid_sites():
    model, x = _model(n_layers=2, d_mlp=8), _tokens(11)
    sites = grid_sites("blocks.{layer}.attn.hook_z", 2, positions=[0, 3], heads=[0, 1])
    assert len(sites) == 8 and sites[0] == Site("blocks.0.attn.hook_z", 0, 0)
    correct = per_example_correct([T - 1], model(x).argmax(-1)[:, -1:])
    kept = ablation_sweep(model, x, sites, correct)
    assert all(k.shape == (5,) and k.dtype == torch.bool for k in kept)
    for site, k in zip(sites, kept, strict=True):  # each entry is that one site's ablation
        with ablate(model, site):
            assert torch.equal(k, correct(model(x)))
    with ablate(model, sites):  # several sites at once
        assert model(x).shape == (5, T, V)


@pytest.mark.parametrize(("site", "match"), [
    (Site("blocks.7.hook_resid_pre"), "no hook named"),
    (Site("blocks.0.hook_resid_pre", position=T), "position 4 does not exist"),
    (Site("blocks.0.attn.hook_z", position=0, head=2), "head 2 does not exist"),
    (Site("blocks.0.hook_resid_pre", head=0), "has no head dimension"),
    (Site("blocks.0.hook_attn_out", neuron=8), "neuron 8 does not exist"),
])
def test_bad_sites_are_one_line_errors(site, match):
    model, x = _model(), _tokens(12)
    with pytest.raises(TritlensError, match=match), ablate(model, site):
        model(x)


def test_bad_arguments():
    model, x = _model(), _tokens(13)
    site = Site("blocks.0.hook_resid_post", position=0)
    with pytest.raises(TritlensError, match="unknown ablation"), ablate(model, site, "noise"):
        pass
    with pytest.raises(TritlensError, match="needs reference tokens"), ablate(model, site, "mean"):
        pass
    with pytest.raises(TritlensError, match="differ in shape"):
        patch(model, x, x[:, :2], site)
    with pytest.raises(TritlensError, match="one number"):
        attribution_patching(model, x, _tokens(14), [site], lambda logits: logits[:, 0, 0])
