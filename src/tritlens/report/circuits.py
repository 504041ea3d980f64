"""Report figures of the circuit analyses: attribution bars, patching heat maps, probe heat maps and
the LayerNorm-removal comparison. Each takes one run and returns ``None`` when the run lacks the file.

They read ``ReportInput.outputs``: the run's ``attribution.json``, ``patching.json``, ``probes.json``
and ``ln_removal.json`` as written by ``tritlens attribute``, ``patch``, ``probe`` and ``remove-ln``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tritlens.report import inputs as ri
from tritlens.report.inputs import ReportInput

FONT = dict(size=12)
COLORS = {"dla": "#1f77b4", "de": "#ff7f0e", "original": "#9aaec6", "control": "#2ca02c", "free": "#d62728"}


def _output(run: ReportInput, name: str) -> dict[str, Any] | None:
    value = run.outputs.get(name) if isinstance(run.outputs, dict) else None
    return value if isinstance(value, dict) else None


def _matrix(value: Any) -> np.ndarray | None:
    """A 2-D float array (``None`` entries as NaN), or ``None``."""
    try:
        arr = np.array([[np.nan if v is None else v for v in row] for row in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 2 and arr.size else None


def _mean(value: Any) -> float:
    arr = _matrix(value) if value else None
    return float(np.nanmean(arr)) if arr is not None else math.nan


def attribution_bars(run: ReportInput) -> go.Figure | None:
    """Mean direct logit attribution and direct effect of each component, one panel per answer position."""
    data = _output(run, "attribution")
    if data is None:
        return None
    dla, de = _matrix(data.get("dla")), _matrix(data.get("direct_effect"))
    names, positions = list(data.get("components") or []), list(data.get("positions") or [])
    if dla is None or de is None or dla.shape != (len(names), len(positions)) or de.shape != dla.shape:
        return None
    cols = min(3, len(positions))
    rows = math.ceil(len(positions) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"answer at position {p}" for p in positions],
                        horizontal_spacing=0.06, vertical_spacing=min(0.12, 0.5 / rows))
    for k in range(len(positions)):
        for values, label, color in ((dla[:, k], "DLA (cached scale)", COLORS["dla"]),
                                     (de[:, k], "direct effect (norm recomputed)", COLORS["de"])):
            hover = "%{x}: %{y:.4g}<extra>" + label + "</extra>"
            fig.add_trace(go.Bar(x=names, y=values, name=label, legendgroup=label, showlegend=k == 0,
                                 marker_color=color, hovertemplate=hover),
                          row=k // cols + 1, col=k % cols + 1)
    nmae = data.get("nmae")
    title = f"{data.get('logit', 'correct')} logit, {data.get('n_examples', '?')} examples"
    if isinstance(nmae, int | float):
        title += f" · NMAE(DLA, direct effect) = {nmae:.3g}"
    fig.update_layout(barmode="group", height=120 + 300 * rows, font=FONT,
                      title=dict(text=title, font_size=13),
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0),
                      margin=dict(l=60, r=20, t=80, b=110))
    fig.update_yaxes(title_text="mean logit contribution", col=1)
    return fig


def sensitivity_heatmap(run: ReportInput) -> go.Figure | None:
    """Mean |change of the predicted logit| at each answer position when one input token changes."""
    data = _output(run, "attribution")
    part = data.get("sensitivity") if data else None
    grid = _matrix(part.get("grid")) if isinstance(part, dict) else None
    if grid is None:
        return None
    fig = go.Figure(go.Heatmap(z=grid, x=[f"answer pos {p}" for p in part.get("outputs") or []],
                               y=[f"input pos {p}" for p in part.get("inputs") or []], zmin=0,
                               colorscale="Viridis",
                               colorbar=dict(title="mean |Δ logit|", thickness=12), texttemplate="%{z:.2f}",
                               hovertemplate="%{y} -> %{x}: %{z:.4g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=120 + 28 * grid.shape[0], font=FONT, margin=dict(l=90, r=20, t=30, b=60))
    return fig


def patching_heatmaps(run: ReportInput) -> go.Figure | None:
    """Activation patching next to attribution patching, one row per grid, on one colour scale."""
    data = _output(run, "patching")
    grids = data.get("grids") if data else None
    if not isinstance(grids, dict) or not grids:
        return None
    kinds = [k for k, g in grids.items() if isinstance(g, dict) and _matrix(g.get("activation")) is not None
             and _matrix(g.get("attribution")) is not None]
    if not kinds:
        return None
    titles = []
    for kind in kinds:
        corr = grids[kind].get("correlation")
        note = f" (r = {corr:.3f})" if isinstance(corr, int | float) else ""
        titles += [f"{kind}: activation patching", f"{kind}: attribution patching{note}"]
    fig = make_subplots(rows=len(kinds), cols=2, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=min(0.1, 0.4 / len(kinds)))
    bound = max(float(np.nanmax(np.abs(_matrix(grids[k][w]))))
                for k in kinds for w in ("activation", "attribution"))
    bound = bound if math.isfinite(bound) and bound > 0 else 1.0
    for row, kind in enumerate(kinds, 1):
        g = grids[kind]
        for col, which in enumerate(("activation", "attribution"), 1):
            fig.add_trace(go.Heatmap(z=_matrix(g[which]), x=list(g.get("cols") or []),
                                     y=list(g.get("rows") or []), coloraxis="coloraxis",
                                     name=f"{kind} {which}",
                                     hovertemplate="%{y} %{x}: %{z:.4g}<extra></extra>"), row=row, col=col)
    fig.update_yaxes(autorange="reversed")
    metric = data.get("metric", "metric") if data else "metric"
    fig.update_layout(coloraxis=dict(colorscale="RdBu_r", cmin=-bound, cmax=bound,
                                     colorbar=dict(title=f"change of<br>{metric}", thickness=12)),
                      height=90 + 200 * len(kinds), font=FONT, margin=dict(l=60, r=20, t=70, b=40),
                      title=dict(text=_patching_title(data or {}), font_size=13))
    return fig


def _patching_title(data: dict[str, Any]) -> str:
    parts = [f"{data.get('n_pairs', '?')} pairs ({data.get('corrupt', 'resample')})"]
    clean, corrupted = data.get("clean_metric"), data.get("corrupted_metric")
    if isinstance(clean, int | float) and isinstance(corrupted, int | float):
        parts.append(f"{data.get('metric')}: clean {clean:.3g}, corrupted {corrupted:.3g}")
    act, attr = data.get("seconds_activation"), data.get("seconds_attribution")
    if isinstance(act, int | float) and isinstance(attr, int | float) and attr > 0:
        parts.append(f"{act:.2f} s vs {attr:.2f} s ({act / attr:.0f}x)")
    return " · ".join(parts)


def probe_heatmaps(run: ReportInput) -> go.Figure | None:
    """Held-out probe quality over layer x position, one panel per probed target and hook."""
    data = _output(run, "probes")
    probes = data.get("probes") if data else None
    if not isinstance(probes, dict):
        return None
    entries = [(k, p) for k, p in probes.items()
               if isinstance(p, dict) and _matrix(p.get("test")) is not None]
    if not entries:
        return None
    cols = min(2, len(entries))
    rows = math.ceil(len(entries) / cols)
    titles = [f"{key}: {p.get('kind', '')} probe, {p.get('metric', '')} (chance {_mean(p.get('chance')):.3g})"
              for key, p in entries]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12,
                        vertical_spacing=min(0.15, 0.5 / rows))
    for i, (key, p) in enumerate(entries):
        # accuracies share one 0..1 colour bar; errors (lower is better) get per-panel colours and text
        scale = (dict(coloraxis="coloraxis") if p.get("metric") == "accuracy"
                 else dict(colorscale="Viridis_r", showscale=False))
        fig.add_trace(go.Heatmap(z=_matrix(p["test"]), x=list(p.get("cols") or []),
                                 y=list(p.get("rows") or []), name=key, texttemplate="%{z:.3g}", **scale,
                                 hovertemplate="%{y} %{x}: %{z:.4g}<extra>" + key + "</extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=80 + 260 * rows, font=FONT, margin=dict(l=60, r=20, t=60, b=40),
                      coloraxis=dict(colorscale="Viridis", cmin=0, cmax=1,
                                     colorbar=dict(title="accuracy", thickness=12)))
    return fig


def ln_removal(run: ReportInput) -> go.Figure | None:
    """The removal fine-tune's test loss with the step each norm went fake, and the three-way comparison."""
    data = _output(run, "ln_removal")
    rows = data.get("rows") if data else None
    if not isinstance(rows, list) or len(rows) != 3:
        return None
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1,
                        subplot_titles=["test loss while the norms go fake",
                                        "test loss (bar) and accuracy (text)"])
    curve = ri.metric_series(run, "test_loss")
    if curve is not None:
        fig.add_trace(go.Scatter(x=curve[0], y=curve[1], mode="lines", name="norm-removal fine-tune",
                                 line=dict(color=COLORS["free"])), row=1, col=1)
        for event in data.get("events") or []:
            if isinstance(event, dict) and isinstance(event.get("step"), int):
                fig.add_vline(x=event["step"], line_dash="dot", line_color="#888", row=1, col=1,
                              annotation_text=str(event.get("norm", "")), annotation_textangle=-90,
                              annotation_font=dict(size=9))
        fig.update_yaxes(type="log", row=1, col=1)
    names = [str(r.get("model", "")) for r in rows]
    losses = [r.get("test_loss") for r in rows]
    accs = [r.get("test_acc") for r in rows]
    colors = [COLORS["original"], COLORS["control"], COLORS["free"]]
    fig.add_trace(go.Bar(x=names, y=losses, marker_color=colors,
                         text=[f"{a:.2%}" if isinstance(a, int | float) else "" for a in accs],
                         textposition="outside", name="test loss", showlegend=False,
                         hovertemplate="%{x}: loss %{y:.4g}, accuracy %{text}<extra></extra>"), row=1, col=2)
    increase = data.get("loss_increase") if data else None
    title = "LayerNorm removal"
    if isinstance(increase, int | float):
        title += f": loss increase against fine-tuning with norms {increase:+.4g} nats"
    fig.update_layout(height=420, font=FONT, title=dict(text=title, font_size=13),
                      margin=dict(l=60, r=20, t=80, b=60), legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(title_text="step", row=1, col=1)
    return fig
