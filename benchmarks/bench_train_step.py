"""Full-batch training step (forward, backward, AdamW) of tritlens vs TransformerLens on nanda2023.

Both models run the same configuration on the same 3,831 training pairs with the loss in float64 at
the last position. Rounds alternate between the contenders so machine noise hits both alike; the
figure reported is the median step time, and the ratio is the anchor (TransformerLens) over tritlens.

    python benchmarks/bench_train_step.py [--rounds 8] [--steps 5] [--threads 1] [--json out.json]
                                          [--device cuda]

On a GPU (``--device cuda``) every contender and its data live on the device, and each timed step
ends with ``torch.cuda.synchronize()``.
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
from tritlens.presets import preset_config
from tritlens.train.trainer import answer_loss, make_optimizer


def synced(step: Callable[[], None], device: str) -> Callable[[], None]:
    """``step`` that returns only when the device has finished it (timings on a GPU)."""
    if device == "cpu":
        return step

    def run() -> None:
        step()
        torch.cuda.synchronize()

    return run


def tritlens_step(overrides: list[str], device: str = "cpu") -> Callable[[], None]:
    cfg = preset_config("nanda2023", overrides)
    task = build_task(cfg)
    model = build_model(cfg, task).to(device)
    opt = make_optimizer(model, cfg)
    train = task.split()[0].to(device)

    def step() -> None:
        logits = model.answer_logits(train.tokens, task.answer_positions)
        loss = answer_loss(logits, train.targets, torch.float64)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return synced(step, device)


def transformer_lens_step(device: str = "cpu") -> Callable[[], None]:
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = preset_config("nanda2023")
    task = build_task(cfg)
    train = task.split()[0].to(device)
    tl_cfg = HookedTransformerConfig(
        n_layers=1, n_heads=4, d_model=128, d_head=32, d_mlp=512, act_fn="relu", normalization_type=None,
        d_vocab=task.d_vocab, d_vocab_out=task.d_vocab_out, n_ctx=3, init_weights=True, device=device,
        seed=999)
    model = HookedTransformer(tl_cfg)
    for name, p in model.named_parameters():  # as the reference demo: biases frozen at zero
        if "b_" in name:
            p.requires_grad = False
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3,
                            weight_decay=1.0, betas=(0.9, 0.98))

    def step() -> None:
        logits = model(train.tokens)[:, -1].to(torch.float64)
        loss = torch.nn.functional.cross_entropy(logits, train.targets[:, 0])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return synced(step, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender per round")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    dev = args.device
    contenders = {
        "TransformerLens (anchor)": transformer_lens_step(dev),
        "tritlens full precision": tritlens_step([], dev),
        "tritlens binary (li2024 quant)": tritlens_step(["quant.attn=binary", "quant.mlp=binary",
                                                         "quant.binary_scale=false"], dev),
        "tritlens ternary (li2024 quant)": tritlens_step(["quant.attn=ternary", "quant.mlp=ternary"], dev),
        "tritlens ternary + 8-bit activations": tritlens_step(["quant.attn=ternary", "quant.mlp=ternary",
                                                               "quant.act_bits=8"], dev),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for step in contenders.values():  # warm-up
        for _ in range(3):
            step()
    for _ in range(args.rounds):
        for name, step in contenders.items():
            for _ in range(args.steps):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    median = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    anchor = median["TransformerLens (anchor)"]
    fp = median["tritlens full precision"]
    where = torch.cuda.get_device_name() if dev == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {where}")
    print(f"{'contender':40s} {'ms/step':>9s} {'TL / this':>10s} {'this / fp':>10s}")
    for name, ms in median.items():
        print(f"{name:40s} {ms:9.1f} {anchor / ms:9.2f}x {ms / fp:9.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"median_ms": median, "speedup_vs_tl": anchor / fp}, f, indent=2)


if __name__ == "__main__":
    main()
