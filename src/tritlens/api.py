"""The front door: every stage of tritlens as a Python call (what the CLI does, a notebook can do).

    import tritlens.api as tl
    run = tl.train("quick", out="runs/quick")            # train (or resume) into a run directory
    run = tl.load_run("runs/quick")                      # .model, .config, .task, .metrics
    analysis = tl.analyze("runs/quick")                  # Fourier/clock analysis -> analysis.json
    tl.report(["runs/quick"], "report.html")             # offline HTML report
    circuit = tl.compile_circuit("runs/adder")           # discrete runs: gates ...
    results = tl.verify("runs/adder", spec="add")        # ... and proofs
    tl.remove_ln("runs/ln", out="runs/ln-free")          # fine-tune LayerNorm away (a norm-free run)
    tl.attribute("runs/ln-free")                         # DLA and direct effects -> attribution.json
    tl.patching("runs/ln-free")                          # activation vs attribution patching
    tl.probe("runs/ln-free", target="a")                 # layer x position probes -> probes.json

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
from tritlens.interp.attribution import attribute_run
from tritlens.interp.patching import Pairs, patch_run
from tritlens.interp.probes import Target, probe_key, probe_run
from tritlens.interp.runs import output, update_output, write_output
from tritlens.interp.vsa import vsa_probe_run
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
from tritlens.logic.runs import circuit_info, compile_run, require_discrete, verify_run
from tritlens.models import Model, parameter_count, trit_summary
from tritlens.presets import PRESETS, preset_config
from tritlens.report import make_report
from tritlens.run import Output, Run, RunDir, RunLock, load_run
from tritlens.run.schema import ATTRIBUTION, PATCHING, PROBES
from tritlens.run.schema import clean as plain
from tritlens.tasks import Split, Task
from tritlens.train.removal import remove_ln as _remove_ln
from tritlens.train.session import train_config
from tritlens.train.trainer import Event

RunLike = Run | str | os.PathLike[str]
MAX_MODULE_INPUTS = 16

__all__ = ["Run", "RunConfig", "presets", "make_config", "train", "load_run", "info", "analyze", "report",
           "compile_circuit", "circuit_output", "write_circuit", "verify", "modules", "aig_stats",
           "parameter_count", "trit_summary", "remove_ln", "attribute", "patching", "probe", "vsa_probe"]


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
           png: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """One self-contained offline HTML report of ``runs`` (several: compared side by side)."""
    return make_report(runs, out, png, force=force)


# -- circuits: LayerNorm removal, attribution, patching, probes -------------------------------------
def remove_ln(run: RunLike, out: str | os.PathLike[str], overrides: list[str] | dict[str, Any] | None = None,
              resume: bool = False, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Fine-tune a run's LayerNorms (or RMSNorms) away into ``out``, an ordinary ``norm=none`` run.

    ``overrides`` set the schedule and fine-tuning (``steps``, ``gap``, ``order``, ``lr``, ...; see
    :class:`tritlens.train.removal.RemovalConfig`). Returns the three-way comparison (original,
    fine-tuned with norms, norm-free), also written to ``out/ln_removal.json``.
    """
    return _remove_ln(_opened(run), out, overrides, resume=resume, force=force, progress=progress)


def attribute(run: RunLike, examples: int | None = 1000, split: str = "test", logit: str | int = "correct",
              write: bool = True, force: bool = False) -> dict[str, Any]:
    """Direct logit attribution and direct effects per component -> ``RUN/attribution.json``."""
    opened = _opened(run)
    writing = write and opened.path is not None
    if writing:
        output(opened, "attribution.json", force)
    _, data = attribute_run(opened, examples, split, logit)
    if writing:
        write_output(opened, "attribution.json", data, ATTRIBUTION, force)
    return plain(data)


def patching(run: RunLike, examples: int | None = 1000, split: str = "test", metric: str = "logit_diff",
             corrupt: str | list[int] = "resample", grids: list[str] | None = None, write: bool = True,
             force: bool = False, clean: Split | None = None,
             corrupted: Split | None = None) -> dict[str, Any]:
    """Activation and attribution patching (and their agreement) -> ``RUN/patching.json``.

    Pairs come from the run's split and ``corrupt``, or are given as ``clean`` and ``corrupted``
    examples (tokens and targets of the same shapes).
    """
    opened = _opened(run)
    writing = write and opened.path is not None
    if (clean is None) != (corrupted is None):
        raise TritlensError("give both clean and corrupted examples, or neither")
    pairs = Pairs(clean, corrupted) if clean is not None and corrupted is not None else None
    if writing:
        output(opened, "patching.json", force)
    data = patch_run(opened, examples, split, metric, corrupt, grids, pairs=pairs)
    if writing:
        write_output(opened, "patching.json", data, PATCHING, force)
    return plain(data)


def probe(run: RunLike, target: Target, hook: str = "resid_post", positions: list[int] | None = None,
          examples: int | None = 2000, split: str = "test", classes: int | None = None,
          shuffle: bool = False, write: bool = True, force: bool = False) -> dict[str, Any]:
    """Probe quality over layer x position for one target; added to ``RUN/probes.json`` under
    ``target@hook`` (an existing entry is replaced only with ``force``)."""
    opened = _opened(run)
    key = probe_key(target, hook, shuffle)
    writing = _probe_slot(opened, key, write, force)
    data = probe_run(opened, target, hook, positions, examples, split, classes, shuffle)
    return _add_probe(opened, key, data, writing)


def vsa_probe(run: RunLike, targets: list[str], hook: str = "resid_post", position: int | None = None,
              examples: int | None = 2000, split: str = "test", dim: int = 4096, write: bool = True,
              force: bool = False) -> dict[str, Any]:
    """A hyperdimensional probe decoding the bindings of several class targets (roles) at one position,
    against a logistic probe per role; added to ``RUN/probes.json`` under ``vsa:targets@hook``."""
    opened = _opened(run)
    key = f"vsa:{','.join(targets)}@{hook}"
    writing = _probe_slot(opened, key, write, force)
    data = vsa_probe_run(opened, targets, hook, position, examples, split, dim)
    return _add_probe(opened, key, data, writing)


def _probe_slot(run: Run, key: str, write: bool, force: bool) -> bool:
    """Whether the probe will be written; refuses an existing entry without ``force`` (before the work)."""
    writing = write and run.path is not None
    if writing and not force and run.dir.file("probes.json").exists() \
            and key in run.dir.read_json("probes.json", PROBES)["probes"]:
        raise TritlensError(f"probes.json already holds {key}; pass --force to replace it")
    return writing


def _add_probe(run: Run, key: str, data: dict[str, Any], writing: bool) -> dict[str, Any]:
    if writing:
        update_output(run, "probes.json", PROBES,
                      lambda old: {"schema": 1, "probes": {**(old or {}).get("probes", {}), key: data}})
    return plain(data)


# -- compile and prove ----------------------------------------------------------------------------
def compile_circuit(run: RunLike, encoding: str = "auto", simplified: bool = True,
                    abc: bool = False) -> Circuit:
    """A discrete run's model as gates (simplified unless told otherwise)."""
    return compile_run(require_discrete(_opened(run)), encoding, simplified=simplified, abc=abc)


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
           encoding: str = "auto", simplified: bool = True) -> list[tuple[str, ProofResult]]:
    """Prove circuit == model (and circuit == ``spec``): ``[(claim, ProofResult)]``."""
    opened = require_discrete(_opened(run))
    circuit = compile_run(opened, encoding, simplified=simplified)
    return verify_run(opened, circuit, spec, digits, timeout)


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
