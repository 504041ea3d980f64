"""Discrete transformers, properties of the sequence presets, and the gate-graph view at 20,000+ nodes.

Run (trained run directories first, see benchmarks/RESULTS.md)::

    .venv/bin/python benchmarks/bench_discrete.py --transformers runs/dt-p11 runs/dt-p31 \
        --sequences runs/rnn-count=count runs/rnn-brackets=brackets --gate-view

* transformers: trit zero fraction, compile and verify (circuit == model, circuit == spec) as
  ``tritlens verify RUN --spec S`` runs them, wall and CPU seconds, gates and depth as compiled, after the
  fast pass, and after truth-table resynthesis (``collapse``, circuits of at most 14 input bits);
  the key frequencies of ``RUN/analysis.json`` when ``tritlens analyze`` has been run.
* sequences: every ``examples/properties/NAME_*.txt`` checked on the run for all input lengths, ours
  against berkeley-abc pdr.
* gate view: a real compiled circuit of 26,000+ nodes laid out and drawn in headless Chromium (frame
  time of a full redraw, painted pixels), and a synthetic 100,000-node layout for scaling.
Prints Markdown; not a test.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from report.synthetic import make_gate_layout  # noqa: E402

from tritlens.api import load_run  # noqa: E402
from tritlens.logic import circuit_stats, collapse  # noqa: E402
from tritlens.logic.check import check_property  # noqa: E402
from tritlens.logic.communities import find_communities  # noqa: E402
from tritlens.logic.compile import compile_model  # noqa: E402
from tritlens.logic.layout import layout_graph  # noqa: E402
from tritlens.logic.passes import rebuild  # noqa: E402
from tritlens.logic.props import parse_properties  # noqa: E402
from tritlens.logic.runs import compile_run, verify_run  # noqa: E402
from tritlens.models.discrete import DiscreteMLPConfig, TernaryMLP  # noqa: E402
from tritlens.report import gates  # noqa: E402
from tritlens.report.chromium import run_chromium  # noqa: E402

SPECS = {"modular": "modadd", "serial_add": "add", "brackets": "brackets", "count": "count"}


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> str:
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    return f"{wall:.1f} s wall / {cpu:.1f} s CPU"


def transformer_row(path: str) -> None:
    run = load_run(path)
    spec = SPECS[run.task.name]
    start = clock()
    circuit = compile_run(run)  # what `tritlens verify` proves (large circuits: the fast pass only)
    compiled = since(start)
    results = verify_run(run, circuit, spec)
    total = since(start)
    raw = compile_model(run.model, positions=run.task.answer_positions)
    stats, fast = circuit_stats(raw.aig), circuit_stats(circuit.aig)
    small = "n/a (more than 14 input bits)"
    if stats["inputs"] <= 14:
        t = clock()
        c = circuit_stats(collapse(rebuild(raw.aig)))
        small = f"{c['ands']:,} / {c['depth']} ({since(t)})"
    zeros = float(run.model.trit_stats()["zero_fraction"])
    proofs = "; ".join(f"{claim}: {r.status} ({r.method}, {r.seconds:.1f} s)" for claim, r in results)
    print(f"| {Path(path).name} | {run.task.describe()} | {run.final.get('step')} | "
          f"{run.final.get('train_acc', 0):.1%} | {zeros:.1%} | {stats['ands']:,} / {stats['depth']} | "
          f"{fast['ands']:,} / {fast['depth']} | {small} | compile {compiled}; compile + verify {total} | "
          f"{proofs} |")


def analysis_row(path: str) -> None:
    file = Path(path) / "analysis.json"
    if not file.is_file():
        print(f"| {Path(path).name} | (no analysis.json: run `tritlens analyze {path}`) | | | | |")
        return
    a = json.loads(file.read_text())
    fo, run = a.get("fourier", {}), a.get("run", {})
    print(f"| {Path(path).name} | {run.get('precision')} | {fo.get('key_frequencies')} "
          f"(confidence {fo.get('key_confidence', 0):.2f}) | {fo.get('embed_key_frequencies')} | "
          f"{fo.get('frac_neurons_one_freq', 0):.0%} | restricted {fo.get('loss_restricted', 0):.3g}, "
          f"excluded {fo.get('loss_excluded', 0):.3g}, full {fo.get('loss_full', 0):.3g} |")


def property_rows(spec: str) -> None:
    path, name = spec.split("=")
    run = load_run(path)
    circuit = compile_run(run)
    for file in sorted((ROOT / "examples" / "properties").glob(f"{name}_*.txt")):
        props = parse_properties(file.read_text())
        result = check_property(circuit, props, model=run.model, abc=True)
        trace = f"{result.trace} -> {result.answers}" if result.trace is not None else "-"
        abc = f"{result.abc}" + (f" (length {result.abc_length})" if result.abc_length else "")
        print(f"| {Path(path).name} | {file.name} | {result.status} | {result.states} | "
              f"{result.seconds:.3f} | {abc} | {result.abc_seconds:.2f} | {trace} | "
              f"{result.model_confirmed} |")


PROBE = """<script>
window.__e = [];
window.addEventListener("error", function (e) { __e.push(e.message); });
window.addEventListener("load", function () {
  var out = (window.tlGateViews || []).map(function (v) {
    return {renderer: v.renderer, nodes: v.n, edges: v.m, first_ms: v.firstDrawMs,
            moving_ms: v.benchmark(30, true), frame_ms: v.benchmark(30, false), painted: v.painted(),
            pixels: v.canvas.width * v.canvas.height};
  });
  var pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = JSON.stringify({errors: __e, views: out}); document.body.appendChild(pre);
});
</script>"""


def draw(layout: dict, label: str, layout_s: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "view.html"
        body = gates.gate_view_html("gates-bench", layout)
        page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{PROBE}<style>{gates.GATE_CSS}"
                        f"</style></head><body>{body}{gates.script()}</body></html>")
        start = time.perf_counter()
        dom = run_chromium(["--window-size=1280,900", "--dump-dom", page.as_uri()], purpose="bench",
                           timeout=600)
        load = time.perf_counter() - start
        size = page.stat().st_size
    found = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))
    (v,) = found["views"]
    layout_txt = f"{layout_s:.1f}" if layout_s is not None else "synthetic"
    print(f"| {label} | {v['nodes']:,} | {v['edges']:,} | {layout_txt} | {size / 1e6:.1f} MB | "
          f"{v['renderer']} | {v['first_ms']:.1f} | {v['moving_ms']:.1f} | {v['frame_ms']:.1f} | "
          f"{v['painted'] / v['pixels']:.0%} | {load:.1f} | {found['errors'] or 'none'} |")


def gate_view() -> None:
    model = TernaryMLP(DiscreteMLPConfig(hidden=(192,), seed=0), 11, 11, 2)
    aig = compile_model(model, positions=(1,)).aig
    start = time.perf_counter()
    layout = layout_graph(aig, find_communities(aig))
    draw(layout, f"random-weight MLP (11 tokens, 192 units), compiled: {circuit_stats(aig)['ands']:,} ANDs",
         time.perf_counter() - start)
    draw(make_gate_layout(24_000, 40), "synthetic, 40 modules", None)
    draw(make_gate_layout(100_000, 120), "synthetic, 120 modules", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transformers", nargs="*", default=[], help="discrete-transformer runs")
    parser.add_argument("--sequences", nargs="*", default=[],
                        help="RUN=NAME (examples/properties/NAME_*.txt)")
    parser.add_argument("--gate-view", action="store_true", help="draw 20k+ node graphs in headless Chromium")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# discrete benchmark — {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"{os.cpu_count()} cores, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    if args.transformers:
        print("\n| run | task | step | train acc | zero trits | compiled ANDs / depth | fast pass | collapse "
              "| time | proofs |\n|---|---|---:|---:|---:|---:|---:|---:|---|---|")
        for path in args.transformers:
            transformer_row(path)
        print("\n| run | precision | key frequencies (logits) | embedding split | neurons one-freq | losses |"
              "\n|---|---|---|---|---:|---|")
        for path in args.transformers:
            analysis_row(path)
    if args.sequences:
        print("\n| run | property | ours | states | ours s | abc pdr | pdr s | shortest trace -> answers "
              "| replayed on model |\n|---|---|---|---:|---:|---|---:|---|---|")
        for spec in args.sequences:
            property_rows(spec)
    if args.gate_view:
        print("\n| graph | nodes | edges | layout s | page | renderer | first draw ms | moving frame ms "
              "| full redraw ms | painted | chromium s | JS errors |")
        print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
        gate_view()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
