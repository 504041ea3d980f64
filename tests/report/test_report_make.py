"""make_report from run directories: analysis.json reuse, interp calls, errors, nothing half-written."""

from __future__ import annotations

import json
import os

import pytest

from tritlens.api import train
from tritlens.errors import TritlensError
from tritlens.report import make as report_make
from tritlens.report import make_report
from tritlens.report.make import load_inputs, read_analysis

from .synthetic import make_comparison, make_input

STEPS = 20


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(preset="quick", out=out, progress=False,
          overrides={"train.steps": STEPS, "train.eval_every": 10, "train.checkpoint_every": 10})
    return out


def _synthetic(name: str, p: int = 59):
    return make_input(name, p=p, d_mlp=256, steps_total=STEPS, eval_every=10, n_ckpt=3)


@pytest.fixture
def fake_interp(monkeypatch):
    """Stand-ins for the interp functions the report calls: synthetic contract data, calls recorded."""
    calls: list[str] = []

    def analyze_run(run, checkpoints=True):
        calls.append("analyze_run")
        return _synthetic(run.path.name).analysis

    def figure_data(run, analysis):
        calls.append("figure_data")
        return _synthetic(run.path.name).figure_data

    def compare(analyses, names, figure_data=None):
        calls.append("compare")
        assert len(analyses) == len(names) == len(figure_data)
        return make_comparison([_synthetic(n) for n in names])

    for name, fn in (("analyze_run", analyze_run), ("figure_data", figure_data), ("compare", compare)):
        monkeypatch.setattr(report_make, name, fn)
    return calls


def _write_analysis(run_dir, data, newer=True):
    path = run_dir / "analysis.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    model = run_dir / "model.safetensors"
    t = model.stat().st_mtime + (10 if newer else -10)
    os.utime(path, (t, t))
    return path


@pytest.fixture
def clean_run(run_dir):
    yield run_dir
    (run_dir / "analysis.json").unlink(missing_ok=True)


def test_computes_analysis_and_figure_data_with_interp(clean_run, fake_interp, tmp_path):
    out = make_report([clean_run], tmp_path / "report.html")
    assert fake_interp == ["analyze_run", "figure_data"]
    page = out.read_text()
    assert "<th scope='row' title='runs/tiny'>tiny</th>" in page and page.count("class='tl-plot'") == 7
    assert f"<td class='num'>{STEPS}</td>" in page  # the synthetic analysis' final step


def test_current_analysis_json_is_reused(clean_run, fake_interp, tmp_path):
    _write_analysis(clean_run, _synthetic("tiny").analysis)
    make_report([clean_run], tmp_path / "report.html")
    assert fake_interp == ["figure_data"]


def test_stale_analysis_json_is_recomputed(clean_run, fake_interp):
    data = _synthetic("tiny").analysis
    _write_analysis(clean_run, data, newer=False)
    assert read_analysis(clean_run) is None
    _write_analysis(clean_run, {**data, "schema": 0})
    assert read_analysis(clean_run) is None


def test_two_runs_are_compared(clean_run, fake_interp, tmp_path):
    inputs, comparison = load_inputs([clean_run, clean_run])
    assert [i.name for i in inputs] == ["tiny", "tiny #2"]
    assert comparison["names"] == ["tiny", "tiny #2"] and fake_interp.count("compare") == 1


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "binary"])
def test_corrupted_analysis_json_is_one_line_error_and_writes_nothing(clean_run, fake_interp, tmp_path,
                                                                      content):
    path = clean_run / "analysis.json"
    if content == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        _write_analysis(clean_run, content)
    out = tmp_path / "report.html"
    out.write_text("previous report")
    with pytest.raises(TritlensError) as err:
        make_report([clean_run], out, png_dir=tmp_path / "png", force=True)
    assert "analysis.json" in str(err.value) and "\n" not in str(err.value)
    assert out.read_text() == "previous report" and not (tmp_path / "png").exists()


def test_missing_run_dir_is_an_error(tmp_path):
    with pytest.raises(TritlensError, match="no such run directory"):
        make_report([tmp_path / "nope"], tmp_path / "report.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TritlensError, match="not a tritlens run directory"):
        make_report([tmp_path / "empty"], tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


def test_output_that_is_a_directory_is_an_error(clean_run, tmp_path):
    with pytest.raises(TritlensError, match="is a directory"):
        make_report([clean_run], tmp_path)


def test_failure_while_analysing_leaves_no_report(clean_run, fake_interp, tmp_path, monkeypatch):
    def broken(run, analysis):
        raise RuntimeError("figure data failed")

    monkeypatch.setattr(report_make, "figure_data", broken)
    with pytest.raises(RuntimeError):
        make_report([clean_run], tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_analysis_that_does_not_apply_still_gives_loss_curves(clean_run, fake_interp, tmp_path, monkeypatch):
    def not_applicable(run, checkpoints=True):
        raise TritlensError("Fourier/clock analysis supports task.op add, sub, mul and div, not 'a*a+b'")

    monkeypatch.setattr(report_make, "analyze_run", not_applicable)
    page = make_report([clean_run], tmp_path / "report.html").read_text()
    assert "tiny: Fourier/clock analysis supports" in page and page.count("class='tl-plot'") == 1
    assert fake_interp == []  # no figure data for a run the analysis does not apply to


def test_run_without_checkpoints_gets_analysis_without_progress(clean_run, fake_interp, tmp_path,
                                                                monkeypatch):
    def no_progress(run, checkpoints=True):
        if checkpoints:
            raise TritlensError("tiny has no checkpoints, so there is no progress to analyse")
        analysis = _synthetic("tiny").analysis
        analysis["progress"] = {"steps": [], "skipped": "progress not requested"}
        return analysis

    monkeypatch.setattr(report_make, "analyze_run", no_progress)
    page = make_report([clean_run], tmp_path / "report.html").read_text()
    assert "tiny: no progress measures (tiny has no checkpoints" in page
    assert page.count("class='tl-plot'") == 6


def test_report_refuses_existing_output_and_its_own_inputs(clean_run, fake_interp, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("previous report")
    with pytest.raises(TritlensError, match="exists; pass --force"):
        make_report([clean_run], out)
    assert out.read_text() == "previous report" and fake_interp == []
    config = clean_run / "config.json"
    before = config.read_bytes()
    checkpoint = clean_run / "checkpoints" / "step_000010.safetensors"
    for target in (config, clean_run / "model.safetensors", checkpoint):
        with pytest.raises(TritlensError, match="one of this command's inputs"):
            make_report([clean_run], target, force=True)
    assert config.read_bytes() == before
    make_report([clean_run], out, force=True)
    assert out.read_text().startswith("<!DOCTYPE html>")
