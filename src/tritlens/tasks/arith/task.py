"""n-digit addition, subtraction, mixed add/sub and multiplication tasks (Quirke et al. 2024 format).

Training draws a fresh batch every step (:meth:`ArithTask.sample`): the batch is a function of the
data seed and the step alone, so a resumed run sees exactly the batches an uninterrupted one would.
``split()`` gives two fixed evaluation sets: "train" (drawn like the training batches, enrichment
included) and "test" (uniform random questions, the distribution that grading uses).

Enrichment (Quirke et al.): a share ``enrich`` of batches is enriched. In an enriched addition batch
a share ``enrich_frac`` of the digit pairs is rewritten to sum to 9 (so carries cascade); in an
enriched subtraction batch 1% of the questions get D' = D and in the others every digit of D' below
9 is incremented (more negative answers). A mixed task picks one operation per batch (subtraction
with probability ``sub_frac``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from tritlens.errors import ConfigError
from tritlens.fields import check_fields, seed, setting
from tritlens.tasks.arith.digits import CLASS_NAMES, answer
from tritlens.tasks.arith.digits import classes as question_classes
from tritlens.tasks.arith.features import arith_features
from tritlens.tasks.arith.layout import D_VOCAB, MINUS, OP_TOKEN, PLUS, TIMES, Layout, int_digits
from tritlens.tasks.base import Feature, Split, Task, TaskShape

DIGITS_MAX = 30  # operand digits; sequences are 3n + 4 tokens (4n + 3 for multiplication)
EXHAUSTIVE_MAX = 2_000_000  # questions an exhaustive enumeration may hold
SUB_EQUAL = 0.01  # share of questions with D' = D in an enriched subtraction batch
STREAM_TRAIN, STREAM_EVAL_TRAIN, STREAM_EVAL_TEST, STREAM_GRADE = 0, 1, 2, 3
OPS = ("add", "sub", "mixed", "mul")


@dataclass
class ArithConfig:
    """Settings every arithmetic task shares."""

    digits: int = setting(5, lo=1, hi=DIGITS_MAX)  # digits per operand
    lsb_first: bool = False  # write operands and answer least significant digit first
    eval_size: int = setting(4096, lo=1, hi=1 << 22)  # questions in each fixed evaluation set
    data_seed: int = seed(372001)


@dataclass
class AddConfig(ArithConfig):
    """n-digit addition ``a+b=+c`` (:class:`ArithTask`)."""

    enrich: float = setting(0.4, lo=0.0, hi=1.0)  # share of enriched batches
    enrich_frac: float = setting(0.4, lo=0.0, hi=1.0)  # share of digit pairs made to sum 9 in them


@dataclass
class SubConfig(ArithConfig):
    """n-digit subtraction ``a-b=±c`` (:class:`ArithTask`)."""

    enrich: float = setting(0.4, lo=0.0, hi=1.0)


@dataclass
class MixedConfig(AddConfig):
    """Addition and subtraction, one operation per batch (:class:`ArithTask`)."""

    sub_frac: float = setting(0.66, lo=0.0, hi=1.0)  # share of subtraction batches


@dataclass
class MulConfig(ArithConfig):
    """n-digit multiplication ``a*b=+c`` with a 2n-digit answer (:class:`ArithTask`)."""


def _rng(data_seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([data_seed, stream, index])))


class ArithTask(Task):
    """Questions and answers as one token sequence; the loss is on the sign and answer digits."""

    def __init__(self, op: str, cfg: ArithConfig) -> None:
        if op not in OPS:
            raise ConfigError(f"unknown arithmetic operation {op!r:.20}; choose one of {', '.join(OPS)}")
        check_fields(cfg, "task")
        self.op, self.cfg, self.name = op, cfg, op
        self.digits = cfg.digits
        self.layout = Layout.for_op(cfg.digits, op, cfg.lsb_first)
        self.d_vocab = self.d_vocab_out = D_VOCAB
        self.n_ctx = self.layout.n_ctx
        self.answer_positions = self.layout.answer_positions

    @classmethod
    def from_config(cls, cfg: ArithConfig) -> ArithTask:
        op = {AddConfig: "add", SubConfig: "sub", MixedConfig: "mixed", MulConfig: "mul"}[type(cfg)]
        return cls(op, cfg)

    @staticmethod
    def shape(cfg: ArithConfig) -> TaskShape:
        layout = Layout.for_op(cfg.digits, "mul" if isinstance(cfg, MulConfig) else "add", cfg.lsb_first)
        return TaskShape(2 * cfg.eval_size, layout.n_ctx, D_VOCAB, D_VOCAB, layout.answer_digits + 1)

    @property
    def ops(self) -> tuple[str, ...]:
        """The operations this task asks: ``("add", "sub")`` for mixed."""
        return ("add", "sub") if self.op == "mixed" else (self.op,)

    def describe(self) -> str:
        order = ", LSB first" if self.cfg.lsb_first else ""
        what = {"add": "addition", "sub": "subtraction", "mixed": "addition and subtraction",
                "mul": "multiplication"}[self.op]
        return f"{self.digits}-digit {what}{order}, fresh batches, data seed {self.cfg.data_seed}"

    # -- questions ------------------------------------------------------------------------------
    def questions(self, a: np.ndarray, b: np.ndarray, op: str | np.ndarray) -> Split:
        """Tokens and targets for digit arrays a, b [N, n] (indexed by power of ten)."""
        ops = np.full(a.shape[0], OP_TOKEN[op]) if isinstance(op, str) else np.asarray(op)
        allowed = {OP_TOKEN[o] for o in self.ops}
        if not set(np.unique(ops).tolist()) <= allowed:
            raise ConfigError(f"this {self.op} task does not ask that operation")
        sign, digits = answer(a, b, ops)
        tokens = self.layout.encode(a, b, ops, sign, digits)
        return Split(tokens, tokens[:, self.layout.sign_pos:].clone())

    def from_ints(self, pairs: list[tuple[int, int]], op: str | None = None) -> Split:
        """Questions from integer pairs, e.g. ``[(13335, 18224)]``; ``op`` defaults to the task's."""
        op = op or self.ops[0]
        limit = 10 ** self.digits
        for x, y in pairs:
            if not (0 <= x < limit and 0 <= y < limit):
                raise ConfigError(f"{x}, {y}: operands must lie in [0, 10^{self.digits})")
        a = int_digits([x for x, _ in pairs], self.digits)
        b = int_digits([y for _, y in pairs], self.digits)
        return self.questions(a, b, op)

    def features(self, data: Split) -> dict[str, Feature]:
        """Operand digits, carries / borrows, running sums (``tasks/arith/features.py``), and ``answer``."""
        return {**arith_features(self.layout, self.op, data.tokens), **super().features(data)}

    def relabel(self, tokens: torch.Tensor) -> Split:
        """The questions of ``tokens`` (operands and operator read back) with their answers recomputed."""
        if tokens.dim() != 2 or tokens.shape[1] != self.n_ctx:
            raise ConfigError(f"arithmetic inputs are [N, {self.n_ctx}] token rows, got {list(tokens.shape)}")
        a, b, ops = self.layout.operands(tokens)
        if (a < 0).any() or (a > 9).any() or (b < 0).any() or (b > 9).any():
            raise ConfigError("changed inputs must keep digits 0-9 at the operand positions")
        return self.questions(a.copy(), b.copy(), ops.copy())

    def classes(self, tokens: object) -> np.ndarray:
        """Complexity class index (``CLASS_NAMES``) of every question in ``tokens``."""
        a, b, ops = self.layout.operands(tokens)
        return question_classes(a, b, ops)

    # -- data -----------------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, size: int, op: str, enriched: bool) -> Split:
        """``size`` uniform random questions of one operation, enriched if asked."""
        n = self.digits
        a = rng.integers(0, 10, (size, n), dtype=np.int64)
        b = rng.integers(0, 10, (size, n), dtype=np.int64)
        if enriched and op == "add":
            frac = getattr(self.cfg, "enrich_frac", 0.0)
            cells = rng.permutation(size * n)[:int(frac * size * n)]
            if rng.integers(2):
                a.reshape(-1)[cells] = 9 - b.reshape(-1)[cells]
            else:
                b.reshape(-1)[cells] = 9 - a.reshape(-1)[cells]
        elif enriched and op == "sub":
            equal = rng.random(size) < SUB_EQUAL
            b = np.where(b < 9, b + 1, b)
            b[equal] = a[equal]
        return self.questions(a, b, op)

    def _batch(self, rng: np.random.Generator, size: int) -> Split:
        op = self.ops[0]
        if self.op == "mixed":
            op = "sub" if rng.random() < getattr(self.cfg, "sub_frac", 0.5) else "add"
        enriched = rng.random() < getattr(self.cfg, "enrich", 0.0)
        return self.draw(rng, size, op, enriched)

    def sample(self, step: int, size: int) -> Split:
        """The training batch of ``step``: fresh questions, a function of the data seed and step only."""
        return self._batch(_rng(self.cfg.data_seed, STREAM_TRAIN, step), size)

    def split(self) -> tuple[Split, Split]:
        """Fixed evaluation sets: drawn like training batches (chunks of 256), and uniform questions."""
        size = self.cfg.eval_size
        chunks = [self._batch(_rng(self.cfg.data_seed, STREAM_EVAL_TRAIN, i), min(256, size - start))
                  for i, start in enumerate(range(0, size, 256))]
        train = Split(_cat([c.tokens for c in chunks]), _cat([c.targets for c in chunks]))
        return train, self.uniform(size, _rng(self.cfg.data_seed, STREAM_EVAL_TEST, 0))

    def uniform(self, count: int, rng: np.random.Generator, enriched: bool = False) -> Split:
        """``count`` uniform random questions (mixed: the operations in equal shares, in one block each)."""
        parts = []
        for k, op in enumerate(self.ops):
            share = count // len(self.ops) + (1 if k < count % len(self.ops) else 0)
            if share:
                parts.append(self.draw(rng, share, op, enriched))
        return Split(_cat([p.tokens for p in parts]), _cat([p.targets for p in parts]))

    def grading_set(self, count: int, seed: int = 0, index: int = 0, enriched: bool = False) -> Split:
        """Chunk ``index`` of the seeded questions of ``tritlens grade`` (a random stream of its own)."""
        return self.uniform(count, _rng(seed, STREAM_GRADE, index), enriched)

    def exhaustive_size(self) -> int:
        return len(self.ops) * 100 ** self.digits

    def exhaustive(self, chunk: int = 1 << 16) -> Iterator[Split]:
        """Every question, in chunks of Splits (only where the space holds <= EXHAUSTIVE_MAX questions)."""
        total = self.exhaustive_size()
        if total > EXHAUSTIVE_MAX:
            raise ConfigError(f"an exhaustive grade of {self.digits}-digit {self.op} needs {total:,} "
                              f"questions (more than {EXHAUSTIVE_MAX:,}); use --questions instead")
        return self._every_question(chunk)

    def _every_question(self, chunk: int) -> Iterator[Split]:
        per_op = 100 ** self.digits
        half = 10 ** self.digits
        for op in self.ops:
            for start in range(0, per_op, chunk):
                index = np.arange(start, min(per_op, start + chunk))
                a = _digits_of(index // half, self.digits)
                b = _digits_of(index % half, self.digits)
                yield self.questions(a, b, op)


def _digits_of(values: np.ndarray, width: int) -> np.ndarray:
    return np.stack([(values // 10 ** i) % 10 for i in range(width)], axis=1).astype(np.int64)


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(tensors) if len(tensors) > 1 else tensors[0]


__all__ = ["ArithTask", "ArithConfig", "AddConfig", "SubConfig", "MixedConfig", "MulConfig", "CLASS_NAMES",
           "DIGITS_MAX", "EXHAUSTIVE_MAX", "OPS", "PLUS", "MINUS", "TIMES"]
