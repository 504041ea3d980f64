import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import tritlens.api as api
from tritlens.run import RunDir, load_tensors
from tritlens.train import trainer as trainer_mod
from tritlens.train.memory import estimate_memory

SMALL = ["task.p=23", "task.train_frac=0.5", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
         "train.eval_every=10", "train.checkpoint_every=20"]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_tensors(path / "model.safetensors")


def _same_metrics(a: list[dict], b: list[dict]) -> bool:
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]  # noqa: E731
    return strip(a) == strip(b)


@pytest.mark.parametrize("extra", [[], ["train.batch_size=64", "train.warmup_steps=30"]],
                         ids=["full-batch", "minibatch-warmup"])
def test_resume_after_crash_equals_uninterrupted_run(tmp_path, monkeypatch, extra):
    overrides = [*SMALL, "train.steps=90", *extra]
    ref = api.train("quick", out=tmp_path / "ref", overrides=overrides, progress=False)

    real_step = trainer_mod.Trainer.step

    def crashing_step(self, step):
        if step == 47:  # after the checkpoint at 40, before the one at 60
            raise RuntimeError("simulated crash")
        real_step(self, step)

    monkeypatch.setattr(trainer_mod.Trainer, "step", crashing_step)
    with pytest.raises(RuntimeError, match="simulated crash"):
        api.train("quick", out=tmp_path / "cut", overrides=overrides, progress=False)
    assert not RunDir(tmp_path / "cut").is_complete()
    assert RunDir(tmp_path / "cut").checkpoint_steps() == [20, 40]
    monkeypatch.setattr(trainer_mod.Trainer, "step", real_step)

    resumed = api.train("quick", out=tmp_path / "cut", overrides=overrides, resume=True, progress=False)
    a, b = _weights(tmp_path / "ref"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _same_metrics(ref.metrics, resumed.metrics)
    assert _same_metrics(RunDir(tmp_path / "ref").read_metrics(), RunDir(tmp_path / "cut").read_metrics())


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    args = ["--preset", "quick", *[x for s in [*SMALL, "train.steps=400"] for x in ("--set", s)], "--quiet"]
    cli = [sys.executable, "-m", "tritlens.cli", "train"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([*cli, *args, "--out", str(tmp_path / "ref")], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*cli, *args, "--out", str(tmp_path / "cut")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = RunDir(tmp_path / "cut")
    deadline = time.time() + 120
    while len(run.checkpoint_steps()) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not run.is_complete(), "the run finished before it could be killed; make it longer"
    done = subprocess.run([*cli, *args, "--out", str(tmp_path / "cut"), "--resume"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    a, b = _weights(tmp_path / "ref"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _same_metrics(RunDir(tmp_path / "ref").read_metrics(), run.read_metrics())


def test_in_memory_training_and_load_run(tmp_path):
    run = api.train("quick", out=tmp_path / "r", overrides=[*SMALL, "train.steps=40"], progress=False)
    assert [m["step"] for m in run.metrics] == [0, 10, 20, 30, 40]
    loaded = api.load_run(tmp_path / "r")
    assert loaded.config == run.config
    assert loaded.checkpoint_steps() == [20, 40]
    assert loaded.step == run.step == 40 and api.load_run(tmp_path / "r", step=20).step == 20
    x = loaded.task.all_pairs().tokens
    assert torch.equal(loaded.model(x), run.model(x))
    early = loaded.load_checkpoint(20)
    assert not torch.equal(early(x), loaded.model(x))
    mem = api.train("quick", overrides=[*SMALL, "train.steps=40"], progress=False)
    assert mem.path is None and _same_metrics(mem.metrics, run.metrics)


def test_quick_preset_memorises_then_groks(tmp_path):
    run = api.train("quick", out=tmp_path / "q", overrides=["train.stop_at_test_acc=0.99"], progress=False)
    assert run.final["test_acc"] >= 0.99
    memorised = next(m for m in run.metrics if m["train_acc"] >= 0.99)
    assert memorised["test_acc"] < 0.6, "expected memorisation well before generalisation"
    assert run.final["step"] >= memorised["step"] + 500


def test_memory_estimate_counts_gradients_for_training_batches_only():
    # evaluation (no gradients, between steps) needs each activation once; a training step twice
    small = estimate_memory(api.make_config("add-d5", ["train.batch_size=256", "task.eval_size=4096"]))
    large = estimate_memory(api.make_config("add-d5", ["train.batch_size=8192", "task.eval_size=4096"]))
    assert small.activations > 0 and large.activations == 2 * small.activations
