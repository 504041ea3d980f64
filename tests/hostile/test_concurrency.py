"""Two writers on one run directory: one writes, the other is refused in one line naming the holder (pid,
command); a lock left by ``kill -9`` is stale and taken over; a real Ctrl-C exits 130 and leaves the run
resumable. The trainers here are real ``tritlens`` processes, stopped (SIGSTOP) while they hold the run so
the checks do not race them, then killed at whatever moment they were stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tritlens
import tritlens.api as tl
from tritlens.cli import main
from tritlens.run import RunLock
from tritlens.run.lock import RunLockedError, holder

from .checks import api_fails, cli_fails
from .runs import TINY, train
from .test_kills import assert_same_run

LONG = {**TINY, "train.steps": 300, "train.eval_every": 50, "train.checkpoint_every": 50}
LONG_ARGS = [a for k, v in LONG.items() for a in ("--set", f"{k}={v}")] + ["--quiet", "--threads", "1"]


@pytest.fixture(scope="session")
def long_reference(runs_dir: Path) -> Path:
    out = runs_dir / "reference-long"
    train(out, overrides=LONG)
    return out


def _tritlens(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(tritlens.__file__).parents[1])}
    return subprocess.Popen([sys.executable, "-m", "tritlens.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until(proc: subprocess.Popen, ready, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"exited {proc.returncode} too early: {proc.communicate()[1][-500:]}"
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_second_writer_is_refused_then_kill_9_and_ctrl_c(tmp_path, capsys, long_reference):
    out = tmp_path / "run"
    first = _tritlens("train", "--out", str(out), *LONG_ARGS)
    try:
        _wait_until(first, lambda: holder(out) is not None and (out / "config.json").exists())
        os.kill(first.pid, signal.SIGSTOP)  # holds the lock, somewhere in the run
        who = f"pid {first.pid}, tritlens train"
        cli_fails(capsys, ["train", "--out", str(out), *LONG_ARGS], watch=[tmp_path], match=who)
        cli_fails(capsys, ["train", "--out", str(out), *LONG_ARGS, "--resume"], watch=[tmp_path], match=who)
        cli_fails(capsys, ["train", "--out", str(out), "--resume", "--quiet"], watch=[tmp_path], match=who)
        cli_fails(capsys, ["train", "--out", str(out), *LONG_ARGS, "--force"], watch=[tmp_path], match=who)
        api_fails(lambda: tl.train(out=out, resume=True, progress=False), watch=[tmp_path], match=who,
                  kind=RunLockedError)
        assert main(["info", str(out)]) == 0 and "INCOMPLETE" in capsys.readouterr().out  # readers may look
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(60) == -signal.SIGKILL
    finally:
        first.kill()
        first.communicate()
    assert (out / ".lock").exists() and holder(out) is None  # stale: its holder is dead

    second = _tritlens("train", "--out", str(out), "--resume", "--quiet", "--threads", "1")
    try:
        _wait_until(second, lambda: f"pid {second.pid}," in (holder(out) or ""))  # took the stale lock over
        os.kill(second.pid, signal.SIGSTOP)
        cli_fails(capsys, ["train", "--out", str(out), "--resume", "--quiet"], watch=[tmp_path],
                  match=f"pid {second.pid}, tritlens train")
        os.kill(second.pid, signal.SIGINT)  # Ctrl-C, delivered when it runs again
        os.kill(second.pid, signal.SIGCONT)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 130, err[-500:]
        assert err.splitlines() == ["tritlens: interrupted; resume with --resume"]
    finally:
        second.kill()
        second.communicate()
    assert not (out / ".lock").exists() and not (out / "failed.json").exists()
    assert main(["train", "--out", str(out), "--resume", "--quiet", "--threads", "1"]) == 0
    assert_same_run(out, long_reference)


def test_two_trainers_started_together(tmp_path, long_reference):
    """A real race: exactly one trains; the other is refused in one line (by the lock, or, if it comes
    after the winner finished, because the folder holds a run); the rows are never interleaved."""
    out = tmp_path / "run"
    procs = [_tritlens("train", "--out", str(out), *LONG_ARGS) for _ in range(2)]
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        results.append((proc.returncode, err))
    assert sorted(code for code, _ in results) == [0, 2], results
    err = next(err for code, err in results if code == 2)
    assert len(err.splitlines()) == 1, err
    assert "in use by another tritlens process (pid" in err or "already holds a run" in err, err
    assert_same_run(out, long_reference)


def test_analyze_while_a_writer_holds_the_run(tmp_path, capsys, copy_run, tiny_run):
    run = copy_run(tiny_run)
    with RunLock(run, "train"):
        who = f"pid {os.getpid()}, tritlens train"
        cli_fails(capsys, ["analyze", str(run), "--quiet"], watch=[tmp_path], match=who)
        cli_fails(capsys, ["analyze", str(run), "--final-only", "--force", "--quiet"], watch=[tmp_path],
                  match=who)
        api_fails(lambda: tl.analyze(run), watch=[tmp_path], match=who, kind=RunLockedError)
    assert not (run / ".lock").exists()
    assert main(["analyze", str(run), "--final-only", "--quiet"]) == 0  # free again
