"""``simplify``: run named AIG passes in order (and optionally finish with berkeley-abc).

Kept apart from ``passes`` and ``rewrite`` so that the pass modules never import each other's users:
``rewrite`` builds on ``passes.rebuild``, and this module sits above both.

Passes: ``rebuild`` (strash, constants, dead nodes), ``fraig`` (SAT sweeping), ``rewrite`` (4-cut
rewriting), ``balance`` (depth), and ``collapse``: for circuits that read at most
``DEFAULT_COLLAPSE_BITS`` bits (inputs plus latches), resynthesis from truth tables, kept only when
smaller. ``collapse``
forgets the network's structure (neurons, adder trees); use ``STRUCTURAL_PASSES`` when the gate
graph itself is the object of study (modules, layout).
"""

from __future__ import annotations

from tritlens.errors import TritlensError
from tritlens.logic.abc import abc_optimize
from tritlens.logic.aig import AIG
from tritlens.logic.collapse import COLLAPSE_LIMIT, collapse
from tritlens.logic.passes import balance, fraig, rebuild
from tritlens.logic.rewrite import rewrite

DEFAULT_COLLAPSE_BITS = 10  # the default pipeline collapses only circuits this narrow (time grows ~4x a bit)


def collapse_if_smaller(aig: AIG, max_bits: int = DEFAULT_COLLAPSE_BITS) -> AIG:
    """``collapse`` when the circuit reads at most ``max_bits`` bits (inputs plus latches, and never
    more than ``COLLAPSE_LIMIT``) and the result is smaller; else ``aig`` unchanged."""
    if len(aig.inputs) + len(aig.latches) > min(max_bits, COLLAPSE_LIMIT):
        return aig
    small = collapse(aig)
    return small if small.num_ands < len(aig.cone(aig.roots())) else aig


PASSES = {
    "rebuild": rebuild,
    "balance": balance,
    "fraig": fraig,
    "rewrite": rewrite,
    "collapse": collapse_if_smaller,
}
DEFAULT_PASSES = "rebuild,fraig,collapse,rewrite,balance,rewrite"
STRUCTURAL_PASSES = "rebuild,fraig,rewrite,balance,rewrite"


def simplify(aig: AIG, passes: str = DEFAULT_PASSES, abc: bool = False, care=None) -> AIG:
    """Run the named passes in order; optionally finish with abc.

    ``care`` (a ``tritlens.logic.care.CareSet``) lets the result differ on inputs that never occur;
    the result is proved equal to ``aig`` on every care input (see ``dontcare.simplify_care``).
    """
    names = [p.strip() for p in passes.split(",") if p.strip()]
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise TritlensError(f"unknown pass {unknown[0]!r}; choose from {', '.join(PASSES)}")
    out = aig
    for name in names:
        out = PASSES[name](out)
    out = abc_optimize(out) if abc else out
    if care is not None:
        from tritlens.logic.dontcare import simplify_care

        out = simplify_care(aig, care, plain=out).aig
    return out
