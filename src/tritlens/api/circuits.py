"""Circuit tools: LayerNorm removal, attribution, patching, probes."""

from __future__ import annotations

import os
from typing import Any

from tritlens.api._common import RunLike, _opened
from tritlens.errors import TritlensError
from tritlens.interp.attribution import attribute_run
from tritlens.interp.patching import Pairs, patch_run
from tritlens.interp.probes import Target, probe_key, probe_run
from tritlens.interp.runs import output, update_output, write_output
from tritlens.interp.vsa import vsa_probe_run
from tritlens.run import Run
from tritlens.run.schema import ATTRIBUTION, PATCHING, PROBES
from tritlens.run.schema import clean as plain
from tritlens.tasks import Split
from tritlens.train.removal import remove_ln as _remove_ln


# -- circuits: LayerNorm removal, attribution, patching, probes -------------------------------------
def remove_ln(run: RunLike, out: str | os.PathLike[str], overrides: list[str] | dict[str, Any] | None = None,
              resume: bool = False, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Fine-tune a run's LayerNorms (or RMSNorms) away into ``out``, an ordinary ``norm=none`` run.

    ``overrides`` set the schedule and fine-tuning (``steps``, ``gap``, ``order``, ``lr``, ...; see
    :class:`tritlens.train.removal.RemovalConfig`). Returns the three-way comparison (original,
    fine-tuned with norms, norm-free), also written to ``out/ln_removal.json``.
    """
    return _remove_ln(_opened(run), out, overrides, resume=resume, force=force, progress=progress)


def attribute(run: RunLike, examples: int | None = 1000, split: str = "test", logit: str | int = "correct",
              write: bool = True, force: bool = False) -> dict[str, Any]:
    """Direct logit attribution and direct effects per component -> ``RUN/attribution.json``."""
    opened = _opened(run)
    writing = write and opened.path is not None
    if writing:
        output(opened, "attribution.json", force)
    _, data = attribute_run(opened, examples, split, logit)
    if writing:
        write_output(opened, "attribution.json", data, ATTRIBUTION, force)
    return plain(data)


def patching(run: RunLike, examples: int | None = 1000, split: str = "test", metric: str = "logit_diff",
             corrupt: str | list[int] = "resample", grids: list[str] | None = None, write: bool = True,
             force: bool = False, clean: Split | None = None,
             corrupted: Split | None = None) -> dict[str, Any]:
    """Activation and attribution patching (and their agreement) -> ``RUN/patching.json``.

    Pairs come from the run's split and ``corrupt``, or are given as ``clean`` and ``corrupted``
    examples (tokens and targets of the same shapes).
    """
    opened = _opened(run)
    writing = write and opened.path is not None
    if (clean is None) != (corrupted is None):
        raise TritlensError("give both clean and corrupted examples, or neither")
    pairs = Pairs(clean, corrupted) if clean is not None and corrupted is not None else None
    if writing:
        output(opened, "patching.json", force)
    data = patch_run(opened, examples, split, metric, corrupt, grids, pairs=pairs)
    if writing:
        write_output(opened, "patching.json", data, PATCHING, force)
    return plain(data)


def probe(run: RunLike, target: Target, hook: str = "resid_post", positions: list[int] | None = None,
          examples: int | None = 2000, split: str = "test", classes: int | None = None,
          shuffle: bool = False, write: bool = True, force: bool = False) -> dict[str, Any]:
    """Probe quality over layer x position for one target; added to ``RUN/probes.json`` under
    ``target@hook`` (an existing entry is replaced only with ``force``)."""
    opened = _opened(run)
    key = probe_key(target, hook, shuffle)
    writing = _probe_slot(opened, key, write, force)
    data = probe_run(opened, target, hook, positions, examples, split, classes, shuffle)
    return _add_probe(opened, key, data, writing)


def vsa_probe(run: RunLike, targets: list[str], hook: str = "resid_post", position: int | None = None,
              examples: int | None = 2000, split: str = "test", dim: int = 4096, write: bool = True,
              force: bool = False) -> dict[str, Any]:
    """A hyperdimensional probe decoding the bindings of several class targets (roles) at one position,
    against a logistic probe per role; added to ``RUN/probes.json`` under ``vsa:targets@hook``."""
    opened = _opened(run)
    key = f"vsa:{','.join(targets)}@{hook}"
    writing = _probe_slot(opened, key, write, force)
    data = vsa_probe_run(opened, targets, hook, position, examples, split, dim)
    return _add_probe(opened, key, data, writing)


def _probe_slot(run: Run, key: str, write: bool, force: bool) -> bool:
    """Whether the probe will be written; refuses an existing entry without ``force`` (before the work)."""
    writing = write and run.path is not None
    if writing and not force and run.dir.file("probes.json").exists() \
            and key in run.dir.read_json("probes.json", PROBES)["probes"]:
        raise TritlensError(f"probes.json already holds {key}; pass --force to replace it")
    return writing


def _add_probe(run: Run, key: str, data: dict[str, Any], writing: bool) -> dict[str, Any]:
    if writing:
        update_output(run, "probes.json", PROBES,
                      lambda old: {"schema": 1, "probes": {**(old or {}).get("probes", {}), key: data}})
    return plain(data)
