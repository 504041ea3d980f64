"""Modular arithmetic over Z_p: tokens (a, b, '='), label op(a, b) mod p read at the last position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tritlens.errors import ConfigError, short
from tritlens.fields import check_fields, seed, setting
from tritlens.tasks.base import Feature, Split, Task, TaskShape, seeded_split, train_size
from tritlens.tasks.expr import evaluate_mod

NAMED_OPS: dict[str, str] = {"add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b"}
P_MAX = 4096


@dataclass
class ModularConfig:
    """Modular arithmetic over Z_p (see :class:`ModularTask`)."""

    p: int = setting(113, lo=2, hi=P_MAX)
    op: str = "add"  # add | sub | mul | div | an expression in a, b, p such as "a*a + b"
    train_frac: float = setting(0.3, lo=0.0, hi=1.0, lo_open=True)  # 1.0: train and test on every pair
    data_seed: int = seed(598)


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


class ModularTask(Task):
    """All p^2 pairs (a, b) with label op(a, b) mod p; a seeded random train/test split.

    The split is TransformerLens's grokking demo's: a permutation from a generator seeded with
    ``data_seed``, its first floor(train_frac * n) pairs for training (3,830 of 12,769 for p=113, 30%).

    ``op`` is ``add``, ``sub``, ``mul``, ``div`` (a * b^-1, pairs with b = 0 left out, p prime), an
    arithmetic expression in ``a``, ``b`` and ``p`` such as ``"a**2 + a*b"`` (evaluated exactly), or
    (Python API only) a callable ``f(a, b) -> int`` applied elementwise.
    """

    def __init__(self, p: int = 113, op: str | Callable[[int, int], int] = "add", train_frac: float = 0.3,
                 data_seed: int = 598) -> None:
        for value, key in ((p, "p"), (data_seed, "data_seed")):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"task.{key} must be an integer, got {value!r:.40}")
        if not (isinstance(op, str) or callable(op)):
            raise ConfigError(f"task.op must be a string or a callable, got {type(op).__name__}")
        if isinstance(train_frac, bool) or not isinstance(train_frac, int | float):
            raise ConfigError(f"task.train_frac must be a number, got {short(train_frac)}")
        settings = ModularConfig(p, op if isinstance(op, str) else "add", float(train_frac), data_seed)
        check_fields(settings, "task")
        self.p, self.op, self.train_frac, self.data_seed = p, op, float(train_frac), int(data_seed)
        self.name = "modular"
        self.d_vocab = p + 1  # the numbers 0..p-1 and '=' (= p)
        self.d_vocab_out = p
        self.n_ctx = 3
        self.answer_positions = (2,)
        self._labels = self._label_table()
        train_size(self.train_frac, int((self._labels >= 0).sum()))  # refused before a run exists

    @classmethod
    def from_config(cls, cfg: ModularConfig) -> ModularTask:
        return cls(p=cfg.p, op=cfg.op, train_frac=cfg.train_frac, data_seed=cfg.data_seed)

    @staticmethod
    def shape(cfg: ModularConfig) -> TaskShape:
        return TaskShape(cfg.p * cfg.p, 3, cfg.p + 1, cfg.p, 1)

    @property
    def equals_token(self) -> int:
        return self.p

    def _label_table(self) -> Tensor:
        """[p, p] int64 table of labels; -1 marks pairs left out (b = 0 for division)."""
        p = self.p
        a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
        if callable(self.op):
            return torch.from_numpy(self._call_table(a, b))
        if self.op == "div":
            if not is_prime(p):
                raise ConfigError(f"task.op 'div' needs a prime p, got p={p}")
            inv = np.array([pow(int(x), -1, p) if x else 0 for x in range(p)])
            return torch.from_numpy(np.where(b == 0, -1, (a * inv[b]) % p).astype(np.int64))
        return torch.from_numpy(evaluate_mod(NAMED_OPS.get(self.op, self.op), a, b, p))

    def _call_table(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty(a.shape, dtype=np.int64)
        for i, (x, y) in enumerate(zip(a.flat, b.flat, strict=True)):
            try:
                out.flat[i] = int(self.op(int(x), int(y))) % self.p
            except (ArithmeticError, TypeError, ValueError) as exc:
                raise ConfigError(f"task.op function failed at a={x}, b={y}: {exc}") from None
        return out

    def labels(self) -> Tensor:
        """[p, p] table of labels over the full grid (-1 where a pair is not part of the task)."""
        return self._labels.clone()

    def all_pairs(self) -> Split:
        """Every valid (a, b) pair in row-major order, for analysis over the full grid."""
        p = self.p
        a = torch.arange(p).repeat_interleave(p)
        b = torch.arange(p).repeat(p)
        tokens = torch.stack([a, b, torch.full_like(a, p)], dim=1)
        targets = self._labels.flatten().view(-1, 1)
        keep = targets[:, 0] >= 0
        return Split(tokens[keep], targets[keep])

    def features(self, data: Split) -> dict[str, Feature]:
        """``a``, ``b`` and ``answer`` (all classes in [0, p))."""
        a, b = data.tokens[:, 0].float(), data.tokens[:, 1].float()
        return {"a": Feature(a, self.p), "b": Feature(b, self.p), **super().features(data)}

    def relabel(self, tokens: Tensor) -> Split:
        """(a, b, '=') rows with their labels; inputs outside the task (tokens, or b = 0 for div) refused."""
        if tokens.dim() != 2 or tokens.shape[1] != 3:
            raise ConfigError(f"modular inputs are [N, 3] token rows, got shape {list(tokens.shape)}")
        a, b = tokens[:, 0], tokens[:, 1]
        if bool(((a < 0) | (a >= self.p) | (b < 0) | (b >= self.p) | (tokens[:, 2] != self.p)).any()):
            raise ConfigError(f"modular inputs must be (a, b, {self.p}) with a, b in [0, {self.p})")
        targets = self._labels[a, b].view(-1, 1)
        if bool((targets < 0).any()):
            raise ConfigError("some inputs have no answer in this task (b = 0 for division)")
        return Split(tokens.clone(), targets)

    def split(self) -> tuple[Split, Split]:
        data = self.all_pairs()
        return seeded_split(data, self.train_frac, self.data_seed)

    def describe(self) -> str:
        op = "custom function" if callable(self.op) else NAMED_OPS.get(self.op, self.op)
        return f"({op}) mod {self.p}, {self.train_frac:.0%} train, data seed {self.data_seed}"
