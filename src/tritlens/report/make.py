"""From run directories to a report: load runs, get their analysis and figure data, write HTML (and PNGs)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tritlens.errors import CheckpointError, RunDirError, TritlensError
from tritlens.interp import analyze_run, compare, figure_data
from tritlens.interp.analysis import SCHEMA
from tritlens.models import is_discrete, trit_summary
from tritlens.report.gates import circuit_data
from tritlens.report.html import build_report
from tritlens.report.inputs import ReportInput, unique_names
from tritlens.report.png import png_outputs, render_pngs
from tritlens.report.sections import Section, all_figures, report_sections
from tritlens.report.sweep import sweep_section
from tritlens.run import Output, Run, RunDir, load_run
from tritlens.run import schema as run_schema
from tritlens.run.files import read_text
from tritlens.run.schema import ATTRIBUTION, LN_REMOVAL, PATCHING, PROBES
from tritlens.sweep.summary import TRIALS, is_sweep, summarize

ANALYSIS_FILE = "analysis.json"
CIRCUIT_FILES = {"grade": ("grade.json", run_schema.GRADE), "circuit": ("circuit.json", run_schema.CIRCUIT),
                 "attribution": ("attribution.json", ATTRIBUTION), "patching": ("patching.json", PATCHING),
                 "probes": ("probes.json", PROBES), "ln_removal": ("ln_removal.json", LN_REMOVAL)}


def read_analysis(run_path: Path) -> dict[str, Any] | None:
    """The run's ``analysis.json`` if it exists and is current (schema, and newer than the final weights).

    A file that is not valid JSON or not shaped like an analysis is a one-line :class:`RunDirError`.
    """
    path = run_path / ANALYSIS_FILE
    if not os.path.lexists(path):  # a dangling link is a damaged file, not a missing one
        return None
    data = run_schema.check(run_schema.loads(read_text(path, "analysis"), str(path)), run_schema.ANALYSIS,
                            str(path))
    if data.get("schema") != SCHEMA:
        return None
    model = run_path / "model.safetensors"
    if model.is_file() and path.stat().st_mtime < model.stat().st_mtime:
        return None
    return data


def load_input(run_dir: str | os.PathLike[str], name: str | None = None) -> ReportInput:
    """One run directory as a :class:`ReportInput` (analysis read or computed, figure data computed)."""
    path = RunDir(run_dir).require_complete().path
    run = load_run(path)
    analysis = read_analysis(path)
    if analysis is None:
        analysis = _analyze(run)
    figures: dict[str, Any] = {}  # without it the report notes the missing attention and neurons
    fourier = analysis.get("fourier")
    if not isinstance(fourier, dict) or fourier.get("applies", True):
        try:
            figures = dict(figure_data(run, analysis))
        except (CheckpointError, RunDirError):
            raise
        except TritlensError:
            pass
    return ReportInput(name or path.name, analysis, list(run.metrics), figures, circuit_outputs(path),
                       _gates(run))


def circuit_outputs(run_path: Path) -> dict[str, Any]:
    """The circuit analyses' files a run has, checked against their schemas (a damaged one is an error)."""
    rd = RunDir(run_path)
    return {key: rd.read_json(name, shape) for key, (name, shape) in CIRCUIT_FILES.items()
            if rd.file(name).is_file()}


def _gates(run: Run) -> dict[str, Any] | None:
    """The circuit section's data for a fully discrete run; a note when it cannot be built."""
    try:
        return circuit_data(run)
    except TritlensError as exc:
        return {"note": str(exc), "layout": None}


def _analyze(run: Run) -> dict[str, Any]:
    """The run's analysis; when it does not apply to the run (task, op, size, no checkpoints), the most
    of it that does, or a minimal analysis with the reason, so the run still gets its loss curves."""
    try:
        return analyze_run(run)
    except (CheckpointError, RunDirError):
        raise
    except TritlensError as exc:
        reason = str(exc)
    try:
        analysis = analyze_run(run, checkpoints=False)
    except TritlensError:
        return minimal_analysis(run, reason)
    analysis.setdefault("progress", {})["skipped"] = reason
    return analysis


def minimal_analysis(run: Run, note: str) -> dict[str, Any]:
    """An analysis dict (contract schema 2) with what a run's config and metrics say, and ``note``."""
    cfg = run.config
    modes = {getattr(cfg.quant, g, "none") for g in ("attn", "mlp", "embed", "unembed")} - {"none"}
    precision = "full" if not modes else modes.pop() if len(modes) == 1 else "mixed"
    if is_discrete(run.model):
        precision = "discrete"
    final = run.metrics[-1] if run.metrics else {}
    return {
        "schema": SCHEMA,
        "run": {"path": str(run.path or ""), "preset": cfg.preset, "task": run.task.describe(),
                "p": getattr(cfg.task, "p", None), "op": getattr(cfg.task, "op", None),
                "precision": precision, "quant": dict(vars(cfg.quant))},
        "final": {k: final.get(k) for k in ("step", "train_loss", "train_acc", "test_loss", "test_acc")},
        "fourier": {"applies": False, "note": note},
        "progress": {},
        "trits": {k: v for k, v in trit_summary(run.model).items() if k != "matrices"},
    }


def load_inputs(run_dirs: Sequence[str | os.PathLike[str]],
                ) -> tuple[list[ReportInput], dict[str, Any] | None]:
    """Every run as a :class:`ReportInput`, and the comparison of them when there are two or more."""
    if not run_dirs:
        raise TritlensError("a report needs at least one run directory")
    names = unique_names([Path(d).resolve().name or str(d) for d in run_dirs])
    inputs = [load_input(d, name) for d, name in zip(run_dirs, names, strict=True)]
    comparison = None
    if len(inputs) >= 2:
        comparison = compare([i.analysis for i in inputs], names, figure_data=[i.figure_data for i in inputs])
    return inputs, comparison


def read_sweep(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A sparsity-sweep file (``tritlens sparsity-sweep ... -o FILE``); a one-line error when malformed."""
    data = run_schema.loads(read_text(path, "sweep file"), str(path))
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TritlensError(f"{path} is not a sparsity-sweep file (expected an object with a list of rows)")
    return data


def sweep_inputs(run_dirs: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[Section]]:
    """Sweep directories replaced by their complete trials, and a Sweep section for every sweep given
    (or whose trials are given)."""
    runs: list[Path] = []
    sweeps: dict[Path, Path] = {}
    for d in map(Path, run_dirs):
        if is_sweep(d):
            sweeps.setdefault(d.resolve(), d)
            trials = [d / TRIALS / t.name for t in summarize(d).trials if t.status == "complete"]
            if not trials:
                raise TritlensError(f"sweep {d} has no complete trial to report yet")
            runs += trials
        else:
            runs.append(d)
            if d.resolve().parent.name == TRIALS and is_sweep(d.resolve().parent.parent):
                sweeps.setdefault(d.resolve().parent.parent, d.resolve().parent.parent)
    keys = ["sweep"] if len(sweeps) == 1 else [f"sweep-{i + 1}" for i in range(len(sweeps))]
    summaries = [summarize(p).to_dict() for p in sweeps.values()]
    return runs, [sweep_section(s, k) for s, k in zip(summaries, keys, strict=True)]


def make_report(run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
                png_dir: str | os.PathLike[str] | None = None, force: bool = False,
                sweep: str | os.PathLike[str] | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (and every figure as PNG under ``png_dir``); ``sweep``
    adds the table of a sparsity-sweep file.

    Outputs are checked first (an existing file needs ``force``; a run's own files are never
    replaced); everything is computed before anything is written, and each file is written atomically.
    """
    page_out = Output(out, force=force, inputs=run_dirs, what="report")
    if png_dir is not None and Path(png_dir).exists() and not Path(png_dir).is_dir():
        raise TritlensError(f"--png {png_dir} exists and is not a directory")
    sweep_data = read_sweep(sweep) if sweep is not None else None
    runs, extra = sweep_inputs(run_dirs)
    inputs, comparison = load_inputs(runs)
    page = build_report(inputs, comparison, sweep=sweep_data, extra=extra)
    figures = all_figures([*extra, *report_sections(inputs)])
    pngs = png_outputs(figures, png_dir, force, run_dirs) if png_dir is not None else []
    images = render_pngs(figures) if png_dir is not None else {}
    for output in pngs:
        output.write(images[output.path.stem])
    return page_out.write(page.encode())
