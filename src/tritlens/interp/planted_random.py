"""Random planted clock models for property tests (see :mod:`tritlens.interp.planted`).

``random_spec(seed)`` draws one :class:`PlantedSpec`; the same seed always gives the same model.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

from tritlens.interp.planted import QUANTS, PlantedSpec, grid_size

# noise and flip rates random_spec draws from; the last of each (harsh=True only) break many models
NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3)
FLIP_RATES = {"none": (0.0,), "ternary": (0.0, 0.003, 0.01, 0.03), "binary": (0.0, 0.001, 0.003, 0.01)}
PRIMES = (11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 79, 83, 89, 97, 101, 103, 107, 113)


def _freq_set(rng: random.Random, k_max: int, m: int) -> tuple[int, ...]:
    """m distinct frequencies in 1..k_max: anywhere, adjacent, or crowded near k_max (the highest)."""
    kind = rng.choice(("any", "adjacent", "top", "low"))
    if kind == "adjacent":
        start = rng.randint(1, k_max - m + 1)
        return tuple(range(start, start + m))
    if kind == "top":
        return tuple(sorted(rng.sample(range(max(1, k_max - 2 * m + 1), k_max + 1), m)))
    if kind == "low":
        return tuple(sorted(rng.sample(range(1, min(k_max, 2 * m) + 1), m)))
    return tuple(sorted(rng.sample(range(1, k_max + 1), m)))


def random_spec(seed: int, primes: tuple[int, ...] = PRIMES, harsh: bool = False) -> PlantedSpec:
    """A random planted model for property tests: p, op, 1-6 frequencies (at most a quarter of the
    frequencies, so keys stay a minority), amplitudes 0.2-1, neuron counts, noise, flips and
    quantization, embedding waves of sizes e^-1..e (the MLP output, hence the logits, do not depend on
    them: ReLU is homogeneous and W_U is normalised) and 0-3 decoy embedding waves of such sizes.
    ``harsh`` adds the highest noise level and flip rate, which leave many models at chance accuracy:
    what is then planted is no longer the model's clock, and may not even be in its logits."""
    rng = random.Random(seed)
    p, op = rng.choice(primes), rng.choice(("add", "sub", "mul", "div"))
    n = p if op in ("add", "sub") else p - 1
    k_max = (n - 1) // 2
    m = rng.randint(1, max(1, min(6, k_max // 4)))
    quant = rng.choice(QUANTS)
    size = grid_size(quant)
    spec = PlantedSpec(p, _freq_set(rng, k_max, m), op, scale=rng.uniform(3.0, 20.0),
                       amplitudes=tuple(rng.uniform(0.2, 1.0) for _ in range(m)),
                       neurons=rng.choice((None, rng.randint(size // 2, size))),
                       noise=rng.choice(NOISE_LEVELS if harsh else NOISE_LEVELS[:-1]),
                       flips=rng.choice(FLIP_RATES[quant] if harsh else FLIP_RATES[quant][:3]),
                       quant=quant, seed=seed)
    others = [k for k in range(1, k_max + 1) if k not in spec.freqs]
    decoys = rng.sample(others, min(len(others), rng.choice((0, 0, 1, 2, 3))))
    top = max(spec.amplitudes or (1.0,))
    return replace(spec, amplitudes=tuple(a / top for a in spec.amplitudes or ()),
                   embed_scales=tuple(math.exp(rng.uniform(-1.0, 1.0)) for _ in range(m)),
                   decoys=tuple((k, math.exp(rng.uniform(-1.0, 1.0))) for k in sorted(decoys)))
