"""Useful positions and useful nodes of any hooked transformer on any task with answer positions.

A *node* is one attention head at one position (its ``hook_z``) or one layer's MLP at one position
(its ``hook_post``). Ablating a useful position or node makes some questions fail: a question fails
when a teacher-forced answer token is no longer the argmax (for a model that was right, its loss
then also exceeds 0.01). Each finding records:

* ``fail``: the share of questions that fail (0..1);
* ``impact``: the answer tokens (by index into the answer positions) that go wrong;
* ``groups``: the labels (e.g. complexity classes) of the questions that fail.

Example::

    positions = useful_positions(model, tokens, targets, answer_positions, reference=tokens)
    nodes = useful_nodes(model, tokens, targets, answer_positions, [p.position for p in positions
                         if p.useful], reference=tokens)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.interventions import Site, ablate, cache_hooks
from tritlens.models import HookedModule

BATCH = 4096
_KEY = re.compile(r"^P(\d+)\.L(\d+)(?:H(\d+)|MLP)$")


@dataclass(frozen=True)
class Node:
    """An attention head (``head`` >= 0) or the MLP (``head`` None) of ``layer`` at ``position``."""

    position: int
    layer: int
    head: int | None = None

    @property
    def is_head(self) -> bool:
        return self.head is not None

    def order(self) -> tuple[int, int, int]:
        """Sort key: position, layer, then heads before the MLP."""
        return self.position, self.layer, self.head if self.head is not None else 1 << 30

    def site(self) -> Site:
        if self.head is None:
            return Site(f"blocks.{self.layer}.mlp.hook_post", position=self.position)
        return Site(f"blocks.{self.layer}.attn.hook_z", position=self.position, head=self.head)

    def label(self) -> str:
        """``L0H2`` or ``L1MLP`` (the position is shown separately)."""
        return f"L{self.layer}H{self.head}" if self.head is not None else f"L{self.layer}MLP"

    def key(self) -> str:
        """A unique text key: ``P14.L0H2``."""
        return f"P{self.position}.{self.label()}"

    @staticmethod
    def from_key(key: str) -> Node:
        """The node of a key written by :meth:`key` (``P14.L0H2``, ``P14.L1MLP``)."""
        found = _KEY.match(key)
        if found is None:
            raise TritlensError(f"{key!r:.40} is not a node key like P14.L0H2 or P14.L1MLP")
        pos, layer, head = found.groups()
        return Node(int(pos), int(layer), int(head) if head is not None else None)


@dataclass
class AblationEffect:
    """What ablating one position or node did to a question set."""

    fail: float  # share of questions that fail
    failures: int
    impact: list[int]  # answer-token indices that went wrong in some question
    groups: list[str] = field(default_factory=list)  # labels of the failing questions, sorted

    @property
    def useful(self) -> bool:
        return self.failures > 0


def model_shape(model: HookedModule) -> tuple[int, int, bool]:
    """(layers, heads, has an MLP) of a hooked transformer."""
    names = model.hook_dict
    layers = sum(1 for n in names if n.endswith(".hook_resid_pre"))
    heads = getattr(getattr(model.blocks[0], "attn", None), "n_heads", 0) if layers else 0
    return layers, heads, "blocks.0.mlp.hook_post" in names


@torch.no_grad()
def wrong_answers(model: HookedModule, tokens: Tensor, targets: Tensor, answer_positions: Sequence[int],
                  batch: int = BATCH, start: tuple[int, Tensor] | None = None) -> Tensor:
    """[N, n_answers] booleans: the teacher-forced argmax differs from the target (hooks apply).

    ``start`` = (layer, the residual stream entering that layer for ``tokens``) runs the model from
    there (``forward_from``) instead of from the tokens.
    """
    pos = list(answer_positions)
    run = (lambda i: model(tokens[i:i + batch])) if start is None else \
        (lambda i: model.forward_from(start[1][i:i + batch], start[0]))
    return torch.cat([run(i)[:, pos].argmax(-1) != targets[i:i + batch]
                      for i in range(0, len(tokens), batch)])


def ablation_effect(model: HookedModule, tokens: Tensor, targets: Tensor, answer_positions: Sequence[int],
                    sites: Sequence[Site], reference: Tensor | Mapping[str, Tensor] | None,
                    kind: str = "mean", groups: Sequence[str] | None = None,
                    start: tuple[int, Tensor] | None = None) -> AblationEffect:
    """Ablate ``sites`` together and count the questions that fail, and where (``start``: see
    :func:`wrong_answers`)."""
    with ablate(model, sites, kind, reference):
        wrong = wrong_answers(model, tokens, targets, answer_positions, start=start)
    failed = wrong.any(-1)
    failing = torch.nonzero(failed).flatten().tolist()
    labels = sorted({groups[i] for i in failing}) if groups is not None else []
    return AblationEffect(float(failed.float().mean()), int(failed.sum()),
                          torch.nonzero(wrong.any(0)).flatten().tolist(), labels)


def _check_question_set(model: HookedModule, tokens: Tensor, targets: Tensor,
                        answer_positions: Sequence[int]) -> None:
    if tokens.ndim != 2 or len(tokens) == 0:
        raise TritlensError("the question set must be a non-empty [N, n_ctx] token tensor")
    if targets.shape != (len(tokens), len(answer_positions)):
        raise TritlensError(f"targets must be [N, {len(answer_positions)}], got {list(targets.shape)}")
    bad = [p for p in answer_positions if not 0 <= p < tokens.shape[1]]
    if bad:
        raise TritlensError(f"answer position {bad[0]} does not exist (sequence length {tokens.shape[1]})")
    if wrong_answers(model, tokens, targets, answer_positions).any(-1).any():
        raise TritlensError("the model gets some of these questions wrong before any ablation; use questions "
                            "it answers correctly")


def useful_positions(model: HookedModule, tokens: Tensor, targets: Tensor, answer_positions: Sequence[int],
                     reference: Tensor, groups: Sequence[str] | None = None,
                     kind: str = "mean") -> dict[int, AblationEffect]:
    """For every position: the effect of ablating the residual stream there at every layer's input and
    at the final output (so nothing question-specific flows out of that position)."""
    _check_question_set(model, tokens, targets, answer_positions)
    layers, _, _ = model_shape(model)
    hooks = [f"blocks.{layer}.hook_resid_pre" for layer in range(layers)]
    hooks.append(f"blocks.{layers - 1}.hook_resid_post")
    ref = cache_hooks(model, reference, set(hooks)) if kind != "zero" else None
    return {p: ablation_effect(model, tokens, targets, answer_positions, [Site(h, position=p) for h in hooks],
                               ref, kind, groups) for p in range(tokens.shape[1])}


def useful_nodes(model: HookedModule, tokens: Tensor, targets: Tensor, answer_positions: Sequence[int],
                 positions: Sequence[int], reference: Tensor, groups: Sequence[str] | None = None,
                 kind: str = "mean") -> dict[Node, AblationEffect]:
    """For every head and MLP at ``positions``: the effect of ablating that node alone."""
    _check_question_set(model, tokens, targets, answer_positions)
    layers, heads, mlp = model_shape(model)
    nodes = [Node(p, layer, h) for p in positions for layer in range(layers)
             for h in [*range(heads), *([None] if mlp else [])]]
    ref = cache_hooks(model, reference, {n.site().hook for n in nodes}) if kind != "zero" else None
    if not hasattr(model, "forward_from"):
        return {node: ablation_effect(model, tokens, targets, answer_positions, [node.site()], ref, kind,
                                      groups) for node in nodes}
    # Exact shortcuts: a node changes nothing before its layer (start from the cached residual stream
    # there), and a last-layer node changes only its own position's logits.
    inputs = cache_hooks(model, tokens, {f"blocks.{layer}.hook_resid_pre" for layer in range(layers)})
    out = {}
    for node in nodes:
        if node.layer == layers - 1 and node.position not in answer_positions:
            out[node] = AblationEffect(0.0, 0, [], [])
            continue
        start = (node.layer, inputs[f"blocks.{node.layer}.hook_resid_pre"])
        out[node] = ablation_effect(model, tokens, targets, answer_positions, [node.site()], ref, kind,
                                    groups, start)
    return out


def groups_of(labels: np.ndarray, names: Sequence[str]) -> list[str]:
    """Label names per question from integer labels (for the ``groups`` arguments)."""
    return [names[int(i)] for i in labels]
