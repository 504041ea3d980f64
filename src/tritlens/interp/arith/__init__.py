"""Arithmetic circuits (Quirke et al. 2024): grading, the circuit search, sub-task tests, hypotheses.

The generic tools (ablation and patching, useful nodes, attention and PCA tags, filters) live in
``tritlens.interp``; this package adds the arithmetic vocabulary on top.
"""

from tritlens.interp.arith.grade import grade_run, nines, require_arith
from tritlens.interp.arith.hypothesis import default_hypothesis
from tritlens.interp.arith.search import circuit_search, tagged_from_records

__all__ = ["grade_run", "nines", "require_arith", "default_hypothesis", "circuit_search",
           "tagged_from_records"]
