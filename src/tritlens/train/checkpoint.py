"""Resume state: weights, AdamW moments, RNG state and counters in one safetensors file, checked on load.

Training extensions (``train/extensions.py``) keep their state under ``extension.`` and the moments of
their parameters under ``optim.extension.``; a run without extensions has neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tritlens.errors import CheckpointError
from tritlens.run import RunDir, check_like, load_tensors, save_tensors

OPTIM_FIELDS = ("exp_avg", "exp_avg_sq", "step")
EXT = "extension."


def _named_parameters(model: nn.Module, extensions: nn.Module | None) -> dict[str, nn.Parameter]:
    """Every optimised (trainable) parameter by its name in the resume file."""
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if extensions is not None:
        params.update({EXT + n: p for n, p in extensions.named_parameters() if p.requires_grad})
    return params


def _states(model: nn.Module, extensions: nn.Module | None) -> dict[str, Tensor]:
    """Model and extension state (parameters and buffers) under their resume-file names."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if extensions is not None:
        tensors.update({EXT + k: v for k, v in extensions.state_dict().items()})
    return tensors


@dataclass
class ResumeState:
    step: int
    wall_time: float


def save_resume(run: RunDir, model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
                state: ResumeState, extensions: nn.Module | None = None) -> None:
    """Write everything an exact continuation needs (replaces the previous resume file atomically)."""
    tensors: dict[str, Tensor] = _states(model, extensions)
    names = {id(p): n for n, p in _named_parameters(model, extensions).items()}
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                tensors[f"optim.{names[id(p)]}.{key}"] = torch.as_tensor(value)
    tensors["rng.minibatch"] = gen.get_state()
    tensors["counters.step"] = torch.tensor(state.step, dtype=torch.int64)
    tensors["counters.wall_time"] = torch.tensor(state.wall_time, dtype=torch.float64)
    save_tensors(run.resume_path, tensors, metadata={"format": "tritlens-resume"})


def _check(tensors: dict[str, Tensor], model: nn.Module, gen: torch.Generator, path: object,
           max_step: int, extensions: nn.Module | None = None) -> ResumeState:
    """Every tensor of a resume file has the name, shape, dtype and range this run needs."""
    params = _named_parameters(model, extensions)
    expected: dict[str, Tensor] = _states(model, extensions)
    expected["rng.minibatch"] = gen.get_state()
    expected["counters.step"] = torch.tensor(0, dtype=torch.int64)
    expected["counters.wall_time"] = torch.tensor(0.0, dtype=torch.float64)
    for key in tensors:
        if key.startswith("optim."):
            pname, _, what = key[len("optim."):].rpartition(".")
            if pname not in params or what not in OPTIM_FIELDS:
                raise CheckpointError(f"{path} does not match this run: unexpected tensor {key[:80]}")
            p = params[pname]
            expected[key] = torch.zeros((), dtype=torch.float32) if what == "step" else p.detach().to("meta")
    check_like(tensors, expected, path)
    step, wall = int(tensors["counters.step"]), float(tensors["counters.wall_time"])
    if not 0 <= step <= max_step or not math.isfinite(wall) or wall < 0:
        raise CheckpointError(f"{path} holds an impossible step ({step}) or time ({wall})")
    _check_optimizer(tensors, params, step, path)
    try:  # the generator's own check of its state (a Mersenne Twister state must be well formed)
        torch.Generator().set_state(tensors["rng.minibatch"])
    except (RuntimeError, ValueError):
        raise CheckpointError(f"{path}: rng.minibatch is not a valid random generator state") from None
    return ResumeState(step, wall)


def _check_optimizer(tensors: dict[str, Tensor], params: dict[str, nn.Parameter], step: int,
                     path: object) -> None:
    """AdamW's state after ``step`` updates: every trainable parameter has its moments and step count
    (every architecture gives every trainable parameter a gradient at every update), second moments
    are non-negative, and the step counts are whole numbers reaching ``step``."""
    if step == 0:
        return
    missing = [f"optim.{n}.{f}" for n in params for f in OPTIM_FIELDS if f"optim.{n}.{f}" not in tensors]
    if missing:
        raise CheckpointError(f"{path} lacks optimizer state {missing[0][:80]} ({len(missing)} missing)")
    counts = [float(tensors[f"optim.{n}.step"]) for n in params]
    if any(c != int(c) or not 1 <= c <= step for c in counts) or max(counts, default=step) != step:
        raise CheckpointError(f"{path}: the optimizer's step counts do not match the checkpoint's "
                              f"step {step}")
    for n in params:
        if bool((tensors[f"optim.{n}.exp_avg_sq"] < 0).any()):
            raise CheckpointError(f"{path}: optim.{n[:60]}.exp_avg_sq holds negative values")


def load_resume(run: RunDir, model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
                max_step: int, extensions: nn.Module | None = None) -> ResumeState:
    """Restore model, optimiser, extensions and RNG from the resume file; returns the step reached."""
    tensors = load_tensors(run.resume_path)
    state = _check(tensors, model, gen, run.resume_path, max_step, extensions)
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    if extensions is not None:
        extensions.load_state_dict({k[len(EXT):]: v for k, v in tensors.items() if k.startswith(EXT)})
    params = _named_parameters(model, extensions)
    device = next(model.parameters()).device
    for key, value in tensors.items():
        if key.startswith("optim."):
            pname, _, what = key[len("optim."):].rpartition(".")
            opt.state[params[pname]][what] = value if what == "step" else value.to(device)
    gen.set_state(tensors["rng.minibatch"])
    return state
