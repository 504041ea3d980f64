"""A run opened for analysis: :class:`Run` (config, task, model, metrics) and :func:`load_run`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tritlens.build import build_model, build_task, task_shape
from tritlens.config import RunConfig
from tritlens.errors import RunDirError, short
from tritlens.models import Model
from tritlens.run.layout import RunDir
from tritlens.run.tensors import check_header, load_weights_into, weights_step
from tritlens.tasks import Task


@dataclass
class Run:
    """A run directory opened for analysis (or a run trained in memory, with ``path`` None)."""

    path: Path | None
    config: RunConfig
    model: Model
    metrics: list[dict[str, Any]]
    step: int | None = None  # the training step of the loaded weights
    task: Task = field(default=None, repr=False)  # type: ignore[assignment]  # built from config if None

    def __post_init__(self) -> None:
        if self.task is None:
            self.task = build_task(self.config)

    @property
    def dir(self) -> RunDir:
        if self.path is None:
            raise RunDirError("this run lives in memory only; train it with an output directory")
        return RunDir(self.path)

    @property
    def final(self) -> dict[str, Any]:
        return self.metrics[-1] if self.metrics else {}

    def checkpoint_steps(self) -> list[int]:
        return RunDir(self.path).checkpoint_steps() if self.path else []

    def load_checkpoint(self, step: int) -> Model:
        """A fresh model holding the weights saved at ``step``."""
        path = self.dir.checkpoint_path(step)
        if not os.path.lexists(path):
            raise RunDirError(f"{self.path} has no checkpoint at step {step}; it has "
                              f"{self.checkpoint_steps() or 'none'}")
        model = build_model(self.config, self.task)
        load_weights_into(model, path)
        return model.eval()


def described(config: RunConfig) -> dict[str, torch.Tensor]:
    """The weights ``config`` describes, as meta tensors: shapes and dtypes without any storage, so an
    edited config that describes terabytes costs nothing to check against a weights file."""
    with torch.device("meta"):
        return dict(build_model(config, task_shape(config)).state_dict())


def load_run(path: str | os.PathLike[str], step: int | None = None) -> Run:
    """Open a finished run directory (or one checkpoint of it with ``step``); files are checked strictly."""
    if isinstance(step, bool) or not isinstance(step, int | None) or (step is not None and step < 0):
        raise RunDirError(f"a checkpoint step must be a non-negative integer, got {short(step)}")
    run = RunDir(path).require()
    config = run.read_config()
    if step is None:
        run.require_complete()
        weights = run.model_path
    else:
        weights = run.checkpoint_path(step)
        if not os.path.lexists(weights):
            raise RunDirError(f"{run.path} has no checkpoint at step {step}; it has "
                              f"{run.checkpoint_steps() or 'none'}")
    check_header(weights, described(config))  # before the task's data or the model is allocated
    task = build_task(config)
    model = build_model(config, task)
    load_weights_into(model, weights)
    return Run(run.path, config, model.eval(), run.read_metrics(), weights_step(weights), task)
