"""The whole circuit search of an arithmetic model (``tritlens circuit``) -> ``circuit.json`` data.

1. A question set with up to ``per_class`` questions of every complexity class the task has (drawn
   uniformly and enriched, kept only where the model answers correctly).
2. Useful positions (mean-ablate the residual stream at one position), then useful nodes at those
   positions (mean-ablate one head's ``hook_z`` or one MLP's ``hook_post``): fail %, impact, classes.
3. Attention tags of the useful heads; PCA tags on TriCase questions (``ST.D3``: column 3's digits sum
   to 0-8 / 9 / 10-18; ``MT.D3``: D3 < / = / > D'3).
4. Sub-task tests by patching (:mod:`~tritlens.interp.arith.subtasks`) on every useful head; a tag is
   kept when the test passes and the node meets the test's prerequisite filter.
5. The hypothesis check (:mod:`~tritlens.interp.arith.hypothesis`): "X of Y clauses hold".
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.arith.grade import require_arith
from tritlens.interp.arith.hypothesis import default_hypothesis
from tritlens.interp.arith.subtasks import prepare, prerequisite, run_tests, tests_for
from tritlens.interp.attention import attention_tags
from tritlens.interp.filters import Tagged, check_hypothesis, parse_filter, parse_hypothesis
from tritlens.interp.nodes import AblationEffect, Node, useful_nodes, useful_positions, wrong_answers
from tritlens.interp.pca import pca_tag
from tritlens.models import Model
from tritlens.run import Run
from tritlens.tasks import Split
from tritlens.tasks.arith import CLASS_NAMES, ArithTask

SCHEMA = 1
PER_CLASS = 100
TRICASE = 60  # questions per case of a TriCase set


def question_set(model: Model, task: ArithTask, per_class: int = PER_CLASS, seed: int = 0,
                 ) -> tuple[Split, list[str], int]:
    """Up to ``per_class`` correctly answered questions of every class; also how many were dropped."""
    rng = np.random.default_rng([seed, 7])
    pool = [task.draw(rng, 20 * per_class, op, enriched) for op in task.ops for enriched in (False, True)]
    tokens = torch.cat([p.tokens for p in pool])
    targets = torch.cat([p.targets for p in pool])
    classes = task.classes(tokens)
    keep = np.concatenate([np.flatnonzero(classes == c)[:per_class] for c in np.unique(classes)])
    keep.sort()
    tokens, targets = tokens[keep], targets[keep]
    right = ~wrong_answers(model, tokens, targets, task.answer_positions).any(-1)
    dropped = int((~right).sum())
    tokens, targets = tokens[right], targets[right]
    if len(tokens) == 0:
        raise TritlensError("the model answers none of the question set correctly; train it first")
    return Split(tokens, targets), [CLASS_NAMES[c] for c in task.classes(tokens)], dropped


def tricase_sets(task: ArithTask, seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """TriCase question sets by name (``ST.D3``, ``MT.D3``): tokens and case labels 0, 1, 2."""
    rng = np.random.default_rng([seed, 11])
    out = {}
    n = task.digits
    for op in task.ops:
        if op == "mul":
            continue
        for k in range(n):
            parts, labels = [], []
            for case in range(3):
                a = rng.integers(0, 10, (TRICASE, n))
                b = rng.integers(0, 10, (TRICASE, n))
                if op == "add":  # column k sums to 0-8, 9 or 10-18
                    lo, hi = [(0, 8), (9, 9), (10, 18)][case]
                    total = rng.integers(lo, hi + 1, TRICASE)
                    a[:, k] = rng.integers(np.maximum(total - 9, 0), np.minimum(total, 9) + 1)
                    b[:, k] = total - a[:, k]
                else:  # D_k < D'_k, D_k = D'_k, D_k > D'_k
                    x = rng.integers(0, 9, TRICASE)
                    y = rng.integers(x + 1, 10)
                    a[:, k], b[:, k] = [(x, y), (x, x), (y, x)][case]
                parts.append(task.questions(a, b, op).tokens)
                labels.append(torch.full((TRICASE,), case))
            out[f"{'ST' if op == 'add' else 'MT'}.D{k}"] = (torch.cat(parts), torch.cat(labels))
    return out


@torch.no_grad()
def pca_tags(model: Model, task: ArithTask, nodes: list[Node], seed: int = 0) -> dict[Node, dict[str, float]]:
    """For every node: {TriCase set name: separation} for the sets its output separates."""
    out: dict[Node, dict[str, float]] = {n: {} for n in nodes}
    hooks = {n.site().hook for n in nodes}
    for name, (tokens, labels) in tricase_sets(task, seed).items():
        _, cache = model.run_with_cache(tokens, names_filter=lambda h: h in hooks)
        for node in nodes:
            act = cache[node.site().hook][:, node.position]
            result = pca_tag(act[:, node.head] if node.head is not None else act, labels)
            if result.separates:
                out[node][name] = round(result.separation, 4)
    return out


def _tagged(task: ArithTask, node: Node, effect: AblationEffect, attention: dict[int, float],
            pca: dict[str, float]) -> Tagged:
    names, answers = task.layout.position_names(), task.layout.answer_names()
    return Tagged(node, fail=100 * effect.fail, impact=[answers[i] for i in effect.impact],
                  attention={names[p]: share for p, share in attention.items()}, classes=effect.groups,
                  pca=sorted(pca))


def subtask_tags(model: Model, task: ArithTask, tagged: list[Tagged]) -> list[dict[str, Any]]:
    """Run every sub-task test on every useful head; keep the tags whose prerequisites hold."""
    tests = tests_for(task)
    if not tests:
        return []
    prepared = prepare(model, task, tests)
    prereqs = {t.tag: parse_filter(prerequisite(t), task.layout.position_of) for t in tests}
    log = []
    for t in tagged:
        if not t.node.is_head:
            continue
        passed = run_tests(model, task, t.node, prepared)
        for tag, strength in passed.items():
            kept = prereqs[tag](t)
            log.append({"node": t.node.key(), "tag": tag, "strength": strength, "prerequisite": kept})
            if kept:
                t.algo[tag] = strength
    skipped = [t.tag for t, ok in zip(prepared.tests, prepared.valid, strict=True) if not ok]
    return [*log, *({"skipped": tag} for tag in skipped)]


def node_record(task: ArithTask, t: Tagged) -> dict[str, Any]:
    n = t.node
    return {"key": n.key(), "position": n.position, "position_name": task.layout.position_names()[n.position],
            "layer": n.layer, "head": n.head, "fail": round(t.fail, 4), "impact": t.impact,
            "classes": t.classes, "attention": {k: round(v, 4) for k, v in t.attention.items()},
            "algo": t.algo, "pca": t.pca}


def tagged_from_records(records: list[dict[str, Any]]) -> list[Tagged]:
    """The tagged nodes of a ``circuit.json`` (to re-check a hypothesis without searching again)."""
    return [Tagged(Node(r["position"], r["layer"], r["head"]), fail=r["fail"], impact=list(r["impact"]),
                   attention=dict(r["attention"]), algo=dict(r["algo"]), classes=list(r["classes"]),
                   pca=list(r["pca"])) for r in records]


def circuit_search(run: Run, per_class: int = PER_CLASS, seed: int = 0, hypothesis: str | None = None,
                   ) -> dict[str, Any]:
    """Find, tag and test the nodes of an arithmetic run; returns the ``circuit.json`` data."""
    task = require_arith(run)
    text = hypothesis if hypothesis is not None else default_hypothesis(task)
    clauses = parse_hypothesis(text, task.layout.position_of) if text.strip() else None  # checked first
    t0 = time.perf_counter()
    model = run.model.eval()
    data, groups, dropped = question_set(model, task, per_class, seed)
    positions = useful_positions(model, data.tokens, data.targets, task.answer_positions, data.tokens, groups)
    useful = [p for p, e in positions.items() if e.useful]
    effects = useful_nodes(model, data.tokens, data.targets, task.answer_positions, useful, data.tokens,
                           groups)
    nodes = sorted((n for n, e in effects.items() if e.useful), key=Node.order)
    attention = attention_tags(model, data.tokens, nodes)
    pca = pca_tags(model, task, nodes, seed)
    tagged = [_tagged(task, n, effects[n], attention.get(n, {}), pca[n]) for n in nodes]
    tests = subtask_tags(model, task, tagged)
    check = check_hypothesis(tagged, clauses) if clauses is not None else None
    names, answers = task.layout.position_names(), task.layout.answer_names()
    counts = {c: groups.count(c) for c in CLASS_NAMES if c in groups}
    return {
        "schema": SCHEMA,
        "run": {"path": str(run.path or ""), "preset": run.config.preset, "task": task.describe(),
                "op": task.op, "digits": task.digits, "step": run.step,
                "layers": len(getattr(model, "blocks", [])), "heads": _heads(model)},
        "layout": {"positions": names, "answers": answers},
        "questions": {"count": len(data), "dropped": dropped, "by_class": counts, "seed": seed},
        "positions": [{"position": p, "name": names[p], "useful": e.useful, "fail": round(100 * e.fail, 4),
                       "impact": [answers[i] for i in e.impact], "classes": e.groups}
                      for p, e in positions.items()],
        "nodes": [node_record(task, t) for t in tagged],
        "tests": tests,
        "hypothesis": check,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _heads(model: Model) -> int:
    blocks = getattr(model, "blocks", None)
    return int(getattr(blocks[0].attn, "n_heads", 0)) if blocks else 0
