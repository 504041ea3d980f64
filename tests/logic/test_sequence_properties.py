"""Properties of the sequence tasks: a planted violation found with the shortest trace, '/' and '%',
two-layer recurrent cells compiled and proved for every length."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from logic_nets import count3, need_tool

from tritlens.errors import TritlensError
from tritlens.logic import compile_model, make_spec, prove_model, prove_spec
from tritlens.logic.check import check_property
from tritlens.logic.props import evaluate, parse_properties

COUNT = """
always in == 0 -> out == prev(out, 0)
always in == 1 -> out == (prev(out, 0) + 1) % 3
"""
WRAPS = "always out >= prev(out, 0)"


def test_two_layer_cell_counts_and_compiles():
    model = count3()
    tokens = torch.tensor([[1, 0, 1, 1, 1, 0]])
    assert model.predict(tokens)[0].tolist() == [1, 1, 2, 0, 1, 1]
    circuit = compile_model(model)
    assert circuit.evaluate(tokens.numpy())[0].tolist() == [1, 1, 2, 0, 1, 1]
    assert prove_model(circuit, model).proved
    assert prove_spec(circuit, make_spec("count", 6, k=3), model=model).proved  # every length


def test_planted_count_bug_found_with_the_shortest_trace():
    bugged = count3(bug=True)
    circuit = compile_model(bugged)
    result = check_property(circuit, parse_properties(COUNT), model=bugged)
    assert result.status == "FAILED" and result.trace == [1, 1, 0] and result.answers == [1, 2, 0]
    assert result.violated == ["in == 0 -> out == prev(out, 0)"]
    assert result.confirmed and result.model_confirmed
    spec = prove_spec(circuit, make_spec("count", 6, k=3), model=bugged)
    assert not spec.proved and spec.counterexample == [1, 1, 0]
    assert check_property(compile_model(count3()), parse_properties(COUNT)).proved


def test_wrap_claim_is_refuted_after_k_ones():
    result = check_property(compile_model(count3()), parse_properties(WRAPS), model=count3())
    assert result.status == "FAILED" and result.trace == [1, 1, 1] and result.model_confirmed


def test_abc_pdr_agrees_on_the_count_properties():
    need_tool("berkeley-abc")
    for model, text, verdict in [(count3(), COUNT, "PROVED"), (count3(), WRAPS, "FAILED"),
                                 (count3(bug=True), COUNT, "FAILED")]:
        result = check_property(compile_model(model), parse_properties(text), abc=True)
        assert (result.status, result.abc, result.abc_agrees) == (verdict, verdict, True)
        if result.trace is not None:  # pdr's trace is never shorter than the shortest one
            assert result.abc_length >= len(result.trace) == 3


def test_division_and_remainder_by_constants():
    props = parse_properties("let a = in / 10\nlet b = in % 10\nalways a + b < 19 or in == 99")
    assert evaluate(props, [99, 45, 7], [0, 0, 0]) == [[True], [True], [True]]
    assert evaluate(parse_properties("always in % 4 == 3"), [7, 8], [0, 0]) == [[True], [False]]
    for text, message in [("always in / 0 == 1", "need a number in 1.."), ("always in % out == 1", "number"),
                          ("always in / ", "expected a value")]:
        with pytest.raises(TritlensError, match=message):
            parse_properties(text)


def test_monitor_division_matches_reference_semantics():
    model = count3()
    circuit = compile_model(model)
    half = "((in + out) / 2)"
    props = parse_properties(f"always {half} + {half} + (in + out) % 2 == in + out\nalways out / 2 <= 1")
    assert check_property(circuit, props).proved
    assert not check_property(circuit, parse_properties("always out / 2 == 0")).proved  # out = 2 happens
    rng = np.random.default_rng(0)
    for _ in range(5):
        tokens = rng.integers(0, 2, size=8).tolist()
        answers = model.predict(torch.tensor([tokens]))[0].tolist()
        assert all(all(step) for step in evaluate(props, tokens, answers))
