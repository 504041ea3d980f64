"""One training run end to end: checks first, then the claimed run directory, then the loop.

A failure after the directory was claimed marks it failed with the reason (``failed.json``); a rerun
with the same config starts over, ``--resume`` continues from the last checkpoint. An interrupt
(Ctrl-C) leaves the run resumable and unmarked.
"""

from __future__ import annotations

import os

import torch

from tritlens.build import build_task
from tritlens.config import RunConfig
from tritlens.errors import TritlensError
from tritlens.run import Run, load_run
from tritlens.tasks import Task
from tritlens.train.claim import COMPLETE, RESUME, claim
from tritlens.train.extensions import check_aux
from tritlens.train.memory import check_resources
from tritlens.train.trainer import Event, Trainer, TrainingFailed


def train_config(cfg: RunConfig, out: str | os.PathLike[str] | None = None, *, resume: bool = False,
                 force: bool = False, progress: bool = True, task: Task | None = None,
                 on_event: Event | None = None) -> Run:
    """Train ``cfg`` (into ``out`` when given) and return the finished run."""
    check_resources(cfg)
    if task is None:
        task = build_task(cfg)  # generates the data: a bad task.op fails here, before any directory
    check_aux(cfg, task)
    if out is None:
        result = Trainer(cfg, None, progress, task, on_event).fit()
        return Run(None, cfg, result.model.eval(), result.metrics, result.steps, task)
    held = claim(out, cfg, resume=resume, force=force)
    try:
        if held.mode == COMPLETE:
            return load_run(held.run.path)
        trainer: Trainer | None = None
        try:
            trainer = Trainer(cfg, held.run, progress, task, on_event)
            result = trainer.fit(resume=held.mode == RESUME)
        except (TritlensError, MemoryError, torch.OutOfMemoryError) as exc:
            why = str(exc) if isinstance(exc, TritlensError) else "out of memory"
            held.run.mark_failed(why, trainer.step_reached if trainer else 0)
            raise TrainingFailed(f"{why}; {held.run.path} is marked failed (rerun to start over, or "
                                 "--resume from its last checkpoint)") from None
        except Exception as exc:  # a bug: keep the traceback, but leave the reason in the run
            held.run.mark_failed(f"internal error: {type(exc).__name__}: {exc}",
                                 trainer.step_reached if trainer else 0)
            raise
    finally:
        held.release()
    return Run(held.run.path, cfg, result.model.eval(), result.metrics, result.steps, task)
