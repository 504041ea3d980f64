"""The front door: every stage of tritlens as a Python call (what the CLI does, a notebook can do).

    import tritlens.api as tl
    run = tl.train("quick", out="runs/quick")            # train (or resume) into a run directory
    run = tl.load_run("runs/quick")                      # .model, .config, .task, .metrics
    analysis = tl.analyze("runs/quick")                  # Fourier/clock analysis -> analysis.json
    tl.report(["runs/quick"], "report.html")             # offline HTML report
    circuit = tl.compile_circuit("runs/adder")           # discrete runs: gates ...
    results = tl.verify("runs/adder", spec="add")        # ... and proofs
    result = tl.check_property("runs/adder", "carry.txt")  # safety properties for every input length
    part = tl.communities("runs/adder")                  # Leiden communities; tl.layout(...) positions
    rows = tl.sparsity_sweep("ternary-rnn-adder", [0.0, 0.1])  # gates and modules as trits go to 0

Bad input raises :class:`tritlens.errors.TritlensError` with a one-line message. Functions that
write take ``force``: without it an existing output is never replaced, and a command's own inputs
are never replaced even with it. Writers into a run directory hold its lock while they write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import ConfigError, TritlensError
from tritlens.interp import analyze_run, write_analysis
from tritlens.logic import (
    FORMATS,
    Circuit,
    Module,
    ProofResult,
    circuit_stats,
    export,
    find_modules,
    read_aiger,
)
from tritlens.logic.check import PropertyResult
from tritlens.logic.communities import Partition
from tritlens.logic.dontcare import CareResult
from tritlens.logic.run_tools import care_domain, care_simplify, check_run, run_communities, run_layout
from tritlens.logic.runs import circuit_info, compile_run, require_discrete, verify_run
from tritlens.logic.sparsity import check_sweep
from tritlens.logic.sparsity import sparsity_sweep as _sweep
from tritlens.models import Model, parameter_count, trit_summary
from tritlens.presets import PRESETS, preset_config
from tritlens.report import make_report
from tritlens.run import Output, Run, RunDir, RunLock, load_run
from tritlens.run.files import read_text
from tritlens.tasks import Task
from tritlens.train.session import train_config
from tritlens.train.trainer import Event

RunLike = Run | str | os.PathLike[str]
MAX_MODULE_INPUTS = 16
MAX_PROPERTY_BYTES = 1 << 20

__all__ = ["Run", "RunConfig", "presets", "make_config", "train", "load_run", "info", "analyze", "report",
           "compile_circuit", "circuit_output", "write_circuit", "verify", "modules", "aig_stats",
           "parameter_count", "trit_summary", "simplify_care", "check_property", "communities", "layout",
           "sparsity_sweep"]


def _opened(run: RunLike) -> Run:
    return run if isinstance(run, Run) else load_run(run)


# -- train ----------------------------------------------------------------------------------------
def presets() -> dict[str, str]:
    """Preset name -> one-line description of the paper setup it reproduces."""
    return {name: spec["about"] for name, spec in PRESETS.items()}


def make_config(preset: str = "quick", overrides: list[str] | dict[str, Any] | None = None) -> RunConfig:
    """A preset's full config with ``overrides`` (``"section.key=value"`` strings or a dict) applied."""
    return preset_config(preset, _assignments(overrides) if overrides else None)


def _assignments(overrides: list[str] | dict[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in overrides.items()] if isinstance(overrides, dict) else list(overrides)


def train(preset: str | None = None, out: str | os.PathLike[str] | None = None,
          overrides: list[str] | dict[str, Any] | None = None, config: RunConfig | None = None,
          resume: bool = False, force: bool = False, progress: bool = True, task: Task | None = None,
          on_event: Event | None = None) -> Run:
    """Train a preset (or ``config``) with optional overrides; writes a run directory when ``out`` is set.

    With ``resume`` and neither preset nor config, the run in ``out`` continues with its stored config.
    ``force`` replaces a run already in ``out``. Returns the finished :class:`Run`.
    """
    if resume and force:
        raise ConfigError("resume and force contradict each other: resume continues a run, force replaces it")
    if config is None and preset is None and resume and out is not None and RunDir(out).exists():
        config = RunDir(out).read_config()
    if config is None:
        config = make_config(preset or "quick", overrides)
    elif overrides:
        config = config.with_overrides(_assignments(overrides))
    return train_config(config, out, resume=resume, force=force, progress=progress, task=task,
                        on_event=on_event)


def info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything ``tritlens info`` shows, as plain data (unfinished runs too: the latest checkpoint)."""
    rd = RunDir(path).require()
    cfg, metrics, steps = rd.read_config(), rd.read_metrics(), rd.checkpoint_steps()
    run = load_run(rd.path) if rd.is_complete() else load_run(rd.path, step=steps[-1]) if steps else None
    model: Model | None = run.model if run else None
    out: dict[str, Any] = {
        "path": str(rd.path), "complete": rd.is_complete(), "failed": rd.failure(), "preset": cfg.preset,
        "task": run.task.describe() if run else cfg.task_name,
        "config": cfg.to_dict(), "parameters": parameter_count(model) if model is not None else None,
        "checkpoints": steps, "final": metrics[-1] if metrics else {},
        "trits": trit_summary(model) if model is not None else {},
    }
    circuit = circuit_info(model) if model is not None else None
    if circuit:
        out["circuit"] = circuit
    return out


# -- interpret and report -------------------------------------------------------------------------
def analyze(run: RunLike, checkpoints: bool = True, write: bool = True, force: bool = False,
            bar: bool = False) -> dict[str, Any]:
    """Fourier/clock analysis of a run (``checkpoints=False``: the final weights only).

    With ``write`` (and a run on disk) the result goes to ``RUN/analysis.json`` under the run's lock;
    an existing analysis.json is replaced only with ``force``.
    """
    opened = _opened(run)
    if not write or opened.path is None:
        return analyze_run(opened, checkpoints=checkpoints, bar=bar)
    Output(opened.dir.analysis_path, force=force, what="analysis")  # refuse before the work
    analysis = analyze_run(opened, checkpoints=checkpoints, bar=bar)
    with RunLock(opened.path, "analyze"):
        write_analysis(opened.path, analysis, force=force)
    return analysis


def report(runs: list[str | os.PathLike[str]], out: str | os.PathLike[str] = "report.html",
           png: str | os.PathLike[str] | None = None, force: bool = False,
           sweep: str | os.PathLike[str] | None = None) -> Path:
    """One self-contained offline HTML report of ``runs`` (several: compared side by side); discrete runs
    get a circuit section with an interactive gate-graph view; ``sweep`` adds a sparsity-sweep table."""
    return make_report(runs, out, png, force=force, sweep=sweep)


# -- compile and prove ----------------------------------------------------------------------------
def compile_circuit(run: RunLike, encoding: str = "auto", simplified: bool = True,
                    abc: bool = False, care: str | None = None) -> Circuit:
    """A discrete run's model as gates (simplified unless told otherwise).

    ``care="valid"`` also uses the inputs the task never produces as don't-cares (``simplify_care``; the
    result is proved equal to the compiled circuit on every valid input, else the plain one is kept).
    """
    opened = require_discrete(_opened(run))
    if care is None:
        return compile_run(opened, encoding, simplified=simplified, abc=abc)
    return simplify_care(opened, encoding)[0]


def simplify_care(run: RunLike, encoding: str = "auto", care: str = "valid") -> tuple[Circuit, CareResult]:
    """The run's circuit simplified on its task's valid inputs, and the proof (``CareResult.proof``)."""
    if care != "valid":
        raise TritlensError(f"unknown care set {care!r:.30}; the one care set is 'valid' (the task's inputs)")
    opened = require_discrete(_opened(run))
    return care_simplify(opened, compile_run(opened, encoding, simplified=False))


def circuit_output(out: str | os.PathLike[str], fmt: str | None = None, force: bool = False,
                   inputs: list[str | os.PathLike[str]] | None = None) -> tuple[Output, str]:
    """The checked output file of an export and its format (from ``fmt`` or the file's extension)."""
    target = Output(out, force=force, inputs=inputs or [], what="output")
    kind = fmt or target.path.suffix.lstrip(".")
    if kind not in FORMATS:
        source = "--format" if fmt else repr(target.path.name)[:60]
        raise TritlensError(f"unknown format {kind!r:.20} (from {source}); choose from {', '.join(FORMATS)}")
    return target, kind


def write_circuit(circuit: Circuit, out: str | os.PathLike[str], fmt: str | None = None,
                  force: bool = False, inputs: list[str | os.PathLike[str]] | None = None) -> Path:
    """Export ``circuit`` as AIGER/BLIF/Verilog/GraphML/JSON/DOT (format from ``fmt`` or the extension)."""
    target, kind = circuit_output(out, fmt, force, inputs)
    return target.write(export(circuit.aig, kind))


def verify(run: RunLike, spec: str | None = None, digits: int | None = None, timeout: float | None = None,
           encoding: str = "auto", simplified: bool = True, care: str | None = None
           ) -> list[tuple[str, ProofResult]]:
    """Prove circuit == model (and circuit == ``spec``): ``[(claim, ProofResult)]``.

    With ``care="valid"`` the don't-care-simplified circuit is proved: first equal to the compiled circuit
    on every valid input (``care simplification``), then equal to the model and spec on those inputs.
    """
    opened = require_discrete(_opened(run))
    if care is None:
        circuit = compile_run(opened, encoding, simplified=simplified)
        return verify_run(opened, circuit, spec, digits, timeout)
    circuit, result = simplify_care(opened, encoding, care)
    domain = care_domain(opened, circuit)
    proofs = verify_run(opened, circuit, spec, digits, timeout, (domain.valid, domain.low))
    return [("care simplification == compiled circuit on valid inputs", result.proof), *proofs]


def check_property(run: RunLike, prop: str | os.PathLike[str], abc: bool = False, max_states: int = 1 << 20,
                   timeout: float | None = None, encoding: str = "auto") -> PropertyResult:
    """Check the properties of file ``prop`` (docs/properties.md) on a discrete run's circuit, for every
    input length; a failure comes with a shortest counterexample replayed on the model."""
    text = read_text(prop, "property file", limit=MAX_PROPERTY_BYTES)
    return check_run(_opened(run), text, str(prop), abc, max_states, timeout, encoding)[1]


def communities(run: RunLike, resolution: float = 1.0, seed: int = 0) -> Partition:
    """Leiden communities of the run's gate graph (structure kept), each with its boundary and formulas."""
    return run_communities(require_discrete(_opened(run)), resolution, seed)[1]


def layout(run: RunLike, method: str = "modules", resolution: float = 1.0, seed: int = 0,
           module: int | None = None) -> dict[str, Any]:
    """Force-directed layout of the run's gate graph (``logic.layout`` format; ``module``: one module)."""
    return run_layout(require_discrete(_opened(run)), method, resolution, seed, module)[1]


def sparsity_sweep(preset: str, values: list[float], seeds: list[int] | None = None,
                   overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Train ``preset`` at each ``model.sparsity`` value and model seed; gates, zero trits, cone modules and
    communities of each run (``logic.sparsity.sweep_table`` formats them)."""
    seeds = [0] if seeds is None else seeds
    check_sweep(preset, values, seeds, PRESETS)
    return _sweep(train, preset, values, seeds, overrides)


def modules(run: RunLike, max_inputs: int = 8, encoding: str = "auto",
            simplified: bool = True) -> list[Module]:
    """Independent parts of a discrete run's circuit; those reading few inputs come with formulas."""
    if not 0 <= max_inputs <= MAX_MODULE_INPUTS:
        raise TritlensError(f"--max-inputs must lie in [0, {MAX_MODULE_INPUTS}], got {max_inputs}")
    circuit = compile_circuit(run, encoding, simplified=simplified)
    return find_modules(circuit.aig, max_inputs=max_inputs)


def aig_stats(path: str | os.PathLike[str]) -> dict[str, int]:
    """Gate statistics of an AIGER file (ASCII or binary)."""
    return circuit_stats(read_aiger(path))
