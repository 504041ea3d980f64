"""Which input token moves which answer: the per-digit attribution grid of Bai et al. (2025).

For each input position whose token varies in the data (operand digits; delimiters are constant), the
token of every example is replaced by another value seen at that position, and the change of the
logit of the model's clean prediction is measured at every answer position, all else (the answer
tokens a teacher-forced sequence holds included) unchanged. The grid [input position, answer
position] of mean |change| shows which operand digits each answer digit reads.

    grid = token_sensitivity(model, tokens, answer_positions)   # {"inputs", "outputs", "grid"}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.runs import CHUNK


def varying_positions(tokens: Tensor, before: int) -> list[int]:
    """Positions before ``before`` whose token is not the same in every example."""
    return [p for p in range(before) if bool((tokens[:, p] != tokens[0, p]).any())]


def _replace(column: Tensor, gen: torch.Generator) -> Tensor:
    """Each entry replaced by a random different value among those in ``column``."""
    values = torch.unique(column)
    pick = torch.randint(len(values) - 1, column.shape, generator=gen)  # skip the entry's own value:
    own = torch.searchsorted(values, column.contiguous())
    return values[pick + (pick >= own).long()]


@torch.no_grad()
def token_sensitivity(model: Any, tokens: Tensor, answer_positions: Sequence[int],
                      inputs: Sequence[int] | None = None, seed: int = 0) -> dict[str, Any]:
    """Mean |change of the clean prediction's logit| [input position, answer position]."""
    answers = list(answer_positions)
    chosen = list(inputs) if inputs is not None else varying_positions(tokens, min(answers))
    bad = [p for p in chosen if not 0 <= p < tokens.shape[1] or bool((tokens[:, p] == tokens[0, p]).all())]
    if not chosen or bad:
        raise TritlensError(f"input positions must vary in the data and lie in [0, {tokens.shape[1]}); "
                            f"cannot use {bad or 'none'}")
    gen = torch.Generator().manual_seed(seed)
    replacement = {p: _replace(tokens[:, p], gen) for p in chosen}
    grid = torch.zeros(len(chosen), len(answers), dtype=torch.float64)
    for start in range(0, len(tokens), CHUNK):
        chunk = tokens[start:start + CHUNK]
        clean = model(chunk)[:, answers]  # [batch, A, vocab]
        top = clean.argmax(-1, keepdim=True)
        base = clean.gather(-1, top)
        for i, p in enumerate(chosen):
            changed = chunk.clone()
            changed[:, p] = replacement[p][start:start + CHUNK]
            moved = model(changed)[:, answers].gather(-1, top)
            grid[i] += (moved - base).abs().squeeze(-1).sum(0).double()
    return {"inputs": chosen, "outputs": answers, "grid": grid / len(tokens)}
