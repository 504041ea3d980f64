"""analysis.json for one run: final-model Fourier measures, progress over checkpoints, trit statistics.

``analyze_run`` returns plain JSON data (schema 2, the data contract the report reads; schema 1 plus
``fourier.layers``, ``fourier.clock_amplitudes`` and ``norm_key_*``, with key frequencies from the clock
amplitudes and phases from the progress measures);
``figure_data`` returns the heavy arrays the report plots; ``summary_rows`` the CLI's readable table.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tritlens.errors import RunDirError, TritlensError
from tritlens.interp.attention import operand_reads
from tritlens.interp.fourier import FVE_CUTOFF
from tritlens.interp.grid import (
    CyclicView,
    check_grid_fits,
    cyclic_view,
    group_tokens,
    raw_tokens,
    train_mask,
)
from tritlens.interp.measures import final_measures
from tritlens.interp.progress import progress_curves
from tritlens.models import Model, is_discrete, trit_summary
from tritlens.run import Output, Run, RunDir
from tritlens.run.schema import clean, dumps
from tritlens.threads import torch_threads

SCHEMA = 2  # 2: clock-amplitude key rule, phases from the progress measures, per-layer section
NEURONS_PER_CLUSTER = 4
# The analysis is many small tensor ops; on the 2-core target with other work running, two threads
# oversubscribe the cores (benchmark, p = 113 with 50 checkpoints: 8.5 s on one thread vs 38 s on two).
ANALYSIS_THREADS = 1
MEASURES = {
    "add": "all measures apply (clock algorithm on a + b)",
    "sub": "all measures apply: a - b is a clock algorithm with cos(w(a - b - c)); the logit directions are "
           "cos/sin(w(a - b)) and neurons are degree-2 in one frequency just as for addition",
    "mul": "all measures apply after re-indexing by discrete logs (a * b = g^(i + j)); embedding norms, "
           "neuron and logit measures are over Z_(p-1) in log order; pairs with a zero are left out of them",
    "div": "all measures apply after re-indexing by discrete logs (a / b = g^(i - j)), over Z_(p-1); pairs "
           "with a zero are left out",
}


def precision(quant: Any) -> str:
    """full / binary / ternary / mixed from the quantized component groups."""
    modes = {getattr(quant, g) for g in ("attn", "mlp", "embed", "unembed")} - {"none"}
    if not modes:
        return "full"
    return modes.pop() if len(modes) == 1 else "mixed"


def _final(run: Run, grid: dict[str, float]) -> dict[str, Any]:
    """Loss and accuracy of the analysed weights on the run's split (computed on the grid, so they are
    right also for a run opened at a checkpoint); the step is the last logged one when its logged train
    loss matches these weights, else None."""
    keys = ("train_loss", "train_acc", "test_loss", "test_acc")
    last = run.metrics[-1] if run.metrics else {}
    logged = last.get("train_loss")
    same = isinstance(logged, int | float) and math.isclose(logged, grid["train_loss"], rel_tol=1e-3,
                                                            abs_tol=1e-9)
    return {"step": last.get("step") if same else None, **{k: grid[k] for k in keys}}


def _run_info(run: Run, view: CyclicView) -> dict[str, Any]:
    quant = run.config.quant
    return {"path": str(run.path) if run.path is not None else "", "preset": run.config.preset,
            "task": run.task.describe(), "p": view.p, "op": view.op,
            "precision": "discrete" if is_discrete(run.model) else precision(quant),
            "quant": dict(vars(quant)), "group_order": view.n, "generator": view.generator,
            "n_layers": len(getattr(run.model, "blocks", [])),
            "pos_embed": getattr(run.model, "pos_embed", None) is not None,
            "causal": bool(getattr(getattr(run.model, "cfg", None), "causal", False)),
            "grokfast": _grokfast(run.config.train)}


def _grokfast(train: Any) -> dict[str, float] | None:
    """The GrokFast filter's settings when the run trained with it (runs before it existed: None)."""
    lamb = getattr(train, "grokfast_lambda", 0.0)
    return {"alpha": train.grokfast_alpha, "lambda": lamb} if lamb > 0 else None


def _trits(model: Model) -> dict[str, Any]:
    return dict(trit_summary(model))


def prepare(run: Run) -> tuple[CyclicView, torch.Tensor]:
    """Check the run can be analysed; return its group view and training mask."""
    view = cyclic_view(run.task)
    check_grid_fits(run.model, view.p)
    return view, train_mask(run.task, view)


def analyze_run(run: Run, checkpoints: bool = True, bar: bool = False) -> dict[str, Any]:
    """The analysis.json content for a loaded run (``tritlens.run.load_run``): a TritlensError when the
    analysis does not apply (task, op, size) or, with ``checkpoints``, when the run has none.
    ``checkpoints=False`` measures the final weights only; ``bar`` shows a progress bar over checkpoints."""
    view, train = prepare(run)
    with torch.no_grad(), torch_threads(ANALYSIS_THREADS):
        fourier = final_measures(run.model, view, train)
        prog = progress_curves(run, view, train, fourier["key_frequencies"], bar) if checkpoints else {
            "steps": [], "train_loss": [], "test_loss": [], "restricted_loss": [], "excluded_loss": [],
            "weight_norm": [], "key_norm_frac": [], "phases": [], "phase_note": "",
            "skipped": "final weights only (checkpoints not analysed)"}
        reads = operand_reads(run.model, group_tokens(view))
    grid = fourier.pop("grid")
    fourier.update({"fve_cutoff": FVE_CUTOFF, "applies": True, "note": f"{MEASURES[view.op]}{view.note}"})
    analysis = {"schema": SCHEMA, "run": _run_info(run, view), "final": _final(run, grid),
                "fourier": fourier, "progress": prog, "trits": _trits(run.model), "attention": reads}
    return clean(analysis)


def write_analysis(run_dir: str | os.PathLike[str], analysis: dict[str, Any], force: bool = False) -> Path:
    """Write ``analysis.json`` atomically (serialised first, so a failure leaves any old file intact)."""
    out = Output(RunDir(run_dir).analysis_path, force=force, what="analysis")
    return out.write(dumps(analysis))


def _select_neurons(fourier: dict[str, Any], n_neurons: int,
                    per_cluster: int = NEURONS_PER_CLUSTER) -> tuple[list[int], list[int]]:
    """A few neurons per frequency cluster (highest FVE first); the best neurons overall if no cluster.

    The neuron lists come from analysis.json, which may be stale or edited: they must describe exactly
    ``n_neurons`` neurons, else a RunDirError (never an IndexError deep in the report)."""
    fve, freq = fourier.get("neuron_fve", []), fourier.get("neuron_freq", [])
    clusters = fourier.get("clusters", {})
    members = [i for m in clusters.values() for i in m] if isinstance(clusters, dict) else [None]
    if fve or freq or members:
        fits = len(fve) == len(freq) == n_neurons and all(isinstance(v, int | float) for v in fve)
        if not fits or not all(isinstance(i, int) and 0 <= i < n_neurons for i in members):
            raise RunDirError(f"analysis.json does not match this run's {n_neurons} neurons (neuron_fve, "
                              "neuron_freq or clusters); rerun `tritlens analyze --force`")
    ids: list[int] = []
    for group in clusters.values():
        ids += sorted(group, key=lambda i: -fve[i])[:per_cluster]
    if not ids:
        ids = sorted(range(len(fve)), key=lambda i: -fve[i])[:2 * per_cluster]
    return ids, [freq[i] for i in ids]


@torch.no_grad()
def figure_data(run: Run, analysis: dict[str, Any]) -> dict[str, np.ndarray]:
    """Heavy arrays for the report, over the raw (a, b) grid of tokens 0..p-1 (row a, column b).

    attn_eq_to_a / attn_pattern_eq_to_a: [n_heads, p, p] first block's score (pre-softmax) and pattern
    from '=' to the a position (the block that reads a and b); attn_eq_to_a_by_layer /
    attn_pattern_eq_to_a_by_layer: [n_layers, n_heads, p, p] the same for every block; neuron_acts:
    [n_sel, p, p] post-activation at '=' of the chosen neurons of the last block's MLP (the one the
    top-level neuron measures describe; ``neuron_layer`` says which); group_inputs: [n] the tokens in
    group order (log order for mul/div) to re-index the grids.
    """
    view, _ = prepare(run)
    p, model = view.p, run.model
    blocks = getattr(model, "blocks", [])
    last = len(blocks) - 1
    attn = [(f"blocks.{i}.attn.hook_attn_scores", f"blocks.{i}.attn.hook_pattern")
            for i in range(len(blocks))]
    last_mlp = f"blocks.{last}.mlp.hook_post"
    has_mlp = bool(blocks) and getattr(blocks[-1], "mlp", None) is not None
    wanted = {name for pair in attn for name in pair} | ({last_mlp} if has_mlp else set())
    with torch_threads(ANALYSIS_THREADS):
        _, cache = model.run_with_cache(raw_tokens(p), names_filter=lambda n: n in wanted)

    def eq_to_a(name: str) -> np.ndarray:  # [n_heads, p, p]: query '=' (position 2), key a (position 0)
        return cache[name][:, :, 2, 0].T.reshape(-1, p, p).float().numpy()

    scores = np.stack([eq_to_a(s) for s, _ in attn]) if attn else np.zeros((0, 0, p, p), np.float32)
    pattern = np.stack([eq_to_a(pt) for _, pt in attn]) if attn else np.zeros((0, 0, p, p), np.float32)
    n_neurons = int(cache[last_mlp].shape[-1]) if has_mlp else 0
    ids, freqs = _select_neurons(analysis.get("fourier", {}), n_neurons)
    if has_mlp and ids:
        acts = cache[last_mlp][:, 2][:, ids].T.reshape(len(ids), p, p)
    else:
        acts = torch.zeros(0, p, p)
    return {"attn_eq_to_a": scores[0] if len(scores) else scores.reshape(0, p, p),
            "attn_pattern_eq_to_a": pattern[0] if len(pattern) else pattern.reshape(0, p, p),
            "attn_eq_to_a_by_layer": scores, "attn_pattern_eq_to_a_by_layer": pattern,
            "neuron_ids": np.asarray(ids, dtype=np.int64), "neuron_acts": acts.float().numpy(),
            "neuron_freq_sel": np.asarray(freqs, dtype=np.int64), "neuron_layer": np.int64(last),
            "group_inputs": view.inputs.numpy().astype(np.int64)}


def _num(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _other_keys(fo: dict[str, Any]) -> str:
    """The other rules' key frequencies where they differ from the clock-amplitude rule."""
    parts = []
    for prefix, what in (("norm", "the logit-norm rule"), ("embed", "the embedding alone")):
        keys = fo.get(f"{prefix}_key_frequencies")
        if keys is not None and keys != fo["key_frequencies"]:
            parts.append(f"{what} splits at {keys} (confidence {fo[f'{prefix}_key_confidence']:.2f})")
    return "".join(f"; {p}" for p in parts)


def _layer_row(layer: dict[str, Any]) -> tuple[str, str]:
    """One block of a multi-layer model: what its heads and MLP carry and what its residual holds."""
    heads = ", ".join(f"h{h['head']}: k={h['freq']} ({h['fve']:.0%})" for h in layer["attn"]["heads"])
    text = f"attention {layer['attn']['key_fve']:.0%} key-frequency variance (dominant {heads})"
    mlp = layer.get("mlp")
    if mlp:
        clusters = ", ".join(f"k={k}: {len(v)}" for k, v in mlp["clusters"].items()) or "no clusters"
        text += (f"; MLP {mlp['key_fve']:.0%} key-frequency variance, {mlp['frac_neurons_one_freq']:.0%} "
                 f"one-frequency neurons ({clusters})")
    resid = f"; residual after it {layer['resid_key_fve']:.0%} key frequencies"
    return f"layer {layer['layer']}", text + resid


def _reads_text(reads: dict[str, Any]) -> str:
    """First-layer heads' shares on a / b / '=' and how many pairs they read both operands on."""
    heads = ", ".join(f"h{h['head']} " + "/".join(f"{x:.0%}" for x in h["share"])
                      for h in reads["heads"] if h["layer"] == 0)
    return (f"layer 0 heads' attention on a/b/= {heads}; both operands read on {reads['both_operands']} of "
            f"{reads['pairs']} pairs")


def summary_rows(analysis: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows for the CLI's readable summary of one analysis."""
    run, fin, fo = analysis["run"], analysis["final"], analysis["fourier"]
    prog, trits = analysis.get("progress", {}), analysis.get("trits", {})
    clusters = fo.get("clusters", {})
    layers = fo.get("layers") or []
    rows = [
        ("task", f"{run['task']} ({run['precision']} precision)"),
        ("final", f"step {_num(fin.get('step'))}: train loss {_num(fin.get('train_loss'))} "
                  f"acc {_num(fin.get('train_acc'))}, test loss {_num(fin.get('test_loss'))} "
                  f"acc {_num(fin.get('test_acc'))}"),
        ("key frequencies", f"{fo['key_frequencies']} (confidence {fo['key_confidence']:.2f}, "
                            f"{fo.get('key_norm_frac', 0):.0%} of the embedding's Fourier norm)"
                            + _other_keys(fo)),
        ("neurons by one frequency", f"{fo['frac_neurons_one_freq']:.0%} above FVE {fo['fve_cutoff']} "
                                     f"in {len(clusters)} clusters "
                                     + ", ".join(f"k={k}: {len(v)}" for k, v in clusters.items())
                                     + (" (last layer)" if len(layers) > 1 else "")),
        ("losses", f"full {_num(fo['loss_full'])}, restricted {_num(fo['loss_restricted'])}, "
                   f"excluded {_num(fo['loss_excluded'])}"),
        ("weight norm", _num(fo["weight_norm"])),
    ]
    if len(layers) > 1:
        rows += [_layer_row(layer) for layer in layers]
    if prog.get("steps"):
        phases = ", ".join(f"{ph['name']} {ph['start']}-{ph['end']}"
                           + (" (not finished)" if ph.get("complete") is False else "")
                           for ph in prog.get("phases", []))
        note = prog.get("phase_note", "")
        rows.append(("phases", "; ".join(x for x in (phases or "none", note) if x)))
    reads = analysis.get("attention")
    if reads:
        rows.append(("attention at '='", _reads_text(reads)))
    if trits:
        rows.append(("trit zeros", f"{trits['zero_frac']:.1%} of {trits['total_weights']} quantized weights"))
    rows.append(("note", fo.get("note", "")))
    return rows


__all__ = ["analyze_run", "write_analysis", "figure_data", "summary_rows", "TritlensError"]
