"""What a sweep found, trial by trial and across the seeds of each setting.

Per trial: status (complete, failed, interrupted, pending) and error, steps to 99% test accuracy, final
losses and accuracies, key frequencies (from the trial's ``analysis.json`` when it has a current one)
and the zero fraction of its trits (binary and ternary models). Per setting (the trials that differ
only in seed): the seeds' steps to 99%, the key frequencies every analysed seed shares, and their mean
pairwise Jaccard overlap (|A & B| / |A | B|; 1 for two empty sets). Read from the run directories,
so it is current whenever it is computed, also while a sweep is running.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tritlens.errors import TritlensError
from tritlens.models import trit_summary
from tritlens.run import RunDir, load_run, schema
from tritlens.run.files import read_text
from tritlens.sweep.trial import COMPLETE, FAILED, INTERRUPTED, PENDING

GOAL = 0.99  # test accuracy that counts as solved
MANIFEST, SPEC, SUMMARY, TRIALS = "sweep.json", "spec.json", "summary.json", "trials"


@dataclass
class TrialSummary:
    name: str
    group: str
    preset: str
    settings: dict[str, Any]
    seed: int | None
    status: str
    error: str | None = None
    steps: int | None = None  # the last logged step
    steps_to_99: int | None = None  # first logged step with test accuracy >= 99%
    train_loss: float | None = None
    train_acc: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    wall_time: float | None = None
    key_frequencies: list[int] | None = None
    trit_zero_frac: float | None = None


@dataclass
class SettingSummary:
    group: str
    preset: str
    settings: dict[str, Any]
    trials: list[str]
    complete: int
    steps_to_99: list[int | None]
    mean_steps_to_99: float | None  # over the seeds that reached 99%
    analysed: int  # seeds with key frequencies
    common_frequencies: list[int] | None  # shared by every analysed seed (None: fewer than 2)
    jaccard: float | None  # mean pairwise overlap of their key frequency sets


@dataclass
class SweepSummary:
    """The summary of one sweep directory (``summary.json`` holds :meth:`to_dict`)."""

    path: str
    name: str
    swept: list[str]
    counts: dict[str, int]
    trials: list[TrialSummary] = field(default_factory=list)
    settings: list[SettingSummary] = field(default_factory=list)

    @property
    def failed(self) -> list[TrialSummary]:
        return [t for t in self.trials if t.status == FAILED]

    @property
    def complete(self) -> bool:
        return all(t.status == COMPLETE for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": 1, **dataclasses.asdict(self)}


def read_manifest(sweep_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked ``sweep.json`` of a sweep directory; a TritlensError when there is none."""
    path = Path(sweep_dir) / MANIFEST
    if not path.is_file():
        raise TritlensError(f"{sweep_dir} is not a sweep directory (no {MANIFEST})")
    return schema.check(schema.loads(read_text(path, "sweep manifest"), str(path)), schema.SWEEP_MANIFEST,
                        str(path))


def is_sweep(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / MANIFEST).is_file()


def summarize(sweep_dir: str | os.PathLike[str]) -> SweepSummary:
    """The summary of ``sweep_dir`` from its manifest and its trials' run directories."""
    manifest = read_manifest(sweep_dir)
    trials = [trial_summary(Path(sweep_dir) / TRIALS / t["name"], t, manifest["results"].get(t["name"]))
              for t in manifest["trials"]]
    counts = {s: sum(t.status == s for t in trials) for s in (COMPLETE, FAILED, INTERRUPTED, PENDING)}
    return SweepSummary(str(sweep_dir), manifest["spec"].get("name", ""), manifest["swept"], counts, trials,
                        setting_summaries(trials))


def trial_summary(path: Path, entry: dict[str, Any], result: dict[str, Any] | None) -> TrialSummary:
    """One trial as its run directory shows it (the engine's recorded result where there is none)."""
    out = TrialSummary(entry["name"], entry["group"], entry["preset"], entry["settings"], entry["seed"],
                       PENDING)
    rd = RunDir(path)
    if not rd.exists():
        if result is not None and result["status"] == FAILED:  # refused before its directory existed
            out.status, out.error = FAILED, result["error"]
        return out
    failure = rd.failure()
    out.status = COMPLETE if rd.is_complete() else FAILED if failure else INTERRUPTED
    out.error = failure["reason"] if failure else None
    rows = rd.read_metrics()
    if rows:
        final = rows[-1]
        out.steps, out.wall_time = final["step"], final.get("wall_time")
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            setattr(out, key, final.get(key))
        out.steps_to_99 = next((r["step"] for r in rows if (r.get("test_acc") or 0) >= GOAL), None)
    if out.status == COMPLETE:
        out.key_frequencies = key_frequencies(rd)
        out.trit_zero_frac = zero_fraction(rd)
    return out


def key_frequencies(rd: RunDir) -> list[int] | None:
    """The key frequencies of a current ``analysis.json`` (None: none, stale, or Fourier does not apply)."""
    if not rd.analysis_path.is_file() or rd.analysis_path.stat().st_mtime < rd.model_path.stat().st_mtime:
        return None
    fourier = rd.read_json(rd.analysis_path.name, schema.ANALYSIS).get("fourier")
    if not isinstance(fourier, dict) or fourier.get("applies") is False:
        return None
    keys = fourier.get("key_frequencies")
    return sorted(int(k) for k in keys) if isinstance(keys, list) else None


def zero_fraction(rd: RunDir) -> float | None:
    """The zero fraction over a quantized model's trits (None for full precision)."""
    cfg = rd.read_config()
    modes = {getattr(cfg.quant, g, "none") for g in ("attn", "mlp", "embed", "unembed")}
    if cfg.arch == "transformer" and modes <= {"none"}:
        return None
    trits = trit_summary(load_run(rd.path).model)
    return float(trits["zero_frac"]) if trits else None


def jaccard(sets: list[set[int]]) -> float | None:
    """Mean pairwise |A & B| / |A | B| (1 for two empty sets); None for fewer than two sets."""
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return None
    return sum(len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs) / len(pairs)


def setting_summaries(trials: list[TrialSummary]) -> list[SettingSummary]:
    groups: dict[str, list[TrialSummary]] = {}
    for t in trials:
        groups.setdefault(t.group, []).append(t)
    out = []
    for group, members in groups.items():
        reached = [t.steps_to_99 for t in members if t.steps_to_99 is not None]
        keys = [set(t.key_frequencies) for t in members if t.key_frequencies is not None]
        out.append(SettingSummary(
            group, members[0].preset, members[0].settings, [t.name for t in members],
            sum(t.status == COMPLETE for t in members), [t.steps_to_99 for t in members],
            sum(reached) / len(reached) if reached else None, len(keys),
            sorted(set.intersection(*keys)) if len(keys) >= 2 else None, jaccard(keys)))
    return out
