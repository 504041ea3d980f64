"""Small views of a circuit: gate statistics, and the same token interface around another AIG."""

from __future__ import annotations

from tritlens.logic.aig import AIG
from tritlens.logic.circuit import Circuit


def circuit_stats(aig: AIG) -> dict[str, int]:
    """Gate statistics: ANDs in the live cone, inputs, latches, outputs and depth (AND levels)."""
    return {
        "ands": len(aig.cone(aig.roots())),
        "inputs": len(aig.inputs),
        "latches": len(aig.latches),
        "outputs": len(aig.outputs),
        "depth": aig.depth(),
    }


def with_aig(circuit: Circuit, aig: AIG) -> Circuit:
    """The same token interface around a different (e.g. simplified) AIG."""
    return Circuit(aig, circuit.d_vocab, circuit.d_vocab_out, circuit.n_ctx, circuit.positions,
                   circuit.recurrent, circuit.name, circuit.method)
