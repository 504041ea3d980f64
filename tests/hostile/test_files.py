"""Damaged run files under every command that reads them: exit 2, one line, and the run directory (and
where an output would go) byte-identical afterwards: nothing repaired, marked, replaced or left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .checks import cli_fails
from .damage import (
    DISCRETE_DAMAGE,
    FILE_DAMAGE,
    JSON_DAMAGE,
    RESUME_DAMAGE,
    WEIGHT_DAMAGE,
    edit_json,
    link_to,
    replace_with,
    substitute,
)

RESUME = ["train", "--out", "RUN", "--resume", "--quiet", "--threads", "1"]
INFO = ["info", "RUN"]
ANALYZE = ["analyze", "RUN", "--final-only", "--quiet"]
ANALYZE_ALL = ["analyze", "RUN", "--quiet"]
REPORT = ["report", "RUN", "-o", "OUT/report.html"]
COMPILE = ["compile", "RUN", "-o", "OUT/circuit.aag"]
VERIFY = ["verify", "RUN"]
MODULES = ["modules", "RUN"]

CONFIG_DAMAGE = {
    **FILE_DAMAGE, **JSON_DAMAGE,
    "lr a string": edit_json(lambda c: c["train"].__setitem__("lr", "fast")),
    "lr Infinity": substitute('"lr": ', '"lr": Infinity, "x": '),
    "weight decay 1e999": substitute('"weight_decay": ', '"weight_decay": 1e999, "y": '),
    "p 10^6": edit_json(lambda c: c["task"].__setitem__("p", 10**6)),
    "p a float": edit_json(lambda c: c["task"].__setitem__("p", 11.0)),
    "p of another run": edit_json(lambda c: c["task"].__setitem__("p", 13)),
    "p 4096 (16M pairs) for weights of p 11": edit_json(lambda c: c["task"].__setitem__("p", 4096)),
    "a model of 64 TiB": edit_json(lambda c: c["model"].update(d_model=2**20, d_head=None, n_heads=1,
                                                              d_mlp=2**24)),
    "seed 2^64": edit_json(lambda c: c["train"].__setitem__("seed", 2**64)),
    "unknown section": edit_json(lambda c: c.__setitem__("extra", {})),
    "unknown key": edit_json(lambda c: c["model"].__setitem__("widthh", 3)),
    "task null": edit_json(lambda c: c.__setitem__("task", None)),
    "train a list": edit_json(lambda c: c.__setitem__("train", [1])),
    "betas of three": edit_json(lambda c: c["train"].__setitem__("betas", [0.9, 0.9, 0.9])),
    "preset a number": edit_json(lambda c: c.__setitem__("preset", 3)),
    "unknown arch": edit_json(lambda c: c["model"].__setitem__("arch", "foo\nbar")),
    "task.op dividing by zero": edit_json(lambda c: c["task"].__setitem__("op", "a//0")),
    "task.op with a terminal escape": edit_json(lambda c: c["task"].__setitem__("op", "a+\x1b[2J\nb")),
    "byte order mark": substitute("{", "\ufeff{"),
    "duplicate section": replace_with('{"task": {}, "task": 5}'),
}

METRICS_DAMAGE = {
    **{k: v for k, v in FILE_DAMAGE.items() if k not in ("empty", "truncated")},  # those are legal states
    **JSON_DAMAGE,
    "step a string": replace_with('{"step": "1"}\n'),
    "step negative": replace_with('{"step": -1}\n'),
    "steps going back": replace_with('{"step": 2}\n{"step": 1}\n'),
    "step repeated": replace_with('{"step": 0}\n{"step": 0}\n'),
    "loss a string": replace_with('{"step": 0, "train_loss": "x"}\n'),
    "a NUL line": lambda p: p.write_bytes(p.read_bytes() + b"\x00" * 100 + b"\n"),
    "NaN in a middle row": substitute('"lr": 0.003', '"lr": NaN'),
}

RESUME_ROWS = {  # rows logged before the checkpoint at step 10 are missing or foreign: no exact resume
    "rows before the checkpoint missing": lambda p: p.write_text(p.read_text().split("\n", 1)[1]),
    "no rows at all": replace_with(""),
    "a foreign row before the checkpoint": lambda p: p.write_text(
        p.read_text().replace('{"step": 5,', '{"step": 4, "x": 1}\n{"step": 5,', 1)),
}

ANALYSIS_DAMAGE = {
    **FILE_DAMAGE, **JSON_DAMAGE,
    "final step a string": replace_with('{"schema": 1, "run": {}, "final": {"step": "x"}}'),
    "key frequencies not integers": edit_json(lambda a: a["fourier"].__setitem__("key_frequencies", [1.5])),
    "neuron lists of the wrong length": edit_json(lambda a: a["fourier"].__setitem__("neuron_freq", [1])),
    "neuron fve with a null": edit_json(lambda a: a["fourier"].__setitem__(
        "neuron_fve", [None] * len(a["fourier"]["neuron_fve"]))),
    "cluster of a neuron that does not exist": edit_json(lambda a: a["fourier"].__setitem__(
        "clusters", {"1": [5000]})),
    "too many neurons": edit_json(lambda a: [a["fourier"].__setitem__(k, list(range(5000)))
                                             for k in ("neuron_fve", "neuron_freq")]),
}

FAILURE_DAMAGE = {
    **{k: v for k, v in FILE_DAMAGE.items() if k != "truncated"}, **JSON_DAMAGE,
    "reason a number": replace_with('{"reason": 5}'),
    "a 100 kB reason": replace_with('{"reason": "' + "x" * 100_000 + '"}'),
}

LOCK_DAMAGE = {  # taking the lock writes into .lock: it must never write through these
    "lock linked to config.json": link_to("config.json"),
    "lock hard-linked to config.json": lambda p: os.link(p.parent / "config.json", p),
    "lock a directory": lambda p: p.mkdir(),
    "lock a pipe": lambda p: os.mkfifo(p),
}


def _cases() -> list:
    cases = []

    def add(group: str, base: str, rel: str, damages: dict, commands: list[list[str]]) -> None:
        for name, damage in damages.items():
            for argv in commands:
                cases.append(pytest.param(base, rel, damage, argv, id=f"{group}: {name} | {argv[0]}"))

    add("config.json", "tiny", "config.json", CONFIG_DAMAGE, [INFO, ANALYZE])
    add("config.json", "partial", "config.json", CONFIG_DAMAGE, [RESUME])
    add("metrics.jsonl", "tiny", "metrics.jsonl", METRICS_DAMAGE, [INFO, ANALYZE])
    add("metrics.jsonl", "partial", "metrics.jsonl", {**METRICS_DAMAGE, **RESUME_ROWS}, [RESUME])
    add("model.safetensors", "tiny", "model.safetensors", {**FILE_DAMAGE, **WEIGHT_DAMAGE}, [INFO, REPORT])
    add("model.safetensors", "tiny", "model.safetensors", {**FILE_DAMAGE, **WEIGHT_DAMAGE}, [RESUME])
    add("model.safetensors", "discrete", "model.safetensors", {**FILE_DAMAGE, **WEIGHT_DAMAGE},
        [COMPILE, VERIFY, MODULES])
    add("model.safetensors", "discrete", "model.safetensors", DISCRETE_DAMAGE,
        [INFO, COMPILE, VERIFY, MODULES])
    add("resume.safetensors", "partial", "checkpoints/resume.safetensors",
        {**FILE_DAMAGE, **WEIGHT_DAMAGE, **RESUME_DAMAGE}, [RESUME])
    add("checkpoint", "tiny", "checkpoints/step_000010.safetensors", {**FILE_DAMAGE, **WEIGHT_DAMAGE},
        [ANALYZE_ALL])
    add("checkpoint", "partial", "checkpoints/step_000010.safetensors", FILE_DAMAGE, [INFO])
    add("checkpoints/", "tiny", "checkpoints", {"a file": replace_with("x")}, [ANALYZE_ALL, INFO])
    add("checkpoints/", "partial", "checkpoints", {"a file": replace_with("x")}, [RESUME])
    add("checkpoint name", "tiny", "checkpoints/step_999999999999.safetensors",
        {"garbage": replace_with("x")}, [ANALYZE_ALL])
    add("analysis.json", "analysed", "analysis.json", ANALYSIS_DAMAGE, [REPORT])
    add("analysis.json", "analysed", "analysis.json", {"present": lambda p: None}, [ANALYZE])
    add("failed.json", "partial", "failed.json", FAILURE_DAMAGE, [INFO, RESUME])
    add(".lock", "partial", ".lock", LOCK_DAMAGE, [RESUME])
    add(".lock", "tiny", ".lock", LOCK_DAMAGE, [["analyze", "RUN", "--final-only", "--force", "--quiet"]])
    return cases


@pytest.fixture(scope="session")
def analysed_run(runs_dir: Path, tiny_run: Path) -> Path:
    """The tiny run with an analysis.json (the report reads it)."""
    import shutil

    from tritlens.api import analyze

    out = runs_dir / "analysed"
    shutil.copytree(tiny_run, out)
    analyze(out)
    return out


@pytest.mark.parametrize(("base", "rel", "damage", "argv"), _cases())
def test_damaged_file(request, tmp_path, capsys, copy_run, base, rel, damage, argv):
    source = {"tiny": "tiny_run", "partial": "partial_run", "discrete": "discrete_run",
              "analysed": "analysed_run"}[base]
    run = copy_run(request.getfixturevalue(source))
    target = run / rel
    damage(target)
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("RUN", str(run)).replace("OUT", str(out)) for a in argv]
    cli_fails(capsys, argv, watch=[tmp_path])
