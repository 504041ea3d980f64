"""Progress measures and phases on a small run that groks within the test (p = 31, ~1400 steps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tritlens.api as api
from tritlens.interp import analyze_run, figure_data, summary_rows, write_analysis
from tritlens.interp.analysis import SCHEMA
from tritlens.interp.progress import detect_phases
from tritlens.report import make as report_make


@pytest.fixture(scope="module")
def grokked(grok_run_dir: Path) -> tuple[api.Run, dict]:
    run = api.load_run(grok_run_dir)
    return run, analyze_run(run)


def test_restricted_loss_tracks_full_loss_only_after_grokking(grokked: tuple[api.Run, dict]) -> None:
    _, analysis = grokked
    pr, fo = analysis["progress"], analysis["fourier"]
    assert analysis["final"]["test_acc"] == 1.0
    assert abs(fo["loss_restricted"] - fo["loss_full"]) < 1e-3  # after grokking: the clock is the model
    before = [i for i, acc in enumerate(pr["test_acc"]) if acc < 0.6]
    assert len(before) >= 4
    for i in before:  # before: the key frequencies alone do something else than the whole model
        assert abs(pr["restricted_loss"][i] - pr["full_loss"][i]) > 0.5
        assert pr["restricted_loss"][i] > 10 * pr["train_loss"][i]  # memorised, not by the clock
    assert pr["excluded_loss"][before[-1]] > pr["excluded_loss"][0] + 3  # circuit formation
    assert pr["key_norm_frac"][-1] > pr["key_norm_frac"][0]
    assert 1 <= len(fo["key_frequencies"]) <= 6 and fo["key_confidence"] > 0.5
    assert fo["frac_neurons_one_freq"] > 0.5


def test_phases_are_found_in_order(grokked: tuple[api.Run, dict]) -> None:
    run, analysis = grokked
    progress = analysis["progress"]
    phases = progress["phases"]
    assert [ph["name"] for ph in phases] == ["memorisation", "circuit formation", "clean-up"]
    assert all(ph["signature"] for ph in phases) and progress["phase_note"].startswith("grokked")
    mem, circuit, clean = phases
    timeline = {m["step"]: m for m in run.metrics}
    peak = max((m for m in run.metrics if m["step"] <= clean["end"]), key=lambda m: m["test_loss"])
    assert mem["start"] == 0 and mem["end"] == peak["step"] <= 400  # memorisation ends at the test-loss peak
    assert circuit["start"] == mem["end"] < circuit["end"] == clean["start"] < clean["end"]
    assert timeline[clean["end"]]["test_acc"] >= 0.99 > timeline[clean["end"] - 50]["test_acc"]
    assert 1100 <= clean["end"] <= 1400 and clean["start"] >= 700
    assert "weight norm" in clean["evidence"]


def test_written_analysis_round_trips(grokked: tuple[api.Run, dict], tmp_path: Path) -> None:
    run, analysis = grokked
    write_analysis(tmp_path, analysis)
    assert json.loads((tmp_path / "analysis.json").read_text()) == analysis
    keys = {"schema", "run", "final", "fourier", "progress", "trits"}
    assert keys <= set(analysis) and analysis["schema"] == SCHEMA == report_make.SCHEMA
    assert len(analysis["fourier"]["neuron_freq"]) == 128
    assert dict(summary_rows(analysis))["phases"].startswith("memorisation 0-")
    fd = figure_data(run, analysis)
    assert fd["attn_eq_to_a"].shape == (4, 31, 31) and len(fd["neuron_ids"]) > 0


def _curves(n: int) -> dict[str, list[float]]:
    """A grokking run over steps 0, 50, ..., 50 (n - 1): memorises by step 150 (test-loss peak), a test-loss
    plateau, a collapse from step 650 and test accuracy 99% at 850."""
    return {
        "train_acc": [min(1.0, i / 3) for i in range(n)],
        "test_acc": [0.1] * 15 + [0.5, 0.9, 1.0, 1.0, 1.0],
        "test_loss": [4.0, 6.0, 7.0, 8.0] + [7.5 - 0.1 * i for i in range(9)] + [5.0, 1.0, 0.1, 0.01, 1e-3,
                                                                                 1e-4, 1e-5],
        "train_loss": [4.0 / (1 + i) ** 3 for i in range(n)], "excluded_loss": [1.0 + i for i in range(n)],
        "restricted_loss": [5.0 - i / n for i in range(n)], "weight_norm": [10.0 - 0.1 * i for i in range(n)],
    }


def test_phase_rule_on_synthetic_curves() -> None:
    steps = list(range(0, 1000, 50))
    curves = _curves(len(steps))
    phases, note = detect_phases(steps, curves)
    assert [(ph["name"], ph["start"], ph["end"]) for ph in phases] == [
        ("memorisation", 0, 150), ("circuit formation", 150, 650), ("clean-up", 650, 850)]
    assert all(ph["signature"] for ph in phases) and note == "grokked: test accuracy 99% at step 850"
    curves["excluded_loss"] = curves["excluded_loss"][::-1]  # the circuit-formation signature is missing
    phases, note = detect_phases(steps, curves)
    assert [ph["signature"] for ph in phases] == [True, False, True] and "circuit formation" in note


def test_phases_of_runs_that_do_not_grok() -> None:
    steps = list(range(0, 1000, 50))
    curves = _curves(len(steps))
    curves["test_acc"] = [0.1] * len(steps)  # never generalises, but the circuit is forming
    curves["test_loss"] = curves["test_loss"][:13] + [7.0] * 7
    phases, note = detect_phases(steps, curves)
    assert [(ph["name"], ph["end"], ph.get("complete")) for ph in phases] == [
        ("memorisation", 150, None), ("circuit formation", 950, False)]
    assert "has not grokked" in note and "still forming" in note
    curves["excluded_loss"] = [1.0] * len(steps)  # memorisation only
    phases, note = detect_phases(steps, curves)
    assert [ph["name"] for ph in phases] == ["memorisation"] and "no circuit formation" in note
    curves = _curves(len(steps))
    curves["test_loss"] = [4.0 / (1 + i) for i in range(len(steps))]  # generalises with the training loss
    phases, note = detect_phases(steps, curves)
    assert phases == [] and "without memorising" in note and "step 850" in note


def test_phase_signature_unknown_with_one_checkpoint() -> None:
    """Only the final checkpoint: the timeline still places the phases, but the checkpoint curves (excluded
    and restricted loss, weight norm) have one point, so circuit formation and clean-up are unknown, not
    failed."""
    steps = list(range(0, 1000, 50))
    curves = _curves(len(steps))
    logged = ("train_loss", "test_loss", "train_acc", "test_acc")
    timeline = {"steps": steps, **{k: curves[k] for k in logged}}
    last = {k: v[-1:] for k, v in curves.items()}
    phases, note = detect_phases(steps[-1:], last, timeline)
    assert [(ph["name"], ph["start"], ph["end"], ph["signature"]) for ph in phases] == [
        ("memorisation", 0, 150, True), ("circuit formation", 150, 650, None), ("clean-up", 650, 850, None)]
    assert "not as the paper describes" not in note
    assert note.endswith("too few checkpoints to read the progress measures in circuit formation, clean-up "
                         "(train with a smaller train.checkpoint_every)")
