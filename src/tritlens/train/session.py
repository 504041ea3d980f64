"""One training run end to end: checks first, then the claimed run directory, then the loop.

A failure after the directory was claimed marks it failed with the reason (``failed.json``); a rerun
with the same config starts over, ``--resume`` continues from the last checkpoint. An interrupt
(Ctrl-C) leaves the run resumable and unmarked.
"""

from __future__ import annotations

import os

import torch

from tritlens.build import build_task, task_shape
from tritlens.config import RunConfig
from tritlens.errors import ConfigError, TritlensError, short
from tritlens.run import Run, RunDir, load_run
from tritlens.tasks import Task
from tritlens.train.claim import COMPLETE, RESUME, claim
from tritlens.train.extensions import check_aux
from tritlens.train.memory import check_resources
from tritlens.train.trainer import Event, Trainer, TrainingFailed


def checked(cfg: RunConfig) -> RunConfig:
    """``cfg`` validated as if read from config.json (a config built or changed in code skips
    the checks that loading does)."""
    if not isinstance(cfg, RunConfig):
        raise ConfigError(f"config must be a RunConfig, got {short(cfg)}")
    return RunConfig.from_dict(cfg.to_dict())


def check_task(task: Task, cfg: RunConfig) -> None:
    """A task passed in code must have the sizes ``cfg`` describes, or the run directory (which holds
    the config, not the task) would hold weights its own config cannot load."""
    if not isinstance(task, Task):
        raise ConfigError(f"task must be a tritlens Task, got {short(task)}")
    shape = task_shape(cfg)
    given = (task.d_vocab, task.d_vocab_out, task.n_ctx, len(task.answer_positions))
    wanted = (shape.d_vocab, shape.d_vocab_out, shape.n_ctx, shape.n_answers)
    if given != wanted:
        raise ConfigError(f"the task given does not match the config: (vocab, classes, context, answers) "
                          f"{given} vs {wanted} from its settings")


def _mark_failed(run: RunDir, why: str, step: int) -> str:
    """Mark ``run`` failed; says what happened (the mark itself can fail, e.g. on a full disk)."""
    try:
        run.mark_failed(why, step)
    except TritlensError as exc:
        return f"{run.path} could not be marked failed either ({exc})"
    return f"{run.path} is marked failed"


def train_config(cfg: RunConfig, out: str | os.PathLike[str] | None = None, *, resume: bool = False,
                 force: bool = False, progress: bool = True, task: Task | None = None,
                 on_event: Event | None = None) -> Run:
    """Train ``cfg`` (into ``out`` when given) and return the finished run."""
    cfg = checked(cfg)
    check_resources(cfg)
    if task is None:
        task = build_task(cfg)  # generates the data: a bad task.op fails here, before any directory
    check_task(task, cfg)
    check_aux(cfg, task)
    if out is None:
        result = Trainer(cfg, None, progress, task, on_event).fit()
        return Run(None, cfg, result.model.eval(), result.metrics, result.steps, task)
    held = claim(out, cfg, resume=resume, force=force)
    try:
        if held.mode == COMPLETE:
            return load_run(held.run.path)
        trainer = None
        if held.mode == RESUME:
            trainer = Trainer(cfg, held.run, progress, task, on_event)
            trainer.restore()  # a damaged resume state or metrics file: refused, the run left as it is
            held.run.failure_path.unlink(missing_ok=True)
        try:
            if trainer is None:
                trainer = Trainer(cfg, held.run, progress, task, on_event)
            result = trainer.fit()
        except (TritlensError, MemoryError, torch.OutOfMemoryError) as exc:
            why = str(exc) if isinstance(exc, TritlensError) else "out of memory"
            marked = _mark_failed(held.run, why, trainer.step_reached if trainer else 0)
            raise TrainingFailed(f"{why}; {marked} (rerun to start over, or --resume from its last "
                                 "checkpoint)") from None
        except Exception as exc:  # a bug: keep the traceback, but leave the reason in the run
            _mark_failed(held.run, f"internal error: {type(exc).__name__}: {exc}",
                         trainer.step_reached if trainer else 0)
            raise
    finally:
        held.release()
    return Run(held.run.path, cfg, result.model.eval(), result.metrics, result.steps, task)
