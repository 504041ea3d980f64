"""Don't-care-aware simplification: smaller circuits that agree with the original on valid inputs.

Two transformations may change a circuit's answers on inputs outside the care set, never inside:
``care_fraig`` merges nodes that agree on every care input (exactly, by simulating all of them, or
by SAT under the care predicate), and ``collapse`` with a care mask resynthesises small circuits from
their truth tables, choosing the cheapest values on don't-care inputs. Every result of
``simplify_care`` is proved equal to the original on the whole care set before it is returned; a
proof that fails or runs out of budget returns the care-free result instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tritlens.logic.aig import AIG
from tritlens.logic.care import ENUM_LIMIT, CareSet, full_mask, prove_care_equivalent
from tritlens.logic.collapse import COLLAPSE_LIMIT, collapse
from tritlens.logic.passes import balance, merge_equivalent, rebuild
from tritlens.logic.prove import ProofResult
from tritlens.logic.rewrite import rewrite
from tritlens.logic.sim import Simulator, pack


def care_fraig(aig: AIG, care: CareSet, conflicts: int = 1000, seed: int = 0) -> AIG:
    """Merge nodes equal (up to complement) on every care input; latch values are free."""
    aig = rebuild(aig)
    care.check(aig)
    pats = care.patterns(seed=seed)
    exact = care.n_inputs <= min(ENUM_LIMIT, 20) and not aig.latches
    if aig.latches:
        rng = np.random.default_rng(seed)
        states = rng.integers(0, 2, size=(len(pats), len(aig.latches))).astype(bool)
        vals = Simulator(aig).values(pack(pats), pack(states))
    else:
        vals = Simulator(aig).values(pack(pats))
    return merge_equivalent(aig, vals, exact, conflicts, care.predicate, len(pats))


def _structural(aig: AIG) -> AIG:
    return rewrite(balance(rewrite(aig)))


@dataclass
class CareResult:
    """The simplified circuit, the proof that it matches on the care set, and what was tried."""

    aig: AIG
    proof: ProofResult
    used_care: bool  # False when the care-free result was as small or the proof did not succeed
    tried: dict[str, int]


def simplify_care(aig: AIG, care: CareSet, plain: AIG | None = None) -> CareResult:
    """Smallest of: care-free ``plain`` result, care-fraig + rewriting, and (for at most
    ``COLLAPSE_LIMIT`` input and latch bits) resynthesis on the care mask; proved on the care set."""
    care.check(aig)
    if plain is None:
        from tritlens.logic.simplify import simplify

        plain = simplify(aig)
    tried = {"without care": plain.num_ands}
    best = _structural(care_fraig(plain, care))
    tried["care fraig + rewrite"] = best.num_ands
    if len(aig.inputs) + len(aig.latches) <= COLLAPSE_LIMIT:
        mask = full_mask(aig, care)
        collapsed = care_fraig(_structural(collapse(plain, care=mask)), care)
        tried["care collapse + rewrite"] = collapsed.num_ands
        if collapsed.num_ands < best.num_ands:
            best = collapsed
    if best.num_ands >= plain.num_ands:
        return CareResult(plain, prove_care_equivalent(aig, plain, care), False, tried)
    proof = prove_care_equivalent(aig, best, care)
    if not proof.proved:
        return CareResult(plain, prove_care_equivalent(aig, plain, care), False, tried)
    return CareResult(best, proof, True, tried)


__all__ = ["CareResult", "care_fraig", "simplify_care"]
