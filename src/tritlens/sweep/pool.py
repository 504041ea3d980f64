"""The local engine: spawned worker processes that share this machine's cores without oversubscribing.

Each worker takes one trial at a time from a queue and trains it with ``threads`` torch threads, so
``workers x threads`` never exceeds the cores (by default one worker per core, one thread each).

Ctrl-C: every worker gets SIGINT (from the terminal, or forwarded here). A worker inside a trial stops
it (the run stays resumable, as ``tritlens train`` leaves it); a worker between trials starts no other.
The pool then waits for the workers and raises KeyboardInterrupt. A worker that dies (killed, out of
memory) fails only its own trial.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
from typing import Any

from tritlens.sweep.trial import FAILED, INTERRUPTED, PENDING, Done, outcome

_state = {"in_trial": False, "stopping": False}


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def share(workers: int | None, threads: int | None, available: int | None = None) -> tuple[int, int]:
    """(workers, threads per worker): workers default to the cores, threads to cores // workers (>= 1)."""
    n = available or cores()
    workers = workers or n
    return workers, threads or max(1, n // workers)


def _on_sigint(signum: int, frame: Any) -> None:
    first = not _state["stopping"]
    _state["stopping"] = True
    if first and _state["in_trial"]:  # the first Ctrl-C stops the trial; more only set the flag again
        raise KeyboardInterrupt


def _worker(tasks: Any, results: Any, threads: int) -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    from tritlens.sweep.trial import run_trial, set_threads
    set_threads(threads)
    pid = os.getpid()
    while True:
        job = tasks.get()
        if job is None:
            return
        if _state["stopping"]:
            results.put(("done", pid, outcome(job["name"], PENDING, "not started (interrupted)")))
            continue
        results.put(("start", pid, job["name"]))
        try:
            _state["in_trial"] = True
            result = run_trial(job)
        except KeyboardInterrupt:  # arrived just outside the trial's own handler
            result = outcome(job["name"], INTERRUPTED, "interrupted; rerun the sweep to resume")
        finally:
            _state["in_trial"] = False
        results.put(("done", pid, result))


def run_pool(jobs: list[dict[str, Any]], workers: int, threads: int, on_done: Done) -> None:
    """Run every job on ``min(workers, len(jobs))`` spawned processes; ``on_done(outcome)`` per trial."""
    if not jobs:
        return
    ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited torch thread pools or locks
    tasks, results = ctx.Queue(), ctx.Queue()
    n = min(workers, len(jobs))
    for job in [*jobs, *[None] * n]:
        tasks.put(job)
    procs = [ctx.Process(target=_worker, args=(tasks, results, threads), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    pending = {job["name"] for job in jobs}
    try:
        _collect(procs, results, pending, on_done)
    except KeyboardInterrupt:
        for p in procs:  # the terminal may have sent it to us alone (kill -INT, an IDE's stop button)
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(p.pid, signal.SIGINT)
        _collect(procs, results, pending, on_done)
        raise
    finally:
        for p in procs:
            p.join(timeout=30)


def _collect(procs: list[Any], results: Any, pending: set[str], on_done: Done) -> None:
    """Hand on outcomes until every job has one or every worker has exited."""
    running: dict[int, str] = {}
    while pending:
        try:
            kind, pid, payload = results.get(timeout=0.5)
        except queue.Empty:
            _reap(procs, running, pending, on_done)
            if not any(p.is_alive() for p in procs):
                for name in sorted(pending):  # the queue is drained: nobody will start these
                    pending.discard(name)
                    on_done(outcome(name, PENDING, "not started (the workers stopped)"))
            continue
        if kind == "start":
            running[pid] = payload
        elif payload["name"] in pending:
            running.pop(pid, None)
            pending.discard(payload["name"])
            on_done(payload)


def _reap(procs: list[Any], running: dict[int, str], pending: set[str], on_done: Done) -> None:
    """A worker that died inside a trial fails that trial (its run directory stays resumable)."""
    for p in procs:
        name = running.get(p.pid) if not p.is_alive() else None
        if name is not None and name in pending:
            running.pop(p.pid)
            pending.discard(name)
            on_done(outcome(name, FAILED, f"the worker process died (exit code {p.exitcode}); rerun the "
                                          "sweep to resume"))
