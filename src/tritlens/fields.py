"""Settings with declared ranges: the one place where a setting's allowed values are stated and checked.

A config section is a dataclass whose fields may carry bounds (``setting(4, lo=1, hi=64)``) or
choices (``setting("relu", choices=("relu", "gelu"))``). :func:`check_fields` enforces them, and every
number must be finite. Config loading, ``--set`` overrides and the task and model constructors all
call it, so a bound is written once, next to the field it limits.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tritlens.errors import ConfigError, short

SEED_MAX = 2**63 - 1  # torch generators take seeds below 2^64; JSON tools are safe below 2^63


def setting(default: Any = dataclasses.MISSING, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, hi_open: bool = False, choices: tuple[str, ...] | None = None,
            factory: Any = dataclasses.MISSING, max_items: int | None = None) -> Any:
    """A dataclass field with an allowed range (``lo``..``hi``; ``*_open`` excludes an end) or choices;
    a list-valued field may also bound its length (``max_items``)."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices,
            "max_items": max_items}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def seed(default: int) -> Any:
    """A random seed: an integer in [0, 2^63)."""
    return setting(default, lo=0, hi=SEED_MAX)


def _num(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"lie in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"be {'>' if lo_open else '>='} {_num(lo)}"
    return f"be {'<' if hi_open else '<='} {_num(hi)}"


def check_value(value: Any, key: str, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False, choices: tuple[str, ...] | None = None) -> None:
    """One value (or each item of a tuple/list) against its range or choices; numbers must be finite."""
    if isinstance(value, tuple | list):
        for item in value:
            check_value(item, key, lo, hi, lo_open, hi_open, choices)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {short(value)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    too_low = lo is not None and (value < lo or (lo_open and value == lo))
    too_high = hi is not None and (value > hi or (hi_open and value == hi))
    if too_low or too_high:
        raise ConfigError(f"{key} must {_range_text(lo, hi, lo_open, hi_open)}, got {short(value)}")


def check_fields(section: Any, name: str) -> None:
    """Every field of a settings dataclass against its declared range (``name`` prefixes the keys)."""
    for f in dataclasses.fields(section):
        meta, value = f.metadata, getattr(section, f.name)
        limit = meta.get("max_items")
        if limit is not None and isinstance(value, tuple | list) and len(value) > limit:
            raise ConfigError(f"{name}.{f.name} may hold at most {limit} items, got {len(value)}")
        check_value(value, f"{name}.{f.name}", meta.get("lo"), meta.get("hi"),
                    meta.get("lo_open", False), meta.get("hi_open", False), meta.get("choices"))
