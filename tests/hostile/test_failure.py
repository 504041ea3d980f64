"""A run that fails after its directory exists is marked failed (failed.json, shown by info), in one line
with exit 2; a rerun with the same config starts over; a changed config needs --force."""

from __future__ import annotations

import errno
import json
import os

import pytest

import tritlens.api as tl
from tritlens.cli import main
from tritlens.errors import TritlensError
from tritlens.train.trainer import TrainingFailed

from .checks import api_fails, cli_fails
from .runs import TINY, TINY_ARGS
from .test_kills import assert_same_run


@pytest.mark.parametrize("lr", ["1000", "100"])
def test_divergence_marks_the_run_failed(tmp_path, capsys, lr):
    run = tmp_path / "run"
    argv = ["train", "--out", str(run), *TINY_ARGS, "--set", f"train.lr={lr}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "diverged" in err[0] and "marked failed" in err[0], err
    failure = json.loads((run / "failed.json").read_text())
    assert "diverged" in failure["reason"] and isinstance(failure["step"], int)
    assert not (run / "model.safetensors").exists() and not (run / ".lock").exists()
    assert not list(run.rglob("*.tmp"))
    assert main(["info", str(run)]) == 0
    assert "FAILED: training diverged" in capsys.readouterr().out
    assert main(["info", str(run), "--json"]) == 0
    assert "diverged" in json.loads(capsys.readouterr().out)["failed"]["reason"]
    # a changed config is refused without --force (and changes nothing) ...
    cli_fails(capsys, ["train", "--out", str(run), *TINY_ARGS, "--set", "train.lr=0.003"], watch=[tmp_path],
              match="already holds a run")
    cli_fails(capsys, ["analyze", str(run)], watch=[tmp_path], match="failed: training diverged")
    cli_fails(capsys, ["report", str(run), "-o", str(tmp_path / "r.html")], watch=[tmp_path], match="failed")
    # ... and replaces the failed run with it
    assert main(["train", "--out", str(run), *TINY_ARGS, "--set", "train.lr=0.003", "--force"]) == 0
    assert not (run / "failed.json").exists() and (run / "model.safetensors").exists()


def _fail_at(step: int):
    def on_event(name: str, at: int) -> None:
        if (name, at) == ("metrics", step):
            raise TritlensError("the disk went away\nfor a while")
    return on_event


def test_rerun_with_the_same_config_starts_over(tmp_path, capsys, tiny_run):
    run = tmp_path / "run"
    message = api_fails(lambda: tl.train("quick", out=run, overrides=TINY, progress=False,
                                         on_event=_fail_at(15)), kind=TrainingFailed)
    assert "the disk went away for a while" in message and "marked failed" in message
    assert json.loads((run / "failed.json").read_text())["step"] == 15
    assert main(["train", "--out", str(run), *TINY_ARGS]) == 0  # same config: starts over, no --force
    capsys.readouterr()
    assert_same_run(run, tiny_run)


def test_resume_continues_a_failed_run(tmp_path, capsys, tiny_run):
    run = tmp_path / "run"
    with pytest.raises(TrainingFailed):
        tl.train("quick", out=run, overrides=TINY, progress=False, on_event=_fail_at(15))
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--threads", "1"]) == 0
    capsys.readouterr()
    assert_same_run(run, tiny_run)


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_at_a_checkpoint(tmp_path, capsys, monkeypatch, tiny_run):
    """The safetensors writer reports a full disk with its own error type: still one line, the run marked
    failed, no temporary file; once there is space again, --resume finishes it exactly."""
    import safetensors.torch

    import tritlens.run.tensors as tensors

    def full(tensors_, path, metadata=None):
        if "step_000020" in path or "step_000020" in str(metadata):
            raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device")
        return safetensors.torch.save_file(tensors_, path, metadata=metadata)

    monkeypatch.setattr(tensors, "save_file", full)
    run = tmp_path / "run"
    line = cli_fails(capsys, ["train", "--out", str(run), *TINY_ARGS])
    assert "No space left on device" in line and "marked failed" in line
    assert not list(run.rglob("*.tmp")) and not (run / ".lock").exists()
    monkeypatch.undo()
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--threads", "1"]) == 0
    capsys.readouterr()
    assert_same_run(run, tiny_run)


def test_disk_full_when_taking_the_lock(tmp_path, capsys, monkeypatch):
    """Taking the lock writes the holder into .lock: if that fails, no lock file and no directory stay."""
    import tritlens.run.lock as lock

    monkeypatch.setattr(lock.os, "pwrite", _no_space)
    cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS], watch=[tmp_path],
              match="No space left on device")


def test_ctrl_c_while_taking_the_lock_leaves_no_lock_file(tmp_path, monkeypatch):
    """Ctrl-C right after the holder is written (before any ``with`` block owns the lock): the lock is
    given back and its file removed, so the next writer finds a free run, not a stale lock."""
    import tritlens.run.lock as lock

    claim = lock.RunLock._claim

    def claim_then_interrupt(self, fd):
        claim(self, fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(lock.RunLock, "_claim", claim_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        lock.RunLock(tmp_path, "train").acquire()
    assert not (tmp_path / ".lock").exists() and lock.holder(tmp_path) is None
    monkeypatch.setattr(lock.RunLock, "_claim", claim)
    with lock.RunLock(tmp_path, "train") as held:
        assert f"pid {os.getpid()}," in (lock.holder(tmp_path) or "") and held.took_over is None


def test_disk_full_for_the_failure_mark_too(tmp_path, capsys, monkeypatch):
    import tritlens.run.layout as layout

    def fail_marking(self, why, step):
        raise TritlensError(f"cannot write {self.failure_path}: No space left on device")

    monkeypatch.setattr(layout.RunDir, "mark_failed", fail_marking)
    line = cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, "--set", "train.lr=1000"])
    assert "diverged" in line and "could not be marked failed either" in line
    assert not (tmp_path / "run" / ".lock").exists()
