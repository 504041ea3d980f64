"""Sweeps: presets x settings x seeds as ordinary run directories, on a local pool or a Ray cluster."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tritlens.api._common import _int, _path
from tritlens.errors import TritlensError, short
from tritlens.sweep import SweepSummary, load_spec, plan, run_sweep, write_summary
from tritlens.sweep.trial import analyze_trial

SpecLike = str | os.PathLike[str] | dict[str, Any]


def sweep(spec: SpecLike, out: str | os.PathLike[str], engine: str = "local", workers: int | None = None,
          address: str | None = None, threads: int | None = None, analyze: bool = False,
          on_trial: Callable[[dict[str, Any], int, int], None] | None = None) -> SweepSummary:
    """Run a sweep spec (a TOML/JSON file or a dict; docs/sweeps.md) into ``out``: one run directory per
    trial, skipping complete trials and resuming interrupted ones. ``workers`` default to the cores,
    ``threads`` per trial to cores // workers; ``engine="ray"`` runs the trials as Ray tasks (``address``
    of a cluster, or a new local instance). Returns the summary (also ``out/summary.json``)."""
    workers = None if workers is None else _int(workers, "workers", 1, 4096)
    threads = None if threads is None else _int(threads, "threads", 1, 1024)
    if address is not None and not isinstance(address, str):
        raise TritlensError(f"address must be a string, got {short(address)}")
    return run_sweep(load_spec(_spec(spec)), _path(out, "out"), engine, workers, threads, address, analyze,
                     on_trial)


def sweep_plan(spec: SpecLike, out: str | os.PathLike[str]) -> list[tuple[str, bool]]:
    """Every trial of ``spec`` and whether a sweep into ``out`` would run it (False: already complete)."""
    checked = load_spec(_spec(spec))
    todo = {t.name for t in plan(checked, _path(out, "out"))}
    return [(t.name, t.name in todo) for t in checked.trials]


def sweep_summary(path: str | os.PathLike[str], analyze: bool = False) -> SweepSummary:
    """The summary of a sweep directory, rewritten to its ``summary.json`` (``analyze``: first write a
    Fourier analysis into every complete trial that has none, for the key frequencies)."""
    root = _path(path, "sweep directory")
    if analyze:
        for trial in write_summary(root).trials:
            if trial.status == "complete":
                analyze_trial(root / "trials" / trial.name)
    return write_summary(root)


def _spec(spec: SpecLike) -> SpecLike:
    return spec if isinstance(spec, dict) else _path(spec, "sweep spec")
