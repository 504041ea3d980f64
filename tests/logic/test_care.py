"""Collapse and don't-care simplification: never a changed answer on a valid input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from logic_nets import serial_adder

from tritlens.errors import TritlensError
from tritlens.logic import AIG, Circuit, compile_model, prove_equivalent, prove_fsm, simplify, with_aig
from tritlens.logic.build import add
from tritlens.logic.care import CareSet, full_mask, prove_care_equivalent
from tritlens.logic.collapse import COLLAPSE_LIMIT, collapse, root_tables, synthesize, variable_tables
from tritlens.logic.dontcare import care_fraig, simplify_care
from tritlens.logic.fsm import CircuitMachine
from tritlens.logic.simplify import collapse_if_smaller
from tritlens.logic.specs import modadd_spec
from tritlens.logic.synth import best_cost, build_tt, cheapest_completion, replicate
from tritlens.models.discrete import DiscreteMLPConfig, DiscreteRNNConfig, TernaryMLP, TernaryRNN


def _spec_circuit(p: int) -> Circuit:
    spec = modadd_spec(p)
    g = AIG()
    w = max(1, (spec.d_vocab - 1).bit_length())
    tokens = [[g.add_input(f"t{i}_b{k}") for k in range(w)] for i in range(spec.n_ctx)]
    for bits in spec.builder(g, tokens):
        for lit in bits:
            g.add_output(lit)
    return Circuit(g, spec.d_vocab, spec.d_vocab_out, spec.n_ctx, spec.positions)


def _adder(bits: int) -> AIG:
    g = AIG()
    a = [g.add_input(f"a{i}") for i in range(bits)]
    b = [g.add_input(f"b{i}") for i in range(bits)]
    for lit in add(g, a, b):
        g.add_output(lit)
    return g


def _valid_tokens(circuit: Circuit, valid: int) -> np.ndarray:
    return np.array(list(itertools.product(range(valid), repeat=circuit.n_ctx)), dtype=np.int64)


def test_collapse_is_equivalent_on_every_input():
    mlp = TernaryMLP(DiscreteMLPConfig(hidden=(12,), encoding="onehot", seed=3), 6, 6, 2)
    for aig in (_adder(4), compile_model(mlp, positions=(1,)).aig, _spec_circuit(11).aig):
        small = collapse(aig)
        assert prove_equivalent(aig, small).proved
    rnn = compile_model(serial_adder())  # latches are variables of the truth tables
    after = with_aig(rnn, collapse(rnn.aig))
    assert prove_fsm(after, CircuitMachine(rnn)).proved


def test_collapse_refuses_wide_circuits():
    with pytest.raises(TritlensError, match="collapsing is limited"):
        collapse(_adder((COLLAPSE_LIMIT + 2) // 2))


def test_token_care_set_mask_and_bad_input():
    circuit = _spec_circuit(11)
    care = CareSet.tokens(circuit, 11)
    mask = care.mask()
    assert mask.sum() == 121 and mask[0] and not mask[11] and not mask[11 << 4]
    assert CareSet.tokens(circuit, [range(3), [0, 5]]).mask().sum() == 6
    with pytest.raises(TritlensError, match="positions"):
        CareSet.tokens(circuit, [11])
    with pytest.raises(TritlensError, match="within 0..15"):
        CareSet.tokens(circuit, [11, [16]])
    with pytest.raises(TritlensError, match="inputs"):
        care.check(_adder(3))


def _check_valid_outputs_unchanged(circuit: Circuit, valid: int) -> int:
    care = CareSet.tokens(circuit, valid)
    result = simplify_care(circuit.aig, care)
    assert result.proof.proved
    tokens = _valid_tokens(circuit, valid)
    after = with_aig(circuit, result.aig)
    np.testing.assert_array_equal(after.evaluate(tokens), circuit.evaluate(tokens))
    return result.aig.num_ands


@pytest.mark.parametrize("seed", [0, 1])
def test_dont_care_simplification_never_changes_a_valid_output(seed):
    mlp = TernaryMLP(DiscreteMLPConfig(hidden=(10,), encoding="onehot", seed=seed), 11, 11, 2)
    mlp.head.set_integer(np.random.default_rng(seed).integers(-1, 2, size=(22, 10)).tolist())
    circuit = compile_model(mlp, positions=(1,))
    _check_valid_outputs_unchanged(circuit, 11)
    spec = _spec_circuit(11)
    assert _check_valid_outputs_unchanged(spec, 11) <= simplify(spec.aig).num_ands


def test_dont_cares_of_a_recurrent_circuit_keep_every_valid_sequence():
    rnn = TernaryRNN(DiscreteRNNConfig(hidden=4, encoding="onehot", seed=5), 3, 3, 4)
    circuit = compile_model(rnn)
    care = CareSet.tokens(circuit, 3)  # token code 3 never occurs
    result = simplify_care(circuit.aig, care)
    assert result.proof.proved
    seqs = np.array(list(itertools.product(range(3), repeat=5)), dtype=np.int64)
    np.testing.assert_array_equal(with_aig(circuit, result.aig).evaluate(seqs), circuit.evaluate(seqs))


def test_planted_dont_care_logic_is_removed():
    # y = x0 & x1 on valid codes 0..2; code 3 (x0 = x1 = 1) is invalid, so y can become constant 0,
    # but the circuit computes it through a xor chain that care-free passes must keep.
    g = AIG()
    x0, x1 = g.add_input("t0_b0"), g.add_input("t0_b1")
    g.add_output(g.AND(g.XOR(x0, g.AND(x0, x1)) ^ 1, g.AND(x1, x0)), "y0_b0")
    circuit = Circuit(g, 3, 2, 1, (0,))
    assert simplify(g).num_ands > 0
    care = CareSet.tokens(circuit, 3)
    result = simplify_care(g, care)
    assert result.used_care and result.aig.num_ands == 0 and result.proof.proved
    assert simplify(g, care=care).num_ands == 0


def test_prove_care_equivalent_finds_a_valid_counterexample():
    spec = _spec_circuit(5)
    wrong = AIG()
    ins = [wrong.add_input() for _ in spec.aig.inputs]
    for k, _ in enumerate(spec.aig.outputs):
        wrong.add_output(ins[k])
    result = prove_care_equivalent(spec.aig, wrong, CareSet.tokens(spec, 5))
    assert result.status == "FAILED"
    a = sum(bit << i for i, bit in enumerate(result.counterexample[:3]))
    b = sum(bit << i for i, bit in enumerate(result.counterexample[3:]))
    assert a < 5 and b < 5


def test_sat_paths_for_wide_care_sets():
    # 24 inputs: too many to enumerate, so care_fraig and the proof use SAT under the predicate.
    g = AIG()
    x = [g.add_input(f"t0_b{k}") for k in range(24)]
    low = g.OR_all(x[:12])
    g.add_output(g.AND(low, x[12]), "y0_b0")
    g.add_output(g.AND(x[12], g.AND(low, x[13]) ^ 1), "y0_b1")
    pred = AIG()
    px = [pred.add_input() for _ in range(24)]
    pred.add_output(pred.AND(px[12] ^ 1, px[13] ^ 1) ^ 1)  # x12 | x13 always holds
    care = CareSet.from_predicate(pred)
    merged = care_fraig(g, care)
    proof = prove_care_equivalent(g, merged, care)
    assert proof.proved and "SAT" in proof.method
    with pytest.raises(TritlensError, match="exactly one output"):
        CareSet.from_predicate(g)


def test_truth_tables_and_one_order_synthesis():
    g = _adder(2)
    tables = root_tables(g)
    assert tables.shape == (3, 16)
    k = np.arange(16)
    np.testing.assert_array_equal(tables[1], (((k & 3) + (k >> 2)) >> 1) & 1)  # s1 of a + b
    care = (k & 3) != 3  # a = 3 never occurs
    small = synthesize(g, tables, care, [0, 1, 2, 3])
    assert not ((root_tables(small) != tables) & care).any()
    assert variable_tables(2).tolist() == [[False, True, False, True], [False, False, True, True]]


def test_collapse_if_smaller_only_for_narrow_circuits():
    wide = _adder(6)  # 12 bits: above the default pipeline's limit
    assert collapse_if_smaller(wide) is wide
    mlp = TernaryMLP(DiscreteMLPConfig(hidden=(12,), encoding="onehot", seed=3), 6, 6, 2)
    narrow = compile_model(mlp, positions=(1,)).aig
    out = collapse_if_smaller(narrow)
    assert out.num_ands < narrow.num_ands and prove_equivalent(narrow, out).proved


def test_cheapest_completion_stays_in_the_interval_and_builds():
    lo, hi = 0b1000, 0b1110  # x0 & x1 must be 1, x0 = x1 = 0 must be 0, the rest free
    tt = cheapest_completion(lo, hi, 2)
    small = tt & 0xF
    assert small & lo == lo and small & ~hi & 0xF == 0 and tt == replicate(small, 2)
    assert best_cost(tt) == 0  # one variable alone fits: x0 (or x1) is 1 at 11 and 0 at 00
    g = AIG()
    x = [g.add_input() for _ in range(2)]
    g.add_output(build_tt(g, tt, x))
    assert root_tables(g)[0].tolist() == [bool(small >> m & 1) for m in range(4)]


def test_care_set_for_a_task():
    from tritlens.tasks.bits import ModAddTask, SerialAddTask

    spec = _spec_circuit(11)
    assert CareSet.for_task(spec, ModAddTask(p=11)).mask().sum() == 121
    rnn = compile_model(serial_adder())
    assert CareSet.for_task(rnn, SerialAddTask(digits=3)).fraction() == 1.0
    assert CareSet.for_task(spec, object()).fraction() == pytest.approx((11 / 16) ** 2)  # d_vocab


def test_care_fraction_and_full_mask():
    spec = _spec_circuit(5)
    care = CareSet.tokens(spec, 5)
    assert care.fraction() == pytest.approx(25 / 64)
    rnn = compile_model(TernaryRNN(DiscreteRNNConfig(hidden=2, encoding="onehot", seed=1), 3, 3, 4))
    mask = full_mask(rnn.aig, CareSet.tokens(rnn, 3))
    assert mask.size == 1 << (2 + len(rnn.aig.latches)) and mask.sum() == 3 << len(rnn.aig.latches)
