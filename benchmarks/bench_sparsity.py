"""Sparsity sweep: does a sparser discrete network compile to a graph that falls apart into modules?

Trains the discrete presets at several ``model.sparsity`` values (and model seeds) through the public
API, then compiles each run, simplifies it with the structural passes (no truth-table collapse, so
the graph is still the network's own), and counts gates, zero trits, independent cone modules and
Leiden communities (with modularity). Run: ``.venv/bin/python benchmarks/bench_sparsity.py``.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from tritlens.api import train
from tritlens.logic.sparsity import sparsity_sweep, sweep_table

SWEEPS = {
    "ternary-mlp-modadd": [0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0],
    "ternary-rnn-adder": [0.0, 0.01, 0.1, 0.3, 1.0],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="model seeds per sparsity value")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# tritlens sparsity sweep — {platform.machine()}, python {platform.python_version()}")
    for preset, values in SWEEPS.items():
        start = time.perf_counter()
        rows = sparsity_sweep(train, preset, values, seeds=range(args.seeds))
        print(f"\n## {preset} ({time.perf_counter() - start:.0f} s)\n")
        print(sweep_table(rows))


if __name__ == "__main__":
    main()
