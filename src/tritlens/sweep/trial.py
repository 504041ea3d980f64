"""One trial, run where a worker runs it (a pool process or a Ray task): train, then optionally analyse.

A trial's outcome is a small JSON-ready dict (``name``, ``status``, ``error``, ``seconds``) so any engine
can carry it back. The run directory itself holds the truth: ``failed.json`` for a failure, a resumable
checkpoint for an interruption, ``model.safetensors`` when complete.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from tritlens.config import RunConfig
from tritlens.errors import TritlensError
from tritlens.interp import analyze_run, write_analysis
from tritlens.run import RunDir, RunLock, load_run
from tritlens.train.session import train_config

COMPLETE, FAILED, INTERRUPTED, PENDING = "complete", "failed", "interrupted", "pending"
Done = Callable[[dict[str, Any]], None]  # an engine's callback, called once per trial with its outcome


def outcome(name: str, status: str, error: str | None = None, seconds: float = 0.0,
            **extra: Any) -> dict[str, Any]:
    return {"name": name, "status": status, "error": error, "seconds": round(seconds, 3), **extra}


def set_threads(threads: int) -> None:
    """Give this worker process ``threads`` torch threads (intra-op; inter-op pinned to 1 when possible)."""
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set, or inter-op work already ran here
        torch.set_num_interop_threads(1)


def run_trial(job: dict[str, Any]) -> dict[str, Any]:
    """Train ``job`` (``name``, ``path``, ``config`` as a dict, ``analyze``) into its run directory.

    An unfinished run with no failure mark resumes from its checkpoint; a failed one starts over (as
    ``tritlens train`` does when rerun); a complete one is left as it is. Never raises for the trial's
    own problems: they come back as ``failed`` (with the reason) or ``interrupted`` (Ctrl-C)."""
    name, path, t0 = job["name"], job["path"], time.perf_counter()
    try:
        cfg = RunConfig.from_dict(job["config"])
        rd = RunDir(path)
        if not rd.is_complete():
            resume = rd.exists() and rd.failure() is None
            train_config(cfg, path, resume=resume, progress=False)
        note = analyze_trial(path) if job.get("analyze") else None
    except KeyboardInterrupt:
        return outcome(name, INTERRUPTED, "interrupted; rerun the sweep to resume", time.perf_counter() - t0)
    except TritlensError as exc:
        return outcome(name, FAILED, str(exc), time.perf_counter() - t0)
    except Exception as exc:  # a bug: keep the traceback on stderr, record the reason, go on with the others
        traceback.print_exc(file=sys.stderr)
        return outcome(name, FAILED, f"internal error: {type(exc).__name__}: {exc}"[:500],
                       time.perf_counter() - t0)
    return outcome(name, COMPLETE, None, time.perf_counter() - t0, analysis=note)


def analyze_trial(path: str | os.PathLike[str]) -> str | None:
    """Write the trial's ``analysis.json`` unless it has one; returns why it has none (or None)."""
    rd = RunDir(path)
    if rd.analysis_path.exists():
        return None
    with RunLock(rd.path, "analyze"):
        run = load_run(rd.path)
        try:
            analysis = analyze_run(run)
        except TritlensError as exc:  # e.g. no checkpoints: the final weights still give key frequencies
            try:
                analysis = analyze_run(run, checkpoints=False)
            except TritlensError:
                return f"analysis does not apply: {exc}"
        write_analysis(rd.path, analysis)
    return None
