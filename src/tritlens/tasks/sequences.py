"""Sequence tasks for recurrent discrete models, answered at every step (finite state machines).

* ``BracketTask`` (``brackets``): tokens 0 = '(' and 1 = ')'; depth may never exceed ``max_depth``. The
  answer after each token says which tokens may come next (next-token validity): 0 only '(' (depth 0),
  1 both (0 < depth < max_depth), 2 only ')' (depth = max_depth), 3 none (the prefix is already broken:
  a ')' at depth 0 or a '(' at max_depth happened; once broken it stays broken).
* ``CountTask`` (``count``): bit tokens; the answer is the number of 1s so far mod ``k`` (with every
  token 1 it is the position mod k).

Base-10 serial addition (digit pairs in, sum digit out) is ``serial_add`` with ``base=10``. Every
sequence of the given length is enumerated when there are at most 2^16, else ``n_samples`` are drawn;
``train_frac=1.0`` trains and tests on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tritlens.fields import seed, setting
from tritlens.tasks.base import TaskShape
from tritlens.tasks.bits import _FRAC, _SAMPLES, _EnumeratedTask

OPEN, CLOSE = 0, 1
ONLY_OPEN, BOTH, ONLY_CLOSE, BROKEN = 0, 1, 2, 3


@dataclass
class BracketConfig:
    """Bracket sequences with bounded depth (:class:`BracketTask`)."""

    length: int = setting(10, lo=1, hi=64)
    max_depth: int = setting(3, lo=1, hi=32)
    train_frac: float = setting(1.0, **_FRAC)
    data_seed: int = seed(0)
    n_samples: int = setting(20000, **_SAMPLES)


@dataclass
class CountConfig:
    """Count the 1 tokens mod k (:class:`CountTask`)."""

    length: int = setting(12, lo=1, hi=64)
    k: int = setting(3, lo=2, hi=64)
    train_frac: float = setting(1.0, **_FRAC)
    data_seed: int = seed(0)
    n_samples: int = setting(20000, **_SAMPLES)


def bracket_step(depth: int, token: int, max_depth: int) -> tuple[int, int]:
    """(answer, next depth) of the bracket machine; depth -1 is the broken state."""
    if depth >= 0:
        depth = depth + 1 if token == OPEN else depth - 1
        if depth > max_depth:
            depth = -1
    if depth < 0:
        return BROKEN, -1
    return (ONLY_OPEN if depth == 0 else ONLY_CLOSE if depth == max_depth else BOTH), depth


class BracketTask(_EnumeratedTask):
    """Next-token validity of bracket sequences whose depth must stay within 0..max_depth."""

    def __init__(self, length: int = 10, max_depth: int = 3, train_frac: float = 1.0, data_seed: int = 0,
                 n_samples: int = 20000) -> None:
        super().__init__(BracketConfig(length, max_depth, train_frac, data_seed, n_samples))
        self.length, self.max_depth, self.name = length, max_depth, "brackets"
        self.d_vocab, self.d_vocab_out, self.n_ctx = 2, 4, length
        self.answer_positions, self.sizes = tuple(range(length)), (2,) * length

    @staticmethod
    def shape(cfg: BracketConfig) -> TaskShape:
        n = _EnumeratedTask.examples((2,) * cfg.length, cfg.n_samples)
        return TaskShape(n, cfg.length, 2, 4, cfg.length)

    def labels(self, tokens: Tensor) -> Tensor:
        depth = torch.zeros(tokens.shape[0], dtype=torch.long)
        out = torch.zeros_like(tokens)
        for t in range(tokens.shape[1]):
            ok = depth >= 0
            depth = torch.where(ok, depth + torch.where(tokens[:, t] == OPEN, 1, -1), depth)
            depth = torch.where(depth > self.max_depth, -1, depth)
            out[:, t] = torch.where(depth < 0, BROKEN, torch.where(
                depth == 0, ONLY_OPEN, torch.where(depth == self.max_depth, ONLY_CLOSE, BOTH)))
        return out

    def describe(self) -> str:
        return (f"bracket next-token validity, {self.length} tokens, depth at most {self.max_depth} "
                "(answers: 0 '(' only, 1 both, 2 ')' only, 3 broken)")


class CountTask(_EnumeratedTask):
    """Number of 1 tokens so far, mod k, at every step."""

    def __init__(self, length: int = 12, k: int = 3, train_frac: float = 1.0, data_seed: int = 0,
                 n_samples: int = 20000) -> None:
        super().__init__(CountConfig(length, k, train_frac, data_seed, n_samples))
        self.length, self.k, self.name = length, k, "count"
        self.d_vocab, self.d_vocab_out, self.n_ctx = 2, k, length
        self.answer_positions, self.sizes = tuple(range(length)), (2,) * length

    @staticmethod
    def shape(cfg: CountConfig) -> TaskShape:
        n = _EnumeratedTask.examples((2,) * cfg.length, cfg.n_samples)
        return TaskShape(n, cfg.length, 2, cfg.k, cfg.length)

    def labels(self, tokens: Tensor) -> Tensor:
        return tokens.cumsum(dim=1) % self.k

    def describe(self) -> str:
        return f"count the 1s mod {self.k} over {self.length} bit tokens"
