"""The ``tritlens`` command: parse, validate, call :mod:`tritlens.api`, print.

Exit codes: 0 success, 1 a proof failed or timed out (``verify``, ``check``), 2 bad input (one line on stderr,
nothing written), 130 interrupted (the run can be resumed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from tritlens.cli import analysis, circuits, logic, train
from tritlens.cli.common import EXIT_BAD_INPUT, Parser
from tritlens.errors import TritlensError

EXIT_INTERRUPTED = 130


def build_parser() -> Parser:
    parser = Parser(prog="tritlens", description="Train, interpret, compile and prove small networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (train, analysis, logic, circuits):
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fn: Callable[..., int | None] = args.fn
    try:
        code = fn(args)  # None means 0; `verify` returns 1 when a proof fails or times out
    except TritlensError as exc:
        message = " ".join(str(exc).split())
        print(f"tritlens: error: {message[:400]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("tritlens: interrupted; resume with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
