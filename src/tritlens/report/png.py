"""Static PNGs of the report's figures (for papers), rendered by plotly.js itself in headless Chromium.

All figures go into one temporary page that calls ``Plotly.toImage`` for each and writes the data URLs
into the DOM; one ``chromium --dump-dom`` run collects them. No Python image-export package is needed.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from tritlens.errors import TritlensError
from tritlens.report.chromium import dump_dom, require_chromium
from tritlens.report.html import figure_json, script_safe
from tritlens.report.inputs import ReportInput, with_unique_names
from tritlens.report.sections import FigureSpec, all_figures, report_sections
from tritlens.report.style import template_json
from tritlens.run import Output

WIDTH = 1200
SCALE = 2
RESULT = re.compile(r'<pre id="tl-png">(.*?)</pre>', re.DOTALL)
PNG_URL = "data:image/png;base64,"

EXPORT_SCRIPT = """
(async function () {
  var template = JSON.parse(document.getElementById("tl-template").textContent);
  var figs = JSON.parse(document.getElementById("tl-figs").textContent);
  var out = {};
  for (var i = 0; i < figs.length; i++) {
    var f = figs[i];
    f.fig.layout.template = template;
    try {
      var opts = {format: "png", width: f.width, height: f.height, scale: f.scale};
      out[f.slug] = await Plotly.toImage(f.fig, opts);
    } catch (err) {
      out[f.slug] = "error: " + err;
    }
  }
  var pre = document.createElement("pre");
  pre.id = "tl-png";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def _static(spec: FigureSpec) -> dict[str, Any]:
    fig = spec.figure
    height = int(fig.layout.height or 400)
    if fig.layout.updatemenus:  # buttons make no sense on paper; drop them and the room kept for them
        fig.layout.updatemenus = []
        height -= 40
        fig.layout.margin.t = 50
    return {"slug": spec.slug, "width": WIDTH, "height": height, "scale": SCALE,
            "fig": json.loads(figure_json(fig))}


def render_pngs(specs: Sequence[FigureSpec], *, timeout: float = 300) -> dict[str, bytes]:
    """PNG bytes of each figure, keyed by its slug (one Chromium run for all)."""
    if not specs:
        return {}
    require_chromium("PNG export")
    figs = json.dumps([_static(s) for s in specs])
    page = "\n".join([
        "<!DOCTYPE html><html><head><meta charset='utf-8'>", f"<script>{get_plotlyjs()}</script>",
        "</head><body>",
        f"<script type='application/json' id='tl-template'>{script_safe(template_json())}</script>",
        f"<script type='application/json' id='tl-figs'>{script_safe(figs)}</script>",
        f"<script>{EXPORT_SCRIPT}</script>", "</body></html>"])
    with tempfile.TemporaryDirectory(prefix="tritlens-png-") as tmp:
        path = Path(tmp) / "export.html"
        path.write_text(page)
        budget = 5_000 + 3_000 * len(specs)
        dom = dump_dom(path, budget_ms=budget, timeout=timeout, purpose="PNG export")
    found = RESULT.search(dom)
    if found is None:
        raise TritlensError("PNG export: the browser finished before the figures were rendered")
    images = json.loads(html.unescape(found.group(1)))
    out = {}
    for spec in specs:
        url = images.get(spec.slug, "")
        if not url.startswith(PNG_URL):
            raise TritlensError(f"PNG export of {spec.slug} failed: {url[:200] or 'no image'}")
        out[spec.slug] = base64.b64decode(url[len(PNG_URL):])
    return out


def png_outputs(specs: Sequence[FigureSpec], out_dir: str | os.PathLike[str], force: bool = False,
                inputs: Sequence[str | os.PathLike[str]] = ()) -> list[Output]:
    """The checked output of every figure, ``<out_dir>/<slug>.png`` (refused before any work is done)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TritlensError(f"--png {out} exists and is not a directory")
    return [Output(out / f"{spec.slug}.png", force=force, inputs=inputs, what="figure", make_folder=True)
            for spec in specs]


def write_pngs(inputs: Sequence[ReportInput], out_dir: str | os.PathLike[str],
               force: bool = False) -> list[Path]:
    """Write every report figure as ``<out_dir>/<slug>.png``; returns the paths in report order."""
    specs = all_figures(report_sections(with_unique_names(inputs)))
    outputs = png_outputs(specs, out_dir, force)
    images = render_pngs(specs)
    return [o.write(images[o.path.stem]) for o in outputs]
