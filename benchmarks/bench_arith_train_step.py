"""Training step (forward, backward, AdamW) on n-digit addition: tritlens vs TransformerLens.

For each preset shape (``quirke-add-d5``'s exact shape and the CPU preset ``add-d5``) both models get
the same configuration, the same batch of fresh questions and the loss in float64 on the answer
positions. Rounds alternate between the contenders so machine noise hits both alike; the figure is
the median step time (wall, and process CPU: the better stand-in for a quiet machine with one
thread), and the ratio is the anchor (TransformerLens) over tritlens.

    python benchmarks/bench_arith_train_step.py [--presets quirke-add-d5 add-d5] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import torch

from tritlens.build import build_model, build_task
from tritlens.models.export_tl import to_hooked_transformer
from tritlens.presets import preset_config
from tritlens.train.trainer import loss_and_accuracy, make_optimizer


def contenders(preset: str) -> dict[str, Callable[[], None]]:
    cfg = preset_config(preset)
    task = build_task(cfg)
    batch = task.sample(0, cfg.train.batch_size)
    pos = list(task.answer_positions)
    ours = build_model(cfg, task)
    theirs = to_hooked_transformer(ours)  # same weights, TransformerLens's own forward
    theirs.train()

    def stepper(model: torch.nn.Module, logits_of: Callable[[], torch.Tensor]) -> Callable[[], None]:
        opt = make_optimizer(model, cfg)

        def step() -> None:
            loss, _ = loss_and_accuracy(logits_of(), batch.targets, torch.float64)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step

    plain = build_model(cfg, task)
    return {
        "TransformerLens (anchor)": stepper(theirs, lambda: theirs(batch.tokens)[:, pos]),
        "tritlens plain forward": stepper(plain, lambda: plain(batch.tokens)[:, pos]),
        "tritlens answer_logits": stepper(ours, lambda: ours.answer_logits(batch.tokens, tuple(pos))),
    }


def measure(steps: dict[str, Callable[[], None]], rounds: int,
            per_round: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and process CPU milliseconds per step of each contender."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    cpus: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        for _ in range(2):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(per_round):
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                times[name].append(time.perf_counter() - t0)
                cpus[name].append(time.process_time() - c0)
    return ({name: statistics.median(ts) * 1e3 for name, ts in times.items()},
            {name: statistics.median(ts) * 1e3 for name, ts in cpus.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["quirke-add-d5", "add-d5"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    results = {}
    for preset in args.presets:
        cfg = preset_config(preset)
        median, cpu = measure(contenders(preset), args.rounds, args.steps)
        anchor, anchor_cpu = median["TransformerLens (anchor)"], cpu["TransformerLens (anchor)"]
        m = cfg.model
        print(f"\n{preset}: {m.n_layers}L{m.n_heads}H d_model {m.d_model} d_mlp {m.d_mlp}, "
              f"batch {cfg.train.batch_size}")
        print(f"{'contender':28s} {'ms/step':>9s} {'TL / this':>10s} {'CPU ms':>9s} {'TL / this':>10s}")
        for name, ms in median.items():
            print(f"{name:28s} {ms:9.1f} {anchor / ms:9.2f}x {cpu[name]:9.1f} {anchor_cpu / cpu[name]:9.2f}x")
        results[preset] = {"median_ms": median, "median_cpu_ms": cpu,
                           "speedup_vs_tl": anchor / median["tritlens answer_logits"],
                           "cpu_speedup_vs_tl": anchor_cpu / cpu["tritlens answer_logits"]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
