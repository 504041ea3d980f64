"""Exact digit arithmetic on arrays of questions, and the complexity class of every question.

Digit arrays are [N, n] int64 indexed by power of ten (``a[:, i]`` is the digit of 10^i), so any
number of digits works without integer overflow. Complexity classes follow Quirke et al.:

* addition: ``S0`` no column makes a carry; ``S1`` a carry that does not cascade; ``S2``..``S5`` a
  carry cascading through 1, 2, 3, 4 or more columns whose digits sum to 9 ("use sum 9");
* subtraction with an answer >= 0: ``M0`` no column borrows; ``M1`` a borrow that does not cascade;
  ``M2``..``M4`` a borrow cascading through 1, 2, 3 or more columns with equal digits;
* subtraction with a negative answer: ``N1``..``N4`` the same, counting only equal-digit columns up
  to the most significant non-zero digit of either operand;
* multiplication: one class ``X``.
"""

from __future__ import annotations

import numpy as np

from tritlens.tasks.arith.layout import MINUS, PLUS, TIMES

CLASS_NAMES = ("S0", "S1", "S2", "S3", "S4", "S5", "M0", "M1", "M2", "M3", "M4", "N1", "N2", "N3", "N4", "X")
ADD_CLASSES, SUB_CLASSES, NEG_CLASSES = CLASS_NAMES[0:6], CLASS_NAMES[6:11], CLASS_NAMES[11:15]
_S0, _M0, _N1, _X = 0, 6, 11, 15


def add_digits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Digits [N, n + 1] of a + b."""
    n = a.shape[1]
    out = np.zeros((a.shape[0], n + 1), dtype=np.int64)
    carry = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(n):
        total = a[:, i] + b[:, i] + carry
        out[:, i], carry = total % 10, total // 10
    out[:, n] = carry
    return out


def _minus(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Digits of (a - b) mod 10^n and the final borrow (1 where a < b)."""
    out = np.zeros_like(a)
    borrow = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(a.shape[1]):
        diff = a[:, i] - b[:, i] - borrow
        borrow = (diff < 0).astype(np.int64)
        out[:, i] = diff + 10 * borrow
    return out, borrow


def sub_digits(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sign tokens [N] and digits [N, n + 1] of |a - b| (the top digit is always 0)."""
    forward, negative = _minus(a, b)
    backward, _ = _minus(b, a)
    magnitude = np.where(negative[:, None] == 1, backward, forward)
    out = np.concatenate([magnitude, np.zeros((a.shape[0], 1), dtype=np.int64)], axis=1)
    return np.where(negative == 1, MINUS, PLUS), out


def mul_digits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Digits [N, 2n] of a * b (long multiplication: column sums, then carries)."""
    n = a.shape[1]
    columns = np.zeros((a.shape[0], 2 * n), dtype=np.int64)
    for i in range(n):
        columns[:, i:i + n] += a[:, i:i + 1] * b
    out = np.zeros_like(columns)
    carry = np.zeros(a.shape[0], dtype=np.int64)
    for k in range(2 * n):
        total = columns[:, k] + carry
        out[:, k], carry = total % 10, total // 10
    return out


def answer(a: np.ndarray, b: np.ndarray, op: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sign tokens [N] and answer digits for op tokens [N] (one width: n + 1, or 2n when all are mul)."""
    if (op == TIMES).any():
        if not (op == TIMES).all():
            raise ValueError("multiplication cannot share a batch with addition or subtraction")
        return np.full(a.shape[0], PLUS), mul_digits(a, b)
    sign = np.full(a.shape[0], PLUS)
    digits = add_digits(a, b)
    is_sub = op == MINUS
    if is_sub.any():
        s_sign, s_digits = sub_digits(a[is_sub], b[is_sub])
        sign[is_sub], digits[is_sub] = s_sign, s_digits
    return sign, digits


def _run_from(flags: np.ndarray) -> np.ndarray:
    """run[:, i] = number of consecutive True flags starting at column i (upwards); width n + 1."""
    n = flags.shape[1]
    run = np.zeros((flags.shape[0], n + 1), dtype=np.int64)
    for i in range(n - 1, -1, -1):
        run[:, i] = np.where(flags[:, i], run[:, i + 1] + 1, 0)
    return run


def _cascade(makes: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """Longest run of ``passes`` columns just above a ``makes`` column; -1 where nothing is made."""
    run = _run_from(passes)[:, 1:]  # run[:, i] counts from column i + 1
    return np.where(makes, run, -1).max(axis=1)


def classes(a: np.ndarray, b: np.ndarray, op: np.ndarray) -> np.ndarray:
    """Complexity class index (into ``CLASS_NAMES``) of every question."""
    out = np.full(a.shape[0], _X, dtype=np.int64)
    is_add, is_sub = op == PLUS, op == MINUS
    if is_add.any():
        s = a[is_add] + b[is_add]
        cascade = _cascade(s > 9, s == 9)
        out[is_add] = np.where(cascade < 0, _S0, _S0 + 1 + np.minimum(cascade, 4))
    if is_sub.any():
        x, y = a[is_sub], b[is_sub]
        _, negative = _minus(x, y)
        borrows, zeros = x < y, x == y
        # negative answers: equal columns above the most significant non-zero digit do not count
        nonzero = (x > 0) | (y > 0)
        top = np.where(nonzero.any(axis=1), x.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1), -1)
        below_top = np.arange(x.shape[1])[None, :] <= top[:, None]
        cascade_pos = _cascade(borrows, zeros)
        cascade_neg = _cascade(borrows, zeros & below_top)
        pos = np.where(cascade_pos < 0, _M0, _M0 + 1 + np.minimum(cascade_pos, 3))
        neg = _N1 + np.minimum(np.maximum(cascade_neg, 0), 3)
        out[is_sub] = np.where(negative == 1, neg, pos)
    return out


def op_of_class(index: int) -> str:
    """``add``, ``sub`` or ``mul`` for a class index."""
    return "add" if index < _M0 else "sub" if index < _X else "mul"
