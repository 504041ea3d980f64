"""Initialisation schemes draw exactly the weights of the code they reproduce (models/init.py)."""

import math

import pytest
import torch
from torch import nn

from tritlens.models import HookedTransformer, TransformerConfig
from tritlens.presets import preset_config
from tritlens.tasks.modular import ModularTask

TASK = ModularTask(p=113)
NANDA = preset_config("nanda2023")
TL_CASES = {
    "nanda2023": (NANDA.model, NANDA.train.seed),
    "2 layers, LayerNorm, biases": (TransformerConfig(n_layers=2, norm="layer", d_model=64, d_head=16,
                                                      d_mlp=128), 7),
}


def _ours(cfg: TransformerConfig, seed: int, task: ModularTask = TASK) -> HookedTransformer:
    return HookedTransformer(cfg, task.d_vocab, task.d_vocab_out, task.n_ctx, seed=seed)


@pytest.mark.parametrize("case", list(TL_CASES))
def test_tl_init_equals_transformer_lens_for_the_same_seed(case):
    tl = pytest.importorskip("transformer_lens", reason="the tl extra is installed by `make test`")
    cfg, seed = TL_CASES[case]
    ours = _ours(cfg, seed)
    tl_cfg = tl.HookedTransformerConfig(
        n_layers=cfg.n_layers, n_heads=cfg.n_heads, d_model=cfg.d_model, d_head=cfg.d_head,
        d_mlp=cfg.d_mlp, act_fn=cfg.act, normalization_type={"none": None, "layer": "LN"}[cfg.norm],
        d_vocab=TASK.d_vocab, d_vocab_out=TASK.d_vocab_out, n_ctx=TASK.n_ctx, init_weights=True,
        device="cpu", seed=seed)
    with torch.random.fork_rng():  # TransformerLens seeds the global generator
        theirs = tl.HookedTransformer(tl_cfg).state_dict()
    mine = ours.state_dict()
    assert set(mine) <= set(theirs)
    for name, value in mine.items():
        assert torch.equal(value, theirs[name]), name


def _torch_reference(cfg: TransformerConfig, seed: int, twins: bool) -> dict[str, torch.Tensor]:
    """The same network built from nn.Embedding / nn.Linear in module order (each matrix preceded by an
    unused twin when ``twins``), its weights moved into TransformerLens layout by hand."""
    d, h, e, m = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp

    def linear(d_in: int, d_out: int) -> nn.Linear:
        if twins:
            nn.Linear(d_in, d_out, bias=cfg.biases)
        return nn.Linear(d_in, d_out, bias=cfg.biases)

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        embed = nn.Embedding(TASK.d_vocab, d)
        q, k, v, o = linear(d, h * e), linear(d, h * e), linear(d, h * e), linear(h * e, d)
        w_in, w_out = linear(d, m), linear(m, d)
        unembed = nn.Linear(d, TASK.d_vocab_out, bias=cfg.biases)
    heads = lambda lin: lin.weight.view(h, e, d).transpose(1, 2)  # noqa: E731
    out = {"embed.W_E": embed.weight, "blocks.0.attn.W_Q": heads(q), "blocks.0.attn.W_K": heads(k),
           "blocks.0.attn.W_V": heads(v), "blocks.0.attn.W_O": o.weight.t().reshape(h, e, d),
           "blocks.0.mlp.W_in": w_in.weight.t(), "blocks.0.mlp.W_out": w_out.weight.t(),
           "unembed.W_U": unembed.weight.t()}
    if cfg.biases:
        out.update({"blocks.0.attn.b_Q": q.bias.view(h, e), "blocks.0.attn.b_K": k.bias.view(h, e),
                    "blocks.0.attn.b_V": v.bias.view(h, e), "blocks.0.attn.b_O": o.bias,
                    "blocks.0.mlp.b_in": w_in.bias, "blocks.0.mlp.b_out": w_out.bias,
                    "unembed.b_U": unembed.bias})
    return {name: t.detach() for name, t in out.items()}


@pytest.mark.parametrize(("init", "biases"), [("torch", True), ("torch", False), ("li2024", False)])
def test_torch_inits_equal_nn_linear_modules_built_in_order(init, biases):
    cfg = TransformerConfig(d_model=32, n_heads=4, d_head=8, d_mlp=64, pos_embed=False, biases=biases,
                            norm="rms", norm_where="final", init=init)
    ours = dict(_ours(cfg, 999).named_parameters())
    reference = _torch_reference(cfg, 999, twins=init == "li2024")
    assert set(ours) == set(reference) | {"ln_final.w"}
    for name, value in reference.items():
        assert torch.equal(ours[name].detach(), value), name
    assert torch.equal(ours["ln_final.w"].detach(), torch.ones(32))
    # the fan-in of each matrix is its nn.Linear input size
    assert ours["blocks.0.mlp.W_out"].abs().max() <= 1 / math.sqrt(64)
    assert ours["blocks.0.mlp.W_out"].abs().max() > 0.9 / math.sqrt(64)


def test_inits_differ_and_are_seeded():
    cfg = TransformerConfig(d_model=32, n_heads=4, d_mlp=64)
    for init in ("tl", "torch", "li2024"):
        c = TransformerConfig(**{**cfg.__dict__, "init": init})
        assert torch.equal(_ours(c, 5).blocks[0].attn.W_K, _ours(c, 5).blocks[0].attn.W_K)
        assert not torch.equal(_ours(c, 5).blocks[0].attn.W_K, _ours(c, 6).blocks[0].attn.W_K)
    weights = {init: _ours(TransformerConfig(**{**cfg.__dict__, "init": init}), 5).blocks[0].mlp.W_in
               for init in ("tl", "torch", "li2024")}
    assert not torch.equal(weights["tl"], weights["torch"])
    assert not torch.equal(weights["torch"], weights["li2024"])


def test_init_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    for init in ("tl", "torch", "li2024"):
        _ours(TransformerConfig(d_model=32, n_heads=4, d_mlp=64, init=init), 1)
    assert torch.equal(torch.random.get_rng_state(), state)
