"""Small discrete tasks whose answers have exact reference circuits (see ``tritlens.logic.specs``).

* ``SerialAddTask``: two numbers fed digit pair by digit pair (token ``a_i * base + b_i``), least
  significant first, then a final (0, 0) step; the answer at every step is that digit of the sum,
  so the last answer is the final carry.
* ``ModAddTask``: tokens (a, b), answer (a + b) mod p at position 1 (the model picks its encoding).
* ``ParityTask``: n bit tokens, parity at the last position (or running parity at every position).
* ``CompareTask``: tokens (a, b) of n-bit numbers, answer 0 (a < b), 1 (a == b) or 2 (a > b).

Small input spaces are enumerated completely; larger ones are sampled. Splits depend only on the
settings and ``data_seed``. ``train_frac=1.0`` trains on everything and tests on everything (the
usual choice before a proof, which covers every input anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tritlens.fields import check_fields, seed, setting
from tritlens.tasks.base import Split, Task, TaskShape, seeded_split, train_size

MAX_ENUMERATE = 1 << 16
_FRAC = {"lo": 0.0, "hi": 1.0, "lo_open": True}
_SAMPLES = {"lo": 2, "hi": 10_000_000}


@dataclass
class SerialAddConfig:
    """Digit-serial addition, LSB first (see :class:`SerialAddTask`)."""

    digits: int = setting(4, lo=1, hi=64)
    base: int = setting(2, lo=2, hi=16)
    train_frac: float = setting(1.0, **_FRAC)  # 1.0: train and test on every input
    data_seed: int = seed(0)
    n_samples: int = setting(20000, **_SAMPLES)  # inputs sampled when the space exceeds 2^16


@dataclass
class ModAddBitsConfig:
    """(a + b) mod p from two tokens (a, b), answer at position 1 (:class:`ModAddTask`)."""

    p: int = setting(13, lo=2, hi=4096)
    train_frac: float = setting(1.0, **_FRAC)
    data_seed: int = seed(0)


@dataclass
class ParityConfig:
    """Parity of bit tokens (:class:`ParityTask`)."""

    bits: int = setting(8, lo=1, hi=64)
    prefix: bool = False  # answer the running parity at every position
    train_frac: float = setting(1.0, **_FRAC)
    data_seed: int = seed(0)
    n_samples: int = setting(20000, **_SAMPLES)


@dataclass
class CompareConfig:
    """Three-way comparison of two n-bit numbers (:class:`CompareTask`)."""

    bits: int = setting(4, lo=1, hi=16)
    train_frac: float = setting(1.0, **_FRAC)
    data_seed: int = seed(0)
    n_samples: int = setting(20000, **_SAMPLES)


def _mixed_radix(index: Tensor, sizes: tuple[int, ...]) -> Tensor:
    """Index -> digits, position 0 varying fastest."""
    out, rest = [], index
    for size in sizes:
        out.append(rest % size)
        rest = rest // size
    return torch.stack(out, dim=1)


class _EnumeratedTask(Task):
    """Shared split logic: enumerate or sample token tuples, label them, split by a seeded permutation."""

    sizes: tuple[int, ...]  # number of token values per position

    def __init__(self, cfg: Any) -> None:
        check_fields(cfg, "task")
        self.train_frac, self.data_seed = float(cfg.train_frac), int(cfg.data_seed)
        self.n_samples = int(getattr(cfg, "n_samples", 2))

    @classmethod
    def from_config(cls, cfg: Any) -> Task:
        return cls(**vars(cfg))

    @classmethod
    def examples(cls, sizes: tuple[int, ...], n_samples: int) -> int:
        total = math.prod(sizes)
        return total if total <= MAX_ENUMERATE else n_samples

    def labels(self, tokens: Tensor) -> Tensor:
        raise NotImplementedError

    def _check_split(self) -> None:
        """Refuse a train fraction that leaves an empty side, when the task is built (not at training)."""
        if self.train_frac != 1.0:
            train_size(self.train_frac, self.examples(self.sizes, self.n_samples))

    def all_tokens(self) -> Tensor:
        """Every input (when at most MAX_ENUMERATE) or a seeded sample of ``n_samples`` inputs."""
        total = math.prod(self.sizes)
        if total <= MAX_ENUMERATE:
            return _mixed_radix(torch.arange(total), self.sizes)
        gen = torch.Generator().manual_seed(self.data_seed + 1)
        cols = [torch.randint(0, s, (self.n_samples,), generator=gen) for s in self.sizes]
        return torch.stack(cols, dim=1)

    def split(self) -> tuple[Split, Split]:
        tokens = self.all_tokens()
        data = Split(tokens, self.labels(tokens))
        return seeded_split(data, self.train_frac, self.data_seed)


class SerialAddTask(_EnumeratedTask):
    """Digit-serial addition, least significant digit first, answering every step and the carry."""

    def __init__(self, digits: int = 4, base: int = 2, train_frac: float = 1.0, data_seed: int = 0,
                 n_samples: int = 20000) -> None:
        super().__init__(SerialAddConfig(digits, base, train_frac, data_seed, n_samples))
        self.digits, self.base = digits, base
        self.name = "serial_add"
        self.d_vocab, self.d_vocab_out, self.n_ctx = base * base, base, digits + 1
        self.answer_positions = tuple(range(digits + 1))
        self.sizes = (base * base,) * digits + (1,)
        self._check_split()

    @staticmethod
    def shape(cfg: SerialAddConfig) -> TaskShape:
        n = _EnumeratedTask.examples((cfg.base**2,) * cfg.digits, cfg.n_samples)
        return TaskShape(n, cfg.digits + 1, cfg.base**2, cfg.base, cfg.digits + 1)

    def labels(self, tokens: Tensor) -> Tensor:
        out = torch.zeros_like(tokens)
        carry = torch.zeros(tokens.shape[0], dtype=tokens.dtype)
        for t in range(tokens.shape[1]):
            total = tokens[:, t] // self.base + tokens[:, t] % self.base + carry
            out[:, t], carry = total % self.base, total // self.base
        return out

    def describe(self) -> str:
        return f"serial addition of two {self.digits}-digit base-{self.base} numbers, LSB first"


class ModAddTask(_EnumeratedTask):
    """(a + b) mod p from the two tokens (a, b)."""

    def __init__(self, p: int = 13, train_frac: float = 1.0, data_seed: int = 0) -> None:
        super().__init__(ModAddBitsConfig(p, train_frac, data_seed))
        self.p, self.name = p, "mod_add"
        self.d_vocab = self.d_vocab_out = p
        self.n_ctx, self.answer_positions, self.sizes = 2, (1,), (p, p)
        self._check_split()

    @staticmethod
    def shape(cfg: ModAddBitsConfig) -> TaskShape:
        return TaskShape(cfg.p * cfg.p, 2, cfg.p, cfg.p, 1)

    def labels(self, tokens: Tensor) -> Tensor:
        return ((tokens[:, 0] + tokens[:, 1]) % self.p).view(-1, 1)

    def describe(self) -> str:
        return f"(a + b) mod {self.p} from tokens (a, b)"


class ParityTask(_EnumeratedTask):
    """Parity of ``bits`` bit tokens (at every position when ``prefix``)."""

    def __init__(self, bits: int = 8, prefix: bool = False, train_frac: float = 1.0, data_seed: int = 0,
                 n_samples: int = 20000) -> None:
        super().__init__(ParityConfig(bits, prefix, train_frac, data_seed, n_samples))
        self.bits, self.prefix, self.name = bits, bool(prefix), "parity"
        self.d_vocab = self.d_vocab_out = 2
        self.n_ctx, self.sizes = bits, (2,) * bits
        self.answer_positions = tuple(range(bits)) if prefix else (bits - 1,)
        self._check_split()

    @staticmethod
    def shape(cfg: ParityConfig) -> TaskShape:
        n = _EnumeratedTask.examples((2,) * cfg.bits, cfg.n_samples)
        return TaskShape(n, cfg.bits, 2, 2, cfg.bits if cfg.prefix else 1)

    def labels(self, tokens: Tensor) -> Tensor:
        return (tokens.cumsum(dim=1) % 2)[:, list(self.answer_positions)]

    def describe(self) -> str:
        return f"{'running ' if self.prefix else ''}parity of {self.bits} bits"


class CompareTask(_EnumeratedTask):
    """Three-way comparison of two ``bits``-bit numbers: 0 (<), 1 (==), 2 (>)."""

    def __init__(self, bits: int = 4, train_frac: float = 1.0, data_seed: int = 0,
                 n_samples: int = 20000) -> None:
        super().__init__(CompareConfig(bits, train_frac, data_seed, n_samples))
        self.bits, self.name = bits, "compare"
        self.d_vocab, self.d_vocab_out = 1 << bits, 3
        self.n_ctx, self.answer_positions, self.sizes = 2, (1,), (1 << bits, 1 << bits)
        self._check_split()

    @staticmethod
    def shape(cfg: CompareConfig) -> TaskShape:
        n = _EnumeratedTask.examples((1 << cfg.bits,) * 2, cfg.n_samples)
        return TaskShape(n, 2, 1 << cfg.bits, 3, 1)

    def labels(self, tokens: Tensor) -> Tensor:
        return (torch.sign(tokens[:, 0] - tokens[:, 1]) + 1).view(-1, 1)

    def describe(self) -> str:
        return f"compare two {self.bits}-bit numbers (<, ==, >)"
