"""Time per training step of arithmetic presets (the trainer's own step, fresh batches), with 1 thread.

On a shared machine the wall time per step is noise; the process CPU time per step on one thread is
what a quiet machine's wall time per step would be (up to cache effects), so both are printed, and
the preset's steps x CPU time per step estimates its quiet training time on one core.

    python benchmarks/bench_arith_step_time.py add-d5 mix-d5 [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import torch

from tritlens.presets import preset_config
from tritlens.train.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'preset':22s} {'wall ms/step':>13s} {'CPU ms/step':>12s} {'steps':>7s} {'steps x CPU':>12s}")
    for name in args.presets:
        cfg = preset_config(name)
        trainer = Trainer(cfg, None, progress=False)
        for step in range(3):  # warm-up
            trainer.step(step)
        wall, cpu = time.perf_counter(), time.process_time()
        for step in range(3, 3 + args.steps):
            trainer.step(step)
        wall = (time.perf_counter() - wall) / args.steps
        cpu = (time.process_time() - cpu) / args.steps
        total = cfg.train.steps * cpu
        print(f"{name:22s} {1e3 * wall:13.1f} {1e3 * cpu:12.1f} {cfg.train.steps:7d} {total / 60:10.1f} min")


if __name__ == "__main__":
    main()
