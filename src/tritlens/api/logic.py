"""Compile and prove: discrete runs as gates, proofs, properties, modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tritlens.api._common import (
    MAX_MODULE_INPUTS,
    MAX_PROPERTY_BYTES,
    RunLike,
    _int,
    _opened,
    _path,
    _seconds,
)
from tritlens.api.training import train
from tritlens.errors import TritlensError, short
from tritlens.logic import (
    FORMATS,
    Circuit,
    Module,
    ProofResult,
    circuit_stats,
    export,
    find_modules,
    read_aiger,
    with_aig,
)
from tritlens.logic.check import ABC_TIMEOUT, PropertyResult
from tritlens.logic.communities import Partition
from tritlens.logic.dontcare import CareResult
from tritlens.logic.run_tools import care_domain, care_simplify, check_run, run_communities, run_layout
from tritlens.logic.runs import MAX_SPEC_DIGITS, compile_run, require_discrete, simplify_circuit, verify_run
from tritlens.logic.sparsity import check_sweep
from tritlens.logic.sparsity import sparsity_sweep as _sweep
from tritlens.presets import PRESETS
from tritlens.run import Output
from tritlens.run.files import read_text


# -- compile and prove ----------------------------------------------------------------------------
def compile_circuit(run: RunLike, encoding: str = "auto", simplified: bool = True,
                    abc: bool = False, care: str | None = None) -> Circuit:
    """A discrete run's model as gates (simplified unless told otherwise).

    ``care="valid"`` also uses the inputs the task never produces as don't-cares (``simplify_care``; the
    result is proved equal to the compiled circuit on every valid input, else the plain one is kept).
    """
    opened = require_discrete(_opened(run))
    if care is None:
        return compile_run(opened, encoding, simplified=simplified, abc=abc)
    return simplify_care(opened, encoding)[0]


def simplified(circuit: Circuit, abc: bool = False) -> Circuit:
    """A circuit as ``compile_circuit(run, simplified=False)`` returns it, simplified as ``compile_circuit``
    would have (only the fast pass above 50,000 ANDs); for callers that want both without compiling twice."""
    return with_aig(circuit, simplify_circuit(circuit.aig, abc=abc))


def simplify_care(run: RunLike, encoding: str = "auto", care: str = "valid",
                  compiled: Circuit | None = None) -> tuple[Circuit, CareResult]:
    """The run's circuit simplified on its task's valid inputs, and the proof (``CareResult.proof``);
    ``compiled`` is the run's unsimplified circuit when the caller has it already."""
    if care != "valid":
        raise TritlensError(f"unknown care set {care!r:.30}; the one care set is 'valid' (the task's inputs)")
    opened = require_discrete(_opened(run))
    return care_simplify(opened, compiled or compile_run(opened, encoding, simplified=False))


def circuit_output(out: str | os.PathLike[str], fmt: str | None = None, force: bool = False,
                   inputs: list[str | os.PathLike[str]] | None = None) -> tuple[Output, str]:
    """The checked output file of an export and its format (from ``fmt`` or the file's extension)."""
    target = Output(_path(out, "output"), force=force, inputs=[_path(i, "input") for i in inputs or []],
                    what="output")
    if fmt is not None and not isinstance(fmt, str):
        raise TritlensError(f"format must be one of {', '.join(FORMATS)}, got {short(fmt)}")
    kind = fmt or target.path.suffix.lstrip(".")
    if kind not in FORMATS:
        source = "--format" if fmt else repr(target.path.name)[:60]
        raise TritlensError(f"unknown format {kind!r:.20} (from {source}); choose from {', '.join(FORMATS)}")
    return target, kind


def write_circuit(circuit: Circuit, out: str | os.PathLike[str], fmt: str | None = None,
                  force: bool = False, inputs: list[str | os.PathLike[str]] | None = None) -> Path:
    """Export ``circuit`` as AIGER/BLIF/Verilog/GraphML/JSON/DOT (format from ``fmt`` or the extension)."""
    target, kind = circuit_output(out, fmt, force, inputs)
    return target.write(export(circuit.aig, kind))


def verify(run: RunLike, spec: str | None = None, digits: int | None = None, timeout: float | None = None,
           encoding: str = "auto", simplified: bool = True, care: str | None = None
           ) -> list[tuple[str, ProofResult]]:
    """Prove circuit == model (and circuit == ``spec``): ``[(claim, ProofResult)]``.

    With ``care="valid"`` the don't-care-simplified circuit is proved: first equal to the compiled circuit
    on every valid input (``care simplification``), then equal to the model and spec on those inputs.
    """
    _proof_settings(spec, digits, timeout)  # bad settings stop here, before anything is compiled
    opened = require_discrete(_opened(run))
    if care is None:
        circuit = compile_run(opened, encoding, simplified=simplified)
        return prove_circuit(opened, circuit, spec, digits, timeout)
    circuit, result = simplify_care(opened, encoding, care)
    return prove_circuit(opened, circuit, spec, digits, timeout, care_proof=result.proof)


def prove_circuit(run: RunLike, circuit: Circuit, spec: str | None = None, digits: int | None = None,
                  timeout: float | None = None, care_proof: ProofResult | None = None
                  ) -> list[tuple[str, ProofResult]]:
    """``verify`` for a circuit already compiled from ``run`` (``compile_circuit``, or ``simplify_care``
    with its proof as ``care_proof``), so a caller that shows the circuit does not compile it twice."""
    timeout, digits = _proof_settings(spec, digits, timeout)
    opened = require_discrete(_opened(run))
    if care_proof is None:
        return verify_run(opened, circuit, spec, digits, timeout)
    domain = care_domain(opened, circuit)
    proofs = verify_run(opened, circuit, spec, digits, timeout, (domain.valid, domain.low))
    return [("care simplification == compiled circuit on valid inputs", care_proof), *proofs]


def _proof_settings(spec: object, digits: object, timeout: object) -> tuple[float | None, int | None]:
    """Checked (timeout, digits) of a proof request; a spec must be a name."""
    if spec is not None and not isinstance(spec, str):
        raise TritlensError(f"spec must be a spec name, got {short(spec)}")
    return _seconds(timeout), None if digits is None else _int(digits, "digits", 1, MAX_SPEC_DIGITS)


def check_property(run: RunLike, prop: str | os.PathLike[str], abc: bool = False, max_states: int = 1 << 20,
                   timeout: float | None = None, encoding: str = "auto",
                   abc_timeout: float = ABC_TIMEOUT) -> PropertyResult:
    """Check the properties of file ``prop`` (docs/properties.md) on a discrete run's circuit, for every
    input length; a failure comes with a shortest counterexample replayed on the model. With ``abc``,
    berkeley-abc's pdr checks the same product independently (UNKNOWN past ``abc_timeout`` seconds)."""
    text = read_text(prop, "property file", limit=MAX_PROPERTY_BYTES)
    return check_run(_opened(run), text, str(prop), abc, max_states, timeout, encoding, abc_timeout)[1]


def communities(run: RunLike, resolution: float = 1.0, seed: int = 0) -> Partition:
    """Leiden communities of the run's gate graph (structure kept), each with its boundary and formulas."""
    return run_communities(require_discrete(_opened(run)), resolution, seed)[1]


def layout(run: RunLike, method: str = "modules", resolution: float = 1.0, seed: int = 0,
           module: int | None = None) -> dict[str, Any]:
    """Force-directed layout of the run's gate graph (``logic.layout`` format; ``module``: one module)."""
    return run_layout(require_discrete(_opened(run)), method, resolution, seed, module)[1]


def sparsity_sweep(preset: str, values: list[float], seeds: list[int] | None = None,
                   overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Train ``preset`` at each ``model.sparsity`` value and model seed; gates, zero trits, cone modules and
    communities of each run (``logic.sparsity.sweep_table`` formats them)."""
    seeds = [0] if seeds is None else seeds
    check_sweep(preset, values, seeds, PRESETS)
    return _sweep(train, preset, values, seeds, overrides)


def modules(run: RunLike, max_inputs: int = 8, encoding: str = "auto",
            simplified: bool = True) -> list[Module]:
    """Independent parts of a discrete run's circuit; those reading few inputs come with formulas."""
    max_inputs = _int(max_inputs, "max_inputs", 0, MAX_MODULE_INPUTS)
    circuit = compile_circuit(run, encoding, simplified=simplified)
    return find_modules(circuit.aig, max_inputs=max_inputs)


def aig_stats(path: str | os.PathLike[str]) -> dict[str, int]:
    """Gate statistics of an AIGER file (ASCII or binary)."""
    return circuit_stats(read_aiger(_path(path, "AIGER file")))
