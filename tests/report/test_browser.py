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
import zlib
from pathlib import Path

import pytest

from tritlens.report import build_report, gates, write_pngs
from tritlens.report.chromium import dump_dom, find_chromium, run_chromium, screenshot
from tritlens.report.screenshot import main as screenshot_main

from .synthetic import make_circuit, make_circuit_outputs, make_comparison, make_gate_layout, make_input

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


# Runs once the page has loaded, in real time (no virtual-time budget, so performance.now() advances):
# redraws every gate view under changing zoom, counts painted pixels, hovers a node and zooms by wheel.
GATE_PROBE = """<script>
window.__tl = {errors: []};
window.addEventListener("error", function (e) { __tl.errors.push("error: " + e.message); });
window.addEventListener("load", function () {
  var views = (window.tlGateViews || []).map(function (v) {
    var out = {renderer: v.renderer, nodes: v.n, edges: v.m, first_ms: v.firstDrawMs,
               moving_ms: v.benchmark(30, true), frame_ms: v.benchmark(10, false), painted: v.painted(),
               pixels: v.canvas.width * v.canvas.height};
    var i = 17, p = v.toScreen(v.data.nodes.x[i], v.data.nodes.y[i]), r = v.canvas.getBoundingClientRect();
    v.canvas.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + p[0], clientY: r.top + p[1]}));
    out.tip = v.tip.style.display === "block" ? v.tip.textContent : "";
    var before = v.scale;
    v.canvas.dispatchEvent(new WheelEvent("wheel", {deltaY: -300, clientX: r.left + 50, clientY: r.top + 50,
                                                    cancelable: true}));
    out.zoomed = v.scale / before;
    return out;
  });
  var pre = document.createElement("pre");
  pre.id = "tl-gate-probe";
  pre.textContent = JSON.stringify({errors: __tl.errors, views: views});
  document.body.appendChild(pre);
});
</script>"""


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    pos, idat, header = 8, b"", None
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + size
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def test_gate_view_at_24k_nodes_is_responsive_and_draws(tmp_path):
    layout = make_gate_layout(24_000, 40)
    run = make_input("discrete", "discrete", seed=3)._replace(gates=make_circuit(layout))
    page = build_report([run])
    assert page.count("class='tl-gates'") == 1 and "<script src" not in page  # everything inline
    path = tmp_path / "gates.html"
    path.write_text(page.replace("<head>", "<head>" + GATE_PROBE, 1))
    dom = run_chromium(["--window-size=1280,1600", "--dump-dom", path.resolve().as_uri()],
                       purpose="gate view probe", timeout=240)
    found = re.search(r'<pre id="tl-gate-probe">(.*?)</pre>', dom, re.S)
    assert found, "the gate view probe never reported"
    result = json.loads(html.unescape(found.group(1)))
    assert result["errors"] == []
    (view,) = result["views"]
    assert (view["nodes"], view["renderer"]) == (24_000, "webgl") and view["edges"] == 48_000
    # measured with a pixel read-back after every frame, so the software renderer has really drawn it
    assert view["moving_ms"] < 250, f"a frame of 24,000 moving nodes takes {view['moving_ms']:.0f} ms"
    assert view["frame_ms"] < 2000, f"a full redraw of 24,000 nodes takes {view['frame_ms']:.0f} ms"
    assert view["painted"] > 0.05 * view["pixels"]  # nodes and edges cover the canvas
    assert re.fullmatch(r"n\d+ · (and|input) · module \d+ \(\d+ gates\)", view["tip"]), view["tip"]
    assert view["zoomed"] > 1.2
    alone = tmp_path / "alone.html"  # the view by itself, so every coloured pixel is a gate or a wire
    alone.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{gates.GATE_CSS}</style>"
                     f"</head><body style='margin:0'>{gates.gate_view_html('gates-alone', layout)}"
                     f"{gates.script()}</body></html>")
    shot = screenshot(alone, tmp_path / "gates.png", width=1000, height=600, budget_ms=3000)
    _, _, rows = _png_pixels(shot)
    bpp = len(rows[0]) // 1000
    coloured = sum(1 for row in rows for k in range(0, len(row), 4 * bpp)
                   if max(row[k : k + 3]) - min(row[k : k + 3]) > 60)
    assert coloured > 0.05 * len(rows) * 250, f"the screenshot shows only {coloured} coloured samples"
