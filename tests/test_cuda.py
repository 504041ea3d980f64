"""The CUDA device: training, ensembles, analysis and grading give the CPU's results up to float
tolerance. Run where a CUDA device exists; skipped elsewhere (bad-input checks for --device cuda on a
machine without CUDA live in tests/hostile/test_settings.py)."""

from __future__ import annotations

import pytest
import torch

import tritlens.api as api
from tritlens.build import build_model, build_task
from tritlens.presets import preset_config
from tritlens.train.trainer import answer_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SMALL = ["task.p=23", "task.train_frac=0.5", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
         "train.eval_every=10", "train.checkpoint_every=20", "train.steps=40"]
ARITH = ["model.d_model=48", "model.d_head=12", "model.d_mlp=96", "model.n_heads=4", "train.batch_size=32",
         "task.digits=3", "task.eval_size=256", "train.eval_every=10", "train.checkpoint_every=20",
         "train.steps=20"]


@pytest.mark.parametrize("preset", ["nanda2023", "li2024-ternary", "add-d5"])
def test_fast_path_values_and_gradients_match_the_cpu(preset):
    cfg = preset_config(preset, ["task.digits=3"] if preset == "add-d5" else [])
    task = build_task(cfg)
    data = task.split()[0].subset(slice(0, 512))
    grads = []
    for device in ("cpu", "cuda"):
        model = build_model(cfg, task).to(device)
        logits = model.answer_logits(data.tokens.to(device), task.answer_positions)
        answer_loss(logits, data.targets.to(device), torch.float64).backward()
        grads.append([p.grad.cpu() for p in model.parameters() if p.requires_grad] + [logits.detach().cpu()])
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-4 * float(a.abs().max()) + 1e-7, rtol=1e-3)


def test_training_analysis_and_grading_on_cuda(tmp_path):
    cpu = api.train("quick", out=tmp_path / "cpu", overrides=[*SMALL, "train.steps=10"], progress=False)
    gpu = api.train("quick", out=tmp_path / "gpu", overrides=[*SMALL, "train.steps=10", "train.device=cuda"],
                    progress=False)
    assert gpu.config.train.device == "cuda"
    for a, b in zip(cpu.metrics, gpu.metrics, strict=True):  # a few steps: rounding has not grown yet
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-3 * a["train_loss"]
    analysis = api.analyze(tmp_path / "gpu")  # a run trained on the GPU loads and analyses like any other
    assert analysis["final"]["step"] == 10
    api.train("add-d5", out=tmp_path / "add", overrides=ARITH, progress=False)
    on_cpu = api.grade(tmp_path / "add", questions=20_000, write=False)
    on_gpu = api.grade(tmp_path / "add", questions=20_000, write=False, device="cuda")
    assert abs(on_cpu["failures"] - on_gpu["failures"]) <= 20  # argmax ties may fall either way


def test_ensemble_on_cuda_matches_runs_trained_alone(tmp_path):
    overrides = [*SMALL, "train.steps=10", "train.device=cuda"]
    runs = api.train_ensemble("quick", out=tmp_path / "ens", seeds="0,1", overrides=overrides, progress=False)
    alone = api.train("quick", out=tmp_path / "alone", overrides=[*overrides, "train.seed=1"], progress=False)
    a, b = runs[1].model.state_dict(), alone.model.state_dict()
    assert all(torch.allclose(a[k].cpu(), b[k].cpu(), atol=1e-4) for k in a)
