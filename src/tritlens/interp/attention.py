"""Attention tags: where each head looks from a position, averaged over a question set (any model).

For a head node (layer, head, query position) the tag lists the source positions that receive at
least ``threshold`` (default 1%) of its attention on average, largest first — Quirke et al.'s
"attention tags". Example::

    tags = attention_tags(model, tokens, [Node(14, 0, 2)])   # {Node: {source position: mean share}}
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from tritlens.interp.nodes import BATCH, Node
from tritlens.models import HookedModule

THRESHOLD = 0.01


@torch.no_grad()
def mean_patterns(model: HookedModule, tokens: Tensor, layers: set[int],
                  batch: int = BATCH) -> dict[int, Tensor]:
    """Mean attention pattern [heads, query, key] of each layer in ``layers`` over ``tokens``."""
    names = {f"blocks.{layer}.attn.hook_pattern": layer for layer in layers}
    sums: dict[int, Tensor] = {}
    for start in range(0, len(tokens), batch):
        _, cache = model.run_with_cache(tokens[start:start + batch], names_filter=lambda n: n in names)
        for name, layer in names.items():
            part = cache[name].double().sum(0)
            sums[layer] = sums[layer] + part if layer in sums else part
    return {layer: total / len(tokens) for layer, total in sums.items()}


def attention_tags(model: HookedModule, tokens: Tensor, nodes: Sequence[Node],
                   threshold: float = THRESHOLD) -> dict[Node, dict[int, float]]:
    """For every head node: {source position: mean attention share} for shares >= ``threshold``."""
    heads = [n for n in nodes if n.is_head]
    patterns = mean_patterns(model, tokens, {n.layer for n in heads})
    out = {}
    for node in heads:
        row = patterns[node.layer][node.head, node.position]
        keep = [(int(k), float(row[k])) for k in torch.argsort(row, descending=True).tolist()
                if float(row[k]) >= threshold]
        out[node] = dict(keep)
    return out
