"""Time of the full circuit search (``tritlens circuit``) on an arithmetic run, with the threads given.

Wall and process CPU time are printed: on a shared machine, the CPU time of a one-thread run is the
better stand-in for a quiet machine's wall time.

    python benchmarks/bench_arith_circuit.py RUN [--threads 2] [--per-class 100]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

import tritlens.api as tl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = tl.load_run(args.run)
    t0, c0 = time.perf_counter(), time.process_time()
    found = tl.circuit(run, per_class=args.per_class, write=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; run {args.run}")
    useful = sum(p["useful"] for p in found["positions"])
    tagged = sum(1 for n in found["nodes"] if n["algo"])
    score = found["hypothesis"]["score"] if found["hypothesis"] else "none"
    print(f"circuit search: {wall:.1f} s wall, {cpu:.1f} s process CPU ({found['questions']['count']} "
          f"questions, {useful} useful positions, {len(found['nodes'])} useful nodes, {tagged} with "
          f"sub-task tags); hypothesis {score}")


if __name__ == "__main__":
    main()
