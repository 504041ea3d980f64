"""A hyperdimensional (vector-symbolic) probe: decode role -> value bindings from one residual state.

Every role (say "digit 2 of a") and every value (the digits 0-9) gets a random bipolar hypervector of
``dim`` entries (the MAP algebra: multiply binds, add bundles; a bipolar key is its own inverse). The
facts of an example are bound and bundled into one target, sum over roles of key[role] * value[v].
A linear encoder maps the residual state to a hypervector, fitted to that target by ridge regression
(the penalty chosen on a validation split). Decoding a role
unbinds the encoded vector with its key and ranks the value codebook by cosine similarity. Its
held-out accuracy per role is reported next to a logistic probe per role on the same states
(Bronzini et al. 2025 decode concepts this way from language models).

    result = vsa_probe(acts, labels, classes=10)   # acts [N, d], labels [N, roles]
    result["vsa"], result["linear"]                 # accuracy per role
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.interp.probes import _split, cache, fit_probes, hook_names
from tritlens.interp.runs import run_header, sample, transformer
from tritlens.run import Run

DIM = 4096


def codebooks(roles: int, classes: int, dim: int, seed: int) -> tuple[Tensor, Tensor]:
    """Random bipolar keys [roles, dim] and values [classes, dim]."""
    gen = torch.Generator().manual_seed(seed)
    sign = lambda n: torch.randint(2, (n, dim), generator=gen).float() * 2 - 1  # noqa: E731
    return sign(roles), sign(classes)


def decode(encoded: Tensor, keys: Tensor, values: Tensor) -> Tensor:
    """The value decoded for every role: [N, roles] class indices."""
    unbound = encoded.unsqueeze(1) * keys  # [N, roles, dim]
    return torch.einsum("nrd,cd->nrc", unbound, values).argmax(-1)  # cosine ranking (values have equal norms)


def _ridge(x: Tensor, y: Tensor, lam: float) -> Tensor:
    """Least-squares weights [d + 1, dim] (last row: bias) with an L2 penalty ``lam`` on the weights."""
    xb = torch.cat([x, torch.ones(len(x), 1)], dim=1).double()
    gram = xb.t() @ xb + lam * torch.diag(torch.tensor([1.0] * x.shape[1] + [0.0], dtype=torch.float64))
    return torch.linalg.solve(gram, xb.t() @ y.double()).float()


def _apply(x: Tensor, w: Tensor) -> Tensor:
    return x @ w[:-1] + w[-1]


def vsa_probe(acts: Tensor, labels: Tensor, classes: int, *, dim: int = DIM, seed: int = 0,
              penalties: Sequence[float] = (0.01, 0.1, 1.0, 10.0, 100.0)) -> dict[str, Tensor]:
    """Held-out decoding accuracy per role of the VSA probe and of one logistic probe per role.

    The encoder is a ridge regression onto the bundled targets (solved exactly), its penalty the one
    that decodes the validation split best.
    """
    n, roles = labels.shape
    train, val, test = _split(n, seed)
    keys, values = codebooks(roles, classes, dim, seed)
    target = (keys.unsqueeze(0) * values[labels]).sum(1)  # [N, dim]: the bundled bindings
    x = acts.float()
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
    x = (x - mu) / sd
    fits = [_ridge(x[train], target[train], lam) for lam in penalties]
    score = [float((decode(_apply(x[val], w), keys, values) == labels[val]).float().mean()) for w in fits]
    w = fits[max(range(len(fits)), key=score.__getitem__)]
    hits = decode(_apply(x[test], w), keys, values) == labels[test]
    linear = fit_probes(acts.unsqueeze(0).expand(roles, -1, -1), labels.t(), classes, seed=seed)
    return {"vsa": hits.float().mean(0), "linear": linear.test}


def vsa_probe_run(run: Run, targets: Sequence[str], hook: str = "resid_post", position: int | None = None,
                  n: int | None = 2000, split: str = "test", dim: int = DIM, seed: int = 0) -> dict[str, Any]:
    """The VSA probe of class features ``targets`` (the roles) at one hook and position, as a
    ``probes.json`` entry: rows ``vsa`` and ``linear``, one column per role."""
    model = transformer(run, "probing")
    names, _ = hook_names(model, hook)
    data = sample(run, n, split, seed)
    features = run.task.features(data)
    unknown = [t for t in targets if t not in features]
    if len(targets) < 2 or unknown:
        raise TritlensError(f"a VSA probe binds two or more class targets; {', '.join(unknown) or 'one'} "
                            f"given; this task defines {', '.join(features)}")
    chosen = [features[t] for t in targets]
    if any(f.classes is None or f.values.dim() != 1 for f in chosen):
        raise TritlensError("VSA probe targets must be per-example class features (such as operand digits)")
    pos = run.task.answer_positions[0] if position is None else position
    if not 0 <= pos < data.tokens.shape[1]:
        raise TritlensError(f"position {pos} does not exist (sequences have {data.tokens.shape[1]} tokens)")
    classes = max(int(f.classes or 0) for f in chosen)
    labels = torch.stack([f.values.long() for f in chosen], dim=1)  # [N, roles]
    acts = cache(model, data.tokens, names[-1:])[0, :, pos]  # the last layer's hook at that position
    result = vsa_probe(acts, labels, classes, dim=dim, seed=seed)
    return {"schema": 1, "run": {**run_header(run), "split": split}, "target": ",".join(targets),
            "hook": names[-1], "kind": "vsa", "metric": "accuracy", "classes": classes, "shuffled": False,
            "n_examples": len(data), "rows": ["vsa", "linear"], "cols": list(targets), "positions": [pos],
            "test": torch.stack([result["vsa"], result["linear"]]),
            "chance": torch.full((2, len(targets)), 1.0 / classes)}
