"""Progress measures over training checkpoints and the three phases of grokking (Nanda et al. 2023).

Phase rule (documented, no per-run threshold on the curves' values except "accuracy reached 99%"):

* memorisation: from the first logged step until train accuracy first reaches 99%.
* the run has grokked at the first later checkpoint where test accuracy reaches 99% (end of clean-up).
* clean-up starts at the knee of log(test loss) between those two steps: the checkpoint lying furthest
  above the straight line joining the two ends (where the slow plateau turns into the collapse).
* circuit formation: from the end of memorisation to the start of clean-up.

When test accuracy reaches 99% together with train accuracy there is no delayed generalisation and only
memorisation is reported; when it never does, circuit formation (marked ``complete: false``) runs to
the last checkpoint if the excluded loss rose and the restricted loss fell over that span. Each phase
carries the change of the curves the paper uses as evidence (train/test loss for memorisation, excluded
and restricted loss for circuit formation, weight norm and test loss for clean-up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import Tensor
from tqdm.auto import tqdm

from tritlens.errors import TritlensError
from tritlens.interp.grid import CyclicView
from tritlens.interp.measures import checkpoint_measures
from tritlens.run import Run

ACC_REACHED = 0.99
CURVES = ("train_loss", "test_loss", "train_acc", "test_acc", "full_loss", "restricted_loss", "excluded_loss",
          "weight_norm", "key_norm_frac")


def progress_curves(run: Run, view: CyclicView, train: Tensor, key_freqs: list[int],
                    bar: bool = False) -> dict[str, Any]:
    """Every progress measure on every checkpoint of ``run``, plus the detected phases (``bar``: show a
    progress bar over the checkpoints)."""
    steps = run.checkpoint_steps()
    if not steps:
        raise TritlensError(f"{run.path or 'this run'} has no checkpoints, so there is no progress to "
                            "analyse (train with train.checkpoint_every > 0, or use `analyze --final-only`)")
    curves: dict[str, list[float]] = {name: [] for name in CURVES}
    for step in tqdm(steps, desc="checkpoints", unit="ckpt", disable=not bar, dynamic_ncols=True):
        row = checkpoint_measures(run.load_checkpoint(step), view, train, key_freqs)
        for name in CURVES:
            curves[name].append(row[name])
    out: dict[str, Any] = {"steps": steps, **curves, "key_frequencies": key_freqs}
    out["phases"] = detect_phases(steps, curves, metrics_timeline(run.metrics))
    out["phase_rule"] = __doc__.split("\n\n")[1].replace("\n", " ")
    return out


def _first(values: list[float], start: int = 0) -> int | None:
    return next((i for i in range(start, len(values)) if values[i] >= ACC_REACHED), None)


def knee(steps: list[int], values: list[float], lo: int, hi: int) -> int:
    """Index in [lo, hi] of the point furthest above the chord of log(values) between lo and hi."""
    if hi - lo < 2:
        return lo
    x = np.asarray(steps[lo:hi + 1], dtype=float)
    y = np.log(np.maximum(np.asarray(values[lo:hi + 1], dtype=float), 1e-300))
    chord = y[0] + (y[-1] - y[0]) * (x - x[0]) / max(x[-1] - x[0], 1e-12)
    return lo + int(np.argmax(y - chord))


def _fmt(x: float | None) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:.3g}"


def _at(series: dict[str, list[float]], name: str, step: int, side: str = "before") -> float | None:
    """Value of a curve at the last recorded step <= ``step`` (``side="before"``) or the first one >= it
    (``"after"``), falling back to the nearest end, so a phase's evidence brackets the phase."""
    steps = series["steps"]
    if name not in series or not steps:
        return None
    if side == "before":
        i = max((k for k in range(len(steps)) if steps[k] <= step), default=0)
    else:
        i = min((k for k in range(len(steps)) if steps[k] >= step), default=len(steps) - 1)
    return series[name][i]


def metrics_timeline(metrics: list[dict[str, Any]]) -> dict[str, list[float]] | None:
    """The run's logged train/test curves (denser than checkpoints, and they start at step 0)."""
    keys = ("step", "train_loss", "test_loss", "train_acc", "test_acc")
    rows = [m for m in metrics if all(isinstance(m.get(k), int | float) for k in keys)]
    if not rows:
        return None
    out = {k: [float(r[k]) for r in rows] for k in keys[1:]}
    return {"steps": [int(r["step"]) for r in rows], **out}


def detect_phases(steps: list[int], curves: dict[str, list[float]],
                  timeline: dict[str, list[float]] | None = None) -> list[dict[str, Any]]:
    """The phases found by the rule in the module docstring, as {name, start, end, evidence}.

    Boundaries come from ``timeline`` (the logged metrics) when given, else from the checkpoint curves;
    the evidence strings read the checkpoint curves (restricted/excluded loss, weight norm) nearest to
    the boundaries.
    """
    ckpt = {"steps": steps, **curves}
    tl = timeline or ckpt
    t_steps = tl["steps"]
    mem = _first(tl["train_acc"])
    if mem is None:
        return []

    def phase(name: str, i: int, j: int, *evidence: str) -> dict[str, Any]:
        a, b = t_steps[i], t_steps[j]
        src = [tl if e in ("train_loss", "test_loss") else ckpt for e in evidence]
        text = "; ".join(f"{e.replace('_', ' ')} {_fmt(_at(s, e, a))} -> {_fmt(_at(s, e, b, 'after'))}"
                         for e, s in zip(evidence, src, strict=True))
        return {"name": name, "start": a, "end": b, "evidence": text}

    phases = [phase("memorisation", 0, mem, "train_loss", "test_loss")]
    if tl["test_acc"][mem] >= ACC_REACHED:
        return phases
    grok = _first(tl["test_acc"], mem)
    if grok is None:  # not grokked (yet): circuit formation only if its signature is there
        last = len(t_steps) - 1
        a, b = t_steps[mem], t_steps[last]
        rising = (_at(ckpt, "excluded_loss", b, "after") or 0) > (_at(ckpt, "excluded_loss", a) or 0)
        falling = (_at(ckpt, "restricted_loss", b, "after") or 0) < (_at(ckpt, "restricted_loss", a) or 0)
        if last > mem and rising and falling:
            phases.append({**phase("circuit formation", mem, last, "excluded_loss", "restricted_loss"),
                           "complete": False})
        return phases
    start_clean = knee(t_steps, tl["test_loss"], mem, grok)
    if start_clean > mem:
        phases.append(phase("circuit formation", mem, start_clean, "excluded_loss", "restricted_loss"))
    phases.append(phase("clean-up", start_clean, grok, "weight_norm", "test_loss", "restricted_loss"))
    return phases
