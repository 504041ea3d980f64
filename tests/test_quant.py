import torch

from tritlens.quant import (
    binary_sign,
    centred_ternary,
    integer_form,
    quantize_activation,
    quantize_weight,
    ternary_trits,
    zero_fraction,
)


def _w(seed: int = 0, shape: tuple[int, ...] = (64, 32)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_binary_values_are_exactly_plus_minus_one():
    w = _w()
    signs = binary_sign(w)
    assert set(signs.unique().tolist()) == {-1.0, 1.0}
    # mean-centred: the sign is taken of w - mean(w)
    assert torch.equal(signs, torch.where(w - w.mean() >= 0, 1.0, -1.0))


def test_binary_without_scale_is_plain_signs_and_with_scale_is_mean_abs():
    w = _w(1) + 0.3
    assert set(quantize_weight(w, "binary", scale=False).unique().tolist()) == {-1.0, 1.0}
    scaled = quantize_weight(w, "binary", scale=True)
    beta = w.abs().mean()
    assert torch.equal(scaled.abs(), beta.expand_as(scaled))


def test_ternary_values_are_exactly_trits_with_absmean_rule():
    w = _w(2)
    trits = ternary_trits(w)
    assert set(trits.unique().tolist()) == {-1.0, 0.0, 1.0}
    gamma = w.abs().mean()
    expected = torch.clamp(torch.round(w / (gamma + 1e-5)), -1, 1)
    assert torch.equal(trits, expected)
    assert 0.0 < zero_fraction(trits.to(torch.int8)) < 1.0


def test_centred_ternary_is_the_absmean_rule_on_mean_centred_weights():
    w = _w(7) * 0.05 + 0.02  # an offset: b1.58 (uncentred) and the centred rule must differ
    centred = w - w.mean()
    gamma = centred.abs().mean()
    trits, effective, scale = centred_ternary(w)
    assert set(trits.unique().tolist()) == {-1.0, 0.0, 1.0}
    assert torch.equal(trits, torch.clamp(torch.round(centred * (1 / gamma)), -1, 1))
    assert torch.equal(effective, trits * scale) and torch.allclose(scale, gamma)
    assert torch.equal(quantize_weight(w, "ternary_centred"), effective)
    assert not torch.equal(trits, ternary_trits(w))
    assert abs(float(trits.mean())) < 0.05 < float(ternary_trits(w).mean())  # centring balances the signs
    # the scale never falls below 1e-5 (a constant matrix gives all zeros, not a division by zero)
    flat = torch.full((4, 4), 0.3)
    assert torch.equal(centred_ternary(flat)[0], torch.zeros(4, 4))


def test_integer_form_reconstructs_effective_weights_exactly():
    w = _w(3)
    for mode, scale in (("binary", True), ("binary", False), ("ternary", True), ("ternary_centred", True)):
        ints, s = integer_form(w, mode, scale)
        assert ints.dtype == torch.int8
        assert set(ints.unique().tolist()) <= {-1, 0, 1}
        assert torch.equal(ints.float() * s, quantize_weight(w, mode, scale)), mode
        values = set(quantize_weight(w, mode, scale).unique().tolist())
        assert values == set((ints.float().unique() * s).tolist())


def test_straight_through_gradients():
    """b1.58 passes the upstream gradient to W unchanged; the centred modes differentiate the centring
    (W - mean W), so W receives the upstream gradient minus its mean, as in the reference codes."""
    upstream = _w(5) + 0.1  # a non-zero mean, so the two rules differ
    for mode, expected in (("ternary", upstream), ("binary", upstream - upstream.mean()),
                           ("ternary_centred", upstream - upstream.mean())):
        for scale in (True, False):
            w = _w(4).requires_grad_(True)
            (quantize_weight(w, mode, scale) * upstream).sum().backward()
            assert torch.allclose(w.grad, expected, atol=1e-6), (mode, scale)


def test_activation_quantization_levels_and_gradient():
    x = _w(6, (8, 128)).requires_grad_(True)
    q = quantize_activation(x, 8)
    for row, qrow in zip(x.detach(), q.detach(), strict=True):
        scale = 127 / row.abs().max()
        levels = torch.round(qrow * scale)
        assert torch.allclose(levels, qrow * scale, atol=1e-3)
        assert levels.abs().max() <= 127
    assert (q - x).abs().max() <= x.abs().max() / 127
    q.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert quantize_activation(x, None) is x
