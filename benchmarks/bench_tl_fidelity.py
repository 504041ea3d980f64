"""Ours against TransformerLens on nanda2023: the same weights and data, the loss curves, the grokking step.

Both models start from the same weights (checked here: with ``model.init=tl`` ours equals
``transformer_lens.HookedTransformer(cfg)`` for the seed) and train on the same split (the grokking
demo's, 3,830 pairs) by the demo's recipe: full batch, AdamW (lr 1e-3, weight decay 1, betas 0.9/0.98),
biases frozen, float64 cross-entropy at the last position. TransformerLens runs the demo's loop
(full forward of all positions); ours runs the tritlens trainer (fast path). A row is logged after
every ``--log-every`` updates, with train and test loss and accuracy evaluated after that update.

    python benchmarks/bench_tl_fidelity.py --engine both --steps 1000 --log-every 10 --out curves.jsonl
    python benchmarks/bench_tl_fidelity.py --engine tl --steps 25000 --log-every 100 --dense-until 1000 \
        --stop-at-acc 0.99 --out tl.jsonl   # rows every 10 steps up to 1000, then every 100
    python benchmarks/bench_tl_fidelity.py --compare curves.jsonl   # summarise a finished file
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from tritlens.api import make_config
from tritlens.train.trainer import Trainer

Row = dict[str, Any]
DENSE = 10  # steps between rows up to --dense-until


def our_trainer(seed: int, steps: int, log_every: int, stop: float | None) -> Trainer:
    overrides = [f"train.seed={seed}", f"train.steps={steps}", f"train.eval_every={log_every}",
                 "train.checkpoint_every=0"]
    if stop is not None:
        overrides.append(f"train.stop_at_test_acc={stop}")
    return Trainer(make_config("nanda2023", overrides), None, progress=False)


def tl_model(trainer: Trainer, seed: int) -> Any:
    """TransformerLens's HookedTransformer for nanda2023, initialised by TransformerLens itself."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    m, task = trainer.cfg.model, trainer.task
    cfg = HookedTransformerConfig(n_layers=m.n_layers, n_heads=m.n_heads, d_model=m.d_model, d_head=m.d_head,
                                  d_mlp=m.d_mlp, act_fn=m.act, normalization_type=None, d_vocab=task.d_vocab,
                                  d_vocab_out=task.d_vocab_out, n_ctx=task.n_ctx, init_weights=True,
                                  device="cpu", seed=seed)
    model = HookedTransformer(cfg)
    for name, param in model.named_parameters():
        if "b_" in name:
            param.requires_grad = False
    return model


def check_same_weights(ours: torch.nn.Module, tl: torch.nn.Module) -> None:
    theirs = tl.state_dict()
    for name, value in ours.state_dict().items():
        if not torch.equal(value, theirs[name]):
            raise SystemExit(f"step-0 weights differ at {name}: max |diff| "
                             f"{(value - theirs[name]).abs().max():.3g}")
    print(f"step-0 weights equal ({len(ours.state_dict())} tensors)")


def _loss_acc(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    logp = logits[:, -1].to(torch.float64).log_softmax(-1)
    loss = -logp.gather(-1, targets[:, :1]).mean()
    return float(loss), float((logits[:, -1].argmax(-1) == targets[:, 0]).double().mean())


def train_tl(trainer: Trainer, seed: int, steps: int, log_every: int, stop: float | None,
             dense_until: int = 0) -> list[Row]:
    """The grokking demo's loop, logging after every ``log_every`` updates (every 10 up to
    ``dense_until``); logging only evaluates, so it does not change the trajectory."""
    model = tl_model(trainer, seed)
    check_same_weights(trainer.model, model)
    t = trainer.cfg.train
    opt = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay, betas=t.betas)
    train, test = trainer.train_data, trainer.test_data
    rows: list[Row] = []
    t0 = time.perf_counter()

    def log(step: int) -> Row:
        with torch.inference_mode():
            train_loss, train_acc = _loss_acc(model(train.tokens), train.targets)
            test_loss, test_acc = _loss_acc(model(test.tokens), test.targets)
        row = {"engine": "tl", "step": step, "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": test_loss, "test_acc": test_acc, "wall_time": round(time.perf_counter() - t0, 3)}
        rows.append(row)
        return row

    print(json.dumps(log(0)), flush=True)
    for step in range(1, steps + 1):
        logits = model(train.tokens)
        logp = logits[:, -1].to(torch.float64).log_softmax(-1)
        loss = -logp.gather(-1, train.targets[:, :1]).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step % log_every == 0 or step == steps or (step <= dense_until and step % DENSE == 0):
            row = log(step)
            print(json.dumps(row), flush=True)
            if stop is not None and row["test_acc"] >= stop:
                break
    return rows


def train_ours(trainer: Trainer) -> list[Row]:
    result = trainer.fit()
    return [{"engine": "ours", **{k: r[k] for k in ("step", "train_loss", "train_acc", "test_loss",
                                                       "test_acc", "wall_time")}} for r in result.metrics]


def first_step(rows: list[Row], target: float) -> int | None:
    return next((r["step"] for r in rows if r["test_acc"] >= target), None)


def compare(rows: list[Row], target: float) -> None:
    """Per engine: grokking step; for steps both logged: the largest |log10 ours - log10 tl| of each loss."""
    by = {e: {r["step"]: r for r in rows if r["engine"] == e} for e in ("ours", "tl")}
    for engine, table in by.items():
        if table:
            last = table[max(table)]
            print(f"{engine}: {len(table)} rows to step {last['step']}, final train/test loss "
                  f"{last['train_loss']:.3g}/{last['test_loss']:.3g}, test acc >= {target:.0%} at step "
                  f"{first_step(sorted(table.values(), key=lambda r: r['step']), target)}, "
                  f"{last['wall_time'] / max(last['step'], 1) * 1000:.0f} ms/step incl. logging")
    shared = sorted(set(by["ours"]) & set(by["tl"]))
    if not shared:
        return
    for upto in sorted({u for u in (100, 200, 500, 1000) if u < max(shared)} | {max(shared)}):
        steps = [s for s in shared if s <= upto]
        gaps = {key: max(abs(math.log10(by["ours"][s][key]) - math.log10(by["tl"][s][key])) for s in steps)
                for key in ("train_loss", "test_loss")}
        train, test = gaps["train_loss"], gaps["test_loss"]
        print(f"steps 0..{upto}: largest |log10 ratio| train {train:.4f} (x{10 ** train:.3f}), "
              f"test {test:.4f} (x{10 ** test:.3f})")
    print("step  ours train/test  |  tl train/test")
    for s in [s for s in shared if s in (0, 10, 50, 100, 200, 300, 500, 700, 1000) or s == max(shared)]:
        o, t = by["ours"][s], by["tl"][s]
        print(f"{s:>5} {o['train_loss']:.4g}/{o['test_loss']:.4g} | "
              f"{t['train_loss']:.4g}/{t['test_loss']:.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("both", "ours", "tl"), default="both")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--dense-until", type=int, default=0,
                        help=f"TransformerLens rows every {DENSE} steps up to this step")
    parser.add_argument("--seed", type=int, default=999)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stop-at-acc", type=float, help="stop once test accuracy reaches this")
    parser.add_argument("--target", type=float, default=0.99, help="accuracy that counts as grokked")
    parser.add_argument("--out", type=Path, help="JSON-lines file for the rows (appended)")
    parser.add_argument("--compare", type=Path, nargs="*", help="summarise these row files and exit")
    args = parser.parse_args()
    if args.compare:
        compare([json.loads(line) for path in args.compare for line in path.read_text().splitlines()],
                args.target)
        return
    torch.set_num_threads(args.threads)
    print(f"{args.engine}: seed {args.seed}, {args.steps} steps, {torch.get_num_threads()} threads")
    rows: list[Row] = []
    if args.engine in ("both", "ours"):
        rows += train_ours(our_trainer(args.seed, args.steps, args.log_every, args.stop_at_acc))
    if args.engine in ("both", "tl"):
        trainer = our_trainer(args.seed, args.steps, args.log_every, args.stop_at_acc)
        rows += train_tl(trainer, args.seed, args.steps, args.log_every, args.stop_at_acc, args.dense_until)
    if args.out:
        with args.out.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    compare(rows, args.target)


if __name__ == "__main__":
    main()
