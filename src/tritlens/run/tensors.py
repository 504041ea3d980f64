"""safetensors I/O with strict checks: names, shapes, dtypes and finite values (never pickle)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from tritlens.errors import CheckpointError
from tritlens.run.files import atomic_target


def save_tensors(path: str | os.PathLike[str], tensors: Mapping[str, Tensor],
                 metadata: dict[str, str] | None = None) -> Path:
    """Save tensors as safetensors atomically (contiguous CPU copies; mode follows the umask)."""
    with atomic_target(path) as tmp:
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp),
                      metadata=metadata)
        except SafetensorError as exc:  # the writer's I/O errors (a full disk) are not OSErrors
            raise CheckpointError(f"cannot write {path}: {str(exc).splitlines()[0][-120:]}") from None
    return Path(path)


def load_tensors(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Every tensor of a safetensors file; unreadable, truncated or foreign files are a CheckpointError."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} does not exist" if not p.exists() else f"{p} is not a regular file")
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"cannot read {p}: {first}") from None


def metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file ({} when it has none or cannot be read)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return {}


def check_like(tensors: Mapping[str, Tensor], expected: Mapping[str, Tensor], path: str | os.PathLike[str],
               finite: bool = True) -> None:
    """``tensors`` must have exactly ``expected``'s names, shapes and dtypes (and finite float values)."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise CheckpointError(f"{path} does not match the run's config: {what} "
                              f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    for name, want in expected.items():
        got = tensors[name]
        if got.shape != want.shape:
            raise CheckpointError(f"{path}: {name} has shape {list(got.shape)}, the config needs "
                                  f"{list(want.shape)}")
        if got.dtype != want.dtype:
            raise CheckpointError(f"{path}: {name} is {str(got.dtype).removeprefix('torch.')}, expected "
                                  f"{str(want.dtype).removeprefix('torch.')}")
        if finite and got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{path}: {name} holds NaN or infinite values")


DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}


def header(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """The tensors a safetensors file declares, as meta tensors (names, shapes, dtypes; no data read)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} does not exist" if not p.exists() else f"{p} is not a regular file")
    try:
        with safe_open(str(p), framework="pt") as f:
            slices = {k: f.get_slice(k) for k in f.keys()}  # noqa: SIM118  (safe_open is not a dict)
            declared = {k: (list(s.get_shape()), s.get_dtype()) for k, s in slices.items()}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"cannot read {p}: {first}") from None
    unknown = [k for k, (_, dtype) in declared.items() if dtype not in DTYPES]
    if unknown:
        raise CheckpointError(f"{p}: {unknown[0][:60]} has an unsupported dtype {declared[unknown[0]][1]}")
    return {k: torch.empty(shape, dtype=DTYPES[dtype], device="meta")
            for k, (shape, dtype) in declared.items()}


def check_header(path: str | os.PathLike[str], expected: Mapping[str, Tensor]) -> None:
    """The file declares exactly ``expected``'s names, shapes and dtypes: checked before anything is
    allocated for it (``expected`` may be meta tensors of a model the config describes)."""
    check_like(header(path), expected, path, finite=False)


def load_weights_into(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Load checked safetensors weights into ``model`` (names, shapes, dtypes and finite values)."""
    tensors = load_tensors(path)
    check_like(tensors, model.state_dict(), path)
    model.load_state_dict(tensors, strict=True)


def weights_step(path: str | os.PathLike[str]) -> int | None:
    """The training step recorded in a weights file's metadata (None if absent)."""
    step = metadata(path).get("step", "")
    return int(step) if step.isdigit() and len(step) < 12 else None
