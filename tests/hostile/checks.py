"""The checks every hostile case makes: exit 2 (or a TritlensError), one short line, nothing changed.

``snapshot`` records every entry under some folders (type, mode, bytes, link targets), so comparing two
snapshots catches a changed byte, a new file (a leftover temporary file, a half-made directory), a
removed file and a changed mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tritlens.cli import main
from tritlens.errors import TritlensError

MAX_LINE = 500  # an error line longer than this is not "short"
BIG = 16 << 20  # files larger than this are compared by size, time and a hash of their start


def _entry(p: Path) -> Any:
    st = os.lstat(p)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(p))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", stat.S_IMODE(st.st_mode))
    if not stat.S_ISREG(st.st_mode):
        return ("special", stat.S_IFMT(st.st_mode))
    if st.st_size > BIG:
        with p.open("rb") as f:
            head = hashlib.sha256(f.read(1 << 20)).hexdigest()
        return ("big", st.st_size, st.st_mtime_ns, head, stat.S_IMODE(st.st_mode))
    return ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))


def snapshot(*roots: str | os.PathLike[str]) -> dict[str, Any]:
    """Every entry under ``roots`` (not following links), keyed by path."""
    out: dict[str, Any] = {}
    for root in map(Path, roots):
        if not os.path.lexists(root):
            out[str(root)] = None
            continue
        out[str(root)] = _entry(root)
        if root.is_dir() and not root.is_symlink():
            for dirpath, dirs, files in os.walk(root):
                for name in dirs + files:
                    p = Path(dirpath) / name
                    out[str(p)] = _entry(p)
    return out


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Paths added, removed or changed between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _one_line(err: str) -> str:
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err[:600]!r}"
    assert lines[0].startswith("tritlens: error: "), err[:600]
    assert len(lines[0]) <= MAX_LINE, f"error line of {len(lines[0])} characters"
    return lines[0]


def cli_fails(capsys: pytest.CaptureFixture[str], argv: list[str],
              watch: Iterable[str | os.PathLike[str]] = (), match: str = "") -> str:
    """``tritlens ARGV`` exits 2 with one short line on stderr (containing ``match``), prints no warning,
    and leaves everything under ``watch`` as it was. Returns the line."""
    watch = list(watch)
    before = snapshot(*watch)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses bad flags before main's try block
            code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}; stderr {err[:300]!r}; stdout {out[:300]!r}"
    assert not caught, f"warnings would reach stderr: {[str(w.message)[:100] for w in caught]}"
    line = _one_line(err)
    assert match in line, line
    assert changes(before, snapshot(*watch)) == []
    return line


def api_fails(call: Callable[[], Any], watch: Iterable[str | os.PathLike[str]] = (), match: str = "",
              kind: type[TritlensError] = TritlensError) -> str:
    """``call()`` raises ``kind`` (a TritlensError) with a one-line short message; nothing under ``watch``
    changes. Returns the message."""
    watch = list(watch)
    before = snapshot(*watch)
    with pytest.raises(kind) as info, contextlib.redirect_stderr(io.StringIO()):
        call()
    message = str(info.value)
    assert "\n" not in message and "\r" not in message and len(message) <= MAX_LINE, repr(message[:600])
    assert all(c.isprintable() for c in message), repr(message[:600])
    assert match in message, message
    assert changes(before, snapshot(*watch)) == []
    return message
