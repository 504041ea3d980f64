"""Interventions on any hooked tritlens model: ablation, activation patching, attribution patching.

A :class:`Site` names one place in the model — a hook, and optionally a position, a head and a
neuron (an index into the last dimension). Every function works for any model with TransformerLens
hook names and any task; the arithmetic circuit search and the attribution analyses build on these.

* :func:`ablate` — a context manager replacing the activation at sites by zero, its mean over a
  reference batch (per position), or a resampled reference example; :func:`ablation_sweep` runs one
  forward pass per site (several sites share a pass) and returns the metric for each.
* :func:`patch` / :func:`patching_sweep` — run ``target`` tokens with ``source``'s activation at a site;
  :func:`activation_patching` does the same for many sites at once, caching ``source`` once and
  rerunning only the layers a site can change.
* :func:`attribution_patching` — the first-order estimate of every patching effect from one forward
  and one backward pass: grad(metric at target) . (source activation - target activation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from tritlens.errors import TritlensError
from tritlens.models import HookedModule, HookedTransformer, HookPoint

Metric = Callable[[Tensor], Tensor]  # logits [batch, pos, vocab] -> scalar or per-example values
KINDS = ("zero", "mean", "resample")
_HEADS = ("attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z")  # [batch, pos, head, d_head]
_PATTERNS = ("attn.hook_attn_scores", "attn.hook_pattern")  # [batch, head, query, key]


@dataclass(frozen=True)
class Site:
    """One place in a model: ``hook`` (a hook name), and optionally ``position``, ``head``, ``neuron``.

    For attention scores/patterns, ``position`` is the query position and ``neuron`` the key position.
    """

    hook: str
    position: int | None = None
    head: int | None = None
    neuron: int | None = None

    def __str__(self) -> str:
        parts = [self.hook] + [f"{k}={v}" for k, v in (("pos", self.position), ("head", self.head),
                                                        ("neuron", self.neuron)) if v is not None]
        return " ".join(parts)


def _dims(hook: str) -> dict[str, int]:
    """Which dimension of the hook's activation holds position, head and neuron."""
    if hook.endswith(_HEADS):
        return {"position": 1, "head": 2, "neuron": 3}
    if hook.endswith(_PATTERNS):
        return {"position": 2, "head": 1, "neuron": 3}
    if hook == "hook_pos_embed":
        return {"position": 0, "neuron": 1}
    return {"position": 1, "neuron": -1}


def site_index(site: Site, shape: torch.Size) -> tuple[slice | int, ...]:
    """The index of ``site`` into an activation of ``shape`` (checked: a bad index is a TritlensError)."""
    dims = _dims(site.hook)
    index: list[slice | int] = [slice(None)] * len(shape)
    for name in ("position", "head", "neuron"):
        value = getattr(site, name)
        if value is None:
            continue
        if name not in dims:
            raise TritlensError(f"{site.hook} has no {name} dimension")
        dim = dims[name] % len(shape)
        if not -shape[dim] <= value < shape[dim]:
            raise TritlensError(f"{name} {value} does not exist at {site.hook} (size {shape[dim]})")
        index[dim] = value
    return tuple(index)


def check_sites(model: HookedModule, sites: Sequence[Site]) -> None:
    """Every site's hook must exist in ``model`` (indices are checked when the activation is seen)."""
    for site in sites:
        if site.hook not in model.hook_dict:
            close = [n for n in model.hook_dict if n.endswith(site.hook.rsplit(".", 1)[-1])][:3]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise TritlensError(f"no hook named {site.hook!r:.80} in this model{hint}")


@torch.no_grad()
def cache_hooks(model: HookedModule, tokens: Tensor, hooks: set[str]) -> dict[str, Tensor]:
    """The activations at ``hooks`` for ``tokens`` (one forward pass)."""
    _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in hooks)
    return dict(cache)


def _replacement(kind: str, site: Site, ref: Tensor | None, n: int, gen: torch.Generator) -> Tensor | float:
    """What the activation at ``site`` becomes for a batch of ``n`` examples."""
    if kind == "zero":
        return 0.0
    assert ref is not None
    if kind == "mean":
        return ref.mean(0, keepdim=True) if _dims(site.hook).get("position") != 0 else ref
    pick = torch.randint(ref.shape[0], (n,), generator=gen)
    return ref[pick]


@contextmanager
def ablate(model: HookedModule, sites: Site | Sequence[Site], kind: str = "zero",
           reference: Tensor | Mapping[str, Tensor] | None = None, seed: int = 0) -> Iterator[HookedModule]:
    """Inside the block, the activation at every site is zero-, mean- or resample-ablated.

    ``reference`` (tokens, or their activations cached by :func:`cache_hooks` — worth it when many
    ablations share one reference) gives the mean or the examples to resample from; it is required
    for ``mean`` and ``resample``. Resampling is seeded: the same call ablates the same way.
    """
    sites = [sites] if isinstance(sites, Site) else list(sites)
    if kind not in KINDS:
        raise TritlensError(f"unknown ablation {kind!r:.20}; choose one of {', '.join(KINDS)}")
    if kind != "zero" and reference is None:
        raise TritlensError(f"{kind} ablation needs reference tokens")
    check_sites(model, sites)
    refs: Mapping[str, Tensor] = {}
    if kind != "zero" and isinstance(reference, Tensor):
        refs = cache_hooks(model, reference, {s.hook for s in sites})
    elif kind != "zero" and reference is not None:
        missing = [s.hook for s in sites if s.hook not in reference]
        if missing:
            raise TritlensError(f"the reference activations lack {missing[0]}")
        refs = reference
    gen = torch.Generator().manual_seed(seed)

    def hook_for(site: Site) -> Callable[..., Tensor]:
        def fn(x: Tensor, hook: HookPoint) -> Tensor:
            index = site_index(site, x.shape)
            ref = refs.get(site.hook)
            value = _replacement(kind, site, ref[index] if ref is not None else None, x.shape[0], gen)
            x = x.clone()
            x[index] = value
            return x
        return fn

    with model.hooks([(s.hook, hook_for(s)) for s in sites]):
        yield model


def ablation_sweep(model: HookedModule, tokens: Tensor, sites: Sequence[Site], metric: Metric,
                   kind: str = "zero", reference: Tensor | None = None, seed: int = 0) -> list[Tensor]:
    """``metric`` of the model's logits on ``tokens`` with each site ablated in turn (one pass per site)."""
    out = []
    with torch.no_grad():
        for site in sites:
            with ablate(model, site, kind, reference, seed):
                out.append(metric(model(tokens)))
    return out


@contextmanager
def patched(model: HookedModule, sites: Site | Sequence[Site], source: Tensor) -> Iterator[HookedModule]:
    """Inside the block, the activation at every site is taken from a run on ``source`` tokens.

    ``source`` must have the batch shape of the tokens run inside the block (one source per target).
    """
    sites = [sites] if isinstance(sites, Site) else list(sites)
    check_sites(model, sites)
    cache = cache_hooks(model, source, {s.hook for s in sites})

    def hook_for(site: Site) -> Callable[..., Tensor]:
        def fn(x: Tensor, hook: HookPoint) -> Tensor:
            src = cache[site.hook]
            if src.shape != x.shape:
                raise TritlensError(f"source and target activations differ in shape at {site.hook}: "
                                    f"{list(src.shape)} vs {list(x.shape)}")
            index = site_index(site, x.shape)
            x = x.clone()
            x[index] = src[index]
            return x
        return fn

    with model.hooks([(s.hook, hook_for(s)) for s in sites]):
        yield model


def _check_pair(target: Tensor, source: Tensor) -> None:
    if target.shape != source.shape:
        raise TritlensError(f"clean and corrupted tokens differ in shape: {list(source.shape)} vs "
                            f"{list(target.shape)}")


@torch.no_grad()
def patch(model: HookedModule, target: Tensor, source: Tensor, sites: Site | Sequence[Site]) -> Tensor:
    """Logits of ``target`` tokens run with ``source``'s activations at ``sites``."""
    _check_pair(target, source)
    with patched(model, sites, source):
        return model(target)


def patching_sweep(model: HookedModule, target: Tensor, source: Tensor, sites: Sequence[Site],
                   metric: Metric) -> list[Tensor]:
    """``metric`` of the patched logits for each site in turn (activation patching)."""
    _check_pair(target, source)
    return [metric(patch(model, target, source, site)) for site in sites]


def _layer_of(model: HookedModule, hook: str) -> int | None:
    """The block a hook lives in, when ``model`` can be rerun from that block (else None)."""
    if not isinstance(model, HookedTransformer) or not hook.startswith("blocks."):
        return None
    return int(hook.split(".")[1])


def _forward_from(model: HookedTransformer, layer: int, resid: Tensor) -> Tensor:
    """Logits from the residual stream entering block ``layer`` (the hooks of blocks >= layer fire)."""
    for block in model.blocks[layer:]:
        resid = block(resid)
    return model.unembed(model.ln_final(resid))


@torch.no_grad()
def activation_patching(model: HookedModule, target: Tensor, source: Tensor, sites: Sequence[Site],
                        metric: Metric) -> Tensor:
    """``metric`` of the ``target`` run with ``source``'s activation at each site in turn: [n_sites, ...].

    The same numbers as :func:`patching_sweep`, faster: the source is cached once for every site, and
    on a :class:`HookedTransformer` a site in block L reruns only blocks L.. from the target's cached
    residual stream (a patch cannot change the blocks before it).
    """
    _check_pair(target, source)
    check_sites(model, sites)
    src = cache_hooks(model, source, {s.hook for s in sites})
    layers = {layer for s in sites if (layer := _layer_of(model, s.hook)) is not None}
    starts = cache_hooks(model, target, {f"blocks.{layer}.hook_resid_pre" for layer in layers})

    def hook_for(site: Site) -> Callable[..., Tensor]:
        def fn(x: Tensor, hook: HookPoint) -> Tensor:
            if src[site.hook].shape != x.shape:
                raise TritlensError(f"source and target activations differ in shape at {site.hook}: "
                                    f"{list(src[site.hook].shape)} vs {list(x.shape)}")
            index = site_index(site, x.shape)
            x = x.clone()
            x[index] = src[site.hook][index]
            return x
        return fn

    values = []
    for site in sites:
        layer = _layer_of(model, site.hook)
        with model.hooks([(site.hook, hook_for(site))]):
            if layer is None:
                logits = model(target)
            else:
                assert isinstance(model, HookedTransformer)
                logits = _forward_from(model, layer, starts[f"blocks.{layer}.hook_resid_pre"])
        values.append(metric(logits))
    return torch.stack(values)


def grid_sites(hook_template: str, n_layers: int, positions: Sequence[int],
               heads: Sequence[int] | None = None) -> list[Site]:
    """Sites over layers x positions (x heads): ``hook_template`` holds ``{layer}``."""
    return [Site(hook_template.format(layer=layer), position=p, head=h)
            for layer in range(n_layers) for p in positions for h in (heads if heads is not None else [None])]


def attribution_patching(model: HookedModule, target: Tensor, source: Tensor, sites: Sequence[Site],
                         metric: Metric) -> Tensor:
    """First-order estimates of every patching effect: for each site, the sum over the batch and the
    site's remaining dimensions of grad(metric at target) x (source act - target act).

    One forward and backward pass on ``target`` and one cached forward on ``source``, whatever the
    number of sites — the reason attribution patching scales. ``metric`` must return a scalar.
    """
    _check_pair(target, source)
    check_sites(model, sites)
    hooks = sorted({s.hook for s in sites})
    src = cache_hooks(model, source, set(hooks))
    acts: dict[str, Tensor] = {}
    probes: dict[str, Tensor] = {}

    def probe(x: Tensor, hook: HookPoint) -> Tensor:
        # adding a zero leaf leaves every path through x intact: d metric / d probe = d metric / d x
        probes[hook.name] = torch.zeros_like(x, requires_grad=True)
        acts[hook.name] = x.detach()
        return x + probes[hook.name]

    with torch.enable_grad(), model.hooks([(h, probe) for h in hooks]):
        value = metric(model(target))
        if value.numel() != 1:
            raise TritlensError("attribution patching needs a metric that returns one number")
        grads = dict(zip(hooks, torch.autograd.grad(value.sum(), [probes[h] for h in hooks]), strict=True))
    deltas = {h: (src[h] - acts[h]) * grads[h] for h in hooks}  # once per hook, not once per site
    # the metric's mean is inside grad
    return torch.stack([deltas[s.hook][site_index(s, deltas[s.hook].shape)].sum() for s in sites])


# -- metrics --------------------------------------------------------------------------------------------
def answer_logits(logits: Tensor, positions: Sequence[int]) -> Tensor:
    return logits[:, list(positions)]


def logit_diff(positions: Sequence[int], correct: Tensor, wrong: Tensor) -> Metric:
    """Mean over examples and positions of logit[correct] - logit[wrong] (targets [batch, n_positions])."""
    def metric(logits: Tensor) -> Tensor:
        picked = answer_logits(logits, positions)
        return (picked.gather(-1, correct.unsqueeze(-1)) - picked.gather(-1, wrong.unsqueeze(-1))).mean()
    return metric


def loss_metric(positions: Sequence[int], targets: Tensor) -> Metric:
    """Mean cross-entropy at the answer positions (float64)."""
    def metric(logits: Tensor) -> Tensor:
        logp = answer_logits(logits, positions).double().log_softmax(-1)
        return -logp.gather(-1, targets.unsqueeze(-1)).mean()
    return metric


def correct_prob(positions: Sequence[int], targets: Tensor) -> Metric:
    """Mean probability of the correct answer token at the answer positions."""
    def metric(logits: Tensor) -> Tensor:
        probs = answer_logits(logits, positions).double().softmax(-1)
        return probs.gather(-1, targets.unsqueeze(-1)).mean()
    return metric


def per_example_correct(positions: Sequence[int], targets: Tensor) -> Metric:
    """[batch] booleans: every answer position of the example is predicted right."""
    def metric(logits: Tensor) -> Tensor:
        return (answer_logits(logits, positions).argmax(-1) == targets).all(-1)
    return metric


METRICS = {"logit_diff": logit_diff, "loss": loss_metric, "correct_prob": correct_prob}
