"""Logic-layer benchmark: simplification vs berkeley-abc and aigverse, before/after speed on the trained
15k-AND MLP, don't-care simplification, properties, communities and layout at 20k+ nodes.

Run: ``.venv/bin/python benchmarks/bench_logic.py [--baseline REV]``. Prints Markdown; not a test.
``--baseline`` names the git revision whose ``simplify`` is "before" (extracted with ``git archive``
and run in a subprocess, like "after", so both are measured cold and warm in the same run).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "logic"))

from logic_nets import serial_adder  # noqa: E402
from logic_tools import (  # noqa: E402
    ROOT,
    abc_timed,
    aigverse_available,
    aigverse_timed,
    baseline_src,
    timed_simplify,
)

from tritlens.api import train  # noqa: E402
from tritlens.logic import (  # noqa: E402
    AIG,
    STRUCTURAL_PASSES,
    CareSet,
    Circuit,
    check_property,
    circuit_stats,
    compile_model,
    make_spec,
    parse_properties,
    prove_equivalent,
    prove_fsm,
    prove_spec,
    simplify,
    simplify_care,
    with_aig,
    write_aiger,
)
from tritlens.logic.abc import abc_binary  # noqa: E402
from tritlens.logic.build import add  # noqa: E402
from tritlens.logic.communities import find_communities  # noqa: E402
from tritlens.logic.fsm import CircuitMachine  # noqa: E402
from tritlens.logic.layout import layout_graph  # noqa: E402
from tritlens.logic.passes import rebuild  # noqa: E402
from tritlens.logic.specs import modadd_spec  # noqa: E402
from tritlens.models.discrete import DiscreteMLPConfig, DiscreteRNNConfig, TernaryMLP, TernaryRNN  # noqa: E402

BASELINE = "07ae429"  # the last revision before the collapse / care / property work


def ripple_adder(bits: int) -> AIG:
    g = AIG()
    a = [g.add_input(f"a{i}") for i in range(bits)]
    b = [g.add_input(f"b{i}") for i in range(bits)]
    for k, lit in enumerate(add(g, a, b)):
        g.add_output(lit, f"s{k}")
    return g


def spec_circuit(spec) -> Circuit:
    g = AIG()
    width = max(1, (spec.d_vocab - 1).bit_length())
    tokens = [[g.add_input(f"t{p}_b{k}") for k in range(width)] for p in range(spec.n_ctx)]
    for bits in spec.builder(g, tokens):
        for lit in bits:
            g.add_output(lit)
    return Circuit(g, spec.d_vocab, spec.d_vocab_out, spec.n_ctx, spec.positions)


def circuits() -> dict[str, AIG]:
    mlp_mod = TernaryMLP(DiscreteMLPConfig(hidden=(24,), encoding="onehot", seed=0), 13, 13, 2)
    mlp_cmp = TernaryMLP(DiscreteMLPConfig(hidden=(16, 8), encoding="binary", seed=1), 16, 3, 2)
    rnn = TernaryRNN(DiscreteRNNConfig(hidden=8, encoding="onehot", seed=2), 4, 2, 5)
    return {
        "ripple adder 16b": ripple_adder(16),
        "spec modadd p=113": spec_circuit(modadd_spec(113)).aig,
        "MLP modadd p=13 (onehot, 24)": compile_model(mlp_mod, positions=(1,)).aig,
        "MLP compare 4b (binary, 16-8; random = constant)": compile_model(mlp_cmp, positions=(1,)).aig,
        "RNN random (8 state bits; random = constant)": compile_model(rnn).aig,
        "RNN serial adder (hand-set)": compile_model(serial_adder()).aig,
    }


def _equivalent(aig: AIG, ours: AIG) -> bool:
    """Combinational proof, or for sequential circuits an all-length product-machine proof."""
    if not aig.latches:
        return prove_equivalent(aig, ours).proved
    before = Circuit(aig, 1 << len(aig.inputs), 1 << len(aig.outputs), 1, (0,), recurrent=True)
    return prove_fsm(with_aig(before, ours), CircuitMachine(before)).proved


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def gate_row(name: str, aig: AIG) -> str:
    ours, secs = _timed(simplify, aig)
    structural, s_secs = _timed(simplify, aig, STRUCTURAL_PASSES)
    assert _equivalent(aig, ours) and _equivalent(aig, structural), name
    n_ours = circuit_stats(ours)["ands"]
    cells = [name, f"{circuit_stats(aig)['ands']:,}", f"{n_ours:,} ({secs:.2f}s)", str(ours.depth())]
    cells.append(f"{circuit_stats(structural)['ands']:,} ({s_secs:.2f}s)")
    if abc_binary():
        resyn2, r_secs = abc_timed(aig, "resyn2")
        dc2, _ = abc_timed(aig, "dc2")
        n_r = circuit_stats(resyn2)["ands"]
        cells += [
            f"{n_r:,} ({r_secs:.2f}s)",
            f"{circuit_stats(dc2)['ands']:,}",
            f"{n_ours / max(1, n_r):.2f}",
        ]
    else:
        cells += ["n/a"] * 3
    if aigverse_available() and not aig.latches:
        mt, m_secs = aigverse_timed(aig)
        assert prove_equivalent(aig, mt).proved, name
        cells.append(f"{circuit_stats(mt)['ands']:,} ({m_secs:.2f}s)")
    else:
        cells.append("n/a")
    return "| " + " | ".join(cells) + " |"


def gate_table(extra: dict[str, AIG]) -> list[str]:
    rows = [
        "| circuit | compiled ANDs | ours (default) | depth | ours (structural) | abc resyn2 | abc dc2 "
        "| ours / resyn2 | aigverse 3x(rw,rs,rf) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return rows + [gate_row(name, aig) for name, aig in {**circuits(), **extra}.items()]


def speed_rows(aig: AIG, baseline: str) -> list[str]:
    """Before/after ``simplify`` on one circuit, each in a fresh process (cold, then warm)."""
    rows = ["| simplify | ANDs | cold s | warm s |", "|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlp.aig"
        write_aiger(aig, path)
        old = timed_simplify(baseline_src(baseline, Path(tmp)), path)
        new = timed_simplify(ROOT / "src", path)
        struct = timed_simplify(ROOT / "src", path, passes=STRUCTURAL_PASSES)
    for label, runs in (
        (f"before ({baseline})", old),
        ("after, default", new),
        ("after, structural", struct),
    ):
        rows.append(
            f"| {label} | {runs[0]['ands']:,} | {runs[0]['seconds']:.2f} | {runs[1]['seconds']:.2f} |"
        )

    def ratio(runs: list[dict], k: int) -> str:
        return f"{old[k]['seconds'] / runs[k]['seconds']:.1f}x"

    rows.append(
        f"\nspeed-up of the default: {ratio(new, 0)} cold, {ratio(new, 1)} warm; "
        f"structural passes: {ratio(struct, 0)} cold, {ratio(struct, 1)} warm"
    )
    return rows


def care_rows(runs: dict[str, object]) -> list[str]:
    spec = spec_circuit(modadd_spec(11))
    ref = circuit_stats(simplify(spec.aig))["ands"]
    rows = [
        f"reference: `modadd` spec p=11 circuit, simplified: {ref} ANDs (the issue's reference adder: 76)",
        "",
        "| model | compiled | default simplify | with care (valid tokens 0..10) | x 76 | proof | seconds |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for name, run in runs.items():
        circuit = compile_model(run.model, positions=run.task.answer_positions)
        plain = simplify(circuit.aig)
        care = CareSet.for_task(circuit, run.task)
        result, secs = _timed(simplify_care, circuit.aig, care, plain)
        n = result.aig.num_ands
        rows.append(
            f"| {name} | {circuit_stats(circuit.aig)['ands']:,} | {plain.num_ands} | {n} | {n / 76:.2f} "
            f"| {result.proof.status} ({result.proof.method}) | {secs:.2f} |"
        )
    return rows


PROPS = {
    "carry: 1+1 after 1+1 gives 1": "let both = in == 3\nalways (both and prev(both, false)) -> out == 1",
    "answer is a binary digit": "always out < 2",
    "wrong on purpose: 1+1 twice gives 1": "always count(in == 3, 2) >= 2 -> out == 1",
}


def property_rows(rnn_run) -> list[str]:
    rows = ["| circuit | property | ours | states | ours s | abc pdr | pdr s | replayed on model |"]
    rows.append("|---|---|---|---:|---:|---|---:|---|")
    cases = [
        ("ternary-rnn-adder (trained)", rnn_run.model),
        ("serial adder, planted bug", serial_adder(True)),
    ]
    for label, model in cases:
        circuit = compile_model(model)
        circuit = with_aig(circuit, simplify(circuit.aig))
        for name, text in PROPS.items():
            r = check_property(circuit, parse_properties(text), model=model, abc=abc_binary() is not None)
            trace = f"{r.trace} -> {r.answers}" if r.trace else ""
            replay = {True: "confirmed", False: "NOT confirmed", None: "-"}[r.model_confirmed]
            abc = f"{r.abc}" + (f" (length {r.abc_length})" if r.abc_length else "") if r.abc else "n/a"
            pdr_s = f"{r.abc_seconds:.2f}" if r.abc_seconds is not None else "n/a"
            rows.append(
                f"| {label} | {name} | {r.status} {trace} | {r.states} | {r.seconds:.3f} | {abc} | {pdr_s} "
                f"| {replay} |"
            )
    return rows


def layout_rows() -> list[str]:
    model = TernaryMLP(DiscreteMLPConfig(hidden=(192,), encoding="onehot", seed=0), 11, 11, 2)
    aig = rebuild(compile_model(model, positions=(1,)).aig)
    part, c_secs = _timed(find_communities, aig)
    rows = [
        f"graph: random-weight MLP (11 tokens, 192 hidden), compiled without simplification: "
        f"{aig.num_ands:,} ANDs; Leiden communities: {len(part.communities)} in {c_secs:.2f}s "
        f"(modularity {part.modularity:.2f})",
        "",
        "| layout | nodes | edges | seconds | JSON bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    for method in ("modules", "global"):
        data, secs = _timed(layout_graph, aig, part, 0, method)
        size = len(json.dumps(data, separators=(",", ":")))
        n = len(data["nodes"]["id"])
        rows.append(f"| {method} | {n:,} | {len(data['edges']) // 2:,} | {secs:.2f} | {size:,} |")
    return rows


def timing_rows() -> list[str]:
    model = serial_adder()
    result, secs = _timed(prove_spec, compile_model(model), make_spec("add"), model)
    rows = [f"all-length proof, serial adder RNN: {result.status} in {secs:.4f}s ({result.detail})"]
    wide = TernaryMLP(DiscreteMLPConfig(hidden=(32,), encoding="binary", seed=4), 32, 4, 4)
    aig = compile_model(wide, positions=(3,)).aig
    small = simplify(aig)
    eq, secs = _timed(prove_equivalent, aig, small)
    rows.append(
        f"exhaustive equivalence, {len(aig.inputs)} inputs (2^{len(aig.inputs)} patterns), "
        f"{circuit_stats(aig)['ands']} vs {circuit_stats(small)['ands']} ANDs: {eq.status} in {secs:.3f}s"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", default=BASELINE, help="git revision for 'before' (default %(default)s)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# tritlens logic benchmark — {platform.machine()}, python {platform.python_version()}")
    mlp = train("ternary-mlp-modadd", progress=False)
    mlp_bin = train("ternary-mlp-modadd", overrides={"model.encoding": "binary"}, progress=False)
    rnn = train("ternary-rnn-adder", progress=False)
    trained = compile_model(mlp.model, positions=mlp.task.answer_positions).aig
    print("\n## Gate counts (every result proved equivalent to the compiled circuit)\n")
    print("\n".join(gate_table({"trained ternary-mlp-modadd (15k ANDs)": trained})))
    print("\n## simplify before/after on the trained ternary-mlp-modadd circuit\n")
    print("\n".join(speed_rows(trained, args.baseline)))
    print("\n## Don't-care simplification (trained mod-11 MLPs)\n")
    print("\n".join(care_rows({"ternary-mlp-modadd (one-hot)": mlp, "same, model.encoding=binary": mlp_bin})))
    print("\n## Properties for every input length\n")
    print("\n".join(property_rows(rnn)))
    print("\n## Communities and layout at 20k+ nodes\n")
    print("\n".join(layout_rows()))
    print()
    print("\n".join(timing_rows()))


if __name__ == "__main__":
    main()
