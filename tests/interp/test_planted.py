"""The analysis recovers a hand-built clock transformer exactly (see tritlens.interp.planted)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tritlens.api as api
from tritlens.build import build_model, build_task
from tritlens.interp import analyze_run, compare, figure_data, summary_rows
from tritlens.interp.fourier import poly2_fve
from tritlens.interp.grid import cyclic_view
from tritlens.interp.measures import neuron_acts
from tritlens.presets import preset_config

from .helpers import planted_run

FREQS = [3, 7, 11]


@pytest.fixture(scope="module", params=["add", "sub", "mul", "div"])
def planted(request: pytest.FixtureRequest) -> tuple[object, dict]:
    run = planted_run(31, FREQS, request.param)
    return run, analyze_run(run, checkpoints=False)


def test_key_frequencies_are_recovered_exactly(planted: tuple[object, dict]) -> None:
    _, analysis = planted
    fo = analysis["fourier"]
    assert fo["key_frequencies"] == FREQS == fo["embed_key_frequencies"]
    assert fo["embed_key_confidence"] > 0.999 and fo["key_norm_frac"] > 0.999999  # exact in the embedding
    assert fo["key_confidence"] > 0.95  # the logits keep a small ripple (see planted.py)
    assert fo["applies"] and fo["note"]


def test_neurons_and_logits(planted: tuple[object, dict]) -> None:
    run, analysis = planted
    fo = analysis["fourier"]
    per_freq = len(fo["neuron_freq"]) // len(FREQS)
    assert fo["neuron_freq"] == [k for k in FREQS for _ in range(per_freq)]  # neurons are planted in order
    assert min(fo["neuron_fve"]) > 0.95  # one ReLU of one frequency: FVE ~0.96 (harmonics of the ReLU)
    assert fo["frac_neurons_one_freq"] == 1.0 and sorted(fo["clusters"]) == sorted(map(str, FREQS))
    best_k, r2 = poly2_fve(neuron_acts(run.model, cyclic_view(run.task)))  # the explicit least-squares fit
    assert fo["poly2_best_k"] == best_k.tolist() == fo["neuron_freq"]
    assert np.allclose(fo["poly2_fve"], r2.numpy(), atol=1e-9)
    assert fo["logit_key_fve"] > 0.995
    norms = np.asarray(fo["logit_norms"])
    assert norms[[k - 1 for k in FREQS]].min() > 20 * np.delete(norms, [k - 1 for k in FREQS]).max()
    assert fo["acc_full"] == 1.0 and fo["loss_full"] < 1e-3
    assert fo["loss_restricted"] <= fo["loss_full"] * 1.5
    assert fo["loss_excluded"] > math.log(31) - 0.5
    assert analysis["trits"] == {} and analysis["run"]["precision"] == "full"


def test_output_is_json_and_figure_data_has_the_contract_shapes(planted: tuple[object, dict]) -> None:
    run, analysis = planted
    json.dumps(analysis, allow_nan=False)
    fd = figure_data(run, analysis)
    assert fd["attn_eq_to_a"].shape == (2, 31, 31) and fd["attn_eq_to_a"].dtype == np.float32
    assert np.allclose(fd["attn_pattern_eq_to_a"][0], 1.0) and np.allclose(fd["attn_pattern_eq_to_a"][1], 0.0)
    n_sel = len(fd["neuron_ids"])
    assert n_sel == 4 * len(FREQS) and fd["neuron_acts"].shape == (n_sel, 31, 31)
    assert sorted(set(fd["neuron_freq_sel"].tolist())) == FREQS
    assert dict(summary_rows(analysis))["key frequencies"].startswith("[3, 7, 11]")


def test_compare_planted_models() -> None:
    a, b = planted_run(31, FREQS), planted_run(31, [3, 7, 13])
    analyses = [analyze_run(a, checkpoints=False), analyze_run(b, checkpoints=False)]
    result = compare(analyses, ["A", "B"], [figure_data(a, analyses[0]), figure_data(b, analyses[1])])
    assert result["numbers"]["shared_key_frequencies"] == [3, 7]
    assert result["numbers"]["jaccard_matrix"][0][1] == pytest.approx(0.5)
    assert "2 of 4 key frequencies shared" in result["verdict"]
    assert "same algorithm" in result["verdict"]
    assert {r["metric"] for r in result["rows"]} >= {"key frequencies", "trit zero fraction", "layers"}
    assert all(len(r["values"]) == 2 for r in result["rows"])


def test_compare_with_an_untrained_model() -> None:
    cfg = preset_config("quick", ["task.p=31", "model.d_model=32", "model.d_head=8", "model.d_mlp=64"])
    untrained = api.Run(None, cfg, build_model(cfg, build_task(cfg)), [])
    planted = planted_run(31, FREQS)
    analyses = [analyze_run(planted, checkpoints=False), analyze_run(untrained, checkpoints=False)]
    result = compare(analyses, ["planted", "untrained"])
    assert result["numbers"]["status"] == ["clock", "unclear"]
    assert "untrained: no clear key frequencies" in result["verdict"]
    assert "attention_similarity" not in result["numbers"]
