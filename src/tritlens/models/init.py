"""Weight initialisation schemes, each drawing the same random stream as the code it reproduces.

``tl``      TransformerLens 3.x (``init_mode="gpt2"``): every ``W_*`` ~ N(0, init_std), drawn in the
            order of TransformerLens's ``named_parameters()``; biases 0, norm weights 1. Its attention
            registers W_Q, W_O, W_K, W_V (in that order), so ours draws in that order too, and the
            step-0 weights equal ``transformer_lens.HookedTransformer(cfg)``'s for the same seed.
``torch``   PyTorch's defaults, as if every matrix were an ``nn.Linear`` (U(-1/sqrt(fan_in),
            1/sqrt(fan_in)) for weight and bias) and the embeddings ``nn.Embedding`` (N(0, 1)), drawn
            in module order (W_Q, W_K, W_V, W_O, then W_in, W_out), each weight in nn.Linear's
            [d_out, d_in] layout and then moved into ours.
``li2024``  ``torch`` as Li (2024)'s reference code draws it: each attention and MLP layer there builds a
            second, unused ``nn.Linear`` of the same shape just before the one it uses, so one extra
            matrix is drawn (and dropped) before each of W_Q, W_K, W_V, W_O, W_in and W_out. With the
            same seed the weights equal that code's initial weights.

Every scheme uses its own ``torch.Generator`` seeded with ``seed``: the global RNG is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

INIT_MODES: tuple[str, ...] = ("tl", "torch", "li2024")
TL_ATTENTION_ORDER = ("W_Q", "W_O", "b_Q", "b_O", "W_K", "W_V", "b_K", "b_V")
HEAD_OUTPUTS = ("W_Q", "W_K", "W_V")  # [H, d_model, d_head]: heads on the output side of the nn.Linear
EMBEDDINGS = ("W_E", "W_pos")
REFERENCE_DUPLICATES = ("W_Q", "W_K", "W_V", "W_O", "W_in", "W_out")  # li2024: an unused twin drawn first


def tl_order(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """``named_parameters()`` in TransformerLens's order: the same except inside attention."""
    for mod_name, module in model.named_modules():
        own = dict(module.named_parameters(recurse=False))
        names = list(own)
        if "W_O" in own and "W_Q" in own:
            names = [n for n in TL_ATTENTION_ORDER if n in own]
        for leaf in names:
            yield (f"{mod_name}.{leaf}" if mod_name else leaf), own[leaf]


@torch.no_grad()
def init_tl(model: nn.Module, seed: int, std: float) -> None:
    """TransformerLens's gpt2 init: W_* ~ N(0, std) in its parameter order, biases 0, norm weights 1."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in tl_order(model):
        leaf = name.rsplit(".", 1)[-1]
        if leaf.startswith("W_"):
            nn.init.normal_(p, std=std, generator=gen)
        else:
            p.fill_(1.0 if leaf == "w" else 0.0)


def _torch_layout(leaf: str, shape: torch.Size) -> tuple[int, int]:
    """(d_out, d_in) of the nn.Linear whose weight is the TransformerLens-layout ``leaf`` of ``shape``."""
    if leaf in HEAD_OUTPUTS:
        n_heads, d_in, d_head = shape
        return n_heads * d_head, d_in
    return shape[-1], math.prod(shape[:-1])


def _to_ours(leaf: str, w: Tensor, shape: torch.Size) -> Tensor:
    """An nn.Linear weight [d_out, d_in] in our layout: heads split where they sit, x @ W instead of W x."""
    if leaf in HEAD_OUTPUTS:
        n_heads, d_in, d_head = shape
        return w.view(n_heads, d_head, d_in).transpose(1, 2)
    return w.t().reshape(shape)


@torch.no_grad()
def init_torch(model: nn.Module, seed: int, reference_duplicates: bool = False) -> None:
    """PyTorch's nn.Linear / nn.Embedding defaults in module order (``li2024`` with duplicates)."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        own = dict(module.named_parameters(recurse=False))
        for leaf, p in own.items():
            if leaf in EMBEDDINGS:
                nn.init.normal_(p, generator=gen)
            elif leaf.startswith("W_"):
                d_out, d_in = _torch_layout(leaf, p.shape)
                w = torch.empty(d_out, d_in)
                if reference_duplicates and leaf in REFERENCE_DUPLICATES:
                    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=gen)  # the unused twin
                nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=gen)
                p.copy_(_to_ours(leaf, w, p.shape))
                bias = own.get("b_" + leaf[2:])
                if bias is not None:
                    bound = 1 / math.sqrt(d_in)
                    nn.init.uniform_(bias.view(-1), -bound, bound, generator=gen)
            elif leaf == "w":
                p.fill_(1.0)
            elif leaf == "b":
                p.zero_()


def initialise(model: nn.Module, mode: str, seed: int, std: float) -> None:
    """Initialise ``model`` by ``mode`` (one of INIT_MODES); ``std`` is used by ``tl`` only. A model on
    the meta device (memory estimates) has no values to set and is left alone."""
    if any(p.is_meta for p in model.parameters()):
        return
    if mode == "tl":
        init_tl(model, seed, std)
    else:
        init_torch(model, seed, reference_duplicates=mode == "li2024")
