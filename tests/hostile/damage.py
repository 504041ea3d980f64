"""Ways to damage one file of a run directory: ``DAMAGE[name](path)`` changes ``path`` in place.

Every kind a clumsy user, a full disk or an attacker can leave: empty, truncated, binary garbage, valid
JSON of the wrong shape, NaN inside, the wrong dtype or shape of tensors, a directory, a link to
/dev/zero, a pipe, a dangling link, a 100 MB (sparse) file. Root ignores permission bits, so unreadable
files are simulated by what root cannot read either: a pipe with no writer, a directory, /dev/zero.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

Damage = Callable[[Path], None]


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif os.path.lexists(p):
        p.unlink()


def replace_with(data: bytes | str) -> Damage:
    def damage(p: Path) -> None:
        _remove(p)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return damage


def garbage(p: Path) -> None:
    _remove(p)
    p.write_bytes(random.Random(7).randbytes(300))


def truncated(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def directory(p: Path) -> None:
    _remove(p)
    p.mkdir()


def link_to(target: str) -> Damage:
    def damage(p: Path) -> None:
        _remove(p)
        p.symlink_to(target)
    return damage


def fifo(p: Path) -> None:
    _remove(p)
    os.mkfifo(p)


def sparse_100mb(p: Path) -> None:
    _remove(p)
    with p.open("wb") as f:
        f.truncate(100 << 20)


def edit_json(change: Callable[[Any], Any]) -> Damage:
    """Rewrite a JSON file (one object) with ``change(data)`` (which edits in place or returns new data)."""
    def damage(p: Path) -> None:
        data = json.loads(p.read_text())
        new = change(data)
        p.write_text(json.dumps(data if new is None else new))
    return damage


def substitute(old: str, new: str) -> Damage:
    def damage(p: Path) -> None:
        text = p.read_text()
        assert old in text, (p, old)
        p.write_text(text.replace(old, new, 1))
    return damage


def tensors(change: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> Damage:
    """Rewrite a safetensors file with ``change(tensors)`` (metadata kept)."""
    def damage(p: Path) -> None:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata()
        save_file(change(load_file(str(p))), str(p), metadata=meta)
    return damage


def _all(fn: Callable[[torch.Tensor], torch.Tensor], prefix: str = "") -> Damage:
    return tensors(lambda t: {k: fn(v) if k.startswith(prefix) and v.is_floating_point() else v
                              for k, v in t.items()})


def _header(header: dict[str, Any], length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw


FILE_DAMAGE: dict[str, Damage] = {
    "empty": replace_with(b""),
    "garbage": garbage,
    "truncated": truncated,
    "directory": directory,
    "link to /dev/zero": link_to("/dev/zero"),
    "pipe": fifo,
    "dangling link": link_to("/nonexistent/tritlens-hostile"),
    "100 MB": sparse_100mb,
}

JSON_DAMAGE: dict[str, Damage] = {
    "a JSON list": replace_with("[1, 2, 3]\n"),
    "a JSON string": replace_with('"hello"\n'),
    "NaN inside": replace_with('{"step": NaN}\n'),
    "Infinity inside": replace_with('{"step": 1, "x": -Infinity}\n'),
    "1e999 inside": replace_with('{"step": 1, "train_loss": 1e999}\n'),
    "nested 100k deep": replace_with("[" * 100_000 + "]" * 100_000 + "\n"),
    "a 5000-digit integer": replace_with('{"step": ' + "9" * 5000 + "}\n"),
    "latin-1 bytes": replace_with(b'{"reason": "caf\xe9"}'),
}

WEIGHT_DAMAGE: dict[str, Damage] = {
    **{f"{dt}".removeprefix("torch."): _all(lambda v, dt=dt: v.to(dt))
       for dt in (torch.int8, torch.float64, torch.float16, torch.bfloat16, torch.int64)},
    "NaN weights": _all(lambda v: v * float("nan")),
    "infinite weights": _all(lambda v: v * float("inf")),
    "wrong shapes": tensors(lambda t: {k: v[:1] if v.ndim else v for k, v in t.items()}),
    "an extra tensor": tensors(lambda t: {**t, "extra": torch.zeros(1)}),
    "a missing tensor": tensors(lambda t: dict(sorted(t.items())[1:])),
    "no tensors": tensors(lambda t: {}),
    "header length 2^62": replace_with(struct.pack("<Q", 2**62) + b"{}"),
    "header claiming 40 GB": replace_with(_header({"x": {"dtype": "F32", "shape": [100000, 100000],
                                                         "data_offsets": [0, 40_000_000_000]}})),
    "JSON text": replace_with('{"embed.W_E": [1, 2, 3]}'),
}


def _named(suffix: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Damage:
    return tensors(lambda t: {k: fn(v) if k.endswith(suffix) else v for k, v in t.items()})


DISCRETE_DAMAGE: dict[str, Damage] = {  # finite, right shapes and dtypes, but no discrete model's weights
    "pruning mask 0.5": _named("mask", lambda v: torch.full_like(v, 0.5)),
    "pruning mask -1": _named("mask", lambda v: torch.full_like(v, -1.0)),
    "bias 1e30": _named("bias", lambda v: torch.full_like(v, 1e30)),
    "bias 1e8 (float sums inexact)": _named("bias", lambda v: torch.full_like(v, 1e8)),
}


def _resume(key: str, value: torch.Tensor) -> Damage:
    return tensors(lambda t: {**t, key: value})


def _optim(change: Callable[[str, torch.Tensor], torch.Tensor | None]) -> Damage:
    def apply(t: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for k, v in t.items():
            new = change(k, v) if k.startswith("optim.") else v
            if new is not None:
                out[k] = new
        return out
    return tensors(apply)


RESUME_DAMAGE: dict[str, Damage] = {
    "model weights float64": _all(lambda v: v.double(), "model."),
    "model weights NaN": _all(lambda v: v * float("nan"), "model."),
    "step 10^12": _resume("counters.step", torch.tensor(10**12)),
    "step -5": _resume("counters.step", torch.tensor(-5)),
    "step forged to 13": _resume("counters.step", torch.tensor(13)),
    "step as float": _resume("counters.step", torch.tensor(10.0)),
    "wall time NaN": _resume("counters.wall_time", torch.tensor(float("nan"), dtype=torch.float64)),
    "wall time negative": _resume("counters.wall_time", torch.tensor(-1.0, dtype=torch.float64)),
    "rng state cut short": tensors(lambda t: {**t, "rng.minibatch": t["rng.minibatch"][:10]}),
    "rng state garbage": tensors(lambda t: {**t, "rng.minibatch": torch.randint(
        0, 255, t["rng.minibatch"].shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))}),
    "no rng state": tensors(lambda t: {k: v for k, v in t.items() if k != "rng.minibatch"}),
    "no counters": tensors(lambda t: {k: v for k, v in t.items() if not k.startswith("counters.")}),
    "optimizer step NaN": _optim(lambda k, v: torch.tensor(float("nan")) if k.endswith(".step") else v),
    "optimizer step 2.5": _optim(lambda k, v: torch.tensor(2.5) if k.endswith(".step") else v),
    "optimizer step 0": _optim(lambda k, v: torch.tensor(0.0) if k.endswith(".step") else v),
    "negative second moments": _optim(lambda k, v: -torch.ones_like(v) if k.endswith("exp_avg_sq") else v),
    "an unknown optimizer field": tensors(lambda t: {**t, "optim.embed.W_E.foo": torch.zeros(1)}),
    "optimizer state of an unknown parameter": tensors(lambda t: {**t, "optim.nope.exp_avg": torch.zeros(1)}),
    "one parameter's optimizer state missing": _optim(lambda k, v: None if k.startswith("optim.embed.")
                                                      else v),
    "optimizer moments float64": _optim(lambda k, v: v.double() if "exp_avg" in k else v),
}
