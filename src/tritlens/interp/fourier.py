"""Fourier toolkit over the cyclic group Z_n (n = p for add/sub, p - 1 for mul/div after re-indexing).

Basis order (rows of :func:`fourier_basis`, each row unit-norm):
row 0 the constant, then for k = 1..(n-1)//2 the pair cos(2 pi k x / n) (row 2k-1) and
sin(2 pi k x / n) (row 2k); for even n a last row cos(pi x) (frequency n/2, no sine partner).
Frequencies are reported as 1..n//2 ("frequency k" means w = 2 pi k / n).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

FVE_CUTOFF = 0.85  # Nanda et al. 2023: a neuron belongs to frequency k when k explains > 85% of its variance


@functools.lru_cache(maxsize=8)
def fourier_basis(n: int) -> Tensor:
    """[n, n] float64 orthonormal Fourier basis over Z_n, rows in the documented order (cached: do not
    modify the returned tensor in place)."""
    x = torch.arange(n, dtype=torch.float64)
    rows = [torch.ones(n, dtype=torch.float64)]
    for k in range(1, (n - 1) // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / n))
        rows.append(torch.sin(2 * math.pi * k * x / n))
    if n % 2 == 0:
        rows.append(torch.cos(math.pi * x))
    basis = torch.stack(rows)
    return basis / basis.norm(dim=1, keepdim=True)


def row_frequencies(n: int) -> Tensor:
    """Frequency of each basis row: [0, 1, 1, 2, 2, ...] (+ n/2 for even n)."""
    freqs = [0] + [k for k in range(1, (n - 1) // 2 + 1) for _ in range(2)]
    if n % 2 == 0:
        freqs.append(n // 2)
    return torch.tensor(freqs)


def freq_energy(coeffs: Tensor, n: int) -> Tensor:
    """Sum of squared Fourier coefficients per frequency 0..n//2; ``coeffs`` has the basis axis first."""
    energy = coeffs.pow(2).reshape(n, -1).sum(1)
    return torch.zeros(n // 2 + 1, dtype=energy.dtype).index_add_(0, row_frequencies(n), energy)


def embed_norms(w_e: Tensor) -> Tensor:
    """[n//2] Fourier norm of each frequency k = 1..n//2 of embedding rows [n, d] (given in group order).

    The norm of frequency k is sqrt(|cos_k . W_E|^2 + |sin_k . W_E|^2) over all model dimensions.
    """
    n = w_e.shape[0]
    return freq_energy(fourier_basis(n) @ w_e.double(), n)[1:].sqrt()


@dataclass(frozen=True)
class KeyFrequencies:
    freqs: list[int]
    confidence: float  # 1 - (largest floored value outside) / (smallest inside): 0 = no split, 1 = clean
    gap_ratio: float  # smallest key value / largest non-key value, both floored (capped at 1e12)
    norm_frac: float  # share of the squared (positive) values carried by the key frequencies
    rule: str
    floor: float = 0.0  # values below it count as noise (equal to it)


KEY_RULE = ("largest gap: floor the values at the noise floor, sort them (descending) and take the top m "
            "where the ratio value[m] / value[m+1] is largest, with m at most half the frequencies (key "
            "frequencies are a minority); none when nothing rises above the floor; "
            "confidence = 1 - value[m+1] / value[m]")


def detect_key_frequencies(values: Tensor, source: str = "", floor: float = 0.0) -> KeyFrequencies:
    """Key frequencies without a per-run threshold: the split at the largest ratio between consecutive
    sorted values (a largest gap in log space), restricted to the upper half so that the tail cannot win.

    ``values`` [n//2] per frequency k = 1..n//2 (norms, or clock amplitudes that may be negative).
    ``floor``: the noise level; every value is raised to it first, so values that noise alone could
    produce are all equal and no split can fall among them (without a floor, ratios between tiny noise
    values can be arbitrarily large). A clock model has a few loud frequencies and a quiet bulk, so the
    gap is large (confidence near 1); a model without a clock has a smooth spectrum (confidence near 0)
    or nothing above the floor (no key frequencies, confidence 0).
    """
    rule = f"{KEY_RULE} ({source})" if source else KEY_RULE
    values = values.double()
    n_freqs = values.numel()
    if n_freqs < 2:
        return KeyFrequencies([1] if n_freqs else [], 0.0, 1.0, 1.0, rule, floor)
    top = float(values.max())
    floor = max(floor, top * 1e-12, 1e-300)  # relative floor: float rounding is noise too
    safe, order = torch.sort(values.clamp_min(floor), descending=True)
    m_max = max(1, n_freqs // 2)
    ratios = safe[:m_max] / safe[1:m_max + 1]
    m = int(torch.argmax(ratios)) + 1
    gap = min(float(ratios[m - 1]), 1e12)
    if gap <= 1.0:  # nothing stands above the floor
        return KeyFrequencies([], 0.0, 1.0, 0.0, rule, floor)
    energy = values.clamp_min(0).pow(2)
    total = float(energy.sum())
    frac = float(energy[order[:m]].sum()) / total if total > 0 else 0.0
    freqs = sorted(int(order[i]) + 1 for i in range(m))
    return KeyFrequencies(freqs, 1.0 - 1.0 / gap, gap, frac, rule, floor)


def fourier_2d(acts: Tensor) -> Tensor:
    """2D Fourier transform over the first two (group) axes of ``acts`` [n, n, ...]: F A F^T."""
    n = acts.shape[0]
    basis = fourier_basis(n).to(acts.dtype)
    return torch.einsum("ia,ab...,jb->ij...", basis, acts, basis)


def freq_energy_2d(acts: Tensor) -> Tensor:
    """[n//2 + 1, n//2 + 1, ...] energy of ``acts`` [n, n, ...] per (frequency in a, frequency in b) pair.

    Entry [ka, kb] sums the squared 2D Fourier coefficients of the rows of frequency ka (0 = constant) and
    the columns of frequency kb; e.g. [k, k] holds the four products cos/sin ka x cos/sin kb.
    """
    n = acts.shape[0]
    energy = fourier_2d(acts.double()).pow(2)
    rf = row_frequencies(n)
    k_max = n // 2
    by_row = torch.zeros(k_max + 1, *energy.shape[1:], dtype=energy.dtype).index_add_(0, rf, energy)
    return torch.zeros(k_max + 1, k_max + 1, *energy.shape[2:], dtype=energy.dtype).index_add_(1, rf, by_row)


def single_freq_fve(acts: Tensor) -> Tensor:
    """[n//2 + 1, d] fraction of each column's variance over (a, b) explained by one frequency's terms.

    For frequency k these are the 8 non-constant terms of {1, cos ka, sin ka} x {1, cos kb, sin kb}:
    cos/sin ka, cos/sin kb and their 4 products (2D Fourier blocks (k,0), (0,k), (k,k)). Row 0 is unused
    (zero). ``acts`` is [n, n, d] in group order.
    """
    n = acts.shape[0]
    block = freq_energy_2d(acts.reshape(n, n, -1))
    k_max = n // 2
    total = block.sum((0, 1)) - block[0, 0]
    ks = torch.arange(k_max + 1)
    explained = block[ks, ks] + block[ks, 0] + block[0, ks]
    explained[0] = 0
    return torch.where(total > 1e-20 * (1 + block[0, 0]), explained / total.clamp_min(1e-300),
                       torch.zeros_like(explained))


def dominant_frequency(fve: Tensor) -> tuple[Tensor, Tensor]:
    """Per column of a [n//2 + 1, d] FVE table: best frequency (0 for a dead/constant column) and its FVE."""
    best_fve, best_k = fve[1:].max(0)
    best_k = torch.where(best_fve > 0, best_k + 1, torch.zeros_like(best_k))
    return best_k, best_fve


def clusters(freq: list[int], fve: list[float], cutoff: float = FVE_CUTOFF) -> dict[str, list[int]]:
    """Neuron ids per frequency for neurons whose dominant frequency explains more than ``cutoff``."""
    out: dict[str, list[int]] = {}
    for i, (k, f) in enumerate(zip(freq, fve, strict=True)):
        if k > 0 and f > cutoff:
            out.setdefault(str(k), []).append(i)
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def poly2_fve(acts: Tensor) -> tuple[Tensor, Tensor]:
    """Li et al. 2024 fig. 5: per column, the best k and R^2 of the least-squares fit of the activations
    over (a, b) on {1, cos ka, sin ka, cos kb, sin kb and their 4 products}.

    Computed as a real least-squares fit (normal equations per k, batched over columns), independently of
    the Fourier transform. On the complete grid the regressors are orthogonal 2D Fourier terms, so it
    equals :func:`single_freq_fve`; the analysis therefore reports the (much cheaper) Fourier numbers
    and the tests check them against this fit.
    """
    n = acts.shape[0]
    y = acts.double().reshape(n * n, -1)
    y = y - y.mean(0)
    sst = y.pow(2).sum(0)
    x = torch.arange(n, dtype=torch.float64)
    best_r2 = torch.zeros(y.shape[1], dtype=torch.float64)
    best_k = torch.zeros(y.shape[1], dtype=torch.long)
    for k in range(1, n // 2 + 1):
        w = 2 * math.pi * k * x / n
        one = [torch.cos(w), torch.sin(w)] if 2 * k != n else [torch.cos(w)]
        fa = [f.view(n, 1).expand(n, n) for f in one]
        fb = [f.view(1, n).expand(n, n) for f in one]
        cols = fa + fb + [u * v for u in fa for v in fb]
        design = torch.stack([c.reshape(-1) for c in cols], 1)
        design = design - design.mean(0)
        gram = design.T @ design  # normal equations: 8 regressors, so solving them is cheap and exact
        coef = torch.linalg.solve(gram, design.T @ y)
        ssr = (coef * (gram @ coef)).sum(0)
        r2 = torch.where(sst > 1e-20, ssr / sst.clamp_min(1e-300), torch.zeros_like(ssr))
        better = r2 > best_r2
        best_r2 = torch.where(better, r2, best_r2)
        best_k = torch.where(better, torch.full_like(best_k, k), best_k)
    return best_k, best_r2
