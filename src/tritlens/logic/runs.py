"""The logic stage over run directories: compile a run's model, size a spec from its task, prove both.

Conventions: bad input (a run that is not fully discrete, a spec whose width does not match, an
unknown encoding) raises TritlensError, which the CLI prints in one line with exit code 2.
"""

from __future__ import annotations

import math
from typing import Any

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG
from tritlens.logic.circuit import Circuit
from tritlens.logic.compile import compile_model, refuse_unless_discrete
from tritlens.logic.prove import ProofResult, prove_model, prove_spec
from tritlens.logic.simplify import DEFAULT_PASSES, simplify
from tritlens.logic.specs import Spec, make_spec
from tritlens.logic.stats import circuit_stats, with_aig
from tritlens.models import Model, is_discrete
from tritlens.run import Run

ENCODINGS = ("auto", "adder", "totalizer")
MAX_SPEC_DIGITS = 64
MAX_SECONDS = 86_400  # the longest time limit a proof or search accepts
LARGE_CIRCUIT = 50_000  # above this many ANDs only the fast pass runs (SAT sweeping would take minutes)
FAST_PASSES = "rebuild"


def simplify_circuit(aig: AIG, passes: str = DEFAULT_PASSES, abc: bool = False) -> AIG:
    """``simplify(aig, passes)``; circuits above ``LARGE_CIRCUIT`` ANDs get only ``FAST_PASSES``
    (structural hashing, constants, dead gates), which is seconds where the full passes take minutes."""
    if len(aig.cone(aig.roots())) > LARGE_CIRCUIT:
        passes = FAST_PASSES
    return simplify(aig, passes, abc=abc)


def check_seconds(value: object, flag: str = "--timeout") -> None:
    """Refuse a time limit that is not a number of seconds in (0, MAX_SECONDS] (None: no limit)."""
    if value is not None and not (isinstance(value, int | float) and not isinstance(value, bool)
                                  and math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise TritlensError(f"{flag} must lie in (0, {MAX_SECONDS}] seconds, got {value}")


def require_discrete(run: Run) -> Run:
    """``run`` itself, unless its model does not compile to gates (the offending layer is named)."""
    refuse_unless_discrete(run.model)
    return run


def compile_run(run: Run, encoding: str = "auto", simplified: bool = True, abc: bool = False) -> Circuit:
    """The run's model as a Circuit answering at the task's positions; simplified unless told otherwise."""
    if encoding not in ENCODINGS:
        raise TritlensError(f"unknown encoding {encoding!r:.40}; choose one of {', '.join(ENCODINGS)}")
    require_discrete(run)
    circuit = compile_model(run.model, positions=run.task.answer_positions, method=encoding)
    return with_aig(circuit, simplify_circuit(circuit.aig, abc=abc)) if simplified else circuit


def spec_for_run(run: Run, name: str, digits: int | None = None) -> Spec:
    """The spec ``name`` sized from the run's task (``digits`` overrides the width)."""
    task = run.task
    if digits is not None and not 1 <= digits <= MAX_SPEC_DIGITS:
        raise TritlensError(f"--digits must lie in [1, {MAX_SPEC_DIGITS}], got {digits}")
    if name == "modadd":
        if digits is not None:
            raise TritlensError("--digits does not apply to --spec modadd (p comes from the run's task)")
        if not hasattr(task, "p"):
            raise TritlensError(f"--spec modadd needs a run trained on a modular-addition task; this run's "
                                f"task is {task.name!r}")
        if task.name == "modular" and getattr(task, "op", None) != "add":
            raise TritlensError("--spec modadd needs task.op=add; this run's task computes "
                                f"{getattr(task, 'op', '?')!r:.40}")
        return make_spec("modadd", p=task.p, equals=task.name == "modular")
    if name == "add":
        return make_spec("add", digits or getattr(task, "digits", 4), base=getattr(task, "base", 2))
    if name == "brackets":
        _needs_task(task, "brackets", name)
        return make_spec(name, digits or task.length, max_depth=task.max_depth)
    if name == "count":
        _needs_task(task, "count", name)
        return make_spec(name, digits or task.length, k=task.k)
    if name == "parity":
        return make_spec("parity", digits or getattr(task, "bits", 8), prefix=getattr(task, "prefix", False))
    return make_spec(name, digits or getattr(task, "bits", None))


def _needs_task(task: Any, kind: str, spec: str) -> None:
    if getattr(task, "name", None) != kind:
        raise TritlensError(f"--spec {spec} needs a run trained on the {kind} task; this run's task is "
                            f"{getattr(task, 'name', '?')!r}")


def verify_run(run: Run, circuit: Circuit, spec_name: str | None = None, digits: int | None = None,
               seconds: float | None = None, domain: tuple[tuple[int, ...], tuple[int, ...]] | None = None
               ) -> list[tuple[str, ProofResult]]:
    """Proofs of circuit == model and (with ``spec_name``) circuit == spec: ``[(claim, ProofResult)]``.

    ``domain`` = (valid, low) narrows circuit == model to the valid inputs (a care-simplified circuit).
    """
    check_seconds(seconds)
    spec = spec_for_run(run, spec_name, digits) if spec_name else None
    if spec is not None:
        spec.check_matches(circuit)  # bad width: exit 2 before any work
    valid, low = domain if domain is not None and not circuit.recurrent else (None, None)
    claim = "circuit == model" + (" on valid inputs" if valid is not None else "")
    results = [(claim, prove_model(circuit, run.model, seconds=seconds, valid=valid, low=low))]
    if spec is not None:
        results.append((f"circuit == spec {spec.name}", prove_spec(circuit, spec, model=run.model,
                                                                  seconds=seconds)))
    return results


def circuit_info(model: Model) -> dict[str, Any] | None:
    """Gate counts and depth before/after simplification and the trit zero fraction (None if not discrete)."""
    if not is_discrete(model):
        return None
    circuit = compile_model(model, positions=getattr(model, "answer_positions", None))
    before, after = circuit_stats(circuit.aig), circuit_stats(simplify_circuit(circuit.aig))
    return {"ands_compiled": before["ands"], "depth_compiled": before["depth"],
            "ands_simplified": after["ands"], "depth_simplified": after["depth"],
            "inputs": after["inputs"], "latches": after["latches"], "outputs": after["outputs"],
            "trit_zero_fraction": round(float(model.trit_stats()["zero_fraction"]), 4)}
