"""Interpretability of modular-arithmetic transformers: Fourier/clock measures, progress, comparison.

Public API: :func:`analyze_run`, :func:`write_analysis`, :func:`figure_data`, :func:`compare`,
:func:`summary_rows`; building blocks live in ``fourier``, ``logits``, ``grid``, ``progress`` and
``planted`` (hand-built clock transformers with known key frequencies, float/ternary/binary, any
number of layers, for validation; ``planted_random`` draws random ones), ``layers`` (per-layer
Fourier structure).
"""

from tritlens.interp.analysis import analyze_run, figure_data, summary_rows, write_analysis
from tritlens.interp.compare import compare
from tritlens.interp.planted import PlantedSpec, planted_clock_model, planted_config, planted_model
from tritlens.interp.planted_random import random_spec

__all__ = ["analyze_run", "write_analysis", "figure_data", "compare", "summary_rows",
           "planted_clock_model", "planted_config", "planted_model", "PlantedSpec", "random_spec"]
