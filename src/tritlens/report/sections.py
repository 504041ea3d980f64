"""The report's figure list, shared by the HTML page and the PNG export: sections of named figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go

from tritlens.report import arith, circuits, figures
from tritlens.report import inputs as ri
from tritlens.report.inputs import ReportInput

# Data problems a figure function may hit on malformed (not missing) input; the report shows a note.
DRAW_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


@dataclass
class FigureSpec:
    slug: str  # file-name friendly, unique in the report
    title: str
    figure: go.Figure


@dataclass
class Section:
    key: str
    title: str
    caption: str
    figures: list[FigureSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)  # (header, rows) as text


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in out.split("-") if part) or "run"


def _draw(section: Section, slug: str, title: str, build: Callable[[], go.Figure | None],
          missing: str) -> None:
    try:
        fig = build()
    except DRAW_ERRORS as exc:
        section.notes.append(f"{title}: not drawn ({type(exc).__name__}: {exc})")
        return
    if fig is None:
        section.notes.append(missing)
    else:
        section.figures.append(FigureSpec(slug, title, fig))


def _multi(key: str, title: str, caption: str, fn: Callable[[Sequence[ReportInput]], go.Figure | None],
           runs: Sequence[ReportInput], missing: str, fourier_only: bool = False,
           why_missing: Callable[[ReportInput], str | None] | None = None) -> Section:
    sec = Section(key, title, caption)
    if why_missing is not None:
        lacking = [f"{r.name}: {why}" for r in runs if (why := why_missing(r))]
        sec.notes += lacking
        if len(lacking) == len(runs):
            return sec
    if fourier_only:
        sec.notes += [f"{r.name}: {ri.fourier_note(r)}" for r in runs if ri.fourier(r) is None]
        runs = [r for r in runs if ri.fourier(r) is not None]
        if not runs:
            return sec
    _draw(sec, key, title, lambda: fn(runs), missing)
    return sec


def _per_run(key: str, title: str, caption: str, fn: Callable[[ReportInput], go.Figure | None],
             runs: Sequence[ReportInput], what: str) -> Section:
    sec = Section(key, title, caption)
    for run in runs:
        label = ri.run_label(run)
        _draw(sec, f"{key}-{_slug(run.name)}", f"{title}: {label}" if len(runs) > 1 else title,
              lambda run=run: fn(run), f"{run.name}: no {what}")
    return sec


def _no_progress(run: ReportInput) -> str | None:
    progress = ri.section(run, "progress")
    if ri.floats(progress.get("steps")) is not None:
        return None
    return f"no progress measures ({progress.get('skipped') or 'no checkpoints analysed'})"


def report_sections(runs: Sequence[ReportInput]) -> list[Section]:
    """Every section of the report, in page order, with the figures drawn for ``runs``."""
    # arithmetic runs have no Fourier/clock analysis to show
    modular = [r for r in runs if arith.grade_of(r) is None and arith.circuit_of(r) is None]
    sections = [
        _multi("loss", "Loss and accuracy",
               "Train and test loss (log scale) and accuracy at every logged step. Shaded spans are the "
               "phases read from the curves as Nanda et al. (2023) define them: memorisation until the "
               "test loss peaks, circuit formation until its collapse begins (the knee of log test loss), "
               "clean-up until test accuracy reaches 99%; the runs table gives the steps.",
               figures.loss_curves, runs, "no metrics logged"),
        _multi("progress", "Progress measures",
               "Measured at each checkpoint. Restricted loss keeps only the key frequencies of the logits; "
               "excluded loss removes them. Restricted loss falls before test loss does (circuit formation); "
               "the weight norm falls during clean-up.",
               figures.progress_measures, runs, "no progress measures (no checkpoints analysed)",
               why_missing=_no_progress),
        _multi("embed-fourier", "Embedding in the Fourier basis",
               "Norm of each frequency k of the token embedding. A sparse set of key frequencies (red) means "
               "the network represents a and b as cos/sin waves at those frequencies.",
               figures.embed_fourier_norms, runs, "no embedding Fourier norms", fourier_only=True),
        _per_run("attention", "Attention from '=' to a",
                 "Attention score (before softmax) of the '=' position to the a position, over all inputs "
                 "(rows a, columns b), one panel per head. Use the buttons for the softmax pattern.",
                 figures.attention_heads, runs, "attention data"),
        _per_run("neurons", "MLP neuron activations",
                 "Activation of chosen MLP neurons over (a, b), one row per frequency cluster. Neurons of a "
                 "cluster show waves of the same frequency along a+b.",
                 figures.neuron_heatmaps, runs, "neuron activations"),
        _multi("neuron-fve", "Variance explained per neuron",
               "For each MLP neuron, the fraction of its activation variance explained by its best single "
               "frequency, and by a degree-2 polynomial in cos/sin; the dashed line is the cut-off for "
               "counting a neuron as one-frequency.",
               figures.fve_histogram, runs, "no per-neuron variance explained", fourier_only=True),
        _multi("logit-fourier", "Logits in the Fourier basis",
               "Norm of each frequency of the output logits over all inputs; the key frequencies dominate "
               "when the network uses the Fourier multiplication algorithm.",
               figures.logit_fourier_norms, runs, "no logit Fourier norms", fourier_only=True),
    ]
    if not modular:
        sections = sections[:1]
    return [*sections, *arith_sections(runs), *circuit_sections(runs)]


def arith_sections(runs: Sequence[ReportInput]) -> list[Section]:
    """The arithmetic sections, for runs with a ``grade.json`` or ``circuit.json`` (none otherwise)."""
    graded = [r for r in runs if arith.grade_of(r) is not None]
    mapped = [r for r in runs if arith.circuit_of(r) is not None]
    if not graded and not mapped:
        return []
    quanta = _per_run("quanta", "Quanta map",
                      "Useful positions (columns) and nodes (rows: heads and MLPs per layer). Each cell "
                      "shows the node's sub-task tags (a trailing ? marks a weak pass) or, without one, the "
                      "answer digits its ablation breaks; darker cells fail more questions when ablated.",
                      arith.quanta_map, mapped, "useful nodes")
    quanta.notes += arith.hypothesis_notes(mapped)
    sections = [
        _multi("nines", "Nines and failures by class",
               "Failures per complexity class in each run's grade (S: addition carries cascading through "
               "0-4 sum-9 columns, M/N: subtraction borrows with positive/negative answers).",
               arith.nines_by_class, graded, "no grade.json"),
        quanta,
        _per_run("node-attention", "Attention per node",
                 "Mean attention of every useful head to every position over the circuit's question set.",
                 arith.attention_map, mapped, "useful heads"),
    ]
    figure, notes = arith.shared_nodes(mapped)
    if figure is not None:
        shared = Section("shared-nodes", "Maps side by side: what is shared",
                         "For each node, how many runs find it useful; cells show the sub-task tags every "
                         "run agrees on.", notes=notes)
        shared.figures.append(FigureSpec("shared-nodes", "Shared nodes", figure))
        sections.append(shared)
    return sections


def circuit_sections(runs: Sequence[ReportInput]) -> list[Section]:
    """Sections of the circuit analyses, each only when some run has its file."""
    specs = [
        ("attribution", "Direct logit attribution",
         "Mean contribution of each component (embeddings, attention heads, attention biases, MLPs) to the "
         "attributed logit at each answer position: DLA reads it through the final norm with its cached "
         "scale; the direct effect removes the component and recomputes the norm. Without a final norm the "
         "two are equal; NMAE measures how far apart they are.", circuits.attribution_bars),
        ("sensitivity", "Which input moves which answer",
         "Mean absolute change of the logit of the model's prediction at each answer position when one "
         "input token is replaced by another value seen at that position (Bai et al.'s per-digit "
         "attribution grid).", circuits.sensitivity_heatmap),
        ("patching", "Activation vs attribution patching",
         "Change of the metric when one site of the corrupted run takes the clean activation (left), and "
         "its first-order estimate from one backward pass (right), on one colour scale.",
         circuits.patching_heatmaps),
        ("probes", "Probes",
         "Held-out quality of a linear (regression) or logistic (classification) probe per layer and "
         "position: accuracy, or mean absolute error (lower is better), with chance in the title.",
         circuits.probe_heatmaps),
        ("ln-removal", "LayerNorm removal",
         "Test loss during the fine-tune in which the norms go fake one at a time (dotted lines), and the "
         "original model, the same fine-tune with norms, and the norm-free result.", circuits.ln_removal),
    ]
    key_of = {"attribution": "attribution", "sensitivity": "attribution", "patching": "patching",
              "probes": "probes", "ln-removal": "ln_removal"}
    return [_per_run(key, title, caption, fn, [r for r in runs if key_of[key] in r.outputs], key)
            for key, title, caption, fn in specs if any(key_of[key] in r.outputs for r in runs)]


def all_figures(sections: Sequence[Section]) -> list[FigureSpec]:
    return [spec for sec in sections for spec in sec.figures]
