"""What a report is built from (one :class:`ReportInput` per run) and tolerant readers for it.

The analysis dict follows the interp data contract (``schema`` 2); every part except ``run`` and
``final`` is optional here, and the readers below return ``None`` or empty values instead of
raising when a part is missing or has the wrong type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

PHASE_ORDER = ("memorisation", "circuit formation", "clean-up")


class ReportInput(NamedTuple):
    """One run in a report: a display name, its analysis dict, metrics rows and figure arrays, and the
    circuit analyses' files it has (``grade``, ``circuit``,
    ``attribution``, ``patching``, ``probes``, ``ln_removal``) and, for a fully discrete run, its gates."""

    name: str
    analysis: dict[str, Any]
    metrics: list[dict[str, Any]]
    figure_data: dict[str, Any]
    outputs: dict[str, Any] = {}  # noqa: RUF012 (never mutated)
    gates: dict[str, Any] | None = None  # a fully discrete run's circuit (``report.gates.circuit_data``)


def section(inp: ReportInput, key: str) -> dict[str, Any]:
    """``analysis[key]`` when it is a dict, else an empty dict."""
    value = inp.analysis.get(key) if isinstance(inp.analysis, dict) else None
    return value if isinstance(value, dict) else {}


def fourier(inp: ReportInput) -> dict[str, Any] | None:
    """The Fourier part when it exists and applies to this run, else ``None``."""
    part = section(inp, "fourier")
    if not part or part.get("applies") is False:
        return None
    return part


def fourier_note(inp: ReportInput) -> str:
    """Why a run has no Fourier plots ('' when it has them)."""
    part = section(inp, "fourier")
    if not part:
        return "no Fourier analysis"
    if part.get("applies") is False:
        return str(part.get("note") or "the Fourier analysis does not apply to this run")
    return ""


def floats(values: Any) -> np.ndarray | None:
    """A float64 vector (``None`` entries become NaN), or ``None`` for a missing or empty value."""
    if values is None:
        return None
    try:
        arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and arr.size else None


def series(inp: ReportInput, key: str, part: str = "progress") -> np.ndarray | None:
    return floats(section(inp, part).get(key))


def metric_series(inp: ReportInput, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, values) of one metric over the run's metrics rows, or ``None`` when it was not logged."""
    rows = [r for r in inp.metrics if isinstance(r, dict) and "step" in r and key in r]
    if not rows:
        return None
    steps = np.array([float(r["step"]) for r in rows])
    values = np.array([_num(r[key]) for r in rows])
    return steps, values


def phases(inp: ReportInput) -> list[dict[str, Any]]:
    """The progress phases that have a name and numeric start < end."""
    out = []
    for ph in section(inp, "progress").get("phases") or []:
        if not isinstance(ph, dict):
            continue
        start, end = _num(ph.get("start")), _num(ph.get("end"))
        if math.isfinite(start) and math.isfinite(end) and end > start:
            out.append({"name": str(ph.get("name", "")), "start": start, "end": end})
    return out


def array(inp: ReportInput, key: str, ndim: int) -> np.ndarray | None:
    """``figure_data[key]`` as an array with ``ndim`` dimensions, or ``None``."""
    value = inp.figure_data.get(key) if isinstance(inp.figure_data, dict) else None
    if value is None:
        return None
    arr = np.asarray(value)
    return arr if arr.ndim == ndim and arr.size else None


def run_label(inp: ReportInput) -> str:
    """``name (precision)`` for titles, or just the name when the precision is unknown or in it."""
    precision = str(section(inp, "run").get("precision") or "")
    if not precision or precision in inp.name:
        return inp.name
    return f"{inp.name} ({precision})"


def unique_names(names: Sequence[str]) -> list[str]:
    """Make display names unique by appending #2, #3, ... to repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def with_unique_names(inputs: Sequence[ReportInput]) -> list[ReportInput]:
    """The inputs with display names made unique (the report uses names as ids and file names)."""
    names = unique_names([str(i.name) for i in inputs])
    return [i._replace(name=n) for i, n in zip(inputs, names, strict=True)]


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
