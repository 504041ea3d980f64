"""The token layout of n-digit arithmetic questions (Quirke, Neo & Barez 2024) and their text form.

A question and its answer are one token sequence, most significant digit first by default::

    D4 D3 D2 D1 D0  OP  D'4 D'3 D'2 D'1 D'0  =  SIGN  A5 A4 A3 A2 A1 A0
    1  3  3  3  5   +   1   8   2   2   4    =  +     0  3  1  5  5  9      ("13335+18224=+031559")

Tokens 0-9 are digits, ``+`` = 10, ``-`` = 11, ``=`` = 12, ``*`` = 13 (vocabulary 15, one spare).
The sign is always written. Addition and subtraction answers have n + 1 digits, multiplication
answers 2n. With ``lsb_first`` both operands and the answer digits are written least significant
digit first (the sign still comes first), as in Bai et al. 2025's multiplication models.

Digit arrays in this package are indexed by power of ten: ``a[:, i]`` is the digit of 10^i.
Position names are the names of the tokens they hold: ``D4``..``D0``, ``OP``, ``D'4``..``D'0``,
``EQ``, then ``A6`` (the sign, named one past the top answer digit) and ``A5``..``A0``. Answer token
``A3`` is predicted at the position just before it (teacher forcing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

PLUS, MINUS, EQUALS, TIMES = 10, 11, 12, 13
D_VOCAB = 15
CHARS = "0123456789+-=*?"
OP_TOKEN = {"add": PLUS, "sub": MINUS, "mul": TIMES}
OP_NAME = {PLUS: "add", MINUS: "sub", TIMES: "mul"}


@dataclass(frozen=True)
class Layout:
    """Where every digit, operator and answer token sits for ``digits``-digit operands."""

    digits: int
    answer_digits: int  # n + 1 for add/sub, 2n for mul
    lsb_first: bool = False

    @staticmethod
    def for_op(digits: int, op: str, lsb_first: bool = False) -> Layout:
        return Layout(digits, 2 * digits if op == "mul" else digits + 1, lsb_first)

    # -- positions ------------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return 2 * self.digits + 3 + self.answer_digits

    @property
    def op_pos(self) -> int:
        return self.digits

    @property
    def eq_pos(self) -> int:
        return 2 * self.digits + 1

    @property
    def sign_pos(self) -> int:
        return 2 * self.digits + 2

    def _order(self, i: int, width: int) -> int:
        return i if self.lsb_first else width - 1 - i

    def a_pos(self, i: int) -> int:
        """Position of the first operand's digit of 10^i."""
        return self._order(i, self.digits)

    def b_pos(self, i: int) -> int:
        return self.digits + 1 + self._order(i, self.digits)

    def answer_pos(self, i: int) -> int:
        """Position of the answer digit of 10^i (its logits are read one position earlier)."""
        return self.sign_pos + 1 + self._order(i, self.answer_digits)

    @property
    def answer_token_positions(self) -> tuple[int, ...]:
        """Positions of the sign and the answer digits, in sequence order."""
        return tuple(range(self.sign_pos, self.n_ctx))

    @property
    def answer_positions(self) -> tuple[int, ...]:
        """Positions whose logits predict the answer tokens (each one position earlier)."""
        return tuple(p - 1 for p in self.answer_token_positions)

    # -- names ----------------------------------------------------------------------------------
    @property
    def sign_name(self) -> str:
        return f"A{self.answer_digits}"

    def answer_names(self) -> list[str]:
        """Names of the answer tokens in sequence order: the sign first, then the digits."""
        digits = [f"A{self._order(k, self.answer_digits)}" for k in range(self.answer_digits)]
        return [self.sign_name, *digits]

    def position_names(self) -> list[str]:
        """One name per position: D4..D0, OP, D'4..D'0, EQ, A6 (sign), A5..A0 (for 5 digits, MSB first)."""
        n = self.digits
        names = [f"D{self._order(k, n)}" for k in range(n)] + ["OP"]
        names += [f"D'{self._order(k, n)}" for k in range(n)] + ["EQ"]
        return names + self.answer_names()

    def position_of(self, name: str) -> int | None:
        """The position a name refers to (a position name, or ``P12``), or None."""
        names = self.position_names()
        if name in names:
            return names.index(name)
        if name[:1] in ("P", "p") and name[1:].isdigit() and int(name[1:]) < self.n_ctx:
            return int(name[1:])
        return None

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, a: np.ndarray, b: np.ndarray, op: np.ndarray, sign: np.ndarray,
               answer: np.ndarray) -> Tensor:
        """Tokens [N, n_ctx] from digit arrays a, b [N, n], op tokens [N], sign tokens [N], answer [N, m]."""
        n, m = self.digits, self.answer_digits
        out = np.empty((a.shape[0], self.n_ctx), dtype=np.int64)
        order_n = np.arange(n) if self.lsb_first else np.arange(n)[::-1]
        order_m = np.arange(m) if self.lsb_first else np.arange(m)[::-1]
        out[:, :n] = a[:, order_n]
        out[:, n] = op
        out[:, n + 1:2 * n + 1] = b[:, order_n]
        out[:, 2 * n + 1] = EQUALS
        out[:, 2 * n + 2] = sign
        out[:, 2 * n + 3:] = answer[:, order_m]
        return torch.from_numpy(out)

    def operands(self, tokens: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Digit arrays a, b [N, n] (indexed by power of ten) and op tokens [N] read back from tokens."""
        t = tokens.numpy() if isinstance(tokens, Tensor) else np.asarray(tokens)
        n = self.digits
        order = np.arange(n) if self.lsb_first else np.arange(n)[::-1]
        a = t[:, :n][:, order]
        b = t[:, n + 1:2 * n + 1][:, order]
        return a, b, t[:, n]


def to_text(tokens: Tensor | np.ndarray) -> list[str]:
    """Each row of tokens as text, e.g. ``13335+18224=+031559``."""
    rows = tokens.tolist() if isinstance(tokens, Tensor | np.ndarray) else tokens
    return ["".join(CHARS[t] if 0 <= t < len(CHARS) else "?" for t in row) for row in rows]


def int_digits(values: list[int] | np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as digit arrays [N, width] indexed by power of ten."""
    out = np.zeros((len(values), width), dtype=np.int64)
    for row, value in enumerate(values):
        v = int(value)
        for i in range(width):
            v, out[row, i] = divmod(v, 10)
    return out


def digits_int(digits: np.ndarray) -> list[int]:
    """Digit arrays [N, width] (indexed by power of ten) back to Python integers."""
    return [int("".join(str(int(d)) for d in row[::-1]) or "0") for row in digits]
