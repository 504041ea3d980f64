"""Bad sweeps on the command line: exit 2, one line, and nothing created or changed (the spec, every
trial's config and the sweep directory are all checked before anything is written)."""

from __future__ import annotations

import json

import pytest

import tritlens.api as tl
from tritlens.run import RunLock

from .checks import api_fails, changes, cli_fails, snapshot

FIXED = {"task.p": 17, "model.d_model": 16, "model.d_head": 4, "model.d_mlp": 32, "train.steps": 20,
         "train.eval_every": 10, "train.checkpoint_every": 10}
GOOD = {"presets": ["quick"], "seeds": [0], "fixed": FIXED, "grid": {"train.weight_decay": [0.5]}}

SPECS = {
    "unknown key": ('presets = ["quick"]\nworkers = 3\n', "unknown sweep spec key 'workers'"),
    "empty grid": ('presets = ["quick"]\n[grid]\n"train.lr" = []\n', "empty list"),
    "empty range": ('presets = ["quick"]\n[random]\nsamples = 2\n"train.lr" = {uniform = [1, 1]}\n', "empty"),
    "conflict": ('presets = ["quick"]\n[fixed]\n"train.lr" = 0.1\n[grid]\n"train.lr" = [0.2]\n', "in both"),
    "unknown setting": ('presets = ["quick"]\n[grid]\n"model.width" = [1, 2]\n', "unknown key"),
    "refused value": ('presets = ["quick"]\n[grid]\n"train.lr" = [1e30]\n', "train.lr"),
    "unknown preset": ('presets = ["nope"]\n', "unknown preset"),
    "bad TOML": ('presets = ["quick"\n', "not valid TOML"),
    "not UTF-8": ("\udcff", "not UTF-8"),
}


@pytest.mark.parametrize("case", SPECS, ids=list(SPECS))
def test_bad_spec_files(tmp_path, capsys, case):
    text, match = SPECS[case]
    path = tmp_path / "spec.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    cli_fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out")], watch=[tmp_path], match=match)
    cli_fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out"), "--dry-run"], watch=[tmp_path],
              match=match)


def test_bad_options_and_places(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(GOOD))
    (tmp_path / "file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    argv = ["sweep", str(spec), "--out"]
    cli_fails(capsys, ["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")], [tmp_path],
              "does not exist")
    cli_fails(capsys, [*argv, str(tmp_path / "file")], [tmp_path], "is a file")
    cli_fails(capsys, [*argv, str(tmp_path / "other")], [tmp_path], "holds no sweep")
    cli_fails(capsys, [*argv, str(tmp_path / "o"), "--workers", "0"], [tmp_path], "--workers")
    cli_fails(capsys, [*argv, str(tmp_path / "o"), "--engine", "spark"], [tmp_path], "--engine")
    cli_fails(capsys, ["sweep-summary", str(tmp_path / "other")], [tmp_path], "not a sweep directory")
    api_fails(lambda: tl.sweep(GOOD, tmp_path / "o", workers=-1), [tmp_path], "workers")
    api_fails(lambda: tl.sweep(GOOD, tmp_path / "o", engine="spark"), [tmp_path], "unknown engine")
    api_fails(lambda: tl.sweep([1], tmp_path / "o"), [tmp_path], "sweep spec must be a path")


def test_a_sweep_directory_in_use_or_holding_other_configs(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert tl.sweep(GOOD, out, workers=1).complete
    spec = tmp_path / "changed.json"
    spec.write_text(json.dumps({**GOOD, "fixed": {**FIXED, "train.steps": 30}}))  # same names, new config
    cli_fails(capsys, ["sweep", str(spec), "--out", str(out)], [tmp_path], "different config")
    with RunLock(out, "sweep"):
        cli_fails(capsys, ["sweep", str(out / "spec.json"), "--out", str(out)], [tmp_path], "in use")
        before = snapshot(tmp_path)
        assert tl.sweep_summary(out).counts["complete"] == 1  # read while running; the file is left alone
        assert changes(before, snapshot(tmp_path)) == []
    (out / "sweep.json").write_text("{")
    cli_fails(capsys, ["sweep", str(out / "spec.json"), "--out", str(out)], [tmp_path], "not valid JSON")
    cli_fails(capsys, ["sweep-summary", str(out)], [tmp_path], "not valid JSON")
