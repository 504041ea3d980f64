"""Claiming an output directory for training: checked, created, locked, and cleaned up on refusal.

Everything that can be checked without the directory (settings, device, memory, the task's data) is
checked by the caller first. Then the directory is created if needed and locked, its state is checked
again under the lock, and only then is anything written. A refusal leaves no directory behind.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import RunDirError
from tritlens.run import RunDir, RunLock
from tritlens.run.files import check_writable_folder, reason
from tritlens.run.lock import refuse_if_locked

NEW, RESUME, COMPLETE = "new", "resume", "complete"


@dataclass
class Claim:
    """A locked run directory and what training should do with it (``new``, ``resume``, ``complete``)."""

    run: RunDir
    lock: RunLock
    mode: str

    def release(self) -> None:
        self.lock.release()


def _same_config(a: RunConfig, b: RunConfig) -> str:
    """'' when the configs agree (device and version aside), else the first difference."""
    mine, theirs = a.to_dict(), b.to_dict()
    for d in (mine, theirs):
        d["train"].pop("device")
        d.pop("version")
    return _first_difference(theirs, mine)


def _first_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            found = _first_difference(va, vb, f"{prefix}{key}.")
            if found:
                return found
        elif va != vb:
            return f"{prefix}{key}: stored {str(va)[:40]}, given {str(vb)[:40]}"
    return ""


def decide(run: RunDir, cfg: RunConfig, resume: bool, force: bool) -> str:
    """What training ``cfg`` into ``run`` means: new, resume or complete; a RunDirError if refused."""
    if not run.path.exists():
        return NEW
    if not run.path.is_dir():
        raise RunDirError(f"{run.path} is a file; choose a directory for --out")
    if not run.exists():
        if run.is_empty():
            return NEW
        raise RunDirError(f"{run.path} is not empty and holds no tritlens run; choose another --out")
    if force:
        return NEW
    stored = run.read_config()
    diff = _same_config(cfg, stored)
    failure = run.failure()
    if resume:
        if diff:
            raise RunDirError(f"{run.path} holds a run with a different config ({diff}); resume it without "
                              "--preset/--set, or choose another --out")
        return COMPLETE if run.is_complete() else RESUME
    if failure is not None and not diff:
        return NEW  # a failed run with the same config starts over
    raise RunDirError(f"{run.path} already holds a run; pass --resume to continue it, --force to replace "
                      "it, or choose another --out")


def claim(out: str | os.PathLike[str], cfg: RunConfig, resume: bool = False, force: bool = False) -> Claim:
    """Check, create and lock ``out`` for training ``cfg``; write its config for a new run.

    A resumed run is left as it is: the caller reads its resume state, and only then clears a failure
    mark, so a damaged run refused here or there is byte-identical afterwards.
    """
    run = RunDir(out)
    try:
        return _claim(run, cfg, resume, force)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise RunDirError(f"--out {run.path}: {reason(exc)}") from None


def precheck(out: str | os.PathLike[str], cfg: RunConfig, resume: bool = False, force: bool = False) -> str:
    """What :func:`claim` would do with ``out`` (new, resume, complete), or its refusal; writes nothing.
    Lets a caller that claims several directories refuse before creating any."""
    run = RunDir(out)
    try:
        return _precheck(run, cfg, resume, force)
    except OSError as exc:
        raise RunDirError(f"--out {run.path}: {reason(exc)}") from None


def _precheck(run: RunDir, cfg: RunConfig, resume: bool, force: bool) -> str:
    if run.path.is_symlink() and not run.path.exists():
        raise RunDirError(f"{run.path} is a dangling symbolic link; remove it or choose another --out")
    if run.path.is_dir():
        refuse_if_locked(run.path)  # a second writer learns who holds the run
    mode = decide(run, cfg, resume, force)  # refuse early, before creating anything
    check_writable_folder(run.path, "--out")
    return mode


def _claim(run: RunDir, cfg: RunConfig, resume: bool, force: bool) -> Claim:
    _precheck(run, cfg, resume, force)
    created = not run.path.exists()
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"cannot create {run.path}: {reason(exc)}") from None
    lock = RunLock(run.path, "train")
    try:
        lock.acquire()
        mode = decide(run, cfg, resume, force)  # again, now that nobody else can change it
        if mode == NEW:
            run.clear()
            run.write_config(cfg)
    except BaseException:
        lock.release()
        if created:
            _remove_if_empty(run.path)
        raise
    return Claim(run, lock, mode)


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
