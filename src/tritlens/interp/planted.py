"""Hand-built clock transformers with planted key frequencies (no training), to validate the analysis.

Construction for (a op b) mod p, written in group order (see :mod:`tritlens.interp.grid`: index i for
token x = view.inputs[i]; s = i + j for add/mul, i - j for sub/div) with key frequencies w = 2 pi k / n:

1. Embedding: token of index i gets [cos(w i), sin(w i)] for each planted k in its own dims, '=' gets 0.
   So the Fourier norms of W_E are exactly zero outside the planted set (exact key-frequency recovery).
2. Positions: one-hot dims. Head 0 attends from '=' only to position 0, head 1 only to position 1 (a
   score gap of 60, leakage e^-60), and each copies the embedding into its own dims: the residual at
   '=' holds the waves of a and of b separately.
3. MLP, per frequency: neurons ReLU(cos(w i + alpha) + cos(w j' + beta)) (j' = j, or -j for sub/div), the
   form found in trained models. Writing S, D for the half sum and half difference of the two angles,
   the pre-activation is 2 cos(S + psi) cos(D + delta) with psi = (alpha + beta)/2, delta = (alpha - beta)/2,
   and ReLU(x) = (x + |x|)/2. Reading the neurons with weights cos 2psi / sin 2psi over J = 12 evenly
   spaced psi picks the first harmonic of |cos(S + psi)|, i.e. cos(w s), sin(w s), times the envelope
   |cos(D + delta)|; averaging over L = 4 evenly spaced delta makes that envelope constant up to a ripple
   of relative size 2 / (4 L^2 - 1). So the MLP writes cos(w s), sin(w s) to output dims almost exactly
   (logit key-direction FVE ~ 0.999), while each single neuron is a ReLU of one frequency (its
   one-frequency FVE is high but below 1: ReLU adds harmonics 2w, 3w, ...).
4. Unembedding: output c (index l) reads amplitude * [cos(w l), sin(w l)], so the logit is
   sum_k A_k cos(w_k (s - l)): the clock algorithm (A_k = ``scale`` unless ``amplitudes`` differ).

Variants (:class:`PlantedSpec`), each keeping the planted frequencies the truth:

* ``amplitudes``: per-frequency logit amplitude (unequal strengths, as in trained models).
* ``neurons``: keep only this many neurons per frequency (a seeded random subset): the averaging above
  becomes uneven, so the MLP output gets harmonics and an envelope.
* ``seed``: random phase offsets of the (psi, delta) grid per frequency, and the random choices below.
* ``quant="ternary"``: every attention and MLP matrix holds exactly -1, 0 or +1 (embedding, positions
  and unembedding stay float, as in Li et al. 2024). Phases alpha, beta are odd multiples of pi/4 (so
  sqrt 2 cos alpha = +-1) and 2 psi a multiple of pi/2 (so the read-out weights are in {-1, 0, 1}):
  16 neurons per frequency; J = 4 phases alias the 3rd harmonic of |cos|, a ~9% leak at frequency 3k.
* ``quant="binary"``: the ternary model with every vector *twinned*: the residual holds [x, -x], so a
  {-1, +1} matrix [[A, -A], [C, -C]] with A - C = 2T applies the ternary T exactly (where T = 0,
  A = C and the two halves cancel); hidden neurons are duplicated and W_out = [[A1, -A1], [A2, -A2]]
  with A1 + A2 = 2T. Every attention and MLP weight is exactly -1 or +1.
* ``embed_scales``: per-frequency size of the embedding waves (a key frequency can be quiet in the
  embedding and loud in the logits: W_U is normalised on the MLP output); ``decoys``: extra embedding
  waves at other frequencies in dims that no weight reads (loud in the embedding, absent from the
  logits). Both mislead an embedding-based split, as trained embeddings can.
* ``noise``: Gaussian noise on every float matrix among W_E, W_V, W_O, W_in, W_out, W_U, with a
  Frobenius norm ``noise`` times the matrix's (for quantized models only W_E and W_U are float).
* ``flips``: quantized models only: each weight of W_V, W_O, W_in, W_out is replaced by a random
  allowed value with this probability (cross-talk between frequencies, broken cancellations).

Example: ``planted_clock_model(113, [14, 35, 41], spec=PlantedSpec(113, (14, 35, 41), quant="binary"))``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
from torch import Tensor

from tritlens.config import ModularConfig, RunConfig
from tritlens.errors import TritlensError
from tritlens.interp.grid import CyclicView, cyclic_view, group_tokens
from tritlens.models.transformer import HookedTransformer, QuantConfig, TransformerConfig
from tritlens.tasks.modular import ModularTask

N_PSI, N_DELTA = 12, 4
ATTN_GAP = 60.0
QUANT_PHASES = tuple(math.pi / 4 + math.pi / 2 * i for i in range(4))  # odd multiples of pi/4
QUANTS = ("none", "ternary", "binary")


@dataclass(frozen=True)
class PlantedSpec:
    """Everything that defines one planted model (see the module docstring for each knob)."""

    p: int
    freqs: tuple[int, ...]
    op: str = "add"
    scale: float = 10.0  # logit amplitude of the strongest frequency
    amplitudes: tuple[float, ...] | None = None  # relative logit amplitude per frequency (max 1)
    neurons: int | None = None  # neurons kept per frequency (None: the whole phase grid)
    noise: float = 0.0  # Gaussian noise on float matrices, relative Frobenius norm
    flips: float = 0.0  # quantized models: probability that a weight is replaced by a random value
    quant: str = "none"  # none | ternary | binary
    seed: int | None = None  # None: the regular, unjittered construction
    layers: int = 1  # blocks: attention in the first, the clock MLP in the last, the others zero
    embed_scales: tuple[float, ...] | None = None  # per-frequency size of the embedding waves
    decoys: tuple[tuple[int, float], ...] = ()  # (frequency, size) embedding waves nothing reads


def grid_size(quant: str) -> int:
    """Neurons per frequency in the full phase grid."""
    return N_PSI * N_DELTA if quant == "none" else len(QUANT_PHASES) ** 2


def planted_config(p: int, freqs: list[int] | tuple[int, ...], op: str = "add", quant: str = "none",
                   neurons: int | None = None, layers: int = 1, decoys: int = 0) -> RunConfig:
    """The RunConfig (norm none, no biases, 2 heads, learned positions) that the planted model fits."""
    m, twin = len(freqs), 2 if quant == "binary" else 1
    per = min(neurons or grid_size(quant), grid_size(quant))
    model = TransformerConfig(n_layers=layers, n_heads=2, d_model=(8 * m + 3 + 2 * decoys) * twin,
                              d_head=2 * m * twin,
                              d_mlp=per * m * twin, act="relu", norm="none", pos_embed=True,
                              causal=True, biases=False)
    return RunConfig(task=ModularConfig(p=p, op=op, train_frac=0.3), model=model, quant=QuantConfig())


def _check(spec: PlantedSpec, view: CyclicView) -> None:
    if spec.quant not in QUANTS:
        raise TritlensError(f"planted quant must be one of {', '.join(QUANTS)}, got {spec.quant!r}")
    if not spec.freqs or len(set(spec.freqs)) != len(spec.freqs):
        raise TritlensError(f"planted frequencies must be distinct and non-empty, got {list(spec.freqs)}")
    if not all(1 <= k <= (view.n - 1) // 2 for k in spec.freqs):
        raise TritlensError(f"planted frequencies must lie in 1..{(view.n - 1) // 2} for n = {view.n}")
    if spec.amplitudes is not None and len(spec.amplitudes) != len(spec.freqs):
        raise TritlensError("planted amplitudes need one value per frequency")
    if spec.layers < 1:
        raise TritlensError(f"a planted model needs at least one layer, got {spec.layers}")
    if spec.embed_scales is not None and len(spec.embed_scales) != len(spec.freqs):
        raise TritlensError("planted embed_scales need one value per frequency")
    if any(k in spec.freqs or not 1 <= k <= (view.n - 1) // 2 for k, _ in spec.decoys):
        raise TritlensError("planted decoys need frequencies in range that are not planted")


def _phases(spec: PlantedSpec, rng: random.Random) -> list[tuple[float, float]]:
    """(alpha, beta) of the neurons of one frequency: the full grid or a seeded random subset."""
    if spec.quant == "none":
        psi0 = rng.uniform(0, 2 * math.pi / N_PSI) if spec.seed is not None else 0.0
        delta0 = rng.uniform(0, math.pi / N_DELTA) if spec.seed is not None else 0.0
        grid = [(psi0 + 2 * math.pi * j / N_PSI, delta0 + math.pi * k / N_DELTA)
                for j in range(N_PSI) for k in range(N_DELTA)]
        pairs = [(psi + delta, psi - delta) for psi, delta in grid]
    else:
        pairs = [(a, b) for a in QUANT_PHASES for b in QUANT_PHASES]
    keep = min(spec.neurons or len(pairs), len(pairs))
    return pairs if keep == len(pairs) else sorted(rng.sample(pairs, keep))


def _ternary(x: float) -> float:
    """+-1 / 0 for the exact quantized values sqrt(2) cos(odd pi/4) and cos(multiple of pi/2)."""
    return float(round(x))


def _zero_weights(spec: PlantedSpec, d_vocab: int, d_out: int, d_mlp: int) -> dict[str, Tensor]:
    m = len(spec.freqs)
    d_model, d_head = 8 * m + 3 + 2 * len(spec.decoys), 2 * m
    w = {"embed.W_E": torch.zeros(d_vocab, d_model), "pos_embed.W_pos": torch.zeros(3, d_model),
         "unembed.W_U": torch.zeros(d_model, d_out)}
    for layer in range(spec.layers):
        for name in ("W_Q", "W_K", "W_V"):
            w[f"blocks.{layer}.attn.{name}"] = torch.zeros(2, d_model, d_head)
        w[f"blocks.{layer}.attn.W_O"] = torch.zeros(2, d_head, d_model)
        w[f"blocks.{layer}.mlp.W_in"] = torch.zeros(d_model, d_mlp)
        w[f"blocks.{layer}.mlp.W_out"] = torch.zeros(d_mlp, d_model)
    return {k: v.double() for k, v in w.items()}


def _embed_and_attention(w: dict[str, Tensor], spec: PlantedSpec, view: CyclicView) -> None:
    """Steps 1, 2 and 4 of the module docstring (in the first block), W_U at unit amplitude; decoy waves
    go to dims after the positions, which no weight reads."""
    m, quantized = len(spec.freqs), spec.quant != "none"
    d_e, d_a, d_b, d_o, d_p = 0, 2 * m, 4 * m, 6 * m, 8 * m  # dims: embed, a, b, mlp out, positions
    idx = torch.arange(view.n, dtype=torch.float64)
    sizes = spec.embed_scales or (1.0,) * m
    for q, k in enumerate(spec.freqs):
        angle = 2 * math.pi * k * idx / view.n
        w["embed.W_E"][view.inputs, d_e + 2 * q] = sizes[q] * torch.cos(angle)
        w["embed.W_E"][view.inputs, d_e + 2 * q + 1] = sizes[q] * torch.sin(angle)
        w["unembed.W_U"][d_o + 2 * q, view.outputs] = torch.cos(angle)
        w["unembed.W_U"][d_o + 2 * q + 1, view.outputs] = torch.sin(angle)
    for j, (k, size) in enumerate(spec.decoys):
        angle = 2 * math.pi * k * idx / view.n
        w["embed.W_E"][view.inputs, d_p + 3 + 2 * j] = size * torch.cos(angle)
        w["embed.W_E"][view.inputs, d_p + 4 + 2 * j] = size * torch.sin(angle)
    # query weight 1 for quantized models: the score gap then comes from the float position embedding of
    # the a and b positions (the keys), so the '=' residual that the MLP and unembedding read stays small
    gap = ATTN_GAP * math.sqrt(2 * m)  # scores are divided by sqrt(d_head)
    for t in range(3):
        w["pos_embed.W_pos"][t, d_p + t] = gap if quantized and t < 2 else 1.0
    for head, (src, dst) in enumerate(((0, d_a), (1, d_b))):
        w["blocks.0.attn.W_Q"][head, d_p + 2, 0] = 1.0 if quantized else gap  # the '=' position asks ...
        w["blocks.0.attn.W_K"][head, d_p + src, 0] = 1.0  # ... for position src only
        for r in range(2 * m):
            w["blocks.0.attn.W_V"][head, d_e + r, r] = 1.0
            w["blocks.0.attn.W_O"][head, r, dst + r] = 1.0


def _clock_mlp(w: dict[str, Tensor], spec: PlantedSpec, view: CyclicView,
               phases: list[list[tuple[float, float]]]) -> None:
    """Step 3 of the module docstring, in the last block: one neuron per (alpha, beta) and frequency."""
    m, quantized = len(spec.freqs), spec.quant != "none"
    d_a, d_b, d_o = 2 * m, 4 * m, 6 * m
    w_in, w_out = w[f"blocks.{spec.layers - 1}.mlp.W_in"], w[f"blocks.{spec.layers - 1}.mlp.W_out"]
    unit = 0
    for q, pairs in enumerate(phases):
        for alpha, beta in pairs:
            # cos(x + alpha) = cos(alpha) cos x - sin(alpha) sin x; for sub/div b enters as -j
            col = [math.cos(alpha), -math.sin(alpha), math.cos(beta), -math.sin(beta) * view.sign]
            out = [math.cos(alpha + beta), -math.sin(alpha + beta)]
            if quantized:
                col = [_ternary(math.sqrt(2) * c) for c in col]
                out = [_ternary(c) for c in out]
            for r, c in zip((d_a + 2 * q, d_a + 2 * q + 1, d_b + 2 * q, d_b + 2 * q + 1), col, strict=True):
                w_in[r, unit] = c
            w_out[unit, d_o + 2 * q], w_out[unit, d_o + 2 * q + 1] = out
            unit += 1


def logical_weights(spec: PlantedSpec, view: CyclicView, d_vocab: int, d_out: int) -> dict[str, Tensor]:
    """The planted weights before twinning, float64; W_U at unit amplitude (normalised later)."""
    rng = random.Random(spec.seed)
    phases = [_phases(spec, rng) for _ in spec.freqs]
    w = _zero_weights(spec, d_vocab, d_out, sum(len(ph) for ph in phases))
    _embed_and_attention(w, spec, view)
    _clock_mlp(w, spec, view, phases)
    return w


def _filler(shape: tuple[int, ...]) -> Tensor:
    """A +-1 checkerboard (balanced signs) for the cancelling entries of a twinned matrix."""
    grids = torch.meshgrid(*[torch.arange(s) for s in shape], indexing="ij")
    return 1.0 - 2.0 * (sum(grids) % 2).double()


def twin(t: Tensor, rows: str = "twin", cols: str = "twin") -> Tensor:
    """The {-1, +1} matrix that applies the ternary ``t`` [..., d_in, d_out] to twinned vectors.

    ``rows``/``cols``: "twin" when the input/output vector is [x, -x], "dup" when it is [x, x]. With a
    twinned input [x, -x] @ [[A], [C]] = x (A - C), so A - C = 2T; with a duplicated input
    [x, x] @ [[A1], [A2]] = x (A1 + A2), so A1 + A2 = 2T. A twinned output negates the second half.
    """
    z = _filler(tuple(t.shape))
    top = torch.where(t != 0, t.sign(), z)
    bottom = torch.where(t != 0, -t.sign(), z) if rows == "twin" else torch.where(t != 0, t.sign(), -z)
    stacked = torch.cat([top, bottom], dim=-2)
    return torch.cat([stacked, -stacked if cols == "twin" else stacked], dim=-1)


TWIN_LAYOUT = {"attn.W_Q": ("twin", "twin"), "attn.W_K": ("twin", "twin"), "attn.W_V": ("twin", "twin"),
               "attn.W_O": ("twin", "twin"), "mlp.W_in": ("twin", "dup"), "mlp.W_out": ("dup", "twin")}


def _kind(name: str) -> str:
    """'attn.W_Q' for 'blocks.3.attn.W_Q'; the name itself for the float matrices."""
    return name.split(".", 2)[2] if name.startswith("blocks.") else name


def twinned(weights: dict[str, Tensor]) -> dict[str, Tensor]:
    """The binary model: quantized matrices twinned, float ones as [x, -x] (W_U reads half of each)."""
    out = {name: twin(w, *TWIN_LAYOUT[_kind(name)])
           for name, w in weights.items() if _kind(name) in TWIN_LAYOUT}
    out["embed.W_E"] = torch.cat([weights["embed.W_E"], -weights["embed.W_E"]], 1)
    out["pos_embed.W_pos"] = torch.cat([weights["pos_embed.W_pos"], -weights["pos_embed.W_pos"]], 1)
    out["unembed.W_U"] = torch.cat([weights["unembed.W_U"], -weights["unembed.W_U"]], 0) / 2
    return out


@torch.no_grad()
def _scores_and_outputs(model: HookedTransformer, view: CyclicView) -> tuple[Tensor, Tensor]:
    """'=' -> a score of head 0 [n*n] and the clock MLP's output at '=' [n*n, d_model] over the grid."""
    score, out = "blocks.0.attn.hook_attn_scores", f"blocks.{len(model.blocks) - 1}.hook_mlp_out"
    _, cache = model.run_with_cache(group_tokens(view), names_filter=lambda name: name in (score, out))
    return cache[score][:, 0, 2, 0], cache[out][:, 2]


@torch.no_grad()
def _normalise(model: HookedTransformer, spec: PlantedSpec, view: CyclicView) -> None:
    """Scale the query (quantized models) so the attention gap is ATTN_GAP; then write each frequency's
    W_U rows so that its logits are exactly scale * amplitude_k * cos(w_k (s - l)) along the MLP's
    output, in amplitude and phase (a neuron subset shifts the phase, which training would undo)."""
    m, half = len(spec.freqs), model.cfg.d_model // (2 if spec.quant == "binary" else 1)
    if spec.quant != "none":
        score, _ = _scores_and_outputs(model, view)
        model.pos_embed.W_pos[:2] *= ATTN_GAP / float(score[0])
    _, out = _scores_and_outputs(model, view)
    s = view.label_index().reshape(-1).double()
    l_idx = torch.arange(view.n, dtype=torch.float64)
    amps = spec.amplitudes or (1.0,) * m
    for q, k in enumerate(spec.freqs):
        w = 2 * math.pi * k / view.n
        rows = [6 * m + 2 * q, 6 * m + 2 * q + 1]
        # the MLP writes g cos(w s + phi), g sin(w s + phi) to the two rows: find g and phi
        got = (out[:, rows[0]].double() - 1j * out[:, rows[1]].double()) @ torch.exp(1j * w * s)
        gain, phi = float(got.abs()) / view.n**2, -float(torch.angle(got))
        amp = spec.scale * amps[q] / gain
        wave = torch.stack([torch.cos(w * l_idx + phi), torch.sin(w * l_idx + phi)]) * amp
        if spec.quant == "binary":  # twinned residual [y, -y]: read half of each
            model.unembed.W_U[[half + r for r in rows]] = 0.0
            model.unembed.W_U[[half + r for r in rows][0], view.outputs] = -wave[0].float() / 2
            model.unembed.W_U[[half + r for r in rows][1], view.outputs] = -wave[1].float() / 2
            wave = wave / 2
        model.unembed.W_U[rows] = 0.0
        model.unembed.W_U[rows[0], view.outputs] = wave[0].float()
        model.unembed.W_U[rows[1], view.outputs] = wave[1].float()


FLIPPABLE = ("attn.W_V", "attn.W_O", "mlp.W_in", "mlp.W_out")


@torch.no_grad()
def _add_noise(model: HookedTransformer, spec: PlantedSpec, gen: torch.Generator, names: list[str]) -> None:
    """Gaussian noise on the float matrices (Frobenius norm ``noise`` times the matrix's), random values
    in the quantized ones (probability ``flips``; W_V's position rows are spared: the a and b positions
    carry the large attention keys, which a flipped weight would copy into the residual)."""
    params = dict(model.named_parameters())
    for name in names:
        w = params[name]
        if spec.quant != "none" and _kind(name) in FLIPPABLE:
            values = torch.tensor([-1.0, 1.0] if spec.quant == "binary" else [-1.0, 0.0, 1.0])
            pick = values[torch.randint(len(values), w.shape, generator=gen)]
            hit = torch.rand(w.shape, generator=gen) < spec.flips
            if name.endswith("W_V"):
                hit[:, _position_rows(model, spec)] = False
            w.copy_(torch.where(hit, pick, w))
        elif spec.noise > 0:
            noise = torch.randn(w.shape, generator=gen, dtype=torch.float64)
            w.add_((spec.noise * w.double().norm() / noise.norm() * noise).to(w.dtype))


def _position_rows(model: HookedTransformer, spec: PlantedSpec) -> list[int]:
    d_p = 8 * len(spec.freqs)
    rows = [d_p, d_p + 1, d_p + 2]
    return rows + [model.cfg.d_model // 2 + r for r in rows] if spec.quant == "binary" else rows


@torch.no_grad()
def planted_model(spec: PlantedSpec) -> HookedTransformer:
    """The planted clock transformer of ``spec`` (see the module docstring)."""
    task = ModularTask(p=spec.p, op=spec.op, train_frac=0.3)
    view = cyclic_view(task)
    _check(spec, view)
    cfg = planted_config(spec.p, spec.freqs, spec.op, spec.quant, spec.neurons, spec.layers, len(spec.decoys))
    model = HookedTransformer(cfg.model, task.d_vocab, task.d_vocab_out, task.n_ctx, cfg.quant, seed=0)
    weights = logical_weights(spec, view, task.d_vocab, task.d_vocab_out)
    if spec.quant == "binary":
        weights = twinned(weights)
    for name, prm in model.named_parameters():
        prm.copy_(weights[name])
    model.eval()
    gen = torch.Generator().manual_seed(spec.seed or 0)
    noisy = ["embed.W_E"] + [n for n, _ in model.named_parameters() if _kind(n) in FLIPPABLE]
    _add_noise(model, spec, gen, noisy)
    _normalise(model, spec, view)  # W_U follows the (noisy) MLP output, as training would make it
    _add_noise(model, spec, gen, ["unembed.W_U"])
    return model


def planted_clock_model(p: int, freqs: list[int], op: str = "add", scale: float = 10.0,
                        spec: PlantedSpec | None = None) -> HookedTransformer:
    """A HookedTransformer that computes (a op b) mod p with the clock algorithm on ``freqs`` (frequencies
    over Z_n, n = p or p - 1 for mul/div); ``spec`` chooses a variant (its p, freqs, op win)."""
    return planted_model(spec or PlantedSpec(p, tuple(freqs), op, scale))
