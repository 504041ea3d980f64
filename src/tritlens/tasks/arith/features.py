"""Quantities of arithmetic questions that probes and auxiliary losses look for.

* ``a0`` .. ``a{n-1}``, ``b0`` ..: operand digits (index = power of ten), classes 0-9, per example;
* addition: ``carry0`` .. ``carry{n-1}``, the carry out of column i (classes 0-1);
* subtraction: ``borrow0`` .., the borrow out of column i of the first operand minus the second;
* multiplication: ``running_sum`` c_hat_k = sum_{i+j=k} a_i b_j + floor(c_hat_{k-1} / 10) (Bai et al.
  2025), a real number at the position that predicts answer digit k (undefined elsewhere), and
  ``running_sum{k}`` the same per example; answer digit k is c_hat_k mod 10.

Mixed tasks define the carries and borrows of the questions of their operation only (others: NaN).
"""

from __future__ import annotations

import numpy as np
import torch

from tritlens.tasks.arith.layout import MINUS, PLUS, Layout
from tritlens.tasks.base import Feature


def running_sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c_hat [N, 2n] of a * b (digits indexed by power of ten)."""
    n = a.shape[1]
    out = np.zeros((a.shape[0], 2 * n), dtype=np.int64)
    previous = np.zeros(a.shape[0], dtype=np.int64)
    for k in range(2 * n):
        column = sum(a[:, i] * b[:, k - i] for i in range(max(0, k - n + 1), min(k, n - 1) + 1))
        out[:, k] = column + previous // 10
        previous = out[:, k]
    return out


def column_carries(a: np.ndarray, b: np.ndarray, sign: int) -> np.ndarray:
    """[N, n] carries (sign +1) or borrows (sign -1) out of each column of a +/- b."""
    out = np.zeros(a.shape, dtype=np.int64)
    carry = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(a.shape[1]):
        total = a[:, i] + sign * b[:, i] + sign * carry
        carry = (total >= 10) if sign > 0 else (total < 0)
        carry = carry.astype(np.int64)
        out[:, i] = carry
    return out


def arith_features(layout: Layout, op: str, tokens: torch.Tensor) -> dict[str, Feature]:
    """The features of the questions in ``tokens`` (see the module docstring)."""
    a, b, ops = layout.operands(tokens)
    out: dict[str, Feature] = {}
    for i in range(layout.digits):
        out[f"a{i}"] = Feature(torch.from_numpy(a[:, i]).float(), 10)
        out[f"b{i}"] = Feature(torch.from_numpy(b[:, i]).float(), 10)
    for name, token, sign in (("carry", PLUS, 1), ("borrow", MINUS, -1)):
        if op not in (("add", "mixed") if sign > 0 else ("sub", "mixed")):
            continue
        values = column_carries(a, b, sign).astype(np.float32)
        values[ops != token] = np.nan
        for i in range(layout.digits):
            out[f"{name}{i}"] = Feature(torch.from_numpy(values[:, i].copy()), 2)
    if op == "mul":
        sums = running_sums(a, b).astype(np.float32)
        aligned = torch.full(tuple(tokens.shape), float("nan"))
        for k in range(layout.answer_digits):
            aligned[:, layout.answer_pos(k) - 1] = torch.from_numpy(sums[:, k])
            out[f"running_sum{k}"] = Feature(torch.from_numpy(sums[:, k].copy()))
        out["running_sum"] = Feature(aligned)
    return out
