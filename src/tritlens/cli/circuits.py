"""``tritlens remove-ln``, ``attribute``, ``patch`` and ``probe``."""

from __future__ import annotations

import argparse
import json
from typing import Any

import tritlens.api as tl
from tritlens.cli.common import int_in, set_threads
from tritlens.errors import TritlensError, short
from tritlens.interp.interventions import METRICS
from tritlens.interp.patching import GRIDS
from tritlens.interp.runs import SPLITS


def int_list(text: str) -> list[int]:
    """An argparse type: comma-separated non-negative integers (``0,2,5``)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 or v > 1 << 20 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positions such as 0,2, got {short(text)}")
    return values


def _logit(text: str) -> str | int:
    if text == "correct":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'correct' or an output token id, got {short(text)}") \
            from None


def _corrupt(text: str) -> str | list[int]:
    return text if text == "resample" else int_list(text)


def _grids(text: str) -> list[str]:
    names = [g.strip() for g in text.split(",") if g.strip()]
    bad = [g for g in names if g not in GRIDS]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"unknown grid {short(bad[0] if bad else text)}; choose from "
                                         f"{', '.join(GRIDS)}")
    return names


def _show(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    print(json.dumps(data, indent=1) if as_json else "\n".join(lines))


def cmd_remove_ln(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    result = tl.remove_ln(args.run, args.out, args.set, resume=args.resume, force=args.force,
                          progress=not args.quiet)
    lines = [f"{args.out}: norm-free run ({len(result.get('events', []))} norms removed)"]
    for row in result.get("rows", []):
        lines.append(f"  {row['model']:<24} test loss {row['test_loss']:.4g}  acc {row['test_acc']:.4%}  "
                     f"train loss {row['train_loss']:.4g}")
    if "loss_increase" in result:
        lines.append(f"  loss increase against fine-tuning with norms: {result['loss_increase']:+.4g} nats")
    _show(result, args.json, lines)


def cmd_attribute(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    data = tl.attribute(args.run, args.examples, args.split, args.logit, force=args.force)
    lines = [f"{args.run}: direct logit attribution of the {data['logit']} logit, {data['n_examples']} "
             f"examples; NMAE(DLA, direct effect) = {data['nmae']:.3g}; max |sum DLA - logit| = "
             f"{data['dla_sum_error']:.2g}, max |sum DE - logit| = {data['direct_sum_error']:.2g}"]
    for name, row in zip(data["components"], data["dla"], strict=True):
        lines.append(f"  {name:<16} " + " ".join(f"{v:9.3f}" for v in row))
    _show(data, args.json, lines)


def cmd_patch(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    data = tl.patching(args.run, args.examples, args.split, args.metric, args.corrupt, args.grids,
                       force=args.force)
    a = data["agreement"]
    corr = f"{a['correlation']:.3f}" if a["correlation"] is not None else "n/a"
    lines = [f"{args.run}: {data['metric']} clean {data['clean_metric']:.4g}, corrupted "
             f"{data['corrupted_metric']:.4g}; {data['n_sites']} sites, {data['n_pairs']} pairs; "
             f"activation patching {data['seconds_activation']:.2f}s, attribution "
             f"{data['seconds_attribution']:.2f}s; "
             f"correlation {corr}, mean |difference| {a['l1']:.4g}"]
    for kind, g in data["grids"].items():
        c = f"{g['correlation']:.3f}" if g["correlation"] is not None else "n/a"
        lines.append(f"  {kind}: correlation {c}, mean |difference| {g['l1']:.4g}")
    _show(data, args.json, lines)


def cmd_probe(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    if args.vsa:
        if args.shuffle or (args.positions and len(args.positions) > 1):
            raise TritlensError("--vsa probes one position (--positions P) and has no --shuffle control")
        data = tl.vsa_probe(args.run, [t.strip() for t in args.target.split(",") if t.strip()], args.hook,
                            args.positions[0] if args.positions else None, args.examples, args.split,
                            force=args.force)
    else:
        data = tl.probe(args.run, args.target, args.hook, args.positions, args.examples, args.split,
                        shuffle=args.shuffle, force=args.force)
    lines = [f"{args.run}: {data['kind']} probe of {data['target']} at {data['hook']} ({data['metric']} on "
             f"held-out examples; chance {data['chance'][0][0]:.3g})", "        " + " ".join(
                 f"{c:>8}" for c in data["cols"])]
    lines += [f"  {r:<6}" + " ".join(f"{v:8.3f}" for v in row) for r, row in zip(data["rows"], data["test"],
                                                                                 strict=True)]
    _show(data, args.json, lines)


def _common(p: argparse.ArgumentParser, examples: int) -> None:
    p.add_argument("run", help="run directory of a transformer")
    p.add_argument("--examples", type=int_in(1, 10_000_000), default=examples,
                   help=f"examples sampled from the split (default {examples})")
    p.add_argument("--split", choices=SPLITS, default="test", help="which split to sample (default test)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--force", action="store_true", help="replace an existing result file")
    p.add_argument("--threads", type=int_in(1, 1024), help="CPU threads for torch")


def add_commands(sub: Any) -> None:
    p = sub.add_parser("remove-ln", help="fine-tune a run's LayerNorms away -> an ordinary norm=none run")
    p.add_argument("run", help="run directory of a transformer with LayerNorm or RMSNorm")
    p.add_argument("--out", required=True, help="directory of the norm-free run")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="schedule or fine-tuning setting: steps, start, gap, order, lr, warmup_steps, "
                        "weight_decay, grad_clip, batch_size, momentum, aux_weight, special_positions, seed, "
                        "eval_every, checkpoint_every (repeatable)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the removal in --out")
    mode.add_argument("--force", action="store_true", help="replace the removal in --out")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int_in(1, 1024), help="CPU threads for torch")
    p.set_defaults(fn=cmd_remove_ln)

    p = sub.add_parser("attribute", help="direct logit attribution and direct effects "
                                         "-> RUN/attribution.json")
    _common(p, 1000)
    p.add_argument("--logit", type=_logit, default="correct",
                   help="'correct' (the answer) or an output token id (default correct)")
    p.set_defaults(fn=cmd_attribute)

    p = sub.add_parser("patch", help="activation vs attribution patching -> RUN/patching.json")
    _common(p, 1000)
    p.add_argument("--metric", choices=list(METRICS), default="logit_diff", help="default logit_diff")
    p.add_argument("--corrupt", type=_corrupt, default="resample",
                   help="'resample' (a random other example) or positions whose tokens are resampled, "
                        "e.g. 0,1 (default resample)")
    p.add_argument("--grids", type=_grids, help=f"comma-separated subset of {','.join(GRIDS)} (default all)")
    p.set_defaults(fn=cmd_patch)

    p = sub.add_parser("probe", help="linear/logistic probes over layer x position -> RUN/probes.json")
    _common(p, 2000)
    p.add_argument("--target", required=True, help="a quantity the task defines (e.g. a, b, answer)")
    p.add_argument("--hook", default="resid_post",
                   help="resid_pre|resid_mid|resid_post|attn_out|mlp_out (every layer) or a full hook name")
    p.add_argument("--positions", type=int_list, help="comma-separated positions (default: all defined)")
    p.add_argument("--shuffle", action="store_true", help="control: probe randomly permuted targets")
    p.add_argument("--vsa", action="store_true",
                   help="hyperdimensional probe of the bindings of several targets (--target a0,a1,b0) at "
                        "one position, against a logistic probe per target")
    p.set_defaults(fn=cmd_probe)
