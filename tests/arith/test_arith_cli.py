"""``tritlens grade`` and ``tritlens circuit`` on a small trained run; bad input is one line, exit 2,
nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.cli import main

TINY = ["task.digits=2", "model.d_model=32", "model.n_heads=2", "model.d_head=16", "model.d_mlp=128",
        "train.batch_size=128", "train.lr=5e-3", "train.steps=250", "train.warmup_steps=30",
        "train.eval_every=50", "train.checkpoint_every=0", "task.eval_size=256"]

TRAIN = ["train", "--preset", "add-d5", "--out", "{new}", "--set"]


@pytest.fixture(scope="module")
def arith_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arith") / "add2"
    api.train("add-d5", out=out, overrides=TINY, progress=False)
    return out


@pytest.fixture(scope="module")
def modular_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mod") / "quick"
    api.train("quick", out=out, overrides=["train.steps=2", "task.p=7"], progress=False)
    return out


def test_grade_writes_grade_json_and_refuses_to_overwrite(arith_run, capsys):
    assert main(["grade", str(arith_run), "--questions", "3000", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "3,000 uniform questions (seed 4)" in out and "nines" in out and "by complexity class" in out
    assert f"{arith_run}: " in out and "[/]" not in out  # plain text: the console prints no markup
    grade = json.loads((arith_run / "grade.json").read_text())
    assert grade["questions"] == 3000 and grade["seed"] == 4
    assert sum(c["questions"] for c in grade["by_class"].values()) == 3000
    assert grade["failures"] == sum(c["failures"] for c in grade["by_class"].values())
    if grade["failures"]:
        assert "first failing questions" in out and len(grade["examples"]) == min(10, grade["failures"])
    before = (arith_run / "grade.json").read_bytes()
    fails(capsys, ["grade", str(arith_run), "--questions", "100"], "exists; pass --force")
    assert (arith_run / "grade.json").read_bytes() == before
    assert main(["grade", str(arith_run), "--exhaustive", "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 10_000


def test_circuit_writes_circuit_json_and_checks_hypotheses(arith_run, capsys, tmp_path):
    assert main(["circuit", str(arith_run), "--per-class", "20"]) == 0
    out = capsys.readouterr().out
    assert "useful positions:" in out and "hypothesis:" in out and "clauses hold" in out
    assert f"{arith_run}: " in out and "[/]" not in out
    found = json.loads((arith_run / "circuit.json").read_text())
    assert found["run"]["digits"] == 2 and found["hypothesis"]["total"] == 2 + 2 + 1
    assert main(["circuit", str(arith_run), "--print-hypothesis"]) == 0
    assert "some algo:A1.SA and position < A1" in capsys.readouterr().out
    clauses = tmp_path / "h.txt"
    clauses.write_text("some head\nno mlp and algo:*\n")
    assert main(["circuit", str(arith_run), "--check", "--hypothesis", str(clauses)]) == 0
    out = capsys.readouterr().out
    assert "of 2 clauses hold" in out and "[/]" not in out


@pytest.mark.parametrize(("argv", "match"), [
    (["grade", "{run}", "--questions", "0"], "expected an integer in [1, 100000000]"),
    (["grade", "{run}", "--exhaustive", "--enriched", "--no-write"], "cannot be --enriched"),
    (["grade", "{mod}"], "is not an arithmetic run"),
    (["circuit", "{mod}"], "is not an arithmetic run"),
    (["grade", "{missing}"], "no such run directory"),
    (["circuit", "{run}", "--hypothesis", "{bad}", "--force"], "hypothesis line 2: unknown filter word"),
    (["circuit", "{run}", "--hypothesis", "{badpos}", "--force"], "unknown position 'A7'"),
    (["circuit", "{run}", "--hypothesis", "{missing}", "--force"], "does not exist"),
    (["circuit", "{run}", "--check"], "--check needs --hypothesis"),
    (["circuit", "{run}", "--per-class", "0"], "expected an integer"),
    ([*TRAIN, "task.digits=0"], "task.digits must lie in [1, 30]"),
    ([*TRAIN, "task.digits=31"], "task.digits must lie in [1, 30]"),
    ([*TRAIN, "task.name=div"], "unknown task 'div'"),
    ([*TRAIN, "train.batch_size=none"], "set train.batch_size"),
    ([*TRAIN, "train.schedule=linear"], "train.schedule must be"),
])
def test_bad_input_is_one_line_and_writes_nothing(arith_run, modular_run, tmp_path, capsys, argv, match):
    (tmp_path / "bad.txt").write_text("some head\nsome wizardry\n")
    (tmp_path / "badpos.txt").write_text("some head and position < A7\n")
    names = {"run": arith_run, "mod": modular_run, "missing": tmp_path / "nope", "bad": tmp_path / "bad.txt",
             "badpos": tmp_path / "badpos.txt", "new": tmp_path / "new"}
    before = {p.name: p.stat().st_mtime_ns for p in arith_run.iterdir()}
    fails(capsys, [a.format(**names) for a in argv], match)
    assert {p.name: p.stat().st_mtime_ns for p in arith_run.iterdir()} == before
    assert not (modular_run / "grade.json").exists() and not (modular_run / "circuit.json").exists()
    assert not (tmp_path / "new").exists()


def test_report_of_an_arithmetic_run(arith_run, tmp_path, capsys):
    assert main(["grade", str(arith_run), "--questions", "500", "--force"]) == 0
    assert main(["circuit", str(arith_run), "--per-class", "10", "--force"]) == 0
    capsys.readouterr()
    assert main(["report", str(arith_run), "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "Quanta map" in page and "Nines and failures by class" in page and "Loss and accuracy" in page
    assert "Embedding in the Fourier basis" not in page  # an arithmetic run has no clock to show
    assert main(["info", str(arith_run)]) == 0 and "2-digit addition" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: asking for it is not bad input")
def test_grade_on_cuda_without_cuda(arith_run, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in arith_run.iterdir()}
    fails(capsys, ["grade", str(arith_run), "--questions", "100", "--force", "--device", "cuda"],
          "no CUDA device is available")
    assert {p.name: p.stat().st_mtime_ns for p in arith_run.iterdir()} == before
