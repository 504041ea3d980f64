"""A small property language for circuits that read tokens, and its reference semantics.

A property file holds ``let`` definitions and ``always`` invariants, one per line (``#`` starts a
comment); docs/properties.md is the user's guide. Example for a recurrent circuit::

    let carry_in = prev(in == 3, false)       # both digits were 1 at the previous step
    always (in == 3 and carry_in) -> out == 1
    always count(in == 0, 7) < 7 or out == 0

Values are booleans or small unsigned integers. Signals: ``in`` and ``out`` (this step's token and
answer of a recurrent circuit), ``in[p]`` / ``out[k]`` (token at position p / k-th answer of a
combinational one). Functions: ``bit(x, k)``; and, needing state (recurrent circuits only),
``prev(e[, init])``, ``ever(b)``, ``count(b, max)`` (steps so far where b held, saturating at max)
and ``counter(up, down, max)`` (+1 on up, -1 on down, clamped to 0..max). Each step's values
include that step.

``parse_properties`` returns a ``PropertySet`` of expression trees (nested tuples); ``evaluate``
runs them on a token sequence and its answers in plain Python, the reference that compiled monitors
and counterexamples are checked against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tritlens.errors import TritlensError

STATEFUL = ("prev", "ever", "count", "counter")
FUNCTIONS = {"bit": (2, 2), "prev": (1, 2), "ever": (1, 1), "count": (2, 2), "counter": (3, 3)}
COMPARE = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_]\w*)|(->|==|!=|<=|>=|[<>+/%()\[\],=]))")
MAX_DIVISOR = 1 << 16
KEYWORDS = ("and", "or", "not", "true", "false", "let", "always")

Expr = tuple


@dataclass
class PropertySet:
    """Parsed properties: named definitions and the invariants (with their source text)."""

    lets: dict[str, Expr] = field(default_factory=dict)
    invariants: list[tuple[str, Expr]] = field(default_factory=list)

    @property
    def stateful(self) -> bool:
        return any(_uses_state(e) for _, e in self.invariants)


def _uses_state(e: Expr) -> bool:
    return e[0] == "call" and e[1] in STATEFUL or any(_uses_state(x) for x in e[1:] if isinstance(x, tuple))


class _Parser:
    """Precedence climbing over one line: -> (right), or, and, not, comparison, +, atoms."""

    def __init__(self, text: str, line: int, lets: dict[str, Expr]) -> None:
        self.toks, self.pos, self.line, self.lets = self._lex(text, line), 0, line, lets

    def _lex(self, text: str, line: int) -> list[str]:
        toks, i = [], 0
        text = text.rstrip()
        while i < len(text):
            m = _TOKEN.match(text, i)
            if m is None or m.end() == i:
                raise TritlensError(f"property line {line}: cannot read {text[i:].strip()[:20]!r}")
            toks.append(m.group(m.lastindex))
            i = m.end()
        return toks

    def fail(self, what: str) -> TritlensError:
        got = self.toks[self.pos] if self.pos < len(self.toks) else "end of line"
        return TritlensError(f"property line {self.line}: expected {what}, got {got!r}")

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, tok: str | None = None) -> str:
        if self.peek() is None or (tok is not None and self.peek() != tok):
            raise self.fail(repr(tok) if tok else "more input")
        self.pos += 1
        return self.toks[self.pos - 1]

    def done(self) -> None:
        if self.peek() is not None:
            raise self.fail("end of line")

    def expr(self) -> Expr:
        left = self.disj()
        if self.peek() == "->":
            self.take()
            return ("or", ("not", left), self.expr())
        return left

    def disj(self) -> Expr:
        e = self.conj()
        while self.peek() == "or":
            self.take()
            e = ("or", e, self.conj())
        return e

    def conj(self) -> Expr:
        e = self.neg()
        while self.peek() == "and":
            self.take()
            e = ("and", e, self.neg())
        return e

    def neg(self) -> Expr:
        if self.peek() == "not":
            self.take()
            return ("not", self.neg())
        left = self.sum()
        if self.peek() in COMPARE:
            return ("cmp", self.take(), left, self.sum())
        return left

    def sum(self) -> Expr:
        e = self.term()
        while self.peek() == "+":
            self.take()
            e = ("add", e, self.term())
        return e

    def term(self) -> Expr:
        """``x / k`` and ``x % k`` (integer quotient and remainder) by a constant k >= 1."""
        e = self.atom()
        while self.peek() in ("/", "%"):
            op = "div" if self.take() == "/" else "mod"
            k = self.atom()
            if k[0] != "int" or not 1 <= k[1] <= MAX_DIVISOR:
                raise TritlensError(f"property line {self.line}: '/' and '%' need a number in "
                                    f"1..{MAX_DIVISOR} on the right")
            e = (op, e, k[1])
        return e

    def atom(self) -> Expr:
        if self.peek() is None:
            raise self.fail("a value")
        tok = self.take()
        if tok.isdigit():
            return ("int", int(tok))
        if tok == "(":
            e = self.expr()
            self.take(")")
            return e
        if tok in ("true", "false"):
            return ("bool", tok == "true")
        if not re.fullmatch(r"[A-Za-z_]\w*", tok) or tok in KEYWORDS:
            self.pos -= 1
            raise self.fail("a value")
        if tok in ("in", "out"):
            if self.peek() == "[":
                self.take()
                index = self.take()
                if not index.isdigit():
                    raise TritlensError(f"property line {self.line}: {tok}[...] needs a number")
                self.take("]")
                return ("sig", tok, int(index))
            return ("sig", tok, None)
        if tok in FUNCTIONS:
            return self.call(tok)
        if tok in self.lets:
            return self.lets[tok]
        raise TritlensError(f"property line {self.line}: unknown signal {tok!r} (signals: in, out, lets)")

    def call(self, name: str) -> Expr:
        self.take("(")
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.take(")")
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise TritlensError(f"property line {self.line}: {name}() takes {low}..{high} arguments")
        for k in {"bit": [1], "count": [1], "counter": [2]}.get(name, []):
            if args[k][0] != "int":
                raise TritlensError(
                    f"property line {self.line}: argument {k + 1} of {name}() must be a number"
                )
        return ("call", name, *args)


def parse_properties(text: str) -> PropertySet:
    """Parse a property file; raises TritlensError (one line, with the line number) on bad input."""
    props = PropertySet()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if head == "let":
            name, eq, body = rest.partition("=")
            name = name.strip()
            if not eq or not re.fullmatch(r"[A-Za-z_]\w*", name) or name in KEYWORDS + ("in", "out"):
                raise TritlensError(f"property line {number}: expected 'let NAME = EXPRESSION'")
            if name in FUNCTIONS or name in props.lets:
                raise TritlensError(f"property line {number}: {name!r} is already defined")
            parser = _Parser(body, number, props.lets)
            props.lets[name] = parser.expr()
            parser.done()
        elif head == "always":
            parser = _Parser(rest, number, props.lets)
            props.invariants.append((rest.strip(), parser.expr()))
            parser.done()
        else:
            raise TritlensError(f"property line {number}: a line starts with 'let' or 'always', got {head!r}")
    if not props.invariants:
        raise TritlensError("property file has no 'always' line")
    return props


# -- reference semantics on one trace ------------------------------------------------------------


class _Trace:
    """Evaluates expressions step by step; stateful calls keep their state keyed by node."""

    def __init__(self) -> None:
        self.state: dict[int, object] = {}
        self.next_state: dict[int, object] = {}

    def value(self, e: Expr, ins: list[int], outs: list[int]) -> int | bool:
        op = e[0]
        if op in ("int", "bool"):
            return e[1]
        if op == "sig":
            seq = ins if e[1] == "in" else outs
            return seq[e[2] or 0]
        if op == "not":
            return not self.value(e[1], ins, outs)
        if op in ("and", "or"):
            a, b = bool(self.value(e[1], ins, outs)), bool(self.value(e[2], ins, outs))
            return a and b if op == "and" else a or b
        if op == "add":
            return int(self.value(e[1], ins, outs)) + int(self.value(e[2], ins, outs))
        if op in ("div", "mod"):
            x = int(self.value(e[1], ins, outs))
            return x // e[2] if op == "div" else x % e[2]
        if op == "cmp":
            a, b = int(self.value(e[2], ins, outs)), int(self.value(e[3], ins, outs))
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e[1]]
        return self.call(e, ins, outs)

    def call(self, e: Expr, ins: list[int], outs: list[int]) -> int | bool:
        name, args, key = e[1], e[2:], id(e)
        if name == "bit":
            return bool(int(self.value(args[0], ins, outs)) >> args[1][1] & 1)
        now = self.value(args[0], ins, outs)
        if name == "prev":
            init = self.value(args[1], ins, outs) if len(args) > 1 else 0
            self.next_state[key] = now
            return self.state.get(key, init)
        if name == "ever":
            val = bool(self.state.get(key, False)) or bool(now)
        elif name == "count":
            val = min(args[1][1], int(self.state.get(key, 0)) + bool(now))
        else:  # counter
            down = bool(self.value(args[1], ins, outs))
            val = min(args[2][1], max(0, int(self.state.get(key, 0)) + bool(now) - down))
        self.next_state[key] = val
        return val

    def advance(self) -> None:
        self.state.update(self.next_state)
        self.next_state = {}


def evaluate(props: PropertySet, tokens: list, answers: list) -> list[list[bool]]:
    """Truth of every invariant at every step: ``[step][invariant]``.

    Recurrent: ``tokens`` and ``answers`` are per-step integers. Combinational: one step whose
    token is the token tuple and whose answer is the tuple of answers (``[tokens]``, ``[answers]``).
    """
    trace, out = _Trace(), []
    for tok, ans in zip(tokens, answers, strict=True):
        ins = list(tok) if isinstance(tok, list | tuple) else [tok]
        outs = list(ans) if isinstance(ans, list | tuple) else [ans]
        out.append([bool(trace.value(e, ins, outs)) for _, e in props.invariants])
        trace.advance()
    return out


__all__ = ["PropertySet", "evaluate", "parse_properties"]
