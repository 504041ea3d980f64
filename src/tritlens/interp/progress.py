"""Progress measures over training checkpoints and the three phases of grokking (Nanda et al. 2023).

Phase rule: the boundaries follow the curves that define the phases in the paper (its run: memorisation
to ~1.4k, circuit formation ~1.4k-9.4k, clean-up ~9.4k-13k), read from the logged train/test metrics:

* memorisation (train loss falls while test loss rises): from the first logged step to the peak of the
  test loss (its maximum before test accuracy first reaches 99%).
* circuit formation (excluded loss rises while restricted loss falls; test loss stays high): from the
  test-loss peak to the start of clean-up.
* clean-up (test loss suddenly drops and the weight norm falls): from the knee of log(test loss)
  between the peak and the end of clean-up -- the step lying furthest above the straight line joining
  those two points, where the slow decline turns into the collapse -- to the first step where test
  accuracy reaches 99% (the run has grokked).

When the test loss never rises above its first value the run has no memorisation plateau, hence no
grokking phases; when test accuracy never reaches 99% the run has not grokked and there is no clean-up
(circuit formation, marked ``complete: false``, runs to the last step if the excluded loss rose and
the restricted loss fell over that span). ``phase_note`` says which case applies. Each phase carries the
change of the curves the paper uses as evidence and ``signature``: whether they moved as the paper
describes (train loss down and test loss up; excluded up and restricted down; weight norm and test
loss down), read on the checkpoints nearest to its boundaries; ``None`` when a curve has the same
recorded point at both ends (e.g. a run with only its final checkpoint), so its move cannot be read.
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
# the curves each phase's signature reads, and the direction the paper describes (+1 rises, -1 falls)
SIGNATURES = {"memorisation": (("train_loss", -1), ("test_loss", 1)),
              "circuit formation": (("excluded_loss", 1), ("restricted_loss", -1)),
              "clean-up": (("weight_norm", -1), ("test_loss", -1))}


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
    out["phases"], out["phase_note"] = detect_phases(steps, curves, metrics_timeline(run.metrics))
    out["phase_rule"] = " ".join(__doc__.split("\n\n")[1:3]).replace("\n", " ")
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


def _index(steps: list[int], step: int, side: str = "before") -> int:
    """Index of the last recorded step <= ``step`` (``side="before"``) or the first one >= it (``"after"``),
    falling back to the nearest end, so a phase's evidence brackets the phase."""
    if side == "before":
        return max((k for k in range(len(steps)) if steps[k] <= step), default=0)
    return min((k for k in range(len(steps)) if steps[k] >= step), default=len(steps) - 1)


def _at(series: dict[str, list[float]], name: str, step: int, side: str = "before") -> float | None:
    """Value of a curve at ``_index(step, side)``; None when the curve was not recorded."""
    if name not in series or not series["steps"]:
        return None
    return series[name][_index(series["steps"], step, side)]


def metrics_timeline(metrics: list[dict[str, Any]]) -> dict[str, list[float]] | None:
    """The run's logged train/test curves (denser than checkpoints, and they start at step 0)."""
    keys = ("step", "train_loss", "test_loss", "train_acc", "test_acc")
    rows = [m for m in metrics if all(isinstance(m.get(k), int | float) for k in keys)]
    if not rows:
        return None
    out = {k: [float(r[k]) for r in rows] for k in keys[1:]}
    return {"steps": [int(r["step"]) for r in rows], **out}


class _Reader:
    """Phases with their evidence: train/test loss and accuracy from the (denser) timeline, the rest from
    the checkpoints."""

    def __init__(self, timeline: dict[str, list[float]], ckpt: dict[str, list[float]]) -> None:
        self.tl, self.ckpt = timeline, ckpt

    def source(self, name: str) -> dict[str, list[float]]:
        return self.tl if name in self.tl else self.ckpt

    def phase(self, name: str, i: int, j: int, *extra: str) -> dict[str, Any]:
        a, b = self.tl["steps"][i], self.tl["steps"][j]
        moves: list[bool | None] = []
        for curve, sign in SIGNATURES[name]:
            src = self.source(curve)
            before, after = _at(src, curve, a), _at(src, curve, b, "after")
            if before is None or after is None or _index(src["steps"], a) == _index(src["steps"], b, "after"):
                moves.append(None)  # one recorded point (or none) for the whole phase: the move is unknown
            else:
                moves.append((after - before) * sign > 0)
        names = [c for c, _ in SIGNATURES[name]] + [e for e in extra if e not in dict(SIGNATURES[name])]
        text = "; ".join(f"{e.replace('_', ' ')} {_fmt(_at(self.source(e), e, a))} -> "
                         f"{_fmt(_at(self.source(e), e, b, 'after'))}" for e in names)
        signature = False if False in moves else None if None in moves else True
        return {"name": name, "start": a, "end": b, "evidence": text, "signature": signature}


def detect_phases(steps: list[int], curves: dict[str, list[float]],
                  timeline: dict[str, list[float]] | None = None) -> tuple[list[dict[str, Any]], str]:
    """The phases found by the rule in the module docstring, as {name, start, end, evidence, signature}
    (``complete: false`` on a phase the run has not finished), and a note on what the run shows.

    Boundaries come from ``timeline`` (the logged metrics) when given, else from the checkpoint curves.
    """
    ckpt = {"steps": steps, **curves}
    tl = timeline or ckpt
    read = _Reader(tl, ckpt)
    test_loss, last = tl["test_loss"], len(tl["steps"]) - 1
    grok = _first(tl["test_acc"])
    peak = int(np.argmax(test_loss[:(grok if grok is not None else last) + 1]))
    if peak == 0 or not test_loss[peak] > test_loss[0]:
        if grok is None:
            return [], "test loss never rose above its first value and test accuracy never reached 99%"
        return [], ("test loss never rose above its first value: the run generalised without memorising "
                    f"first (test accuracy 99% at step {tl['steps'][grok]}), so there are no grokking phases")
    phases = [read.phase("memorisation", 0, peak, "train_acc")]
    if grok is None:
        circuit = read.phase("circuit formation", peak, last, "test_loss")
        note = (f"test accuracy never reached 99% (last {_fmt(tl['test_acc'][-1])}): the run has not "
                "grokked, so there is no clean-up")
        if last > peak and circuit["signature"]:
            return [*phases, {**circuit, "complete": False}], note + "; the circuit is still forming"
        return phases, note + " and no circuit formation (excluded loss did not rise while restricted fell)"
    start = knee(tl["steps"], test_loss, peak, grok)
    if start > peak:
        phases.append(read.phase("circuit formation", peak, start, "test_loss"))
    phases.append(read.phase("clean-up", start, grok, "restricted_loss", "test_acc"))
    odd = [ph["name"] for ph in phases if ph["signature"] is False]
    unread = [ph["name"] for ph in phases if ph["signature"] is None]
    note = f"grokked: test accuracy 99% at step {tl['steps'][grok]}"
    if odd:
        note += "; curves not as the paper describes in " + ", ".join(odd) + " (see evidence)"
    if unread:
        note += ("; too few checkpoints to read the progress measures in " + ", ".join(unread)
                 + " (train with a smaller train.checkpoint_every)")
    return phases, note
