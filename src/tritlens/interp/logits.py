"""Logit measures of the clock algorithm: Fourier norms, restricted loss and excluded loss (Nanda 2023).

For a clock model the logit of output c on input (a, b) is a sum over key frequencies w of
cos(w(s - c)) with s = a + b (a - b for sub, logs for mul/div). As a function over the (a, b) grid,
each output's logit column then lies in the span of cos(w s), sin(w s) for the key w (plus a constant).
Since these directions depend on (a, b) only through s, projecting onto them reduces to sums over the
n pairs sharing each s, so everything here costs O(n^3) and needs no [n^2, n^2] matrices.

* restricted logits: per output c, the mean over (a, b) plus the projection onto the key-frequency
  directions; restricted loss = cross-entropy on all pairs (the algorithm's own performance).
* excluded logits: the logits minus those key-frequency projections; excluded loss on the training
  pairs (how well the model does without the algorithm, i.e. by memorisation).
* clock amplitudes (:func:`clock_amplitudes`): per frequency k, the amplitude A_k of the part of the
  logits of the form A_k cos(w_k (s - c)), the clock term that raises the correct answer c = s. It is
  the projection of frequency k's coefficients [cos/sin rows x outputs] onto the template
  [cos(w_k c); sin(w_k c)]. Noise, ReLU harmonics and cross-talk between frequencies put energy at a
  frequency with some other dependence on c, which this projection ignores; so the spectrum of A_k is
  sharp where the spectrum of the logit norms is not. Memorisation (a boost of the correct answer on
  the training pairs) puts a small, equal A_k on every frequency, like any delta function in s - c.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from tritlens.interp.fourier import fourier_basis, row_frequencies


def _by_label(logits: Tensor, s: Tensor) -> Tensor:
    """M[s, c] = sum of logits[i, j, c] over the pairs with label index s."""
    n = logits.shape[0]
    flat = logits.reshape(n * n, -1)
    return torch.zeros(n, flat.shape[1], dtype=flat.dtype).index_add_(0, s.reshape(-1), flat)


def coefficients(sums: Tensor) -> Tensor:
    """[n, n_out] coefficients of each output's logit column on the unit grid vectors F[row, s] / sqrt(n),
    from the label sums M[s, c] (see :func:`_by_label`)."""
    n = sums.shape[0]
    return fourier_basis(n) @ sums / n**0.5


def key_component(coeffs: Tensor, rows: Tensor, n: int) -> Tensor:
    """[n (label index s), n_out] part of the logits spanned by the given basis rows (depends on s only)."""
    return fourier_basis(n)[rows].T @ coeffs[rows] / n**0.5


def key_rows(n: int, freqs: list[int]) -> Tensor:
    rf = row_frequencies(n)
    return torch.nonzero(torch.isin(rf, torch.tensor(freqs, dtype=rf.dtype))).flatten()


def cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy (float64) of logits [..., n_out] against integer targets [...]."""
    logp = logits.double().log_softmax(-1)
    return -logp.gather(-1, target.unsqueeze(-1)).mean()


def _split(nll: Tensor, correct: Tensor, train: Tensor) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, mask in (("train", train), ("test", ~train)):
        has = bool(mask.any())
        out[f"{name}_loss"] = float(nll[mask].mean()) if has else float("nan")
        out[f"{name}_acc"] = float(correct[mask].double().mean()) if has else float("nan")
    return out


def logit_measures(logits: Tensor, s: Tensor, key_freqs: list[int], train: Tensor,
                   detail: bool = True) -> dict[str, float]:
    """Full (all pairs), train, test, restricted and excluded loss and accuracies; with ``detail`` also the
    share of logit variance in the key directions (``logit_key_fve``, logits centred over outputs since a
    shift over outputs never changes the softmax).

    ``logits`` [n, n, n] in group order, ``s`` [n, n] label index, ``train`` [n, n] bool training pairs.
    """
    n = logits.shape[0]
    logits = logits.double()
    sums = _by_label(logits, s)
    coeffs = coefficients(sums)
    rows = key_rows(n, key_freqs)
    key = key_component(coeffs, rows, n)
    restricted = key_component(coeffs, torch.tensor([0]), n) + key  # mean over (a, b) + key terms
    nll = -logits.log_softmax(-1).gather(-1, s.unsqueeze(-1)).squeeze(-1)
    correct = logits.argmax(-1) == s
    out = {
        "loss_full": float(nll.mean()),
        "loss_restricted": float(cross_entropy(restricted, torch.arange(n))),  # each s holds n pairs
        "loss_excluded": float(cross_entropy(logits[train] - key[s[train]], s[train])),
        "acc_full": float(correct.double().mean()),
        "acc_restricted": float((restricted.argmax(-1) == torch.arange(n)).double().mean()),
        **_split(nll, correct, train),
    }
    if detail:
        centred = logits - logits.mean(-1, keepdim=True)
        variance = (centred - centred.mean((0, 1))).pow(2).sum()
        key_var = coefficients(sums - sums.mean(1, keepdim=True))[rows].pow(2).sum()
        out["logit_key_fve"] = float(key_var / variance) if variance > 0 else 0.0
    return out


def clock_amplitudes(logits: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    """([n//2] amplitude, [n//2] noise scale) per frequency k = 1..n//2, in logit units.

    amplitude: A_k such that the logits contain A_k cos(w_k (s - c)) (negative: the clock term lowers
    the correct answer). noise scale: the root-mean-square, per template-sized direction, of the rest of
    frequency k's coefficients, in the same units: the |A_k| that frequency k would show by chance if
    its coefficients had no clock structure (they are projected on one direction of 2 (n - 1)).
    """
    n = logits.shape[0]
    sums = _by_label(logits.double(), s)
    coeffs = coefficients(sums - sums.mean(1, keepdim=True))  # centred over outputs: softmax-invariant
    rf = row_frequencies(n)
    angle = 2 * math.pi * torch.outer(torch.arange(n // 2 + 1, dtype=torch.float64),
                                      torch.arange(n, dtype=torch.float64)) / n
    template = torch.stack([torch.cos(angle), torch.sin(angle)], 1)  # [k, cos/sin, c]
    amplitude = torch.zeros(n // 2, dtype=torch.float64)
    noise = torch.zeros(n // 2, dtype=torch.float64)
    for k in range(1, n // 2 + 1):
        rows = torch.nonzero(rf == k).flatten()  # cos (and sin) row of frequency k
        block, tmpl = coeffs[rows], template[k, : len(rows)]
        t = float((block * tmpl).sum() / tmpl.norm())
        off = max(float(block.pow(2).sum()) - t * t, 0.0)
        dof = len(rows) * (n - 1) - 1  # centred over outputs, minus the template direction
        # A cos(w (s - c)) gives t = A n^1.5 / sqrt(2) (n^1.5 for the cos-only frequency n/2)
        unit = n**1.5 / (math.sqrt(2) if len(rows) == 2 else 1.0)
        amplitude[k - 1], noise[k - 1] = t / unit, math.sqrt(off / dof) / unit
    return amplitude, noise


def logit_norms(logits: Tensor, s: Tensor) -> list[float]:
    """Norm per frequency k = 1..n//2 of the logits (centred over outputs) along cos(w_k s), sin(w_k s)."""
    n = logits.shape[0]
    sums = _by_label(logits.double(), s)
    energy = coefficients(sums - sums.mean(1, keepdim=True)).pow(2).sum(1)
    per_freq = torch.zeros(n // 2 + 1, dtype=energy.dtype).index_add_(0, row_frequencies(n), energy)
    return per_freq[1:].sqrt().tolist()
