"""Weight/activation quantizers with straight-through gradients and exact integer export."""

from tritlens.quant.quantizers import (
    QUANTIZER_MODES,
    TERNARY_RULES,
    WEIGHT_MODES,
    binary_scale,
    binary_sign,
    centred_ternary,
    integer_form,
    quantize_activation,
    quantize_weight,
    quantizer_mode,
    ste,
    ternary_scale,
    ternary_trits,
    zero_fraction,
)

__all__ = [
    "QUANTIZER_MODES",
    "TERNARY_RULES",
    "WEIGHT_MODES",
    "binary_scale",
    "binary_sign",
    "centred_ternary",
    "integer_form",
    "quantize_activation",
    "quantize_weight",
    "quantizer_mode",
    "ste",
    "ternary_scale",
    "ternary_trits",
    "zero_fraction",
]
