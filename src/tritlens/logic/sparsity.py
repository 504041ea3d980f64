"""Does sparsification make the gate graph fall apart into modules? Measure it.

``measure`` compiles one fully discrete model, simplifies it structurally (no ``collapse``: the
question is about the network's own graph), and counts gates, zero trits, independent cone modules
and Leiden communities (with their modularity). ``sparsity_sweep`` trains a preset at several values
of ``model.sparsity`` and measures each run. Training goes through a ``train`` callable with the
signature of ``tritlens.api.train`` (passed in, since the logic stage never imports the front door).

Example::

    from tritlens.api import train
    rows = sparsity_sweep(train, "ternary-mlp-modadd", [0.0, 0.01, 0.1, 0.3])
    print(sweep_table(rows))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tritlens.errors import TritlensError
from tritlens.fields import SEED_MAX
from tritlens.logic.communities import find_communities
from tritlens.logic.compile import compile_model
from tritlens.logic.runs import simplify_circuit
from tritlens.logic.simplify import STRUCTURAL_PASSES
from tritlens.logic.stats import circuit_stats
from tritlens.presets import unknown_preset

SWEEP_LIMIT = 64  # training runs in one sweep (values x seeds)
SPARSITY_MAX = 1e6

COLUMNS = (
    ("sparsity", "model.sparsity", "{}"),
    ("seed", "seed", "{}"),
    ("accuracy", "accuracy", "{:.1%}"),
    ("zero_frac", "zero trits", "{:.1%}"),
    ("compiled_ands", "compiled ANDs", "{:,}"),
    ("ands", "simplified ANDs", "{:,}"),
    ("depth", "depth", "{}"),
    ("cone_modules", "cone modules", "{}"),
    ("communities", "communities", "{}"),
    ("largest", "largest community", "{}"),
    ("modularity", "modularity", "{:.2f}"),
    ("seconds", "measure s", "{:.1f}"),
)


def measure(model: Any, positions: Sequence[int] | None = None, passes: str = STRUCTURAL_PASSES) -> dict:
    """Gates, depth, zero trits, cone modules and Leiden communities of one compiled model."""
    start = time.perf_counter()
    circuit = compile_model(model, positions=positions)
    small = simplify_circuit(circuit.aig, passes)
    stats = circuit_stats(small)
    part = find_communities(small)
    return {
        "zero_frac": float(model.trit_stats()["zero_fraction"]),
        "compiled_ands": circuit_stats(circuit.aig)["ands"],
        "ands": stats["ands"],
        "depth": stats["depth"],
        "cone_modules": part.cone_modules,
        "communities": len(part.communities),
        "largest": max(part.sizes(), default=0),
        "modularity": part.modularity,
        "seconds": time.perf_counter() - start,
    }


def sparsity_sweep(
    train: Callable[..., Any],
    preset: str,
    values: Sequence[float],
    seeds: Sequence[int] = (0,),
    overrides: dict[str, Any] | None = None,
    passes: str = STRUCTURAL_PASSES,
) -> list[dict]:
    """Train ``preset`` at each ``model.sparsity`` value (and model seed), measure each run."""
    rows = []
    for value in values:
        for seed in seeds:
            settings = {**(overrides or {}), "model.sparsity": value, "model.seed": seed}
            run = train(preset, overrides=settings, progress=False)
            positions = getattr(run.task, "answer_positions", None)
            row = {"preset": preset, "sparsity": value, "seed": seed, "accuracy": run.final.get("test_acc")}
            rows.append(row | measure(run.model, positions, passes))
    return rows


def check_sweep(preset: str, values: Sequence[float], seeds: Sequence[int],
                presets: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a sweep that cannot run: an unknown or non-discrete preset, a bad value, too many runs."""
    if preset not in presets:
        raise TritlensError(unknown_preset(preset, presets))
    arch = presets[preset].get("model", {}).get("arch", "transformer")
    if not str(arch).startswith("discrete_"):
        raise TritlensError(f"preset {preset!r} trains model.arch={arch}; a sparsity sweep needs a fully "
                            "discrete one (discrete_mlp, discrete_rnn, discrete_transformer)")
    if not values or not seeds:
        raise TritlensError("a sparsity sweep needs at least one value and one seed")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or not 0 <= v <= SPARSITY_MAX:
            raise TritlensError(f"sparsity values must lie in [0, {SPARSITY_MAX:g}], got {v!r:.30}")
    for k in seeds:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= SEED_MAX:
            raise TritlensError(f"seeds must be integers in [0, {SEED_MAX}], got {k!r:.30}")
    if len(values) * len(seeds) > SWEEP_LIMIT:
        raise TritlensError(f"{len(values)} values x {len(seeds)} seeds is {len(values) * len(seeds)} "
                            f"training runs; at most {SWEEP_LIMIT}")


def sweep_table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(title for _, title, _ in COLUMNS) + " |"]
    lines.append("|" + "|".join("---:" for _ in COLUMNS) + "|")
    for row in rows:
        cells = ["n/a" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["SWEEP_LIMIT", "check_sweep", "measure", "sparsity_sweep", "sweep_table"]
