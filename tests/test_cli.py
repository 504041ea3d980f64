import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import fails as _fails

from tritlens.cli import main
from tritlens.run import RunDir

TINY = ["--set", "task.p=11", "--set", "model.d_model=16", "--set", "model.d_head=4", "--set",
        "model.d_mlp=16", "--set", "train.steps=20", "--set", "train.eval_every=10", "--set",
        "train.checkpoint_every=10", "--quiet"]


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny_run(tmp_path) -> Path:
    out = tmp_path / "run"
    assert main(["train", "--preset", "quick", *TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(("sets", "match"), [
    (["task.p=1"], "task.p must lie in [2, 4,096]"),
    (["task.p=abc"], "task.p must be an integer"),
    (["task.train_frac=1.5"], "task.train_frac"),
    (["task.train_frac=0"], "task.train_frac"),
    (["task.op=pow"], "unknown name 'pow'"),
    (["quant.attn=quaternary"], "quant.attn must be one of none, binary, ternary"),
    (["model.d_head=none", "model.d_model=30"], "not divisible by model.n_heads"),
    (["model.n_layers=2.5"], "model.n_layers must be an integer"),
    (["model.widthh=3"], "unknown key 'model.widthh'"),
    (["steps=3"], "expected SECTION.KEY=VALUE"),
    (["model.act=tanh"], "model.act must be one of relu, gelu"),
    (["train.betas=0.9"], "train.betas must be a list of 2 numbers"),
    (["train.device=tpu"], "train.device must be one of cpu, cuda"),
    (["task.name=sorting"], "unknown task 'sorting'"),
])
def test_bad_settings_exit_2_with_one_line(tmp_path, capsys, sets, match):
    argv = ["train", "--preset", "quick", "--out", str(tmp_path / "x"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    _fails(capsys, argv, match)
    assert not (tmp_path / "x").exists()


def test_string_settings_keep_the_word_none():
    from tritlens.presets import preset_config

    cfg = preset_config("li2024-ternary", ["quant.attn=none", "model.norm=none", "model.d_head=none"])
    assert cfg.quant.attn == "none" and cfg.model.norm == "none" and cfg.model.d_head is None


def test_bad_thread_count(tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--threads", "0", "--out", str(tmp_path / "x")]
    _fails(capsys, argv, "--threads")
    assert not (tmp_path / "x").exists()


def test_unknown_preset_and_bad_flag(tmp_path, capsys):
    _fails(capsys, ["train", "--preset", "nanda2024", "--out", str(tmp_path / "x")], "unknown preset")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--device", "tpu"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_existing_run_is_never_overwritten(tiny_run, capsys):
    before = _snapshot(tiny_run)
    _fails(capsys, ["train", "--preset", "quick", *TINY, "--out", str(tiny_run)], "already holds a run")
    _fails(capsys, ["train", "--preset", "quick", *TINY, "--set", "train.lr=0.01", "--out", str(tiny_run),
                    "--resume"], "different config (train.lr")
    assert _snapshot(tiny_run) == before
    assert main(["train", "--out", str(tiny_run), "--resume", "--quiet"]) == 0  # complete: nothing to do
    assert _snapshot(tiny_run) == before


def test_non_run_directory_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    _fails(capsys, ["train", "--preset", "quick", *TINY, "--out", str(tmp_path)], "holds no tritlens run")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_truncated_weights_and_mismatched_config(tiny_run, capsys):
    weights = RunDir(tiny_run).model_path
    weights.write_bytes(weights.read_bytes()[:-100])
    _fails(capsys, ["info", str(tiny_run)], "cannot read")
    ckpt = RunDir(tiny_run).checkpoint_path(20)
    weights.write_bytes(ckpt.read_bytes())
    assert main(["info", str(tiny_run)]) == 0
    capsys.readouterr()
    cfg = json.loads(RunDir(tiny_run).config_path.read_text())
    cfg["model"]["d_mlp"] = 32
    RunDir(tiny_run).config_path.write_text(json.dumps(cfg))
    _fails(capsys, ["info", str(tiny_run)], "blocks.0.mlp.W_in has shape [16, 16], the config needs")
    RunDir(tiny_run).config_path.write_text("{not json")
    _fails(capsys, ["info", str(tiny_run)], "not valid JSON")


def test_truncated_resume_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "quick", *TINY, "--out", str(out)]) == 0
    RunDir(out).model_path.unlink()  # pretend the run was killed
    resume = RunDir(out).resume_path
    resume.write_bytes(resume.read_bytes()[:50])
    _fails(capsys, ["train", "--out", str(out), "--resume", "--quiet"], "cannot read")


def test_missing_run_dir(tmp_path, capsys):
    _fails(capsys, ["info", str(tmp_path / "nope")], "no such run directory")


def test_presets_and_info(tiny_run, capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("nanda2023", "li2024-binary", "li2024-ternary", "quick"):
        assert name in out
    assert main(["info", str(tiny_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] and info["checkpoints"] == [10, 20] and info["final"]["step"] == 20
    assert info["parameters"] > 0 and info["trits"] == {}


def test_ternary_info_shows_trit_statistics(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["train", "--preset", "li2024-ternary", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    trits = json.loads(capsys.readouterr().out)["trits"]
    assert 0.0 < trits["zero_frac"] < 1.0
    assert "blocks.0.mlp.W_in" in trits["matrices"]


def test_console_script_exit_code():
    proc = subprocess.run([sys.executable, "-m", "tritlens.cli", "train", "--preset", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    from tritlens.presets import preset_names

    assert proc.stderr.strip() == (f"tritlens: error: unknown preset 'nope'; `tritlens presets` lists all "
                                   f"{len(preset_names())}")


def test_switching_the_task_keeps_only_shared_settings():
    from tritlens.presets import preset_config

    cfg = preset_config("quick", ["task.name=parity"])
    assert cfg.task_name == "parity" and cfg.task.train_frac == 0.5 and cfg.task.bits == 8
    cfg = preset_config("ternary-rnn-adder", ["model.arch=discrete_mlp"])
    assert cfg.model.encoding == "onehot" and cfg.model.hidden == (8,)  # shared keys carry over
