"""The front door: every stage of tritlens as a Python call (what the CLI does, a notebook can do).

    import tritlens.api as tl
    run = tl.train("quick", out="runs/quick")            # train (or resume) into a run directory
    runs = tl.train_ensemble("quick", out="runs/q", seeds="0-7")  # 8 seeds as one batched model
    run = tl.load_run("runs/quick")                      # .model, .config, .task, .metrics
    analysis = tl.analyze("runs/quick")                  # Fourier/clock analysis -> analysis.json
    grade = tl.grade("runs/add-d5")                      # arithmetic: nines on 1M questions -> grade.json
    circuit = tl.circuit("runs/add-d5")                  # arithmetic: nodes, tags, hypothesis -> circuit.json
    tl.report(["runs/quick"], "report.html")             # offline HTML report
    circuit = tl.compile_circuit("runs/adder")           # discrete runs: gates ...
    results = tl.verify("runs/adder", spec="add")        # ... and proofs
    tl.remove_ln("runs/ln", out="runs/ln-free")          # fine-tune LayerNorm away (a norm-free run)
    tl.attribute("runs/ln-free")                         # DLA and direct effects -> attribution.json
    tl.patching("runs/ln-free")                          # activation vs attribution patching
    tl.probe("runs/ln-free", target="a")                 # layer x position probes -> probes.json
    summary = tl.sweep("sweep.toml", out="runs/sweep")   # presets x settings x seeds (docs/sweeps.md)
    result = tl.check_property("runs/adder", "carry.txt")  # safety properties for every input length
    part = tl.communities("runs/adder")                  # Leiden communities; tl.layout(...) positions
    rows = tl.sparsity_sweep("ternary-rnn-adder", [0.0, 0.1])  # gates and modules as trits go to 0

Bad input raises :class:`tritlens.errors.TritlensError` with a one-line message. Functions that
write take ``force``: without it an existing output is never replaced, and a command's own inputs
are never replaced even with it. Writers into a run directory hold its lock while they write.
"""

from __future__ import annotations

from tritlens.api._common import MAX_MODULE_INPUTS, RunLike
from tritlens.api.circuits import attribute, patching, probe, remove_ln, vsa_probe
from tritlens.api.interpret import analyze, check, circuit, grade, hypothesis_text, report
from tritlens.api.logic import (
    aig_stats,
    check_property,
    circuit_output,
    communities,
    compile_circuit,
    layout,
    modules,
    prove_circuit,
    simplified,
    simplify_care,
    sparsity_sweep,
    verify,
    write_circuit,
)
from tritlens.api.sweeps import sweep, sweep_plan, sweep_summary
from tritlens.api.training import info, make_config, presets, train, train_ensemble
from tritlens.config import RunConfig
from tritlens.models import parameter_count, trit_summary
from tritlens.run import Run, load_run

__all__ = ["Run", "RunConfig", "RunLike", "MAX_MODULE_INPUTS", "presets", "make_config", "train",
           "train_ensemble", "load_run",
           "info", "analyze", "grade", "circuit", "hypothesis_text", "check", "report", "compile_circuit",
           "circuit_output", "write_circuit", "verify", "prove_circuit", "modules", "aig_stats",
           "parameter_count", "trit_summary", "remove_ln", "attribute", "patching", "probe", "vsa_probe",
           "simplify_care", "simplified",
           "check_property", "communities", "layout", "sparsity_sweep", "sweep", "sweep_plan",
           "sweep_summary"]
