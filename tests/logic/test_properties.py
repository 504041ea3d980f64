"""Property language, monitor compilation, all-length checking, shortest counterexamples, abc pdr."""

from __future__ import annotations

import re

import numpy as np
import pytest
from logic_nets import mlp_compare2, need_tool, serial_adder

from tritlens.errors import TritlensError
from tritlens.logic import compile_model
from tritlens.logic.check import check_property
from tritlens.logic.monitor import product
from tritlens.logic.props import evaluate, parse_properties
from tritlens.logic.sim import Simulator, pack, unpack

CARRY = """
# the serial adder's carry: both digits 1 at the previous step means the sum bit is a + b + 1
let both = in == 3
always (both and prev(both, false)) -> out == 1
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("always out <", "expected a value"),
        ("always foo == 1", "unknown signal 'foo'"),
        ("always (in == 1", "expected ')'"),
        ("let x 1\nalways x", "let NAME = EXPRESSION"),
        ("eventually out == 1", "starts with 'let' or 'always'"),
        ("let a = in\nlet a = out\nalways a == 1", "already defined"),
        ("always count(in == 1, in) < 2", "must be a number"),
        ("always prev()", "expected a value"),
        ("always ever(in, out) ", "takes 1..1 arguments"),
        ("# nothing\nlet a = in", "no 'always' line"),
        ("always in == 1 $", "cannot read"),
    ],
)
def test_bad_property_text_is_one_line_error(text, message):
    with pytest.raises(TritlensError, match=re.escape(message)) as err:
        parse_properties(text)
    assert "\n" not in str(err.value)


def test_bad_signals_and_stateless_circuits_refused():
    comb = compile_model(mlp_compare2(), positions=(1,))
    with pytest.raises(TritlensError, match="needs state .*prev.* not recurrent"):
        check_property(comb, parse_properties("always prev(out[0]) == 0"))
    with pytest.raises(TritlensError, match="'in' is ambiguous"):
        check_property(comb, parse_properties("always in == 0"))
    with pytest.raises(TritlensError, match=r"out\[3\] does not exist"):
        check_property(comb, parse_properties("always out[3] == 0"))


def _monitor_flags(circuit, props, tokens: np.ndarray) -> np.ndarray:
    """Per-step 'invariant i holds' from the compiled product, simulated on token sequences."""
    g = product(circuit, props)
    sim, n = Simulator(g), tokens.shape[0]
    state, flags = None, []
    for t in range(tokens.shape[1]):
        if state is None:
            state = pack(np.array([[bool(x.init) for x in g.latches]] * n))
        outs, state = sim.run(pack(circuit.token_bits(tokens[:, t : t + 1])), state)
        flags.append(~unpack(outs, n)[:, 1:])
    return np.stack(flags, axis=1)  # [sequences, steps, invariants]


def test_monitor_matches_reference_semantics_on_random_traces():
    text = """
    let depth = counter(in == 1, in == 2, 3)
    always depth < 3
    always prev(out, 1) == 1 or ever(in == 3)
    always count(bit(in, 0), 2) + prev(in) != 4
    always not (out == 1 and prev(prev(in == 2, true)))
    always in >= 2 -> bit(in, 1)
    """
    props = parse_properties(text)
    model = serial_adder()
    circuit = compile_model(model)
    tokens = np.random.default_rng(0).integers(0, 4, size=(200, 7))
    got = _monitor_flags(circuit, props, tokens)
    answers = circuit.evaluate(tokens)
    for seq in range(len(tokens)):
        want = np.array(evaluate(props, tokens[seq].tolist(), answers[seq].tolist()))
        np.testing.assert_array_equal(got[seq], want, err_msg=f"sequence {tokens[seq].tolist()}")
    assert got.all(axis=(0, 1)).tolist() == [False, False, False, False, True]  # all but the last can fail


def test_planted_violation_is_found_with_a_shortest_trace():
    props = parse_properties(CARRY)
    good, bad = serial_adder(), serial_adder(bug=True)
    assert check_property(compile_model(good), props, model=good).proved
    result = check_property(compile_model(bad), props, model=bad)
    assert result.status == "FAILED" and result.trace == [3, 3] and result.answers == [0, 0]
    assert result.confirmed and result.model_confirmed
    assert result.violated == ["(both and prev(both, false)) -> out == 1"]
    # no shorter trace violates it: every single token passes on the bugged model
    circuit = compile_model(bad)
    for tok in range(4):
        assert all(evaluate(props, [tok], circuit.evaluate(np.array([[tok]]))[0].tolist())[0])


def test_counter_property_needs_a_longer_shortest_trace():
    props = parse_properties("always count(in == 1, 3) < 3")
    result = check_property(compile_model(serial_adder()), props)
    assert result.trace == [1, 1, 1] and result.depth == 3


def test_combinational_properties():
    circuit = compile_model(mlp_compare2(), positions=(1,))
    proved = check_property(circuit, parse_properties("always in[0] == in[1] -> out[0] == 1"))
    assert proved.proved and proved.states == 4
    refuted = check_property(circuit, parse_properties("always out[0] != 2"), model=mlp_compare2())
    assert refuted.trace == [1, 0] and refuted.answers == [2] and refuted.model_confirmed


def test_abc_pdr_agrees_with_own_engine():
    need_tool("berkeley-abc")  # skipped only when the abc binary is missing (CI installs it)
    cases = [
        (serial_adder(), CARRY),
        (serial_adder(bug=True), CARRY),
        (serial_adder(), "always count(in == 1, 3) < 3"),
        (serial_adder(), "always counter(in == 3, in == 0, 2) <= 2"),
    ]
    for model, text in cases:
        result = check_property(compile_model(model), parse_properties(text), abc=True)
        assert result.abc == result.status, text
        if result.trace is not None:
            assert result.abc_length == len(result.trace)


def test_state_limit_gives_unknown_never_proved():
    result = check_property(compile_model(serial_adder()), parse_properties(CARRY), max_states=1)
    assert result.status == "UNKNOWN" and result.trace is None
