"""The multiplication contrast of Bai et al. 2025: standard fine-tuning vs the running-sum auxiliary loss.

    python benchmarks/bench_mul_contrast.py RUN_SFT RUN_AUX [--questions 10000] [--threads 1] [--step N]

For each run (trained with ``--preset bai2025-sft`` / ``bai2025-aux``): exact match and per-digit
accuracy on held-out 4x4 questions (a seeded grading stream no training batch came from), and the
mean absolute error of linear probes for the running sum c_hat at each answer position, read from
``resid_mid`` and ``resid_post`` of every layer (held-out probe examples), next to the error of
always guessing the mean.
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (multiplication)")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--probe-examples", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--step", type=int, help="compare the runs at this checkpoint (runs still training)")
    args = parser.parse_args()

    import torch

    from tritlens.interp.probes import probe_run
    from tritlens.run import load_run

    torch.set_num_threads(args.threads)
    for path in args.runs:
        run = load_run(path, step=args.step)
        task = run.task
        data = task.grading_set(args.questions, seed=12345)
        with torch.no_grad():
            pred = torch.cat([run.model.answer_logits(data.tokens[i:i + 1024], task.answer_positions)
                              .argmax(-1) for i in range(0, len(data), 1024)])
        right = pred == data.targets
        digits = right[:, 1:].float().mean(0)  # the sign is always '+'
        exact = right.all(-1).float().mean()
        print(f"{path} ({run.config.preset}, step {run.step}): exact match {exact:.2%} "
              f"on {len(data)} held-out questions; per-digit accuracy {digits.mean():.2%} "
              f"(by answer digit, least significant first: {', '.join(f'{d:.0%}' for d in digits)})")
        for hook in ("resid_mid", "resid_post"):
            probe = probe_run(run, "running_sum", hook, n=args.probe_examples)
            for row, values in zip(probe["rows"], probe["test"], strict=True):
                chance = probe["chance"][0].mean()
                print(f"  c_hat probe MAE at {hook} {row}: mean {values.mean():.2f} (guessing the mean: "
                      f"{chance:.2f}); by answer digit {', '.join(f'{v:.1f}' for v in values)}")


if __name__ == "__main__":
    main()
