"""Turn a RunConfig into live objects: the task and an initialised model."""

from __future__ import annotations

from tritlens.config import RunConfig
from tritlens.models import ARCHS, Model, Sizes
from tritlens.tasks import TASKS, Task, TaskShape


def build_task(cfg: RunConfig) -> Task:
    """The task a config describes (data are generated, never downloaded)."""
    return TASKS[cfg.task_name].task.from_config(cfg.task)


def task_shape(cfg: RunConfig) -> TaskShape:
    """The task's data sizes, from the config alone (nothing is generated)."""
    return TASKS[cfg.task_name].task.shape(cfg.task)


def build_model(cfg: RunConfig, task: Task | TaskShape) -> Model:
    """A freshly initialised model sized for ``task`` (seeded by ``train.seed`` or ``model.seed``)."""
    if isinstance(task, TaskShape):
        sizes = Sizes(task.d_vocab, task.d_vocab_out, task.n_ctx,
                      tuple(range(task.n_ctx - task.n_answers, task.n_ctx)))
    else:
        sizes = Sizes(task.d_vocab, task.d_vocab_out, task.n_ctx, tuple(task.answer_positions))
    return ARCHS[cfg.arch].build(cfg.model, cfg.quant, cfg.train.seed, sizes)
