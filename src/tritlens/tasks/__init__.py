"""Tasks: data generated from settings (never downloaded). ``TASKS`` maps ``task.name`` to its kind."""

from __future__ import annotations

from dataclasses import dataclass

from tritlens.tasks.arith import AddConfig, ArithTask, MixedConfig, MulConfig, SubConfig
from tritlens.tasks.base import Feature, Split, Task, TaskShape
from tritlens.tasks.bits import (
    CompareConfig,
    CompareTask,
    ModAddBitsConfig,
    ModAddTask,
    ParityConfig,
    ParityTask,
    SerialAddConfig,
    SerialAddTask,
)
from tritlens.tasks.modular import ModularConfig, ModularTask
from tritlens.tasks.sequences import BracketConfig, BracketTask, CountConfig, CountTask


@dataclass(frozen=True)
class TaskKind:
    """A registered task: its settings dataclass and its class (``from_config``, ``shape``)."""

    config: type
    task: type[Task]


TASKS: dict[str, TaskKind] = {
    "modular": TaskKind(ModularConfig, ModularTask),
    "serial_add": TaskKind(SerialAddConfig, SerialAddTask),
    "mod_add": TaskKind(ModAddBitsConfig, ModAddTask),
    "parity": TaskKind(ParityConfig, ParityTask),
    "compare": TaskKind(CompareConfig, CompareTask),
    "add": TaskKind(AddConfig, ArithTask),
    "sub": TaskKind(SubConfig, ArithTask),
    "mixed": TaskKind(MixedConfig, ArithTask),
    "mul": TaskKind(MulConfig, ArithTask),
    "brackets": TaskKind(BracketConfig, BracketTask),
    "count": TaskKind(CountConfig, CountTask),
}

__all__ = ["TASKS", "TaskKind", "Feature", "Split", "Task", "TaskShape", "ModularTask", "ModularConfig",
           "ArithTask"]
