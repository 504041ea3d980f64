"""Checks made before a run directory is created: the device exists and the run fits in memory.

The memory estimate builds the model on PyTorch's ``meta`` device (shapes only, no storage), so it
works for every architecture, and adds the task's data (from its settings alone) and activations
(measured per example by a meta-device forward pass through the model's modules).
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil
import torch
from torch import nn

from tritlens.build import build_model, task_shape
from tritlens.config import RunConfig
from tritlens.errors import ConfigError
from tritlens.tasks import TaskShape

OPTIMIZER_COPIES = 5  # weights, gradients, two AdamW moments, a quantized copy
HEADROOM = 0.9  # use at most this share of the available memory
GIB = 1 << 30


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    data: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.data + self.activations

    def describe(self) -> str:
        return (f"about {self.total / GIB:.1f} GiB (weights and optimiser {self.weights / GIB:.1f}, data "
                f"{self.data / GIB:.1f}, activations {self.activations / GIB:.1f})")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``train.device``; asking for CUDA where there is none is bad input."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available; use --device cpu")
    return torch.device(name)


def _activation_bytes(model: nn.Module, shape: TaskShape) -> int:
    """Bytes of every module output for one example (meta tensors: nothing is computed)."""
    total = 0

    def count(_module: nn.Module, _inputs: object, output: object) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        tokens = torch.zeros(1, shape.n_ctx, dtype=torch.long, device="meta")
        model(tokens)
    except (RuntimeError, NotImplementedError, TypeError):
        total = 0  # a model the meta device cannot run: count weights and data only
    finally:
        for h in handles:
            h.remove()
    return total


def estimate_memory(cfg: RunConfig) -> MemoryEstimate:
    """Peak memory of training ``cfg`` (an estimate, on the generous side)."""
    shape = task_shape(cfg)
    with torch.device("meta"):
        model = build_model(cfg, shape)
    n_bytes = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    batch = cfg.train.batch_size
    train_rows = shape.n_examples if batch is None else min(batch, shape.n_examples)
    eval_rows = min(shape.n_examples, 16_384)  # evaluation runs in chunks of 16k
    per_example = _activation_bytes(model, shape)
    # a training step keeps every activation and its gradient; evaluation runs without gradients
    # (nothing kept for a backward pass), between steps: the two peaks do not add up
    activations = max(2 * train_rows * per_example, eval_rows * per_example)
    return MemoryEstimate(OPTIMIZER_COPIES * n_bytes, shape.data_bytes(), activations)


def available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def check_resources(cfg: RunConfig) -> torch.device:
    """The device to train on, after checking it exists and the run fits in its memory."""
    device = resolve_device(cfg.train.device)
    need = estimate_memory(cfg)
    have = available_bytes(device)
    if need.total > HEADROOM * have:
        raise ConfigError(f"this run needs {need.describe()} but {have / GIB:.1f} GiB are available on "
                          f"{device.type}; make the task or model smaller, or use batches (train.batch_size)")
    return device
