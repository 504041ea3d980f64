"""The circuit toolkit against known answers: a planted adder whose nodes compute known sub-tasks."""

from __future__ import annotations

import pytest
import torch

from tritlens.interp.arith import circuit_search, default_hypothesis
from tritlens.interp.arith.grade import grade_run, nines
from tritlens.interp.arith.planted import planted_run
from tritlens.interp.nodes import Node, useful_nodes


@pytest.fixture(scope="module")
def planted_circuit() -> tuple:
    run = planted_run(3)
    return run, circuit_search(run, per_class=30)


def test_planted_adder_is_exact():
    run = planted_run(3)
    grade = grade_run(run, exhaustive=True)
    assert grade["questions"] == 10**6 and grade["failures"] == 0 and grade["nines"] == 6


def test_grading_counts_planted_failures():
    """Switching off the use-sum-9 head of A2 in 2-digit addition breaks exactly the questions where
    column 0 makes a carry (45 digit pairs) and column 1 sums to 9 (10 pairs): 450 of 10,000, all S2,
    all wrong at A2 only."""
    grade = grade_run(planted_run(2, broken=(2,)), exhaustive=True)
    assert grade["questions"] == 10_000 and grade["failures"] == 450
    assert grade["nines"] == nines(10_000, 450) == 1
    assert grade["by_class"]["S2"] == {"questions": 450, "failures": 450}
    assert all(c["failures"] == 0 for name, c in grade["by_class"].items() if name != "S2")
    assert grade["wrong_at"] == {"A3": 0, "A2": 450, "A1": 0, "A0": 0}
    assert grade["first_wrong"]["A2"] == 450
    example = grade["examples"][0]
    assert example["class"] == "S2" and example["predicted"] == "+0" + example["expected"][2:]
    sampled = grade_run(planted_run(2, broken=(2,)), questions=20_000, seed=3)
    assert 0.02 < sampled["failures"] / 20_000 < 0.07 and sampled["set"] == "uniform"


def test_nines():
    failures = (0, 1, 2, 10, 11, 100, 1000, 10_000, 10**6)
    assert [nines(10**6, f) for f in failures] == [6, 6, 5, 5, 4, 4, 3, 2, 0]


def test_planted_nodes_get_their_tags(planted_circuit):
    run, found = planted_circuit
    lay = run.task.layout
    by_key = {n["key"]: n for n in found["nodes"]}
    for k in range(4):
        p = lay.answer_pos(k) - 1
        if k < 3:
            sa = by_key[Node(p, 0, 0).key()]
            assert sa["algo"] == {f"A{k}.SA": "strong"} and sa["attention"] == {f"D{k}": 0.5, f"D'{k}": 0.5}
            assert sa["impact"] == [f"A{k}"]
        if k >= 1:
            assert by_key[Node(p, 0, 1).key()]["algo"] == {f"A{k - 1}.SC": "strong"}
        if k >= 2:
            ss = by_key[Node(p, 0, 2).key()]
            assert ss["algo"] == {f"A{k - 1}.SS": "strong"}
            assert set(ss["classes"]) <= {"S2", "S3"}  # only cascades need it
    assert not [n for n in found["nodes"] if n["head"] is None and n["algo"]]
    useful = [p["name"] for p in found["positions"] if p["useful"]]
    assert useful == ["D2", "D1", "D0", "D'2", "D'1", "D'0", "A4", "A3", "A2", "A1"]
    check = found["hypothesis"]
    assert check["score"] == "8 of 8 clauses hold" and check["with_purpose"] == 8


def test_the_default_hypothesis_is_the_paper_algorithm():
    text = default_hypothesis(planted_run(5).task)
    clauses = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(clauses) == 5 + 5 + 4  # SA for A0..A4, SC for A1..A5, SS for A2..A5
    assert "some algo:A4.SA and position < A4" in clauses and "some algo:A3.SS and position < A4" in clauses


def test_a_bad_hypothesis_fails_before_any_work():
    from tritlens.interp.filters import FilterError

    with pytest.raises(FilterError, match="line 2"):
        circuit_search(planted_run(2), hypothesis="some head\nsome algo:A0.SA and position < A9\n")


def test_useful_nodes_need_questions_the_model_gets_right():
    from tritlens.errors import TritlensError

    run = planted_run(2, broken=(2,))
    bad = run.task.from_ints([(95, 5)])  # a cascade into A2: answered wrong
    with pytest.raises(TritlensError, match="wrong before any ablation"):
        useful_nodes(run.model, bad.tokens, bad.targets, run.task.answer_positions, [0], bad.tokens)
    with pytest.raises(TritlensError, match="targets must be"):
        useful_nodes(run.model, bad.tokens, bad.targets[:, :2], run.task.answer_positions, [0], bad.tokens)
    assert torch.equal(bad.tokens, run.task.from_ints([(95, 5)]).tokens)
