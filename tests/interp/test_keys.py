"""The key-frequency rule on many planted clock models (property-style, deterministic seeds).

Each planted model (tritlens.interp.planted) has known key frequencies; ``random_spec(seed)`` varies p,
the operation, 1-6 frequencies (anywhere, adjacent, crowded at the top or the bottom), their amplitudes
(0.2-1), neuron subsets, Gaussian noise, float/ternary/binary weights, random weight flips, the sizes of
the embedding waves and decoy embedding waves. Over 1,000 seeds and every p up to 113
(benchmarks/bench_planted_keys.py) the rule misses once, on a model at 3% accuracy whose weight flips
erased a planted frequency from its logits; the logit-norm rule it replaces misses on 85.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from tritlens.build import build_model, build_task
from tritlens.interp.fourier import detect_key_frequencies
from tritlens.interp.grid import cyclic_view, group_logits
from tritlens.interp.logits import clock_amplitudes, logit_norms
from tritlens.interp.measures import key_frequencies
from tritlens.interp.planted import PlantedSpec, planted_model
from tritlens.interp.planted_random import random_spec
from tritlens.presets import preset_config
from tritlens.tasks.modular import ModularTask

SMALL_PRIMES = (11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61)
N_RANDOM = 80


def _logits(spec: PlantedSpec) -> tuple[torch.Tensor, torch.Tensor]:
    view = cyclic_view(ModularTask(p=spec.p, op=spec.op))
    return group_logits(planted_model(spec), view), view.label_index()


def test_random_planted_models() -> None:
    kinds: Counter[str] = Counter()
    for seed in range(N_RANDOM):
        spec = random_spec(seed, SMALL_PRIMES)
        keys, _, _ = key_frequencies(*_logits(spec))
        assert keys.freqs == sorted(spec.freqs), spec
        assert keys.confidence > 0.9, spec
        kinds.update([spec.quant, spec.op, f"m={len(spec.freqs)}", "noisy" if spec.noise else "clean",
                      "flipped" if spec.flips else "", "subset" if spec.neurons else ""])
    # the seeds cover every variant the generator knows
    assert all(kinds[k] >= 5 for k in ("none", "ternary", "binary", "add", "sub", "mul", "div", "noisy",
                                        "flipped", "subset", "m=1", "m=2", "m=3"))
    assert kinds["m=4"] + kinds["m=5"] + kinds["m=6"] >= 5


@pytest.mark.parametrize("spec", [
    PlantedSpec(113, (14, 35, 41, 42, 52), amplitudes=(1.0, 0.8, 0.9, 0.6, 0.2), noise=0.1, seed=1),
    PlantedSpec(113, (53, 54, 55, 56), quant="binary", amplitudes=(1.0, 0.3, 0.7, 0.5), seed=2),
    PlantedSpec(113, (1, 2, 3, 4, 5, 6), quant="ternary", noise=0.2, flips=0.003, seed=3),
    PlantedSpec(113, (17, 25, 32, 47), op="mul", neurons=36, noise=0.3, seed=4),
], ids=["paper-keys-weak-one", "binary-adjacent-top", "ternary-six-low", "mul-subset-noisy"])
def test_planted_models_at_p113(spec: PlantedSpec) -> None:
    keys, _, _ = key_frequencies(*_logits(spec))
    assert keys.freqs == sorted(spec.freqs) and keys.confidence > 0.9


def test_the_logit_norm_rule_drops_a_weak_frequency_the_clock_rule_keeps() -> None:
    # binary weights, three frequencies, the weakest at a quarter of the strongest: 100% accuracy
    spec = PlantedSpec(31, (3, 5, 9), scale=5.65, amplitudes=(0.24, 0.87, 1.0), neurons=16, noise=0.05,
                       quant="binary", seed=212)
    logits, s = _logits(spec)
    assert bool((logits.argmax(-1) == s).all())
    old = detect_key_frequencies(torch.tensor(logit_norms(logits, s)))
    new, _, _ = key_frequencies(logits, s)
    assert old.freqs == [5, 9] and new.freqs == [3, 5, 9] and new.confidence > 0.9
    # and, with ReLU harmonics, the logit norms can also add frequencies that are not keys
    spec = PlantedSpec(29, (1, 3), op="mul", scale=17.3, amplitudes=(0.3, 1.0))
    logits, s = _logits(spec)
    assert detect_key_frequencies(torch.tensor(logit_norms(logits, s))).freqs != [1, 3]
    assert key_frequencies(logits, s)[0].freqs == [1, 3]


def test_clock_amplitudes_are_in_logit_units() -> None:
    for n, keys in ((23, {2: 3.0, 5: 0.5}), (30, {4: 2.0, 15: 1.0})):  # 15 = n/2: the cos-only frequency
        s = (torch.arange(n).view(-1, 1) + torch.arange(n).view(1, -1)) % n
        c = torch.arange(n).view(1, 1, -1)
        logits = sum(a * torch.cos(2 * math.pi * k * (s.unsqueeze(-1) - c) / n) for k, a in keys.items())
        noise = torch.randn(n, n, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
        amplitude, scale = clock_amplitudes(logits + 0.01 * noise, s)
        for k, a in keys.items():
            assert float(amplitude[k - 1]) == pytest.approx(a, abs=2e-3)
        others = [i for i in range(n // 2) if i + 1 not in keys]
        assert float(amplitude[others].abs().max()) < 2e-3 and float(scale[others].max()) < 2e-3


def test_no_clock_no_key_frequencies() -> None:
    n = 31
    s = (torch.arange(n).view(-1, 1) + torch.arange(n).view(1, -1)) % n
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(n, n, n, generator=gen, dtype=torch.float64)
    keys, _, _ = key_frequencies(noise, s)
    assert keys.confidence < 0.5  # pure noise: nothing stands out of its own floor
    memorised = noise + 5.0 * torch.nn.functional.one_hot(s, n).double()  # a delta in s - c: every
    keys, amplitude, _ = key_frequencies(memorised, s)  # frequency gets the same clock amplitude
    assert float(amplitude.min()) > 0.1 and keys.confidence < 0.5
    for seed in range(3):  # untrained models: amplitudes as random as the floor says
        cfg = preset_config("quick", ["task.p=31", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
                                      f"train.seed={seed}"])
        task = build_task(cfg)
        view = cyclic_view(task)
        keys, _, _ = key_frequencies(group_logits(build_model(cfg, task), view), view.label_index())
        assert keys.confidence < 0.5


def test_quantized_planted_weights_and_twins() -> None:
    base = PlantedSpec(31, (3, 7, 11), op="sub")
    ternary = planted_model(PlantedSpec(**{**vars(base), "quant": "ternary"}))
    binary = planted_model(PlantedSpec(**{**vars(base), "quant": "binary"}))
    for model, allowed in ((ternary, {-1.0, 0.0, 1.0}), (binary, {-1.0, 1.0})):
        for name, w in model.named_parameters():
            if ".attn." in name or ".mlp." in name:
                assert set(w.unique().tolist()) <= allowed, name
    view = cyclic_view(ModularTask(p=31, op="sub"))
    # the binary model is the ternary one on twinned vectors: the same function
    assert torch.allclose(group_logits(binary, view), group_logits(ternary, view), atol=1e-3)
    assert bool((group_logits(ternary, view).argmax(-1) == view.label_index()).all())
