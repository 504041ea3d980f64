"""Auxiliary readout loss (train.aux_*): linear heads learn a task feature with the model; exact resume."""

from __future__ import annotations

import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.run import RunDir, load_tensors
from tritlens.train import trainer as trainer_mod
from tritlens.train.extensions import LinearReadout, feature_values

SMALL = ["task.p=23", "model.d_model=32", "model.d_head=8", "model.d_mlp=64", "model.n_layers=2",
         "train.eval_every=20", "train.checkpoint_every=20", "train.batch_size=128"]


def test_readout_heads_learn_the_feature():
    cfg = api.make_config("quick", [*SMALL, "train.steps=150", "train.aux_target=a", "train.aux_weight=1",
                                    "train.aux_hook=blocks.1.hook_resid_post"])
    trainer = trainer_mod.Trainer(cfg, None, progress=False)
    readout = trainer.extensions[0]
    assert isinstance(readout, LinearReadout) and readout.w.shape == (1, 32)
    trainer.fit()
    test = trainer.test_data
    with torch.no_grad(), trainer.model.hooks(readout.fwd_hooks()):
        trainer.model(test.tokens)
    pred = readout.predict(readout._act)[..., 0]  # [batch, pos]
    target = feature_values(trainer.task, test, "a")
    mse = (pred - target).pow(2).mean()
    assert mse < 0.2 * target.var()  # the model's stream carries a, and the head reads it


def test_per_head_readout_and_exact_resume(tmp_path, crash_at):
    overrides = [*SMALL, "train.steps=60", "train.aux_target=a", "train.aux_weight=0.01"]
    api.train("quick", out=tmp_path / "ref", overrides=overrides, progress=False)
    resume = load_tensors(tmp_path / "ref" / "checkpoints" / "resume.safetensors")
    assert resume["extension.0.w"].shape == (4, 8)  # last layer's hook_z: one map per head
    assert float(resume["extension.0.w"].abs().sum()) > 0 and "optim.extension.0.w.exp_avg" in resume
    with crash_at(33):
        api.train("quick", out=tmp_path / "cut", overrides=overrides, progress=False)
    assert not RunDir(tmp_path / "cut").is_complete()
    api.train("quick", out=tmp_path / "cut", overrides=overrides, resume=True, progress=False)
    for name in ("model.safetensors", "checkpoints/resume.safetensors"):
        a, b = load_tensors(tmp_path / "ref" / name), load_tensors(tmp_path / "cut" / name)
        assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("counters.wall"))


def test_bad_aux_settings(tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--out", str(tmp_path / "x"), "--quiet"]
    fails(capsys, [*argv, "--set", "train.aux_target=carry"], "is not a feature of this task")
    fails(capsys, [*argv, "--set", "train.aux_target=a", "--set", "train.aux_hook=blocks.1.attn.hook_z"],
          "is not a readable hook")
    fails(capsys, [*argv, "--set", "train.aux_target=a", "--set", "train.aux_weight=-1"], "train.aux_weight")
    assert not (tmp_path / "x").exists()
