"""Ctrl-C during a sweep: exit 130, every started trial left resumable (no failure mark, no lock held,
a checkpoint to resume from), no worker left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import tritlens
from tritlens.run import RunDir
from tritlens.run.lock import holder
from tritlens.sweep import load_spec
from tritlens.train.claim import RESUME, decide

from .specs import spec

SRC = str(Path(tritlens.__file__).parents[1])


def _wait(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_ctrl_c_leaves_resumable_trials(tmp_path):
    long = {**spec()["fixed"], "train.steps": 100_000, "train.eval_every": 20, "train.checkpoint_every": 20}
    data = spec(fixed=long, grid={"train.weight_decay": [0.5]})
    (tmp_path / "spec.json").write_text(json.dumps(data))
    out = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = ["sweep", str(tmp_path / "spec.json"), "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "tritlens.cli", *argv], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trials = [RunDir(out / "trials" / t.name) for t in load_spec(data).trials]
    try:
        started = _wait(lambda: all(t.resume_path.exists() for t in trials), 120)
        assert started, "the trials never reached a checkpoint"
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted" in err and "Traceback" not in err, err[-500:]
    assert _wait(lambda: _group_gone(proc.pid), 10), "a worker outlived the sweep"
    manifest = json.loads((out / "sweep.json").read_text())
    for trial, run in zip(load_spec(data).trials, trials, strict=True):
        assert not run.is_complete() and run.failure() is None and holder(run.path) is None
        assert decide(run, trial.config, resume=True, force=False) == RESUME
        assert manifest["results"][trial.name]["status"] == "interrupted"
    assert json.loads((out / "summary.json").read_text())["counts"]["interrupted"] == 2


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False
