"""Ensembles: K runs of one model shape trained in one process as one batched model.

Every member is an ordinary run with its own :class:`Trainer` (model, AdamW, minibatch generator,
extensions, metrics, checkpoints, resume file) and its own run directory. At each step the members'
parameters are stacked and one ``torch.func.vmap`` forward and backward gives every member its
gradient; each member's own optimiser then updates it. Members may differ in anything that leaves
the model and the data's shapes alone (seeds, data seed, lr, weight decay, schedule, steps,
GrokFast, ...); a member that stops early (``stop_at_test_acc``) or resumes from a later checkpoint
simply sits out the steps it does not need, so any grouping of members trains each the same way.

Bit-identical to training each member alone (weights, checkpoints, metrics, resume files; tested):
the paths a member takes avoid the fused products whose batched form would sum in another order.
On a CPU with N torch threads the members are dealt into N groups trained side by side on one
thread each; a member then equals its run trained alone on one thread (torch's reductions may round
differently on two threads, so runs alone on one and on two threads can differ from each other).

    runs = train_members(member_configs(cfg, seeds=[0, 1, 2]), "runs/q")   # runs/q/seed-0 ...
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from tritlens.build import build_task
from tritlens.config import RunConfig
from tritlens.errors import ConfigError, RunDirError, TritlensError, short
from tritlens.fields import SEED_MAX
from tritlens.run import Run, RunDir, load_run
from tritlens.tasks import Split, Task
from tritlens.threads import side_by_side
from tritlens.train.claim import COMPLETE, RESUME, Claim, claim, precheck
from tritlens.train.memory import check_resources
from tritlens.train.session import checked
from tritlens.train.trainer import Trainer, TrainingFailed, TrainResult, answer_loss

MAX_MEMBERS = 256
# settings members may differ in: none changes the model, the forward pass or the data's shapes
PER_MEMBER = {"train": {"seed", "lr", "weight_decay", "betas", "warmup_steps", "warmup_start", "schedule",
                        "steps", "eval_every", "checkpoint_every", "grad_clip", "grokfast_lambda",
                        "grokfast_alpha", "stop_at_test_acc"},
              "task": {"data_seed"}}


def parse_seeds(text: str) -> list[int]:
    """``0-7``, ``0,3,5`` or a mix (``0-3,9``) as a list of distinct seeds, in the order given."""
    seeds: list[int] = []
    for part in str(text).split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise ConfigError(f"--seeds {text!r:.40}: expected seeds such as 0-7 or 0,3,5") from None
        if first < 0 or last < first:
            raise ConfigError(f"--seeds {text!r:.40}: {part.strip()!r:.20} is not an ascending range of "
                              "non-negative seeds")
        if last - first + len(seeds) >= MAX_MEMBERS:
            raise ConfigError(f"--seeds {text!r:.40}: at most {MAX_MEMBERS} members in one ensemble")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r:.40} names a seed twice")
    return seeds


def parse_vary(text: str) -> tuple[str, list[str]]:
    """``section.key=v1,v2,...`` as the key and its values (each member takes one)."""
    key, eq, values = str(text).partition("=")
    items = [v.strip() for v in values.split(",")] if eq else []
    if not eq or "." not in key or not items or any(not v for v in items):
        raise ConfigError(f"--vary {text!r:.40}: expected section.key=value1,value2,...")
    if len(set(items)) != len(items):
        raise ConfigError(f"--vary {text!r:.40} names a value twice")
    return key.strip(), items


def parse_members(seeds: object, vary: object) -> tuple[list[int] | None, list[tuple[str, list[str]]]]:
    """The seeds and varied settings of an API call, checked: ``seeds`` a string (``"0-7"``) or a list
    of integers; ``vary`` a dict {"section.key": [values]} or a list of ``"section.key=v1,v2"``."""
    if seeds is not None and not isinstance(seeds, str):
        ok = isinstance(seeds, list | tuple) and all(isinstance(s, int) and not isinstance(s, bool)
                                                      and 0 <= s <= SEED_MAX for s in seeds)
        if not ok:
            raise ConfigError(f"seeds must be a string such as '0-7' or a list of seeds, got {short(seeds)}")
        seeds = ",".join(str(s) for s in seeds)  # type: ignore[union-attr]
    if isinstance(vary, dict):
        if not all(isinstance(k, str) and isinstance(vs, list | tuple) for k, vs in vary.items()):
            raise ConfigError(f"vary must map 'section.key' to a list of values, got {short(vary)}")
        vary = [f"{k}={','.join(str(v) for v in vs)}" for k, vs in vary.items()]
    if vary is not None and (not isinstance(vary, list | tuple) or not all(isinstance(v, str) for v in vary)):
        raise ConfigError(f"vary must be a dict or a list of 'section.key=v1,v2' strings, got {short(vary)}")
    return (None if seeds is None else parse_seeds(seeds)), [parse_vary(v) for v in vary or []]


def member_overrides(seeds: Sequence[int] | None = None, vary: Sequence[tuple[str, Sequence[str]]] = ()
                     ) -> list[tuple[str, list[str]]]:
    """(name, settings) per member: every seed (``train.seed``) times every combination of the varied
    settings; names such as ``seed-3`` or ``seed-3_weight_decay-0.5`` are the run folders' names."""
    members: list[tuple[str, list[str]]] = [("", [])]
    if seeds is not None:
        members = [(f"seed-{s}", [f"train.seed={s}"]) for s in seeds]
    for key, values in vary:
        short_key = key.split(".", 1)[1]
        members = [(f"{name}_{short_key}-{v}".strip("_"), [*sets, f"{key}={v}"])
                   for name, sets in members for v in values]
    if members == [("", [])] or not members:
        raise ConfigError("an ensemble needs seeds or varied settings (--seeds, --vary)")
    if len(members) > MAX_MEMBERS:
        raise ConfigError(f"{len(members)} members: at most {MAX_MEMBERS} in one ensemble")
    return members


def member_configs(cfg: RunConfig, seeds: Sequence[int] | None = None,
                   vary: Sequence[tuple[str, Sequence[str]]] = ()) -> list[tuple[str, RunConfig]]:
    """(name, config) per member of :func:`member_overrides`, checked to fit one batched model."""
    out = [(name, cfg.with_overrides(sets)) for name, sets in member_overrides(seeds, vary)]
    check_compatible([c for _, c in out])
    return out


def check_compatible(cfgs: Sequence[RunConfig]) -> None:
    """Members must share everything but the PER_MEMBER settings (one model shape, one forward pass)."""
    def shared(cfg: RunConfig) -> dict[str, Any]:
        d = cfg.to_dict()
        for section, keys in PER_MEMBER.items():
            d[section] = {k: v for k, v in d[section].items() if k not in keys}
        return d

    first = shared(cfgs[0])
    for cfg in cfgs[1:]:
        other = shared(cfg)
        for section in first:
            if first[section] != other[section]:
                keys = [k for k in first[section] if first[section][k] != other[section].get(k)] \
                    if isinstance(first[section], dict) else [section]
                raise ConfigError(f"ensemble members must share {section}.{keys[0] if keys else ''} (only "
                                  "seeds, data seed and optimiser settings may differ)")
    if cfgs[0].arch != "transformer":
        raise ConfigError(f"ensembles train transformers; model.arch is {cfgs[0].arch}")
    if cfgs[0].train.aux_target is not None:
        raise ConfigError("ensembles do not support train.aux_target (its heads read hooks during training)")


class _AnswerLogits(nn.Module):
    """``model.answer_logits`` as a module's forward, for ``functional_call``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, positions: tuple[int, ...]) -> torch.Tensor:
        return self.model.answer_logits(tokens, positions)


class EnsembleTrainer:
    """Drives member trainers in lockstep through one batched (vmapped) forward and backward; with
    ``workers`` > 1 on a CPU, as that many such groups side by side (see :meth:`fit`)."""

    def __init__(self, trainers: Sequence[Trainer], progress: bool = True,
                 on_failure: Callable[[Trainer, BaseException], None] | None = None,
                 workers: int = 1) -> None:
        self.trainers, self.progress, self.on_failure = list(trainers), progress, on_failure
        first = self.trainers[0]
        self.workers = max(1, workers) if first.device.type == "cpu" else 1
        self.positions, self.dtype = first.positions, first.dtype
        self.base = _AnswerLogits(copy.deepcopy(first.model).to("meta"))  # called with each member's tensors
        self.batched = vmap(self._call, in_dims=(0, 0, 0))
        self.shared = vmap(self._call, in_dims=(0, 0, None))
        self.failed: dict[int, BaseException] = {}
        self.stop = threading.Event()  # set: the training loop ends after its current step

    def _call(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
              tokens: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, ({f"model.{k}": v for k, v in params.items()},
                                           {f"model.{k}": v for k, v in buffers.items()}),
                               (tokens, self.positions))

    def step(self, members: list[Trainer], step: int) -> None:
        """One update of every trainer in ``members`` (``step`` counts from 0)."""
        data: list[Split] = [tr.prepare(step) for tr in members]
        params, buffers = stack_module_state([tr.model for tr in members])
        tokens = data[0].tokens
        if all(d.tokens is tokens or torch.equal(d.tokens, tokens) for d in data):
            logits = self.shared(params, buffers, tokens)
        else:
            logits = self.batched(params, buffers, torch.stack([d.tokens for d in data]))
        # unbind, not logits[k]: its backward stacks the members' gradients once instead of filling a
        # zero tensor of all members per member
        loss = sum(answer_loss(member, d.targets, self.dtype) for member, d in zip(logits.unbind(0), data,
                                                                                   strict=True))
        loss.backward()  # type: ignore[union-attr]
        for k, tr in enumerate(members):
            for name, p in tr.model.named_parameters():
                if p.requires_grad:
                    p.grad = params[name].grad[k]
            tr.update()

    def fit(self) -> list[TrainResult | None]:
        """Train every member to its end; None for a member whose training failed (see ``failed``).

        With ``workers`` > 1 (on a CPU) the members are dealt into that many groups, each a batched
        model of its own, trained side by side on one torch thread each: a small model's batched
        products use two cores better that way than split across two threads."""
        firsts = [tr.begin() for tr in self.trainers]
        total = sum(max(0, tr.cfg.train.steps - first + 1)
                    for tr, first in zip(self.trainers, firsts, strict=True))
        count = min(self.workers, len(self.trainers))
        with tqdm(total=total, disable=not self.progress, dynamic_ncols=True, unit="member-step",
                  desc=f"ensemble of {len(self.trainers)}") as bar:
            lock = threading.Lock()

            def advance(n: int) -> None:
                with lock:
                    bar.update(n)

            last = self._train(firsts, advance) if count == 1 else \
                self._in_groups(count, firsts, advance)
        return [None if i in self.failed else tr.finish(last[i]) for i, tr in enumerate(self.trainers)]

    def _in_groups(self, count: int, firsts: list[int], advance: Callable[[int], None]) -> list[int]:
        """:meth:`_train` for ``count`` groups of the members side by side; each member's last step.
        The first group to fail (or Ctrl-C) stops the others after their current step."""
        groups = [list(range(g, len(self.trainers), count)) for g in range(count)]
        parts = [EnsembleTrainer([self.trainers[i] for i in g], False, self.on_failure) for g in groups]
        for part in parts:
            part.stop = self.stop
        lasts = side_by_side(lambda g: parts[g]._train([firsts[i] for i in groups[g]], advance), count, count,
                             first_alone=False, stop=self.stop)
        last = [0] * len(self.trainers)
        for part, group, part_last in zip(parts, groups, lasts, strict=True):
            for j, i in enumerate(group):
                last[i] = part_last[j]
            self.failed.update({group[j]: exc for j, exc in part.failed.items()})
        return last

    def _train(self, firsts: list[int], advance: Callable[[int], None]) -> list[int]:
        """The training loop of these members (until done or ``stop`` is set); each member's last step."""
        t0 = time.perf_counter()
        ends = [tr.cfg.train.steps for tr in self.trainers]
        done = [first > end for first, end in zip(firsts, ends, strict=True)]
        last = [tr.start for tr in self.trainers]
        for step in range(min(firsts), max(ends) + 1):
            if self.stop.is_set():
                break
            active = [i for i, tr in enumerate(self.trainers)
                      if not done[i] and firsts[i] <= step <= ends[i] and i not in self.failed]
            if not active:
                continue
            self.step([self.trainers[i] for i in active], step - 1)
            advance(len(active))
            for i in active:
                tr = self.trainers[i]
                try:
                    done[i] = tr.after_step(step, lambda tr=tr: tr.wall0 + time.perf_counter() - t0)
                except (TritlensError, MemoryError, torch.OutOfMemoryError) as exc:  # recorded; others go on
                    self.failed[i] = exc
                    if self.on_failure is None:
                        raise
                    self.on_failure(tr, exc)
                last[i] = step
        return last


def train_members(members: Sequence[tuple[str, RunConfig]], out: str | os.PathLike[str], *,
                  resume: bool = False, force: bool = False, progress: bool = True,
                  workers: int | None = None) -> list[Run]:
    """Train ``members`` (from :func:`member_configs`) as one ensemble into ``out/NAME`` each.

    Everything is checked, and every member folder is checked as ``train`` would, before any folder is
    created; a refusal leaves nothing behind. A member whose training fails (a diverged loss) is
    marked failed and the others go on; a :class:`TrainingFailed` then names it. Interrupted
    ensembles continue with ``resume`` (members at different checkpoints catch up in turn).
    ``workers`` groups (default: torch's thread count; one on a GPU) train side by side on one thread
    each, and their members then equal runs trained alone on one thread."""
    cfgs = [checked(cfg) for _, cfg in members]
    check_compatible(cfgs)
    for cfg in cfgs:
        check_resources(cfg)
    tasks: dict[str, Task] = {}
    for cfg in cfgs:  # members with one data seed share one task
        tasks.setdefault(json.dumps(cfg.to_dict()["task"], sort_keys=True), build_task(cfg))
    task_of = [tasks[json.dumps(cfg.to_dict()["task"], sort_keys=True)] for cfg in cfgs]
    root = Path(out)
    if RunDir(root).exists():
        raise RunDirError(f"{root} holds a single run; an ensemble writes one run per member under --out")
    paths = [root / name for name, _ in members]
    for path, cfg in zip(paths, cfgs, strict=True):
        precheck(path, cfg, resume, force)
    held, trainers = _claim_all(root, paths, cfgs, resume, force, task_of, progress)
    try:
        active = [tr for tr in trainers if tr is not None]
        workers = torch.get_num_threads() if workers is None else workers
        ens = EnsembleTrainer(active, progress, _mark, workers) if active else None
        results = iter(ens.fit() if ens is not None else [])
        done = [next(results) if tr is not None else None for tr in trainers]
    except (KeyboardInterrupt, TrainingFailed):
        raise
    except BaseException as exc:  # a bug in the batched step: every unfinished member says so
        for tr in trainers:
            if tr is not None and tr.run is not None:
                _mark(tr, exc)
        raise
    finally:
        for claim_ in held:
            claim_.release()
    failed = {ens.trainers[i]: exc for i, exc in ens.failed.items()} if ens is not None else {}
    if failed:
        why = "; ".join(f"{name}: {failed[tr]}" for (name, _), tr in zip(members, trainers, strict=True)
                        if tr in failed)
        raise TrainingFailed(f"{len(failed)} of {len(members)} ensemble members failed and are marked "
                             f"failed ({why[:300]}); the others finished")
    return [load_run(path) if result is None else
            Run(path, cfg, result.model.eval(), result.metrics, result.steps, task)
            for path, cfg, task, result in zip(paths, cfgs, task_of, done, strict=True)]


def _claim_all(root: Path, paths: list[Path], cfgs: list[RunConfig], resume: bool, force: bool,
               tasks: list[Task], progress: bool) -> tuple[list[Claim], list[Trainer | None]]:
    """Claim every member folder and build its trainer (None for a complete run). On any refusal,
    the folders this call created are removed again and the claims released."""
    root_created = not root.exists()
    held: list[Claim] = []
    created: list[Path] = []
    try:
        trainers: list[Trainer | None] = []
        for path, cfg, task in zip(paths, cfgs, tasks, strict=True):
            fresh = not path.exists()
            held.append(claim(path, cfg, resume=resume, force=force))
            if fresh:
                created.append(path)
            mode = held[-1].mode
            trainer = None if mode == COMPLETE else Trainer(cfg, held[-1].run, False, task)
            if mode == RESUME:
                assert trainer is not None
                trainer.restore()
            trainers.append(trainer)
        for claim_ in held:
            if claim_.mode == RESUME:
                claim_.run.failure_path.unlink(missing_ok=True)
        return held, trainers
    except BaseException:
        for claim_ in held:
            claim_.release()
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
        if root_created:
            with contextlib.suppress(OSError):
                root.rmdir()
        raise


def _mark(trainer: Trainer, exc: BaseException) -> None:
    """Mark a member's run failed with the reason (a member without a folder has nothing to mark)."""
    if trainer.run is None:
        return
    why = str(exc) if isinstance(exc, TritlensError) else f"internal error: {type(exc).__name__}: {exc}"
    with contextlib.suppress(TritlensError):
        trainer.run.mark_failed(why, trainer.step_reached)
