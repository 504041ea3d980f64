"""GrokFast (train.grokfast_*): the EMA gradient filter's arithmetic, exact resume, settings, report tag."""

from __future__ import annotations

import torch
from cli_checks import fails
from report.synthetic import make_input
from torch import nn

import tritlens.api as api
from tritlens.interp.analysis import _grokfast
from tritlens.presets import preset_config
from tritlens.report import build_report
from tritlens.run import RunDir, load_tensors
from tritlens.train.grokfast import GrokFast

SMALL = ["task.p=23", "model.d_model=32", "model.d_head=8", "model.d_mlp=64", "train.eval_every=10",
         "train.checkpoint_every=20"]


def test_filter_adds_lambda_times_the_gradient_average():
    layer = nn.Linear(3, 2)
    layer.bias.requires_grad_(False)  # frozen parameters are left alone
    fast = GrokFast(layer, alpha=0.9, lamb=2.0)
    g1, g2 = torch.randn(2, 3), torch.randn(2, 3)
    layer.weight.grad = g1.clone()
    fast.after_backward()  # the first gradient starts the average
    assert torch.allclose(layer.weight.grad, 3 * g1) and torch.equal(fast.ema_weight, g1)
    layer.weight.grad = g2.clone()
    fast.after_backward()
    ema = 0.9 * g1 + 0.1 * g2
    assert torch.allclose(fast.ema_weight, ema) and torch.allclose(layer.weight.grad, g2 + 2 * ema)
    assert not hasattr(fast, "ema_bias") and list(fast.parameters()) == []


def test_grokfast_changes_training_and_resumes_exactly(tmp_path, crash_at):
    overrides = [*SMALL, "train.steps=60", "train.grokfast_lambda=2.0"]
    ref = api.train("quick", out=tmp_path / "ref", overrides=overrides, progress=False)
    plain = api.train("quick", overrides=[*SMALL, "train.steps=60"], progress=False)
    assert ref.metrics[-1]["train_loss"] != plain.metrics[-1]["train_loss"]
    resume = load_tensors(tmp_path / "ref" / "checkpoints" / "resume.safetensors")
    assert bool(resume["extension.0.started"]) and float(resume["extension.0.ema_embed_W_E"].abs().sum()) > 0
    with crash_at(33):
        api.train("quick", out=tmp_path / "cut", overrides=overrides, progress=False)
    assert RunDir(tmp_path / "cut").checkpoint_steps() == [20]
    api.train("quick", out=tmp_path / "cut", overrides=overrides, resume=True, progress=False)
    for name in ("model.safetensors", "checkpoints/resume.safetensors"):
        a, b = load_tensors(tmp_path / "ref" / name), load_tensors(tmp_path / "cut" / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("counters.wall"))


def test_preset_and_bad_settings(tmp_path, capsys):
    cfg = preset_config("nanda2023-grokfast")
    assert (cfg.train.grokfast_alpha, cfg.train.grokfast_lambda) == (0.98, 2.0)
    plain = preset_config("nanda2023")
    assert cfg.model == plain.model and cfg.task == plain.task and plain.train.grokfast_lambda == 0
    assert (cfg.train.weight_decay, plain.train.weight_decay) == (5.0, 1.0)
    argv = ["train", "--preset", "quick", "--out", str(tmp_path / "x"), "--quiet"]
    fails(capsys, [*argv, "--set", "train.grokfast_alpha=1"], "train.grokfast_alpha")
    fails(capsys, [*argv, "--set", "train.grokfast_lambda=-1"], "train.grokfast_lambda")
    assert not (tmp_path / "x").exists()


def test_report_runs_table_names_the_filter():
    assert _grokfast(preset_config("nanda2023").train) is None
    assert _grokfast(preset_config("nanda2023-grokfast").train) == {"alpha": 0.98, "lambda": 2.0}
    plain, fast = make_input("nanda2023", "full", seed=0), make_input("nanda2023-grokfast", "full", seed=1)
    fast.analysis["run"]["grokfast"] = {"alpha": 0.98, "lambda": 2.0}
    page = build_report([plain, fast], None)
    assert page.count("GrokFast α 0.98 λ 2") == 1
