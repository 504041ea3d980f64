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

Bad input raises :class:`tritlens.errors.TritlensError` with a one-line message. Functions that
write take ``force``: without it an existing output is never replaced, and a command's own inputs
are never replaced even with it. Writers into a run directory hold its lock while they write.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import ConfigError, TritlensError, short
from tritlens.interp import analyze_run, write_analysis
from tritlens.interp.arith import (
    circuit_search,
    default_hypothesis,
    grade_run,
    require_arith,
    tagged_from_records,
)
from tritlens.interp.attribution import attribute_run
from tritlens.interp.filters import check_hypothesis, parse_hypothesis
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
from tritlens.logic.runs import MAX_SPEC_DIGITS, circuit_info, compile_run, require_discrete, verify_run
from tritlens.models import Model, parameter_count, trit_summary
from tritlens.presets import PRESETS, preset_config
from tritlens.report import make_report
from tritlens.run import Output, Run, RunDir, RunLock, load_run, schema
from tritlens.run.schema import ATTRIBUTION, PATCHING, PROBES
from tritlens.run.schema import clean as plain
from tritlens.tasks import Split, Task
from tritlens.train.ensemble import member_configs, member_overrides, parse_members, train_members
from tritlens.train.memory import resolve_device
from tritlens.train.removal import remove_ln as _remove_ln
from tritlens.train.session import train_config
from tritlens.train.trainer import Event

RunLike = Run | str | os.PathLike[str]
MAX_MODULE_INPUTS = 16
MAX_SECONDS = 86_400
MAX_PER_CLASS = 10_000

__all__ = ["Run", "RunConfig", "presets", "make_config", "train", "train_ensemble", "load_run", "info",
           "analyze", "grade", "circuit", "hypothesis_text", "check", "report",
           "compile_circuit", "circuit_output", "write_circuit", "verify", "modules", "aig_stats",
           "parameter_count", "trit_summary", "remove_ln", "attribute", "patching", "probe", "vsa_probe"]


def _opened(run: RunLike) -> Run:
    return run if isinstance(run, Run) else load_run(_path(run, "run"))


# -- checks of what a caller passes (the CLI's parser does the same for the command line) ---------
def _path(value: object, what: str) -> Path:
    """A path given as str or os.PathLike; anything else is bad input, not a TypeError."""
    try:
        text = os.fspath(value)  # type: ignore[arg-type]
    except TypeError:
        text = None
    if not isinstance(text, str) or "\x00" in text:
        raise TritlensError(f"{what} must be a path (a str or os.PathLike), got {short(value)}")
    return Path(text)


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise TritlensError(f"{what} must be an integer in [{lo}, {hi}], got {short(value)}")
    return value


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < value <= MAX_SECONDS:  # type: ignore[operator]
        raise TritlensError(f"timeout must be a number of seconds in (0, {MAX_SECONDS}], got {short(value)}")
    return float(value)  # type: ignore[arg-type]


# -- train ----------------------------------------------------------------------------------------
def presets() -> dict[str, str]:
    """Preset name -> one-line description of the paper setup it reproduces."""
    return {name: spec["about"] for name, spec in PRESETS.items()}


def make_config(preset: str = "quick", overrides: list[str] | dict[str, Any] | None = None) -> RunConfig:
    """A preset's full config with ``overrides`` (``"section.key=value"`` strings or a dict) applied."""
    return preset_config(preset, _assignments(overrides) if overrides else None)


def _assignments(overrides: list[str] | dict[str, Any]) -> list[str]:
    if isinstance(overrides, dict):
        return [f"{k}={v}" for k, v in overrides.items()]
    if isinstance(overrides, str) or not isinstance(overrides, list | tuple) \
            or not all(isinstance(item, str) for item in overrides):
        raise ConfigError(f"overrides must be a dict or a list of 'section.key=value' strings, got "
                          f"{short(overrides)}")
    return list(overrides)


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
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"preset must be a preset name, got {short(preset)}")
    if config is not None and not isinstance(config, RunConfig):
        raise ConfigError(f"config must be a RunConfig (see make_config), got {short(config)}")
    if on_event is not None and not isinstance(on_event, Callable):  # type: ignore[arg-type]
        raise ConfigError(f"on_event must be a function (event, step), got {short(on_event)}")
    out = None if out is None else _path(out, "out")
    if config is None and preset is None and resume and out is not None and RunDir(out).exists():
        config = RunDir(out).read_config()
    if config is None:
        config = make_config("quick" if preset is None else preset, overrides)
    elif overrides:
        config = config.with_overrides(_assignments(overrides))
    return train_config(config, out, resume=resume, force=force, progress=progress, task=task,
                        on_event=on_event)


def train_ensemble(preset: str | None = None, out: str | os.PathLike[str] | None = None,
                   seeds: str | list[int] | None = None, vary: dict[str, list[Any]] | list[str] | None = None,
                   overrides: list[str] | dict[str, Any] | None = None, config: RunConfig | None = None,
                   resume: bool = False, force: bool = False, progress: bool = True) -> list[Run]:
    """Train one member per seed (``"0-7"``, ``"0,3,5"`` or a list) and per combination of ``vary``
    values (``{"train.weight_decay": [0.5, 1.0]}`` or ``["train.weight_decay=0.5,1.0"]``) as one batched
    model; each member is an ordinary run in ``out/seed-N...``. See :mod:`tritlens.train.ensemble`."""
    if resume and force:
        raise ConfigError("resume and force contradict each other: resume continues a run, force replaces it")
    if out is None:
        raise ConfigError("an ensemble needs out: the folder that holds one run per member")
    root = _path(out, "out")
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"preset must be a preset name, got {short(preset)}")
    if config is not None and not isinstance(config, RunConfig):
        raise ConfigError(f"config must be a RunConfig (see make_config), got {short(config)}")
    seed_list, varied = parse_members(seeds, vary)
    if config is None and preset is None and resume:
        stored = [root / name for name, _ in member_overrides(seed_list, varied)]
        config = next((RunDir(p).read_config() for p in stored if RunDir(p).exists()), None)
    if config is None:
        config = make_config("quick" if preset is None else preset, overrides)
    elif overrides:
        config = config.with_overrides(_assignments(overrides))
    return train_members(member_configs(config, seed_list, varied), root, resume=resume, force=force,
                         progress=progress)


def info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything ``tritlens info`` shows, as plain data (unfinished runs too: the latest checkpoint)."""
    rd = RunDir(_path(path, "run")).require()
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

    With ``write`` (and a run on disk) the result goes to ``RUN/analysis.json``; the run's lock is
    held from before it is read until the file is written, so it never reads a run a trainer is
    writing. An existing analysis.json is replaced only with ``force``.
    """
    path = None if isinstance(run, Run) else _path(run, "run")
    target = run.path if isinstance(run, Run) else path
    if not write or target is None:
        return analyze_run(_opened(run), checkpoints=checkpoints, bar=bar)
    RunDir(target).require_complete()
    Output(RunDir(target).analysis_path, force=force, what="analysis")  # refuse before the work
    with RunLock(target, "analyze"):
        opened = run if isinstance(run, Run) else load_run(target)
        analysis = analyze_run(opened, checkpoints=checkpoints, bar=bar)
        write_analysis(target, analysis, force=force)
    return analysis


def grade(run: RunLike, questions: int = 1_000_000, exhaustive: bool = False, enriched: bool = False,
          seed: int = 0, write: bool = True, force: bool = False, device: str = "cpu") -> dict[str, Any]:
    """Grade an arithmetic run on ``questions`` seeded questions (or every question): failures, nines,
    failures by class and answer digit, the first failing questions, on ``device`` (cpu or cuda).
    Written to ``RUN/grade.json``."""
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device must be cpu or cuda, got {short(device)}")
    dev = resolve_device(device)
    opened = _opened(run)
    require_arith(opened)
    opened.model.to(dev)
    target = Output(opened.dir.file("grade.json"), force=force, what="grade") \
        if write and opened.path is not None else None
    result = grade_run(opened, questions, exhaustive, enriched, seed)
    if target is not None:
        _write_json(opened, target, "grade", result, schema.GRADE)
    return result


def circuit(run: RunLike, hypothesis: str | None = None, per_class: int = 100, seed: int = 0,
            write: bool = True, force: bool = False) -> dict[str, Any]:
    """The circuit search of an arithmetic run (useful positions and nodes, attention, PCA and sub-task
    tags, the hypothesis check; ``hypothesis`` is clause text, default the paper's algorithm).
    Written to ``RUN/circuit.json``."""
    opened = _opened(run)
    require_arith(opened)
    if not 1 <= per_class <= MAX_PER_CLASS:
        raise TritlensError(f"--per-class must lie in [1, {MAX_PER_CLASS}], got {per_class}")
    target = Output(opened.dir.file("circuit.json"), force=force, what="circuit") \
        if write and opened.path is not None else None
    result = circuit_search(opened, per_class, seed, hypothesis)
    if target is not None:
        _write_json(opened, target, "circuit", result, schema.CIRCUIT)
    return result


def hypothesis_text(run: RunLike) -> str:
    """The paper's algorithm for an arithmetic run's task, as hypothesis clauses."""
    return default_hypothesis(require_arith(_opened(run)))


def check(run: RunLike, hypothesis: str) -> dict[str, Any]:
    """Score hypothesis clauses against a run's ``circuit.json`` (no new search)."""
    opened = _opened(run)
    task = require_arith(opened)
    if opened.path is None or not opened.dir.file("circuit.json").exists():
        raise TritlensError("no circuit.json in this run; run `tritlens circuit RUN` first")
    found = opened.dir.read_json("circuit.json", schema.CIRCUIT)
    clauses = parse_hypothesis(hypothesis, task.layout.position_of)
    return check_hypothesis(tagged_from_records(found["nodes"]), clauses)


def _write_json(run: Run, target: Output, command: str, data: dict[str, Any], shape: dict[str, Any]) -> None:
    text = schema.dumps(data)
    schema.check(schema.loads(text, target.what), shape, target.what)
    with RunLock(run.dir.path, command):
        target.write(text)


def report(runs: list[str | os.PathLike[str]], out: str | os.PathLike[str] = "report.html",
           png: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """One self-contained offline HTML report of ``runs`` (several: compared side by side)."""
    paths = [runs] if isinstance(runs, str | os.PathLike) else runs
    if not isinstance(paths, list | tuple):
        raise TritlensError(f"runs must be a list of run directories, got {short(runs)}")
    return make_report([_path(r, "run") for r in paths], _path(out, "report"),
                       None if png is None else _path(png, "png folder"), force=force)


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
    target = Output(_path(out, "output"), force=force, inputs=[_path(i, "input") for i in inputs or []],
                    what="output")
    if fmt is not None and not isinstance(fmt, str):
        raise TritlensError(f"format must be one of {', '.join(FORMATS)}, got {short(fmt)}")
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
    timeout = _seconds(timeout)
    if digits is not None:
        digits = _int(digits, "digits", 1, MAX_SPEC_DIGITS)
    if spec is not None and not isinstance(spec, str):
        raise TritlensError(f"spec must be a spec name, got {short(spec)}")
    opened = require_discrete(_opened(run))
    circuit = compile_run(opened, encoding, simplified=simplified)
    return verify_run(opened, circuit, spec, digits, timeout)


def modules(run: RunLike, max_inputs: int = 8, encoding: str = "auto",
            simplified: bool = True) -> list[Module]:
    """Independent parts of a discrete run's circuit; those reading few inputs come with formulas."""
    max_inputs = _int(max_inputs, "max_inputs", 0, MAX_MODULE_INPUTS)
    circuit = compile_circuit(run, encoding, simplified=simplified)
    return find_modules(circuit.aig, max_inputs=max_inputs)


def aig_stats(path: str | os.PathLike[str]) -> dict[str, int]:
    """Gate statistics of an AIGER file (ASCII or binary)."""
    return circuit_stats(read_aiger(_path(path, "AIGER file")))
