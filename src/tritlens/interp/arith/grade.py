"""Grading an arithmetic model on many questions: failures, nines, and where the failures are.

One teacher-forced forward pass per question suffices: if every answer token is the argmax given the
true prefix, greedy decoding produces the true answer, and otherwise both go wrong at the same first
token. So a question fails exactly when some answer position's argmax differs from its target. The
forward runs in inference mode through the model's answer-position fast path, in large batches;
questions are sorted by their first operand so that the model computes those positions once per
distinct operand (``answer_logits_shared``, exact for causal models).

Quirke et al. grade on 1,000,000 questions: <= 1 failure is "six nines", <= 10 five, <= 100 four, ...
In general ``nines = floor(log10(questions / max(failures, 1)))``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.arith.screen import Screen, ScreenUnsafe
from tritlens.models import Model
from tritlens.run import Run
from tritlens.tasks import Split
from tritlens.tasks.arith import CLASS_NAMES, ArithTask, to_text
from tritlens.threads import side_by_side

SCHEMA = 1
BATCH = 2048  # larger batches were slower per question here (memory traffic, page faults)
EXAMPLES = 10  # failing questions kept as text
QUESTIONS_MAX = 100_000_000


def require_arith(run: Run) -> ArithTask:
    """The run's arithmetic task; any other run is bad input."""
    if not isinstance(run.task, ArithTask):
        where = f"{run.path}" if run.path else "this run"
        raise TritlensError(f"{where} is not an arithmetic run (task {run.config.task_name}); grade and "
                            "circuit need task add, sub, mixed or mul")
    return run.task


def nines(questions: int, failures: int) -> int:
    """Number of nines of accuracy: floor(log10(questions / max(failures, 1))), never below 0."""
    if questions <= 0:
        return 0
    return max(0, math.floor(math.log10(questions / max(failures, 1)) + 1e-12))


def predict(model: Model, tokens: Tensor, positions: tuple[int, ...], batch: int = BATCH,
            prefix: int = 0, screen: Screen | None = None, workers: int = 1) -> Tensor:
    """Teacher-forced argmax at the answer positions [N, n_answers], in batches. With ``prefix`` (and a
    model that offers it) rows sorted by their first ``prefix`` tokens share the work on them; with
    ``screen`` a fast first pass decides the clear answers (interp/arith/screen.py). On a CPU,
    ``workers`` > 1 grades that many batches at once, each on one torch thread: the batches' small
    products use the cores better side by side than split across threads."""
    shared = getattr(model, "answer_logits_shared", None)
    if prefix and shared is not None:
        logits: Callable[[Tensor], Tensor] = lambda rows: shared(rows, positions, prefix)  # noqa: E731
    else:
        logits = lambda rows: model.answer_logits(rows, positions)  # noqa: E731
    # questions go to the model's device (a planted model without parameters: theirs), answers come back
    device = next((p.device for p in model.parameters()), tokens.device)

    @torch.inference_mode()
    def one(index: int) -> Tensor:
        rows = tokens[index * batch:(index + 1) * batch].to(device)
        return (logits(rows).argmax(-1) if screen is None else screen.argmax(logits, rows, index)).cpu()

    workers = workers if device.type == "cpu" else 1
    out = side_by_side(one, -(-len(tokens) // batch), workers)  # batch 0 alone: a screen calibrates on it
    return torch.cat(out) if out else torch.empty(0, len(positions), dtype=torch.long)


def by_prefix(data: Split, prefix: int) -> Split:
    """The questions sorted by their first ``prefix`` tokens (the first operand and operator), so that
    questions sharing them sit together; grading counts do not depend on the order."""
    keys = data.tokens[:, :prefix].numpy()
    return data.subset(torch.from_numpy(np.lexsort(keys.T[::-1]).copy()))


@torch.inference_mode()
def greedy(model: Model, task: ArithTask, tokens: Tensor) -> Tensor:
    """The answers greedy decoding writes [N, n_answers] (one forward per answer token; for examples)."""
    seq = tokens.clone()
    for p in task.answer_positions:
        seq[:, p + 1] = model(seq)[:, p].argmax(-1)
    return seq[:, task.layout.sign_pos:]


class Tally:
    """Counts of questions and failures by operation, class and answer token, plus the first failures."""

    def __init__(self, task: ArithTask) -> None:
        self.task = task
        self.questions = np.zeros(len(CLASS_NAMES), dtype=np.int64)
        self.failures = np.zeros(len(CLASS_NAMES), dtype=np.int64)
        width = len(task.answer_positions)
        self.wrong_at = np.zeros(width, dtype=np.int64)  # failing questions wrong at each answer token
        self.first_wrong = np.zeros(width, dtype=np.int64)  # ... whose first wrong token it is
        self.examples: list[tuple[Tensor, str]] = []

    def add(self, data: Split, predicted: Tensor) -> None:
        wrong = (predicted != data.targets).numpy()
        failed = wrong.any(axis=1)
        cls = self.task.classes(data.tokens)
        self.questions += np.bincount(cls, minlength=len(CLASS_NAMES))
        self.failures += np.bincount(cls[failed], minlength=len(CLASS_NAMES))
        self.wrong_at += wrong[failed].sum(axis=0)
        self.first_wrong += np.bincount(wrong[failed].argmax(axis=1), minlength=wrong.shape[1])
        for i in np.flatnonzero(failed)[:max(0, EXAMPLES - len(self.examples))]:
            self.examples.append((data.tokens[i], CLASS_NAMES[cls[i]]))


def grade_model(model: Model, task: ArithTask, chunks: Iterable[Split], batch: int = BATCH,
                screen: Screen | None = None, workers: int = 1) -> Tally:
    """Teacher-forced grade of every question in ``chunks``."""
    tally = Tally(task)
    was_training = model.training
    model.eval()
    try:
        prefix = task.digits + 1
        for chunk in chunks:
            chunk = by_prefix(chunk, prefix)
            answers = predict(model, chunk.tokens, task.answer_positions, batch, prefix, screen, workers)
            tally.add(chunk, answers)
    finally:
        model.train(was_training)
    return tally


def question_chunks(task: ArithTask, count: int, seed: int, enriched: bool,
                    chunk: int = 1 << 20) -> Iterator[Split]:
    """The seeded grading questions, generated a chunk at a time (equal shares of each operation)."""
    if not 1 <= count <= QUESTIONS_MAX:
        raise TritlensError(f"--questions must lie in [1, {QUESTIONS_MAX:,}], got {count:,}")
    for index, start in enumerate(range(0, count, chunk)):
        yield task.grading_set(min(chunk, count - start), seed=seed, index=index, enriched=enriched)


def _counts(questions: np.ndarray, failures: np.ndarray, names: Iterable[int]) -> dict[str, dict[str, int]]:
    return {CLASS_NAMES[i]: {"questions": int(questions[i]), "failures": int(failures[i])}
            for i in names if questions[i]}


def summary(tally: Tally, model: Model, source: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The grade as plain JSON data (``grade.json``)."""
    task, q, f = tally.task, tally.questions, tally.failures
    names = task.layout.answer_names()
    by_op: dict[str, dict[str, int]] = {}
    for op, lo, hi in (("add", 0, 6), ("sub", 6, 15), ("mul", 15, 16)):
        if q[lo:hi].sum():
            by_op[op] = {"questions": int(q[lo:hi].sum()), "failures": int(f[lo:hi].sum()),
                         "nines": nines(int(q[lo:hi].sum()), int(f[lo:hi].sum()))}
    examples = []
    if tally.examples:
        tokens = torch.stack([t for t, _ in tally.examples])
        answers = greedy(model, task, tokens)
        cut = task.layout.sign_pos
        for text, answer, (_, cls) in zip(to_text(tokens), to_text(answers), tally.examples,
                                          strict=True):
            examples.append({"question": text[:cut], "expected": text[cut:], "predicted": answer,
                             "class": cls})
    total, failed = int(q.sum()), int(f.sum())
    return {
        "schema": SCHEMA, **source, "questions": total, "failures": failed, "nines": nines(total, failed),
        "accuracy": 1.0 - failed / total if total else None, "by_op": by_op,
        "by_class": _counts(q, f, range(len(CLASS_NAMES))),
        "wrong_at": dict(zip(names, tally.wrong_at.tolist(), strict=True)),
        "first_wrong": dict(zip(names, tally.first_wrong.tolist(), strict=True)),
        "examples": examples, "seconds": round(seconds, 3),
    }


def grade_run(run: Run, questions: int = 1_000_000, exhaustive: bool = False, enriched: bool = False,
              seed: int = 0, batch: int = BATCH, screen: str | None = None,
              workers: int | None = None) -> dict[str, Any]:
    """Grade a run's final model on ``questions`` seeded uniform (or enriched) questions, or on every
    question (``exhaustive``); returns the ``grade.json`` data. ``screen="bf16"`` decides the clear
    answers in a bfloat16 pass and recomputes the close ones in float32 (interp/arith/screen.py).
    ``workers``: batches graded at once on a CPU (default: torch's thread count)."""
    task = require_arith(run)
    if exhaustive and enriched:
        raise TritlensError("--exhaustive grades every question once; it cannot be --enriched")
    screening = Screen(screen) if screen is not None else None
    workers = torch.get_num_threads() if workers is None else workers
    t0 = time.perf_counter()
    if exhaustive:
        chunks: Callable[[], Iterable[Split]] = task.exhaustive
        source: dict[str, Any] = {"set": "exhaustive", "seed": None}
    else:
        chunks = lambda: question_chunks(task, questions, seed, enriched)  # noqa: E731
        source = {"set": "enriched" if enriched else "uniform", "seed": seed}
    try:
        tally = grade_model(run.model, task, chunks(), batch, screening, workers)
        source["screen"] = screening.summary() if screening is not None else None
    except ScreenUnsafe as unsafe:  # the fast pass's verdicts cannot be trusted: all again in float32
        assert screening is not None  # only a screen raises it
        source["screen"] = screening.summary(abandoned=str(unsafe))
        tally = grade_model(run.model, task, chunks(), batch, workers=workers)
    source["run"] = {"path": str(run.path or ""), "preset": run.config.preset, "task": task.describe(),
                     "step": run.step}
    return summary(tally, run.model, source, time.perf_counter() - t0)
