"""Kills at exact moments (SIGKILL and SIGINT after each kind of write), then ``--resume``: the final
weights and every checkpoint are bit-identical to an uninterrupted run, the metrics identical in every
field but wall_time, and nothing is left behind (no temporary file, no lock, no failure mark).

The killing happens in one subprocess for all tests (``killer.py``; its folder is shared by the test
processes); each test resumes a private copy of one killed run in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import tritlens
from tritlens.cli import main
from tritlens.run.lock import holder

from .conftest import once
from .runs import BATCHED, TINY, train

FULL = [("metrics", 0), ("metrics", 5), ("metrics", 10), ("weights", 10), ("checkpoint", 10),
        ("metrics", 15), ("metrics", 20), ("weights", 20), ("checkpoint", 20), ("final", 20)]
BATCH = [("metrics", 0), ("metrics", 3), ("weights", 4), ("checkpoint", 4), ("metrics", 6), ("weights", 8),
         ("metrics", 9), ("checkpoint", 12), ("final", 12)]

JOBS: dict[str, dict] = {
    **{f"SIGKILL after {e} {s}": {"overrides": TINY, "kills": [[e, s, "SIGKILL"]]} for e, s in FULL},
    **{f"SIGINT after {e} {s}": {"overrides": TINY, "kills": [[e, s, "SIGINT"]]}
       for e, s in [("metrics", 0), ("metrics", 5), ("weights", 10), ("checkpoint", 10), ("metrics", 20)]},
    **{f"minibatches, SIGKILL after {e} {s}": {"overrides": BATCHED, "kills": [[e, s, "SIGKILL"]]}
       for e, s in BATCH},
    "killed twice": {"overrides": TINY, "kills": [["metrics", 5, "SIGKILL"], ["weights", 10, "SIGKILL"]]},
    "killed, resumed, interrupted": {"overrides": TINY, "kills": [["checkpoint", 10, "SIGKILL"],
                                                                   ["metrics", 15, "SIGINT"]]},
    "minibatches killed twice": {"overrides": BATCHED, "kills": [["metrics", 3, "SIGKILL"],
                                                                 ["checkpoint", 8, "SIGKILL"]]},
}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


@pytest.fixture(scope="session")
def killed(shared_root: Path) -> tuple[Path, dict[str, list[int]]]:
    """Every job of JOBS run (once per test session) by killer.py; returns its folder and exit statuses."""
    with once(shared_root, "killed") as folder:
        results = folder / "results.json"
        if not results.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            jobs = [{**job, "out": str(folder / _slug(name))} for name, job in JOBS.items()]
            (folder / "jobs.json").write_text(json.dumps(jobs))
            env = {**os.environ, "PYTHONPATH": str(Path(tritlens.__file__).parents[1])}
            done = subprocess.run([sys.executable, str(Path(__file__).with_name("killer.py")),
                                   str(folder / "jobs.json")], capture_output=True, text=True, env=env,
                                  timeout=600)
            assert done.returncode == 0, done.stderr[-2000:]
            statuses = dict(zip(JOBS, json.loads(done.stdout), strict=True))
            results.write_text(json.dumps(statuses))
    return folder, json.loads(results.read_text())


@pytest.fixture(scope="session")
def references(runs_dir: Path) -> dict[str, Path]:
    """Uninterrupted runs of both settings."""
    out = {}
    for name, overrides in (("full", TINY), ("batched", BATCHED)):
        out[name] = runs_dir / f"reference-{name}"
        train(out[name], overrides=overrides)
    return out


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("wall_time")
    return rows


def assert_same_run(run: Path, reference: Path) -> None:
    """``run`` ended exactly as ``reference``: same files, same weights bit for bit, same metrics."""
    names = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    assert names == sorted(str(p.relative_to(reference)) for p in reference.rglob("*"))
    for path in [run / "model.safetensors", *sorted((run / "checkpoints").glob("*.safetensors"))]:
        assert_same_tensors(path, reference / path.relative_to(run), skip={"counters.wall_time"})
    assert _rows(run) == _rows(reference)


def assert_same_tensors(path: Path, other: Path, skip: set[str]) -> None:
    """Same names, dtypes and bits (and metadata). Files are not compared byte for byte: safetensors
    writes its metadata in an order that changes from process to process."""
    mine, theirs = load_file(str(path)), load_file(str(other))
    assert mine.keys() == theirs.keys(), path.name
    for key in mine.keys() - skip:
        a, b = mine[key], theirs[key]
        assert a.dtype == b.dtype and a.shape == b.shape, (path.name, key)
        assert a.view(-1).view(torch.uint8).equal(b.view(-1).view(torch.uint8)), (path.name, key)
    with safe_open(str(path), framework="pt") as f, safe_open(str(other), framework="pt") as g:
        assert f.metadata() == g.metadata(), path.name


def _killed_copy(killed, name: str, tmp_path: Path) -> Path:
    folder, statuses = killed
    signals = [-9 if sig == "SIGKILL" else 130 for _, _, sig in JOBS[name]["kills"]]
    assert statuses[name] == signals, statuses[name]
    src = folder / _slug(name)
    assert not list(src.rglob("*.tmp")) and not (src / "failed.json").exists()
    assert holder(src) is None  # the killer is dead: a lock file it left is stale
    assert (src / ".lock").exists() == (signals[-1] == -9)  # Ctrl-C releases (and removes) the lock
    run = tmp_path / "run"
    shutil.copytree(src, run, symlinks=True)
    return run


def _resume(run: Path, capsys) -> None:
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--threads", "1"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("name", JOBS)
def test_resume_after_kill(killed, references, tmp_path, capsys, name):
    run = _killed_copy(killed, name, tmp_path)
    _resume(run, capsys)
    reference = references["batched" if JOBS[name]["overrides"] is BATCHED else "full"]
    assert_same_run(run, reference)


TORN = {
    # killed after the row of step 15 (checkpoint at 10): a later write cut mid-line
    "half of a later row": ("SIGKILL after metrics 15", lambda text: text + text.splitlines()[-1][:40]),
    # the last row itself cut (it follows the checkpoint, so it is recomputed)
    "the last row cut": ("SIGKILL after metrics 15", lambda text: text[: text.rstrip("\n").rfind("\n") + 30]),
    # the checkpoint's own row cut: the restored model gives it back
    "the checkpoint's row cut": ("SIGKILL after checkpoint 10",
                                 lambda text: text[: text.rstrip("\n").rfind("\n") + 30]),
    "a cut row with a NUL tail": ("SIGKILL after metrics 15", lambda text: text + '{"step": 2\x00\x00'),
}


@pytest.mark.parametrize("name", TORN)
def test_torn_last_line_is_repaired(killed, references, tmp_path, capsys, name):
    job, cut = TORN[name]
    run = _killed_copy(killed, job, tmp_path)
    metrics = run / "metrics.jsonl"
    metrics.write_text(cut(metrics.read_text()))
    assert not metrics.read_text().endswith("\n")
    _resume(run, capsys)
    assert_same_run(run, references["full"])


def test_interrupt_exits_130_and_resumes(tmp_path, capsys, monkeypatch, references):
    """Ctrl-C in the CLI (KeyboardInterrupt right after the first checkpoint): exit 130, one line, the run
    resumable and unmarked."""
    import tritlens.train.trainer as trainer_module

    original = trainer_module.Trainer.checkpoint

    def checkpoint_then_interrupt(self, step, wall):
        original(self, step, wall)
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module.Trainer, "checkpoint", checkpoint_then_interrupt)
    run = tmp_path / "run"
    argv = ["train", "--out", str(run), *[a for kv in TINY.items() for a in ("--set", f"{kv[0]}={kv[1]}")],
            "--quiet", "--threads", "1"]
    assert main(argv) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["tritlens: interrupted; resume with --resume"]
    assert not (run / "failed.json").exists() and not (run / ".lock").exists()
    assert (run / "checkpoints" / "resume.safetensors").exists() and not (run / "model.safetensors").exists()
    monkeypatch.undo()
    _resume(run, capsys)
    assert_same_run(run, references["full"])
