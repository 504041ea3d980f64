"""The report's Sweep section: the summary table across trials and steps to 99% against each swept setting.

Its input is a sweep summary as plain data (``summary.json``, :mod:`tritlens.sweep.summary`), so the
page can be built from the file alone.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from tritlens.report.sections import FigureSpec, Section

CAPTION = ("Every trial of the sweep: its status, the first logged step with 99% test accuracy, final "
           "losses, the key frequencies of its analysis and the zero fraction of its trits; then, per "
           "setting, what its seeds share (the key frequencies common to all analysed seeds and their "
           "mean pairwise Jaccard overlap). The figures plot steps to 99% against each swept setting, one "
           "marker per trial; trials that never reached 99% are left out.")


def _cell(value: Any, fmt: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return format(value, fmt) if fmt and isinstance(value, int | float) else str(value)


def sweep_section(summary: dict[str, Any], key: str = "sweep") -> Section:
    """One section for one sweep summary."""
    sec = Section(key, f"Sweep {summary.get('name') or summary.get('path', '')}".strip(), CAPTION)
    counts = summary.get("counts") or {}
    sec.notes.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no trials")
    head = ["trial", "status", "steps", "to 99%", "train loss", "test loss", "test acc", "key frequencies",
            "trit zeros"]
    rows = [[t.get("name"), t.get("status"), _cell(t.get("steps")), _cell(t.get("steps_to_99")),
             _cell(t.get("train_loss"), ".2e"), _cell(t.get("test_loss"), ".2e"),
             _cell(t.get("test_acc"), ".1%"), _cell(t.get("key_frequencies")),
             _cell(t.get("trit_zero_frac"), ".1%")]
            for t in summary.get("trials") or []]
    sec.tables.append((head, rows))
    seeded = [s for s in summary.get("settings") or [] if len(s.get("trials") or []) > 1]
    if seeded:
        sec.tables.append((["setting", "seeds", "complete", "mean steps to 99%", "common key frequencies",
                            "Jaccard"],
                           [[s.get("group"), _cell(len(s["trials"])), _cell(s.get("complete")),
                             _cell(s.get("mean_steps_to_99"), ".0f"), _cell(s.get("common_frequencies")),
                             _cell(s.get("jaccard"), ".2f")] for s in seeded]))
    sec.notes += [f"{t['name']} failed: {t.get('error')}" for t in summary.get("trials") or []
                  if t.get("status") == "failed"]
    for setting in summary.get("swept") or []:
        fig = steps_figure(summary, setting)
        if fig is None:
            sec.notes.append(f"{setting}: no trial reached 99% test accuracy")
        else:
            slug = "".join(c if c.isalnum() else "-" for c in setting)
            sec.figures.append(FigureSpec(f"{key}-{slug}", f"Steps to 99% against {setting}", fig))
    return sec


def steps_figure(summary: dict[str, Any], setting: str) -> go.Figure | None:
    """Steps to 99% test accuracy against ``setting``, a marker per trial (None when none reached it)."""
    points = [(t["settings"].get(setting), t["steps_to_99"], t["name"]) for t in summary.get("trials") or []
              if t.get("steps_to_99") is not None and setting in (t.get("settings") or {})]
    if not points:
        return None
    xs = [x if isinstance(x, int | float) and not isinstance(x, bool) else str(x) for x, _, _ in points]
    numeric = all(isinstance(x, int | float) for x in xs)
    hover = "%{text}<br>" + setting + "=%{x}<br>steps to 99%: %{y}<extra></extra>"
    fig = go.Figure(go.Scatter(x=xs, y=[y for _, y, _ in points], mode="markers",
                               text=[n for _, _, n in points], hovertemplate=hover, marker={"size": 9}))
    positive = numeric and all(x > 0 for x in xs)
    spread = positive and max(xs) / min(xs) >= 20
    fig.update_layout(height=360, xaxis_title=setting, yaxis_title="steps to 99% test accuracy",
                      xaxis_type="log" if spread else ("linear" if numeric else "category"))
    return fig
