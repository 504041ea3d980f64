"""``tritlens compile``, ``verify``, ``modules`` and ``aig-stats``; verify exits 0 proved, 1 not proved.

The module and layout views work on the network's own gate graph (structural passes only).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import tritlens.api as tl
from tritlens.cli.common import float_in, int_in
from tritlens.errors import TritlensError
from tritlens.logic import FORMATS, SPEC_NAMES, circuit_stats, export
from tritlens.logic.run_tools import LAYOUTS, run_communities, run_layout
from tritlens.logic.runs import ENCODINGS, MAX_SPEC_DIGITS
from tritlens.run import load_run

EXIT_PROVED, EXIT_NOT_PROVED = 0, 1


def _print_proof(claim: str, res) -> None:
    if res.proved:
        detail = f" ({res.detail})" if res.detail else ""
        print(f"{claim}: PROVED by {res.method} in {res.seconds:.3f}s{detail}")
    elif res.counterexample is None:
        print(f"{claim}: {res.status} after {res.seconds:.3f}s ({res.method}; {res.detail or 'no result'})")
    else:
        print(f"{claim}: COUNTEREXAMPLE input tokens {res.counterexample}: expected {res.expected}, "
              f"got {res.got} ({res.method}; confirmed on re-simulation: {res.confirmed})")


def cmd_compile(args: argparse.Namespace) -> int:
    target, kind = tl.circuit_output(args.output, args.format, args.force, inputs=[args.run])
    if args.layout is not None and kind not in ("graphml", "json"):
        raise TritlensError(f"--layout applies to graphml and json output, not {kind}")
    if args.layout is not None and (args.care or args.no_simplify or args.abc):
        raise TritlensError("--layout draws the network's own gate graph; drop --care/--no-simplify/--abc")
    if args.layout is None and args.module is not None:
        raise TritlensError("--module selects the part of the graph to lay out; it needs --layout")
    run = load_run(args.run)
    if args.layout is not None:
        aig, layout = run_layout(run, args.layout, args.resolution, module=args.module)
        data = json.dumps(layout) if kind == "json" else export(aig, kind, layout)
        target.write(data)
        print(f"wrote {target.path} ({kind}, {args.layout} layout): {len(layout['nodes']['id']):,} nodes, "
              f"{len(layout['edges']) // 2:,} edges, {layout['modules']} communities")
        return 0
    raw = tl.compile_circuit(run, args.encoding, simplified=False)
    if args.care:
        circuit, result = tl.simplify_care(run, args.encoding, args.care, compiled=raw)
        _print_proof("care simplification == compiled circuit on valid inputs", result.proof)
    else:
        circuit = raw if args.no_simplify else tl.simplified(raw, abc=args.abc)
    tl.write_circuit(circuit, target.path, kind, force=args.force, inputs=[args.run])
    s, r = circuit_stats(circuit.aig), circuit_stats(raw.aig)
    print(f"wrote {target.path} ({kind}): {s['ands']} ANDs, depth {s['depth']}, {s['inputs']} inputs, "
          f"{s['latches']} latches, {s['outputs']} outputs (compiled: {r['ands']} ANDs, depth {r['depth']})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    if args.care and args.no_simplify:
        raise TritlensError("--care simplifies on the valid inputs; it cannot be combined with --no-simplify")
    run = load_run(args.run)
    care_proof = None
    if args.care:
        circuit, care = tl.simplify_care(run, args.encoding, args.care)
        care_proof = care.proof
    else:
        circuit = tl.compile_circuit(run, args.encoding, simplified=not args.no_simplify)
    kind = "recurrent, all input lengths" if circuit.recurrent else f"{circuit.n_ctx} tokens"
    results = tl.prove_circuit(run, circuit, args.spec, args.digits, args.timeout, care_proof)
    print(f"{args.run}: {type(run.model).__name__} -> {len(circuit.aig.cone(circuit.aig.roots()))} ANDs "
          f"({kind})")
    for claim, res in results:
        _print_proof(claim, res)
    return EXIT_PROVED if all(res.proved for _, res in results) else EXIT_NOT_PROVED


def cmd_communities(args: argparse.Namespace) -> int:
    circuit, part = run_communities(load_run(args.run), args.resolution)
    if args.json:
        rows = [{k: v for k, v in c.__dict__.items() if k != "nodes"} for c in part.communities]
        print(json.dumps({"modularity": part.modularity, "cone_modules": part.cone_modules,
                          "communities": rows}, indent=1))
        return 0
    stats = circuit_stats(circuit.aig)
    print(f"{len(part.communities)} communities in {part.cone_modules} cone module(s) of {stats['ands']} "
          f"ANDs (structural passes); modularity {part.modularity:.2f}")
    for c in part.communities:
        drives = "; drives " + ", ".join(o for outs in c.drives.values() for o in outs) if c.drives else ""
        print(f"[{c.index}] module {c.module}: {c.ands} ANDs, reads {len(c.inputs)}, exports "
              f"{len(c.outputs)}{drives}")
        for name, text in c.formulas.items():
            print(f"    {name} = {text}")
    return 0


def cmd_modules(args: argparse.Namespace) -> int:
    if args.communities:
        return cmd_communities(args)
    modules = tl.modules(args.run, args.max_inputs, args.encoding, simplified=not args.no_simplify)
    if args.json:
        print(json.dumps([m.__dict__ for m in modules], indent=1))
        return 0
    print(f"{len(modules)} independent module(s)")
    for k, m in enumerate(modules):
        print(f"[{k}] {m.ands} ANDs, outputs {', '.join(m.outputs)}; reads {len(m.inputs)} "
              f"input(s): {', '.join(m.inputs)}")
        for name, text in m.formulas.items():
            print(f"    {name} = {text}")
    return 0


def cmd_aig_stats(args: argparse.Namespace) -> int:
    stats = tl.aig_stats(args.file)
    print(json.dumps(stats) if args.json else ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


def add_commands(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("run", help="run directory of a discrete model (discrete_mlp, discrete_rnn or "
                                   "discrete_transformer)")
        p.add_argument("--encoding", choices=ENCODINGS, default="auto",
                       help="threshold-neuron encoding (default auto: the smaller of adder and totalizer)")

    p = sub.add_parser("compile", help="compile a discrete run to gates; write AIGER/BLIF/Verilog/...")
    common(p)
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the -o extension)")
    p.add_argument("-o", "--output", required=True, help="output file (refused if it exists, unless --force)")
    p.add_argument("--no-simplify", action="store_true", help="write the circuit as compiled")
    p.add_argument("--abc", action="store_true", help="finish simplification with berkeley-abc resyn2")
    p.add_argument("--care", choices=("valid",), help="treat inputs the task never produces as don't-cares "
                   "(the result is proved equal to the compiled circuit on every valid input)")
    p.add_argument("--layout", choices=LAYOUTS, help="graphml/json: force-directed positions and communities "
                   "of the gate graph (modules: communities as islands; global: one layout)")
    p.add_argument("--resolution", type=float_in(0, 100, lo_open=True), default=1.0,
                   help="Leiden resolution for --layout (higher: more, smaller communities)")
    p.add_argument("--module", type=int_in(0, 1 << 20), help="with --layout: only this cone module")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(fn=cmd_compile)

    p = sub.add_parser("verify", help="prove the compiled circuit equals the model (and a spec): exit 0 "
                                      "proved, 1 counterexample or timeout, 2 bad input")
    common(p)
    p.add_argument("--spec", choices=SPEC_NAMES,
                   help="also prove circuit == this reference (sized from the run's task)")
    p.add_argument("--digits", type=int_in(1, MAX_SPEC_DIGITS),
                   help="spec width: digit pairs for add, sequence length for brackets/count, bits for "
                        "parity/compare")
    p.add_argument("--care", choices=("valid",), help="prove the circuit simplified on the task's valid "
                   "inputs (first equal to the compiled circuit there, then to the model and spec)")
    p.add_argument("--timeout", type=float_in(0, 86_400, lo_open=True),
                   help="seconds per SAT / state-space proof (TIMEOUT -> exit 1)")
    p.add_argument("--no-simplify", action="store_true", help="prove the circuit as compiled")
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser("modules", help="independent parts of the compiled circuit, small ones as formulas")
    common(p)
    p.add_argument("--max-inputs", type=int_in(0, tl.MAX_MODULE_INPUTS), default=8,
                   help="describe modules reading at most this many inputs")
    p.add_argument("--no-simplify", action="store_true", help="analyse the circuit as compiled")
    p.add_argument("--communities", action="store_true", help="Leiden communities inside the cone modules "
                   "(structural passes), with their boundaries and small formulas")
    p.add_argument("--resolution", type=float_in(0, 100, lo_open=True), default=1.0,
                   help="Leiden resolution for --communities (higher: more, smaller communities)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_modules)

    p = sub.add_parser("aig-stats", help="read an AIGER file (.aag/.aig) and print its gate statistics")
    p.add_argument("file", help="AIGER file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_aig_stats)
