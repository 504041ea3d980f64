"""Benchmark: key-frequency rules on many random planted clock models (tritlens.interp.planted).

    python benchmarks/bench_planted_keys.py [--seeds 1000] [--start 0]

For each seed, ``random_spec(seed)`` draws p (11..113), the operation, 1-6 planted frequencies
(anywhere, adjacent, crowded at the top or bottom), their amplitudes (0.2-1), neuron subsets, Gaussian
noise, float/ternary/binary weights, random weight flips, embedding waves of random sizes and decoy
embedding waves (``--harsh``: also noise and flip rates strong enough to break many models).
Counts the models where each rule's key frequencies differ from the planted ones: the clock-amplitude
rule (the analysis' key frequencies), the logit-norm rule it replaced, and the embedding split. Misses
are split by the model's accuracy on all pairs (a planted model that flips and noise have broken is no
longer a clock model). Prints the lowest confidences and the time per model.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000, help="number of random planted models (1000)")
    parser.add_argument("--start", type=int, default=0, help="first seed (0)")
    parser.add_argument("--harsh", action="store_true", help="also the highest noise and flip rates")
    args = parser.parse_args()

    import torch

    from tritlens.interp.fourier import detect_key_frequencies, embed_norms
    from tritlens.interp.grid import cyclic_view, group_logits
    from tritlens.interp.logits import logit_norms
    from tritlens.interp.measures import effective, group_embedding, key_frequencies
    from tritlens.interp.planted import planted_model
    from tritlens.interp.planted_random import random_spec
    from tritlens.tasks.modular import ModularTask

    torch.set_num_threads(1)
    misses: Counter[str] = Counter()
    working, confidences, missed = 0, [], []
    t0 = time.perf_counter()
    for seed in range(args.start, args.start + args.seeds):
        spec = random_spec(seed, harsh=args.harsh)
        model = planted_model(spec)
        view = cyclic_view(ModularTask(p=spec.p, op=spec.op))
        logits, s = group_logits(model, view), view.label_index()
        accuracy = float((logits.argmax(-1) == s).double().mean())
        works = accuracy >= 0.5
        working += works
        truth = sorted(spec.freqs)
        keys, _, _ = key_frequencies(logits, s)
        norm = detect_key_frequencies(torch.tensor(logit_norms(logits, s))).freqs
        embed = detect_key_frequencies(embed_norms(group_embedding(effective(model), view))).freqs
        group = "working" if works else "broken"
        for rule, found in (("clock", keys.freqs), ("logit-norm", norm), ("embedding", embed)):
            misses[f"{rule} {group}"] += found != truth
        confidences.append((keys.confidence, seed, accuracy))
        if keys.freqs != truth:
            missed.append(f"seed {seed}: p={spec.p} {spec.op} {spec.quant} flips={spec.flips} "
                          f"noise={spec.noise} acc={accuracy:.2f} planted {truth} found {keys.freqs} "
                          f"conf {keys.confidence:.2f}")
    elapsed = time.perf_counter() - t0
    n = args.seeds
    print(f"{n} planted models ({working} with accuracy >= 50%, {n - working} broken), "
          f"{elapsed / n * 1000:.0f} ms per model on one thread")
    for rule in ("clock", "logit-norm", "embedding"):
        print(f"  {rule:>10} rule misses: {misses[f'{rule} working']} of {working} working, "
              f"{misses[f'{rule} broken']} of {n - working} broken")
    confidences.sort()
    print("  lowest confidence (conf, seed, accuracy):",
          ", ".join(f"({c:.2f}, {s}, {a:.2f})" for c, s, a in confidences[:5]))
    good = [c for c in confidences if c[2] >= 0.5]
    if good:
        print(f"  lowest confidence on a working model: {good[0][0]:.3f} (seed {good[0][1]})")
    for line in missed:
        print("  miss:", line)


if __name__ == "__main__":
    main()
