"""What every command shares: the one-line-error parser and checked numeric option types."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

import torch

from tritlens.errors import ConfigError, one_line, short

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse with bad usage reported in one line and exit code 2 (argparse prints the whole usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"tritlens: error: {one_line(message, 300)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer in [{lo}, {hi}], got {short(text)}")
        return value

    return parse


def float_in(lo: float, hi: float, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    def parse(text: str) -> float:
        bounds = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {bounds}, got {short(text)}") from None
        if not math.isfinite(value) or value < lo or value > hi or (lo_open and value == lo):
            raise argparse.ArgumentTypeError(f"expected a number in {bounds}, got {short(text)}")
        return value

    return parse


def set_threads(threads: int | None) -> None:
    """Apply ``--threads`` (already range-checked) to torch."""
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)


def add_output_flags(p: argparse.ArgumentParser, filename: str) -> None:
    """``--force``, ``--no-write``, ``--json`` and ``--threads`` of a command that writes ``RUN/filename``."""
    p.add_argument("--force", action="store_true", help=f"replace an existing {filename}")
    p.add_argument("--no-write", action="store_true", help=f"print only; write no {filename}")
    p.add_argument("--json", action="store_true", help=f"print the {filename.removesuffix('.json')} as JSON")
    p.add_argument("--threads", type=int_in(1, 1024), help="CPU threads for torch")
