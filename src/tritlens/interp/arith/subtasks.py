"""Sub-task tests by activation patching (Quirke et al.): what does one node compute?

Each test takes a *store* question and a *clean* question that differ in one sub-task of one column,
patches the node's activation from the store run into the clean run, decodes the clean answer
greedily, and compares it with a prediction. The tests (n digits, ``r(d)`` = d repeated n times;
``A{k}`` is the answer digit of 10^k; a test named after column k-1 impacts A{k}):

Addition
  ``A{k}.SA`` base add: store r(2)+r(1), clean r(5)+r(4) (and r(2)+r(6) into r(5)+r(1)): A{k}
  becomes the store's digit k.
  ``A{k-1}.SC`` make carry: store r(2)+r(6) with D'{k-1} = 9, clean r(3)+r(5): A{k} grows by 1.
  ``A{k-1}.SS`` use sum 9: store r(2)+r(4) with D{k-1} = 5 (no cascade), clean r(3)+r(5) with
  D{k-1} = 4, D{k-2} = 6 (a carry cascades through column k-1): A{k} falls by 1.
  ``A{k}.ST`` TriCase: store r(2)+r(7) with D'{k} = 9 (sum 11), clean r(3)+r(6) (sum 9): weak only.
Subtraction
  ``A{k}.MD`` difference: store r(3)-r(1), clean r(9)-r(4) (and r(6)-r(2) into r(9)-r(3)).
  ``A{k-1}.MB`` borrow: store r(2)-r(1) with D'{k-1} = 3, clean r(7)-r(4): the answer falls by 10^k.
  ``A{k}.MT`` TriCase: store r(5)-r(0), clean r(2)-(r(2) + 2*10^k) (a negative answer): weak only.
  ``A{k}.GT`` sign: 6*10^k - (2*10^k + 1) and 10^k - (2*10^k + 1) patched both ways: the sign flips.
  ``A{k}.ND`` negative difference: store 0r(3)-r(1), clean 0r(9)-r(4) (and 0r(6)-r(2) into 0r(9)-r(3)).
  ``A{k-1}.NB`` negative borrow: store 0r(2)-r(1) with D'{k-1} = 3, clean 0r(7)-r(4): answer - 10^k.

A **strong** pass: every patched answer is exactly the predicted one (GT: the sign flips both ways).
A **weak** pass: every patched answer differs from the clean answer (GT: one way). A test is skipped
when the unpatched model gets one of its questions wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tritlens.interp.arith.grade import greedy
from tritlens.interp.interventions import patched
from tritlens.interp.nodes import Node
from tritlens.models import Model
from tritlens.tasks.arith import MINUS, PLUS, ArithTask

Pair = tuple[int, int]


@dataclass(frozen=True)
class Case:
    """One patching experiment: store and clean questions and the predicted patched answer."""

    store: Pair
    clean: Pair
    expected: int | None  # None: no exact prediction (weak-only tests)


@dataclass(frozen=True)
class SubTask:
    """A named sub-task test for answer digit ``impact`` (tag ``A{column}.{code}``)."""

    code: str  # SA, SC, SS, ST, MD, MB, MT, GT, ND, NB
    op: str  # add | sub
    column: int  # the column the tag names
    impact: int  # the answer digit the patch should change
    cases: tuple[Case, ...]
    sign_flip: bool = False  # GT: judged by the sign only

    @property
    def tag(self) -> str:
        return f"A{self.column}.{self.code}"


def _rep(n: int, d: int) -> int:
    return int(str(d) * n)


def _set(value: int, k: int, digit: int) -> int:
    """``value`` with its digit of 10^k set to ``digit``."""
    return value + (digit - (value // 10**k) % 10) * 10**k


def _swap_digit(clean: int, store: int, k: int) -> int:
    """The clean answer with the magnitude digit of 10^k taken from the store answer (sign kept)."""
    mag = _set(abs(clean), k, (abs(store) // 10**k) % 10)
    return -mag if clean < 0 else mag


def _value(store: Pair, clean: Pair, op: str, k: int) -> Case:
    f = (lambda p: p[0] + p[1]) if op == "add" else (lambda p: p[0] - p[1])
    return Case(store, clean, _swap_digit(f(clean), f(store), k))


def addition_tests(n: int) -> list[SubTask]:
    r = lambda d: _rep(n, d)  # noqa: E731
    tests = []
    for k in range(n):
        tests.append(SubTask("SA", "add", k, k, (_value((r(2), r(1)), (r(5), r(4)), "add", k),
                                                  _value((r(2), r(6)), (r(5), r(1)), "add", k))))
        tests.append(SubTask("ST", "add", k, k, (Case((r(2), _set(r(7), k, 9)), (r(3), r(6)), None),)))
    for k in range(1, n + 1):
        clean = (r(3), r(5))
        tests.append(SubTask("SC", "add", k - 1, k, (Case((r(2), _set(r(6), k - 1, 9)), clean,
                                                          sum(clean) + 10**k),)))
    for k in range(2, n + 1):
        store = (_set(r(2), k - 1, 5), r(4))
        clean = (_set(_set(r(3), k - 1, 4), k - 2, 6), r(5))
        tests.append(SubTask("SS", "add", k - 1, k, (Case(store, clean, sum(clean) - 10**k),)))
    return tests


def subtraction_tests(n: int) -> list[SubTask]:
    r = lambda d: _rep(n, d)  # noqa: E731
    low = lambda d: _rep(n, d) // 10  # noqa: E731  # leading digit 0: the answer is negative
    tests = []
    for k in range(n):
        tests.append(SubTask("MD", "sub", k, k, (_value((r(3), r(1)), (r(9), r(4)), "sub", k),
                                                  _value((r(6), r(2)), (r(9), r(3)), "sub", k))))
        tests.append(SubTask("ND", "sub", k, k, (_value((low(3), r(1)), (low(9), r(4)), "sub", k),
                                                  _value((low(6), r(2)), (low(9), r(3)), "sub", k))))
        tests.append(SubTask("MT", "sub", k, k, (Case((r(5), r(0)), (r(2), r(2) + 2 * 10**k), None),)))
        positive, negative = (6 * 10**k, 2 * 10**k + 1), (10**k, 2 * 10**k + 1)
        both_ways = (Case(positive, negative, None), Case(negative, positive, None))
        tests.append(SubTask("GT", "sub", k, n + 1, both_ways, sign_flip=True))
    for k in range(1, n):
        clean = (r(7), r(4))
        tests.append(SubTask("MB", "sub", k - 1, k, (Case((r(2), _set(r(1), k - 1, 3)), clean,
                                                          clean[0] - clean[1] - 10**k),)))
        clean = (low(7), r(4))
        tests.append(SubTask("NB", "sub", k - 1, k, (Case((low(2), _set(r(1), k - 1, 3)), clean,
                                                          clean[0] - clean[1] - 10**k),)))
    return tests


def tests_for(task: ArithTask) -> list[SubTask]:
    """Every sub-task test that applies to the task's operations."""
    out = []
    if "add" in task.ops:
        out += addition_tests(task.digits)
    if "sub" in task.ops:
        out += subtraction_tests(task.digits)
    return out


def answer_row(task: ArithTask, value: int) -> list[int]:
    """The answer tokens (sign, then digits in the layout's order) of ``value``."""
    layout = task.layout
    digits = [(abs(value) // 10**i) % 10 for i in range(layout.answer_digits)]
    order = digits if layout.lsb_first else digits[::-1]
    return [MINUS if value < 0 else PLUS, *order]


@dataclass
class Prepared:
    """The questions of every test, stacked, and which tests the unpatched model answers correctly."""

    tests: list[SubTask]
    store: Tensor
    clean: Tensor
    expected: list[list[int] | None]
    clean_answer: Tensor
    rows: list[list[int]]  # test index -> rows of its cases
    valid: list[bool]


def prepare(model: Model, task: ArithTask, tests: list[SubTask]) -> Prepared:
    store_rows, clean_rows, expected, rows = [], [], [], []
    for test in tests:
        rows.append(list(range(len(clean_rows), len(clean_rows) + len(test.cases))))
        for case in test.cases:
            store_rows.append(task.from_ints([case.store], test.op).tokens[0])
            clean_rows.append(task.from_ints([case.clean], test.op).tokens[0])
            expected.append(answer_row(task, case.expected) if case.expected is not None else None)
    store, clean = torch.stack(store_rows), torch.stack(clean_rows)
    sign = task.layout.sign_pos
    ok_store = (greedy(model, task, store) == store[:, sign:]).all(-1)
    ok_clean = (greedy(model, task, clean) == clean[:, sign:]).all(-1)
    valid = [bool(ok_store[r].all() and ok_clean[r].all()) for r in rows]
    return Prepared(tests, store, clean, expected, clean[:, sign:], rows, valid)


def run_tests(model: Model, task: ArithTask, node: Node, prepared: Prepared) -> dict[str, str]:
    """{tag: "strong" | "weak"} of the tests ``node`` passes (one patched greedy decode of every case)."""
    with patched(model, node.site(), prepared.store):
        got = greedy(model, task, prepared.clean)
    changed = (got != prepared.clean_answer).any(-1)
    out: dict[str, str] = {}
    for test, rows, valid in zip(prepared.tests, prepared.rows, prepared.valid, strict=True):
        if not valid:
            continue
        if test.sign_flip:
            flips = [bool(got[r, 0] != prepared.clean_answer[r, 0]) for r in rows]
            verdict = "strong" if all(flips) else "weak" if any(flips) else ""
        else:
            exact = all(prepared.expected[r] is not None and got[r].tolist() == prepared.expected[r]
                        for r in rows)
            verdict = "strong" if exact else "weak" if all(bool(changed[r]) for r in rows) else ""
        if verdict:
            out[test.tag] = verdict
    return out


def prerequisite(test: SubTask) -> str:
    """The filter (``tritlens.interp.filters`` syntax) a node must meet to carry ``test``'s tag."""
    k, c = test.impact, test.column
    attends = lambda col: f"attends:D{col} and attends:D'{col}"  # noqa: E731
    if test.code in ("SA", "MD", "ND"):
        return f"head and impact:A{k} and {attends(c)}"
    if test.code in ("SC", "MB", "NB"):
        return f"head and impact:A{k} and {attends(c)}"
    if test.code == "SS":
        return f"head and impact:A{k} and {attends(c - 1)}"
    if test.code in ("ST", "MT"):
        return f"head and position <= EQ and {attends(c)}"
    return f"head and {attends(c)}"  # GT
