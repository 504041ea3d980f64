"""``tritlens check``, ``sparsity-sweep``, ``compile --care/--layout``, ``verify --care``, ``modules
--communities`` and the discrete transformer through the CLI: results, exit codes, one-line refusals."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from cli_checks import fails

from tritlens.api import check_property, layout, load_run, train
from tritlens.cli import main
from tritlens.errors import TritlensError
from tritlens.logic.run_tools import run_layout
from tritlens.run import save_tensors

sys.path.insert(0, str(Path(__file__).parent / "logic"))
from logic_nets import count3  # noqa: E402

PROPS = Path(__file__).parents[1] / "examples" / "properties"
COUNT_SETS = {"model.hidden": 2, "model.cell_hidden": 4, "task.length": 6, "train.steps": 1}


def _count_run(root: Path, bug: bool) -> Path:
    out = root / ("bugged" if bug else "count")
    train("ternary-rnn-count", out=out, overrides=COUNT_SETS, progress=False)
    save_tensors(out / "model.safetensors", count3(bug=bug).state_dict())
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("circuits")
    dt = root / "dt"
    train("discrete-transformer-p11", out=dt, progress=False, overrides={
        "task.p": 3, "model.d_model": 8, "model.d_head": 2, "model.d_mlp": 8, "train.steps": 40,
        "train.checkpoint_every": 0})
    tf = root / "tf"
    train("quick", out=tf, progress=False, overrides={"task.p": 5, "model.d_model": 8, "model.d_head": 2,
                                                      "model.d_mlp": 8, "train.steps": 2})
    return {"count": _count_run(root, False), "bugged": _count_run(root, True), "dt": dt, "tf": tf}


def test_check_proves_and_refutes_with_exit_codes(runs, capsys):
    assert main(["check", str(runs["count"]), "--property", str(PROPS / "count_proved.txt")]) == 0
    assert "PROVED by product-machine reachability" in capsys.readouterr().out
    assert main(["check", str(runs["count"]), "--property", str(PROPS / "count_refuted.txt")]) == 1
    out = capsys.readouterr().out
    assert "shortest counterexample: tokens [1, 1, 1] -> answers [1, 2, 0]" in out
    assert "the model gives the same answers and violates it" in out
    assert main(["check", str(runs["bugged"]), "--property", str(PROPS / "count_proved.txt")]) == 1
    assert "tokens [1, 1, 0] -> answers [1, 2, 0]" in capsys.readouterr().out


def test_check_with_abc_reports_agreement(runs, capsys):
    if shutil.which("berkeley-abc") is None and shutil.which("abc") is None:
        pytest.skip("berkeley-abc not installed")
    assert main(["check", str(runs["count"]), "--property", str(PROPS / "count_proved.txt"), "--abc"]) == 0
    assert "abc pdr: PROVED" in capsys.readouterr().out
    assert main(["check", str(runs["bugged"]), "--property", str(PROPS / "count_proved.txt"), "--abc"]) == 1
    out = capsys.readouterr().out
    assert "abc pdr: FAILED" in out and "(agrees)" in out


def test_check_keeps_its_own_verdict_when_abc_runs_out_of_time(runs, capsys):
    """pdr past --abc-timeout is no verdict (UNKNOWN, exit 1: no cross-check), not an error that would
    throw away the proof the own engine found."""
    if shutil.which("berkeley-abc") is None and shutil.which("abc") is None:
        pytest.skip("berkeley-abc not installed")
    argv = ["check", str(runs["count"]), "--property", str(PROPS / "count_proved.txt"), "--abc"]
    assert main([*argv, "--abc-timeout", "0.001"]) == 1
    out = capsys.readouterr().out
    assert "PROVED by product-machine reachability" in out
    assert "abc pdr: UNKNOWN" in out and "no verdict within --abc-timeout" in out
    result = check_property(runs["count"], PROPS / "count_refuted.txt", abc=True, abc_timeout=0.001)
    assert result.status == "FAILED" and result.trace == [1, 1, 1] and result.abc == "UNKNOWN"
    assert result.abc_agrees is False
    for bad in ("0", "-1", "nan", "1e9"):
        fails(capsys, [*argv, "--abc-timeout", bad], "--abc-timeout")
    for bad in (0, float("inf"), "60", True):
        with pytest.raises(TritlensError, match="--abc-timeout must lie in"):
            check_property(runs["count"], PROPS / "count_proved.txt", abc=True, abc_timeout=bad)


def test_check_bad_input_exit_2(runs, tmp_path, capsys):
    count = str(runs["count"])
    bad = tmp_path / "bad.txt"
    for text, match in [("always out <", "expected a value"), ("always foo == 1", "unknown signal 'foo'"),
                        ("always out[2] == 0", "out[2] does not exist")]:
        bad.write_text(text)
        fails(capsys, ["check", count, "--property", str(bad)], match)
    fails(capsys, ["check", count, "--property", str(tmp_path / "missing.txt")], "does not exist")
    bad.write_text("always prev(out[0], 0) == out[0]")
    fails(capsys, ["check", str(runs["dt"]), "--property", str(bad)], "needs state (prev)")
    bad.write_text("always out == 0")
    fails(capsys, ["check", str(runs["tf"]), "--property", str(bad)], "not fully discrete")
    fails(capsys, ["check", count, "--property", str(bad), "--max-states", "0"], "expected an integer")
    fails(capsys, ["check", count, "--property", str(bad), "--timeout", "-1"], "expected a number")


def test_discrete_transformer_compiles_and_verifies(runs, tmp_path, capsys):
    assert main(["compile", str(runs["dt"]), "-o", str(tmp_path / "dt.aag")]) == 0
    assert (tmp_path / "dt.aag").read_text().startswith("aag ")
    code = main(["verify", str(runs["dt"]), "--spec", "modadd"])
    out = capsys.readouterr().out
    assert "DiscreteTransformer" in out and "circuit == model: PROVED" in out and code in (0, 1)
    code = main(["verify", str(runs["dt"]), "--care", "valid", "--spec", "modadd"])
    out = capsys.readouterr().out
    assert "care simplification == compiled circuit on valid inputs: PROVED" in out
    assert "circuit == model on valid inputs: PROVED by exhaustive simulation of 9 inputs" in out
    fails(capsys, ["verify", str(runs["dt"]), "--care", "valid", "--no-simplify"], "cannot be combined")
    fails(capsys, ["verify", str(runs["dt"]), "--care", "all"], "invalid choice")


def test_compile_with_care_prints_its_proof(runs, tmp_path, capsys):
    assert main(["compile", str(runs["dt"]), "--care", "valid", "-o", str(tmp_path / "c.aag")]) == 0
    out = capsys.readouterr().out
    assert "care simplification == compiled circuit on valid inputs: PROVED" in out and "wrote" in out


def test_communities_and_layouts(runs, tmp_path, capsys):
    assert main(["modules", str(runs["count"]), "--communities"]) == 0
    assert "communities in 1 cone module" in capsys.readouterr().out
    fails(capsys, ["modules", str(runs["count"]), "--communities", "--resolution", "0"], "expected a number")
    target = tmp_path / "g.json"
    count = str(runs["count"])
    assert main(["compile", count, "--format", "json", "--layout", "modules", "-o", str(target)]) == 0
    data = json.loads(target.read_text())
    assert set(data["nodes"]) == {"id", "x", "y", "module", "role"} and data["edges"]
    assert main(["compile", str(runs["count"]), "--layout", "global", "-o", str(tmp_path / "g.graphml")]) == 0
    assert '<data key="x">' in (tmp_path / "g.graphml").read_text()
    for argv, match in [(["--layout", "modules", "-o", str(tmp_path / "x.aag")], "applies to graphml"),
                        (["--module", "0", "-o", str(tmp_path / "y.json")], "needs --layout"),
                        (["--layout", "modules", "--module", "9", "-o", str(tmp_path / "z.json")],
                         "--module must lie in [0, 0]")]:
        fails(capsys, ["compile", str(runs["count"]), *argv], match)
    assert not any((tmp_path / n).exists() for n in ("x.aag", "y.json", "z.json"))
    assert layout(runs["count"], method="global")["nodes"]["id"]


def test_too_large_for_the_view_says_how_to_filter(runs):
    with pytest.raises(TritlensError, match=r"view shows at most 10: lay out one cone module with --module"):
        run_layout(load_run(runs["count"]), max_nodes=10)


def test_sparsity_sweep_command(runs, tmp_path, capsys):
    out = tmp_path / "sweep.json"
    argv = ["sparsity-sweep", "ternary-rnn-count", "--values", "0,0.1", "--set", "train.steps=2",
            "--set", "task.length=4", "-o", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| model.sparsity |" in text and "cone modules" in text
    rows = json.loads(out.read_text())["rows"]
    assert [r["sparsity"] for r in rows] == [0.0, 0.1] and all("communities" in r for r in rows)
    fails(capsys, argv, "exists; pass --force")
    fails(capsys, ["sparsity-sweep", "nanda2023"], "needs a fully discrete one")
    fails(capsys, ["sparsity-sweep", "ternary-rnn-count", "--values", "-1"], "expected numbers in")
    fails(capsys, ["sparsity-sweep", "ternary-rnn-count", "--seeds", "0.5"], "expected comma-separated")
    fails(capsys, ["sparsity-sweep", "ternary-rnn-count", "--values", ",".join(["0.1"] * 65)], "more than 64")
