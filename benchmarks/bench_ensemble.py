"""Throughput of an ensemble (K seeds as one batched model) against the same K runs one after another.

Both sides train the same K configs (``--preset``, seeds 0..K-1) into temporary run directories with
the same thread count, in one process: first the K sequential runs (the anchor), then the ensemble.
Reported: wall seconds of each side and the ratio (sequential / ensemble). With N > 1 threads the
ensemble trains N groups side by side on one thread each, so its members are checked against the
first and last seeds trained alone on one thread (outside the timing); with one thread, against the
sequential runs.

    python benchmarks/bench_ensemble.py [--preset quick] [--seeds 8] [--threads 2] [--set train.steps=500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import tritlens.api as api
from tritlens.run import load_tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--set", action="append", default=[], help="extra setting (repeatable)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            api.train(args.preset, out=root / "alone" / f"seed-{seed}", progress=False,
                      overrides=[*args.set, f"train.seed={seed}"])
        sequential = time.perf_counter() - t0
        t0 = time.perf_counter()
        runs = api.train_ensemble(args.preset, out=root / "ensemble", seeds=f"0-{args.seeds - 1}",
                                  overrides=args.set, progress=False)
        ensemble = time.perf_counter() - t0
        alone = root / "alone"
        if torch.get_num_threads() > 1:  # members of side-by-side groups equal runs alone on one thread
            alone, threads = root / "alone-1", torch.get_num_threads()
            torch.set_num_threads(1)
            for seed in (0, args.seeds - 1):
                api.train(args.preset, out=alone / f"seed-{seed}", progress=False,
                          overrides=[*args.set, f"train.seed={seed}"])
            torch.set_num_threads(threads)
        checked = sorted(int(p.name.split("-")[1]) for p in alone.iterdir())
        same = all(all(torch.equal(a[k], b[k]) for k in a) for a, b in
                   ((load_tensors(alone / f"seed-{s}" / "model.safetensors"),
                     load_tensors(root / "ensemble" / f"seed-{s}" / "model.safetensors"))
                    for s in checked))
    steps = sum(r.final["step"] for r in runs)
    print(f"{args.preset} x {args.seeds} seeds ({', '.join(args.set) or 'preset settings'}), "
          f"{torch.get_num_threads()} threads, {steps} member-steps in all")
    print(f"sequential runs (anchor): {sequential:.1f} s   ensemble: {ensemble:.1f} s   "
          f"throughput ratio {sequential / ensemble:.2f}x")
    print(f"members {checked if len(checked) < args.seeds else 'all'} bit-identical to runs trained alone on "
          f"{'one thread' if alone.name == 'alone-1' else 'the same threads'}: {same}")


if __name__ == "__main__":
    main()
