"""An exclusive lock per run directory, for every command that writes into it.

The lock is ``RUN/.lock`` held with ``flock``: the kernel drops it when its holder dies, so a lock
file left behind by ``kill -9`` is stale by construction and the next writer simply takes it over.
The file names its holder (pid, command, start time) so a refused writer can say who is in the way;
it is removed on release, and an acquirer re-checks that the path still names the file it locked.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import sys
import time
from pathlib import Path
from types import TracebackType

from tritlens.errors import RunDirError
from tritlens.run.files import current_umask, reason

LOCK_NAME = ".lock"


class RunLockedError(RunDirError):
    """Another process is writing into the run directory."""


class RunLock:
    """``with RunLock(path, "train"):`` holds the run directory's lock for the block (non-blocking)."""

    def __init__(self, run_dir: str | os.PathLike[str], command: str) -> None:
        self.dir, self.command = Path(run_dir), command
        self.path = self.dir / LOCK_NAME
        self.fd: int | None = None
        self.took_over: dict | None = None  # what a dead holder's lock file said, if there was one

    def acquire(self) -> RunLock:
        for _ in range(20):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder(fd)
                os.close(fd)
                raise locked_error(self.dir, who) from None
            if self._still_ours(fd):
                self.fd = fd
                try:
                    self.took_over = _read_json(fd)
                    self._claim(fd)
                    return self
                except OSError as exc:  # a full disk: give the lock back and leave no lock file
                    self.release()
                    raise RunDirError(f"cannot lock {self.dir}: {reason(exc)}") from None
                except BaseException:  # Ctrl-C while claiming: the same, since no `with` block will
                    self.release()
                    raise
            os.close(fd)  # released and unlinked between our open and flock: try again
        raise RunDirError(f"cannot lock {self.dir}: the lock file keeps changing")

    def _open(self) -> int:
        """The lock file, opened without following links; anything but a plain file of its own (a link,
        a pipe, a second name of another file) is refused, since taking the lock writes into it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK,
                         0o666 & ~current_umask())
        except OSError as exc:
            problem = "it is a symbolic link" if exc.errno == errno.ELOOP else reason(exc)
            raise RunDirError(f"cannot lock {self.dir} ({self.path.name}): {problem}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise RunDirError(f"cannot lock {self.dir}: {self.path} is not a plain lock file; remove it")
        return fd

    def _still_ours(self, fd: int) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        own = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def _claim(self, fd: int) -> None:
        info = {"pid": os.getpid(), "command": self.command,
                "since": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": " ".join(sys.argv[:3])[:200]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still held: nobody can lock the old inode meanwhile
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_json(fd: int) -> dict | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (ValueError, OSError):
        return None
    return data if isinstance(data, dict) else None


def _holder(fd: int) -> str:
    info = _read_json(fd) or {}
    pid, command, since = info.get("pid"), info.get("command"), info.get("since")
    if not isinstance(pid, int):
        return "holder unknown"
    return f"pid {pid}, tritlens {str(command)[:20]}, since {str(since)[:19]}"


def locked_error(run_dir: str | os.PathLike[str], holder: str) -> RunLockedError:
    return RunLockedError(f"{run_dir} is in use by another tritlens process ({holder}); wait for it to "
                          "finish or stop it")


def holder(run_dir: str | os.PathLike[str]) -> str | None:
    """Who holds the lock of ``run_dir`` (pid, command, start) if a live process does, else None.

    Only looks: a stale lock file (its holder died) counts as free and is left alone."""
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


def is_locked(run_dir: str | os.PathLike[str]) -> bool:
    """Whether a live process holds the lock of ``run_dir`` (a stale lock file counts as free)."""
    return holder(run_dir) is not None


def refuse_if_locked(run_dir: str | os.PathLike[str]) -> None:
    """A RunLockedError naming the holder when a live process holds ``run_dir``'s lock."""
    who = holder(run_dir)
    if who is not None:
        raise locked_error(run_dir, who)
