"""task.op: labels computed exactly (compared with Python integers), and every hostile expression refused
in one line, quickly, before a run directory exists."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tritlens.cli import main
from tritlens.errors import ConfigError
from tritlens.tasks.modular import ModularTask

from .checks import api_fails, cli_fails
from .runs import TINY_ARGS

EXACT = {
    "a**40+b": lambda a, b: a**40 + b,  # wraps around int64 many times over
    "a*b*a*b*a*b*a*b*a*b": lambda a, b: (a * b) ** 5,
    "(a+1)**(b+1)": lambda a, b: (a + 1) ** (b + 1),
    "a**b**2": lambda a, b: a ** (b**2),
    "b**b**b": lambda a, b: pow(b, b**b, 59),  # b^(b^b) itself has up to 10^100 digits
    "a*10**17 + b*999999999999999989": lambda a, b: a * 10**17 + b * 999999999999999989,
    "-a**3 - b": lambda a, b: -(a**3) - b,
    "(a - b)**63": lambda a, b: (a - b) ** 63,
    "a % (b+1)": lambda a, b: a % (b + 1),
    "(a**30)//(b+1) - a*p": lambda a, b: (a**30) // (b + 1) - a * 59,
    "a**40 % (b+1) + (-a)//(b+2)": lambda a, b: a**40 % (b + 1) + (-a) // (b + 2),
    "0x10+a": lambda a, b: 16 + a,
    "1_000+a": lambda a, b: 1000 + a,
    "(" * 100 + "a" + ")" * 100: lambda a, b: a,  # long but within the limits: accepted
    "-" * 401 + "a": lambda a, b: -a,
    "a+" * 240 + "b": lambda a, b: 240 * a + b,
}


@pytest.mark.parametrize("op", EXACT, ids=[op[:30] for op in EXACT])
def test_labels_are_exact(op):
    p = 59
    labels = ModularTask(p=p, op=op, train_frac=0.5).labels().numpy()
    want = np.array([[EXACT[op](a, b) % p for b in range(p)] for a in range(p)])
    assert (labels == want).all()


BAD_OPS = {
    "tower of powers": "9**9**9",
    "power tower in a": "a**a**a**a**a**a**a**a",
    "exponent of 2^4096": "(a+1)**(2**4096)",
    "exact power too large": "(a+2)**(2**70)//3",
    "chain of squarings": "a" + "**2" * 200,
    "division by zero": "a//0",
    "modulo zero": "a%0",
    "zero divisor at some pairs": "a//(b-b)",
    "negative exponent": "a**-1",
    "exponent negative at some pairs": "a**(b-60)",
    "constant beyond 10^18": "a+10000000000000000000",
    "float constant": "a+1e5",
    "true division": "a/b",
    "matrix product": "a@b",
    "xor": "a^b",
    "comparison": "a<b",
    "conditional": "a if b else 1",
    "list": "[a]",
    "boolean constant": "True+a",
    "string constant": "a+'1'",
    "attribute": "a.__class__",
    "dunder chain": "a.__class__.__mro__[-1].__subclasses__()",
    "call": "print(a)",
    "import": "__import__('os').system('true')",
    "lambda": "lambda: a",
    "walrus": "(c:=a)+b",
    "unknown name": "c+a",
    "no a or b": "p+1",
    "constant only": "1",
    "empty": "",
    "blank": "   ",
    "newline": "a+b\nc",
    "nul byte": "a\x00",
    "right-to-left override": "a\u202e+b",
    "terminal escape": "a+\x1b[2Jb",
    "10k nested parentheses": "(" * 10_000 + "a" + ")" * 10_000,
    "100k characters": "a" * 100_000,
    "syntax error": "a+*b",
}


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """The first train command of a process pays one-time costs (imports, torch's meta kernels): pay them
    here, so the timing below measures the expression alone."""
    out = tmp_path_factory.mktemp("warm") / "run"
    main(["train", "--out", str(out), *TINY_ARGS, "--set", "task.op=c"])


@pytest.mark.parametrize("op", BAD_OPS.values(), ids=BAD_OPS.keys())
def test_bad_op_cli(tmp_path, capsys, warm, op):
    start = time.perf_counter()
    cli_fails(capsys, ["train", "--out", str(tmp_path / "run"), *TINY_ARGS, "--set", f"task.op={op}"],
              watch=[tmp_path])
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("op", ["9**9**9", "a//0", "a**-1", "a.__class__", "(" * 10_000 + "a" + ")" * 10_000])
def test_bad_op_api(op):
    api_fails(lambda: ModularTask(p=59, op=op), kind=ConfigError)


def test_a_raising_function_is_one_line(tmp_path):
    import tritlens.api as tl

    from .runs import TINY

    def boom(a: int, b: int) -> int:
        raise ZeroDivisionError("boom\nsecond line")

    api_fails(lambda: tl.train("quick", out=tmp_path / "run", overrides=TINY, progress=False,
                               task=ModularTask(p=11, op=boom)), watch=[tmp_path], kind=ConfigError)
