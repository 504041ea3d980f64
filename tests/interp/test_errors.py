"""Bad input is a one-line TritlensError, and nothing is half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tritlens.api as api
from tritlens.errors import TritlensError
from tritlens.interp import analyze_run, write_analysis
from tritlens.tasks.base import Split, Task

TINY = ["task.p=11", "model.d_model=16", "model.d_head=4", "model.n_heads=4", "model.d_mlp=32",
        "train.steps=20", "train.eval_every=10", "train.checkpoint_every=10"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "run"
    api.train("quick", out=out, overrides=TINY, progress=False)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(src, dst)
    return dst


def test_tiny_run_analyses_and_writes(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(tiny_run, tmp_path)
    analysis = api.analyze(run_dir)
    assert json.loads((run_dir / "analysis.json").read_text()) == analysis
    assert analysis["progress"]["steps"] == [10, 20]


def test_run_without_checkpoints(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(tiny_run, tmp_path)
    shutil.rmtree(run_dir / "checkpoints")
    with pytest.raises(TritlensError, match="no checkpoints"):
        api.analyze(run_dir)
    assert not (run_dir / "analysis.json").exists()
    assert api.analyze(run_dir, checkpoints=False)["progress"]["steps"] == []


def test_corrupted_checkpoint_keeps_the_old_analysis(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(tiny_run, tmp_path)
    old = api.analyze(run_dir)
    (run_dir / "checkpoints" / "step_000010.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TritlensError, match="step_000010"):
        api.analyze(run_dir, force=True)
    assert json.loads((run_dir / "analysis.json").read_text()) == old
    assert not list(run_dir.glob(".analysis.json.*"))


def test_corrupted_config(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(tiny_run, tmp_path)
    (run_dir / "config.json").write_text("{ broken")
    with pytest.raises(TritlensError):
        api.analyze(run_dir)


def test_write_analysis_refuses_unserialisable_data(tmp_path: Path) -> None:
    write_analysis(tmp_path, {"schema": 1, "x": [1.0, float("nan")]})
    assert json.loads((tmp_path / "analysis.json").read_text())["x"] == [1.0, None]
    with pytest.raises(TritlensError, match="exists"):
        write_analysis(tmp_path, {"schema": 1, "x": [2.0]})
    with pytest.raises(TypeError):
        write_analysis(tmp_path, {"schema": 1, "x": object()}, force=True)
    assert json.loads((tmp_path / "analysis.json").read_text())["x"] == [1.0, None]


class _ParityTask(Task):
    name, d_vocab, d_vocab_out, n_ctx, answer_positions = "parity", 2, 2, 3, (2,)

    def split(self) -> tuple[Split, Split]:
        raise NotImplementedError

    def describe(self) -> str:
        return "parity"


def _memory_run(overrides: list[str]) -> api.Run:
    from tritlens.build import build_model, build_task
    from tritlens.presets import preset_config

    cfg = preset_config("quick", overrides)
    return api.Run(None, cfg, build_model(cfg, build_task(cfg)), [])


def test_non_modular_task() -> None:
    run = _memory_run(TINY)
    run.task = _ParityTask()
    with pytest.raises(TritlensError, match="modular arithmetic"):
        analyze_run(run, checkpoints=False)


@pytest.mark.parametrize("op", ["a*a + b", "a**2"])
def test_unsupported_op(op: str) -> None:
    with pytest.raises(TritlensError, match="supports task.op"):
        analyze_run(_memory_run([*TINY, f"task.op={op}"]), checkpoints=False)


def test_p_too_large_for_the_grid() -> None:
    with pytest.raises(TritlensError, match="too large"):
        analyze_run(_memory_run(["task.p=1009", "model.d_model=16", "model.d_head=4", "model.d_mlp=32"]),
                    checkpoints=False)
