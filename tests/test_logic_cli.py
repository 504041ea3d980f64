"""Discrete runs end to end: presets train through the generic trainer, then compile / verify / modules /
info / aig-stats through ``tritlens.cli.main``, with the refusals and exit codes the docs promise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_checks import fails as _fails

from tritlens.api import info as run_info
from tritlens.api import load_run, train
from tritlens.cli import main
from tritlens.logic import (
    FORMATS,
    PROVED,
    Circuit,
    circuit_stats,
    make_spec,
    prove_equivalent,
    prove_spec,
    read_aiger,
)
from tritlens.logic.runs import compile_run
from tritlens.models.discrete import TernaryMLP, TernaryRNN
from tritlens.presets import PRESETS, preset_config
from tritlens.run import RunDir, save_tensors

MLP_SHORT = {"task.p": 7, "model.hidden": "[64]", "model.temperature": 2.0}


@pytest.fixture(scope="module")
def rnn_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rnn") / "run"
    run = train("ternary-rnn-adder", out=out, progress=False)
    assert run.final["test_acc"] == 1.0 and isinstance(run.model, TernaryRNN)
    return out


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mlp") / "run"
    run = train("ternary-mlp-modadd", out=out, overrides=MLP_SHORT, progress=False)
    assert run.final["test_acc"] == 1.0 and isinstance(run.model, TernaryMLP)
    return out


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tf") / "run"
    sets = {"task.p": 5, "model.d_model": 8, "model.d_head": 2, "model.d_mlp": 8, "train.steps": 2}
    train("quick", out=out, overrides=sets, progress=False)
    return out


def test_presets_and_config_round_trip():
    for name in ("ternary-rnn-adder", "ternary-mlp-modadd"):
        cfg = preset_config(name)
        assert PRESETS[name]["about"] and cfg.arch.startswith("discrete_")
        assert type(cfg).from_dict(cfg.to_dict()) == cfg
    cfg = preset_config("ternary-mlp-modadd", ["model.hidden=32,16"])
    assert cfg.model.hidden == (32, 16)


@pytest.mark.parametrize(("sets", "match"), [
    (["quant.mlp=ternary"], "does not apply to model.arch=discrete_rnn"),
    (["quant.act_bits=8"], "quant.act_bits does not apply"),
    (["model.hidden=0"], "model.hidden must lie in [1, 4,096]"),
    (["model.encoding=gray"], "model.encoding must be one of"),
    (["model.temperature=0"], "model.temperature must lie in (0, 1e+06]"),
    (["task.digits=0"], "task.digits must lie in [1, 64]"),
])
def test_bad_discrete_settings_exit_2(tmp_path, capsys, sets, match):
    argv = ["train", "--preset", "ternary-rnn-adder", "--out", str(tmp_path / "x"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    _fails(capsys, argv, match)
    assert not (tmp_path / "x").exists()


def test_rnn_adder_proved_for_every_length(rnn_run, capsys):
    assert main(["verify", str(rnn_run), "--spec", "add"]) == 0
    out = capsys.readouterr().out
    assert out.count("PROVED by product-machine reachability") == 2 and "all input lengths" in out
    cfg = RunDir(rnn_run).read_config()
    assert cfg.model.sparsity > 0 and any("mask" in k for k in load_run(rnn_run).model.state_dict())


def test_mlp_modadd_proved_against_model_and_spec(mlp_run, capsys):
    assert main(["verify", str(mlp_run), "--spec", "modadd"]) == 0
    out = capsys.readouterr().out
    assert out.count("PROVED by exhaustive simulation of 49 inputs") == 2
    run = load_run(mlp_run)
    for simplified in (False, True):
        circuit = compile_run(run, simplified=simplified)
        assert prove_spec(circuit, make_spec("modadd", p=7), model=run.model).status == PROVED


@pytest.mark.parametrize(("which", "formats"), [("rnn", FORMATS), ("mlp", ("aig", "dot"))])
def test_compile_formats_and_read_back(rnn_run, mlp_run, tmp_path, capsys, which, formats):
    run = rnn_run if which == "rnn" else mlp_run
    circuit = compile_run(load_run(run))
    for fmt in formats:
        path = tmp_path / f"c.{fmt}"
        code = main(["compile", str(run), "--format", fmt, "-o", str(path)])
        if fmt == "dot" and circuit_stats(circuit.aig)["ands"] > 2000:
            assert code == 2 and not path.exists()
            assert "DOT output is limited" in capsys.readouterr().err
            continue
        assert code == 0 and path.stat().st_size > 0, fmt
        assert f"wrote {path} ({fmt})" in capsys.readouterr().out
        if fmt in ("aag", "aig"):
            back = read_aiger(path)
            assert circuit_stats(back) == circuit_stats(circuit.aig)
            assert prove_equivalent(back, circuit.aig).status == PROVED


def test_compile_never_overwrites_without_force(rnn_run, tmp_path, capsys):
    path = tmp_path / "adder.aag"
    path.write_text("keep me")
    _fails(capsys, ["compile", str(rnn_run), "-o", str(path)], "exists; pass --force")
    assert path.read_text() == "keep me"
    assert main(["compile", str(rnn_run), "-o", str(path), "--force", "--no-simplify"]) == 0
    assert path.read_text().startswith("aag ")
    _fails(capsys, ["compile", str(rnn_run), "-o", str(tmp_path / "x.xyz")], "unknown format 'xyz'")
    _fails(capsys, ["compile", str(rnn_run), "--format", "edif", "-o", str(tmp_path / "y")], "invalid choice")


def test_modules_and_info(rnn_run, mlp_run, transformer_run, capsys):
    assert main(["modules", str(rnn_run)]) == 0
    out = capsys.readouterr().out
    assert "independent module" in out and "ANDs" in out and "next(h" in out
    for run in (rnn_run, mlp_run):
        info = run_info(run)["circuit"]
        assert info["ands_simplified"] <= info["ands_compiled"] and info["depth_compiled"] > 0
        assert 0.0 < info["trit_zero_fraction"] < 1.0
    assert main(["info", str(rnn_run)]) == 0 and "ands_compiled" in capsys.readouterr().out
    assert "circuit" not in run_info(transformer_run)


def test_refusals_exit_2(rnn_run, mlp_run, transformer_run, tmp_path, capsys):
    err = _fails(capsys, ["compile", str(transformer_run), "-o", str(tmp_path / "t.aag")], "cannot compile")
    assert "module '" in err and not (tmp_path / "t.aag").exists()
    _fails(capsys, ["verify", str(transformer_run)], "not fully discrete")
    _fails(capsys, ["verify", str(mlp_run), "--spec", "compare", "--digits", "3"], "input width")
    _fails(capsys, ["verify", str(mlp_run), "--spec", "modadd", "--digits", "3"], "--digits does not apply")
    _fails(capsys, ["verify", str(rnn_run), "--spec", "modadd"], "needs a run trained on a modular")
    _fails(capsys, ["verify", str(rnn_run), "--spec", "sort"], "invalid choice")
    bad = tmp_path / "bad.aag"
    bad.write_text("aag 3 2 0 1 1\n2\n4\n6\n6 2 x\n")
    _fails(capsys, ["aig-stats", str(bad)], "line 5")
    assert main(["aig-stats", str(_aag(tmp_path, rnn_run))]) == 0
    assert "latches 8" in capsys.readouterr().out


def _aag(tmp_path: Path, run: Path) -> Path:
    path = tmp_path / "good.aag"
    assert main(["compile", str(run), "-o", str(path)]) == 0
    return path


def test_undertrained_adder_gives_counterexample_exit_1(tmp_path, capsys):
    out = tmp_path / "weak"
    train("ternary-rnn-adder", out=out, overrides={"train.steps": 5}, progress=False)
    assert main(["verify", str(out), "--spec", "add"]) == 1
    text = capsys.readouterr().out
    assert "circuit == model: PROVED" in text and "COUNTEREXAMPLE input tokens" in text
    assert "expected" in text and "got" in text


def test_exact_pruning_survives_save_load_and_still_proves(mlp_run, tmp_path, capsys):
    run = load_run(mlp_run)
    tokens = torch.cartesian_prod(torch.arange(7), torch.arange(7))
    zero_before = run.model.trit_stats()["zero"]
    assert run.model.prune(tokens, (1,)) > 0
    pruned = tmp_path / "pruned"
    pruned.mkdir()
    for name in ("config.json", "metrics.jsonl"):
        (pruned / name).write_bytes((mlp_run / name).read_bytes())
    save_tensors(pruned / "model.safetensors", run.model.state_dict())
    again = load_run(pruned).model
    assert again.trit_stats()["zero"] > zero_before
    assert main(["verify", str(pruned), "--spec", "modadd"]) == 0
    capsys.readouterr()


def test_modadd_spec_for_the_transformer_layout():
    spec = make_spec("modadd", p=5, equals=True)
    from tritlens.logic.prove import _spec_aig

    probe = Circuit(None, 6, 5, 3, (2,))  # interface only, to build the reference gates
    circuit = Circuit(_spec_aig(probe, spec), 6, 5, 3, (2,))
    assert prove_spec(circuit, spec).status == PROVED
    assert prove_spec(circuit, spec, exhaustive_limit=0).status == PROVED  # SAT miter with the '=' domain
    tokens = np.array([[3, 4, 5]])
    assert circuit.evaluate(tokens).tolist() == [[2]]


@pytest.mark.parametrize("care", [None, "valid"])
def test_verify_compiles_once_and_prove_circuit_agrees(mlp_run, capsys, monkeypatch, care):
    """`tritlens verify` shows the circuit it proves: one compilation (one care simplification), not two;
    and `prove_circuit` on a compiled circuit gives `verify`'s claims and verdicts."""
    import tritlens.api as tl
    import tritlens.api.logic as api_logic

    calls = []
    real = api_logic.compile_run
    monkeypatch.setattr(api_logic, "compile_run", lambda *a, **k: calls.append(1) or real(*a, **k))
    argv = ["verify", str(mlp_run), "--spec", "modadd"] + (["--care", care] if care else [])
    assert main(argv) == 0
    assert len(calls) == 1
    out = capsys.readouterr().out
    assert out.count("PROVED") == (3 if care else 2)
    run = load_run(mlp_run)
    if care:
        circuit, result = tl.simplify_care(run)
        proofs = tl.prove_circuit(run, circuit, "modadd", care_proof=result.proof)
    else:
        proofs = tl.prove_circuit(run, tl.compile_circuit(run), "modadd")
    whole = tl.verify(run, "modadd", care=care)
    assert [(c, r.status) for c, r in proofs] == [(c, r.status) for c, r in whole]
    assert all(r.status == PROVED for _, r in proofs)


@pytest.mark.parametrize("flags", [[], ["--no-simplify"], ["--care", "valid"]])
def test_compile_compiles_once(mlp_run, tmp_path, capsys, monkeypatch, flags):
    """`tritlens compile` reports the compiled and the written circuit from one compilation, and what it
    writes is what `compile_circuit` gives."""
    import tritlens.api as tl
    import tritlens.api.logic as api_logic

    calls = []
    real = api_logic.compile_run
    monkeypatch.setattr(api_logic, "compile_run", lambda *a, **k: calls.append(1) or real(*a, **k))
    out = tmp_path / "c.aag"
    assert main(["compile", str(mlp_run), "-o", str(out), *flags]) == 0
    assert len(calls) == 1
    printed = capsys.readouterr().out
    run = load_run(mlp_run)
    raw = circuit_stats(tl.compile_circuit(run, simplified=False).aig)
    assert f"(compiled: {raw['ands']} ANDs, depth {raw['depth']})" in printed
    care = "valid" if flags[:1] == ["--care"] else None
    expect = tl.compile_circuit(run, simplified=flags != ["--no-simplify"], care=care)
    assert circuit_stats(read_aiger(out))["ands"] == circuit_stats(expect.aig)["ands"]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e9, True, "60"])
def test_verify_run_refuses_every_bad_time_limit(mlp_run, bad):
    """The library entry point checks its time limit like the CLI and the front door do."""
    from tritlens.errors import TritlensError
    from tritlens.logic.runs import verify_run

    run = load_run(mlp_run)
    with pytest.raises(TritlensError, match=r"--timeout must lie in \(0, 86400\] seconds"):
        verify_run(run, compile_run(run, simplified=False), "modadd", seconds=bad)
