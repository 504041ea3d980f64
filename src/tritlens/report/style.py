"""The report's look: page CSS, the plotly config, and the one plotly template all figures share."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import plotly.io as pio

FONT_STACK = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
              "'Noto Sans', 'Liberation Sans', sans-serif")

PLOT_CONFIG: dict[str, Any] = {
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

CSS = f"""
:root {{ --fg: #1d2330; --muted: #667085; --line: #e3e7ee; --bg-alt: #f6f8fb; --accent: #2f5fa7; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font-family: {FONT_STACK}; color: var(--fg); background: #fff; line-height: 1.45;
        font-size: 15px; }}
main {{ max-width: 1200px; margin: 0 auto; padding: 24px 28px 64px; }}
header h1 {{ margin: 0 0 4px; font-size: 26px; }}
.sub, .muted {{ color: var(--muted); }}
.sub {{ margin: 0 0 18px; font-size: 13px; }}
h2 {{ font-size: 20px; margin: 34px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }}
h3 {{ font-size: 15px; margin: 18px 0 2px; color: #344054; }}
.caption {{ color: #475467; margin: 4px 0 10px; max-width: 900px; }}
.note {{ background: #fff8e6; border-left: 3px solid #f0b429; padding: 6px 10px; margin: 6px 0;
         font-size: 14px; }}
.verdict {{ background: #eef4ff; border-left: 4px solid var(--accent); padding: 10px 14px; margin: 8px 0 14px;
            font-size: 15px; }}
nav {{ position: sticky; top: 0; z-index: 10; background: rgba(255,255,255,0.96); padding: 8px 0;
       border-bottom: 1px solid var(--line); margin-top: 22px; font-size: 14px; }}
nav a {{ color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }}
nav a:hover {{ text-decoration: underline; }}
.table-wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 14px; min-width: 50%; }}
th, td {{ padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }}
thead th {{ background: var(--bg-alt); font-weight: 600; border-bottom: 2px solid var(--line);
            white-space: nowrap; }}
tbody tr:nth-child(even) {{ background: #fbfcfe; }}
tbody th {{ font-weight: 600; white-space: nowrap; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.tag {{ display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #eef0f3; }}
.tag-full {{ background: #e3edf9; }} .tag-binary {{ background: #fde8e3; }}
.tag-ternary {{ background: #e5f5e7; }} .tag-mixed {{ background: #f3e8fb; }}
.tag-discrete {{ background: #fff1c9; }}
.tl-plot {{ width: 100%; margin: 4px 0 10px; }}
section {{ scroll-margin-top: 64px; }}  /* anchors land below the sticky nav */
footer {{ color: var(--muted); font-size: 12px; margin-top: 40px; }}
"""


@cache
def template_json() -> str:
    """plotly_white with the page's font, as JSON (embedded once, applied to every figure in the page)."""
    template = copy.deepcopy(pio.templates["plotly_white"])
    template.layout.font.family = FONT_STACK
    template.layout.font.color = "#1d2330"
    template.layout.title.font.size = 14
    return json.dumps(template.to_plotly_json(), sort_keys=True)
