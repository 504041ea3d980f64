"""``simplify``: run named AIG passes in order (and optionally finish with berkeley-abc).

Kept apart from ``passes`` and ``rewrite`` so that the pass modules never import each other's users:
``rewrite`` builds on ``passes.rebuild``, and this module sits above both.
"""

from __future__ import annotations

from tritlens.errors import TritlensError
from tritlens.logic.abc import abc_optimize
from tritlens.logic.aig import AIG
from tritlens.logic.passes import balance, fraig, rebuild
from tritlens.logic.rewrite import rewrite

PASSES = {"rebuild": rebuild, "balance": balance, "fraig": fraig, "rewrite": rewrite}
DEFAULT_PASSES = "rebuild,fraig,rewrite,balance,rewrite"


def simplify(aig: AIG, passes: str = DEFAULT_PASSES, abc: bool = False) -> AIG:
    """Run the named passes in order (rebuild, balance, fraig, rewrite); optionally finish with abc."""
    names = [p.strip() for p in passes.split(",") if p.strip()]
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise TritlensError(f"unknown pass {unknown[0]!r}; choose from {', '.join(PASSES)}")
    for name in names:
        aig = PASSES[name](aig)
    return abc_optimize(aig) if abc else aig
