"""Grading speed: ``tritlens grade`` vs the same weights exported to TransformerLens, same questions.

Both grade the same seeded questions (sorted by first operand, as ``tritlens grade`` does) by one
teacher-forced forward pass each, reading the argmax at the answer positions only, in inference mode,
at two batch sizes: tritlens through its shared-prefix answer-position fast path, TransformerLens
through ``HookedTransformer.forward``. Both must find the same failures. Wall and process CPU time are
printed: on a shared machine the CPU time is the better stand-in for a quiet machine's wall time.

    python benchmarks/bench_arith_grade.py RUN [--questions 200000] [--threads 1] [--batches 2048 8192]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import torch

from tritlens.interp.arith.grade import by_prefix, predict, question_chunks
from tritlens.models.export_tl import to_hooked_transformer
from tritlens.run import load_run

BATCHES = (2048, 8192)


@torch.inference_mode()
def tl_predict(model: torch.nn.Module, tokens: torch.Tensor, positions: tuple[int, ...],
               batch: int) -> torch.Tensor:
    pos = list(positions)
    return torch.cat([model(tokens[i:i + batch])[:, pos].argmax(-1) for i in range(0, len(tokens), batch)])


def timed(fn: Callable[[], torch.Tensor]) -> tuple[float, float, torch.Tensor]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--questions", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = load_run(args.run)
    task, model = run.task, run.model.eval()
    tl = to_hooked_transformer(model, effective=True)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; run {args.run} ({task.describe()})")
    prefix = task.digits + 1
    chunks = [by_prefix(c, prefix) for c in question_chunks(task, args.questions, seed=0, enriched=False)]
    tokens = torch.cat([c.tokens for c in chunks])
    targets = torch.cat([c.targets for c in chunks])
    pos = task.answer_positions
    cpu: dict[tuple[str, int], float] = {}
    for batch in args.batches:
        for name, fn in (("tritlens", lambda b=batch: predict(model, tokens, pos, b, prefix)),
                         ("TransformerLens", lambda b=batch: tl_predict(tl, tokens, pos, b))):
            wall, cpu[name, batch], predicted = timed(fn)
            fails = int((predicted != targets).any(-1).sum())
            print(f"{name:16s} batch {batch:5d}: {len(tokens):,} questions, wall {wall:7.1f} s, CPU "
                  f"{cpu[name, batch]:6.1f} s ({1e6 * cpu[name, batch] / len(tokens):5.0f} CPU-s per 1M), "
                  f"{fails} failures")
    for batch in args.batches:
        print(f"TransformerLens / tritlens CPU time at batch {batch}: "
              f"{cpu['TransformerLens', batch] / cpu['tritlens', batch]:.2f}x")
    best = {n: min(cpu[n, b] for b in args.batches) for n in ("tritlens", "TransformerLens")}
    print(f"each at its best batch: {best['TransformerLens'] / best['tritlens']:.2f}x")


if __name__ == "__main__":
    main()
