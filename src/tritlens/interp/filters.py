"""Filters over tagged nodes, written as short text, and hypotheses made of them.

A tagged node (:class:`Tagged`) is a useful node with what the circuit search found about it: its
fail share, the answer tokens it impacts, the positions it attends to, its algorithm tags and the
labels (e.g. complexity classes) of the questions it breaks. A filter selects nodes::

    head and layer = 0 and attends:D3 and attends:D'3
    algo:A4.SA and position < A4
    mlp or (head = 2 and not impact:A0)
    strong:*.SC and fail >= 1

Atoms (keywords are case-insensitive; names and patterns are matched as written, ``*`` and ``?``
are wildcards):

* ``head``, ``mlp`` — the node is an attention head / an MLP; ``head OP N`` compares the head number;
* ``layer OP N``, ``position OP P`` (also ``pos``) with P a position name (``D3``, ``A4``, ``OP``) or
  ``P12`` or a number; ``fail OP X`` compares the fail percentage;
* ``impact:NAME`` — ablating the node changes answer token NAME; ``attends:NAME`` — the head gives
  position NAME at least 1% of its attention;
* ``algo:TAG`` — the node passed the sub-task test TAG (strongly or weakly); ``strong:TAG`` — strongly;
* ``class:NAME`` — the node's ablation breaks questions of class NAME; ``pca`` / ``pca:NAME`` — the
  node's output separates the TriCase groups (of column NAME).

OP is one of ``< <= > >= = == !=``; ``and``, ``or``, ``not`` and parentheses combine atoms.

A hypothesis is one clause per line (``#`` starts a comment): an optional quantifier ``some``
(the default: at least one node matches), ``no`` (none does) or ``all`` (every node does), then a
filter. :func:`check_hypothesis` scores it as "X of Y clauses hold".
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tritlens.errors import TritlensError
from tritlens.interp.nodes import Node

Predicate = Callable[["Tagged"], bool]
_TOKEN = re.compile(r"\s*(\(|\)|<=|>=|!=|==|<|>|=|[A-Za-z_][\w']*(?::[\w'.*?\[\]-]+)?|-?\d+(?:\.\d+)?)")
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
    "==": operator.eq, "!=": operator.ne}
QUANTIFIERS = ("some", "no", "all")


class FilterError(TritlensError):
    """A filter or hypothesis clause that does not parse."""


@dataclass
class Tagged:
    """A useful node and its tags (the records filters run over)."""

    node: Node
    fail: float = 0.0  # percent of questions failing when the node is ablated
    impact: list[str] = field(default_factory=list)  # answer-token names
    attention: dict[str, float] = field(default_factory=dict)  # source position name -> share
    algo: dict[str, str] = field(default_factory=dict)  # sub-task tag -> "strong" | "weak"
    classes: list[str] = field(default_factory=list)
    pca: list[str] = field(default_factory=list)  # names of the TriCase sets the output separates


def _match(pattern: str, names: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)


class _Parser:
    """Recursive descent over the tokens of one filter (``expr := term {or term}``, ...)."""

    def __init__(self, text: str, position_of: Callable[[str], int | None]) -> None:
        self.text, self.position_of = text, position_of
        self.tokens: list[str] = []
        rest = text
        while rest.strip():
            found = _TOKEN.match(rest)
            if found is None:
                raise FilterError(f"cannot read {rest.strip()[:30]!r} in filter {text!r:.80}")
            self.tokens.append(found.group(1))
            rest = rest[found.end():]
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FilterError(f"filter {self.text!r:.80} ends too early")
        self.i += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise FilterError("empty filter")
        pred = self.expr()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()!r:.30} in filter {self.text!r:.80}")
        return pred

    def expr(self) -> Predicate:
        parts = [self.term()]
        while (self.peek() or "").lower() == "or":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda t, ps=tuple(parts): any(p(t) for p in ps))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while (self.peek() or "").lower() == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda t, ps=tuple(parts): all(p(t) for p in ps))

    def factor(self) -> Predicate:
        token = self.take()
        if token.lower() == "not":
            inner = self.factor()
            return lambda t: not inner(t)
        if token == "(":
            inner = self.expr()
            if self.take() != ")":
                raise FilterError(f"missing ')' in filter {self.text!r:.80}")
            return inner
        return self.atom(token)

    def _compare(self, key: str) -> tuple[Callable[[Any, Any], bool], str]:
        op = self.take()
        if op not in _CMP:
            raise FilterError(f"{key} needs a comparison (< <= > >= = !=), got {op!r:.20}")
        return _CMP[op], self.take()

    def _number(self, key: str, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise FilterError(f"{key} needs a number, got {text!r:.20}") from None

    def _position(self, text: str) -> int:
        found = self.position_of(text)
        if found is None and re.fullmatch(r"[Pp]?\d+", text):
            found = int(text.lstrip("Pp"))
        if found is None:
            raise FilterError(f"unknown position {text!r:.20} in filter {self.text!r:.80}")
        return found

    def atom(self, token: str) -> Predicate:
        key, colon, arg = token.partition(":")
        low = key.lower()
        if colon:
            return self._tag(low, arg)
        compares = self.peek() in _CMP
        if low == "head" and not compares:
            return lambda t: t.node.is_head
        if low == "mlp":
            return lambda t: not t.node.is_head
        if low == "pca":
            return lambda t: bool(t.pca)
        if low in ("head", "layer", "fail"):
            cmp, value = self._compare(low)
            number = self._number(low, value)
            if low == "head":
                return lambda t: t.node.head is not None and cmp(t.node.head, number)
            if low == "layer":
                return lambda t: cmp(t.node.layer, number)
            return lambda t: cmp(t.fail, number)
        if low in ("position", "pos"):
            cmp, value = self._compare(low)
            where = self._position(value)
            return lambda t: cmp(t.node.position, where)
        raise FilterError(f"unknown filter word {token!r:.30}; see the filter syntax in docs/arithmetic.md")

    def _tag(self, key: str, arg: str) -> Predicate:
        if not arg:
            raise FilterError(f"{key}: needs a name after the colon")
        if key == "impact":
            return lambda t: _match(arg, t.impact)
        if key in ("attends", "attention"):
            return lambda t: _match(arg, list(t.attention))
        if key == "algo":
            return lambda t: _match(arg, list(t.algo))
        if key == "strong":
            return lambda t: _match(arg, [k for k, v in t.algo.items() if v == "strong"])
        if key == "class":
            return lambda t: _match(arg, t.classes)
        if key == "pca":
            return lambda t: _match(arg, t.pca)
        raise FilterError(f"unknown tag kind {key!r:.20}: use impact:, attends:, algo:, strong:, class: "
                          "or pca:")


def parse_filter(text: str, position_of: Callable[[str], int | None] = lambda _: None) -> Predicate:
    """A predicate over :class:`Tagged` nodes; a filter that does not parse is a :class:`FilterError`."""
    return _Parser(text, position_of).parse()


def select(nodes: Sequence[Tagged], text: str, position_of: Callable[[str], int | None] = lambda _: None,
           ) -> list[Tagged]:
    """The nodes a filter selects."""
    pred = parse_filter(text, position_of)
    return [t for t in nodes if pred(t)]


@dataclass
class Clause:
    text: str
    quantifier: str
    predicate: Predicate


def parse_hypothesis(text: str, position_of: Callable[[str], int | None] = lambda _: None) -> list[Clause]:
    """Clauses, one per non-empty line (``#`` comments); every line must parse."""
    clauses = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first, _, rest = line.partition(" ")
        quantifier = first.lower() if first.lower() in QUANTIFIERS else "some"
        body = rest if first.lower() in QUANTIFIERS else line
        try:
            clauses.append(Clause(line, quantifier, parse_filter(body, position_of)))
        except FilterError as exc:
            raise FilterError(f"hypothesis line {number}: {exc}") from None
    if not clauses:
        raise FilterError("the hypothesis has no clauses")
    return clauses


def check_hypothesis(nodes: Sequence[Tagged], clauses: Sequence[Clause]) -> dict[str, Any]:
    """Which clauses hold over ``nodes``, "X of Y", and the share of nodes with an algorithm tag."""
    results = []
    for clause in clauses:
        matches = [t.node.key() for t in nodes if clause.predicate(t)]
        holds = {"some": bool(matches), "no": not matches,
                 "all": len(matches) == len(nodes)}[clause.quantifier]
        results.append({"clause": clause.text, "holds": holds, "matches": matches})
    held = sum(r["holds"] for r in results)
    with_purpose = sum(1 for t in nodes if t.algo)
    return {"held": held, "total": len(results), "score": f"{held} of {len(results)} clauses hold",
            "clauses": results, "nodes": len(nodes), "with_purpose": with_purpose,
            "purpose_share": with_purpose / len(nodes) if nodes else 0.0}
