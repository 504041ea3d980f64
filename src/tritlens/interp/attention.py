"""Attention tags: where each head looks from a position, averaged over a question set (any model).

For a head node (layer, head, query position) the tag lists the source positions that receive at
least ``threshold`` (default 1%) of its attention on average, largest first — Quirke et al.'s
"attention tags". Example::

    tags = attention_tags(model, tokens, [Node(14, 0, 2)])   # {Node: {source position: mean share}}

``operand_reads`` asks the two-operand question of a modular model: from the answer position, how much
of each head's attention goes to a, b and '=', and on how many pairs the heads together read both
operands (a head that reads a by position and one that reads b, or heads that pick an operand by its
value and so read {a, b} as a set).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


@torch.no_grad()
def operand_reads(model: HookedModule, tokens: Tensor, query: int = 2, half: float = 0.5,
                  batch: int = BATCH) -> dict[str, Any] | None:
    """Attention from ``query`` on two-operand tokens [N, 3] (a, b, '='): per head of every layer the mean
    share on each source position, and in the first layer (the one that reads the embeddings) the
    number of pairs on which, for each operand, some head puts at least ``half`` of its attention on it
    (a pair with a == b needs one such head). None for a model without attention patterns."""
    names = [name for name in model.hook_dict if name.endswith("attn.hook_pattern")]
    if not names:
        return None
    shares, both = [], []
    for start in range(0, len(tokens), batch):
        part = tokens[start:start + batch]
        _, cache = model.run_with_cache(part, names_filter=lambda n: n in names)
        rows = torch.stack([cache[n][:, :, query, : query + 1].double() for n in names], 1)  # [b, L, H, src]
        shares.append(rows.sum(0))
        first = rows[:, 0] >= half  # [b, H, src]: heads of the first layer that read each source
        a, b, same = first[..., 0].any(-1), first[..., 1].any(-1), part[:, 0] == part[:, 1]
        both.append((a & b) | (same & (a | b)))
    mean = (torch.stack(shares).sum(0) / len(tokens)).tolist()
    both = torch.cat(both)
    return {"query": query, "half": half, "pairs": len(tokens), "both_operands": int(both.sum()),
            "heads": [{"layer": layer, "head": head, "share": mean[layer][head]}
                      for layer in range(len(names)) for head in range(len(mean[layer]))]}
