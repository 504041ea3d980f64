"""n-digit arithmetic in the Quirke et al. 2024 token format: layout, exact digit arithmetic, tasks."""

from tritlens.tasks.arith.digits import ADD_CLASSES, CLASS_NAMES, NEG_CLASSES, SUB_CLASSES, classes
from tritlens.tasks.arith.layout import (
    CHARS,
    D_VOCAB,
    EQUALS,
    MINUS,
    OP_TOKEN,
    PLUS,
    TIMES,
    Layout,
    digits_int,
    int_digits,
    to_text,
)
from tritlens.tasks.arith.task import (
    DIGITS_MAX,
    EXHAUSTIVE_MAX,
    OPS,
    AddConfig,
    ArithConfig,
    ArithTask,
    MixedConfig,
    MulConfig,
    SubConfig,
)

__all__ = [
    "ADD_CLASSES", "CLASS_NAMES", "NEG_CLASSES", "SUB_CLASSES", "CHARS", "D_VOCAB", "EQUALS", "MINUS",
    "OP_TOKEN", "PLUS", "TIMES", "DIGITS_MAX", "EXHAUSTIVE_MAX", "OPS", "AddConfig", "ArithConfig",
    "ArithTask", "Layout", "MixedConfig", "MulConfig", "SubConfig", "classes", "digits_int", "int_digits",
    "to_text",
]
