"""What every front-door call shares: run arguments and checks of what a caller passes."""

from __future__ import annotations

import math
import os
from pathlib import Path

from tritlens.errors import TritlensError, short
from tritlens.run import Run, load_run

RunLike = Run | str | os.PathLike[str]
MAX_MODULE_INPUTS = 16
MAX_SECONDS = 86_400
MAX_PER_CLASS = 10_000
MAX_PROPERTY_BYTES = 1 << 20


def _opened(run: RunLike) -> Run:
    return run if isinstance(run, Run) else load_run(_path(run, "run"))


# -- checks of what a caller passes (the CLI's parser does the same for the command line) ---------
def _path(value: object, what: str) -> Path:
    """A path given as str or os.PathLike; anything else is bad input, not a TypeError."""
    try:
        text = os.fspath(value)  # type: ignore[arg-type]
    except TypeError:
        text = None
    if not isinstance(text, str) or "\x00" in text:
        raise TritlensError(f"{what} must be a path (a str or os.PathLike), got {short(value)}")
    return Path(text)


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise TritlensError(f"{what} must be an integer in [{lo}, {hi}], got {short(value)}")
    return value


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < value <= MAX_SECONDS:  # type: ignore[operator]
        raise TritlensError(f"timeout must be a number of seconds in (0, {MAX_SECONDS}], got {short(value)}")
    return float(value)  # type: ignore[arg-type]
