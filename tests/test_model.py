import pytest
import torch

from tritlens.errors import ConfigError
from tritlens.models import HookedTransformer, QuantConfig, TransformerConfig
from tritlens.models.layers import Norm
from tritlens.models.rows import gather_rows, rows_apply
from tritlens.presets import preset_config
from tritlens.tasks.modular import ModularTask

TASK = ModularTask(p=17, train_frac=0.5)
NANDA = preset_config("nanda2023")


def _model(quant: QuantConfig | None = None, seed: int = 0, **kw) -> HookedTransformer:
    cfg = TransformerConfig(d_model=32, n_heads=4, d_mlp=64, **kw)
    return HookedTransformer(cfg, TASK.d_vocab, TASK.d_vocab_out, TASK.n_ctx, quant, seed=seed)


def test_nanda_parameter_names_and_shapes_follow_transformer_lens():
    m = HookedTransformer(NANDA.model, 114, 113, 3, NANDA.quant, seed=0)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes == {
        "embed.W_E": (114, 128), "pos_embed.W_pos": (3, 128),
        "blocks.0.attn.W_Q": (4, 128, 32), "blocks.0.attn.W_K": (4, 128, 32),
        "blocks.0.attn.W_V": (4, 128, 32), "blocks.0.attn.W_O": (4, 32, 128),
        "blocks.0.attn.b_Q": (4, 32), "blocks.0.attn.b_K": (4, 32), "blocks.0.attn.b_V": (4, 32),
        "blocks.0.attn.b_O": (128,), "blocks.0.mlp.W_in": (128, 512), "blocks.0.mlp.b_in": (512,),
        "blocks.0.mlp.W_out": (512, 128), "blocks.0.mlp.b_out": (128,),
        "unembed.W_U": (128, 113), "unembed.b_U": (113,),
    }
    frozen = {n for n, p in m.named_parameters() if not p.requires_grad}
    assert frozen == {n for n in shapes if n.rsplit(".", 1)[1].startswith("b_")}


def test_hook_names_and_shapes():
    m = _model(norm="layer")
    tokens = TASK.all_pairs().tokens[:10]
    logits, cache = m.run_with_cache(tokens)
    assert logits.shape == (10, 3, 17)
    expected = {
        "hook_embed": (10, 3, 32), "hook_pos_embed": (3, 32),
        "blocks.0.hook_resid_pre": (10, 3, 32), "blocks.0.ln1.hook_scale": (10, 3, 1),
        "blocks.0.ln1.hook_normalized": (10, 3, 32),
        "blocks.0.attn.hook_q": (10, 3, 4, 8), "blocks.0.attn.hook_k": (10, 3, 4, 8),
        "blocks.0.attn.hook_v": (10, 3, 4, 8), "blocks.0.attn.hook_attn_scores": (10, 4, 3, 3),
        "blocks.0.attn.hook_pattern": (10, 4, 3, 3), "blocks.0.attn.hook_z": (10, 3, 4, 8),
        "blocks.0.hook_attn_out": (10, 3, 32), "blocks.0.hook_resid_mid": (10, 3, 32),
        "blocks.0.ln2.hook_scale": (10, 3, 1), "blocks.0.ln2.hook_normalized": (10, 3, 32),
        "blocks.0.mlp.hook_pre": (10, 3, 64), "blocks.0.mlp.hook_post": (10, 3, 64),
        "blocks.0.hook_mlp_out": (10, 3, 32), "blocks.0.hook_resid_post": (10, 3, 32),
        "ln_final.hook_scale": (10, 3, 1), "ln_final.hook_normalized": (10, 3, 32),
    }
    assert {k: tuple(v.shape) for k, v in cache.items()} == expected
    assert torch.equal(cache["pattern", 0], cache["blocks.0.attn.hook_pattern"])
    causal = cache["pattern", 0][:, :, 0, 1:]
    assert torch.equal(causal, torch.zeros_like(causal))
    pattern_sums = cache["pattern", 0].sum(-1)
    assert torch.allclose(pattern_sums, torch.ones_like(pattern_sums))


def test_hooks_can_replace_activations_and_are_removed_afterwards():
    m = _model()
    tokens = TASK.all_pairs().tokens[:20]
    clean = m(tokens)
    ablated = m.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_attn_out", lambda x, hook: x * 0)])
    _, cache = m.run_with_cache(tokens)
    manual = m.unembed(cache["blocks.0.hook_resid_pre"] + m.blocks[0].mlp(cache["blocks.0.hook_resid_pre"]))
    assert torch.allclose(ablated, manual, atol=1e-6)
    assert not torch.allclose(ablated, clean)
    assert torch.equal(m(tokens), clean) and not m.has_active_hooks
    with pytest.raises(KeyError, match="no hook point"):
        m.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_nothing", lambda x, hook: x)])


FAST_CASES = {
    "full precision": ({}, None),
    "ternary": ({}, QuantConfig(attn="ternary", mlp="ternary")),
    "binary + act8": ({}, QuantConfig(attn="binary", mlp="binary", act_bits=8, binary_scale=False)),
    "layernorm gelu": ({"norm": "layer", "act": "gelu"}, None),
    "li-style": ({"norm": "rms", "norm_where": "final", "pos_embed": False, "causal": False,
                  "biases": False}, QuantConfig(attn="ternary", mlp="ternary", embed="ternary")),
    "li2024 ternary preset": ({"norm": "rms", "norm_where": "final", "norm_eps": 0.0, "pos_embed": False,
                               "causal": False, "biases": False, "attn_scale": "d_model", "init": "li2024"},
                              QuantConfig(attn="ternary", mlp="ternary", ternary_rule="centred")),
    "scores / 2.5, causal": ({"attn_scale": 2.5},
                             QuantConfig(attn="binary", mlp="binary", binary_scale=False)),
}


@pytest.mark.parametrize("case", list(FAST_CASES))
def test_fast_path_equals_plain_path_with_gradients(case):
    kw, quant = FAST_CASES[case]
    fast, plain = _model(quant, seed=3, **kw), _model(quant, seed=3, **kw)
    with torch.no_grad():  # non-zero biases so they are exercised
        for p in fast.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.02)
        plain.load_state_dict(fast.state_dict())
    data = TASK.all_pairs()
    a = fast.answer_logits(data.tokens, (2,))
    b = plain(data.tokens)[:, [2]]
    scale = float(b.abs().max())  # float32 rounding grows with the size of what is summed
    assert torch.allclose(a, b, atol=1e-6 * scale, rtol=1e-5), float((a - b).abs().max())
    torch.nn.functional.cross_entropy(a[:, 0], data.targets[:, 0]).backward()
    torch.nn.functional.cross_entropy(b[:, 0], data.targets[:, 0]).backward()
    g_scale = max(float(p.grad.abs().max()) for p in plain.parameters() if p.grad is not None)
    for (name, pa), pb in zip(fast.named_parameters(), plain.parameters(), strict=True):
        assert torch.allclose(pa.grad, pb.grad, atol=max(1e-5, 1e-6 * g_scale), rtol=1e-4), name


@pytest.mark.parametrize("case", list(FAST_CASES))
def test_fast_path_equals_plain_path_in_float64(case):
    """In float64 the reordered sums of the fast paths agree with the plain path to ~1e-12."""
    kw, quant = FAST_CASES[case]
    model = _model(quant, seed=3, **kw).double()
    with torch.no_grad():
        for p in model.parameters():
            gen = torch.Generator().manual_seed(p.numel())
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) / 50)
    data = TASK.all_pairs()
    fast, plain = model.answer_logits(data.tokens, (2,)), model(data.tokens)[:, [2]]
    assert torch.allclose(fast, plain, atol=1e-12 * float(plain.abs().max()), rtol=0)
    params = [p for p in model.parameters() if p.requires_grad]
    g_fast = torch.autograd.grad(fast.logsumexp(-1).sum() - fast[..., 0].sum(), params)
    g_plain = torch.autograd.grad(plain.logsumexp(-1).sum() - plain[..., 0].sum(), params)
    g_scale = max(float(g.abs().max()) for g in g_plain)  # a gradient that is 0 in exact algebra is ~1e-13
    for a, b in zip(g_fast, g_plain, strict=True):
        assert torch.allclose(a, b, atol=1e-11 * g_scale, rtol=0)


def test_row_gather_path_is_taken_where_exact():
    assert rows_apply(HookedTransformer(NANDA.model, 114, 113, 3, NANDA.quant))
    assert rows_apply(_model(QuantConfig(attn="binary", mlp="ternary")))
    assert not rows_apply(_model(QuantConfig(attn="binary", mlp="binary", act_bits=8)))
    assert not rows_apply(_model(norm="layer"))
    assert not rows_apply(HookedTransformer(TransformerConfig(d_model=32, d_mlp=0), 18, 17, 3))
    assert not rows_apply(_model(norm="rms", norm_where="final"))


def test_gather_rows_gradients_are_exact():
    gen = torch.Generator().manual_seed(4)
    table = torch.randn(9, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    idx = torch.randint(9, (7, 3), generator=gen)
    idx[0] = 2  # a row read several times by one example, and rows nobody reads
    w = torch.rand(7, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    narrow = (table[:, :2] * 3).detach().requires_grad_()
    assert torch.autograd.gradcheck(gather_rows, (idx, w, table, narrow))
    assert torch.allclose(gather_rows(idx, w, table)[0], (w.unsqueeze(-1) * table[idx]).sum(1))


def test_fast_path_is_bypassed_when_hooks_are_active():
    m = _model()
    tokens = TASK.all_pairs().tokens[:5]
    seen = []
    with m.hooks([("blocks.0.mlp.hook_post", lambda x, hook: seen.append(x.shape))]):
        m.answer_logits(tokens, (2,))
    assert seen == [torch.Size([5, 3, 64])]


def test_effective_and_integer_weights_of_a_ternary_model():
    m = _model(QuantConfig(attn="ternary", mlp="ternary"))
    eff = m.effective_weights()
    ints = m.integer_weights()
    assert set(ints) == {"blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V", "blocks.0.attn.W_O",
                         "blocks.0.mlp.W_in", "blocks.0.mlp.W_out"}
    for name, (q, scale) in ints.items():
        assert set(q.unique().tolist()) <= {-1, 0, 1}
        assert torch.allclose(q.float() * scale, eff[name])
    assert torch.equal(eff["embed.W_E"], m.embed.W_E)
    stats = m.trit_stats()["blocks.0.mlp.W_in"]
    assert stats["neg"] + stats["zero"] + stats["pos"] == 32 * 64
    assert stats["zero_frac"] == pytest.approx(stats["zero"] / (32 * 64))


def test_init_is_seeded():
    assert torch.equal(_model(seed=5).embed.W_E, _model(seed=5).embed.W_E)
    assert not torch.equal(_model(seed=5).embed.W_E, _model(seed=6).embed.W_E)


@pytest.mark.parametrize(("attn_scale", "divisor"),
                         [("d_head", 8 ** 0.5), ("d_model", 32 ** 0.5), (2.5, 2.5)])
def test_attention_scores_are_divided_by_the_configured_scale(attn_scale, divisor):
    m = _model(causal=False, attn_scale=attn_scale)  # d_model 32, 4 heads of 8
    _, cache = m.run_with_cache(TASK.all_pairs().tokens[:6])
    q, k = cache["blocks.0.attn.hook_q"], cache["blocks.0.attn.hook_k"]
    expected = torch.einsum("bqhe,bkhe->bhqk", q, k) / divisor
    assert torch.allclose(cache["blocks.0.attn.hook_attn_scores"], expected, atol=1e-6)


def test_attention_scale_setting_is_parsed_and_checked():
    base = preset_config("quick")
    assert base.model.attn_scale == "d_head"
    assert base.with_overrides(["model.attn_scale=d_model"]).model.attn_scale == "d_model"
    cfg = base.with_overrides(["model.attn_scale=4"])
    assert cfg.model.attn_scale == 4.0 and type(cfg).from_dict(cfg.to_dict()).model.attn_scale == 4.0
    for bad, match in (("heads", "d_head, d_model or a positive number"), ("0", "model.attn_scale"),
                       ("-1", "model.attn_scale"), ("nan", "finite")):
        with pytest.raises(ConfigError, match=match):
            base.with_overrides([f"model.attn_scale={bad}"])


def test_rms_norm_without_eps_is_x_over_its_norm_times_sqrt_d():
    """norm_eps=0 is Li 2024's RMSNorm, F.normalize(x) * sqrt(d): a zero vector stays zero."""
    norm = Norm(16, "rms", eps=0.0)
    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(0))
    x[0] = 0.0
    expected = torch.nn.functional.normalize(x, dim=-1) * 16 ** 0.5
    assert torch.allclose(norm(x), expected, atol=1e-6) and torch.equal(norm(x)[0], torch.zeros(16))


@pytest.mark.parametrize("preset", ["li2024-binary", "li2024-ternary"])
def test_li2024_presets_compute_the_reference_forward(preset):
    """Li 2024's network written out: embeddings only (no positions), attention over all three tokens
    scaled by d_model^-1/2, residual MLP, x / |x| * sqrt(d) * gamma, unembed; quantized attention and
    MLP weights (sign(W - mean W), or the absmean rule on W - mean W), float embed and unembed."""
    cfg = preset_config(preset)
    m = HookedTransformer(cfg.model, 114, 113, 3, cfg.quant, seed=cfg.train.seed)
    assert cfg.train.seed == 999 and cfg.task.data_seed == 598
    raw, eff = dict(m.named_parameters()), m.effective_weights()
    for name in ("blocks.0.attn.W_Q", "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out"):
        centred = raw[name].detach() - raw[name].detach().mean()
        if preset == "li2024-binary":
            assert torch.equal(eff[name], torch.sign(centred)), name
        else:
            gamma = centred.abs().mean()
            assert torch.allclose(eff[name], torch.clamp(torch.round(centred / gamma), -1, 1) * gamma), name
    for name in ("embed.W_E", "unembed.W_U"):
        assert torch.equal(eff[name], raw[name].detach())
    tokens = ModularTask(p=113).all_pairs().tokens[::97]
    x = eff["embed.W_E"][tokens]  # [B, 3, d]
    q, k, v = (torch.einsum("bpd,hde->bphe", x, eff[f"blocks.0.attn.W_{w}"]) for w in "QKV")
    pattern = (torch.einsum("bqhe,bkhe->bhqk", q, k) * 128 ** -0.5).softmax(-1)
    z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
    resid = x + torch.einsum("bqhe,hed->bqd", z, eff["blocks.0.attn.W_O"])
    resid = resid + torch.relu(resid @ eff["blocks.0.mlp.W_in"]) @ eff["blocks.0.mlp.W_out"]
    normed = torch.nn.functional.normalize(resid, dim=-1) * 128 ** 0.5 * eff["ln_final.w"]
    expected = normed @ eff["unembed.W_U"]
    assert torch.allclose(m(tokens), expected, atol=1e-5)
    assert torch.allclose(m.answer_logits(tokens, (2,)), expected[:, [2]], atol=1e-5)
