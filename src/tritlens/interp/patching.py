"""Activation patching and attribution patching over grids of sites, and how well the two agree.

For pairs of clean and corrupted inputs, *activation patching* runs the corrupted input with one
site's activation taken from the clean run and records how a metric moves (the logit difference
between the clean and the corrupted answer, the loss, or the correct answer's probability).
*Attribution patching* estimates every such move at once, from one forward and one backward pass on
the corrupted input: grad(metric) . (clean - corrupted activation). Both are built on
:mod:`tritlens.interp.interventions`. Grids: the residual stream entering each layer, the attention
and MLP outputs (layer x position), and each head's z (layer x head, all positions).

    pairs = make_pairs(task, data, "resample")
    result = patch_grids(model, pairs, task.answer_positions, "logit_diff")
    result["grids"]["resid_pre"]["activation"], result["grids"]["resid_pre"]["attribution"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.interventions import (
    METRICS,
    Metric,
    Site,
    activation_patching,
    attribution_patching,
    correct_prob,
    logit_diff,
    loss_metric,
)
from tritlens.interp.runs import CHUNK, run_header, sample, transformer
from tritlens.models import HookedTransformer
from tritlens.run import Run
from tritlens.tasks import Split, Task

SCHEMA = 1
GRIDS = ("resid_pre", "attn_out", "mlp_out", "z")


@dataclass(frozen=True)
class Pairs:
    """Clean examples and their corrupted counterparts (same shapes)."""

    clean: Split
    corrupted: Split

    def __post_init__(self) -> None:
        if self.clean.tokens.shape != self.corrupted.tokens.shape:
            raise TritlensError(f"clean and corrupted tokens differ in shape: "
                                f"{list(self.clean.tokens.shape)} vs {list(self.corrupted.tokens.shape)}")
        if self.clean.targets.shape != self.corrupted.targets.shape:
            raise TritlensError("clean and corrupted targets differ in shape")

    def chunks(self) -> list[tuple[Split, Split]]:
        n = len(self.clean)
        return [(self.clean.subset(slice(i, i + CHUNK)), self.corrupted.subset(slice(i, i + CHUNK)))
                for i in range(0, n, CHUNK)]


def make_pairs(task: Task, data: Split, corrupt: str | Sequence[int] = "resample", seed: int = 0) -> Pairs:
    """Corrupt each example: ``resample`` takes a random other example; a list of positions replaces
    only the tokens there by those of a random other example (the task relabels the result)."""
    n = len(data)
    if n < 2:
        raise TritlensError(f"patching needs at least 2 examples to pair, got {n}")
    gen = torch.Generator().manual_seed(seed)
    other = (torch.arange(n) + 1 + torch.randint(n - 1, (n,), generator=gen)) % n  # never the example itself
    if corrupt == "resample":
        return Pairs(data, data.subset(other))
    if isinstance(corrupt, str):
        raise TritlensError(f"unknown corruption {corrupt!r:.30}; use 'resample' or a list of positions")
    positions = list(corrupt)
    bad = [p for p in positions if not 0 <= p < data.tokens.shape[1]]
    if not positions or bad:
        raise TritlensError(f"corrupted positions must lie in [0, {data.tokens.shape[1]}), got {positions}")
    tokens = data.tokens.clone()
    tokens[:, positions] = data.tokens[other][:, positions]
    return Pairs(data, task.relabel(tokens))


def make_metric(name: str, positions: Sequence[int], clean: Split, corrupted: Split) -> Metric:
    """The named metric, scored against the clean answers (``logit_diff``: clean minus corrupted answer)."""
    if name not in METRICS:
        raise TritlensError(f"unknown metric {name!r:.30}; choose one of {', '.join(METRICS)}")
    if name == "logit_diff":
        return logit_diff(positions, clean.targets, corrupted.targets)
    return (loss_metric if name == "loss" else correct_prob)(positions, clean.targets)


def grid(model: HookedTransformer, kind: str, n_ctx: int) -> tuple[list[Site], list[str], list[str]]:
    """Sites of one grid in row-major order, with row and column labels."""
    layers = range(len(model.blocks))
    rows = [f"L{layer}" for layer in layers]
    if kind == "z":
        heads = range(model.cfg.n_heads)
        return ([Site(f"blocks.{layer}.attn.hook_z", head=h) for layer in layers for h in heads], rows,
                [f"H{h}" for h in heads])
    if kind not in GRIDS:
        raise TritlensError(f"unknown patching grid {kind!r:.30}; choose from {', '.join(GRIDS)}")
    if kind == "mlp_out" and model.cfg.d_mlp == 0:
        raise TritlensError("this model has no MLPs (model.d_mlp=0); leave mlp_out out of the grids")
    sites = [Site(f"blocks.{layer}.hook_{kind}", position=p) for layer in layers for p in range(n_ctx)]
    return sites, rows, [f"pos {p}" for p in range(n_ctx)]


def _weighted(values: list[tuple[int, Tensor]]) -> Tensor:
    total = sum(n for n, _ in values)
    return sum(v * (n / total) for n, v in values)  # the metrics are means over examples


def agreement(act: Tensor, attr: Tensor) -> dict[str, float | None]:
    """Pearson correlation and mean absolute error between activation and attribution patching."""
    a, b = act.flatten().double(), attr.flatten().double()
    corr = None
    if len(a) > 1 and float(a.std()) > 0 and float(b.std()) > 0:
        corr = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    l1 = float((a - b).abs().mean())
    scale = float(a.abs().mean())
    return {"correlation": corr, "l1": l1, "relative_l1": l1 / scale if scale > 0 else None}


def patch_grids(model: HookedTransformer, pairs: Pairs, positions: Sequence[int], metric: str = "logit_diff",
                kinds: Sequence[str] = GRIDS) -> dict[str, Any]:
    """Activation and attribution patching of every grid in ``kinds``; both timed over all their sites."""
    n_ctx = pairs.clean.tokens.shape[1]
    grids = {kind: grid(model, kind, n_ctx) for kind in dict.fromkeys(kinds)}
    sites = [s for g in grids.values() for s in g[0]]
    base: dict[str, list[tuple[int, Tensor]]] = {"clean": [], "corrupted": []}
    act_parts, attr_parts = [], []
    t_act = t_attr = 0.0
    for clean, corrupted in pairs.chunks():
        fn = make_metric(metric, positions, clean, corrupted)
        with torch.no_grad():
            base["clean"].append((len(clean), fn(model(clean.tokens))))
            base["corrupted"].append((len(clean), fn(model(corrupted.tokens))))
        t0 = time.perf_counter()
        act_parts.append((len(clean), activation_patching(model, corrupted.tokens, clean.tokens, sites, fn)))
        t1 = time.perf_counter()
        attr_parts.append((len(clean),
                           attribution_patching(model, corrupted.tokens, clean.tokens, sites, fn)))
        t_act, t_attr = t_act + t1 - t0, t_attr + time.perf_counter() - t1
    corrupted_value = _weighted(base["corrupted"])
    act, attr = _weighted(act_parts) - corrupted_value, _weighted(attr_parts).detach()
    out: dict[str, Any] = {"grids": {}}
    start = 0
    for kind, (kind_sites, rows, cols) in grids.items():
        a = act[start:start + len(kind_sites)].view(len(rows), len(cols))
        b = attr[start:start + len(kind_sites)].view(len(rows), len(cols))
        start += len(kind_sites)
        out["grids"][kind] = {"rows": rows, "cols": cols, "activation": a, "attribution": b,
                              **agreement(a, b)}
    out.update({"metric": metric, "n_pairs": len(pairs.clean), "n_sites": len(sites),
                "clean_metric": float(_weighted(base["clean"])), "corrupted_metric": float(corrupted_value),
                "agreement": agreement(act, attr), "seconds_activation": t_act, "seconds_attribution": t_attr,
                "speedup": t_act / t_attr if t_attr > 0 else None})
    return out


def patch_run(run: Run, n: int | None = 1000, split: str = "test", metric: str = "logit_diff",
              corrupt: str | Sequence[int] = "resample", kinds: Sequence[str] | None = None,
              seed: int = 0, pairs: Pairs | None = None) -> dict[str, Any]:
    """Patching of ``n`` pairs from a run's split (or of the given ``pairs``): the ``patching.json`` data."""
    model = transformer(run, "patching")
    if metric not in METRICS:
        raise TritlensError(f"unknown metric {metric!r:.30}; choose one of {', '.join(METRICS)}")
    if kinds is None:
        kinds = [k for k in GRIDS if k != "mlp_out" or model.cfg.d_mlp]
    for kind in kinds:
        grid(model, kind, 1)  # unknown or impossible grids fail before any work
    if pairs is None:
        pairs = make_pairs(run.task, sample(run, n, split, seed), corrupt, seed)
        corruption = corrupt if isinstance(corrupt, str) else "positions " + ",".join(map(str, corrupt))
    else:
        if pairs.clean.tokens.shape[1:] != (run.task.n_ctx,) or \
                pairs.clean.targets.shape[1:] != (len(run.task.answer_positions),):
            raise TritlensError(f"pairs must be [N, {run.task.n_ctx}] tokens with [N, "
                                f"{len(run.task.answer_positions)}] targets for this task")
        split, corruption = "given", "given pairs"
    result = patch_grids(model, pairs, run.task.answer_positions, metric, kinds)
    return {"schema": SCHEMA, "run": {**run_header(run), "split": split}, "corrupt": corruption, **result}
