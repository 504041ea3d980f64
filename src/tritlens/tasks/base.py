"""The task interface: a task generates its own data and says where the answers are.

A task turns its settings into token sequences and answer labels. The trainer only needs
``split()`` (deterministic train/test data), ``answer_positions`` (where logits are scored) and the
vocabulary sizes, so tasks with several answer positions (n-digit arithmetic, sequence tasks for
recurrent models) plug in without changes to the trainer. A task may also offer ``sample(step,
size)``: a fresh batch for every step, a function of the data seed and the step alone, which the
trainer then trains on instead of the train split. ``shape`` describes a task's data from its
settings alone, so memory can be estimated before anything is generated.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tritlens.errors import ConfigError, TritlensError


@dataclass(frozen=True)
class Split:
    """Examples as integer tokens [N, n_ctx] and labels [N, n_answers] (one per answer position)."""

    tokens: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def to(self, device: str | torch.device) -> Split:
        return Split(self.tokens.to(device), self.targets.to(device))

    def subset(self, index: Tensor | slice) -> Split:
        return Split(self.tokens[index], self.targets[index])


def train_size(train_frac: float, n_examples: int) -> int:
    """How many of ``n_examples`` go to training: floor(train_frac * n), as TransformerLens's grokking demo.
    ``train_frac=1`` trains (and tests) on every example, as models proved on all inputs do; a fraction
    that leaves no training example is refused (tasks call this when they are built, before any run
    directory exists)."""
    if train_frac == 1.0:
        return n_examples
    n_train = math.floor(train_frac * n_examples)
    if not 0 < n_train < n_examples:
        raise ConfigError(f"task.train_frac={train_frac:g} leaves an empty train or test set "
                          f"({n_examples} examples)")
    return n_train


def seeded_split(data: Split, train_frac: float, data_seed: int) -> tuple[Split, Split]:
    """(train, test): the first ``train_size`` examples of a permutation seeded by ``data_seed``, and the
    rest; ``train_frac=1`` trains and tests on every example."""
    n_train = train_size(train_frac, len(data))
    if n_train == len(data):
        return data, data
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(data_seed))
    return data.subset(perm[:n_train]), data.subset(perm[n_train:])


@dataclass(frozen=True)
class Feature:
    """A quantity defined for each example, for probes: per example ``values`` [N] (the same target at
    every position), or per position [N, n_ctx] with NaN where it is not defined. ``classes``: the
    number of classes (values are integers in [0, classes)); None for a real number."""

    values: Tensor
    classes: int | None = None


@dataclass(frozen=True)
class TaskShape:
    """Sizes of a task's data, known from its settings alone (for memory estimates)."""

    n_examples: int  # train + test examples held in memory
    n_ctx: int
    d_vocab: int
    d_vocab_out: int
    n_answers: int

    def data_bytes(self) -> int:
        """Tokens and labels as int64, with room for the train/test copies and a permutation."""
        return 3 * 8 * self.n_examples * (self.n_ctx + self.n_answers)


class Task(ABC):
    """A data source for training and analysis."""

    name: str
    d_vocab: int  # input token vocabulary
    d_vocab_out: int  # output classes per answer position
    n_ctx: int  # sequence length
    answer_positions: tuple[int, ...]  # positions whose output predicts ``targets[:, i]``

    @classmethod
    def from_config(cls, cfg: Any) -> Task:
        """The task for a settings section (registered tasks; checked against its declared ranges)."""
        raise NotImplementedError(f"{cls.__name__} is not built from a config section")

    @staticmethod
    def shape(cfg: Any) -> TaskShape:
        """Data sizes for a settings section, without generating any data (registered tasks)."""
        raise NotImplementedError("this task does not describe its data sizes")

    @abstractmethod
    def split(self) -> tuple[Split, Split]:
        """Deterministic (train, test) data, a function of the task's settings and data seed only."""

    # Optional: ``sample(step, size) -> Split``, a fresh training batch for ``step`` (deterministic in the
    # task's data seed and the step, so a resumed run draws the same batches). Tasks without it train on
    # ``split()[0]``.
    sample: Callable[[int, int], Split] | None = None

    def features(self, data: Split) -> dict[str, Feature]:
        """Named quantities of ``data`` that probes can look for. Every task has ``answer``: at each
        answer position, the output predicted there; tasks add their own (operands, carries, ...)."""
        values = torch.full(data.tokens.shape, float("nan"))
        values[:, list(self.answer_positions)] = data.targets.to(torch.float32)
        return {"answer": Feature(values, self.d_vocab_out)}

    def relabel(self, tokens: Tensor) -> Split:
        """Examples for arbitrary inputs in this task's format (say, with one operand changed): any answer
        tokens inside the sequence and the targets recomputed. Tasks that cannot do this say so."""
        raise TritlensError(f"task {self.name!r} cannot label changed inputs; corrupt by resampling instead")

    @abstractmethod
    def describe(self) -> str:
        """One line for summaries, e.g. ``(a + b) mod 113, 30% train``."""
