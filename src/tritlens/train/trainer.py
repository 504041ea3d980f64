"""Training loop: AdamW, optional warm-up, full batch or minibatch, float64 loss at answer positions.

The loop is exactly resumable: a checkpoint holds weights, optimiser moments, the minibatch RNG
state and the step, and nothing else influences an update, so a resumed run produces the same
weights bit for bit as an uninterrupted one on the same machine. Metrics rows are appended before
the checkpoint of their step, so after a crash at any moment the rows past the last checkpoint are
exactly the ones a resume recomputes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from tritlens.build import build_model, build_task
from tritlens.config import RunConfig
from tritlens.errors import CheckpointError, TritlensError
from tritlens.models import Model
from tritlens.run import RunDir, save_tensors
from tritlens.tasks import Split, Task
from tritlens.train.checkpoint import ResumeState, load_resume, save_resume
from tritlens.train.extensions import Extension, config_extensions
from tritlens.train.grokfast import grokfast_extensions
from tritlens.train.memory import resolve_device

EVAL_CHUNK = 16_384
Event = Callable[[str, int], None]  # (event, step): "metrics", "weights", "checkpoint", "final"


class TrainingFailed(TritlensError):
    """Training cannot go on (the loss diverged, memory ran out); the run is marked failed."""


def answer_loss(logits: Tensor, targets: Tensor, dtype: torch.dtype) -> Tensor:
    """Mean cross-entropy over every answer position, computed in ``dtype``."""
    logp = logits.to(dtype).log_softmax(-1)
    return -logp.gather(-1, targets.unsqueeze(-1)).mean()


def loss_and_accuracy(logits: Tensor, targets: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """:func:`answer_loss` and the fraction of examples whose answers are all right."""
    acc = (logits.argmax(-1) == targets).all(dim=-1).to(dtype).mean()
    return answer_loss(logits, targets, dtype), acc


@torch.no_grad()
def evaluate(model: Model, data: Split, positions: tuple[int, ...],
             dtype: torch.dtype = torch.float64) -> tuple[float, float]:
    """Loss and accuracy on ``data``, in chunks so large test sets fit in memory."""
    total_loss = total_acc = 0.0
    for start in range(0, len(data), EVAL_CHUNK):
        chunk = data.subset(slice(start, start + EVAL_CHUNK))
        loss, acc = loss_and_accuracy(model.answer_logits(chunk.tokens, positions), chunk.targets, dtype)
        total_loss += float(loss) * len(chunk)
        total_acc += float(acc) * len(chunk)
    return total_loss / len(data), total_acc / len(data)


def make_optimizer(model: Model, cfg: RunConfig, extra: nn.Module | None = None) -> torch.optim.AdamW:
    """AdamW over the model's trainable parameters (and those of ``extra``, e.g. training extensions)."""
    params = [p for p in model.parameters() if p.requires_grad]
    params += [p for p in extra.parameters() if p.requires_grad] if extra is not None else []
    t = cfg.train
    return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay, betas=t.betas)


def learning_rate(cfg: RunConfig, step: int) -> float:
    """Learning rate of ``step`` (counting from 0): linear warm-up over ``warmup_steps`` from
    ``warmup_start`` x lr, then constant (``schedule=constant``) or a cosine decay that reaches 0 at
    ``steps`` (``schedule=cosine``, as Quirke et al.: start factor 0.01 over 20% of the steps)."""
    t = cfg.train
    if t.warmup_steps and step < t.warmup_steps:
        ramp = min(1.0, (step + 1) / t.warmup_steps)
        return t.lr * (ramp if t.warmup_start == 0 else t.warmup_start + (1.0 - t.warmup_start) * ramp)
    if t.schedule == "cosine":
        progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
        return t.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return t.lr


def weights_metadata(cfg: RunConfig, step: int) -> dict[str, str]:
    return {"format": "tritlens", "step": str(step), "config": cfg.to_json()}


@dataclass
class TrainResult:
    model: Model
    task: Task
    metrics: list[dict[str, Any]]
    steps: int


class Trainer:
    """Runs one config into one run directory (or in memory when ``run`` is None).

    ``on_event(event, step)`` is called after each metrics row, weights checkpoint, resume checkpoint
    and the final weights are written (for progress reporting, and to test crash safety). ``model``
    starts from given weights instead of a fresh initialisation (fine-tuning); ``extensions`` run
    alongside the model (see :mod:`tritlens.train.extensions`).
    """

    def __init__(self, cfg: RunConfig, run: RunDir | None = None, progress: bool = True,
                 task: Task | None = None, on_event: Event | None = None, model: Model | None = None,
                 extensions: Sequence[Extension] = ()) -> None:
        self.cfg, self.run, self.progress, self.on_event = cfg, run, progress, on_event
        self.device = resolve_device(cfg.train.device)
        self.task = task or build_task(cfg)
        self.model = (model if model is not None else build_model(cfg, self.task)).to(self.device)
        self.extensions = nn.ModuleList([*extensions, *config_extensions(cfg, self.task, self.model),
                                         *grokfast_extensions(cfg, self.model)])
        self.extensions.to(self.device)
        self.opt = make_optimizer(self.model, cfg, self.extensions)
        self.gen = torch.Generator().manual_seed(cfg.train.seed)
        self.dtype = torch.float64 if cfg.train.loss_dtype == "float64" else torch.float32
        train, test = self.task.split()
        self.train_data, self.test_data = train.to(self.device), test.to(self.device)
        self.positions = self.task.answer_positions
        self.metrics: list[dict[str, Any]] = []
        self.step_reached = 0
        self.start, self.wall0 = 0, 0.0  # where fit() begins (restore() moves it to a checkpoint)

    def _event(self, name: str, step: int) -> None:
        if self.on_event is not None:
            self.on_event(name, step)

    # -- pieces of one step --------------------------------------------------------------------
    def batch(self, step: int) -> Split:
        """The training examples of ``step``: the task's fresh batch when it draws them, else a seeded
        minibatch of (or the whole) train split."""
        size = self.cfg.train.batch_size
        if self.task.sample is not None and size is not None:
            return self.task.sample(step, size).to(self.device)
        if size is None or size >= len(self.train_data):
            return self.train_data
        index = torch.randint(len(self.train_data), (size,), generator=self.gen)
        return self.train_data.subset(index.to(self.device))

    def step(self, step: int) -> None:
        data = self.prepare(step)
        hooks = [h for ext in self.extensions for h in ext.fwd_hooks()]
        with self.model.hooks(hooks) if hooks else nullcontext():
            logits = self.model.answer_logits(data.tokens, self.positions)
        loss = answer_loss(logits, data.targets, self.dtype)
        for term in (self.model.extra_loss(), *(ext.loss(data) for ext in self.extensions)):
            if term is not None:
                loss = loss + term
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.update()

    def prepare(self, step: int) -> Split:
        """Before the forward pass of ``step``: set its learning rate, tell the extensions, and return
        its batch."""
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.cfg, step)
        for ext in self.extensions:
            ext.begin_step(step)
        return self.batch(step)

    def update(self) -> None:
        """After the backward pass: the extensions' gradient filters, clipping, and the AdamW update."""
        for ext in self.extensions:
            ext.after_backward()
        if self.cfg.train.grad_clip is not None:
            nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]],
                                     self.cfg.train.grad_clip)
        self.opt.step()

    def log(self, step: int, wall: float) -> dict[str, Any]:
        train_loss, train_acc = evaluate(self.model, self.train_data, self.positions, self.dtype)
        test_loss, test_acc = evaluate(self.model, self.test_data, self.positions, self.dtype)
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            raise TrainingFailed(f"training diverged: the loss is {train_loss} at step {step} "
                                 "(try a smaller train.lr)")
        row = {"step": step, "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
               "test_acc": test_acc, "lr": learning_rate(self.cfg, max(step - 1, 0)),
               "wall_time": round(wall, 3)}
        self.metrics.append(row)
        if self.run is not None:
            self.run.append_metrics([row])
            self._event("metrics", step)
        return row

    def checkpoint(self, step: int, wall: float) -> None:
        if self.run is None:
            return
        weights = self.model.state_dict()
        save_tensors(self.run.checkpoint_path(step), weights, weights_metadata(self.cfg, step))
        self._event("weights", step)
        save_resume(self.run, self.model, self.opt, self.gen, ResumeState(step, wall), self.extensions)
        self._event("checkpoint", step)

    def restore(self) -> int:
        """Continue from the last checkpoint (or from scratch if there is none); returns its step.

        Everything is read and checked before anything is written, so a damaged run is refused as it
        is. Metrics rows past the checkpoint (a torn last line among them) are dropped: the resumed
        run logs them again."""
        assert self.run is not None
        if not os.path.lexists(self.run.resume_path):
            self.metrics = self.run.truncate_metrics(None)
            return 0
        state = load_resume(self.run, self.model, self.opt, self.gen, self.cfg.train.steps,
                            self.extensions)
        rows = [r for r in self.run.read_metrics() if r["step"] <= state.step]
        repair = self._check_rows(rows, state.step)
        self.metrics = self.run.truncate_metrics(state.step)
        self.start, self.wall0 = state.step, state.wall_time
        if repair:  # the checkpoint's own row was cut off: the restored model gives it back exactly
            self.log(state.step, state.wall_time)
        return state.step

    def _check_rows(self, rows: list[dict[str, Any]], step: int) -> bool:
        """The rows up to the checkpoint at ``step`` are exactly those the schedule logs; True when only
        the checkpoint's own row is missing (it can be recomputed), a CheckpointError otherwise."""
        t = self.cfg.train
        want = {0, *range(t.eval_every, step + 1, t.eval_every)} | ({step} if step == t.steps else set())
        got = {r["step"] for r in rows}
        if got == want:
            return False
        if got == want - {step}:
            return True
        assert self.run is not None
        odd = sorted(want ^ got)
        raise CheckpointError(f"{self.run.metrics_path} does not hold the rows logged before the checkpoint "
                              f"at step {step} (steps {odd[:3]} differ); the run cannot continue exactly: "
                              "start over with --force")

    def _stopped_at(self, step: int) -> bool:
        """Whether the run had already met ``stop_at_test_acc`` at the checkpoint it resumes from."""
        goal, last = self.cfg.train.stop_at_test_acc, self.metrics[-1] if self.metrics else {}
        return step > 0 and goal is not None and last.get("step") == step and last["test_acc"] >= goal

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train from step 0, or from the checkpoint :meth:`restore` read."""
        t = self.cfg.train
        t0 = time.perf_counter()
        wall = lambda: self.wall0 + time.perf_counter() - t0  # noqa: E731
        first = self.begin()
        bar = tqdm(total=t.steps, initial=self.start, disable=not self.progress, dynamic_ncols=True,
                   desc=self.cfg.preset or "train", unit="step")
        step = self.start
        for step in range(first, t.steps + 1):
            self.step(step - 1)
            bar.update(1)
            done = self.after_step(step, wall)
            if self.metrics and self.metrics[-1]["step"] == step:
                row = self.metrics[-1]
                bar.set_postfix(train=f"{row['train_loss']:.2e}/{row['train_acc']:.1%}",
                                test=f"{row['test_loss']:.2e}/{row['test_acc']:.1%}")
            if done:
                break
        bar.close()
        return self.finish(step)

    def begin(self) -> int:
        """Log step 0 of a fresh run; the first step to train (past ``steps`` when there is none)."""
        if self.start == 0:
            self.log(0, 0.0)
        return self.start + 1 if not self._stopped_at(self.start) else self.cfg.train.steps + 1

    def after_step(self, step: int, wall: Callable[[], float]) -> bool:
        """Bookkeeping after ``step`` updates: metrics row, checkpoint; True when training is done."""
        t = self.cfg.train
        self.step_reached = step
        done = step == t.steps
        if step % t.eval_every == 0 or done:
            row = self.log(step, wall())
            if t.stop_at_test_acc is not None and row["test_acc"] >= t.stop_at_test_acc:
                done = True
        if (t.checkpoint_every and step % t.checkpoint_every == 0) or done:
            self.checkpoint(step, wall())
        return done

    def finish(self, step: int) -> TrainResult:
        """Write the final weights (reached at ``step``) and return the result."""
        if self.run is not None:
            save_tensors(self.run.model_path, self.model.state_dict(), weights_metadata(self.cfg, step))
            self._event("final", step)
        return TrainResult(self.model, self.task, self.metrics, step)
