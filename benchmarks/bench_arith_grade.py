"""Grading speed: ``tritlens grade`` vs the same weights exported to TransformerLens, same questions.

Both grade the same seeded questions (sorted by first operand, as ``tritlens grade`` does) by one
teacher-forced forward pass each, reading the argmax at the answer positions only, in inference mode,
in batches of 8,192: tritlens through its shared-prefix answer-position fast path, TransformerLens
through ``HookedTransformer.forward``. The two must find the same failures.
The full ``grade_run`` (question generation, classes, failure breakdown) is timed too.

    python benchmarks/bench_arith_grade.py RUN [--questions 1000000] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from tritlens.interp.arith.grade import BATCH, by_prefix, grade_run, predict, question_chunks
from tritlens.models.export_tl import to_hooked_transformer
from tritlens.run import load_run


@torch.inference_mode()
def tl_predict(model: torch.nn.Module, tokens: torch.Tensor, positions: tuple[int, ...]) -> torch.Tensor:
    pos = list(positions)
    return torch.cat([model(tokens[i:i + BATCH])[:, pos].argmax(-1) for i in range(0, len(tokens), BATCH)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = load_run(args.run)
    task, model = run.task, run.model.eval()
    tl = to_hooked_transformer(model, effective=True)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; run {args.run} ({task.describe()})")

    t0 = time.perf_counter()
    full = grade_run(run, questions=args.questions)
    t_full = time.perf_counter() - t0
    print(f"tritlens grade_run, end to end: {t_full:.1f} s, {full['failures']} failures, "
          f"{full['nines']} nines")

    prefix = task.digits + 1
    chunks = [by_prefix(c, prefix) for c in question_chunks(task, args.questions, seed=0, enriched=False)]
    tokens = torch.cat([c.tokens for c in chunks])
    targets = torch.cat([c.targets for c in chunks])
    times, fails = {}, {}
    ours = lambda: predict(model, tokens, task.answer_positions, prefix=prefix)  # noqa: E731
    theirs = lambda: tl_predict(tl, tokens, task.answer_positions)  # noqa: E731
    unshared = lambda: predict(model, tokens, task.answer_positions)  # noqa: E731
    for name, fn in (("tritlens", ours), ("TransformerLens", theirs), ("tritlens, no sharing", unshared),
                     ("tritlens again", ours), ("TransformerLens again", theirs)):
        t0 = time.perf_counter()
        predicted = fn()
        times[name] = time.perf_counter() - t0
        fails[name] = int((predicted != targets).any(-1).sum())
        print(f"{name:24s} forward + argmax over {len(tokens):,} questions: {times[name]:7.1f} s, "
              f"{fails[name]} failures")
    ours = min(times["tritlens"], times["tritlens again"])
    theirs = min(times["TransformerLens"], times["TransformerLens again"])
    assert len(set(fails.values())) == 1, f"the two disagree on the failures: {fails}"
    print(f"TransformerLens / tritlens (best of two each): {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
