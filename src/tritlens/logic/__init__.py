"""Logic layer: compile fully discrete networks to And-Inverter Graphs, simplify, export and prove.

Typical use::

    circuit = compile_model(model, positions=task.answer_positions)
    small = simplify(circuit.aig)
    result = prove_spec(circuit, make_spec("add", digits=4), model=model)
    write(small, "adder.aig")
"""

from __future__ import annotations

from tritlens.logic.aig import AIG, FALSE, TRUE, Latch, negate
from tritlens.logic.aiger import parse_aiger, read_aiger, to_aag, to_aig, write_aiger
from tritlens.logic.care import CareSet, prove_care_equivalent
from tritlens.logic.check import PropertyResult, check_property
from tritlens.logic.circuit import Circuit
from tritlens.logic.collapse import collapse
from tritlens.logic.compile import compile_model, refuse_unless_discrete
from tritlens.logic.dontcare import CareResult, simplify_care
from tritlens.logic.export import FORMATS, export, write
from tritlens.logic.modules import Module, find_modules
from tritlens.logic.passes import balance, fraig, rebuild
from tritlens.logic.props import PropertySet, parse_properties
from tritlens.logic.prove import (
    FAILED,
    PROVED,
    TIMEOUT,
    UNKNOWN,
    ProofResult,
    cut_latches,
    prove_equivalent,
    prove_fsm,
    prove_model,
    prove_spec,
)
from tritlens.logic.rewrite import rewrite
from tritlens.logic.simplify import DEFAULT_PASSES, STRUCTURAL_PASSES, simplify
from tritlens.logic.specs import SPEC_NAMES, FsmSpec, Spec, make_spec
from tritlens.logic.stats import circuit_stats, with_aig

__all__ = [
    "AIG",
    "FALSE",
    "TRUE",
    "Latch",
    "negate",
    "parse_aiger",
    "read_aiger",
    "to_aag",
    "to_aig",
    "write_aiger",
    "CareResult",
    "CareSet",
    "Circuit",
    "DEFAULT_PASSES",
    "PropertyResult",
    "PropertySet",
    "STRUCTURAL_PASSES",
    "check_property",
    "collapse",
    "parse_properties",
    "prove_care_equivalent",
    "simplify_care",
    "with_aig",
    "compile_model",
    "refuse_unless_discrete",
    "FORMATS",
    "export",
    "write",
    "Module",
    "find_modules",
    "balance",
    "fraig",
    "rebuild",
    "rewrite",
    "simplify",
    "circuit_stats",
    "FAILED",
    "PROVED",
    "TIMEOUT",
    "UNKNOWN",
    "ProofResult",
    "cut_latches",
    "prove_equivalent",
    "prove_fsm",
    "prove_model",
    "prove_spec",
    "SPEC_NAMES",
    "FsmSpec",
    "Spec",
    "make_spec",
]
