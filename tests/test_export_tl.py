import pytest
import torch

from tritlens.errors import TritlensError
from tritlens.models import HookedTransformer, QuantConfig, TransformerConfig
from tritlens.models.export_tl import to_hooked_transformer
from tritlens.tasks.modular import ModularTask

pytest.importorskip("transformer_lens", reason="the tl extra is installed by `make test`")

TASK = ModularTask(p=23)
CASES = {
    "nanda-like": {},
    "layernorm gelu": {"norm": "layer", "act": "gelu"},
    "rms, no positions, bidirectional, no biases": {"norm": "rms", "pos_embed": False, "causal": False,
                                                     "biases": False},
    "two layers": {"n_layers": 2},
    "attention only": {"d_mlp": 0},
    "scores / sqrt(d_model), layernorm eps 1e-3": {"attn_scale": "d_model", "norm": "layer",
                                                    "norm_eps": 1e-3},
    "scores / 3": {"attn_scale": 3.0},
}


@pytest.mark.parametrize("case", list(CASES))
def test_export_gives_same_logits_on_all_inputs(case):
    m = HookedTransformer(TransformerConfig(**{"d_model": 32, "d_mlp": 64, **CASES[case]}), TASK.d_vocab,
                          TASK.d_vocab_out, TASK.n_ctx, seed=1)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("b_"):
                p.normal_(0, 0.1, generator=torch.Generator().manual_seed(p.numel()))
    tl = to_hooked_transformer(m)
    tokens = TASK.all_pairs().tokens
    assert (m(tokens) - tl(tokens)).abs().max() < 1e-4
    _, ours = m.run_with_cache(tokens[:4])
    _, theirs = tl.run_with_cache(tokens[:4])
    assert set(ours) <= set(theirs)
    for name in ours:
        assert torch.allclose(ours[name], theirs[name], atol=1e-4), name


def test_quantized_models_need_effective_flag():
    m = HookedTransformer(TransformerConfig(d_model=32, d_mlp=64), TASK.d_vocab, TASK.d_vocab_out,
                          TASK.n_ctx, QuantConfig(attn="ternary", mlp="ternary"), seed=0)
    with pytest.raises(TritlensError, match="effective=True"):
        to_hooked_transformer(m)
    tl = to_hooked_transformer(m, effective=True)
    tokens = TASK.all_pairs().tokens
    assert (m(tokens) - tl(tokens)).abs().max() < 1e-4


def test_final_only_norm_is_refused():
    m = HookedTransformer(TransformerConfig(d_model=32, norm="rms", norm_where="final"), TASK.d_vocab,
                          TASK.d_vocab_out, TASK.n_ctx, seed=0)
    with pytest.raises(TritlensError, match="norm_where=final"):
        to_hooked_transformer(m)
