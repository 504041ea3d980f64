"""Probes recover planted linear features, fail on shuffled ones, and read what a model's stream holds."""

from __future__ import annotations

import json

import pytest
import torch
from cli_checks import fails

import tritlens.api as api
from tritlens.errors import TritlensError
from tritlens.interp.probes import fit_probes, probe_run
from tritlens.interp.vsa import vsa_probe, vsa_probe_run
from tritlens.presets import preset_config
from tritlens.run import Run

N, D = 600, 24


def _planted() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=gen) * 3 + 1
    u = torch.randn(D, generator=gen)
    return x, x @ u + 0.01 * torch.randn(N, generator=gen), torch.randperm(N, generator=gen)


def test_linear_probe_recovers_a_planted_feature_and_fails_on_a_shuffled_one():
    x, y, perm = _planted()
    fit = fit_probes(torch.stack([x, x]), torch.stack([y, y[perm]]), None)
    assert fit.metric == "mae"
    assert fit.test[0] < 0.05 * fit.chance[0]  # the planted direction is found
    assert fit.test[1] > 0.9 * fit.chance[1]  # shuffled: no better than the training mean


def test_logistic_probe_recovers_planted_classes_and_fails_on_shuffled_ones():
    x, y, perm = _planted()
    classes = torch.bucketize(y, torch.quantile(y, torch.tensor([1 / 3, 2 / 3])))  # 3 balanced classes
    fit = fit_probes(torch.stack([x, x]), torch.stack([classes, classes[perm]]), 3)
    assert fit.metric == "accuracy"
    assert fit.test[0] > 0.9 and fit.test[1] < 0.5 and abs(float(fit.chance[0]) - 1 / 3) < 0.1


def _random_run(p: int = 17) -> Run:
    cfg = preset_config("quick", [f"task.p={p}", "task.train_frac=0.3", "model.d_model=32", "model.d_head=8",
                                  "model.d_mlp=32"])
    return api.train(config=cfg.with_overrides(["train.steps=1"]), progress=False)


def test_probe_reads_tokens_from_the_embedding_of_an_untrained_model():
    """Before any attention, position 0 holds a's embedding only and position 1 b's: a is readable at
    position 0 and not at position 1."""
    run = _random_run()
    data = probe_run(run, "a", "resid_pre", positions=[0, 1], split="test")
    assert data["rows"] == ["L0"] and data["cols"] == ["pos 0", "pos 1"]
    at_a, at_b = data["test"][0].tolist()
    assert at_a > 0.9 and at_b < 0.3
    control = probe_run(run, "a", "resid_pre", positions=[0], split="test", shuffle=True)
    assert control["test"][0, 0] < 0.3


def test_user_function_and_position_aligned_targets():
    run = _random_run()
    data = probe_run(run, lambda d: d.tokens[:, 0].float() * 2.0, "resid_pre", positions=[0], split="test")
    assert data["metric"] == "mae" and data["test"][0, 0] < 0.3 * data["chance"][0, 0]
    answer = probe_run(run, "answer", "resid_post", split="test")
    assert answer["positions"] == [2]  # the answer is defined where it is predicted


def test_bad_probes():
    run = _random_run()
    with pytest.raises(TritlensError, match="unknown probe target 'carry'"):
        probe_run(run, "carry")
    with pytest.raises(TritlensError, match="no hook named 'blocks.4.hook_resid_post'"):
        probe_run(run, "a", "blocks.4.hook_resid_post")
    with pytest.raises(TritlensError, match="is not one"):
        probe_run(run, "a", "blocks.0.attn.hook_pattern")
    with pytest.raises(TritlensError, match="cannot probe at \\[0\\]"):
        probe_run(run, "answer", "resid_post", positions=[0])
    with pytest.raises(TritlensError, match="at least 20 examples"):
        probe_run(run, "a", n=12)
    with pytest.raises(TritlensError, match="must return"):
        probe_run(run, lambda d: torch.zeros(3), "resid_pre")


def test_probe_command_adds_entries(tmp_path, capsys):
    run = tmp_path / "run"
    api.train("quick", out=run, progress=False, overrides=["task.p=11", "model.d_model=16", "model.d_head=4",
                                                           "model.d_mlp=16", "train.steps=5"])
    from tritlens.cli import main

    assert main(["probe", str(run), "--target", "a", "--examples", "60"]) == 0
    assert main(["probe", str(run), "--target", "b", "--hook", "resid_pre", "--examples", "60"]) == 0
    assert "logistic probe of b" in capsys.readouterr().out
    assert set(json.loads((run / "probes.json").read_text())["probes"]) == {"a@resid_post", "b@resid_pre"}
    before = (run / "probes.json").read_bytes()
    fails(capsys, ["probe", str(run), "--target", "a"], "already holds a@resid_post")
    fails(capsys, ["probe", str(run), "--target", "a", "--force", "--examples", "10"], "at least 20 examples")
    assert (run / "probes.json").read_bytes() == before
    fails(capsys, ["probe", str(run), "--target", "a", "--positions", "1,x"], "expected comma-separated")
    fails(capsys, ["probe", str(run), "--target", "a,b", "--vsa", "--positions", "0,1"], "one position")
    assert main(["probe", str(run), "--target", "a,b", "--vsa", "--positions", "1", "--examples", "60"]) == 0
    assert "vsa:a,b@resid_post" in json.loads((run / "probes.json").read_text())["probes"]


def test_vsa_probe_decodes_planted_bindings_and_not_shuffled_ones():
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(10, (800, 4), generator=gen)  # 4 roles (digit positions), 10 values (digits)
    embed = torch.randn(4, 10, 32, generator=gen)
    acts = sum(embed[r][labels[:, r]] for r in range(4)) + 0.1 * torch.randn(800, 32, generator=gen)
    found = vsa_probe(acts, labels, 10)
    assert (found["vsa"] > 0.95).all() and (found["linear"] > 0.95).all()
    shuffled = vsa_probe(acts, labels[torch.randperm(800, generator=gen)], 10)
    assert (shuffled["vsa"] < 0.3).all()


def test_vsa_probe_on_a_run(tmp_path, capsys):
    run = _random_run()
    data = vsa_probe_run(run, ["a", "b"], "resid_pre", position=1, split="test")
    assert data["rows"] == ["vsa", "linear"] and data["cols"] == ["a", "b"]
    assert data["test"][0, 1] > 0.9 and data["test"][0, 0] < 0.3  # position 1 holds b, not yet a
    with pytest.raises(TritlensError, match="two or more class targets"):
        vsa_probe_run(run, ["a"])
    with pytest.raises(TritlensError, match="per-example class features"):
        vsa_probe_run(run, ["a", "answer"])
    with pytest.raises(TritlensError, match="position 7 does not exist"):
        vsa_probe_run(run, ["a", "b"], position=7)
