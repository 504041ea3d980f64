"""The report's Sweep section: from a sweep directory (its trials become the runs) and from a planted
summary, rendered in headless Chromium like every other figure."""

from __future__ import annotations

import os

import pytest

import tritlens.api as tl
from tritlens.report import build_report
from tritlens.report.chromium import find_chromium
from tritlens.report.sweep import steps_figure, sweep_section

from .synthetic import make_input
from .test_browser import probe

PLANTED = {
    "schema": 1, "path": "runs/s", "name": "wd", "swept": ["train.weight_decay", "model.act"],
    "counts": {"complete": 3, "failed": 1},
    "trials": [
        {"name": f"quick__wd={wd}__seed={s}", "group": f"quick__wd={wd}", "preset": "quick",
         "settings": {"train.weight_decay": wd, "model.act": act}, "seed": s, "status": "complete",
         "error": None, "steps": 500, "steps_to_99": to99, "train_loss": 1e-3, "train_acc": 1.0,
         "test_loss": 2e-3, "test_acc": 1.0, "key_frequencies": keys, "trit_zero_frac": None}
        for wd, act, s, to99, keys in [(0.1, "relu", 0, 400, [3, 7]), (0.1, "relu", 1, 300, [3, 9]),
                                       (10.0, "gelu", 0, 150, [5])]
    ] + [{"name": "quick__wd=100__seed=0", "group": "quick__wd=100", "preset": "quick",
          "settings": {"train.weight_decay": 100.0, "model.act": "relu"}, "seed": 0, "status": "failed",
          "error": "training diverged", "steps_to_99": None}],
    "settings": [{"group": "quick__wd=0.1", "trials": ["a", "b"], "complete": 2, "steps_to_99": [400, 300],
                  "mean_steps_to_99": 350.0, "analysed": 2, "common_frequencies": [3], "jaccard": 1 / 3}],
}


def test_planted_summary_gives_tables_notes_and_one_figure_per_setting():
    sec = sweep_section(PLANTED)
    assert [row[3] for row in sec.tables[0][1]] == ["400", "300", "150", "–"]
    assert sec.tables[1][1] == [["quick__wd=0.1", "2", "2", "350", "3", "0.33"]]
    assert any("training diverged" in n for n in sec.notes)
    wd = steps_figure(PLANTED, "train.weight_decay")
    assert list(wd.data[0].y) == [400, 300, 150] and wd.layout.xaxis.type == "log"  # 0.1 .. 10 spans 100x
    assert steps_figure(PLANTED, "model.act").layout.xaxis.type == "category"
    assert steps_figure({**PLANTED, "trials": PLANTED["trials"][3:]}, "train.weight_decay") is None


@pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"),
                    reason="no chromium installed (apt-get install chromium)")
def test_the_sweep_section_renders(tmp_path):
    page = build_report([make_input("fp")], extra=[sweep_section(PLANTED)])
    assert "Sweep wd" in page and "quick__wd=0.1__seed=1" in page
    result = probe(page, tmp_path)
    assert result["errors"] == [] and result["expected"] == len(result["plots"])
    assert [k for k, v in result["plots"].items() if not v["rendered"] or v["traces"] == 0] == []
    assert {"fig-sweep-train-weight-decay", "fig-sweep-model-act"} <= set(result["plots"])


def test_report_of_a_sweep_directory(tmp_path):
    fixed = {"task.p": 17, "model.d_model": 16, "model.d_head": 4, "model.d_mlp": 32, "train.steps": 20,
             "train.eval_every": 10, "train.checkpoint_every": 10}
    out = tmp_path / "sweep"
    tl.sweep({"presets": ["quick"], "seeds": [0, 1], "fixed": fixed}, out, workers=2)
    page = tl.report([out], tmp_path / "r.html").read_text()
    assert "<section id='sweep'>" in page and page.count("quick__seed=") >= 4
    one = tl.report([out / "trials" / "quick__seed=1"], tmp_path / "one.html").read_text()
    assert "<section id='sweep'>" in one  # a trial given alone still brings its sweep's section
