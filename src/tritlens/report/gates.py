"""The report's circuit section for fully discrete runs: gate counts, an interactive gate-graph view
coloured by module, the module table, and the sparsity-sweep table.

``circuit_data(run)`` compiles the run's model, keeps the network's own structure
(``STRUCTURAL_PASSES``), finds Leiden communities inside the cone modules and lays the graph out with
``logic.layout`` (modules as islands). The view draws it with WebGL in the page (``gateview_js``);
graphs above ``VIEW_MAX_NODES`` nodes are not embedded, and the section says how to look at a part.
"""

from __future__ import annotations

import html
import json
from typing import Any

from tritlens.errors import TritlensError
from tritlens.logic.communities import find_communities
from tritlens.logic.layout import layout_graph
from tritlens.logic.run_tools import structural_circuit
from tritlens.logic.runs import compile_run
from tritlens.logic.sparsity import COLUMNS
from tritlens.logic.stats import circuit_stats
from tritlens.models import is_discrete
from tritlens.report.gateview_js import GATEVIEW_JS
from tritlens.run import Run

VIEW_MAX_NODES = 60_000  # nodes embedded in a page (the view is tested at 20,000+)
TABLE_ROWS = 12  # communities listed under the view


def circuit_data(run: Run) -> dict[str, Any] | None:
    """Stats, layout and module rows of a discrete run's circuit (None for other runs)."""
    if not is_discrete(run.model):
        return None
    compiled = circuit_stats(compile_run(run, simplified=False).aig)
    circuit = structural_circuit(run)
    stats = circuit_stats(circuit.aig)
    trits = run.model.trit_stats()
    data: dict[str, Any] = {"compiled": compiled, "structural": stats,
                            "zero_frac": float(trits["zero_fraction"]), "layout": None, "note": ""}
    nodes = stats["ands"] + stats["inputs"] + stats["latches"] + stats["outputs"]
    if nodes > VIEW_MAX_NODES:
        data["note"] = (f"The gate graph has {nodes:,} nodes; the view embeds at most {VIEW_MAX_NODES:,}. "
                        f"Look at one cone module with `tritlens compile {run.path} --format json --layout "
                        "modules --module K -o part.json` (modules: `tritlens modules RUN`), or sparsify.")
        return data
    part = find_communities(circuit.aig)
    data["layout"] = layout_graph(circuit.aig, part)
    data["modularity"], data["cone_modules"] = part.modularity, part.cone_modules
    data["communities"] = [{"index": c.index, "module": c.module, "ands": c.ands, "reads": len(c.inputs),
                            "exports": len(c.outputs), "drives": sorted({o for outs in c.drives.values()
                                                                          for o in outs})[:4],
                            "formula": next(iter(c.formulas.values()), "")} for c in part.communities]
    return data


def view_payload(layout: dict[str, Any]) -> dict[str, Any]:
    """What the page's viewer reads: the layout plus the size of every module."""
    sizes: dict[int, int] = {}
    for m, role in zip(layout["nodes"]["module"], layout["nodes"]["role"], strict=True):
        if role == 2:
            sizes[m] = sizes.get(m, 0) + 1
    return {**layout, "module_sizes": {str(k): v for k, v in sizes.items()}}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def gate_view_html(div_id: str, layout: dict[str, Any], height: int = 560) -> str:
    """One interactive view: a canvas, a tooltip and its data (the script is added once per page)."""
    payload = json.dumps(view_payload(layout), separators=(",", ":")).replace("<", "\\u003c")
    return (f"<div class='tl-gates' id='{_e(div_id)}'><canvas style='height:{int(height)}px'></canvas>"
            "<div class='tl-gates-tip'></div></div>"
            f"<script type='application/json' id='{_e(div_id)}-data'>{payload}</script>")


GATE_CSS = """
.tl-gates { position: relative; width: 100%; margin: 6px 0 10px; border: 1px solid var(--line); }
.tl-gates canvas { display: block; width: 100%; cursor: grab; }
.tl-gates-tip { position: absolute; display: none; pointer-events: none; background: rgba(29,35,48,0.92);
                color: #fff; font-size: 12px; padding: 3px 7px; border-radius: 4px; white-space: nowrap; }
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th scope='col'>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='table-wrap'><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"


def circuit_section(name: str, data: dict[str, Any], slug: str) -> str:
    """HTML of one run's circuit: counts, the view (or why not), the largest communities."""
    c, s = data["compiled"], data["structural"]
    parts = [f"<h3>{_e(name)}</h3><p class='caption'>compiled {c['ands']:,} ANDs (depth {c['depth']}); "
             f"structural passes {s['ands']:,} ANDs (depth {s['depth']}), {s['inputs']} inputs, "
             f"{s['latches']} latches, {s['outputs']} outputs; {data['zero_frac']:.1%} zero trits"]
    if data.get("layout") is not None:
        parts.append(f"; {len(data['communities'])} communities in {data['cone_modules']} cone module(s), "
                     f"modularity {data['modularity']:.2f}. Scroll to zoom, drag to pan, double-click to "
                     "reset; hover a node for its module and role.</p>")
        parts.append(gate_view_html(f"gates-{slug}", data["layout"]))
        rows = [[str(r["index"]), str(r["module"]), f"{r['ands']:,}", str(r["reads"]), str(r["exports"]),
                 ", ".join(r["drives"]) or "–", r["formula"] or "–"]
                for r in data["communities"][:TABLE_ROWS]]
        parts.append(_table(["community", "cone module", "ANDs", "reads", "exports", "drives", "formula"],
                            rows))
    else:
        parts.append(".</p>")
        parts.append(f"<p class='note'>{_e(data['note'])}</p>")
    return "".join(parts)


def sweep_section(sweep: dict[str, Any]) -> str:
    """The sparsity-sweep table (rows of ``logic.sparsity.sparsity_sweep``)."""
    rows = sweep.get("rows") if isinstance(sweep, dict) else None
    if not isinstance(rows, list) or not rows:
        raise TritlensError("the sweep file holds no rows (write one with `tritlens sparsity-sweep ... -o`)")
    cells = []
    for row in rows:
        cells.append(["n/a" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS])
    return (f"<section id='sparsity-sweep'><h2>Sparsity sweep</h2><p class='caption'>Preset "
            f"{_e(sweep.get('preset', '?'))} trained at each model.sparsity value: does the gate graph fall "
            "apart into modules as trits go to zero?</p>"
            + _table([title for _, title, _ in COLUMNS], cells) + "</section>")


def script() -> str:
    return f"<script>{GATEVIEW_JS}</script>"


__all__ = ["GATE_CSS", "VIEW_MAX_NODES", "circuit_data", "circuit_section", "gate_view_html", "script",
           "sweep_section", "view_payload"]
