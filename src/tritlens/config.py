"""Run configuration: typed sections (task, model, quant, train) with validation and ``--set`` overrides.

A run's ``config.json`` holds every setting with defaults filled in, so a run directory alone is
enough to rebuild its task and model. Sections are dataclasses; the task and model sections are
chosen by ``task.name`` and ``model.arch`` from the registries ``tritlens.tasks.TASKS`` and
``tritlens.models.ARCHS``; allowed ranges are declared on the fields (``tritlens.fields``).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from tritlens import __version__
from tritlens.errors import ConfigError, short
from tritlens.fields import check_fields, seed, setting
from tritlens.models import ARCHS, QuantConfig, TransformerConfig
from tritlens.tasks import TASKS, ModularConfig


@dataclass
class TrainConfig:
    """Optimiser, schedule, logging and checkpointing."""

    steps: int = setting(25_000, lo=1, hi=10**9)  # optimiser steps (= epochs when full batch)
    lr: float = setting(1e-3, lo=0.0, hi=1e3, lo_open=True)
    weight_decay: float = setting(1.0, lo=0.0, hi=1e3)
    betas: tuple[float, float] = setting(factory=lambda: (0.9, 0.98), lo=0.0, hi=1.0, hi_open=True)
    warmup_steps: int = setting(0, lo=0, hi=10**9)  # linear warm-up to lr over these steps
    warmup_start: float = setting(0.0, lo=0.0, hi=1.0)  # warm-up start factor (0: from lr / warmup_steps)
    schedule: str = setting("constant", choices=("constant", "cosine"))  # after warm-up: lr, or cosine to 0
    batch_size: int | None = setting(None, lo=1, hi=1 << 24)  # None: full batch
    grad_clip: float | None = setting(None, lo=0.0, hi=1e6, lo_open=True)  # max gradient norm (None: off)
    aux_target: str | None = None  # a task feature that linear heads on aux_hook learn (auxiliary loss)
    aux_hook: str | None = None  # where the heads read (None: the last layer's attn.hook_z, one per head)
    aux_weight: float = setting(1.0, lo=0.0, hi=1e6)  # lambda: loss = task loss + lambda * their MSE
    grokfast_lambda: float = setting(0.0, lo=0.0, hi=1e3)  # GrokFast: grad + lambda * EMA(grad) (0: off)
    grokfast_alpha: float = setting(0.98, lo=0.0, hi=1.0, hi_open=True)  # its EMA decay
    seed: int = seed(999)  # model init and minibatch order
    eval_every: int = setting(100, lo=1, hi=10**9)  # steps between test evaluations and metrics lines
    checkpoint_every: int = setting(500, lo=0, hi=10**9)  # steps between checkpoints (0: final only)
    loss_dtype: str = setting("float64", choices=("float64", "float32"))
    device: str = setting("cpu", choices=("cpu", "cuda"))
    stop_at_test_acc: float | None = setting(None, lo=0.0, hi=1.0, lo_open=True)  # stop once reached


SECTIONS = ("task", "model", "quant", "train")


@dataclass
class RunConfig:
    """Everything needed to reproduce a run."""

    task_name: str = "modular"
    task: Any = field(default_factory=ModularConfig)
    arch: str = "transformer"
    model: Any = field(default_factory=TransformerConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "preset": self.preset,
            "task": {"name": self.task_name, **dataclasses.asdict(self.task)},
            "model": {"arch": self.arch, **dataclasses.asdict(self.model)},
            "quant": dataclasses.asdict(self.quant),
            "train": dataclasses.asdict(self.train),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build and validate a config from plain data (config.json or a preset)."""
        if not isinstance(data, dict):
            raise ConfigError("config must be a JSON object")
        unknown = set(data) - {"version", "preset", "task", "model", "quant", "train"}
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        for name in SECTIONS:
            if not isinstance(data.get(name, {}), dict):
                raise ConfigError(f"config section {name!r} must be an object")
        task = dict(data.get("task", {}))
        model = dict(data.get("model", {}))
        task_name = task.pop("name", "modular")
        arch = model.pop("arch", "transformer")
        if not isinstance(task_name, str) or task_name not in TASKS:
            raise ConfigError(f"unknown task {task_name!r:.40}; choose one of {', '.join(TASKS)}")
        if not isinstance(arch, str) or arch not in ARCHS:
            raise ConfigError(f"unknown model.arch {arch!r:.40}; choose one of {', '.join(ARCHS)}")
        preset, version = data.get("preset"), data.get("version", __version__)
        if not isinstance(preset, str | None) or not isinstance(version, str):
            raise ConfigError("config preset and version must be strings")
        cfg = cls(
            task_name=task_name,
            task=_section(TASKS[task_name].config, task, "task"),
            arch=arch,
            model=_section(ARCHS[arch].config, model, "model"),
            quant=_section(QuantConfig, data.get("quant", {}), "quant"),
            train=_section(TrainConfig, data.get("train", {}), "train"),
            preset=preset,
            version=version,
        )
        validate(cfg)
        return cfg

    def with_overrides(self, assignments: list[str]) -> RunConfig:
        """Apply ``section.key=value`` strings (the CLI's ``--set``) and re-validate."""
        data = self.to_dict()
        for item in assignments:
            key, sep, raw = item.partition("=")
            section, dot, name = key.strip().partition(".")
            if not sep or not dot or section not in SECTIONS:
                raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of "
                                  "task, model, quant, train")
            if name in ("name", "arch"):  # another kind: keep only the settings it shares with the old one
                data[section] = {name: raw.strip(), **{k: v for k, v in data[section].items() if k != name}}
                kind = self._section_type(section, data)
                shared = _fields(kind) if dataclasses.is_dataclass(kind) else {}
                data[section] = {k: v for k, v in data[section].items() if k == name or k in shared}
                continue
            fields = _fields(self._section_type(section, data))
            if name not in fields:
                raise ConfigError(f"--set {item!r}: unknown key {key!r}; known {section} keys: "
                                  f"{', '.join(fields)}")
            data[section][name] = parse_value(raw.strip(), fields[name], key.strip())
        return RunConfig.from_dict(data)

    @staticmethod
    def _section_type(section: str, data: dict[str, Any]) -> type:
        if section == "task":
            kind = TASKS.get(data["task"].get("name", "modular"))
            return kind.config if kind else ModularConfig
        if section == "model":
            arch = ARCHS.get(data["model"].get("arch", "transformer"))
            return arch.config if arch else TransformerConfig
        return {"quant": QuantConfig, "train": TrainConfig}[section]


def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _section(cls: type, values: dict[str, Any], section: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"config section {section!r} must be an object")
    fields = _fields(cls)
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"unknown key {section}.{sorted(unknown)[0]}; known {section} keys: "
                          f"{', '.join(fields)}")
    return cls(**{k: check_type(v, fields[k], f"{section}.{k}") for k, v in values.items()})


def _options(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def check_type(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` converted to ``tp`` if it already has that type (ints pass as floats)."""
    for option in _options(tp):
        if option is type(None) and value is None:
            return None
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if typing.get_origin(option) is tuple and len(typing.get_args(option)) == 2 \
                and typing.get_args(option)[1] is Ellipsis:  # tuple[X, ...]: a list, or one value
            items = value if isinstance(value, list | tuple) else [value]
            try:
                return tuple(check_type(v, typing.get_args(option)[0], key) for v in items)
            except ConfigError:
                continue
        if typing.get_origin(option) is tuple and isinstance(value, list | tuple):
            args = typing.get_args(option)
            if len(value) == len(args):
                return tuple(check_type(v, a, key) for v, a in zip(value, args, strict=True))
    raise ConfigError(f"{key} must be {_type_name(tp)}, got {short(value)}")


def parse_value(raw: str, tp: Any, key: str) -> Any:
    """Parse a ``--set`` string into ``tp``: JSON first (numbers, true/false, null, lists), else a string."""
    options = _options(tp)
    if str in options and type(None) not in options:
        return raw  # a string field keeps its text: quant.attn=none is the mode "none", not null
    low = raw.lower()
    if low in ("none", "null"):
        value: Any = None
    elif low in ("true", "yes", "on"):
        value = True
    elif low in ("false", "no", "off"):
        value = False
    else:
        try:
            value = json.loads(raw if not raw.count(",") or raw.startswith("[") else f"[{raw}]")
        except json.JSONDecodeError:
            value = raw
        except (ValueError, RecursionError):  # e.g. an integer of thousands of digits
            raise ConfigError(f"{key}: cannot read {raw!r:.40} as a value") from None
    if str in options and not isinstance(value, str) and value is not None:
        value = raw
    return check_type(value, tp, key)


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
             type(None): "none"}
    def listed(o: Any) -> str:
        args = typing.get_args(o)
        return "a list of " + ("" if args[-1:] == (Ellipsis,) else f"{len(args)} ") + "numbers"

    parts = [names[o] if o in names else listed(o) for o in _options(tp)]
    return " or ".join(parts)


def validate(cfg: RunConfig) -> None:
    """Declared ranges of every section (``tritlens.fields``) and the checks that span settings."""
    for name in SECTIONS:
        check_fields(getattr(cfg, name), name)
    if ARCHS[cfg.arch].discrete:
        _validate_discrete(cfg)
    if cfg.arch == "transformer":
        _validate_transformer(cfg.model)
    if cfg.train.batch_size is None and getattr(TASKS[cfg.task_name].task, "sample", None) is not None:
        raise ConfigError(f"task {cfg.task_name} draws a fresh batch every step; set train.batch_size "
                          "(e.g. --set train.batch_size=64)")


def _validate_discrete(cfg: RunConfig) -> None:
    """Fully discrete archs quantize everything themselves: no transformer quantization settings."""
    q = cfg.quant
    for name in ("attn", "mlp", "embed", "unembed"):
        if getattr(q, name) != "none":
            raise ConfigError(f"quant.{name}={getattr(q, name)!r} does not apply to model.arch={cfg.arch} "
                              "(its weights are always ternary); leave quant.* at none")
    if q.act_bits is not None:
        raise ConfigError(f"quant.act_bits does not apply to model.arch={cfg.arch} (its activations are "
                          "always binary); leave it at none")
    if isinstance(getattr(cfg.model, "hidden", None), tuple) and not cfg.model.hidden:
        raise ConfigError("model.hidden needs at least one layer width")


def _validate_transformer(m: TransformerConfig) -> None:
    if m.d_head is None and m.d_model % m.n_heads:
        raise ConfigError(f"model.d_model={m.d_model} is not divisible by model.n_heads={m.n_heads}; "
                          "change one or set model.d_head")
    if m.freeze_biases and not m.biases:
        raise ConfigError("model.freeze_biases=true needs model.biases=true")
