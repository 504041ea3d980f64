"""Ensembles (tritlens train --seeds/--vary): each member equals its run trained alone, bit for bit;
interrupted ensembles resume exactly; bad member lists are refused before any folder exists."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.cli import main
from tritlens.errors import ConfigError
from tritlens.run import RunDir, load_tensors
from tritlens.threads import torch_threads
from tritlens.train import ensemble as ensemble_mod
from tritlens.train.ensemble import parse_seeds
from tritlens.train.trainer import TrainingFailed

SMALL = ["task.p=23", "task.train_frac=0.5", "model.d_model=32", "model.d_head=8", "model.d_mlp=64",
         "train.eval_every=10", "train.checkpoint_every=20", "train.steps=40"]


def _files(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    ckpts = sorted((path / "checkpoints").iterdir())
    names = ["model.safetensors", *(f"checkpoints/{p.name}" for p in ckpts)]
    return {n: load_tensors(path / n) for n in names}


def _rows(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in RunDir(path).read_metrics()]


def _same_as_alone(member: Path, alone: Path) -> None:
    a, b = _files(member), _files(alone)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        same = [torch.equal(a[name][k], b[name][k]) for k in a[name] if not k.startswith("counters.wall")]
        assert all(same), name
    assert _rows(member) == _rows(alone)
    assert json.loads((member / "config.json").read_text()) == json.loads((alone / "config.json").read_text())


APART = {"task.data_seed": [598, 7], "train.checkpoint_every": [20, 15]}


def _resumes_like_runs_alone(tmp_path: Path, members: list[tuple[int, int]],
                             workers: int | None = None) -> None:
    """Resume the APART ensemble in tmp_path/ens (config from the runs) and compare ``members``
    (data seed, checkpoint cadence) with runs trained alone."""
    api.train_ensemble(out=tmp_path / "ens", vary=APART, resume=True, progress=False, workers=workers)
    overrides = [s for s in SMALL if "checkpoint_every" not in s]
    for data_seed, every in members:
        alone = tmp_path / f"alone-{data_seed}-{every}"
        api.train("quick", out=alone, progress=False,
                  overrides=[*overrides, f"task.data_seed={data_seed}", f"train.checkpoint_every={every}"])
        _same_as_alone(tmp_path / "ens" / f"data_seed-{data_seed}_checkpoint_every-{every}", alone)


def test_members_equal_runs_trained_alone(tmp_path):
    runs = api.train_ensemble("quick", out=tmp_path / "ens", seeds="0,1", overrides=SMALL, progress=False,
                              vary={"train.weight_decay": [1.0, 0.3]})
    names = sorted(p.name for p in (tmp_path / "ens").iterdir())
    assert names == ["seed-0_weight_decay-0.3", "seed-0_weight_decay-1.0", "seed-1_weight_decay-0.3",
                     "seed-1_weight_decay-1.0"]
    assert [r.path.name for r in runs] == ["seed-0_weight_decay-1.0", "seed-0_weight_decay-0.3",
                                           "seed-1_weight_decay-1.0", "seed-1_weight_decay-0.3"]
    for seed, wd in [(0, 0.3), (1, 1.0)]:
        alone = tmp_path / f"alone-{seed}-{wd}"
        api.train("quick", out=alone, overrides=[*SMALL, f"train.seed={seed}", f"train.weight_decay={wd}"],
                  progress=False)
        _same_as_alone(tmp_path / "ens" / f"seed-{seed}_weight_decay-{wd}", alone)
    again = api.train_ensemble("quick", out=tmp_path / "ens", seeds="0,1", overrides=SMALL, resume=True,
                               vary=["train.weight_decay=1.0,0.3"], progress=False)  # complete: nothing to do
    assert [r.final for r in again] == [r.final for r in runs]


def test_interrupted_ensemble_resumes_exactly(tmp_path, monkeypatch):
    # members checkpoint at different steps and use different data, so the resume starts them apart
    vary, overrides = APART, [s for s in SMALL if "checkpoint_every" not in s]
    real_step = ensemble_mod.EnsembleTrainer.step

    def crashing_step(self, members, step):
        if step == 33:
            raise RuntimeError("simulated crash")
        real_step(self, members, step)

    monkeypatch.setattr(ensemble_mod.EnsembleTrainer, "step", crashing_step)
    with pytest.raises(RuntimeError, match="simulated crash"):
        api.train_ensemble("quick", out=tmp_path / "ens", vary=vary, overrides=overrides, progress=False)
    monkeypatch.setattr(ensemble_mod.EnsembleTrainer, "step", real_step)
    first = tmp_path / "ens" / "data_seed-598_checkpoint_every-20"
    assert RunDir(first).checkpoint_steps() == [20] and not RunDir(first).is_complete()
    assert RunDir(tmp_path / "ens" / "data_seed-7_checkpoint_every-15").checkpoint_steps() == [15, 30]
    _resumes_like_runs_alone(tmp_path, [(598, 20), (7, 15), (598, 15)])


def test_a_diverging_member_is_marked_failed_and_the_others_finish(tmp_path):
    with pytest.raises(TrainingFailed, match="1 of 2 ensemble members failed"):
        api.train_ensemble("quick", out=tmp_path / "ens", vary={"train.lr": [0.003, 1000]}, overrides=SMALL,
                           progress=False)
    assert RunDir(tmp_path / "ens" / "lr-0.003").is_complete()
    assert "diverged" in RunDir(tmp_path / "ens" / "lr-1000").failure()["reason"]


def test_seed_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("5, 0,2-3") == [5, 0, 2, 3]


@pytest.mark.parametrize(("seeds", "match"), [
    ("3-1", "not an ascending range"), ("a", "expected seeds"), ("", "expected seeds"), ("1,2,1", "twice"),
    ("0-100000", "at most 256"), ("-1", "expected seeds"), ("1-", "expected seeds")])
def test_bad_seeds_are_refused_before_any_folder(tmp_path, capsys, seeds, match):
    argv = ["train", "--preset", "quick", "--seeds", seeds, "--out", str(tmp_path / "q"), "--quiet"]
    fails(capsys, argv, match)
    assert not (tmp_path / "q").exists()


def test_bad_ensembles_are_refused_before_any_folder(tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--out", str(tmp_path / "q"), "--quiet", "--seeds", "0,1"]
    fails(capsys, [*argv, "--vary", "model.d_model=32,64"], "must share model.d_model")
    fails(capsys, [*argv, "--vary", "train.lr"], "expected section.key=value1,value2")
    fails(capsys, [*argv, "--vary", "train.lr=1,1"], "names a value twice")
    fails(capsys, [*argv, "--vary", "train.nothing=1,2"], "train.nothing")
    fails(capsys, [*argv, "--set", "train.aux_target=a"], "aux_target")
    assert not (tmp_path / "q").exists()
    (tmp_path / "q" / "seed-1").mkdir(parents=True)
    (tmp_path / "q" / "seed-1" / "notes.txt").write_text("mine")
    fails(capsys, argv, "holds no tritlens run")  # the second member's folder is refused ...
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["seed-1"]  # ... before the first exists


def test_cli_trains_an_ensemble(tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--seeds", "0-1", "--out", str(tmp_path / "q"), "--quiet",
            *[x for s in SMALL for x in ("--set", s)]]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "seed-0: step 40" in out and "seed-1: step 40" in out
    assert all(RunDir(tmp_path / "q" / f"seed-{s}").is_complete() for s in (0, 1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: asking for it is not bad input")
def test_cuda_without_cuda_is_refused_before_any_folder(tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--seeds", "0-1", "--out", str(tmp_path / "q"), "--quiet"]
    fails(capsys, [*argv, "--device", "cuda"], "no CUDA device is available")
    assert not (tmp_path / "q").exists()


def test_groups_side_by_side_equal_runs_trained_alone_on_one_thread(tmp_path, monkeypatch):
    real_step, seen = ensemble_mod.EnsembleTrainer.step, set()

    def spy(self, members, step):
        seen.add((threading.get_ident(), len(members), torch.get_num_threads()))
        real_step(self, members, step)

    monkeypatch.setattr(ensemble_mod.EnsembleTrainer, "step", spy)
    vary = {"train.weight_decay": [1.0, 0.3]}  # 4 members in 3 groups: sizes 2, 1, 1
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = api.train_ensemble("quick", out=tmp_path / "ens", seeds="0,1", vary=vary, overrides=SMALL,
                                  progress=False, workers=3)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(threads)
    assert after == 2 and all(r.final["step"] == 40 for r in runs)
    assert len({ident for ident, _, _ in seen}) == 3 and threading.get_ident() not in {i for i, _, _ in seen}
    assert sorted({(size, n) for _, size, n in seen}) == [(1, 1), (2, 1)]  # one torch thread per group
    for seed, wd in [(0, 1.0), (1, 1.0), (1, 0.3)]:
        alone = tmp_path / f"alone-{seed}-{wd}"
        with torch_threads(1):
            api.train("quick", out=alone, progress=False,
                      overrides=[*SMALL, f"train.seed={seed}", f"train.weight_decay={wd}"])
        _same_as_alone(tmp_path / "ens" / f"seed-{seed}_weight_decay-{wd}", alone)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_group_that_stops_stops_the_others_and_the_ensemble_resumes_exactly(tmp_path, monkeypatch, error):
    vary, overrides = APART, [s for s in SMALL if "checkpoint_every" not in s]
    real_step = ensemble_mod.EnsembleTrainer.step
    arrived = threading.Event()

    def crashing_step(self, members, step):  # the second of two groups fails at step 33 once the first
        if any(m.cfg.task.data_seed == 598 and m.cfg.train.checkpoint_every == 15 for m in members):
            if step == 33 and arrived.wait(timeout=30):
                raise error("simulated")
        elif step == 33:  # is there; the first waits until it is told to stop (and would go on if not)
            arrived.set()
            self.stop.wait(timeout=30)
        real_step(self, members, step)

    monkeypatch.setattr(ensemble_mod.EnsembleTrainer, "step", crashing_step)
    with pytest.raises(error, match="simulated"):
        api.train_ensemble("quick", out=tmp_path / "ens", vary=vary, overrides=overrides, progress=False,
                           workers=2)
    reached = {p.name: RunDir(p).read_metrics()[-1]["step"] for p in (tmp_path / "ens").iterdir()}
    assert reached["data_seed-598_checkpoint_every-20"] == reached["data_seed-7_checkpoint_every-20"] == 30
    assert not any(RunDir(p).is_complete() for p in (tmp_path / "ens").iterdir())  # the first group stopped
    monkeypatch.setattr(ensemble_mod.EnsembleTrainer, "step", real_step)
    _resumes_like_runs_alone(tmp_path, [(598, 20), (7, 20), (7, 15)], workers=2)


def test_a_diverging_member_in_one_group_leaves_the_other_groups_to_finish(tmp_path):
    with pytest.raises(TrainingFailed, match="1 of 3 ensemble members failed"):
        api.train_ensemble("quick", out=tmp_path / "ens", vary={"train.lr": [0.003, 1000, 0.001]},
                           overrides=SMALL, progress=False, workers=2)
    assert all(RunDir(tmp_path / "ens" / name).is_complete() for name in ("lr-0.003", "lr-0.001"))
    assert "diverged" in RunDir(tmp_path / "ens" / "lr-1000").failure()["reason"]


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused(tmp_path, workers):
    with pytest.raises(ConfigError, match="workers must be"):
        api.train_ensemble("quick", out=tmp_path / "q", seeds="0-1", workers=workers)
    assert not (tmp_path / "q").exists()
