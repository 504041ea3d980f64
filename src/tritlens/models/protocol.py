"""The model interface the trainer, the run layer, analysis and the compiler rely on.

Every tritlens model is a ``torch.nn.Module`` that also satisfies :class:`Model`; the fully
discrete ones (which compile to gates) satisfy :class:`DiscreteModel`. :func:`is_discrete` is the
one test of discreteness used everywhere.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from tritlens.models.discrete_layers import IntLayer


@runtime_checkable
class Model(Protocol):
    """What every stage may call on a model (besides the ``nn.Module`` methods)."""

    d_vocab: int
    d_vocab_out: int
    n_ctx: int

    def answer_logits(self, tokens: Tensor, positions: tuple[int, ...]) -> Tensor:
        """Logits [batch, len(positions), d_vocab_out] at the answer positions (the training entry point)."""
        ...

    def extra_loss(self) -> Tensor | None:
        """A term the trainer adds to the task loss (e.g. a sparsity penalty), or None."""
        ...

    def trit_stats(self) -> dict[str, dict[str, float]]:
        """Per quantized matrix: counts of -1, 0, +1, the zero fraction and the scale ({} if none)."""
        ...


@runtime_checkable
class DiscreteModel(Model, Protocol):
    """A model whose every forward quantity is an integer or a bit: it compiles to an AIG."""

    fully_discrete: bool
    answer_positions: tuple[int, ...] | None

    def integer_layers(self) -> list[IntLayer]:
        """The exact integer layers the compiler turns into gates (for the discrete transformer, every
        matrix as a ``linear``/``threshold``/``scores`` layer; its compiler reads the same numbers in
        TransformerLens shapes from ``integer_weights()``)."""
        ...


def is_discrete(model: object) -> bool:
    """Whether ``model`` is fully discrete (and so compiles to logic gates)."""
    return bool(getattr(model, "fully_discrete", False)) and isinstance(model, DiscreteModel)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def trit_summary(model: Model) -> dict[str, Any]:
    """Zero fraction and counts over all quantized matrices (empty for full-precision models)."""
    stats = model.trit_stats()
    if not stats:
        return {}
    matrices = {name: s for name, s in stats.items() if isinstance(s, dict)}
    total = sum(s["neg"] + s["zero"] + s["pos"] for s in matrices.values())
    zeros = sum(s["zero"] for s in matrices.values())
    return {"matrices": matrices, "total_weights": total, "zero_frac": zeros / total if total else 0.0}
