"""The Python front door (``tritlens.api``): wrong types and values raise a TritlensError subclass with a
one-line message (never TypeError, ValueError or AttributeError), and nothing is written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tritlens.api as tl
from tritlens.errors import CheckpointError, ConfigError, RunDirError, TritlensError
from tritlens.tasks.modular import ModularTask

from .checks import api_fails
from .runs import TINY


def _config(**changes):
    cfg = tl.make_config("quick", TINY)
    for key, value in changes.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    return cfg


def cases(t: Path, run: Path, part: Path, disc: Path) -> dict:
    out = t / "new"
    train = dict(out=out, progress=False)
    return {
        # train
        "preset a number": (lambda: tl.train(5, **train), ConfigError),
        "preset empty": (lambda: tl.train("", overrides=TINY, **train), ConfigError),
        "out a number": (lambda: tl.train("quick", out=5, overrides=TINY, progress=False), TritlensError),
        "out bytes": (lambda: tl.train("quick", out=b"x", overrides=TINY, progress=False), TritlensError),
        "out with a NUL": (lambda: tl.train("quick", out=f"{t}/a\x00b", overrides=TINY, progress=False),
                           TritlensError),
        "overrides a number": (lambda: tl.train("quick", overrides=5, **train), ConfigError),
        "overrides one string": (lambda: tl.train("quick", overrides="train.lr=1", **train), ConfigError),
        "overrides of numbers": (lambda: tl.make_config("quick", [5]), ConfigError),
        "override NaN": (lambda: tl.train("quick", overrides={**TINY, "train.lr": math.nan}, **train),
                         ConfigError),
        "override inf": (lambda: tl.train("quick", overrides={**TINY, "train.lr": math.inf}, **train),
                         ConfigError),
        "override a list": (lambda: tl.train("quick", overrides={**TINY, "train.lr": [1, 2]}, **train),
                            ConfigError),
        "override a None key": (lambda: tl.train("quick", overrides={None: 1}, **train), ConfigError),
        "config with NaN lr": (lambda: tl.train(config=_config(train__lr=math.nan), **train), ConfigError),
        "config with a string d_model": (lambda: tl.train(config=_config(model__d_model="16"), **train),
                                         ConfigError),
        "config with p 10^6": (lambda: tl.train(config=_config(task__p=10**6), **train), ConfigError),
        "config with a seed 2^64": (lambda: tl.train(config=_config(train__seed=2**64), **train),
                                    ConfigError),
        "config a dict": (lambda: tl.train(config={"task": {}}, **train), ConfigError),
        "resume and force": (lambda: tl.train("quick", resume=True, force=True, **train), ConfigError),
        "on_event a number": (lambda: tl.train("quick", overrides=TINY, on_event=5, **train), ConfigError),
        "ensemble seeds a number": (lambda: tl.train_ensemble("quick", seeds=5, **train), ConfigError),
        "ensemble seeds negative": (lambda: tl.train_ensemble("quick", seeds=[1, -1], **train),
                                    TritlensError),
        "ensemble seeds bools": (lambda: tl.train_ensemble("quick", seeds=[True], **train), TritlensError),
        "ensemble vary a value": (lambda: tl.train_ensemble("quick", vary={"train.lr": 0.1}, **train),
                                  ConfigError),
        "ensemble vary a string": (lambda: tl.train_ensemble("quick", vary="train.lr=1,2", **train),
                                   ConfigError),
        "ensemble without members": (lambda: tl.train_ensemble("quick", **train), ConfigError),
        "ensemble without out": (lambda: tl.train_ensemble("quick", seeds="0-1", progress=False),
                                 ConfigError),
        "ensemble config a dict": (lambda: tl.train_ensemble(config={}, seeds="0-1", **train), ConfigError),
        "task a number": (lambda: tl.train("quick", overrides=TINY, task=5, **train), ConfigError),
        "task of another p": (lambda: tl.train("quick", overrides=TINY, task=ModularTask(p=13), **train),
                              ConfigError),
        "train_frac a string": (lambda: ModularTask(p=11, train_frac="x"), ConfigError),
        "train_frac NaN": (lambda: ModularTask(p=11, train_frac=math.nan), ConfigError),
        "p True": (lambda: ModularTask(p=True), ConfigError),
        "op a number": (lambda: ModularTask(p=11, op=5), ConfigError),
        "unknown preset": (lambda: tl.make_config("nope"), ConfigError),
        "preset None": (lambda: tl.make_config(None), ConfigError),
        "override without a value": (lambda: tl.make_config("quick", ["train.lr"]), ConfigError),
        "train over a finished run": (lambda: tl.train("quick", out=run, overrides=TINY, progress=False),
                                      RunDirError),
        # load, info, analyze, report
        "load_run None": (lambda: tl.load_run(None), TritlensError),
        "load_run a number": (lambda: tl.load_run(5), TritlensError),
        "load_run missing": (lambda: tl.load_run(t / "nowhere"), RunDirError),
        "load_run unfinished": (lambda: tl.load_run(part), RunDirError),
        "load_run step -1": (lambda: tl.load_run(run, step=-1), RunDirError),
        "load_run step 10^30": (lambda: tl.load_run(run, step=10**30), RunDirError),
        "load_run step '10'": (lambda: tl.load_run(run, step="10"), RunDirError),
        "load_run step True": (lambda: tl.load_run(run, step=True), RunDirError),
        "load_run step 10.0": (lambda: tl.load_run(run, step=10.0), RunDirError),
        "info None": (lambda: tl.info(None), TritlensError),
        "info of a file": (lambda: tl.info(run / "config.json"), RunDirError),
        "analyze a number": (lambda: tl.analyze(123), TritlensError),
        "analyze missing": (lambda: tl.analyze(t / "nowhere"), RunDirError),
        "analyze unfinished": (lambda: tl.analyze(part), RunDirError),
        "analyze discrete": (lambda: tl.analyze(disc), TritlensError),
        "report of no runs": (lambda: tl.report([], t / "r.html"), TritlensError),
        "report None": (lambda: tl.report(None, t / "r.html"), TritlensError),
        "report out None": (lambda: tl.report([run], None), TritlensError),
        "report over the config": (lambda: tl.report([run], run / "config.json", force=True), TritlensError),
        "report png a file": (lambda: tl.report([run], t / "r.html", png=run / "config.json"), TritlensError),
        # compile, verify, modules, aig_stats
        "compile a float run": (lambda: tl.compile_circuit(run), TritlensError),
        "compile unknown encoding": (lambda: tl.compile_circuit(disc, encoding="nope"), TritlensError),
        "compile encoding None": (lambda: tl.compile_circuit(disc, encoding=None), TritlensError),
        "write unknown format": (lambda: tl.write_circuit(tl.compile_circuit(disc), t / "c.zzz"),
                                 TritlensError),
        "write format a number": (lambda: tl.write_circuit(tl.compile_circuit(disc), t / "c.aag", fmt=3),
                                  TritlensError),
        "write over an input": (lambda: tl.write_circuit(tl.compile_circuit(disc),
                                                         disc / "model.safetensors", fmt="aag", force=True,
                                                         inputs=[disc]), TritlensError),
        "verify timeout -1": (lambda: tl.verify(disc, timeout=-1), TritlensError),
        "verify timeout NaN": (lambda: tl.verify(disc, timeout=math.nan), TritlensError),
        "verify timeout inf": (lambda: tl.verify(disc, timeout=math.inf), TritlensError),
        "verify timeout 0": (lambda: tl.verify(disc, timeout=0), TritlensError),
        "verify timeout a string": (lambda: tl.verify(disc, timeout="x"), TritlensError),
        "verify timeout True": (lambda: tl.verify(disc, timeout=True), TritlensError),
        "verify digits 0": (lambda: tl.verify(disc, spec="add", digits=0), TritlensError),
        "verify digits 10^6": (lambda: tl.verify(disc, spec="add", digits=10**6), TritlensError),
        "verify digits 2.5": (lambda: tl.verify(disc, spec="add", digits=2.5), TritlensError),
        "verify digits a string": (lambda: tl.verify(disc, spec="add", digits="3"), TritlensError),
        "verify unknown spec": (lambda: tl.verify(disc, spec="nope"), TritlensError),
        "verify spec a number": (lambda: tl.verify(disc, spec=5), TritlensError),
        "modules -1": (lambda: tl.modules(disc, max_inputs=-1), TritlensError),
        "modules 1000": (lambda: tl.modules(disc, max_inputs=1000), TritlensError),
        "modules 1.5": (lambda: tl.modules(disc, max_inputs=1.5), TritlensError),
        "modules a string": (lambda: tl.modules(disc, max_inputs="3"), TritlensError),
        "modules True": (lambda: tl.modules(disc, max_inputs=True), TritlensError),
        "modules NaN": (lambda: tl.modules(disc, max_inputs=math.nan), TritlensError),
        "aig_stats None": (lambda: tl.aig_stats(None), TritlensError),
        "aig_stats a number": (lambda: tl.aig_stats(5), TritlensError),
        "aig_stats a folder": (lambda: tl.aig_stats(t), TritlensError),
        "damaged weights": (lambda: (disc / "model.safetensors").write_bytes(b"") or tl.load_run(disc),
                            CheckpointError),
    }


NAMES = list(cases(Path("t"), Path("r"), Path("p"), Path("d")))


@pytest.mark.parametrize("name", NAMES)
def test_api_bad_input(tmp_path, copy_run, tiny_run, partial_run, discrete_run, name):
    run, part, disc = copy_run(tiny_run, "run"), copy_run(partial_run, "part"), copy_run(discrete_run, "disc")
    t = tmp_path / "t"
    t.mkdir()
    call, kind = cases(t, run, part, disc)[name]
    watch = [run, part, t] + ([] if name == "damaged weights" else [disc])
    api_fails(call, watch=watch, kind=kind)


def test_messages_quoting_paths_stay_one_line(tmp_path):
    odd = tmp_path / "a\nb\x1b[2J\u2028c"
    message = api_fails(lambda: tl.load_run(odd), kind=RunDirError)
    assert "\\x1b" in message
