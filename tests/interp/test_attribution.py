"""Direct logit attribution and direct effects against hand computations, with and without a final norm."""

from __future__ import annotations

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.errors import TritlensError
from tritlens.interp.attribution import attribute
from tritlens.interp.sensitivity import token_sensitivity
from tritlens.models import HookedTransformer, TransformerConfig
from tritlens.presets import preset_config

V, T = 9, 5
POSITIONS = (3, 4)


def _model(norm: str, layers: int = 2) -> HookedTransformer:
    cfg = TransformerConfig(n_layers=layers, n_heads=2, d_model=12, d_head=6, d_mlp=16, act="gelu", norm=norm)
    model = HookedTransformer(cfg, V, V, T, seed=5)
    gen = torch.Generator().manual_seed(6)
    with torch.no_grad():  # biases and norm weights away from their initial values
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.3)
    return model.double().eval()


def _data(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    return torch.randint(V, (n, T), generator=gen), torch.randint(V, (n, len(POSITIONS)), generator=gen)


def test_norm_free_dla_sums_to_the_logits_and_equals_the_direct_effect():
    model = _model("none")
    tokens, targets = _data()
    result = attribute(model, tokens, targets, POSITIONS)
    logits = model(tokens)[:, list(POSITIONS)].gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(result.logit, logits)
    assert torch.allclose(result.dla.sum(-1) + result.constant, logits, atol=1e-10)
    assert torch.allclose(result.dla, result.direct_effect, atol=1e-10)
    assert result.nmae() < 1e-10 and result.direct_sum_error() < 1e-10
    assert len(result.names) == 2 + 2 * (2 + 1 + 1)  # embeddings, and per layer 2 heads, b_O, MLP


@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_with_a_final_norm_direct_effects_do_not_add_up(norm):
    model = _model(norm)
    tokens, targets = _data()
    result = attribute(model, tokens, targets, POSITIONS)
    # with the cached scale the decomposition is exact by construction ...
    assert result.sum_error() < 1e-10
    # ... but removing a component and recomputing the norm is not linear
    assert result.direct_sum_error() > 1e-2 and result.nmae() > 1e-3


def test_direct_effect_by_removal_equals_a_hand_computation():
    model = _model("layer")
    tokens, targets = _data(6)
    result = attribute(model, tokens, targets, POSITIONS, logit=2)  # the logit of output token 2
    _, cache = model.run_with_cache(tokens)
    attn = model.blocks[1].attn
    head = cache["blocks.1.attn.hook_z"][:, :, 1] @ attn.W_O[1]  # [batch, pos, d]: head L1H1's output
    resid = cache["blocks.1.hook_resid_post"]

    def logit_of(x):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        normed = (x - mu) / (var + 1e-5).sqrt() * model.ln_final.w + model.ln_final.b
        return normed @ model.unembed.W_U[:, 2] + model.unembed.b_U[2]

    expected = (logit_of(resid) - logit_of(resid - head))[:, list(POSITIONS)]
    assert torch.allclose(result.direct_effect[..., result.names.index("L1H1")], expected, atol=1e-10)
    scale = cache["ln_final.hook_scale"][:, list(POSITIONS)]
    centred = head[:, list(POSITIONS)] - head[:, list(POSITIONS)].mean(-1, keepdim=True)
    dla = (centred / scale * model.ln_final.w) @ model.unembed.W_U[:, 2]
    assert torch.allclose(result.dla[..., result.names.index("L1H1")], dla, atol=1e-10)


def test_neurons_add_up_to_their_mlp():
    model = _model("layer")
    tokens, targets = _data()
    result = attribute(model, tokens, targets, POSITIONS)
    for layer, neurons in result.neuron_dla.items():
        b_out = model.blocks[layer].mlp.b_out
        scale = model.run_with_cache(tokens)[1]["ln_final.hook_scale"][:, list(POSITIONS)]
        u = model.unembed.W_U.t()[targets]  # [batch, A, d]
        bias = (((b_out - b_out.mean()) * model.ln_final.w) * u).sum(-1) / scale.squeeze(-1)
        mlp = result.dla[..., result.names.index(f"L{layer} MLP")]
        assert torch.allclose(neurons.sum(-1) + bias, mlp, atol=1e-10)


def test_bad_logit():
    model = _model("none")
    tokens, targets = _data()
    for bad in (V, -1, "wrong", True):
        with pytest.raises(TritlensError, match="--logit must be"):
            attribute(model, tokens, targets, POSITIONS, logit=bad)


def test_attribute_command_writes_once(tmp_path, capsys):
    run = tmp_path / "run"
    api.train("quick", out=run, progress=False, overrides=["task.p=11", "model.d_model=16", "model.d_head=4",
                                                           "model.d_mlp=16", "train.steps=5"])
    from tritlens.cli import main

    assert main(["attribute", str(run), "--examples", "30"]) == 0
    assert "NMAE" in capsys.readouterr().out and (run / "attribution.json").is_file()
    before = (run / "attribution.json").read_bytes()
    fails(capsys, ["attribute", str(run)], "exists; pass --force")
    fails(capsys, ["attribute", str(run), "--force", "--logit", "11"], "--logit must be")
    fails(capsys, ["attribute", str(run), "--force", "--split", "val"], "invalid choice")
    assert (run / "attribution.json").read_bytes() == before
    discrete = api.train(config=preset_config("ternary-mlp-modadd", ["train.steps=2"]), progress=False)
    with pytest.raises(TritlensError, match="attribution needs a transformer"):
        api.attribute(discrete)


def test_token_sensitivity_finds_the_input_an_answer_reads():
    """A planted 'model' whose answer at position 3 is token 1 (logit 5): changing token 1 moves the
    predicted logit by 5, changing token 0 by nothing; the constant token at 2 is not an input."""
    def planted(tokens):
        return torch.nn.functional.one_hot(tokens[:, 1], V).float().unsqueeze(1).expand(-1, T, -1) * 5.0

    tokens = torch.randint(V, (50, T), generator=torch.Generator().manual_seed(8))
    tokens[:, 2] = 0
    result = token_sensitivity(planted, tokens, [3])
    assert result["inputs"] == [0, 1] and result["outputs"] == [3]
    assert torch.allclose(result["grid"], torch.tensor([[0.0], [5.0]], dtype=torch.float64))
    with pytest.raises(TritlensError, match="cannot use \\[2\\]"):
        token_sensitivity(planted, tokens, [3], inputs=[2])
