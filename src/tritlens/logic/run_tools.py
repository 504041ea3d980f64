"""Circuit tools over run directories: care sets, property checks, communities and layouts.

Every function takes a loaded ``Run`` whose model is fully discrete (anything else is refused with the
offending module named). The module, community and layout views work on the network's own gate graph
(``STRUCTURAL_PASSES``): the default ``simplify`` may resynthesise a narrow circuit from its truth
tables, which erases the structure these views are about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG, map_lit, transfer
from tritlens.logic.care import CareSet
from tritlens.logic.check import ABC_TIMEOUT, PropertyResult, check_property
from tritlens.logic.circuit import Circuit
from tritlens.logic.communities import Partition, find_communities
from tritlens.logic.dontcare import CareResult, simplify_care
from tritlens.logic.layout import MAX_NODES, layout_graph
from tritlens.logic.modules import find_modules
from tritlens.logic.props import parse_properties
from tritlens.logic.runs import check_seconds, compile_run, require_discrete, simplify_circuit
from tritlens.logic.simplify import STRUCTURAL_PASSES
from tritlens.logic.stats import with_aig
from tritlens.run import Run

MAX_STATES = 1 << 26
LAYOUTS = ("modules", "global")


@dataclass
class CareDomain:
    """The token values each position can carry: counts ``valid[p]`` starting at ``low[p]``."""

    valid: tuple[int, ...]
    low: tuple[int, ...]

    def care_set(self, circuit: Circuit) -> CareSet:
        per_pos = [range(lo, lo + n) for n, lo in zip(self.valid, self.low, strict=True)]
        return CareSet.tokens(circuit, per_pos)


def care_domain(run: Run, circuit: Circuit) -> CareDomain:
    """The inputs the run's task can produce ('valid'): per position (per step when recurrent)."""
    task = run.task
    if getattr(task, "name", None) == "modular":  # tokens (a, b, '='): '=' is token p
        return CareDomain((task.p, task.p, 1), (0, 0, task.p))  # type: ignore[attr-defined]
    sizes = getattr(task, "sizes", None)
    if sizes is None:
        sizes = (circuit.d_vocab,) * circuit.n_ctx
    elif circuit.recurrent:
        sizes = (max(sizes),)
    return CareDomain(tuple(sizes), (0,) * len(sizes))


def care_simplify(run: Run, circuit: Circuit) -> tuple[Circuit, CareResult]:
    """``circuit`` (as compiled) simplified on the task's valid inputs, with the proof on that set."""
    care = care_domain(run, circuit).care_set(circuit)
    result = simplify_care(circuit.aig, care, plain=simplify_circuit(circuit.aig))
    return with_aig(circuit, result.aig), result


def read_property(text: str, source: str = "property") -> object:
    """Parsed properties (TritlensError naming the line when the text does not parse)."""
    try:
        return parse_properties(text)
    except TritlensError as exc:
        raise TritlensError(f"{source}: {exc}") from None


def check_run(run: Run, text: str, source: str = "property", abc: bool = False,
              max_states: int = 1 << 20, seconds: float | None = None, encoding: str = "auto",
              abc_timeout: float = ABC_TIMEOUT) -> tuple[Circuit, PropertyResult]:
    """Check the properties in ``text`` on the run's (simplified) circuit for every input length."""
    if not 1 <= max_states <= MAX_STATES:
        raise TritlensError(f"--max-states must lie in [1, {MAX_STATES:,}], got {max_states}")
    check_seconds(seconds)
    check_seconds(abc_timeout, "--abc-timeout")
    props = read_property(text, source)
    circuit = compile_run(require_discrete(run), encoding)
    result = check_property(circuit, props, model=run.model, abc=abc, max_states=max_states,  # type: ignore[arg-type]
                            seconds=seconds, abc_timeout=abc_timeout)
    return circuit, result


def structural_circuit(run: Run, encoding: str = "auto") -> Circuit:
    """The run's circuit with its own structure kept (``STRUCTURAL_PASSES``), for the graph views."""
    raw = compile_run(require_discrete(run), encoding, simplified=False)
    return with_aig(raw, simplify_circuit(raw.aig, STRUCTURAL_PASSES))


def restrict(aig: AIG, module: int) -> AIG:
    """The part of ``aig`` feeding cone module ``module`` (``find_modules`` order): its outputs and the
    next-state functions of its latches; other latches keep their value (next = itself)."""
    modules = find_modules(aig, max_inputs=0)
    if not 0 <= module < len(modules):
        raise TritlensError(f"--module must lie in [0, {len(modules) - 1}] (the circuit has {len(modules)} "
                            "cone modules; see `tritlens modules RUN`)")
    keep = set(modules[module].outputs)
    g = AIG()
    leaves = {v: g.add_input(n) for v, n in zip(aig.inputs, aig.input_names, strict=True)}
    latches = {x.var: g.add_latch(x.name, x.init) for x in aig.latches}
    lit_of = transfer(g, aig, leaves | latches)
    for x in aig.latches:
        g.set_next(latches[x.var], map_lit(lit_of, x.next) if f"next({x.name})" in keep else latches[x.var])
    for lit, name in zip(aig.outputs, aig.output_names, strict=True):
        if name in keep:
            g.add_output(map_lit(lit_of, lit), name)
    return g


def run_communities(run: Run, resolution: float = 1.0, seed: int = 0) -> tuple[Circuit, Partition]:
    """Leiden communities of the run's structural circuit."""
    check_resolution(resolution)
    circuit = structural_circuit(run)
    return circuit, find_communities(circuit.aig, resolution=resolution, seed=seed)


def check_resolution(resolution: float) -> None:
    if not (math.isfinite(resolution) and 0 < resolution <= 100):
        raise TritlensError(f"--resolution must lie in (0, 100], got {resolution}")


def run_layout(run: Run, method: str = "modules", resolution: float = 1.0, seed: int = 0,
               module: int | None = None, max_nodes: int = MAX_NODES) -> tuple[AIG, dict]:
    """Force-directed layout of the run's structural circuit (or of one cone module of it)."""
    if method not in LAYOUTS:
        raise TritlensError(f"unknown layout {method!r:.30}; choose one of {', '.join(LAYOUTS)}")
    check_resolution(resolution)
    aig = structural_circuit(run).aig
    if module is not None:
        aig = restrict(aig, module)
    nodes = len(aig.cone(aig.roots())) + len(aig.inputs) + len(aig.latches) + len(aig.outputs)
    if nodes > max_nodes:
        raise TritlensError(
            f"the gate graph has {nodes:,} nodes, the view shows at most {max_nodes:,}: lay out one cone "
            "module with --module K (list them with `tritlens modules RUN`), or a sparser run")
    partition = find_communities(aig, resolution=resolution, seed=seed)
    return aig, layout_graph(aig, partition, seed=seed, method=method)


__all__ = ["CareDomain", "LAYOUTS", "MAX_STATES", "care_domain", "care_simplify", "check_run",
           "restrict", "run_communities", "run_layout", "structural_circuit"]
