"""Running a sweep: check everything, claim the sweep directory, run the unfinished trials, summarise.

    SWEEP/spec.json       the spec in normal form (``tritlens sweep SWEEP/spec.json --out SWEEP`` reruns it)
    SWEEP/sweep.json      the manifest: spec, trials (name, preset, settings, seed), each trial's last outcome
    SWEEP/summary.json    the summary (:mod:`tritlens.sweep.summary`), rewritten at the end of every run
    SWEEP/trials/NAME/    one ordinary run directory per trial
    SWEEP/.lock           held by the one process running the sweep

Everything that can be refused is refused before the directory is created: the spec (every trial's
config), the engine (Ray installed, its address reachable), and trial directories left by an earlier
run that hold another config. Rerunning a sweep skips complete trials, resumes interrupted ones from
their checkpoints and starts failed ones over; the spec may grow (more seeds, more values) between runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tritlens.errors import TritlensError
from tritlens.run import RunDir, RunLock, atomic_write_text, schema
from tritlens.run.files import check_writable_folder, reason
from tritlens.run.lock import LOCK_NAME, RunLockedError, holder, refuse_if_locked
from tritlens.sweep.pool import run_pool, share
from tritlens.sweep.ray_engine import ray_session, run_ray
from tritlens.sweep.spec import SweepSpec, Trial
from tritlens.sweep.summary import MANIFEST, SPEC, SUMMARY, TRIALS, SweepSummary, read_manifest, summarize
from tritlens.sweep.trial import COMPLETE, PENDING, outcome
from tritlens.train.claim import decide

ENGINES = ("local", "ray")
OnTrial = Callable[[dict[str, Any], int, int], None]  # (outcome, finished so far, to run)


class SweepError(TritlensError):
    """A sweep that cannot start: its directory, its engine or an earlier trial is in the way."""


def plan(spec: SweepSpec, out: str | os.PathLike[str]) -> list[Trial]:
    """The trials still to run (not complete) after checking ``out`` and every existing trial directory."""
    root = Path(out)
    try:
        if root.exists() and not root.is_dir():
            raise SweepError(f"--out {root} is a file; choose a directory")
        if root.is_dir() and not (root / MANIFEST).is_file() \
                and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise SweepError(f"--out {root} is not empty and holds no sweep; choose another directory")
        if (root / MANIFEST).is_file():
            read_manifest(root)  # a damaged manifest is refused, not replaced
            refuse_if_locked(root)
        check_writable_folder(root, "--out")
        todo = []
        for trial in spec.trials:
            rd = RunDir(root / TRIALS / trial.name)
            if rd.path.exists():
                try:
                    decide(rd, trial.config, resume=True, force=False)
                except TritlensError as exc:
                    raise SweepError(f"trial {trial.name[:80]}: {exc}") from None
            if not rd.is_complete():
                todo.append(trial)
    except OSError as exc:
        raise SweepError(f"--out {root}: {reason(exc)}") from None
    return todo


def run_sweep(spec: SweepSpec, out: str | os.PathLike[str], engine: str = "local", workers: int | None = None,
              threads: int | None = None, address: str | None = None, analyze: bool = False,
              on_trial: OnTrial | None = None) -> SweepSummary:
    """Run the unfinished trials of ``spec`` into ``out`` and return the summary (also in summary.json).

    A KeyboardInterrupt stops the running trials (left resumable), records them, and is raised again."""
    if engine not in ENGINES:
        raise SweepError(f"unknown engine {str(engine)[:40]!r}; choose local or ray")
    if engine == "local" and address is not None:
        raise SweepError("--address needs --engine ray")
    workers, threads = share(workers, threads)
    todo = plan(spec, out)
    session = ray_session(address, workers * threads) if engine == "ray" else contextlib.nullcontext()
    with session as ray:  # connected before the directory exists: an unreachable cluster leaves nothing
        return _claimed(spec, Path(out), todo, ray, workers, threads, analyze, on_trial)


def _claimed(spec: SweepSpec, root: Path, todo: list[Trial], ray: Any, workers: int, threads: int,
             analyze: bool, on_trial: OnTrial | None) -> SweepSummary:
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"cannot create {root}: {reason(exc)}") from None
    lock = RunLock(root, "sweep")
    try:
        lock.acquire()
    except BaseException:
        if created:
            root.rmdir()
        raise
    try:
        return _run(spec, root, todo, ray, workers, threads, analyze, on_trial)
    finally:
        lock.release()


def _run(spec: SweepSpec, root: Path, todo: list[Trial], ray: Any, workers: int, threads: int,
         analyze: bool, on_trial: OnTrial | None) -> SweepSummary:
    old = read_manifest(root)["results"] if (root / MANIFEST).is_file() else {}
    manifest = {"schema": 1, "spec": spec.data, "swept": spec.swept,
                "trials": [{"name": t.name, "group": t.group, "preset": t.preset, "settings": t.settings,
                            "seed": t.seed} for t in spec.trials],
                "results": {t.name: old.get(t.name) or outcome(t.name, PENDING) for t in spec.trials},
                "engine": {"name": "local" if ray is None else "ray", "workers": workers, "threads": threads}}
    waiting = {t.name for t in todo}
    for t in spec.trials:
        if t.name not in waiting:
            manifest["results"][t.name] = {**manifest["results"][t.name], "status": COMPLETE, "error": None}
    atomic_write_text(root / SPEC, schema.dumps(spec.data))
    _write(root / MANIFEST, manifest, schema.SWEEP_MANIFEST)
    jobs = [{"name": t.name, "path": str(root / TRIALS / t.name), "config": t.config.to_dict(),
             "analyze": analyze} for t in spec.trials if t.name in waiting or analyze]
    finished = 0

    def done(result: dict[str, Any]) -> None:
        nonlocal finished
        finished += 1
        manifest["results"][result["name"]] = {k: result[k] for k in ("name", "status", "error", "seconds")}
        _write(root / MANIFEST, manifest, schema.SWEEP_MANIFEST)
        if on_trial is not None:
            on_trial(result, finished, len(jobs))

    try:
        if ray is not None:
            run_ray(ray, jobs, threads, done)
        else:
            run_pool(jobs, workers, threads, done)
    finally:
        summary = summarize(root)
        _write(root / SUMMARY, summary.to_dict(), schema.SWEEP_SUMMARY)
    return summary


def _write(path: Path, data: dict[str, Any], shape: dict[str, Any]) -> None:
    text = schema.dumps(data)
    schema.check(schema.loads(text, path.name), shape, path.name)
    atomic_write_text(path, text)


def write_summary(sweep_dir: str | os.PathLike[str]) -> SweepSummary:
    """The current summary of a sweep directory, also written to its ``summary.json`` unless the sweep
    is running (its process rewrites the file when it ends)."""
    summary = summarize(sweep_dir)
    if holder(sweep_dir) is None:
        with contextlib.suppress(RunLockedError), RunLock(sweep_dir, "sweep-summary"):
            _write(Path(sweep_dir) / SUMMARY, summary.to_dict(), schema.SWEEP_SUMMARY)
    return summary
