"""The report page: one self-contained HTML file (plotly.js inline once, no network) with every figure."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from tritlens import __version__
from tritlens.report import gates
from tritlens.report import inputs as ri
from tritlens.report.inputs import ReportInput
from tritlens.report.sections import Section, report_sections
from tritlens.report.style import CSS, PLOT_CONFIG, template_json
from tritlens.run import Output

PLOT_SCRIPT = """
(function () {
  var template = JSON.parse(document.getElementById("tl-template").textContent);
  var config = JSON.parse(document.getElementById("tl-config").textContent);
  document.querySelectorAll("div.tl-plot").forEach(function (div) {
    try {
      var fig = JSON.parse(document.getElementById(div.id + "-data").textContent);
      fig.layout.template = template;
      Plotly.newPlot(div, fig.data, fig.layout, config).catch(function (err) {
        console.error("tritlens: plot " + div.id + " failed: " + err);
      });
    } catch (err) {
      console.error("tritlens: plot " + div.id + " failed: " + err);
    }
  });
})();
"""


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON safe to embed in a <script> element, without its (shared) template."""
    fig.layout.template = "none"
    return script_safe(fig.to_json())


def script_safe(text: str) -> str:
    """JSON text with '<' escaped, so it can never close the <script> element it sits in."""
    return text.replace("<", "\\u003c")


def build_report(inputs: Sequence[ReportInput], comparison: dict[str, Any] | None = None, *,
                 title: str = "tritlens report", sweep: dict[str, Any] | None = None,
                 extra: Sequence[Section] = ()) -> str:
    """The whole report as one HTML string (deterministic for the same inputs); ``extra`` sections (a
    sweep's) come first, ``sweep`` (a sparsity-sweep file's data) adds its table at the end."""
    runs = ri.with_unique_names(inputs)
    sections = [*extra, *report_sections(runs)]
    circuits = _circuits(runs)
    views = any(r.gates and r.gates.get("layout") is not None for r in runs)
    body = [
        f"<header><h1>{_e(title)}</h1><p class='sub'>{len(runs)} run{'s' if len(runs) != 1 else ''} · "
        f"tritlens {_e(__version__)} · plotly {_e(plotly.__version__)} (inline, works offline)</p></header>",
        _runs_table(runs),
        _comparison(comparison) if comparison else "",
        _nav(sections, bool(circuits), sweep is not None),
        *(_section(sec) for sec in sections),
        circuits,
        gates.sweep_section(sweep) if sweep is not None else "",
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}{gates.GATE_CSS if views else ''}</style>",
        f"<script>{get_plotlyjs()}</script>",
        "</head><body><main>",
        *body,
        "</main>",
        f"<script type='application/json' id='tl-template'>{script_safe(template_json())}</script>",
        f"<script type='application/json' id='tl-config'>{script_safe(json.dumps(PLOT_CONFIG))}</script>",
        f"<script>{PLOT_SCRIPT}</script>",
        gates.script() if views else "",
        "</body></html>\n",
    ])


def write_report(path: str | os.PathLike[str], inputs: Sequence[ReportInput],
                 comparison: dict[str, Any] | None = None, force: bool = False, **kwargs: Any) -> Path:
    """Build the report and write it atomically (refusing to replace a file unless ``force``)."""
    out = Output(path, force=force, what="report")
    return out.write(build_report(inputs, comparison, **kwargs).encode())


# -- pieces --------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, int | float) and math.isfinite(value) else "–"


def _sci(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) and math.isfinite(value) else "–"


def _task(run: dict[str, Any]) -> str:
    task = str(run.get("task") or "")
    if "mod" in task:
        return task
    parts = [task] if task else []
    op, p = run.get("op"), run.get("p")
    if op and str(op) not in task:
        parts.append(str(op))
    if p and str(p) not in task:
        parts.append(f"p={p}")
    return " · ".join(parts) or "–"


def _keys(inp: ReportInput) -> str:
    part = ri.fourier(inp)
    if part is None:
        return f"<span class='muted' title='{_e(ri.fourier_note(inp))}'>n/a</span>"
    keys = ", ".join(str(k) for k in part.get("key_frequencies") or []) or "none"
    conf = part.get("key_confidence")
    conf_txt = f" <span class='muted'>({conf:.0%})</span>" if isinstance(conf, int | float) else ""
    return _e(keys) + conf_txt


PHASE_ABBREV = {"memorisation": "memorisation", "circuit formation": "circuit", "clean-up": "clean-up"}


def _phases(inp: ReportInput) -> str:
    """The phase spans (start-end steps) and, muted, the analysis' note on them (e.g. not grokked)."""
    spans = " · ".join(f"{PHASE_ABBREV.get(ph['name'], ph['name'])} {ph['start']:g}–{ph['end']:g}"
                       for ph in ri.phases(inp))
    note = str(ri.section(inp, "progress").get("phase_note") or "")
    if not spans and not note:
        return "–"
    return _e(spans or "none") + (f"<br><span class='muted'>{_e(note)}</span>" if note else "")


def _training_tags(run: dict[str, Any]) -> str:
    """Training settings that change the dynamics beyond the preset's name (GrokFast), muted."""
    fast = run.get("grokfast")
    if not isinstance(fast, dict):
        return ""
    return f"<br><span class='muted'>GrokFast α {_sci(fast.get('alpha'))} λ {_sci(fast.get('lambda'))}</span>"


def _reads(inp: ReportInput) -> str:
    """On how many pairs the first block's heads read both operands; each head's shares as a tooltip."""
    reads = ri.section(inp, "attention")
    both, pairs = reads.get("both_operands"), reads.get("pairs")
    if not isinstance(both, int) or not isinstance(pairs, int):
        return "–"
    shares = "; ".join(f"L{h.get('layer')}H{h.get('head')} a/b/= "
                       + "/".join(f"{x:.0%}" for x in h.get("share") or [] if isinstance(x, int | float))
                       for h in reads.get("heads") or [] if isinstance(h, dict))
    return f"<span title='{_e(shares)}'>{both:,} of {pairs:,}</span>"


def _runs_table(runs: Sequence[ReportInput]) -> str:
    head = ["run", "preset", "task", "precision", "step", "train acc", "test acc", "test loss",
            "key frequencies", "both operands read", "trit zeros", "phases"]
    rows = []
    for inp in runs:
        run, final, trits = ri.section(inp, "run"), ri.section(inp, "final"), ri.section(inp, "trits")
        cells = [f"<th scope='row' title='{_e(run.get('path', ''))}'>{_e(inp.name)}</th>",
                 f"<td>{_e(run.get('preset') or '–')}{_training_tags(run)}</td>",
                 f"<td>{_e(_task(run))}</td>",
                 f"<td><span class='tag tag-{_e(run.get('precision', ''))}'>{_e(run.get('precision') or '–')}"
                 "</span></td>",
                 f"<td class='num'>{_e(final.get('step') if final.get('step') is not None else '–')}</td>",
                 f"<td class='num'>{_pct(final.get('train_acc'))}</td>",
                 f"<td class='num'>{_pct(final.get('test_acc'))}</td>",
                 f"<td class='num'>{_sci(final.get('test_loss'))}</td>",
                 f"<td>{_keys(inp)}</td>", f"<td class='num'>{_reads(inp)}</td>",
                 f"<td class='num'>{_pct(trits.get('zero_frac'))}</td>",
                 f"<td>{_phases(inp)}</td>"]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<section id='runs'><h2>Runs</h2>{_table(head, rows)}"
            + "".join(f"<p class='note'>{_e(inp.name)}: {_e(ri.fourier_note(inp))}</p>"
                      for inp in runs if ri.fourier_note(inp)) + "</section>")


def _comparison(comparison: dict[str, Any]) -> str:
    names = [str(n) for n in comparison.get("names") or []]
    rows = []
    for row in comparison.get("rows") or []:
        if not isinstance(row, dict):
            continue
        values = [str(v) for v in row.get("values") or []]
        values += [""] * (len(names) - len(values))
        rows.append(f"<tr><th scope='row'>{_e(row.get('metric', ''))}</th>"
                    + "".join(f"<td class='num'>{_e(v)}</td>" for v in values) + "</tr>")
    verdict = comparison.get("verdict")
    parts = ["<section id='comparison'><h2>Comparison</h2>"]
    if verdict:
        parts.append(f"<div class='verdict'>{_e(verdict)}</div>")
    if rows:
        parts.append(_table(["metric", *names], rows))
    parts.append("</section>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[str]) -> str:
    th = "".join(f"<th scope='col'>{_e(h)}</th>" for h in head)
    return (f"<div class='table-wrap'><table><thead><tr>{th}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _nav(sections: Sequence[Section], circuits: bool = False, sweep: bool = False) -> str:
    links = [f"<a href='#{_e(s.key)}'>{_e(s.title)}</a>" for s in sections]
    links += ["<a href='#circuits'>Circuits</a>"] if circuits else []
    links += ["<a href='#sparsity-sweep'>Sparsity sweep</a>"] if sweep else []
    return "<nav>" + " ".join(links) + "</nav>"


def _circuits(runs: Sequence[ReportInput]) -> str:
    """The circuit section of the fully discrete runs ('' when there are none)."""
    parts = []
    for k, run in enumerate(runs):
        data = run.gates
        if not data:
            continue
        if "compiled" not in data:
            parts.append(f"<h3>{_e(run.name)}</h3><p class='note'>{_e(data.get('note', ''))}</p>")
            continue
        parts.append(gates.circuit_section(run.name, data, f"{k}"))
    if not parts:
        return ""
    caption = ("Fully discrete runs compiled to And-Inverter Graphs. The view shows the network's own gate "
               "graph (structural simplification only), placed by a force-directed layout and coloured by "
               "Leiden community; edges inside a community take its colour.")
    body = "".join(parts)
    return f"<section id='circuits'><h2>Circuits</h2><p class='caption'>{caption}</p>{body}</section>"


def _section(sec: Section) -> str:
    parts = [f"<section id='{_e(sec.key)}'><h2>{_e(sec.title)}</h2><p class='caption'>{_e(sec.caption)}</p>"]
    parts += [f"<p class='note'>{_e(note)}</p>" for note in sec.notes]
    parts += [_table(head, ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows])
              for head, rows in sec.tables]
    for spec in sec.figures:
        div_id = f"fig-{spec.slug}"
        height = spec.figure.layout.height or 400
        if len(sec.figures) > 1:
            parts.append(f"<h3>{_e(spec.title)}</h3>")
        parts.append(f"<div class='tl-plot' id='{_e(div_id)}' style='height:{int(height)}px'></div>")
        parts.append(f"<script type='application/json' id='{_e(div_id)}-data'>"
                     f"{figure_json(spec.figure)}</script>")
    parts.append("</section>")
    return "\n".join(parts)
