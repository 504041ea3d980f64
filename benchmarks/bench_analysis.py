"""Benchmark: analysis of a p = 113 run with 50 checkpoints (target: analyse + report <= 30 s, < 2 GB).

    python benchmarks/bench_analysis.py [RUN_DIR]

With RUN_DIR of an existing run, analyses it; with a RUN_DIR that does not exist yet (or none: a
temporary folder), first trains nanda2023 shortened to 2,500 steps with a checkpoint every 50 steps,
in a subprocess so that training does not count towards the peak memory (``--steps 100 --every 2``
gives the same 50 checkpoints in a fraction of the time; the analysis cost does not depend on how well
the model is trained). Prints the time of
analyze_run, write_analysis and figure_data, and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = ("import tritlens.api as api, sys; api.train('nanda2023', out=sys.argv[1], progress=False, "
         "overrides=[f'train.steps={sys.argv[2]}', f'train.checkpoint_every={sys.argv[3]}', "
         "f'train.eval_every={sys.argv[3]}'])")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def ensure_run(run_dir: Path, steps: int, every: int) -> None:
    if (run_dir / "model.safetensors").exists():
        return
    print(f"training nanda2023 ({steps} steps, a checkpoint every {every}) into {run_dir} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", TRAIN, str(run_dir), str(steps), str(every)], check=True)
    print(f"  trained in {time.perf_counter() - t0:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", help="run directory to analyse (trained first if missing)")
    parser.add_argument("--steps", type=int, default=2500, help="training steps when training (2500)")
    parser.add_argument("--every", type=int, default=50, help="steps between checkpoints (50)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2; use 1 on a busy machine)")
    args = parser.parse_args()
    tmp = None if args.run_dir else tempfile.TemporaryDirectory(prefix="tritlens-bench-")
    run_dir = Path(args.run_dir or Path(tmp.name) / "nanda2023-short")
    ensure_run(run_dir, args.steps, args.every)

    import torch

    import tritlens.api as api
    from tritlens.interp import analyze_run, figure_data, summary_rows, write_analysis

    torch.set_num_threads(args.threads)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    run = api.load_run(run_dir)
    t1 = time.perf_counter()
    analysis = analyze_run(run)
    t2 = time.perf_counter()
    write_analysis(run_dir, analysis)
    t3 = time.perf_counter()
    figures = figure_data(run, analysis)
    t4 = time.perf_counter()
    print(f"run: {run_dir} ({len(analysis['progress']['steps'])} checkpoints, p={analysis['run']['p']}, "
          f"{args.threads} torch threads, load average {os.getloadavg()[0]:.1f})")
    for label, value in summary_rows(analysis):
        print(f"  {label}: {value}")
    print(f"load_run        {t1 - t0:6.2f} s")
    print(f"analyze_run     {t2 - t1:6.2f} s")
    print(f"write_analysis  {t3 - t2:6.2f} s")
    print(f"figure_data     {t4 - t3:6.2f} s  ({sum(a.nbytes for a in figures.values()) / 1e6:.1f} MB)")
    print(f"total           {t4 - t0:6.2f} s")
    print(f"peak RSS        {peak_rss_mb():6.0f} MB (after imports: {base:.0f} MB)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
