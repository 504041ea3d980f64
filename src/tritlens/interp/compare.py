"""Compare analyses of several runs (e.g. full precision vs binary vs ternary) and say it in words."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tritlens.errors import TritlensError


def jaccard(a: list[int], b: list[int]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def _corr(x: np.ndarray, y: np.ndarray) -> float | None:
    x, y = x.ravel() - x.mean(), y.ravel() - y.mean()
    denom = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / denom if denom > 1e-12 else None


def attention_similarity(first: np.ndarray, other: np.ndarray) -> dict[str, Any] | None:
    """Correlation of the '=' -> a attention over (a, b) between heads of two runs, heads matched one-to-one
    to maximise the total correlation (exhaustive for up to 6 heads, greedy beyond). Heads whose pattern is
    constant have no correlation and are left out."""
    if first.shape[1:] != other.shape[1:]:
        return None
    corr = np.full((first.shape[0], other.shape[0]), np.nan)
    for i, j in itertools.product(range(first.shape[0]), range(other.shape[0])):
        c = _corr(first[i].astype(float), other[j].astype(float))
        corr[i, j] = np.nan if c is None else c
    score = np.nan_to_num(corr, nan=-2.0)
    n_a, n_b = score.shape
    if min(n_a, n_b) == 0:
        return None
    if max(n_a, n_b) <= 6:
        small, swap = (score, False) if n_a <= n_b else (score.T, True)
        best = max(itertools.permutations(range(small.shape[1]), small.shape[0]),
                   key=lambda perm: sum(small[i, j] for i, j in enumerate(perm)))
        pairs = [(j, i) if swap else (i, j) for i, j in enumerate(best)]
    else:
        pairs, used_a, used_b = [], set(), set()
        for flat in np.argsort(-score, axis=None):
            i, j = divmod(int(flat), n_b)
            if i not in used_a and j not in used_b:
                pairs.append((i, j))
                used_a.add(i)
                used_b.add(j)
    values = [float(corr[i, j]) for i, j in pairs if not np.isnan(corr[i, j])]
    if not values:
        return None
    return {"pairs": [[int(i), int(j)] for i, j in pairs], "per_pair": values, "mean": float(np.mean(values))}


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if pct else f"{x:.3g}"


def _applies(a: dict[str, Any]) -> bool:
    fo = a.get("fourier") or {}
    return bool(fo.get("applies", False)) and "key_frequencies" in fo


CLEAR_KEYS = 0.5  # key confidence below this (gap ratio < 2) counts as "no clear key frequencies"


SOLVES = 0.9  # restricted accuracy from which the key frequencies alone count as solving the task


def _status(f: dict[str, Any]) -> str:
    """unclear (no clear key frequencies), clock (the key-frequency part of the logits alone solves the
    task, acc >= 90%, and costs at most 2x or +0.1 of the full loss) or partial (anything between)."""
    if f["key_confidence"] < CLEAR_KEYS:
        return "unclear"
    close = f["loss_restricted"] <= max(2 * f["loss_full"], f["loss_full"] + 0.1)
    return "clock" if close and f.get("acc_restricted", 0.0) >= SOLVES else "partial"


def _verdict(names: list[str], analyses: list[dict[str, Any]], numbers: dict[str, Any]) -> str:
    """Plain words from the numbers: which models run a clock on which frequencies, and which is noisier.

    A model "runs a clock" when its key frequencies are clear (confidence >= 0.5) and the key-frequency
    part of its logits alone solves the task (see :func:`_status`); "same algorithm" needs at least half
    of the union of key frequencies shared, else "same kind of algorithm" on different frequencies.
    """
    ok = [_applies(a) for a in analyses]
    parts = []
    if not all(ok):
        skipped = [n for n, o in zip(names, ok, strict=True) if not o]
        parts.append("the clock analysis does not apply to " + ", ".join(skipped))
    if not numbers["same_task"]:
        parts.append("the runs solve different tasks, so only the numbers are side by side")
    used = [(n, a["fourier"]) for n, a, o in zip(names, analyses, ok, strict=True) if o]
    if len(used) < 2 or not numbers["same_task"]:
        return "; ".join(parts) or "nothing to compare"
    status = {n: _status(f) for n, f in used}
    unclear = [n for n, s in status.items() if s == "unclear"]
    partial = [n for n, s in status.items() if s == "partial"]
    clocks = [(n, f) for n, f in used if status[n] == "clock"]
    if len(clocks) >= 2:
        keys = [set(f["key_frequencies"]) for _, f in clocks]
        shared, union = set.intersection(*keys), set.union(*keys)
        who = "" if len(clocks) == len(used) else f" ({', '.join(n for n, _ in clocks)})"
        if shared and len(shared) * 2 >= len(union):
            parts.append(f"same algorithm{who}: {len(shared)} of {len(union)} key frequencies shared")
        else:
            parts.append(f"same kind of algorithm{who}, a clock on each model's own key frequencies: "
                         f"{len(shared)} of {len(union)} key frequencies shared")
    elif len(clocks) == 1:
        parts.append(f"only {clocks[0][0]} runs a clean clock algorithm")
    if unclear:
        conf = ", ".join(f"{f['key_confidence']:.2f}" for n, f in used if n in unclear)
        parts.append(f"{' and '.join(unclear)}: no clear key frequencies (confidence {conf}), so not (yet) a "
                     "clock algorithm")
    for n, f in used:
        if n in partial:
            parts.append(f"{n}: its key frequencies alone do not solve the task (restricted loss "
                         f"{_fmt(f['loss_restricted'])} vs full {_fmt(f['loss_full'])}, restricted accuracy "
                         f"{_fmt(f.get('acc_restricted'), pct=True)})")
    parts.append(", ".join(f"{f['frac_neurons_one_freq']:.0%}" for _, f in used)
                 + " of neurons explained by one frequency")
    noise = [max(f["loss_restricted"] - f["loss_full"], 0.0) for _, f in used]
    worst, best = int(np.argmax(noise)), int(np.argmin(noise))
    if worst != best and noise[worst] > 2 * noise[best] + 1e-3:
        loud, quiet = used[worst][1]["loss_restricted"], used[best][1]["loss_restricted"]
        parts.append(f"the {used[worst][0]} model is noisier (restricted loss {_fmt(loud)} vs {_fmt(quiet)})")
    vals = [v["mean"] for v in numbers.get("attention_similarity", {}).values() if v]
    if vals:
        parts.append(f"attention to a correlates {np.mean(vals):.2f} between matched heads")
    return "; ".join(parts)


def _attention(names: list[str], figure_data: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Matched-head attention similarity of every run against the first, where both have the pattern."""
    if not figure_data or len(figure_data) != len(names):
        return None
    first = (figure_data[0] or {}).get("attn_pattern_eq_to_a")
    out: dict[str, Any] = {}
    for name, fd in zip(names[1:], figure_data[1:], strict=True):
        other = (fd or {}).get("attn_pattern_eq_to_a")
        ok = first is not None and other is not None
        out[name] = attention_similarity(np.asarray(first), np.asarray(other)) if ok else None
    return out


def compare(analyses: list[dict[str, Any]], names: list[str],
            figure_data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Rows of side-by-side metrics, the numbers behind them and a short verdict (first run = reference).

    Analyses where the clock analysis does not apply (``fourier.applies`` false) show "n/a"; runs of
    different tasks are shown side by side without a same-algorithm verdict.
    """
    if len(analyses) < 2 or len(analyses) != len(names):
        raise TritlensError("compare needs two or more analyses and one name per analysis")
    fo = [a.get("fourier") or {} for a in analyses]
    ok = [_applies(a) for a in analyses]
    kf = [f.get("key_frequencies") if o else None for f, o in zip(fo, ok, strict=True)]
    tasks = {(a.get("run", {}).get("p"), a.get("run", {}).get("op")) for a in analyses}

    def col(key: str) -> list[Any]:
        return [f.get(key) if o else None for f, o in zip(fo, ok, strict=True)]

    numbers: dict[str, Any] = {
        "same_task": len(tasks) == 1,
        "key_frequencies": kf,
        "shared_key_frequencies": sorted(set.intersection(*(set(k) for k in kf))) if all(ok) else [],
        "jaccard_matrix": [[jaccard(a, b) if a is not None and b is not None else None for b in kf]
                           for a in kf],
        "frac_neurons_one_freq": col("frac_neurons_one_freq"),
        "loss_full": col("loss_full"),
        "loss_restricted": col("loss_restricted"),
        "zero_frac": [(a.get("trits") or {}).get("zero_frac") for a in analyses],
        "status": [_status(f) if o else None for f, o in zip(fo, ok, strict=True)],
    }
    att = _attention(list(names), figure_data) if numbers["same_task"] else None
    if att is not None:
        numbers["attention_similarity"] = att
    poly = [float(np.mean(f["poly2_fve"])) if o and f.get("poly2_fve") else None
            for f, o in zip(fo, ok, strict=True)]
    rows = [
        ("precision", [str(a.get("run", {}).get("precision", "n/a")) for a in analyses]),
        ("layers", [_fmt(a.get("run", {}).get("n_layers")) for a in analyses]),
        ("test accuracy", [_fmt((a.get("final") or {}).get("test_acc"), pct=True) for a in analyses]),
        ("key frequencies", [str(k) if k is not None else "n/a" for k in kf]),
        ("key confidence", [_fmt(c) for c in col("key_confidence")]),
        (f"Jaccard vs {names[0]}", [_fmt(j) for j in numbers["jaccard_matrix"][0]]),
        ("neurons explained by one frequency", [_fmt(x, pct=True) for x in numbers["frac_neurons_one_freq"]]),
        ("mean degree-2 FVE", [_fmt(x) for x in poly]),
        ("loss full / restricted", [f"{_fmt(a)} / {_fmt(b)}" for a, b in zip(numbers["loss_full"],
                                                                              numbers["loss_restricted"],
                                                                              strict=True)]),
        ("excluded loss", [_fmt(x) for x in col("loss_excluded")]),
        ("weight norm", [_fmt(x) for x in col("weight_norm")]),
        ("trit zero fraction", [_fmt(z, pct=True) for z in numbers["zero_frac"]]),
    ]
    if att is not None:
        rows.append((f"attention vs {names[0]} (matched heads)",
                     ["1"] + [_fmt(att[n]["mean"]) if att.get(n) else "n/a" for n in names[1:]]))
    return {"names": list(names), "rows": [{"metric": m, "values": v} for m, v in rows],
            "verdict": _verdict(list(names), analyses, numbers), "numbers": numbers}
