"""The algorithms Quirke et al. describe, written as hypothesis clauses over tagged nodes.

Addition (n digits): for every answer digit A{k} the model has a base-add node (``A{k}.SA``), a
make-carry node for the column below (``A{k-1}.SC``) and, from A2 up, a use-sum-9 node
(``A{k-1}.SS``), each before the position of the token A{k} (so its result can reach A{k}'s
prediction). Subtraction: a difference node per digit (``MD`` for answers >= 0, ``ND`` for negative
ones), a borrow node per digit from A1 up (``MB``, ``NB``), and a sign node (``GT``).

The clause syntax is the filter syntax of :mod:`tritlens.interp.filters`; print the text with
``tritlens circuit RUN --print-hypothesis`` and edit it to test another algorithm.
"""

from __future__ import annotations

from tritlens.tasks.arith import ArithTask


def addition_hypothesis(n: int) -> list[str]:
    lines = [f"# Quirke et al. addition, {n} digits: per answer digit SA, SC and (from A2) SS nodes"]
    for k in range(n + 1):
        if k < n:
            lines.append(f"some algo:A{k}.SA and position < A{k}")
        if k >= 1:
            lines.append(f"some algo:A{k - 1}.SC and position < A{k}")
        if k >= 2:
            lines.append(f"some algo:A{k - 1}.SS and position < A{k}")
    return lines


def subtraction_hypothesis(n: int) -> list[str]:
    lines = [f"# Quirke et al. subtraction, {n} digits: MD/ND per digit, MB/NB from A1, a GT sign node"]
    for k in range(n):
        lines.append(f"some algo:A{k}.MD and position < A{k}")
        lines.append(f"some algo:A{k}.ND and position < A{k}")
        if k >= 1:
            lines.append(f"some algo:A{k - 1}.MB and position < A{k}")
            lines.append(f"some algo:A{k - 1}.NB and position < A{k}")
    lines.append(f"some algo:*.GT and position < A{n + 1}")
    return lines


def default_hypothesis(task: ArithTask) -> str:
    """The paper's algorithm for the task's operations as clause text ('' for multiplication)."""
    lines: list[str] = []
    if "add" in task.ops:
        lines += addition_hypothesis(task.digits)
    if "sub" in task.ops:
        lines += subtraction_hypothesis(task.digits)
    return "\n".join(lines) + ("\n" if lines else "")
