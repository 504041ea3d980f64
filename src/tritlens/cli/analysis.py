"""``tritlens analyze`` and ``report``."""

from __future__ import annotations

import argparse
import json
from typing import Any

import tritlens.api as tl
from tritlens.cli import show
from tritlens.cli.common import int_in, set_threads
from tritlens.run import RunDir


def cmd_analyze(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    analysis = tl.analyze(args.run, checkpoints=not args.final_only, force=args.force,
                          bar=not args.quiet and not args.json)
    if args.json:
        print(json.dumps(analysis, indent=1))
    else:
        show.print_analysis(analysis, str(RunDir(args.run).analysis_path))


def cmd_report(args: argparse.Namespace) -> None:
    out = tl.report(args.runs, args.output, args.png, force=args.force, sweep=args.sweep)
    print(f"wrote {out}" + (f" and figures in {args.png}" if args.png else ""))


def add_commands(sub: Any) -> None:
    p = sub.add_parser("analyze", help="Fourier/clock analysis and progress measures -> RUN/analysis.json")
    p.add_argument("run", help="run directory")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--final-only", action="store_true",
                   help="analyse the final weights only (skip the measures over checkpoints)")
    p.add_argument("--force", action="store_true", help="replace an existing analysis.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int_in(1, 1024), help="CPU threads for torch")
    p.set_defaults(fn=cmd_analyze)

    p = sub.add_parser("report", help="one self-contained offline HTML report for one or more runs")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories (several: compared side by side)")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--png", metavar="DIR", help="also write every figure as a PNG into DIR")
    p.add_argument("--sweep", metavar="FILE", help="add the table of a `tritlens sparsity-sweep -o FILE` run")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(fn=cmd_report)
