"""``tritlens check`` (properties for every input length) and ``tritlens sparsity-sweep``.

``check`` exits 0 when every property is proved (and, with ``--abc``, abc's pdr agrees), 1 when one is
refuted or the budget ran out (or abc disagrees or gives no verdict in time), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import tritlens.api as tl
from tritlens.cli.common import float_in, int_in
from tritlens.errors import TritlensError
from tritlens.fields import SEED_MAX
from tritlens.logic.check import ABC_TIMEOUT, PROVED, UNKNOWN
from tritlens.logic.run_tools import MAX_STATES
from tritlens.logic.sparsity import SPARSITY_MAX, SWEEP_LIMIT, sweep_table
from tritlens.run import Output

EXIT_PROVED, EXIT_NOT_PROVED = 0, 1


def cmd_check(args: argparse.Namespace) -> int:
    result = tl.check_property(args.run, args.property, args.abc, args.max_states, args.timeout,
                               args.encoding, args.abc_timeout)
    print(f"{args.property}: {result.status} by {result.method} in {result.seconds:.3f}s "
          f"({result.states:,} states, depth {result.depth})")
    if result.trace is not None:
        print(f"shortest counterexample: tokens {result.trace} -> answers {result.answers}")
        print(f"violates: {'; '.join(result.violated or [])}")
        if result.model_confirmed is not None:
            seen = "the model gives the same answers and violates it" if result.model_confirmed \
                else "NOT confirmed"
            print(f"replayed on the model: {seen}")
    agrees = True
    if result.abc is not None:
        agrees = bool(result.abc_agrees)  # pdr's trace may be longer than our shortest one, never shorter
        length = f", trace length {result.abc_length}" if result.abc_length else ""
        verdict = "no verdict within --abc-timeout, so no cross-check" if result.abc == UNKNOWN else \
            "agrees" if agrees else "DISAGREES"
        print(f"abc pdr: {result.abc}{length} in {result.abc_seconds:.2f}s ({verdict})")
    return EXIT_PROVED if result.status == PROVED and agrees else EXIT_NOT_PROVED


def _numbers(kind: type, lo: float, hi: float, what: str):
    def parse(text: str) -> list:
        try:
            values = [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text[:40]!r}") from None
        if not values or any(not lo <= v <= hi for v in values):
            raise argparse.ArgumentTypeError(f"expected {what} in [{lo:g}, {hi:g}], got {text[:40]!r}")
        return values

    return parse


def cmd_sweep(args: argparse.Namespace) -> int:
    if len(args.values) * len(args.seeds) > SWEEP_LIMIT:
        raise TritlensError(f"{len(args.values)} values x {len(args.seeds)} seeds is more than {SWEEP_LIMIT} "
                            "training runs")
    target = Output(args.out, force=args.force, what="sweep output") if args.out else None
    overrides = dict(item.partition("=")[::2] for item in args.set or [])
    rows = tl.sparsity_sweep(args.preset, args.values, args.seeds, overrides)
    print(sweep_table(rows))
    if target is not None:
        target.write(json.dumps({"preset": args.preset, "rows": rows}, indent=1))
        print(f"wrote {target.path}")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("check", help="check safety properties of a discrete run's circuit for every input "
                                     "length: exit 0 proved, 1 refuted or unknown, 2 bad input")
    p.add_argument("run", help="run directory of a discrete model")
    p.add_argument("--property", required=True, help="property file (docs/properties.md)")
    p.add_argument("--abc", action="store_true", help="also run berkeley-abc's pdr (IC3) and compare")
    p.add_argument("--abc-timeout", type=float_in(0, 86_400, lo_open=True), default=ABC_TIMEOUT,
                   help=f"seconds pdr gets before it counts as no verdict (default {ABC_TIMEOUT:g})")
    p.add_argument("--max-states", type=int_in(1, MAX_STATES), default=1 << 20,
                   help="explore at most this many product states (then UNKNOWN)")
    p.add_argument("--timeout", type=float_in(0, 86_400, lo_open=True), help="seconds for the search")
    p.add_argument("--encoding", choices=("auto", "adder", "totalizer"), default="auto",
                   help="threshold-neuron encoding")
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("sparsity-sweep", help="train a discrete preset at several model.sparsity values; "
                                              "gates, zero trits, cone modules and communities of each")
    p.add_argument("preset", help="a discrete preset (see `tritlens presets`)")
    p.add_argument("--values", type=_numbers(float, 0, SPARSITY_MAX, "numbers"), default=[0.0, 0.01, 0.1],
                   help="comma-separated model.sparsity values (default 0,0.01,0.1)")
    p.add_argument("--seeds", type=_numbers(int, 0, SEED_MAX, "integers"), default=[0],
                   help="comma-separated model seeds (default 0)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a setting")
    p.add_argument("-o", "--out", help="also write the rows as JSON (for `tritlens report --sweep`)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.set_defaults(fn=cmd_sweep)
