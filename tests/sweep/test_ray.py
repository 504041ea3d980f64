"""The Ray engine against a local Ray instance (started inside the test), an unreachable cluster, and
Ray missing: the last two are one line, exit 2, and no directory."""

from __future__ import annotations

import json
import sys
import time

import tritlens.api as tl
from tritlens.cli import main
from tritlens.run import RunDir

from .specs import spec


def test_ray_local_runs_the_same_trials_as_the_pool(tmp_path):
    import ray  # the ray extra: `make test` installs it
    data = spec(seeds=[0], grid={"train.lr": [0.003, 1000.0]})
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        on_ray = tl.sweep(data, tmp_path / "ray", engine="ray")
    finally:
        ray.shutdown()
    local = tl.sweep(data, tmp_path / "local", workers=2)
    assert [t.status for t in on_ray.trials] == [t.status for t in local.trials] == ["complete", "failed"]
    for a, b in zip(on_ray.trials, local.trials, strict=True):
        assert (a.name, a.steps, a.test_loss) == (b.name, b.steps, b.test_loss)  # same config, same numbers
    assert RunDir(tmp_path / "ray" / "trials" / on_ray.trials[0].name).is_complete()
    assert json.loads((tmp_path / "ray" / "sweep.json").read_text())["engine"]["name"] == "ray"


def _fails(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and match in err[0], (code, err)


def test_an_unreachable_cluster_is_one_line_quickly_and_leaves_nothing(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec()))
    t0 = time.perf_counter()
    _fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out"), "--engine", "ray",
                    "--address", "10.255.255.1:6379"], "10.255.255.1:6379")
    assert time.perf_counter() - t0 < 30 and not (tmp_path / "out").exists()
    _fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out"), "--engine", "ray",
                    "--address", "no-port"], "HOST:PORT")
    _fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out"), "--address", "1.2.3.4:1"],
           "--address needs --engine ray")
    assert not (tmp_path / "out").exists()


def test_ray_missing_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec()))
    _fails(capsys, ["sweep", str(path), "--out", str(tmp_path / "out"), "--engine", "ray"],
           "pip install 'tritlens[ray]'")
    assert not (tmp_path / "out").exists()
