"""The analysis on models with several layers: a planted 3-layer clock and a trained 2-layer model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tritlens.api as api
from tritlens.interp import analyze_run, figure_data, summary_rows
from tritlens.interp.planted import PlantedSpec, planted_config, planted_model

# (a + b) mod 23, 80% train, 2 layers: test accuracy 99% by step ~600 (about 8 s on one core)
TWO_LAYERS = ["model.n_layers=2", "task.p=23", "task.train_frac=0.8", "model.d_model=48", "model.d_head=12",
              "model.n_heads=4", "model.d_mlp=96", "train.lr=0.003", "train.weight_decay=1.0",
              "train.steps=600", "train.eval_every=50", "train.checkpoint_every=100"]


@pytest.mark.parametrize("quant", ["none", "binary"])
def test_planted_clock_in_the_last_of_three_layers(quant: str) -> None:
    spec = PlantedSpec(31, (3, 7, 11), quant=quant, layers=3)
    run = api.Run(None, planted_config(31, spec.freqs, quant=quant, layers=3), planted_model(spec), [])
    analysis = analyze_run(run, checkpoints=False)
    fo = analysis["fourier"]
    assert analysis["run"]["n_layers"] == 3 and fo["key_frequencies"] == [3, 7, 11]
    first, middle, last = fo["layers"]
    assert [h["freq"] in (3, 7, 11) for h in first["attn"]["heads"]] == [True, True]  # heads copy a and b
    assert first["attn"]["key_fve"] > 0.999 and middle["attn"]["key_fve"] == 0.0  # zero attention
    d_mlp = run.model.cfg.d_mlp
    assert first["mlp"]["dead_neurons"] == middle["mlp"]["dead_neurons"] == d_mlp  # zero MLPs
    assert last["mlp"]["dead_neurons"] == 0 and last["mlp"]["frac_neurons_one_freq"] == 1.0
    assert sorted(last["mlp"]["clusters"]) == ["11", "3", "7"] and last["mlp"]["key_fve"] > 0.95  # harmonics
    assert fo["clusters"] == last["mlp"]["clusters"]  # the top-level neuron fields are the last layer's
    assert last["resid_key_fve"] > 0.95 and len(last["resid_freq_share"]) == 15
    fd = figure_data(run, analysis)
    assert fd["attn_pattern_eq_to_a_by_layer"].shape == (3, 2, 31, 31) and int(fd["neuron_layer"]) == 2
    rows = dict(summary_rows(analysis))
    assert {"layer 0", "layer 1", "layer 2"} <= set(rows) and "k=3" in rows["layer 2"]


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("two") / "run"
    api.train("quick", out=out, overrides=TWO_LAYERS, progress=False)
    return out


def test_trained_two_layer_model(two_layers: Path) -> None:
    run = api.load_run(two_layers)
    analysis = analyze_run(run)
    json.dumps(analysis, allow_nan=False)
    fo, final = analysis["fourier"], analysis["final"]
    assert final["test_acc"] >= 0.99 and analysis["run"]["n_layers"] == 2
    assert fo["key_confidence"] > 0.5 and 1 <= len(fo["key_frequencies"]) <= 5
    assert fo["loss_restricted"] <= fo["loss_full"]  # the key frequencies alone solve the task
    layers = fo["layers"]
    assert [layer["layer"] for layer in layers] == [0, 1]
    for layer in layers:  # both layers work on the key frequencies, in attention and in the MLP
        assert layer["attn"]["key_fve"] > 0.5 and layer["mlp"]["key_fve"] > 0.5
        assert all(len(h["key_freq_share"]) == len(fo["key_frequencies"]) for h in layer["attn"]["heads"])
        assert len(layer["mlp"]["neuron_freq"]) == 96
    assert layers[-1]["resid_key_fve"] > 0.5
    assert [ph["name"] for ph in analysis["progress"]["phases"]][:1] == ["memorisation"]
    fd = figure_data(run, analysis)
    assert fd["attn_eq_to_a_by_layer"].shape == (2, 4, 23, 23) and fd["attn_eq_to_a"].shape == (4, 23, 23)
