"""Benchmark: attribution and patching over every layer x position of a run (targets: attribute +
activation patching <= 20 s for a 2-layer model on 1,000 questions; attribution patching >= 10x
faster than activation patching on the same grid).

    python benchmarks/bench_circuits.py RUN [--examples 1000] [--threads 2] [--rounds 3]

Times, in one process and alternating rounds, the median of: ``attribute_run`` (DLA, direct effects
and NMAE), activation patching and attribution patching over the same sites (resid_pre, attn_out,
mlp_out per layer x position and z per layer x head), and the two again on the resid_pre grid alone.
Wall and process CPU times are both printed: on a shared machine the CPU time of a one-thread run
is the better stand-in for a quiet machine's wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory of a transformer")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import torch

    from tritlens.interp.attribution import attribute_run
    from tritlens.interp.interventions import activation_patching, attribution_patching
    from tritlens.interp.patching import GRIDS, grid, make_metric, make_pairs
    from tritlens.interp.runs import sample
    from tritlens.run import load_run

    torch.set_num_threads(args.threads)
    run = load_run(args.run)
    model, task = run.model, run.task
    pairs = make_pairs(task, sample(run, args.examples, "test"), "resample")
    n_ctx = pairs.clean.tokens.shape[1]
    kinds = [k for k in GRIDS if k != "mlp_out" or model.cfg.d_mlp]
    every = [s for k in kinds for s in grid(model, k, n_ctx)[0]]
    resid = grid(model, "resid_pre", n_ctx)[0]
    metric = make_metric("logit_diff", task.answer_positions, pairs.clean, pairs.corrupted)
    clean, corrupted = pairs.clean.tokens, pairs.corrupted.tokens

    def timed(fn) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - t0, time.process_time() - c0

    jobs = {"attribute (DLA + direct effects)": lambda: attribute_run(run, args.examples)}
    for label, sites in (("all sites", every), ("resid_pre", resid)):
        jobs[f"activation patching, {label}"] = \
            lambda s=sites: activation_patching(model, corrupted, clean, s, metric)
        jobs[f"attribution patching, {label}"] = \
            lambda s=sites: attribution_patching(model, corrupted, clean, s, metric)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(args.rounds):
        for name, fn in jobs.items():
            times[name].append(timed(fn))
    med = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    cfg = model.cfg
    print(f"{args.run}: {cfg.n_layers} layers, d_model {cfg.d_model}, n_ctx {n_ctx}, {args.examples} "
          f"questions, {len(every)} sites ({len(resid)} resid_pre), {args.threads} threads, median of "
          f"{args.rounds}")
    print(f"  {'':<36} {'wall':>8}   {'CPU':>8}")
    for name, t in med.items():
        print(f"  {name:<36} {t:8.3f} s {cpu[name]:8.3f} s")
    for label, times_of in (("wall", med), ("CPU", cpu)):
        total = times_of["attribute (DLA + direct effects)"] + times_of["activation patching, resid_pre"]
        print(f"  attribute + activation patching over layers x positions: {total:.2f} s {label} "
              "(target 20 s)")
    for grid_name in ("all sites", "resid_pre"):
        ratio = med[f"activation patching, {grid_name}"] / med[f"attribution patching, {grid_name}"]
        ratio_cpu = cpu[f"activation patching, {grid_name}"] / cpu[f"attribution patching, {grid_name}"]
        print(f"  attribution patching is {ratio:.1f}x (wall) / {ratio_cpu:.1f}x (CPU) faster than "
              f"activation patching ({grid_name}; target 10x)")


if __name__ == "__main__":
    main()
