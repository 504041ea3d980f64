"""What the circuit analyses share: examples, the transformer they need, run facts, output files.

Attribution, patching and probes all take a seeded sample of a run's train or test split, need a
:class:`HookedTransformer` (fully discrete models have no residual stream), write the same ``run``
header into their JSON outputs, and write those outputs the same checked way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from tritlens.errors import TritlensError
from tritlens.models import HookedTransformer
from tritlens.run import Output, Run, RunLock, schema
from tritlens.tasks import Split

SPLITS = ("test", "train")
CHUNK = 512  # examples per forward pass in the analyses (bounds the memory of cached activations)


def transformer(run: Run, what: str) -> HookedTransformer:
    """The run's model, which must be a hooked transformer."""
    if not isinstance(run.model, HookedTransformer):
        raise TritlensError(f"{what} needs a transformer run; this run has model.arch={run.config.arch}")
    return run.model


def sample(run: Run, n: int | None, split: str = "test", seed: int = 0) -> Split:
    """``n`` examples (all when None or more than there are) of the run's split, in a seeded order."""
    if split not in SPLITS:
        raise TritlensError(f"unknown split {split!r:.20}; choose one of {', '.join(SPLITS)}")
    if n is not None and n < 1:
        raise TritlensError(f"the number of examples must be >= 1, got {n}")
    train, test = run.task.split()
    data = test if split == "test" else train
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.subset(order[: n if n is not None else len(data)])


def run_header(run: Run) -> dict[str, Any]:
    """Facts about the analysed run that every output file repeats."""
    model = run.model
    cfg = getattr(model, "cfg", None)
    return {"path": str(run.path or ""), "preset": run.config.preset, "task": run.task.describe(),
            "norm": getattr(cfg, "norm", None), "n_layers": getattr(cfg, "n_layers", None),
            "n_heads": getattr(cfg, "n_heads", None), "step": run.step}


def output(run: Run, name: str, force: bool) -> Output:
    """The checked output file ``RUN/name`` (refused before any work when it exists without ``force``)."""
    return Output(run.dir.file(name), force=force, what=name.removesuffix(".json"))


def write_output(run: Run, name: str, data: Mapping[str, Any], shape: Mapping[str, Any],
                 force: bool) -> Path:
    """Write ``data`` as ``RUN/name`` under the run's lock, checked against its JSON schema ``shape``."""
    text = schema.dumps(schema.check(schema.clean(data), shape, name))
    with RunLock(run.dir.path, name.removesuffix(".json")):
        return output(run, name, force).write(text)


def update_output(run: Run, name: str, shape: Mapping[str, Any],
                  change: Callable[[dict[str, Any] | None], Mapping[str, Any]]) -> Path:
    """Read ``RUN/name`` (None if absent), apply ``change``, write the result back; all under the lock."""
    with RunLock(run.dir.path, name.removesuffix(".json")):
        path = run.dir.file(name)
        current = run.dir.read_json(name, shape) if path.exists() else None
        text = schema.dumps(schema.check(schema.clean(change(current)), shape, name))
        return Output(path, force=True, what=name.removesuffix(".json")).write(text)
