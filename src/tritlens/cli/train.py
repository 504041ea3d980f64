"""``tritlens train``, ``presets`` and ``info``."""

from __future__ import annotations

import argparse
import json
from typing import Any

import tritlens.api as tl
from tritlens.cli import show
from tritlens.cli.common import int_in, set_threads
from tritlens.run import RunDir


def cmd_train(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    overrides = list(args.set or [])
    if args.device:
        overrides.append(f"train.device={args.device}")
    preset = "quick" if args.preset is None else args.preset
    if args.seeds is not None or args.vary:
        out = args.out if args.out is not None else f"runs/{preset}"
        runs = tl.train_ensemble(args.preset, out=out, seeds=args.seeds, vary=args.vary or None,
                                 overrides=overrides, resume=args.resume, force=args.force,
                                 progress=not args.quiet)
        show.print_members(runs)
        return
    stored = args.preset is None and args.resume and args.out is not None and RunDir(args.out).exists()
    config = None if stored else tl.make_config(preset, overrides)
    out = args.out if args.out is not None else f"runs/{preset}"
    run = tl.train(config=config, out=out, overrides=overrides if stored else None, resume=args.resume,
                   force=args.force, progress=not args.quiet)
    show.print_run(run)


def cmd_presets(args: argparse.Namespace) -> None:
    show.print_presets(tl.presets())


def cmd_info(args: argparse.Namespace) -> None:
    info = tl.info(args.run)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        show.print_info(info)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("train", help="train a preset into a run directory")
    p.add_argument("--preset", help="named setup (see `tritlens presets`); default: quick")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set train.steps=2000 (repeatable)")
    p.add_argument("--out", help="run directory to write (default: runs/PRESET); with --seeds/--vary the "
                   "folder that holds one run per member")
    p.add_argument("--seeds", metavar="LIST", help="train an ensemble, one member per seed, as one batched "
                   "model: 0-7, 0,3,5 or 0-3,9 (each member: OUT/seed-N)")
    p.add_argument("--vary", action="append", metavar="SECTION.KEY=V1,V2",
                   help="ensemble members for each value, e.g. --vary train.weight_decay=0.5,1.0 "
                   "(repeatable; with --seeds: every combination)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    mode.add_argument("--force", action="store_true", help="replace the run already in --out")
    p.add_argument("--device", choices=["cpu", "cuda"], help="where to train (default: cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int_in(1, 1024), help="CPU threads for torch (default: all cores); "
                   "use 1 per run when several runs share a machine (oversubscribed threads slow all)")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("presets", help="list the named paper setups")
    p.set_defaults(fn=cmd_presets)

    p = sub.add_parser("info", help="config, final metrics, parameter count and trit statistics of a run")
    p.add_argument("run", help="run directory")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(fn=cmd_info)
