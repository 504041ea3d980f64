"""Wall time for a preset to reach a test accuracy (default: nanda2023 to 99%).

Trains a fresh run with ``train.stop_at_test_acc`` into a temporary directory (or reads an existing
run with ``--run``) and reports the first logged step at or above the target with its cumulative
training wall time (evaluation included). The anchor is TransformerLens 3.x's full-batch nanda2023
step, timed in the same process at the same thread count before training (``--anchor-steps``), or
given as ``--tl-ms``: TransformerLens would need the same number of steps at that step time.

    python benchmarks/bench_grokking.py [--preset nanda2023] [--target 0.99] [--threads 2]
                                        [--anchor-steps 10 | --tl-ms 228] [--run DIR] [--set K=V ...]
                                        [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import tritlens.api as api
from tritlens.run import RunDir


def first_reaching(rows: list[dict], target: float) -> dict | None:
    return next((r for r in rows if r["test_acc"] >= target), None)


def anchor_ms(steps: int, device: str = "cpu") -> float:
    """Median ms of TransformerLens's full-batch nanda2023 step (as bench_train_step.py builds it)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_train_step import transformer_lens_step

    step = transformer_lens_step(device)
    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nanda2023")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--run", help="read this finished run instead of training")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--set", action="append", default=[], help="extra setting (repeatable)")
    parser.add_argument("--anchor-steps", type=int, default=0, help="time this many TransformerLens steps")
    parser.add_argument("--tl-ms", type=float, help="TransformerLens ms/step measured elsewhere")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="train (and time the anchor) on this device")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if args.device == "cuda":
        args.set = ["train.device=cuda", *args.set]
    tl_ms = args.tl_ms
    if args.anchor_steps:
        tl_ms = anchor_ms(args.anchor_steps, args.device)
        where = f"{torch.get_num_threads()} threads" if args.device == "cpu" else torch.cuda.get_device_name()
        print(f"TransformerLens nanda2023 step: {tl_ms:.1f} ms (median of {args.anchor_steps}, {where})")
    if args.run:
        rows = RunDir(Path(args.run)).read_metrics()
        source = args.run
    else:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run = api.train(args.preset, out=Path(tmp) / "run", progress=False,
                            overrides=[f"train.stop_at_test_acc={args.target}", "train.checkpoint_every=0",
                                       *args.set])
            rows = run.metrics
            elapsed = time.perf_counter() - t0
            print(f"trained in {elapsed:.1f} s wall clock, {torch.get_num_threads()} threads")
        source = f"fresh {args.preset} run" + (f" ({', '.join(args.set)})" if args.set else "")
    hit = first_reaching(rows, args.target)
    if hit is None:
        print(f"{source}: never reached test accuracy {args.target:.0%} "
              f"(best {max(r['test_acc'] for r in rows):.2%} by step {rows[-1]['step']})")
        return
    print(f"{source}: test accuracy {hit['test_acc']:.2%} at step {hit['step']} after "
          f"{hit['wall_time']:.1f} s of training "
          f"({1000 * hit['wall_time'] / hit['step']:.1f} ms/step including evaluation)")
    if tl_ms:
        tl = hit["step"] * tl_ms / 1000
        print(f"TransformerLens at {tl_ms:.0f} ms/step would need {tl:.0f} s for the same steps "
              f"({tl / hit['wall_time']:.1f}x)")


if __name__ == "__main__":
    main()
