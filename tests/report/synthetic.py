"""Synthetic report inputs that follow the analysis / figure-data / compare contract exactly.

The numbers look like a grokked modular-addition network (a few key frequencies, periodic attention
and neuron activations) so the report can be built, rendered and looked at without training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tritlens.report import ReportInput
from tritlens.report.make import SCHEMA

PHASE_NAMES = ("memorisation", "circuit formation", "clean-up")


def _curve(steps: np.ndarray, start: float, end: float, at: float, width: float) -> np.ndarray:
    """A smooth drop from ``start`` to ``end`` centred on step ``at`` (log-space sigmoid)."""
    s = 1.0 / (1.0 + np.exp(-(steps - at) / width))
    return np.exp(np.log(start) * (1 - s) + np.log(end) * s)


def make_metrics(steps_total: int, eval_every: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    steps = np.arange(0, steps_total + 1, eval_every)
    train = _curve(steps, 4.7, 1e-7, 0.08 * steps_total, 0.02 * steps_total)
    noise = np.exp(rng.normal(0, 0.05, steps.size))
    test = _curve(steps, 5.0, 1e-6, 0.55 * steps_total, 0.05 * steps_total) * noise
    rows = []
    for i, step in enumerate(steps):
        rows.append({"step": int(step), "train_loss": float(train[i]), "test_loss": float(test[i]),
                     "train_acc": float(min(1.0, 1.2 - train[i] / 4)),
                     "test_acc": float(min(1.0, 1 - test[i] / 5)),
                     "wall_time": round(0.01 * i, 3)})
    return rows


def make_analysis(name: str, p: int, precision: str, *, d_mlp: int, steps_total: int, n_ckpt: int,
                  key_freqs: list[int], rng: np.random.Generator, applies: bool = True) -> dict[str, Any]:
    K = p // 2
    freqs = list(range(1, K + 1))
    embed = rng.uniform(0.05, 0.3, K)
    logits = rng.uniform(0.0, 0.1, K)
    for k in key_freqs:
        embed[k - 1] = rng.uniform(2.0, 4.0)
        logits[k - 1] = rng.uniform(1.0, 2.0)
    neuron_freq = rng.choice(key_freqs + [0], size=d_mlp, p=[0.9 / len(key_freqs)] * len(key_freqs) + [0.1])
    neuron_fve = np.where(neuron_freq > 0, rng.beta(8, 1, d_mlp), rng.beta(2, 3, d_mlp))
    poly2 = np.clip(neuron_fve + rng.normal(0.03, 0.03, d_mlp), 0, 1)
    clusters = {str(k): [int(i) for i in np.flatnonzero(neuron_freq == k)] for k in key_freqs}
    steps = np.linspace(0, steps_total, n_ckpt).round().astype(int)
    tr = _curve(steps, 4.7, 1e-7, 0.08 * steps_total, 0.02 * steps_total)
    te = _curve(steps, 5.0, 1e-6, 0.55 * steps_total, 0.05 * steps_total)
    phases = [{"name": PHASE_NAMES[0], "start": 0, "end": int(0.15 * steps_total)},
              {"name": PHASE_NAMES[1], "start": int(0.15 * steps_total), "end": int(0.5 * steps_total)},
              {"name": PHASE_NAMES[2], "start": int(0.5 * steps_total), "end": int(0.65 * steps_total)}]
    fourier: dict[str, Any] = {
        "frequencies": freqs, "embed_norms": embed.tolist(), "key_frequencies": key_freqs,
        "key_confidence": 0.93, "key_rule": "norm > 3x median", "logit_norms": logits.tolist(),
        "neuron_freq": neuron_freq.tolist(), "neuron_fve": neuron_fve.tolist(), "clusters": clusters,
        "frac_neurons_one_freq": float(np.mean(neuron_fve > 0.85)), "fve_cutoff": 0.85,
        "poly2_fve": poly2.tolist(), "poly2_best_k": neuron_freq.tolist(),
        "loss_full": 1e-7, "loss_restricted": 3e-7, "loss_excluded": 4.9, "weight_norm": 31.5,
        "applies": applies, "note": "" if applies else f"no Fourier basis for this {precision} run",
    }
    return {
        "schema": SCHEMA,
        "run": {"path": f"runs/{name}", "preset": f"synthetic-{precision}", "task": f"(a+b) mod {p}", "p": p,
                "op": "add", "precision": precision, "quant": {"attn": precision, "mlp": precision}},
        "final": {"step": steps_total, "train_loss": float(tr[-1]), "train_acc": 1.0,
                  "test_loss": float(te[-1]), "test_acc": 0.999},
        "fourier": fourier,
        "progress": {
            "steps": steps.tolist(), "train_loss": tr.tolist(), "test_loss": te.tolist(),
            "restricted_loss": _curve(steps, 4.8, 3e-7, 0.3 * steps_total, 0.05 * steps_total).tolist(),
            "excluded_loss": (4.7 + 0.3 * np.tanh(steps / (0.3 * steps_total))).tolist(),
            "weight_norm": (60 - 30 * np.tanh(steps / (0.4 * steps_total))).tolist(),
            "key_norm_frac": (0.1 + 0.85 * np.tanh(steps / (0.3 * steps_total))).tolist(),
            "phases": phases,
        },
        "trits": {} if precision == "full" else {"zero_frac": 0.31 if precision == "ternary" else 0.0},
    }


def make_figure_data(p: int, n_heads: int, key_freqs: list[int], n_sel: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    a = np.arange(p)[:, None]
    b = np.arange(p)[None, :]
    scores = np.stack([3 * np.cos(2 * np.pi * key_freqs[h % len(key_freqs)] * a / p) + 0 * b
                       + rng.normal(0, 0.1, (p, p)) for h in range(n_heads)]).astype(np.float32)
    pattern = (1 / (1 + np.exp(-scores))).astype(np.float32)
    freq_sel = np.array([key_freqs[i % len(key_freqs)] for i in range(n_sel)])
    acts = np.stack([np.maximum(0, np.cos(2 * np.pi * k * (a + b) / p + i)) for i, k in enumerate(freq_sel)])
    return {"attn_eq_to_a": scores, "attn_pattern_eq_to_a": pattern,
            "neuron_ids": np.arange(n_sel, dtype=np.int64) * 7 + 3,
            "neuron_acts": acts.astype(np.float32), "neuron_freq_sel": freq_sel.astype(np.int64)}


def make_input(name: str = "full", precision: str = "full", *, p: int = 23, d_mlp: int = 64, n_heads: int = 4,
               steps_total: int = 2000, eval_every: int = 50, n_ckpt: int = 21, n_sel: int = 6,
               key_freqs: list[int] | None = None, applies: bool = True, seed: int = 0) -> ReportInput:
    """One run's report input; every array and list has the shapes the contract promises."""
    rng = np.random.default_rng(seed)
    keys = key_freqs or [k for k in (2, 5, 7, 11, 14, 35, 41, 52) if k <= p // 2][:3]
    analysis = make_analysis(name, p, precision, d_mlp=d_mlp, steps_total=steps_total, n_ckpt=n_ckpt,
                             key_freqs=keys, rng=rng, applies=applies)
    return ReportInput(name, analysis, make_metrics(steps_total, eval_every, rng),
                       make_figure_data(p, n_heads, keys, n_sel, rng))


def make_comparison(inputs: list[ReportInput]) -> dict[str, Any]:
    names = [i.name for i in inputs]
    rows = [{"metric": "test accuracy", "values": [f"{i.analysis['final']['test_acc']:.3f}" for i in inputs]},
            {"metric": "key frequencies",
             "values": [", ".join(map(str, i.analysis["fourier"]["key_frequencies"])) for i in inputs]},
            {"metric": "neurons on one frequency",
             "values": [f"{i.analysis['fourier']['frac_neurons_one_freq']:.0%}" for i in inputs]}]
    return {"names": names, "rows": rows,
            "verdict": "All precisions learn the same Fourier algorithm <with> different keys & norms.",
            "numbers": {"n": len(inputs)}}


def make_circuit_outputs(seed: int = 0, layers: int = 2, heads: int = 4, n_ctx: int = 7,
                         positions: tuple[int, ...] = (4, 5, 6)) -> dict[str, Any]:
    """attribution / patching / probes / ln_removal outputs shaped exactly as the commands write them."""
    rng = np.random.default_rng(seed)
    names = ["embed", "pos_embed"] + [f"L{i}{part}" for i in range(layers)
                                       for part in [f"H{h}" for h in range(heads)] + [" attn bias", " MLP"]]
    dla = rng.normal(0, 1, (len(names), len(positions)))
    attribution = {"schema": 1, "run": {"path": "runs/x", "norm": "layer"}, "n_examples": 1000,
                   "logit": "correct", "positions": list(positions), "components": names, "dla": dla.tolist(),
                   "direct_effect": (dla * 0.8 + rng.normal(0, 0.1, dla.shape)).tolist(), "nmae": 0.21,
                   "sensitivity": {"inputs": [0, 1, 2], "outputs": list(positions),
                                   "grid": rng.uniform(0, 3, (3, len(positions))).tolist()}}

    def grid(rows: int, cols: int) -> dict[str, Any]:
        act = rng.normal(0, 3, (rows, cols))
        return {"rows": [f"L{i}" for i in range(rows)], "cols": [f"pos {p}" for p in range(cols)],
                "activation": act.tolist(), "attribution": (0.7 * act).tolist(), "correlation": 1.0,
                "l1": 0.5}

    patching = {"schema": 1, "run": {"path": "runs/x"}, "metric": "logit_diff", "corrupt": "resample",
                "n_pairs": 1000, "clean_metric": 9.2, "corrupted_metric": -9.1, "seconds_activation": 3.0,
                "seconds_attribution": 0.2,
                "grids": {k: grid(layers, n_ctx) for k in ("resid_pre", "attn_out")}}
    patching["grids"]["z"] = {**grid(layers, heads), "cols": [f"H{h}" for h in range(heads)]}

    def probe(target: str, metric: str) -> dict[str, Any]:
        test = rng.uniform(0, 1, (layers, n_ctx))
        return {"target": target, "hook": "resid_post", "metric": metric,
                "kind": "logistic" if metric == "accuracy" else "linear",
                "rows": [f"L{i}" for i in range(layers)],
                "cols": [f"pos {p}" for p in range(n_ctx)], "test": test.tolist(),
                "chance": np.full((layers, n_ctx), 0.1).tolist()}

    probes = {"schema": 1, "probes": {"a@resid_post": probe("a", "accuracy"),
                                      "c_hat@resid_post": probe("c", "mae")}}
    rows = [{"model": m, "train_loss": l, "train_acc": 1.0, "test_loss": l, "test_acc": a}
            for m, l, a in (("original", 0.06, 1.0), ("fine-tuned with norms", 0.001, 1.0),
                            ("norm-free", 0.003, 0.999))]
    events = [{"step": 10 + 20 * k, "norm": n} for k, n in enumerate(["L0_mlp", "L0_qk", "final"])]
    ln_removal = {"schema": 1, "source": "runs/x", "settings": {"steps": 200}, "rows": rows,
                  "loss_increase": 0.002, "events": events}
    return {"attribution": attribution, "patching": patching, "probes": probes, "ln_removal": ln_removal}


def make_gate_layout(n_nodes: int = 24_000, n_modules: int = 40, seed: int = 0) -> dict[str, Any]:
    """A layout in ``logic.layout.layout_graph``'s format: modules as Gaussian islands on a grid, about two
    fan-in edges per gate, mostly inside its module (what a compiled circuit's layout looks like)."""
    rng = np.random.default_rng(seed)
    module = rng.integers(0, n_modules, n_nodes)
    side = int(np.ceil(np.sqrt(n_modules)))
    centre = np.stack([module % side, module // side], axis=1) * 100.0
    xy = centre + rng.normal(0, 18, (n_nodes, 2))
    xy = (xy - xy.min(0)) / (xy.max(0) - xy.min(0)).max() * 1000
    role = np.where(rng.random(n_nodes) < 0.02, 0, 2)
    order = np.argsort(module, kind="stable")
    starts = np.searchsorted(module[order], np.arange(n_modules))
    counts = np.bincount(module, minlength=n_modules)
    edges = []
    for v in range(n_nodes):
        for _ in range(2):
            m = module[v] if rng.random() < 0.9 else rng.integers(0, n_modules)
            edges += [int(order[starts[m] + rng.integers(0, max(1, counts[m]))]), v]
    return {"nodes": {"id": [f"n{v}" for v in range(n_nodes)], "x": np.round(xy[:, 0], 1).tolist(),
                      "y": np.round(xy[:, 1], 1).tolist(), "module": module.tolist(), "role": role.tolist()},
            "edges": edges, "roles": ["input", "latch", "and", "output", "const"], "modules": n_modules}


def make_circuit(layout: dict[str, Any]) -> dict[str, Any]:
    """Circuit-section data (``report.gates.circuit_data``'s format) around a layout."""
    n = len(layout["nodes"]["id"])
    stats = {"ands": n, "inputs": 16, "latches": 0, "outputs": 4, "depth": 40}
    rows = [{"index": k, "module": 0, "ands": n // layout["modules"], "reads": 8, "exports": 3,
             "drives": ["y0_b0"], "formula": ""} for k in range(layout["modules"])]
    return {"compiled": stats, "structural": stats, "zero_frac": 0.5, "layout": layout, "note": "",
            "modularity": 0.8, "cone_modules": 1, "communities": rows}
