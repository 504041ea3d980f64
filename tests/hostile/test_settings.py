"""Bad settings and options of ``tritlens train`` (and ``presets``): exit 2, one line, and no run directory
is created, not even an empty one (every check, memory and device included, comes first)."""

from __future__ import annotations

import pytest
import torch

from .checks import cli_fails
from .runs import TINY_ARGS

NON_FINITE = ["NaN", "nan", "NAN", "Infinity", "-Infinity", "inf", "-inf", "+inf", "1e999", "-1e999", "1e309"]

SETTINGS = {
    # every non-finite spelling for the learning rate, and two for every other float setting
    **{f"lr={v}": [f"train.lr={v}"] for v in NON_FINITE},
    **{f"{k}={v}": [f"{k}={v}"] for k in ("train.weight_decay", "train.stop_at_test_acc", "task.train_frac",
                                          "model.init_std") for v in ("NaN", "1e999")},
    "betas with NaN": ["train.betas=[NaN, 0.9]"],
    "betas with inf": ["train.betas=0.9,Infinity"],
    "betas beyond 1": ["train.betas=[1.0, 0.9]"],
    "betas one number": ["train.betas=0.9"],
    "betas three numbers": ["train.betas=[0.9, 0.9, 0.9]"],
    "betas nested 5000 deep": ["train.betas=" + "[" * 5000 + "]" * 5000],
    "discrete temperature NaN": ["model.arch=discrete_mlp", "model.temperature=NaN"],
    # integers and seeds
    "seed of 400 digits": ["train.seed=" + "9" * 400],
    "seed of 5000 digits": ["train.seed=" + "9" * 5000],
    "seed 2^63": [f"train.seed={2**63}"],
    "seed -1": ["train.seed=-1"],
    "seed 1e400": ["train.seed=1e400"],
    "data seed 2^64": [f"task.data_seed={2**64}"],
    "steps 0": ["train.steps=0"],
    "steps -1": ["train.steps=-1"],
    "steps 10^10": ["train.steps=10000000000"],
    "steps 1.5": ["train.steps=1.5"],
    "steps 1e3": ["train.steps=1e3"],
    "steps true": ["train.steps=true"],
    "steps a list": ["train.steps=[1]"],
    "steps an object": ["train.steps={}"],
    "steps empty": ["train.steps="],
    "steps hex": ["train.steps=0x10"],
    "steps arabic digit": ["train.steps=\u0663"],
    "lr fullwidth digit": ["train.lr=\uff11e-3"],
    "p true": ["task.p=True"],
    "p 1": ["task.p=1"],
    "biases 2": ["model.biases=2"],
    "biases maybe": ["model.biases=maybe"],
    "lr 0": ["train.lr=0"],
    "lr 1001": ["train.lr=1001"],
    "eval_every 0": ["train.eval_every=0"],
    "checkpoint_every -1": ["train.checkpoint_every=-1"],
    "warmup -1": ["train.warmup_steps=-1"],
    "batch size 0": ["train.batch_size=0"],
    "batch size -5": ["train.batch_size=-5"],
    "stop at 0": ["train.stop_at_test_acc=0"],
    "stop at 1.5": ["train.stop_at_test_acc=1.5"],
    "train_frac above 1": ["task.train_frac=1.01"],
    "train_frac 0": ["task.train_frac=0"],
    "train_frac leaves no train set": ["task.train_frac=0.001"],
    "div needs a prime p": ["task.p=12", "task.op=div"],
    "act_bits 1": ["quant.act_bits=1"],
    "act_bits NaN": ["quant.act_bits=NaN"],
    "loss dtype float16": ["train.loss_dtype=float16"],
    "unknown quant mode": ["quant.attn=quaternary"],
    "unknown activation": ["model.act=tanh"],
    "heads do not divide d_model": ["model.d_head=none", "model.d_model=15"],
    "frozen biases without biases": ["model.freeze_biases=true", "model.biases=false"],
    "discrete arch with transformer quantization": ["model.arch=discrete_mlp", "quant.attn=ternary"],
    # sizes that would exhaust memory: refused by the estimate, before any directory
    "d_model 10^6": ["model.d_model=1000000", "model.d_head=none", "model.n_heads=1"],
    "d_model beyond its range": ["model.d_model=10000000"],
    "d_mlp 10^7": ["model.d_mlp=10000000"],
    "64 layers of width 65536": ["model.n_layers=64", "model.d_model=65536", "model.d_head=none"],
    "1024 heads of width 2^20": ["model.n_heads=1024", "model.d_head=1048576"],
    "p 10^6": ["task.p=1000000"],
    "p 4096 with a wide model": ["task.p=4096", "model.d_model=8192", "model.d_mlp=65536"],
    "a huge batch of a huge task": ["task.p=4096", "train.batch_size=16777216"],
    "layers beyond range": ["model.n_layers=100000"],
    # unknown names, and values that try to break the one-line error
    "unknown section": ["foo.bar=1"],
    "unknown key": ["train.foo=1"],
    "no section": ["steps=3"],
    "no value": ["train.steps"],
    "unknown task": ["task.name=sorting"],
    "empty task name": ["task.name="],
    "unknown arch": ["model.arch=foo"],
    "newline in arch": ["model.arch=fo\no"],
    "newline in task name": ["task.name=fo\no"],
    "newline in key": ["train.fo\no=1"],
    "newline in a number": ["train.steps=1\n2"],
    "newline in a choice": ["train.loss_dtype=fl\noat"],
    "terminal escape in a choice": ["model.act=\x1b[2J\x1b[31mrelu"],
    "right-to-left override": ["model.norm=\u202enone"],
    "100k-character key": ["x" * 100_000 + "=1"],
    "100k-digit value": ["train.lr=" + "1" * 100_000],
    "a key the switched-to task does not have": ["task.name=parity", "task.p=3"],
}


@pytest.mark.parametrize("sets", SETTINGS.values(), ids=SETTINGS.keys())
def test_bad_setting(tmp_path, capsys, sets):
    argv = ["train", "--out", str(tmp_path / "run"), *TINY_ARGS]
    for s in sets:
        argv += ["--set", s]
    cli_fails(capsys, argv, watch=[tmp_path])


OPTIONS = {
    "unknown preset": ["--preset", "nanda2024"],
    "empty preset": ["--preset", ""],
    "newline in preset": ["--preset", "a\nb"],
    "resume and force": ["--resume", "--force"],
    "threads 0": ["--threads", "0"],
    "threads -1": ["--threads", "-1"],
    "threads abc": ["--threads", "abc"],
    "threads 1.5": ["--threads", "1.5"],
    "threads empty": ["--threads", ""],
    "threads 10^30": ["--threads", "1" + "0" * 30],
    "threads with a newline": ["--threads", "1\n2"],
    "unknown device": ["--device", "tpu"],
    "unknown flag": ["--frobnicate"],
    "--set without a value": ["--set"],
}


@pytest.mark.parametrize("extra", OPTIONS.values(), ids=OPTIONS.keys())
def test_bad_option(tmp_path, capsys, extra):
    cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, *extra], watch=[tmp_path])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: asking for it is not bad input")
@pytest.mark.parametrize("how", [["--device", "cuda"], ["--set", "train.device=cuda"]], ids=["flag", "set"])
def test_cuda_without_cuda(tmp_path, capsys, how):
    line = cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, *how], watch=[tmp_path])
    assert "CUDA" in line


def test_memory_refusal_names_the_estimate(tmp_path, capsys):
    line = cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, "--set", "task.p=1000000"],
                     watch=[tmp_path])
    assert "task.p" in line
    line = cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, "--set",
                              "model.d_mlp=10000000"], watch=[tmp_path])
    assert "GiB" in line and "available" in line


OTHER_COMMANDS = {
    "no command": [],
    "unknown command": ["nonsense"],
    "newline in command": ["in\nfo"],
    "presets with an argument": ["presets", "extra"],
    "presets with a newline argument": ["presets", "a\nb"],
    "presets with a flag": ["presets", "--foo"],
    "info without a run": ["info"],
    "info with two runs": ["info", "a", "b"],
    "analyze threads 0": ["analyze", "x", "--threads", "0"],
    "report without runs": ["report"],
    "compile without -o": ["compile", "x"],
    "compile unknown format": ["compile", "x", "-o", "y.aag", "--format", "nope"],
    "verify unknown spec": ["verify", "x", "--spec", "foo"],
    "verify unknown encoding": ["verify", "x", "--encoding", "foo"],
    "aig-stats without a file": ["aig-stats"],
}


@pytest.mark.parametrize("argv", OTHER_COMMANDS.values(), ids=OTHER_COMMANDS.keys())
def test_bad_usage(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    cli_fails(capsys, argv, watch=[tmp_path])


DISCRETE_SETTINGS = {
    "mlp: a hidden width 0": ("ternary-mlp-modadd", ["model.hidden=[0]"]),
    "mlp: a hidden width 1e999": ("ternary-mlp-modadd", ["model.hidden=[1e999]"]),
    "mlp: a negative width": ("ternary-mlp-modadd", ["model.hidden=[5,-1]"]),
    "mlp: nested widths": ("ternary-mlp-modadd", ["model.hidden=[[1]]"]),
    "mlp: widths true": ("ternary-mlp-modadd", ["model.hidden=true"]),
    "mlp: 10,000 layers": ("ternary-mlp-modadd", ["model.hidden=" + ",".join(["8"] * 10_000)]),
    "mlp: four layers of 65536": ("ternary-mlp-modadd", ["model.hidden=[65536,65536,65536,65536]"]),
    "mlp: p 4096 into 65536 units": ("ternary-mlp-modadd", ["task.p=4096", "model.hidden=[65536]"]),
    "mlp: seed 2^63": ("ternary-mlp-modadd", [f"model.seed={2**63}"]),
    "mlp: temperature 0": ("ternary-mlp-modadd", ["model.temperature=0"]),
    "mlp: logit scale -1": ("ternary-mlp-modadd", ["model.logit_scale=-1"]),
    "mlp: sparsity NaN": ("ternary-mlp-modadd", ["model.sparsity=NaN"]),
    "mlp: unknown encoding": ("ternary-mlp-modadd", ["model.encoding=nope"]),
    "mlp: train_frac leaves no train set": ("ternary-mlp-modadd", ["task.train_frac=0.00001"]),
    "mlp: transformer quantization": ("ternary-mlp-modadd", ["quant.mlp=binary"]),
    "rnn: 64 digits, 10^7 samples, 4096 units": ("ternary-rnn-adder", [
        "task.digits=64", "task.n_samples=10000000", "model.hidden=4096"]),
    "rnn: 65 digits": ("ternary-rnn-adder", ["task.digits=65"]),
    "rnn: base 17": ("ternary-rnn-adder", ["task.base=17"]),
    "rnn: base 1": ("ternary-rnn-adder", ["task.base=1"]),
    "rnn: a bit readout of 3 classes": ("ternary-rnn-adder", ["model.readout=bit", "task.base=3"]),
    "rnn: no state": ("ternary-rnn-adder", ["model.hidden=0"]),
    "rnn: one sample": ("ternary-rnn-adder", ["task.n_samples=1"]),
    "rnn: activation bits": ("ternary-rnn-adder", ["quant.act_bits=8"]),
}


@pytest.mark.parametrize(("preset", "sets"), DISCRETE_SETTINGS.values(), ids=DISCRETE_SETTINGS.keys())
def test_bad_discrete_setting(tmp_path, capsys, preset, sets):
    argv = ["train", "--preset", preset, "--out", str(tmp_path / "run"), "--quiet", "--threads", "1",
            "--set", "train.steps=2"]
    for s in sets:
        argv += ["--set", s]
    cli_fails(capsys, argv, watch=[tmp_path])
