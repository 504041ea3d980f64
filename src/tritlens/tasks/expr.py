"""Exact evaluation of a task's arithmetic expression in a and b (and p) over the whole p x p grid.

Expressions are parsed and checked against a small grammar (integers, a, b, p, + - * ** % // and
unary signs), never run as Python code. They are evaluated exactly, never in wrapping int64:

* ring mode (only + - * and ** with non-negative exponents): every value is reduced mod p after each
  operation, which is exact because reduction mod p commutes with these operations;
* exact mode (anything with % or //): Python integers, with every power's size bounded first.

Runtime errors (division by zero, negative or oversized exponents) are a ConfigError naming the pair.
"""

from __future__ import annotations

import ast

import numpy as np

from tritlens.errors import ConfigError

MAX_CONSTANT = 10**18
MAX_BITS = 1 << 16  # largest intermediate value allowed in exact mode, in bits
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Pow, ast.Mod, ast.FloorDiv)
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load, ast.USub, ast.UAdd,
            *_OPS)


def parse(expr: str) -> ast.Expression:
    """The checked syntax tree of ``expr`` (a ConfigError says what is not allowed)."""
    if len(expr) > 500:
        raise ConfigError(f"task.op is {len(expr)} characters long; at most 500 are allowed")
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ConfigError(f"task.op {expr!r:.80} is not a valid expression") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConfigError(f"task.op {expr!r:.80} may use only a, b, p, integers and + - * ** % //; "
                              f"found {type(node).__name__}")
        if isinstance(node, ast.Name) and node.id not in ("a", "b", "p"):
            raise ConfigError(f"task.op {expr!r:.80} uses unknown name {node.id!r:.20}; use a, b and p")
        if isinstance(node, ast.Constant) and (type(node.value) is not int or abs(node.value) > MAX_CONSTANT):
            raise ConfigError(f"task.op {expr!r:.80} may only use integer constants up to 10^18")
    if not any(isinstance(n, ast.Name) and n.id in ("a", "b") for n in ast.walk(tree)):
        raise ConfigError(f"task.op {expr!r:.80} must depend on a or b")
    return tree


def _ring_only(tree: ast.Expression) -> bool:
    return not any(isinstance(n, ast.Mod | ast.FloorDiv) for n in ast.walk(tree))


class _Evaluator:
    """Evaluate a checked tree on arrays a, b (same shape); ``ring`` reduces mod p after each step."""

    def __init__(self, expr: str, a: np.ndarray, b: np.ndarray, p: int, ring: bool) -> None:
        self.expr, self.a, self.b, self.p, self.ring = expr, a, b, p, ring
        dtype = np.int64 if ring else object
        self.names = {"a": a.astype(dtype), "b": b.astype(dtype), "p": np.full(a.shape, p, dtype=dtype)}

    def fail(self, what: str, mask: np.ndarray) -> ConfigError:
        i = np.flatnonzero(mask)[0]
        a, b = int(self.a.flat[i]), int(self.b.flat[i])
        return ConfigError(f"task.op {self.expr!r:.80}: {what} at a={a}, b={b}")

    def norm(self, x: np.ndarray) -> np.ndarray:
        return x % self.p if self.ring else x

    def eval(self, node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Name):
            return self.norm(self.names[node.id])
        if isinstance(node, ast.Constant):
            return self.norm(np.full(self.a.shape, node.value, dtype=self.names["a"].dtype))
        if isinstance(node, ast.UnaryOp):
            x = self.eval(node.operand)
            return self.norm(-x) if isinstance(node.op, ast.USub) else x
        assert isinstance(node, ast.BinOp)
        if isinstance(node.op, ast.Pow):
            return self.power(node)
        x, y = self.eval(node.left), self.eval(node.right)
        if isinstance(node.op, ast.Add):
            return self.norm(x + y)
        if isinstance(node.op, ast.Sub):
            return self.norm(x - y)
        if isinstance(node.op, ast.Mult):
            return self.norm(x * y)
        zero = y == 0
        if zero.any():
            raise self.fail("division by zero", zero)
        return x % y if isinstance(node.op, ast.Mod) else x // y

    def power(self, node: ast.BinOp) -> np.ndarray:
        # the exponent is needed exactly, so it is evaluated without reduction
        exponent = _Evaluator(self.expr, self.a, self.b, self.p, False).eval(node.right) if self.ring \
            else self.eval(node.right)
        negative = exponent < 0
        if negative.any():
            raise self.fail("negative exponent (use op=div for modular inverses)", negative)
        base = self.eval(node.left)
        if self.ring:
            return self._modpow(base, exponent)
        bits = np.array([int(x).bit_length() for x in base.flat]).reshape(base.shape)
        big = bits * exponent > MAX_BITS
        if big.any():
            raise self.fail(f"a power with more than {MAX_BITS} bits", big)
        return base ** exponent

    def _modpow(self, base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
        """Elementwise base^exponent mod p by square-and-multiply (exponents are exact integers)."""
        result = np.ones(base.shape, dtype=np.int64) % self.p
        e = exponent.astype(object)
        if max((int(x) for x in e.flat), default=0).bit_length() > 4096:
            raise self.fail("an exponent with more than 4096 bits", np.ones(base.shape, bool))
        square = base.astype(np.int64) % self.p
        while (e > 0).any():
            odd = (e % 2 == 1).astype(bool)
            result = np.where(odd, (result * square) % self.p, result)
            square = (square * square) % self.p
            e = e // 2
        return result


def evaluate_mod(expr: str, a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """``expr`` at every (a, b), reduced mod p, as int64 (exact: no wrap-around anywhere)."""
    tree = parse(expr)
    ring = _ring_only(tree)
    values = _Evaluator(expr, a, b, p, ring).eval(tree)
    return np.asarray(values % p, dtype=np.int64)
