"""Sweep throughput: 16 small trials on the local pool against the sum of their single-run times / cores.

    python benchmarks/bench_sweep.py [--steps 600] [--out RESULTS.json]

Both sides are measured in this one script run. First every trial is trained alone, one after the
other, in this process at one thread (after one warm-up run that is not counted); then the same 16
trials run as one sweep on the local pool (one worker per core, one thread each), timed from the call
to its return, so worker start-up (a fresh interpreter importing torch) counts against the sweep.
The issue's target: sweep wall time <= 1.2 x (sum of single-run times / cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from tritlens.sweep import load_spec, run_sweep
from tritlens.sweep.pool import cores
from tritlens.train.session import train_config


def spec(steps: int) -> dict:
    return {"name": "bench", "presets": ["quick"], "seeds": "0-7",
            "fixed": {"train.steps": steps, "train.eval_every": 50, "train.checkpoint_every": 200},
            "grid": {"train.weight_decay": [0.5, 1.0]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--out", help="write the numbers as JSON here too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checked = load_spec(spec(args.steps))
    n = cores()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_config(checked.trials[0].config, root / "warm-up", progress=False)
        single = []
        for trial in checked.trials:
            t0 = time.perf_counter()
            train_config(trial.config, root / "single" / trial.name, progress=False)
            single.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        summary = run_sweep(checked, root / "sweep", workers=n, threads=1)
        wall = time.perf_counter() - t0
    assert summary.complete, summary.counts
    anchor = sum(single) / n
    result = {"trials": len(single), "steps": args.steps, "cores": n, "sum_single_s": round(sum(single), 2),
              "mean_single_s": round(sum(single) / len(single), 3), "anchor_s": round(anchor, 2),
              "sweep_wall_s": round(wall, 2), "ratio": round(wall / anchor, 3), "target": 1.2,
              "torch": torch.__version__, "python": platform.python_version()}
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
