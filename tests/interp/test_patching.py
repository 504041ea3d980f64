"""Activation and attribution patching grids against hand-patched forward passes and exact linearisation."""

from __future__ import annotations

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.errors import TritlensError
from tritlens.interp.interventions import Site, activation_patching, logit_diff, patch
from tritlens.interp.patching import Pairs, agreement, make_pairs, patch_grids
from tritlens.models import HookedTransformer, TransformerConfig
from tritlens.tasks import ModularTask, Split

V, T = 7, 4
POSITIONS = [T - 1]


def _model(**kw) -> HookedTransformer:
    cfg = TransformerConfig(**{"n_layers": 2, "n_heads": 2, "d_model": 8, "d_head": 4, "d_mlp": 16,
                               "norm": "layer", **kw})
    model = HookedTransformer(cfg, V, V, T, seed=3)
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.2)
    return model.double().eval()


def _pairs(n: int = 12) -> Pairs:
    gen = torch.Generator().manual_seed(5)
    clean = Split(torch.randint(V, (n, T), generator=gen), torch.randint(V, (n, 1), generator=gen))
    corrupted = Split(torch.randint(V, (n, T), generator=gen), torch.randint(V, (n, 1), generator=gen))
    return Pairs(clean, corrupted)


def test_activation_patching_matches_a_hand_patched_forward():
    model, pairs = _model(), _pairs()
    clean, corrupted = pairs.clean.tokens, pairs.corrupted.tokens
    metric = logit_diff(POSITIONS, pairs.clean.targets, pairs.corrupted.targets)
    sites = [Site("blocks.1.hook_resid_pre", position=2), Site("blocks.0.attn.hook_z", head=1),
             Site("blocks.1.hook_mlp_out", position=3), Site("hook_embed", position=0)]
    values = activation_patching(model, corrupted, clean, sites, metric)
    for site, value in zip(sites, values, strict=True):  # the same as one full patched run per site
        assert torch.allclose(value, metric(patch(model, corrupted, clean, site)), atol=1e-10)
    # by hand: rerun layer 1 on the corrupted residual stream with position 2 taken from the clean run
    _, c_clean = model.run_with_cache(clean)
    _, c_corr = model.run_with_cache(corrupted)
    resid = c_corr["blocks.1.hook_resid_pre"].clone()
    resid[:, 2] = c_clean["blocks.1.hook_resid_pre"][:, 2]
    logits = model.unembed(model.ln_final(model.blocks[1](resid)))
    assert torch.allclose(values[0], metric(logits), atol=1e-10)


def test_attribution_equals_activation_patching_on_a_linear_path():
    """One attention-only layer, no norm: the logits are linear in the attention output."""
    model, pairs = _model(n_layers=1, d_mlp=0, norm="none"), _pairs()
    result = patch_grids(model, pairs, POSITIONS, "logit_diff", ["attn_out", "resid_pre", "z"])
    exact = result["grids"]["attn_out"]
    assert torch.allclose(exact["activation"], exact["attribution"], atol=1e-10)
    assert exact["activation"][0, :-1].abs().max() < 1e-12  # earlier positions cannot reach the answer
    assert exact["correlation"] == pytest.approx(1.0) and exact["l1"] < 1e-10
    assert result["n_sites"] == 2 * T + 2 and result["speedup"] > 0
    assert result["clean_metric"] != pytest.approx(result["corrupted_metric"])


def test_grids_have_their_shapes_and_a_layer_norm_model_disagrees():
    model, pairs = _model(), _pairs()
    result = patch_grids(model, pairs, POSITIONS, "correct_prob")
    shapes = {k: tuple(g["activation"].shape) for k, g in result["grids"].items()}
    assert shapes == {"resid_pre": (2, T), "attn_out": (2, T), "mlp_out": (2, T), "z": (2, 2)}
    resid = result["grids"]["resid_pre"]
    assert not torch.allclose(resid["activation"], resid["attribution"], atol=1e-6)  # not linear


def test_agreement():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert agreement(a, 2 * a)["correlation"] == pytest.approx(1.0)
    assert agreement(a, a + 1)["l1"] == pytest.approx(1.0)
    assert agreement(a, torch.zeros_like(a))["correlation"] is None  # undefined for a constant


def test_pairs():
    task = ModularTask(p=11, train_frac=0.5)
    data = task.split()[1]
    resampled = make_pairs(task, data, "resample", seed=1)
    assert not (resampled.clean.tokens == resampled.corrupted.tokens).all(-1).any()  # never itself
    changed = make_pairs(task, data, [0], seed=1)
    assert torch.equal(changed.corrupted.tokens[:, 1:], data.tokens[:, 1:])
    a, b = changed.corrupted.tokens[:, 0], changed.corrupted.tokens[:, 1]
    assert torch.equal(changed.corrupted.targets[:, 0], (a + b) % 11)


def test_bad_input(tmp_path, capsys):
    task, model = ModularTask(p=11), _model()
    data = task.split()[1]
    with pytest.raises(TritlensError, match="differ in shape"):
        Pairs(data, data.subset(slice(0, 3)))
    with pytest.raises(TritlensError, match="at least 2 examples"):
        make_pairs(task, data.subset(slice(0, 1)))
    with pytest.raises(TritlensError, match="must lie in"):
        make_pairs(task, data, [3])
    with pytest.raises(TritlensError, match="unknown corruption"):
        make_pairs(task, data, "noise")
    with pytest.raises(TritlensError, match="unknown metric"):
        patch_grids(model, _pairs(), POSITIONS, "accuracy")
    with pytest.raises(TritlensError, match="unknown patching grid"):
        patch_grids(model, _pairs(), POSITIONS, "loss", ["resid_post"])
    with pytest.raises(TritlensError, match="no MLPs"):
        patch_grids(_model(d_mlp=0), _pairs(), POSITIONS, "loss", ["mlp_out"])
    run = tmp_path / "run"
    api.train("quick", out=run, progress=False, overrides=["task.p=11", "model.d_model=16", "model.d_head=4",
                                                           "model.d_mlp=16", "train.steps=5"])
    fails(capsys, ["patch", str(run), "--grids", "resid_post"], "unknown grid 'resid_post'")
    fails(capsys, ["patch", str(run), "--metric", "accuracy"], "invalid choice")
    fails(capsys, ["patch", str(run), "--corrupt", "9"], "must lie in [0, 3)")
    fails(capsys, ["patch", str(run), "--corrupt", "x,y"], "expected comma-separated positions")
    assert not (run / "patching.json").exists()
    from tritlens.cli import main

    assert main(["patch", str(run), "--examples", "40", "--corrupt", "1"]) == 0
    assert "correlation" in capsys.readouterr().out and (run / "patching.json").is_file()
