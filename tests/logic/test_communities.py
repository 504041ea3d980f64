"""Communities of the gate graph, layout data, GraphML attributes and the sparsity measurements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from logic_nets import serial_adder

from tritlens.errors import TritlensError
from tritlens.logic import AIG, compile_model, export, simplify
from tritlens.logic.build import add
from tritlens.logic.communities import find_communities
from tritlens.logic.layout import ROLES, layout_graph
from tritlens.logic.sparsity import measure, sparsity_sweep, sweep_table


def _xor_tree(g: AIG, lits: list[int]) -> int:
    while len(lits) > 1:
        lits = [g.XOR(lits[i], lits[i + 1]) for i in range(0, len(lits) - 1, 2)] + lits[
            len(lits) - len(lits) % 2 :
        ]
    return lits[0]


def _two_clusters() -> tuple[AIG, set[int], set[int]]:
    """One output over two dense parity trees on disjoint inputs joined by a single AND."""
    g = AIG()
    xs = [g.add_input(f"x{i}") for i in range(32)]
    left, right = _xor_tree(g, xs[:16]), _xor_tree(g, xs[16:])
    g.add_output(g.AND(left, right), "y")
    return g, g.cone([left]), g.cone([right])


def test_leiden_separates_planted_clusters_inside_one_cone_module():
    g, left, right = _two_clusters()
    part = find_communities(g)
    assert part.cone_modules == 1 and len(part.communities) >= 2
    for community in part.communities:
        nodes = set(community.nodes)
        assert not (nodes & left and nodes & right), "a community mixes the two parity trees"
    assert sorted(v for c in part.communities for v in c.nodes) == sorted(g.cone(g.roots()))
    assert part.modularity > 0.5


def test_communities_never_straddle_cone_modules_and_describe_their_boundary():
    g = AIG()
    a = [g.add_input(f"a{i}") for i in range(4)]
    b = [g.add_input(f"b{i}") for i in range(4)]
    for k, lit in enumerate(add(g, a[:2], b[:2])):
        g.add_output(lit, f"s{k}")
    g.add_output(g.AND_all(a[2:] + b[2:]), "all")  # an independent second module
    part = find_communities(g)
    assert part.cone_modules == 3  # s0 = a0 ^ b0 shares no gate with the carry chain
    assert {c.module for c in part.communities} == {0, 1, 2}
    (driver,) = [c for c in part.communities if any("all" in d for d in c.drives.values())]
    (export,) = [name for name, outs in driver.drives.items() if "all" in outs]
    assert driver.module != part.communities[0].module and driver.formulas[export].startswith("and(")
    for c in part.communities:
        assert c.ands == len(c.nodes) and c.outputs  # every community exports something


def test_small_community_of_the_serial_adder_has_a_formula():
    part = find_communities(simplify(compile_model(serial_adder()).aig))
    formulas = {f for c in part.communities for f in c.formulas.values()}
    assert "and(x_b0, x_b1)" in formulas


def test_layout_data_is_consistent_and_deterministic():
    g, _, _ = _two_clusters()
    data = layout_graph(g, seed=3)
    nodes = data["nodes"]
    n = len(nodes["id"])
    assert all(len(nodes[k]) == n for k in ("x", "y", "module", "role"))
    assert n == 32 + len(g.cone(g.roots())) + 1
    assert len(data["edges"]) % 2 == 0 and max(data["edges"]) < n
    roles = [data["roles"][r] for r in nodes["role"]]
    assert roles.count("input") == 32 and roles.count("output") == 1 and data["roles"] == list(ROLES)
    assert min(nodes["x"]) >= 0 and max(max(nodes["x"]), max(nodes["y"])) == pytest.approx(1000, abs=0.1)
    assert layout_graph(g, seed=3) == data
    assert len(layout_graph(g, method="global")["nodes"]["x"]) == n
    with pytest.raises(TritlensError, match="unknown layout method"):
        layout_graph(g, method="spring")


def test_graphml_keeps_module_and_layout_attributes():
    aig = simplify(compile_model(serial_adder()).aig)
    data = layout_graph(aig)
    root = ET.fromstring(export(aig, "graphml", data))
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    keys = {k.get("id") for k in root.findall("g:key", ns)}
    assert {"x", "y", "module", "role"} <= keys
    nodes = root.findall(".//g:node", ns)
    assert len(nodes) == len(data["nodes"]["id"])
    for node in nodes:
        values = {d.get("key"): d.text for d in node.findall("g:data", ns)}
        assert {"x", "y", "module", "role"} <= set(values)
    assert 'key id="x"' not in export(aig, "graphml")


def test_measure_and_sweep_rows():
    row = measure(serial_adder())
    assert row["ands"] > 0 and row["cone_modules"] >= 1 and 0 <= row["zero_frac"] <= 1
    calls = []

    def fake_train(preset, overrides, progress):
        calls.append(overrides)
        return SimpleNamespace(model=serial_adder(), task=SimpleNamespace(), final={"test_acc": 1.0})

    rows = sparsity_sweep(fake_train, "p", [0.0, 0.5])
    assert [c["model.sparsity"] for c in calls] == [0.0, 0.5]
    assert [r["sparsity"] for r in rows] == [0.0, 0.5] and rows[0]["accuracy"] == 1.0
    table = sweep_table(rows)
    assert table.count("\n") == 3 and "cone modules" in table and "100.0%" in table


def test_layout_refuses_graphs_beyond_its_limit(monkeypatch):
    import tritlens.logic.layout as layout

    g, _, _ = _two_clusters()
    monkeypatch.setattr(layout, "MAX_NODES", 10)
    with pytest.raises(TritlensError, match="simplify first, or lay out one module"):
        layout.layout_graph(g)
