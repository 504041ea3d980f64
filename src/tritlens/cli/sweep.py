"""``tritlens sweep`` and ``sweep-summary``: many runs over presets x settings x seeds (docs/sweeps.md).

Exit codes: 0 every trial complete, 1 some trial failed (each failure is in its run's failed.json and in
the summary; the others ran), 2 bad input (nothing created), 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table

import tritlens.api as tl
from tritlens.cli.common import int_in
from tritlens.cli.show import console
from tritlens.sweep import ENGINES, SweepSummary

EXIT_TRIAL_FAILED = 1
EXIT_INTERRUPTED = 130


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.dry_run:
        trials = tl.sweep_plan(args.spec, args.out)
        for name, runs in trials:
            print(f"{'run ' if runs else 'done'}  {name}")
        print(f"{sum(r for _, r in trials)} of {len(trials)} trials to run into {args.out}")
        return 0

    def progress(result: dict[str, Any], finished: int, total: int) -> None:
        why = f": {result['error']}" if result["error"] else ""
        print(f"[{finished}/{total}] {result['name']}: {result['status']} ({result['seconds']:.1f} s){why}",
              flush=True)

    try:
        summary = tl.sweep(args.spec, args.out, engine=args.engine, workers=args.workers,
                           address=args.address, threads=args.threads, analyze=args.analyze,
                           on_trial=None if args.quiet else progress)
    except KeyboardInterrupt:
        print("tritlens: interrupted; rerun the same sweep to resume its trials", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_summary(summary)
    return EXIT_TRIAL_FAILED if summary.failed else 0


def cmd_summary(args: argparse.Namespace) -> int:
    summary = tl.sweep_summary(args.sweep, analyze=args.analyze)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=1))
    else:
        print_summary(summary)
    return 0


def _num(x: Any, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, int | float) else "–"


def _keys(keys: list[int] | None) -> str:
    return "–" if keys is None else ", ".join(map(str, keys)) or "none"


def print_summary(summary: SweepSummary) -> None:
    con = console()
    presets = ", ".join(sorted({t.preset for t in summary.trials}))
    counts = ", ".join(f"{n} {s}" for s, n in summary.counts.items() if n)
    table = Table(title=f"sweep {summary.path} ({presets}): {counts}")
    one = len({t.preset for t in summary.trials}) == 1
    for col in ("trial", "status", "steps", "to 99%", "train loss", "test loss", "test acc", "key freqs",
                "trit zeros"):
        table.add_column(col, justify="left" if col in ("trial", "status", "key freqs") else "right",
                         no_wrap=col not in ("trial", "key freqs"), overflow="fold")
    for t in summary.trials:
        label = t.name.removeprefix(f"{t.preset}__") if one else t.name
        table.add_row(label, t.status, _num(t.steps, "d"), _num(t.steps_to_99, "d"),
                      _num(t.train_loss, ".2e"), _num(t.test_loss, ".2e"), _num(t.test_acc, ".1%"),
                      _keys(t.key_frequencies), _num(t.trit_zero_frac, ".1%"))
    con.print(table)
    seeded = [s for s in summary.settings if len(s.trials) > 1]
    if seeded:
        table = Table(title="across seeds")
        for col in ("setting", "seeds", "complete", "mean to 99%", "common key freqs", "Jaccard"):
            table.add_column(col, justify="left" if col in ("setting", "common key freqs") else "right",
                             overflow="fold")
        for s in seeded:
            label = s.group.removeprefix(f"{s.preset}__") if one else s.group
            table.add_row(label, str(len(s.trials)), str(s.complete), _num(s.mean_steps_to_99, ".0f"),
                          _keys(s.common_frequencies), _num(s.jaccard, ".2f"))
        con.print(table)
    for t in summary.failed:
        con.print(f"FAILED {t.name}: {t.error}")


def add_commands(sub: Any) -> None:
    p = sub.add_parser("sweep", help="run presets x settings x seeds from a TOML spec (docs/sweeps.md)")
    p.add_argument("spec", help="sweep spec (.toml, or .json such as DIR/spec.json)")
    p.add_argument("--out", required=True, help="sweep directory (rerun the same sweep to resume it)")
    p.add_argument("--workers", type=int_in(1, 4096), help="trials at once (default: the cores)")
    p.add_argument("--threads", type=int_in(1, 1024),
                   help="torch threads per trial (default: cores // workers)")
    p.add_argument("--engine", choices=ENGINES, default="local", help="local process pool (default) or ray")
    p.add_argument("--address", help="Ray cluster HOST:PORT (with --engine ray; default: a local Ray)")
    p.add_argument("--analyze", action="store_true", help="write each complete trial's analysis.json too")
    p.add_argument("--dry-run", action="store_true", help="check the spec and list the trials; run nothing")
    p.add_argument("--quiet", action="store_true", help="no line per finished trial")
    p.set_defaults(fn=cmd_sweep)

    p = sub.add_parser("sweep-summary", help="the summary table of a sweep directory (rewrites summary.json)")
    p.add_argument("sweep", help="sweep directory")
    p.add_argument("--analyze", action="store_true",
                   help="analyse complete trials without analysis.json first")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(fn=cmd_summary)
