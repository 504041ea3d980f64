"""Grading speed: ``tritlens grade`` vs the same weights exported to TransformerLens, same questions.

All grade the same seeded questions (sorted by first operand, as ``tritlens grade`` does) by one
teacher-forced forward pass each, reading the argmax at the answer positions only, in inference mode,
at two batch sizes: tritlens through its shared-prefix answer-position fast path, in float32 and with
``--screen bf16`` (bfloat16 first pass, close calls in float32), TransformerLens through
``HookedTransformer.forward`` in float32 and, for comparison, under bfloat16 autocast (which, unlike
the screen, may change verdicts) and, with several threads, with its batches side by side on one
thread each as ``tritlens grade`` runs them. All must find the same failures. Wall and process CPU time are
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
from tritlens.interp.arith.screen import Screen
from tritlens.models.export_tl import to_hooked_transformer
from tritlens.run import load_run
from tritlens.threads import side_by_side

BATCHES = (2048, 8192)


def tl_predict(model: torch.nn.Module, tokens: torch.Tensor, positions: tuple[int, ...],
               batch: int, autocast: bool = False, workers: int = 1) -> torch.Tensor:
    pos = list(positions)

    @torch.inference_mode()
    def one(index: int) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return model(tokens[index * batch:(index + 1) * batch])[:, pos].argmax(-1)

    return torch.cat(side_by_side(one, -(-len(tokens) // batch), workers))


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
    screens: dict[int, Screen] = {}
    workers = torch.get_num_threads()  # as `tritlens grade` does: batches side by side, a thread each
    contenders = {
        "tritlens": lambda b: predict(model, tokens, pos, b, prefix, workers=workers),
        "tritlens screen": lambda b: predict(model, tokens, pos, b, prefix, screens.setdefault(b, Screen()),
                                             workers),
        "TransformerLens": lambda b: tl_predict(tl, tokens, pos, b),
        "TL bf16 autocast": lambda b: tl_predict(tl, tokens, pos, b, autocast=True),
    }
    if workers > 1:  # what the same side-by-side batching would do for TransformerLens
        contenders["TL side by side"] = lambda b: tl_predict(tl, tokens, pos, b, workers=workers)
    for batch in args.batches:
        for name, fn in contenders.items():
            wall, cpu[name, batch], predicted = timed(lambda f=fn, b=batch: f(b))
            fails = int((predicted != targets).any(-1).sum())
            print(f"{name:16s} batch {batch:5d}: {len(tokens):,} questions, wall {wall:7.1f} s, CPU "
                  f"{cpu[name, batch]:6.1f} s ({1e6 * cpu[name, batch] / len(tokens):5.0f} CPU-s per 1M), "
                  f"{fails} failures")
        s = screens[batch]
        print(f"  screen at batch {batch}: margin {s.margin:.3g}, largest rounding {s.max_error:.3g}, "
              f"{s.rechecked} recomputed, {s.checked} spot-checked")
    best = {n: min(cpu[n, b] for b in args.batches) for n in contenders}
    for name in ("tritlens", "tritlens screen"):
        for anchor in [a for a in contenders if not a.startswith("tritlens")]:
            print(f"{anchor} / {name} CPU time: " + ", ".join(
                f"batch {b} {cpu[anchor, b] / cpu[name, b]:.2f}x" for b in args.batches)
                + f"; each at its best batch {best[anchor] / best[name]:.2f}x")

if __name__ == "__main__":
    main()
