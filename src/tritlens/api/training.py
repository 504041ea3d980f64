"""Train: presets, configs, runs, run summaries."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tritlens.api._common import _path
from tritlens.config import RunConfig
from tritlens.errors import ConfigError, short
from tritlens.logic.runs import circuit_info
from tritlens.models import Model, parameter_count, trit_summary
from tritlens.presets import PRESETS, preset_config
from tritlens.run import Run, RunDir, load_run
from tritlens.tasks import Task
from tritlens.train.ensemble import member_configs, member_overrides, parse_members, train_members
from tritlens.train.session import train_config
from tritlens.train.trainer import Event


# -- train ----------------------------------------------------------------------------------------
def presets() -> dict[str, str]:
    """Preset name -> one-line description of the paper setup it reproduces."""
    return {name: spec["about"] for name, spec in PRESETS.items()}


def make_config(preset: str = "quick", overrides: list[str] | dict[str, Any] | None = None) -> RunConfig:
    """A preset's full config with ``overrides`` (``"section.key=value"`` strings or a dict) applied."""
    return preset_config(preset, _assignments(overrides) if overrides else None)


def _assignments(overrides: list[str] | dict[str, Any]) -> list[str]:
    if isinstance(overrides, dict):
        return [f"{k}={v}" for k, v in overrides.items()]
    if isinstance(overrides, str) or not isinstance(overrides, list | tuple) \
            or not all(isinstance(item, str) for item in overrides):
        raise ConfigError(f"overrides must be a dict or a list of 'section.key=value' strings, got "
                          f"{short(overrides)}")
    return list(overrides)


def train(preset: str | None = None, out: str | os.PathLike[str] | None = None,
          overrides: list[str] | dict[str, Any] | None = None, config: RunConfig | None = None,
          resume: bool = False, force: bool = False, progress: bool = True, task: Task | None = None,
          on_event: Event | None = None) -> Run:
    """Train a preset (or ``config``) with optional overrides; writes a run directory when ``out`` is set.

    With ``resume`` and neither preset nor config, the run in ``out`` continues with its stored config.
    ``force`` replaces a run already in ``out``. Returns the finished :class:`Run`.
    """
    if resume and force:
        raise ConfigError("resume and force contradict each other: resume continues a run, force replaces it")
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"preset must be a preset name, got {short(preset)}")
    if config is not None and not isinstance(config, RunConfig):
        raise ConfigError(f"config must be a RunConfig (see make_config), got {short(config)}")
    if on_event is not None and not isinstance(on_event, Callable):  # type: ignore[arg-type]
        raise ConfigError(f"on_event must be a function (event, step), got {short(on_event)}")
    out = None if out is None else _path(out, "out")
    if config is None and preset is None and resume and out is not None and RunDir(out).exists():
        config = RunDir(out).read_config()
    if config is None:
        config = make_config("quick" if preset is None else preset, overrides)
    elif overrides:
        config = config.with_overrides(_assignments(overrides))
    return train_config(config, out, resume=resume, force=force, progress=progress, task=task,
                        on_event=on_event)


def train_ensemble(preset: str | None = None, out: str | os.PathLike[str] | None = None,
                   seeds: str | list[int] | None = None, vary: dict[str, list[Any]] | list[str] | None = None,
                   overrides: list[str] | dict[str, Any] | None = None, config: RunConfig | None = None,
                   resume: bool = False, force: bool = False, progress: bool = True,
                   workers: int | None = None) -> list[Run]:
    """Train one member per seed (``"0-7"``, ``"0,3,5"`` or a list) and per combination of ``vary``
    values (``{"train.weight_decay": [0.5, 1.0]}`` or ``["train.weight_decay=0.5,1.0"]``) as one batched
    model; each member is an ordinary run in ``out/seed-N...``. On a CPU, ``workers`` groups of members
    (default: torch's thread count) train side by side on one thread each. See
    :mod:`tritlens.train.ensemble`."""
    if resume and force:
        raise ConfigError("resume and force contradict each other: resume continues a run, force replaces it")
    if out is None:
        raise ConfigError("an ensemble needs out: the folder that holds one run per member")
    root = _path(out, "out")
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"preset must be a preset name, got {short(preset)}")
    if config is not None and not isinstance(config, RunConfig):
        raise ConfigError(f"config must be a RunConfig (see make_config), got {short(config)}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be a whole number >= 1, got {short(workers)}")
    seed_list, varied = parse_members(seeds, vary)
    if config is None and preset is None and resume:
        stored = [root / name for name, _ in member_overrides(seed_list, varied)]
        config = next((RunDir(p).read_config() for p in stored if RunDir(p).exists()), None)
    if config is None:
        config = make_config("quick" if preset is None else preset, overrides)
    elif overrides:
        config = config.with_overrides(_assignments(overrides))
    return train_members(member_configs(config, seed_list, varied), root, resume=resume, force=force,
                         progress=progress, workers=workers)


def info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything ``tritlens info`` shows, as plain data (unfinished runs too: the latest checkpoint)."""
    rd = RunDir(_path(path, "run")).require()
    cfg, metrics, steps = rd.read_config(), rd.read_metrics(), rd.checkpoint_steps()
    run = load_run(rd.path) if rd.is_complete() else load_run(rd.path, step=steps[-1]) if steps else None
    model: Model | None = run.model if run else None
    out: dict[str, Any] = {
        "path": str(rd.path), "complete": rd.is_complete(), "failed": rd.failure(), "preset": cfg.preset,
        "task": run.task.describe() if run else cfg.task_name,
        "config": cfg.to_dict(), "parameters": parameter_count(model) if model is not None else None,
        "checkpoints": steps, "final": metrics[-1] if metrics else {},
        "trits": trit_summary(model) if model is not None else {},
    }
    circuit = circuit_info(model) if model is not None else None
    if circuit:
        out["circuit"] = circuit
    return out
