"""The ``tritlens`` command: parse, validate, call :mod:`tritlens.api`, print.

Exit codes: 0 success, 1 a proof failed or timed out (``verify``, ``check``) or a trial failed
(``sweep``), 2 bad input (one line on stderr, nothing written), 130 interrupted (the run can be resumed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from tritlens.cli import analysis, arith, circuits, logic, props, sweep, train
from tritlens.cli.common import EXIT_BAD_INPUT, Parser
from tritlens.errors import TritlensError, one_line

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what shells report for a process ended by SIGPIPE


def build_parser() -> Parser:
    parser = Parser(prog="tritlens", description="Train, interpret, compile and prove small networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (train, analysis, arith, circuits, logic, props, sweep):
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fn: Callable[..., int | None] = args.fn
    try:
        code = fn(args)  # None means 0; `verify` returns 1 when a proof fails or times out
    except TritlensError as exc:
        print(f"tritlens: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader of our output went away (`tritlens modules RUN | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # the system refused a path the user gave (a stage missed wrapping it)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"tritlens: error: {one_line(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("tritlens: interrupted; resume with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
