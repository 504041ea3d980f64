"""Safe file primitives: atomic writes with umask modes, bounded reads, and output-path checks.

Every file tritlens writes goes through :func:`atomic_write_bytes` (a temporary file in the same
folder, fsync, rename), so a crash never leaves a half-written file under its real name. Every
output path goes through :class:`Output`, which refuses to replace an existing file unless told
to, and never replaces one of the command's own inputs.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tritlens.errors import TritlensError

MAX_TEXT_BYTES = 64 << 20  # JSON and text files tritlens reads (configs, metrics, analyses)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def reason(exc: OSError) -> str:
    """The OS's short reason for a failed file operation."""
    return exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)


@contextmanager
def atomic_target(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write; on success it is fsynced and renamed over ``path``.

    On any error the temporary file is removed and ``path`` is untouched. The file's mode follows
    the umask (not the temporary file's 0600), also when the writer replaced the temporary file.
    """
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise TritlensError(f"cannot write {out}: {reason(exc)}") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # some writers (safetensors) create the file anew
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TritlensError(f"cannot write {out}: {reason(exc)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_target`)."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def read_bytes(path: str | os.PathLike[str], what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """Read at most ``limit`` bytes of a regular file; larger, special or unreadable files are refused."""
    p = Path(path)
    try:
        if not p.is_file():
            problem = "is not a regular file" if p.exists() else "does not exist"
            raise TritlensError(f"{what} {p} {problem}")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise TritlensError(f"cannot read {what} {p}: {reason(exc)}") from None
    if len(data) > limit:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
        raise TritlensError(f"{what} {p} is larger than {size}; refusing to read it")
    return data


def read_text(path: str | os.PathLike[str], what: str, limit: int = MAX_TEXT_BYTES) -> str:
    try:
        return read_bytes(path, what, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise TritlensError(f"{what} {path} is not UTF-8 text") from None


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, following links; None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Output:
    """One file a command will write, checked before any work is done.

    Refuses: a directory, a dangling symbolic link, a folder that does not exist (unless
    ``make_folder``: the folder is itself an output, as ``--png DIR``) or cannot be written, an existing
    file without ``force``, and (even with ``force``) any file the command reads (``inputs``: files, or
    folders whose every file counts as an input).
    """

    def __init__(self, path: str | os.PathLike[str], *, force: bool = False,
                 inputs: Iterable[str | os.PathLike[str]] = (), what: str = "output",
                 make_folder: bool = False) -> None:
        self.path, self.force, self.what, self.make_folder = Path(path), force, what, make_folder
        try:
            self.check(list(inputs))
        except OSError as exc:  # e.g. a file name longer than the file system allows
            raise TritlensError(f"{self.what} {self.path}: {reason(exc)}") from None

    def check(self, inputs: list[str | os.PathLike[str]]) -> None:
        p = self.path
        if str(p) in ("", "."):
            raise TritlensError(f"{self.what} needs a file name")
        if p.is_symlink() and not p.exists():
            raise TritlensError(f"{self.what} {p} is a dangling symbolic link; remove it or choose another")
        if p.is_dir():
            raise TritlensError(f"{self.what} {p} is a directory; give a file name")
        own = file_id(p)
        if own is not None and own in input_ids(inputs):
            raise TritlensError(f"{self.what} {p} is one of this command's inputs; choose another path")
        if own is not None and not self.force:
            raise TritlensError(f"{self.what} {p} exists; pass --force to replace it")
        if own is not None and not p.is_file():
            raise TritlensError(f"{self.what} {p} exists and is not a regular file")
        if not self.make_folder and not p.parent.exists():
            raise TritlensError(f"{self.what} folder {p.parent} does not exist; create it first (a typo "
                                "would otherwise leave a stray folder)")
        check_writable_folder(p.parent, self.what)

    def write(self, data: bytes | str) -> Path:
        """Write atomically (re-checking that no file appeared meanwhile unless ``force``)."""
        if not self.force and file_id(self.path) is not None:
            raise TritlensError(f"{self.what} {self.path} exists; pass --force to replace it")
        return atomic_write_bytes(self.path, data.encode() if isinstance(data, str) else data)


def input_ids(inputs: Iterable[str | os.PathLike[str]]) -> set[tuple[int, int]]:
    """(device, inode) of every input file, descending into input folders."""
    ids: set[tuple[int, int]] = set()
    for item in inputs:
        p = Path(item)
        files = (f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        ids.update(i for i in map(file_id, files) if i is not None)
    return ids


def check_writable_folder(folder: Path, what: str) -> None:
    """The nearest existing ancestor of ``folder`` must be a writable directory."""
    probe = folder if str(folder) else Path(".")
    while not probe.exists():
        if probe.is_symlink():
            raise TritlensError(f"{what} folder {probe} is a dangling symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise TritlensError(f"{what} folder {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TritlensError(f"{what} folder {probe} is not writable")
