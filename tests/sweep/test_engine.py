"""Local sweeps end to end: ordinary run directories, a failing trial that stops nothing, rerun skips
complete trials and resumes interrupted ones (bit for bit), the summary against the trials' own files."""

from __future__ import annotations

import contextlib
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

import tritlens.api as tl
from tritlens.cli import main
from tritlens.run import RunDir
from tritlens.sweep import load_spec
from tritlens.sweep.summary import jaccard
from tritlens.train.session import train_config

from .specs import spec


def _stop_at(step: int):
    def on_event(name: str, at: int) -> None:
        if (name, at) == ("checkpoint", step):
            raise KeyboardInterrupt
    return on_event


def test_a_failing_trial_is_recorded_and_stops_no_other(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(grid={"train.lr": [0.003, 1000.0]}, seeds=[0])))
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED quick__train.lr=1000.0__seed=0" in printed and "diverged" in printed
    good, bad = RunDir(out / "trials" / "quick__train.lr=0.003__seed=0"), RunDir(
        out / "trials" / "quick__train.lr=1000.0__seed=0")
    assert good.is_complete() and good.failure() is None
    assert not bad.is_complete() and "diverged" in bad.failure()["reason"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"complete": 1, "failed": 1, "interrupted": 0, "pending": 0}
    failed = next(t for t in summary["trials"] if t["status"] == "failed")
    assert "diverged" in failed["error"]
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["results"][failed["name"]]["status"] == "failed"
    assert tl.info(good.path)["complete"] and tl.load_run(good.path).final["step"] == 40  # an ordinary run
    # the spec written into the sweep reruns it: the complete trial is skipped, the failed one retried
    stamp = good.model_path.stat().st_mtime_ns
    assert main(["sweep", str(out / "spec.json"), "--out", str(out), "--quiet"]) == 1
    assert good.model_path.stat().st_mtime_ns == stamp and "diverged" in bad.failure()["reason"]


def test_rerun_skips_complete_trials_and_resumes_interrupted_ones_exactly(tmp_path):
    checked = load_spec(spec(grid={"train.weight_decay": [0.5]}))
    done, cut = checked.trials
    out = tmp_path / "sweep"
    assert tl.sweep(checked.data, out, workers=1).complete
    partial = RunDir(out / "trials" / cut.name)
    shutil.rmtree(partial.path)  # as if the sweep had been stopped right after this trial's checkpoint
    with contextlib.suppress(KeyboardInterrupt):
        train_config(cut.config, partial.path, progress=False, on_event=_stop_at(20))
    assert not partial.is_complete() and [r["step"] for r in partial.read_metrics()] == [0, 10, 20]
    before = partial.read_metrics()
    assert tl.sweep_plan(checked.data, out) == [(done.name, False), (cut.name, True)]
    stamp = RunDir(out / "trials" / done.name).model_path.stat().st_mtime_ns
    seen = []
    summary = tl.sweep(checked.data, out, workers=1, on_trial=lambda r, i, n: seen.append(r["name"]))
    assert summary.complete and seen == [cut.name]  # the complete trial was not even handed to a worker
    assert RunDir(out / "trials" / done.name).model_path.stat().st_mtime_ns == stamp
    assert partial.read_metrics()[:3] == before  # rows up to the checkpoint kept, the rest continued
    alone = tmp_path / "alone"
    train_config(cut.config, alone, progress=False)
    resumed, straight = load_file(str(partial.model_path)), load_file(str(alone / "model.safetensors"))
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_the_summary_agrees_with_every_trials_own_files(tmp_path):
    out = tmp_path / "sweep"
    summary = tl.sweep(spec(fixed={**spec()["fixed"], "train.lr": 0.02, "train.steps": 60}), out,
                       analyze=True)
    assert summary.complete and len(summary.trials) == 4
    written = json.loads((out / "summary.json").read_text())
    assert written == json.loads(json.dumps(summary.to_dict()))
    for t in summary.trials:
        rd = RunDir(out / "trials" / t.name)
        rows = rd.read_metrics()
        assert (t.steps, t.test_loss, t.train_acc) == (rows[-1]["step"], rows[-1]["test_loss"],
                                                      rows[-1]["train_acc"])
        reached = [r["step"] for r in rows if r["test_acc"] >= 0.99]
        assert t.steps_to_99 == (reached[0] if reached else None)
        analysis = json.loads(rd.analysis_path.read_text())
        assert t.key_frequencies == sorted(analysis["fourier"]["key_frequencies"])
        assert t.trit_zero_frac is None  # full precision
    for s in summary.settings:
        keys = [set(t.key_frequencies) for t in summary.trials if t.group == s.group]
        assert s.common_frequencies == sorted(set.intersection(*keys))
        assert s.jaccard == pytest.approx(len(keys[0] & keys[1]) / len(keys[0] | keys[1]))
    again = tl.sweep_summary(out)
    assert again.to_dict() == summary.to_dict()


def test_trit_sparsity_of_ternary_trials(tmp_path):
    fixed = {**spec()["fixed"], "quant.attn": "ternary", "quant.mlp": "ternary", "train.steps": 20}
    summary = tl.sweep(spec(fixed=fixed, seeds=[0], grid={"train.weight_decay": [0.5]}), tmp_path / "s")
    (trial,) = summary.trials
    run = tl.load_run(tmp_path / "s" / "trials" / trial.name)
    assert trial.trit_zero_frac == pytest.approx(tl.trit_summary(run.model)["zero_frac"])


def test_jaccard_of_planted_sets():
    assert jaccard([{1, 2}, {2, 3}]) == pytest.approx(1 / 3)
    assert jaccard([{1, 2}, {1, 2}, {1, 2}]) == 1.0
    assert jaccard([{1}, {2}, {1, 2}]) == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert jaccard([set(), set()]) == 1.0 and jaccard([{4}]) is None
