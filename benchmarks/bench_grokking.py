"""Wall time for a preset to reach a test accuracy (default: nanda2023 to 99%).

Trains with ``train.stop_at_test_acc`` into a temporary directory (or reads an existing run with
``--run``) and reports the first logged step at or above the target with its cumulative training
wall time, plus the anchor: the same number of steps at TransformerLens's measured step time
(``--tl-ms``, from bench_train_step.py in the same session).

    python benchmarks/bench_grokking.py [--preset nanda2023] [--target 0.99] [--run DIR] [--tl-ms 228]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import tritlens.api as api
from tritlens.train.rundir import RunDir


def first_reaching(rows: list[dict], target: float) -> dict | None:
    return next((r for r in rows if r["test_acc"] >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nanda2023")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--run", help="read this finished run instead of training")
    parser.add_argument("--tl-ms", type=float, help="TransformerLens ms/step measured in this session")
    args = parser.parse_args()
    if args.run:
        rows = RunDir(Path(args.run)).read_metrics()
        source = args.run
    else:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run = api.train(args.preset, out=Path(tmp) / "run", progress=False,
                            overrides=[f"train.stop_at_test_acc={args.target}", "train.checkpoint_every=0"])
            rows = run.metrics
            elapsed = time.perf_counter() - t0
            print(f"trained in {elapsed:.1f} s wall clock, {torch.get_num_threads()} threads")
        source = f"fresh {args.preset} run"
    hit = first_reaching(rows, args.target)
    if hit is None:
        print(f"{source}: never reached test accuracy {args.target:.0%} "
              f"(best {max(r['test_acc'] for r in rows):.2%} by step {rows[-1]['step']})")
        return
    print(f"{source}: test accuracy {hit['test_acc']:.2%} at step {hit['step']} after "
          f"{hit['wall_time']:.1f} s of training "
          f"({1000 * hit['wall_time'] / hit['step']:.1f} ms/step including evaluation)")
    if args.tl_ms:
        tl = hit["step"] * args.tl_ms / 1000
        print(f"TransformerLens at {args.tl_ms:.0f} ms/step would need {tl:.0f} s for the same steps "
              f"({tl / hit['wall_time']:.1f}x)")


if __name__ == "__main__":
    main()
