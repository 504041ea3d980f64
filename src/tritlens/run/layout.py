"""The run directory: file names, states and the strict readers and writers of its files.

    RUN/config.json          every setting, defaults filled in (written first)
    RUN/metrics.jsonl        one JSON object per logged step
    RUN/checkpoints/step_NNNNNN.safetensors   weights on a schedule
    RUN/checkpoints/resume.safetensors        optimiser + RNG state of the latest checkpoint
    RUN/model.safetensors    final weights, written last: its presence means "complete"
    RUN/failed.json          why a run stopped early (a rerun with the same config starts over)
    RUN/analysis.json, RUN/<stage>.json       outputs of later stages
    RUN/.lock                held by the one process writing into the run (see ``lock.py``)
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import ConfigError, RunDirError, TritlensError, short
from tritlens.run import schema
from tritlens.run.files import atomic_write_text, read_text, reason
from tritlens.run.lock import LOCK_NAME

STEP_FILE = re.compile(r"^step_(\d{6,12})\.safetensors$")
# What a run writes besides config.json; starting over removes exactly these (and checkpoints/).
RUN_FILES = ("metrics.jsonl", "model.safetensors", "failed.json")
# Files whose presence decides a run's state: each must be a regular file when present.
STATE_FILES = ("config.json", *RUN_FILES, "checkpoints/resume.safetensors")
OUTPUT_FILES = ("analysis.json", "grade.json", "circuit.json", "attribution.json", "patching.json",
                "probes.json", "ln_removal.json")


class RunDir:
    """Paths and file formats of one run directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            text = os.fspath(path)
        except TypeError:
            text = None
        if not isinstance(text, str) or "\x00" in text:
            raise RunDirError(f"a run directory must be a path (a str or os.PathLike), got {short(path)}")
        self.path = Path(text)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    config_path = property(lambda self: self.path / "config.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    model_path = property(lambda self: self.path / "model.safetensors")
    checkpoint_dir = property(lambda self: self.path / "checkpoints")
    resume_path = property(lambda self: self.path / "checkpoints" / "resume.safetensors")
    analysis_path = property(lambda self: self.path / "analysis.json")
    failure_path = property(lambda self: self.path / "failed.json")

    def file(self, name: str) -> Path:
        """A stage's output file inside the run (``grade.json``, ``circuit.json``, ...)."""
        return self.path / name

    # -- states --------------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the folder holds a run (a config.json)."""
        return self.config_path.is_file()

    def is_complete(self) -> bool:
        return self.model_path.is_file()

    def is_empty(self) -> bool:
        """An existing folder with nothing in it but (perhaps) a stale lock file."""
        try:
            return self.path.is_dir() and all(p.name == LOCK_NAME for p in self.path.iterdir())
        except OSError as exc:
            raise RunDirError(f"cannot list {self.path}: {reason(exc)}") from None

    def require(self) -> RunDir:
        """This folder must hold a run; else a one-line RunDirError."""
        try:
            if not self.path.exists():
                raise RunDirError(f"{self.path}: no such run directory")
            if not self.path.is_dir():
                raise RunDirError(f"{self.path} is a file, not a run directory")
            if os.path.lexists(self.config_path):
                self.check_layout()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise RunDirError(f"{self.path}: {reason(exc)}") from None
        if not self.exists():
            raise RunDirError(f"{self.path} is not a tritlens run directory (no config.json)")
        return self

    def check_layout(self) -> None:
        """The files that decide the run's state are regular files (or absent), checkpoints/ a folder:
        a directory, device, pipe or dangling link in their place is refused, never taken as absent."""
        for name in STATE_FILES:
            p = self.path / name
            if os.path.lexists(p) and not p.is_file():
                what = "a dangling symbolic link" if not p.exists() else "not a regular file"
                raise RunDirError(f"{p} is {what}; move it away or restore the file")
        if os.path.lexists(self.checkpoint_dir) and not self.checkpoint_dir.is_dir():
            raise RunDirError(f"{self.checkpoint_dir} is not a directory; move it away")

    def require_complete(self) -> RunDir:
        self.require()
        if self.is_complete():
            return self
        failure = self.failure()
        if failure is not None:
            raise RunDirError(f"{self.path} failed: {failure['reason']}; rerun it to start over")
        raise RunDirError(f"{self.path} is not complete (no model.safetensors); resume it with "
                          f"`tritlens train --out {self.path} --resume`")

    # -- config --------------------------------------------------------------------------------
    def read_config(self) -> RunConfig:
        self.require()
        data = schema.loads(read_text(self.config_path, "config"), str(self.config_path))
        try:
            return RunConfig.from_dict(data)
        except ConfigError as exc:
            raise RunDirError(f"{self.config_path}: {exc}") from None

    def write_config(self, cfg: RunConfig) -> None:
        atomic_write_text(self.config_path, cfg.to_json() + "\n")

    # -- metrics -------------------------------------------------------------------------------
    def read_metrics(self) -> list[dict[str, Any]]:
        """Every logged row, checked; a torn last line (a write cut short by a crash) is ignored."""
        if not os.path.lexists(self.metrics_path):
            return []
        text = read_text(self.metrics_path, "metrics")
        lines = text.split("\n")
        torn = lines.pop() if lines and lines[-1] else None  # no final newline: the write was cut short
        rows: list[dict[str, Any]] = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            row = schema.check(schema.loads(line, f"{self.metrics_path} line {n}"), schema.METRICS_ROW,
                               f"{self.metrics_path} line {n}")
            if rows and row["step"] <= rows[-1]["step"]:
                raise RunDirError(f"{self.metrics_path} line {n}: step {row['step']} does not follow "
                                  f"step {rows[-1]['step']}")
            rows.append(row)
        if torn is not None:
            try:
                row = schema.check(schema.loads(torn, ""), schema.METRICS_ROW, "")
                if not rows or row["step"] > rows[-1]["step"]:
                    rows.append(row)  # complete JSON, only the newline is missing
            except TritlensError:
                pass
        return rows

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        text = "".join(schema.dumps(r, indent=None) for r in rows)
        try:
            with self.metrics_path.open("a") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise TritlensError(f"cannot write {self.metrics_path}: {reason(exc)}") from None

    def truncate_metrics(self, last_step: int | None) -> list[dict[str, Any]]:
        """Keep the rows up to ``last_step`` (none when None) and drop a torn line; returns them."""
        keep = [r for r in self.read_metrics() if last_step is not None and r["step"] <= last_step]
        atomic_write_text(self.metrics_path, "".join(schema.dumps(r, indent=None) for r in keep))
        return keep

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step_{step:06d}.safetensors"

    def checkpoint_steps(self) -> list[int]:
        if not self.checkpoint_dir.is_dir():
            return []
        found = (STEP_FILE.match(p.name) for p in self.checkpoint_dir.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    # -- failure and restart -------------------------------------------------------------------
    def mark_failed(self, why: str, step: int | None) -> None:
        atomic_write_text(self.failure_path, schema.dumps({"reason": why[:500], "step": step}))

    def failure(self) -> dict[str, Any] | None:
        """What ``failed.json`` says, or None when the run has not failed."""
        if not os.path.lexists(self.failure_path):
            return None
        data = schema.loads(read_text(self.failure_path, "failure record", 1 << 16), str(self.failure_path))
        return schema.check(data, schema.FAILURE, str(self.failure_path))

    def clear(self) -> None:
        """Remove a run's own files (to start over); other files in the folder are left alone."""
        try:
            if self.checkpoint_dir.is_dir():
                shutil.rmtree(self.checkpoint_dir)
            for name in (*RUN_FILES, *OUTPUT_FILES):
                (self.path / name).unlink(missing_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot clear {self.path}: {reason(exc)}") from None

    # -- stage outputs -------------------------------------------------------------------------
    def read_json(self, name: str, shape: dict[str, Any]) -> Any:
        """A stage's JSON output, parsed and checked against ``shape`` (a JSON Schema)."""
        path = self.file(name)
        return schema.check(schema.loads(read_text(path, name), str(path)), shape, str(path))
