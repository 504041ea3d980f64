"""Exports of an AIG: BLIF, structural Verilog, GraphML, JSON gate graph, DOT (plus AIGER).

Signal names: inputs and latches keep their (sanitised) names, AND node ``v`` is ``n{v}``. Latches in
Verilog and BLIF are clocked by an added ``clk`` input and reset to their init value.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, AND, INPUT, LATCH
from tritlens.logic.aiger import to_aag, to_aig

FORMATS = ("aag", "aig", "blif", "v", "graphml", "json", "dot")
DOT_LIMIT = 2000


def _ident(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if clean and not clean[0].isdigit() else f"s_{clean}"


def signal_names(aig: AIG) -> list[str]:
    """A unique identifier for every variable (constant, inputs, latches, ANDs)."""
    names = ["const0"] + [""] * (aig.num_vars - 1)
    used = {"const0", "clk"}
    for v, name in zip(aig.inputs, aig.input_names, strict=True):
        names[v] = name
    for latch in aig.latches:
        names[latch.var] = latch.name
    for v in range(1, aig.num_vars):
        base = _ident(names[v]) if names[v] else f"n{v}"
        cand, k = base, 1
        while cand in used:
            cand, k = f"{base}_{k}", k + 1
        used.add(cand)
        names[v] = cand
    return names


def _output_names(aig: AIG, taken: set[str]) -> list[str]:
    out = []
    for name in aig.output_names:
        base, k = _ident(name), 1
        cand = base
        while cand in taken:
            cand, k = f"{base}_{k}", k + 1
        taken.add(cand)
        out.append(cand)
    return out


def to_blif(aig: AIG, model: str = "circuit") -> str:
    """BLIF with one two-input ``.names`` per AND and buffers/inverters for outputs and latch inputs."""
    sig = signal_names(aig)
    outs = _output_names(aig, set(sig))
    lines = [f".model {_ident(model)}", ".inputs " + " ".join(sig[v] for v in aig.inputs)]
    lines.append(".outputs " + " ".join(outs))
    for latch in aig.latches:
        lines.append(f".latch {sig[latch.var]}_next {sig[latch.var]} {latch.init}")
    lines += [".names const0"]  # no rows: constant 0
    for v in aig.and_vars():
        a, b = aig.fanin0[v], aig.fanin1[v]
        lines.append(f".names {sig[a >> 1]} {sig[b >> 1]} {sig[v]}")
        lines.append(f"{1 - (a & 1)}{1 - (b & 1)} 1")
    drivers = [(lit, name) for lit, name in zip(aig.outputs, outs, strict=True)]
    drivers += [(latch.next, f"{sig[latch.var]}_next") for latch in aig.latches]
    for lit, name in drivers:
        lines.append(f".names {sig[lit >> 1]} {name}")
        lines.append(f"{1 - (lit & 1)} 1")
    return "\n".join(lines + [".end"]) + "\n"


def to_verilog(aig: AIG, module: str = "circuit") -> str:
    """Structural Verilog: one ``assign`` per AND; latches as registers on ``posedge clk``."""
    sig = signal_names(aig)
    outs = _output_names(aig, set(sig))

    def ref(lit: int) -> str:
        if lit >> 1 == 0:
            return "1'b1" if lit & 1 else "1'b0"
        return ("~" if lit & 1 else "") + sig[lit >> 1]

    ports = (["clk"] if aig.latches else []) + [sig[v] for v in aig.inputs] + outs
    lines = [f"module {_ident(module)}({', '.join(ports)});"]
    if aig.latches:
        lines.append("  input clk;")
    lines += [f"  input {sig[v]};" for v in aig.inputs]
    lines += [f"  output {name};" for name in outs]
    lines += [f"  reg {sig[latch.var]} = 1'b{latch.init};" for latch in aig.latches]
    lines += [f"  wire {sig[v]};" for v in aig.and_vars()]
    for v in aig.and_vars():
        lines.append(f"  assign {sig[v]} = {ref(aig.fanin0[v])} & {ref(aig.fanin1[v])};")
    lines += [f"  assign {name} = {ref(lit)};" for lit, name in zip(aig.outputs, outs, strict=True)]
    if aig.latches:
        lines.append("  always @(posedge clk) begin")
        lines += [f"    {sig[latch.var]} <= {ref(latch.next)};" for latch in aig.latches]
        lines.append("  end")
    return "\n".join(lines + ["endmodule"]) + "\n"


def gate_graph(aig: AIG) -> dict:
    """Nodes and edges of the gate graph (for force-directed layout tools): JSON-ready dict."""
    sig = signal_names(aig)
    kinds = {INPUT: "input", LATCH: "latch", AND: "and"}
    level = aig.levels()
    used = set(aig.cone(aig.roots())) | set(aig.inputs) | {latch.var for latch in aig.latches}
    const_used = any(lit >> 1 == 0 for lit in aig.roots())
    nodes = [{"id": sig[v], "type": kinds[aig.kind[v]], "level": level[v]} for v in sorted(used)]
    if const_used:
        nodes.insert(0, {"id": "const0", "type": "const", "level": 0})
    edges = []
    for v in sorted(used):
        if aig.kind[v] == AND:
            for lit in (aig.fanin0[v], aig.fanin1[v]):
                edges.append({"source": sig[lit >> 1], "target": sig[v], "inverted": bool(lit & 1)})
    for k, (lit, name) in enumerate(zip(aig.outputs, aig.output_names, strict=True)):
        nid = f"out{k}"
        nodes.append({"id": nid, "type": "output", "name": name, "level": level[lit >> 1] + 1})
        edges.append({"source": sig[lit >> 1], "target": nid, "inverted": bool(lit & 1)})
    for latch in aig.latches:
        edges.append(
            {
                "source": sig[latch.next >> 1],
                "target": sig[latch.var],
                "inverted": bool(latch.next & 1),
                "sequential": True,
            }
        )
    return {"nodes": nodes, "edges": edges}


def to_json(aig: AIG) -> str:
    return json.dumps(gate_graph(aig), indent=1)


def to_graphml(aig: AIG, layout: dict | None = None) -> str:
    """GraphML with node type/level and edge inversion attributes.

    With ``layout`` (from ``tritlens.logic.layout.layout_graph``) every node also gets ``x``, ``y``
    (Gephi reads them as positions), ``module`` (its community) and ``role``.
    """
    graph = gate_graph(aig)
    extra: dict[str, dict] = {}
    if layout is not None:
        from tritlens.logic.layout import node_attributes

        extra = node_attributes(layout)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
        '  <key id="type" for="node" attr.name="type" attr.type="string"/>',
        '  <key id="level" for="node" attr.name="level" attr.type="int"/>',
    ]
    if layout is not None:
        lines += [
            '  <key id="x" for="node" attr.name="x" attr.type="double"/>',
            '  <key id="y" for="node" attr.name="y" attr.type="double"/>',
            '  <key id="module" for="node" attr.name="module" attr.type="int"/>',
            '  <key id="role" for="node" attr.name="role" attr.type="string"/>',
        ]
    lines += [
        '  <key id="inverted" for="edge" attr.name="inverted" attr.type="boolean"/>',
        '  <graph id="G" edgedefault="directed">',
    ]
    for node in graph["nodes"]:
        data = f'<data key="type">{node["type"]}</data><data key="level">{node["level"]}</data>'
        attrs = extra.get(node["id"])
        if attrs is not None:
            data += (
                f'<data key="x">{attrs["x"]}</data><data key="y">{attrs["y"]}</data>'
                f'<data key="module">{attrs["module"]}</data><data key="role">{attrs["role"]}</data>'
            )
        lines.append(f'    <node id="{escape(node["id"])}">{data}</node>')
    for k, edge in enumerate(graph["edges"]):
        lines.append(
            f'    <edge id="e{k}" source="{escape(edge["source"])}" target="{escape(edge["target"])}">'
            f'<data key="inverted">{str(edge["inverted"]).lower()}</data></edge>'
        )
    return "\n".join([*lines, "  </graph>", "</graphml>"]) + "\n"


def to_dot(aig: AIG, limit: int = DOT_LIMIT) -> str:
    """Graphviz DOT (dashed edges are inverted); refused beyond ``limit`` nodes, which no one can read."""
    graph = gate_graph(aig)
    if len(graph["nodes"]) > limit:
        raise TritlensError(f"circuit has {len(graph['nodes'])} nodes; DOT output is limited to {limit}")
    shape = {
        "input": "triangle",
        "latch": "box",
        "and": "circle",
        "output": "invtriangle",
        "const": "plaintext",
    }
    lines = ["digraph circuit {", "  rankdir=BT;"]
    for node in graph["nodes"]:
        label = node.get("name", node["id"])
        lines.append(f'  "{node["id"]}" [shape={shape[node["type"]]}, label="{label}"];')
    for edge in graph["edges"]:
        style = "dashed" if edge["inverted"] else "solid"
        lines.append(f'  "{edge["source"]}" -> "{edge["target"]}" [style={style}];')
    return "\n".join([*lines, "}"]) + "\n"


def export(aig: AIG, fmt: str, layout: dict | None = None) -> str | bytes:
    """Text (or bytes for binary AIGER) of ``aig`` in ``fmt``: one of FORMATS.

    ``layout`` (from ``layout.layout_graph``) adds positions and modules to GraphML; other formats
    ignore it."""
    writers = {
        "aag": to_aag,
        "aig": to_aig,
        "blif": to_blif,
        "v": to_verilog,
        "graphml": to_graphml,
        "json": to_json,
        "dot": to_dot,
    }
    if fmt not in writers:
        raise TritlensError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "graphml" and layout is not None:
        return to_graphml(aig, layout)
    return writers[fmt](aig)


def write(aig: AIG, path: str | Path, fmt: str | None = None, layout: dict | None = None) -> Path:
    """Write ``aig`` to ``path``; the format defaults to the file extension."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    data = export(aig, fmt, layout)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path
