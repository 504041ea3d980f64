"""Models: the hooked transformer, the discrete transformer, and fully discrete MLPs and recurrent cells.

``ARCHS`` maps ``model.arch`` to its settings dataclass and builder; every model satisfies the
:class:`~tritlens.models.protocol.Model` protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tritlens.models.discrete import DiscreteMLPConfig, DiscreteRNNConfig, TernaryMLP, TernaryRNN
from tritlens.models.discrete_transformer import DiscreteTransformer, DiscreteTransformerConfig
from tritlens.models.hooks import ActivationCache, HookedModule, HookPoint
from tritlens.models.protocol import DiscreteModel, Model, is_discrete, parameter_count, trit_summary
from tritlens.models.transformer import HookedTransformer, QuantConfig, TransformerConfig


@dataclass(frozen=True)
class Sizes:
    """What a model needs to know about its task."""

    d_vocab: int
    d_vocab_out: int
    n_ctx: int
    answer_positions: tuple[int, ...]


Builder = Callable[[Any, QuantConfig, int, Sizes], Model]


def _transformer(cfg: TransformerConfig, quant: QuantConfig, seed: int, sizes: Sizes) -> Model:
    return HookedTransformer(cfg, sizes.d_vocab, sizes.d_vocab_out, sizes.n_ctx, quant, seed=seed)


def _discrete(cls: type) -> Builder:
    """Builder of a fully discrete model (weights seeded by ``model.seed``).

    The model remembers the task's answer positions (not saved: rebuilt from config.json) so that
    compiling it without the task still compiles only the heads that were trained.
    """
    def build(cfg: Any, quant: QuantConfig, seed: int, sizes: Sizes) -> Model:
        model = cls(cfg, sizes.d_vocab, sizes.d_vocab_out, sizes.n_ctx)
        model.answer_positions = tuple(sizes.answer_positions)
        return model

    return build


@dataclass(frozen=True)
class Arch:
    """A registered architecture: settings dataclass, builder, and whether it is fully discrete."""

    config: type
    build: Builder
    discrete: bool


ARCHS: dict[str, Arch] = {
    "transformer": Arch(TransformerConfig, _transformer, False),
    "discrete_mlp": Arch(DiscreteMLPConfig, _discrete(TernaryMLP), True),
    "discrete_rnn": Arch(DiscreteRNNConfig, _discrete(TernaryRNN), True),
    "discrete_transformer": Arch(DiscreteTransformerConfig, _discrete(DiscreteTransformer), True),
}

__all__ = [
    "ARCHS", "Arch", "Sizes", "ActivationCache", "HookPoint", "HookedModule", "HookedTransformer",
    "QuantConfig", "TransformerConfig", "DiscreteTransformer", "DiscreteTransformerConfig", "Model",
    "DiscreteModel", "is_discrete", "parameter_count",
    "trit_summary",
]
