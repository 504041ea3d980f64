"""Open reports in headless Chromium: no JavaScript error, every plot rendered; PNG export; screenshots.

Skipped only when no Chromium is installed and the CI variable is unset (in CI these tests must run).
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import json
import os
import re
import struct
from pathlib import Path

import pytest

from tritlens.report import build_report, write_pngs
from tritlens.report.chromium import dump_dom, find_chromium
from tritlens.report.screenshot import main as screenshot_main

from .synthetic import make_circuit_outputs, make_comparison, make_input

pytestmark = pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"),
                                reason="no chromium installed (apt-get install chromium)")

# Records every error before any other script runs; after load, writes what rendered into the DOM.
PROBE = """<script>
window.__tl = {errors: []};
window.addEventListener("error", function (e) { __tl.errors.push("error: " + e.message); });
window.addEventListener("unhandledrejection", function (e) { __tl.errors.push("rejection: " + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    __tl.errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  setTimeout(function () {
    var plots = Array.prototype.slice.call(document.querySelectorAll("div.tl-plot"));
    var result = {errors: __tl.errors, expected: plots.length, plots: {}, width: document.body.scrollWidth,
                  plotly: typeof Plotly === "undefined" ? null : Plotly.version};
    plots.forEach(function (div) {
      result.plots[div.id] = {
        rendered: div.classList.contains("js-plotly-plot") && div.querySelector(".main-svg") !== null,
        traces: div.querySelectorAll("g.trace, g.hm").length,
        heatmaps: div.querySelectorAll("g.hm image").length,
        width: Math.round(div.getBoundingClientRect().width)
      };
    });
    var pre = document.createElement("pre");
    pre.id = "tl-probe";
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }, 3000);
});
</script>"""


def probe(page: str, tmp_path: Path) -> dict:
    """Render ``page`` in headless Chromium and return what the probe saw."""
    path = tmp_path / "probed.html"
    path.write_text(page.replace("<head>", "<head>" + PROBE, 1))
    dom = dump_dom(path, budget_ms=20_000, timeout=240, width=1280, height=1600)
    found = re.search(r'<pre id="tl-probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe never reported (page did not finish loading)"
    return json.loads(html.unescape(found.group(1)))


def assert_all_rendered(result: dict, expected: int, heatmaps: int) -> None:
    assert result["errors"] == []
    assert result["plotly"], "plotly.js did not load"
    assert result["expected"] == expected
    missing = [k for k, v in result["plots"].items() if not v["rendered"] or v["traces"] == 0]
    assert missing == [], f"plots not rendered: {missing}"
    assert sum(v["heatmaps"] for v in result["plots"].values()) == heatmaps
    assert result["width"] <= 1280, "the page scrolls sideways at laptop width"
    assert all(v["width"] > 600 for v in result["plots"].values()), "plots do not fill the column"


def test_multi_run_report_renders_without_errors(tmp_path):
    runs = [make_input("full", "full", seed=0), make_input("binary", "binary", seed=1),
            make_input("ternary", "ternary", seed=2, applies=False)]
    result = probe(build_report(runs, make_comparison(runs)), tmp_path)
    # 7 figure types; Fourier-based ones drawn once (2 columns), attention and neurons once per run
    assert_all_rendered(result, expected=11, heatmaps=3 * (4 + 6))


def test_p113_single_run_renders(tmp_path):
    run = make_input("p113", p=113, d_mlp=512, steps_total=10_000, eval_every=100, n_ckpt=51, n_sel=12)
    assert_all_rendered(probe(build_report([run]), tmp_path), expected=7, heatmaps=4 + 12)


def test_probe_catches_a_javascript_error(tmp_path):
    page = build_report([make_input()]).replace("</body>", "<script>undefinedFunction();</script></body>")
    result = probe(page, tmp_path)
    assert any("undefinedFunction" in e for e in result["errors"])


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_export(tmp_path):
    runs = [make_input("full", "full", seed=0), make_input("ternary", "ternary", seed=2)]
    paths = write_pngs(runs, tmp_path / "png")
    assert [p.name for p in paths] == ["loss.png", "progress.png", "embed-fourier.png", "attention-full.png",
                                       "attention-ternary.png", "neurons-full.png", "neurons-ternary.png",
                                       "neuron-fve.png", "logit-fourier.png"]
    for path in paths:
        width, height = _png_size(path)
        assert width == 2400 and height > 400 and path.stat().st_size > 10_000


def test_screenshot_command(tmp_path, capsys):
    report = tmp_path / "report.html"
    report.write_text(build_report([make_input()]))
    assert screenshot_main([str(report), str(tmp_path / "shot.png"), "--height", "1200"]) == 0
    assert _png_size(tmp_path / "shot.png") == (1280, 1200)
    assert screenshot_main([str(tmp_path / "missing.html"), str(tmp_path / "x.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def _has_interp() -> bool:
    if importlib.util.find_spec("tritlens.interp") is None:
        return False
    interp = importlib.import_module("tritlens.interp")
    names = ("analyze_run", "figure_data", "compare", "planted_clock_model")
    return all(hasattr(interp, name) for name in names)


needs_interp = pytest.mark.skipif(not _has_interp(), reason="tritlens.interp is not there yet")


@needs_interp
def test_planted_clock_models_render_with_real_analysis(tmp_path):
    """Real interp output (hand-built clock transformers for add and mul, no training) through the page."""
    from tritlens.api import Run
    from tritlens.interp import analyze_run, compare, figure_data, planted_clock_model, planted_config
    from tritlens.report import ReportInput

    inputs = []
    for op in ("add", "mul"):
        run = Run(None, planted_config(23, [3, 7], op), planted_clock_model(23, [3, 7], op), [])
        analysis = analyze_run(run, checkpoints=False)
        inputs.append(ReportInput(f"planted-{op}", analysis, [], figure_data(run, analysis)))
    comparison = compare([i.analysis for i in inputs], [i.name for i in inputs],
                         figure_data=[i.figure_data for i in inputs])
    page = build_report(inputs, comparison)
    assert "i (a = 5^i)" in page  # mul heatmaps in discrete-log order
    result = probe(page, tmp_path)
    # no metrics and no progress: Fourier bars, FVE, logits once; attention and neurons per run
    n_sel = sum(len(i.figure_data["neuron_ids"]) for i in inputs)
    heads = sum(len(i.figure_data["attn_eq_to_a"]) for i in inputs)
    assert_all_rendered(result, expected=3 + 2 + 2, heatmaps=heads + n_sel)


@pytest.mark.slow
@needs_interp
def test_real_run_report_renders(tmp_path):
    from tritlens.api import train
    from tritlens.report import make_report

    run_dir = tmp_path / "quick"
    train(preset="quick", out=run_dir, progress=False,
          overrides={"train.steps": 300, "train.eval_every": 50, "train.checkpoint_every": 100})
    out = make_report([run_dir], tmp_path / "report.html")
    result = probe(out.read_text(), tmp_path)
    assert result["errors"] == [] and result["expected"] >= 4
    assert all(v["rendered"] for v in result["plots"].values())


def test_arithmetic_section_renders_quanta_maps(tmp_path):
    """Real circuit searches and grades of two planted adders (one with a planted fault) through the page:
    nines by class, a quanta map and attention map per run, and the shared-node map."""
    from tritlens.interp.arith import circuit_search, grade_run
    from tritlens.interp.arith.planted import planted_run
    from tritlens.report import ReportInput

    inputs = []
    for name, broken in (("planted", ()), ("planted-faulty", (2,))):
        run = planted_run(3, broken)
        arith = {"grade": grade_run(run, questions=5000), "circuit": circuit_search(run, per_class=20)}
        analysis = {"schema": 1, "run": {"task": "3-digit addition", "precision": "full"}, "final": {},
                    "fourier": {"applies": False, "note": "not modular arithmetic"}}
        inputs.append(ReportInput(name, analysis, [], {}, outputs=arith))
    page = build_report(inputs)
    assert "Quanta map" in page and "A2.SA" in page and "8 of 8 clauses hold" in page
    assert "useful in all 2 runs" in page
    result = probe(page, tmp_path)
    assert_all_rendered(result, expected=1 + 2 + 2 + 1, heatmaps=2 + 2 + 1)
    assert result["plots"]["fig-quanta-planted"]["heatmaps"] == 1
def test_circuit_sections_render(tmp_path):
    """Attribution bars, patching heat maps (activation | attribution), probe heat maps and the LN-removal
    comparison, from outputs shaped exactly as the commands write them."""
    from tritlens.run import schema
    from tritlens.run.schema import ATTRIBUTION, LN_REMOVAL, PATCHING, PROBES

    outputs = make_circuit_outputs()
    for key, shape in (("attribution", ATTRIBUTION), ("patching", PATCHING), ("probes", PROBES),
                       ("ln_removal", LN_REMOVAL)):
        schema.check(outputs[key], shape, key)
    with_all = make_input("lnfree")._replace(outputs=outputs)
    only_attribution = make_input("other", seed=1)._replace(outputs={"attribution": outputs["attribution"]})
    page = build_report([with_all, only_attribution])
    for title in ("Direct logit attribution", "Which input moves which answer",
                  "Activation vs attribution patching", "Probes", "LayerNorm removal"):
        assert f">{title}</h2>" in page
    result = probe(page, tmp_path)
    grids = len(outputs["patching"]["grids"])
    base = 3 + 2 + 2 * 2  # figures of two plain runs: shared ones, and attention and neurons per run
    base_heatmaps = 2 * (4 + 6)
    assert_all_rendered(result, expected=base + 2 + 2 + 1 + 1 + 1,  # attribution and sensitivity: 2 runs
                        heatmaps=base_heatmaps + 2 + 2 * grids + len(outputs["probes"]["probes"]))


def test_real_circuit_outputs_render(tmp_path):
    """A small LayerNorm run, its norm-free version, and every circuit command on both, in one report."""
    from tritlens import api
    from tritlens.report import make_report

    ln, free = tmp_path / "ln", tmp_path / "free"
    api.train("quick", out=ln, progress=False,
              overrides=["task.p=17", "model.d_model=16", "model.d_head=4", "model.d_mlp=32",
                         "model.norm=layer", "model.n_layers=2", "train.steps=60", "train.eval_every=20",
                         "train.checkpoint_every=0"])
    api.remove_ln(ln, free, ["steps=40", "start=2", "gap=3", "eval_every=10"], progress=False)
    for run in (ln, free):
        api.attribute(run, examples=100)
        api.patching(run, examples=100)
        api.probe(run, "a", examples=100)
    out = make_report([ln, free], tmp_path / "report.html")
    result = probe(out.read_text(), tmp_path)
    assert result["errors"] == []
    assert all(v["rendered"] and v["traces"] > 0 for v in result["plots"].values())
    names = set(result["plots"])
    for key in ("attribution-ln", "attribution-free", "sensitivity-ln", "patching-ln", "patching-free",
                "probes-ln", "probes-free", "ln-removal-free"):
        assert f"fig-{key}" in names, sorted(names)
