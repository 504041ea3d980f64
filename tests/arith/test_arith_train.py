"""Training on fresh batches: the warm-up + cosine schedule, bit-exact resume, presets that run."""

from __future__ import annotations

import math

import pytest
import torch

import tritlens.api as api
from tritlens.config import RunConfig
from tritlens.errors import ConfigError
from tritlens.run import RunDir, load_tensors
from tritlens.train.trainer import learning_rate

TINY = ["model.d_model=32", "model.d_head=8", "model.n_heads=2", "model.d_mlp=64", "train.batch_size=32",
        "task.digits=3", "task.eval_size=256", "train.eval_every=10", "train.checkpoint_every=20"]


def _config(**train) -> RunConfig:
    return RunConfig.from_dict({"train": train})


def test_constant_schedule_is_unchanged():
    cfg = _config(lr=1e-3, warmup_steps=30, steps=100)
    for step in range(100):
        assert learning_rate(cfg, step) == 1e-3 * min(1.0, (step + 1) / 30)  # the formula before cosine
    assert learning_rate(_config(lr=2e-3), 5) == 2e-3


def test_warmup_cosine_schedule():
    cfg = _config(lr=8e-5, warmup_steps=200, warmup_start=0.01, schedule="cosine", steps=1000)
    lrs = [learning_rate(cfg, s) for s in range(1000)]
    assert math.isclose(lrs[0], 8e-5 * (0.01 + 0.99 / 200))
    assert math.isclose(lrs[199], 8e-5) and math.isclose(lrs[200], 8e-5)
    assert all(a >= b for a, b in zip(lrs[200:], lrs[201:], strict=False))
    assert math.isclose(lrs[600], 8e-5 * 0.5, rel_tol=1e-9) and lrs[-1] < 1e-8
    assert learning_rate(_config(lr=1.0, warmup_steps=50, schedule="cosine", steps=20), 19) < 1.0


def test_resume_after_crash_is_bit_exact_with_fresh_batches(tmp_path, crash_at):
    overrides = [*TINY, "train.steps=50"]
    ref = api.train("add-d5", out=tmp_path / "ref", overrides=overrides, progress=False)
    with crash_at(27):
        api.train("add-d5", out=tmp_path / "cut", overrides=overrides, progress=False)
    resumed = api.train("add-d5", out=tmp_path / "cut", overrides=overrides, resume=True, progress=False)
    a, b = (load_tensors(tmp_path / d / "model.safetensors") for d in ("ref", "cut"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]  # noqa: E731
    assert strip(ref.metrics) == strip(resumed.metrics)
    assert RunDir(tmp_path / "cut").is_complete()


def test_fresh_batch_tasks_need_a_batch_size():
    with pytest.raises(ConfigError, match="set train.batch_size"):
        api.make_config("add-d5", ["train.batch_size=none"])


@pytest.mark.parametrize("preset", ["quirke-add-d5", "quirke-add-d6", "quirke-add-d10", "quirke-sub-d6",
                                    "quirke-mix-d6"])
def test_paper_presets_have_the_paper_shapes_and_train(preset):
    cfg = api.make_config(preset)
    m, t = cfg.model, cfg.train
    assert (m.d_model, m.d_head, m.d_mlp, m.norm, m.act) == (510, 170, 2040, "layer", "relu")
    assert (t.lr, t.weight_decay, t.batch_size, t.schedule, t.warmup_start) == (8e-5, 0.1, 64, "cosine", 0.01)
    assert t.warmup_steps == t.steps // 5
    run = api.train(preset, overrides=["train.steps=3", "train.eval_every=3", "task.eval_size=64"],
                    progress=False)
    assert [r["step"] for r in run.metrics] == [0, 3] and math.isfinite(run.metrics[-1]["train_loss"])
