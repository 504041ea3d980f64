"""``remove-ln``: fine-tune a run's norms away and compare with the same fine-tuning that keeps them.

    OUT/ln_removal.json    settings (written first) and, at the end, the three-way comparison
    OUT/control/           arm 1: fine-tuned with its norms (an ordinary run directory)
    OUT/removal/           arm 2: fine-tuned while the norms go fake (checkpoints of the fake-norm model)
    OUT/config.json, OUT/metrics.jsonl, OUT/model.safetensors
                           the result: an ordinary ``norm=none`` run with the fake scales folded in,
                           written last (model.safetensors last of all: its presence means complete)

Both arms use the same optimiser settings, batches and steps, so the comparison isolates the cost of
removing the norms. Each arm resumes from its own checkpoints (``--resume``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tritlens.config import RunConfig, check_type, parse_value
from tritlens.errors import ConfigError, RunDirError
from tritlens.fields import check_fields, seed, setting
from tritlens.models import HookedTransformer
from tritlens.run import RunDir, RunLock, atomic_write_text, load_run, load_weights_into, save_tensors, schema
from tritlens.run.files import read_text, reason
from tritlens.run.loaded import Run
from tritlens.run.schema import LN_REMOVAL
from tritlens.tasks import Task
from tritlens.train.lnfree import GROUPS, FakeNormModel, RemovalSchedule, fold, removal_events
from tritlens.train.memory import check_resources
from tritlens.train.trainer import Trainer, evaluate, weights_metadata

RESULT_FILE = "ln_removal.json"
SCHEMA = 1


@dataclass
class RemovalConfig:
    """The fine-tuning both arms share, and the removal schedule (reference: GPT-2 small, lr 6e-4 with
    warm-up, weight decay 0.01, gradient clip 1.0, a norm every 20-30 steps)."""

    steps: int = setting(300, lo=1, hi=10**7)  # fine-tuning steps of each arm
    start: int = setting(10, lo=1, hi=10**7)  # step at which the first norm goes fake (step 0 records scales)
    gap: int = setting(20, lo=1, hi=10**6)  # steps between two norms going fake
    order: tuple[str, ...] = setting(factory=lambda: GROUPS, choices=GROUPS)  # stages, in this order
    lr: float = setting(6e-4, lo=0.0, hi=1e3, lo_open=True)
    warmup_steps: int = setting(10, lo=0, hi=10**7)
    weight_decay: float = setting(0.01, lo=0.0, hi=1e3)
    grad_clip: float | None = setting(1.0, lo=0.0, hi=1e6, lo_open=True)
    batch_size: int | None = setting(None, lo=1, hi=1 << 24)  # None: the source run's batch size
    momentum: float = setting(0.9, lo=0.0, hi=1.0, hi_open=True)  # of the scales' moving averages
    aux_weight: float = setting(0.0, lo=0.0, hi=1e3)  # w of w * mean (scale - target)^2 at the final norm
    special_positions: tuple[int, ...] = setting(factory=tuple, lo=0, hi=1 << 20)  # keep their own scale
    seed: int = seed(0)  # minibatch order
    eval_every: int = setting(25, lo=1, hi=10**7)
    checkpoint_every: int = setting(50, lo=0, hi=10**7)


def removal_config(overrides: dict[str, Any] | list[str] | None = None,
                   base: RemovalConfig | None = None) -> RemovalConfig:
    """Settings from ``KEY=VALUE`` strings or a dict (checked against the declared types and ranges)."""
    hints = typing.get_type_hints(RemovalConfig)
    values = dataclasses.asdict(base or RemovalConfig())
    items = overrides.items() if isinstance(overrides, dict) else [o.partition("=")[::2]
                                                                    for o in overrides or []]
    for key, raw in items:
        key = str(key).strip().removeprefix("removal.")
        if key not in hints:
            raise ConfigError(f"unknown remove-ln setting {key!r:.40}; known: {', '.join(hints)}")
        tp = hints[key]
        if key == "order" and isinstance(raw, str):  # a list of words: mlp,qk,v,final
            raw = [w.strip() for w in raw.strip("[] ").split(",") if w.strip()]
        values[key] = parse_value(raw.strip(), tp, key) if isinstance(raw, str) else check_type(raw, tp, key)
    cfg = RemovalConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    check_fields(cfg, "remove-ln")
    return cfg


# -- checks ----------------------------------------------------------------------------------------
def check_source(run: Run) -> HookedTransformer:
    """The run's model, if its norms can be removed and folded; else a one-line error saying why."""
    model = run.model
    if not isinstance(model, HookedTransformer):
        raise ConfigError(f"remove-ln needs a transformer run; {run.path} has model.arch={run.config.arch}")
    if model.cfg.norm == "none":
        raise ConfigError(f"{run.path} has no LayerNorm (model.norm=none): there is nothing to remove")
    after = ["unembed"] + (["attn", "mlp"] if model.cfg.norm_where == "all" else [])
    quantized = [g for g in after if getattr(model.quant, g) != "none"]
    if quantized:
        raise ConfigError(f"remove-ln folds the norms into the weights after them, which must be full "
                          f"precision: quant.{quantized[0]} is {getattr(model.quant, quantized[0])}")
    if model.cfg.norm == "layer" and not model.cfg.biases:
        raise ConfigError("remove-ln cannot fold LayerNorm biases into a model without biases "
                          "(model.biases=false)")
    return model


def finetune_config(source: RunConfig, s: RemovalConfig) -> RunConfig:
    """The source run's config with the shared fine-tuning settings as its train section."""
    train = dataclasses.replace(
        source.train, steps=s.steps, lr=s.lr, warmup_steps=s.warmup_steps, weight_decay=s.weight_decay,
        grad_clip=s.grad_clip, batch_size=source.train.batch_size if s.batch_size is None else s.batch_size,
        seed=s.seed, eval_every=s.eval_every, checkpoint_every=s.checkpoint_every, stop_at_test_acc=None,
        schedule="constant", warmup_start=0.0, aux_target=None)
    return dataclasses.replace(source, train=train)


def _events_fit(events: list[tuple[int, str]], steps: int) -> None:
    last = max(at for at, _ in events)
    if last >= steps:
        raise ConfigError(f"the removal schedule needs more than {last} steps ({len(events)} norms from step "
                          f"{events[0][0]}, one every {events[1][0] - events[0][0] if len(events) > 1 else 0}"
                          f"); set steps above {last} or a smaller gap")


# -- the output directory --------------------------------------------------------------------------
class RemovalDir(RunDir):
    """The output folder of ``remove-ln`` (a run directory once complete)."""

    result_path = property(lambda self: self.path / RESULT_FILE)
    control = property(lambda self: RunDir(self.path / "control"))
    removal = property(lambda self: RunDir(self.path / "removal"))

    def stored(self) -> dict[str, Any] | None:
        if not self.result_path.is_file():
            return None
        data = schema.loads(read_text(self.result_path, "removal record"), str(self.result_path))
        return schema.check(data, LN_REMOVAL, str(self.result_path))

    def wipe(self) -> None:
        try:
            for sub in ("control", "removal", "checkpoints"):
                if (self.path / sub).is_dir():
                    shutil.rmtree(self.path / sub)
            for name in (RESULT_FILE, "config.json", "metrics.jsonl", "model.safetensors", "failed.json"):
                (self.path / name).unlink(missing_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot clear {self.path}: {reason(exc)}") from None


Overrides = list[str] | dict[str, Any] | None


def _decide(out: RemovalDir, overrides: Overrides, resume: bool, force: bool) -> tuple[str, RemovalConfig]:
    """(new, resume or complete; the settings): a resumed removal keeps its stored settings, which
    ``overrides`` may repeat but not change. Folders holding anything else are refused."""
    if out.path.exists() and not out.path.is_dir():
        raise RunDirError(f"{out.path} is a file; choose a directory for --out")
    if not out.path.exists() or out.is_empty():
        return "new", removal_config(overrides)
    stored = out.stored()
    if stored is None:
        raise RunDirError(f"{out.path} is not empty and holds no LayerNorm removal; choose another --out")
    if force:
        return "new", removal_config(overrides)
    if not resume:
        raise RunDirError(f"{out.path} already holds a LayerNorm removal; pass --resume to continue it, "
                          "--force to replace it, or choose another --out")
    theirs = removal_config(stored["settings"])
    given = removal_config(overrides, base=theirs)
    if given != theirs:
        diff = next(k for k in stored["settings"] if getattr(theirs, k) != getattr(given, k))
        raise RunDirError(f"{out.path} holds a removal with different settings ({diff}: stored "
                          f"{getattr(theirs, diff)}, given {getattr(given, diff)}); resume without --set")
    return ("complete" if out.is_complete() else "resume"), theirs


# -- the work --------------------------------------------------------------------------------------
def _arm(cfg: RunConfig, rd: RunDir, task: Task, model: Any, progress: bool, extensions: list) -> None:
    if rd.is_complete():
        load_weights_into(model, rd.model_path)
        return
    trainer = Trainer(cfg, rd, progress, task, model=model, extensions=extensions)
    trainer.restore()  # from the arm's last checkpoint, if it has one
    trainer.fit()


def _train_seconds(rd: RemovalDir) -> dict[str, float]:
    """Each arm's training wall time over all its sessions (the trainer's wall clock survives
    resumes), unlike ``seconds``, which is this session's alone."""
    return {name: float(arm.read_metrics()[-1]["wall_time"])
            for name, arm in (("control", rd.control), ("removal", rd.removal))}


def _scores(model: Any, task: Task) -> dict[str, float]:
    train, test = task.split()
    model.eval()
    out = {}
    for name, data in (("train", train), ("test", test)):
        loss, acc = evaluate(model, data, task.answer_positions)
        out[f"{name}_loss"], out[f"{name}_acc"] = loss, acc
    return out


def remove_ln(source: str | os.PathLike[str] | Run, out: str | os.PathLike[str], overrides: Overrides = None,
              *, resume: bool = False, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Remove the norms of ``source`` into ``out`` with the default settings changed by ``overrides``
    (``KEY=VALUE`` strings or a dict, see :class:`RemovalConfig`); returns the comparison (also in
    OUT/ln_removal.json)."""
    if resume and force:
        raise ConfigError("resume and force contradict each other: resume continues, force replaces")
    src = source if isinstance(source, Run) else load_run(source)
    base = check_source(src)
    rd = RemovalDir(out)
    if src.path is not None and rd.path.resolve() in (src.path.resolve(), *src.path.resolve().parents):
        raise RunDirError(f"--out {rd.path} would overwrite the source run; choose another folder")
    mode, settings = _decide(rd, overrides, resume, force)
    if mode == "complete":
        return rd.stored() or {}
    cfg = finetune_config(src.config, settings)
    probe = FakeNormModel(copy.deepcopy(base), settings.special_positions, settings.momentum)
    events = removal_events(probe, settings.order, settings.start, settings.gap)
    _events_fit(events, settings.steps)
    check_resources(cfg)
    created = not rd.path.exists()
    try:
        rd.path.mkdir(parents=True, exist_ok=True)
        with RunLock(rd.path, "remove-ln"):
            if _decide(rd, overrides, resume, force)[0] == "new":
                rd.wipe()
            record = {"schema": SCHEMA, "source": str(src.path or ""),
                      "settings": dataclasses.asdict(settings),
                      "events": [{"step": at, "norm": name} for at, name in events]}
            _write(rd.result_path, record)
            return _run(src, base, rd, cfg, settings, events, record, progress)
    except OSError as exc:
        raise RunDirError(f"cannot write {rd.path}: {reason(exc)}") from None
    finally:
        if created and rd.is_empty():
            rd.path.rmdir()


def _write(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, schema.dumps(schema.check(schema.clean(data), LN_REMOVAL, str(path))))


def _run(src: Run, base: HookedTransformer, rd: RemovalDir, cfg: RunConfig, s: RemovalConfig,
         events: list[tuple[int, str]], record: dict[str, Any], progress: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    task = src.task
    control_dir = rd.control
    control_dir.path.mkdir(exist_ok=True)
    if not control_dir.exists():
        control_dir.write_config(dataclasses.replace(cfg, preset=f"{src.config.preset or 'run'}+finetune"))
    control = copy.deepcopy(base).train()
    _arm(cfg, control_dir, task, control, progress, [])
    wrapped = FakeNormModel(copy.deepcopy(base), s.special_positions, s.momentum, s.aux_weight).train()
    schedule = RemovalSchedule(wrapped, events)
    _arm(cfg, rd.removal, task, wrapped, progress, [schedule])
    schedule.begin_step(s.steps)  # every norm fake (also when the arm was complete and only loaded)
    lnfree = fold(wrapped)
    wrapped.eval()
    test_tokens = task.split()[1].tokens[:4096]
    with torch.no_grad():
        fold_error = float((lnfree(test_tokens) - wrapped(test_tokens)).abs().max())
    rows = [{"model": "original", **_scores(base, task)},
            {"model": "fine-tuned with norms", **_scores(control, task)},
            {"model": "norm-free", **_scores(lnfree, task)}]
    record.update({
        "rows": rows, "loss_increase": rows[2]["test_loss"] - rows[1]["test_loss"],
        "acc_change": rows[2]["test_acc"] - rows[1]["test_acc"], "fold_max_error": fold_error,
        "scales": {name: float(n.scale) for name, n in wrapped.norms.items()},
        "seconds": round(time.perf_counter() - t0, 3), "train_seconds": _train_seconds(rd)})
    out_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, norm="none", norm_where="all"),
                                  preset=f"{src.config.preset or 'run'}+remove-ln")
    rd.write_config(out_cfg)
    rows_metrics = rd.removal.read_metrics()
    atomic_write_text(rd.metrics_path, "".join(schema.dumps(r, indent=None) for r in rows_metrics))
    _write(rd.result_path, record)
    save_tensors(rd.model_path, lnfree.state_dict(), weights_metadata(out_cfg, s.steps))
    return record

