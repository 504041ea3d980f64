"""Runs shared by the hostile tests, trained once per test process and copied by each test that
changes them; and the folder shared by all test processes (for the subprocess that kills trainers)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .runs import DISCRETE, stop_at, train


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-runs")


@pytest.fixture(scope="session")
def tiny_run(runs_dir: Path) -> Path:
    """A complete run (checkpoints at 10 and 20) that nothing may change: copy it first."""
    out = runs_dir / "tiny"
    train(out)
    return out


@pytest.fixture(scope="session")
def partial_run(runs_dir: Path) -> Path:
    """The tiny run interrupted right after its step-10 checkpoint (resumable, rows 0, 5, 10)."""
    out = runs_dir / "partial"
    with contextlib.suppress(KeyboardInterrupt):
        train(out, on_event=stop_at("checkpoint", 10))
    assert not (out / "model.safetensors").exists()
    return out


@pytest.fixture(scope="session")
def discrete_run(runs_dir: Path) -> Path:
    """A complete ternary-MLP run (compile, verify and modules need a discrete model)."""
    out = runs_dir / "discrete"
    train(out, "ternary-mlp-modadd", DISCRETE)
    return out


@pytest.fixture
def copy_run(tmp_path: Path) -> Callable[[Path, str], Path]:
    """``copy_run(src, name)``: a private copy of a shared run under this test's tmp_path."""
    def copy(src: Path, name: str = "run") -> Path:
        dst = tmp_path / name
        shutil.copytree(src, dst, symlinks=True)
        return dst
    return copy


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every test process of this session sees (xdist workers share their base's parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def once(root: Path, name: str) -> Iterator[Path]:
    """``with once(root, name) as folder:`` runs the block under a lock shared by every test process, so
    a block that first checks whether ``folder`` is complete does its work in one process only."""
    lock = os.open(root / f"{name}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield root / name
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)

