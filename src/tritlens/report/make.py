"""From run directories to a report: load runs, get their analysis and figure data, write HTML (and PNGs).

``tritlens.interp`` is imported only when needed, so the report code works without it as long as
every run has a current ``analysis.json`` (the attention and neuron figures then stay empty).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tritlens.errors import CheckpointError, RunDirError, TritlensError
from tritlens.report.inputs import ReportInput, unique_names

ANALYSIS_FILE = "analysis.json"
SCHEMA = 2  # the analysis.json schema this report reads (tritlens.interp.analysis.SCHEMA)


def _interp(what: str) -> ModuleType:
    try:
        return importlib.import_module("tritlens.interp")
    except ImportError as exc:
        raise TritlensError(f"{what} needs the analysis module tritlens.interp, which cannot be imported "
                            f"({exc})") from None


def _interp_fn(name: str, what: str) -> Any:
    fn = getattr(_interp(what), name, None)
    if fn is None:
        raise TritlensError(f"{what} needs tritlens.interp.{name}, which does not exist")
    return fn


def read_analysis(run_path: Path) -> dict[str, Any] | None:
    """The run's ``analysis.json`` if it exists and is current (schema and newer than the final weights).

    A file that is not valid JSON or not an analysis object is a :class:`TritlensError`.
    """
    path = run_path / ANALYSIS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TritlensError(f"{path} is corrupted ({exc}); delete it to recompute the analysis") from None
    except OSError as exc:
        raise TritlensError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        raise TritlensError(f"{path} is not an analysis (no 'run' object); delete it to recompute")
    if data.get("schema") != SCHEMA:
        return None
    model = run_path / "model.safetensors"
    if model.is_file() and path.stat().st_mtime < model.stat().st_mtime:
        return None
    return data


def load_input(run_dir: str | os.PathLike[str], name: str | None = None) -> ReportInput:
    """One run directory as a :class:`ReportInput` (analysis read or computed, figure data computed)."""
    from tritlens.api import load_run

    path = Path(run_dir)
    if not path.is_dir():
        raise TritlensError(f"{path}: no such run directory")
    run = load_run(path)
    analysis = read_analysis(path)
    if analysis is None:
        analysis = _analyze(run, _interp_fn("analyze_run", f"analysing {path}"))
    figure_data: dict[str, Any] = {}  # without it the report notes the missing attention and neurons
    fourier = analysis.get("fourier")
    if not isinstance(fourier, dict) or fourier.get("applies", True):
        try:
            figure_data = dict(_interp_fn("figure_data", "figure data")(run, analysis))
        except (CheckpointError, RunDirError):
            raise
        except TritlensError:
            pass
    return ReportInput(name or path.name, analysis, list(run.metrics), figure_data)


def _analyze(run: Any, analyze_run: Any) -> dict[str, Any]:
    """``analyze_run(run)``; when the analysis does not apply to the run (task, op, size, no checkpoints),
    the most of it that does, or a minimal analysis with the reason, so the run still gets its loss curves."""
    try:
        return analyze_run(run)
    except (CheckpointError, RunDirError):
        raise
    except TritlensError as exc:
        reason = str(exc)
    try:
        analysis = analyze_run(run, progress=False)
    except (TritlensError, TypeError):
        return minimal_analysis(run, reason)
    analysis.setdefault("progress", {})["skipped"] = reason
    return analysis


def minimal_analysis(run: Any, note: str) -> dict[str, Any]:
    """An analysis dict (contract schema 2) with what a run's config and metrics say, and ``note``."""
    from tritlens.api import trit_summary

    cfg = run.config
    modes = {getattr(cfg.quant, g, "none") for g in ("attn", "mlp", "embed", "unembed")} - {"none"}
    precision = "full" if not modes else modes.pop() if len(modes) == 1 else "mixed"
    final = run.metrics[-1] if run.metrics else {}
    describe = getattr(run.task, "describe", None)
    return {
        "schema": SCHEMA,
        "run": {"path": str(run.path or ""), "preset": cfg.preset,
                "task": describe() if describe else cfg.task_name, "p": getattr(cfg.task, "p", None),
                "op": getattr(cfg.task, "op", None), "precision": precision, "quant": dict(vars(cfg.quant))},
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
        compare = _interp_fn("compare", "comparing runs")
        comparison = compare([i.analysis for i in inputs], names, figure_data=[i.figure_data for i in inputs])
    return inputs, comparison


def make_report(run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
                png_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (and every figure as PNG under ``png_dir``).

    Everything is computed before anything is written, and each file is written atomically.
    """
    from tritlens.report.html import build_report, write_file
    from tritlens.report.png import render_pngs, save_pngs
    from tritlens.report.sections import all_figures, report_sections

    out = Path(out)
    if out.is_dir():
        raise TritlensError(f"{out} is a directory; give the report a file name such as "
                            f"{out / 'report.html'}")
    if png_dir is not None and Path(png_dir).exists() and not Path(png_dir).is_dir():
        raise TritlensError(f"{png_dir} exists and is not a directory")
    inputs, comparison = load_inputs(run_dirs)
    page = build_report(inputs, comparison)
    images = render_pngs(all_figures(report_sections(inputs))) if png_dir is not None else {}
    if png_dir is not None:
        save_pngs(images, png_dir)
    write_file(out, page.encode())
    return out
