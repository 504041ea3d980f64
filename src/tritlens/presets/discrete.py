"""Fully discrete networks that compile to gates (docs/logic.md)."""

from __future__ import annotations

from typing import Any

_DISCRETE_TRAIN = {"steps": 3000, "lr": 0.01, "weight_decay": 0.0, "betas": [0.9, 0.98], "batch_size": None,
                   "seed": 0, "eval_every": 20, "checkpoint_every": 500, "stop_at_test_acc": 1.0}

DISCRETE: dict[str, dict[str, Any]] = {
    "ternary-rnn-adder": {
        "about": "ternary RNN (8 binary state bits, one-hot digit pairs) learns binary serial addition on "
                 "all 1,024 pairs of 5-digit numbers, LSB first, in ~6 s on 2 CPU cores; `tritlens verify "
                 "--spec add` proves it for every length",
        "task": {"name": "serial_add", "digits": 5, "base": 2, "train_frac": 1.0, "data_seed": 0},
        "model": {"arch": "discrete_rnn", "hidden": 8, "encoding": "onehot", "readout": "argmax",
                  "temperature": 4.0, "sparsity": 0.01, "seed": 0},
        "train": _DISCRETE_TRAIN,
    },
    "ternary-mlp-modadd": {
        "about": "ternary threshold MLP (one-hot a, b; 128 hidden step units) learns (a+b) mod 11 on all 121 "
                 "pairs in ~1 s on 2 CPU cores; `tritlens verify --spec modadd` proves it",
        "task": {"name": "mod_add", "p": 11, "train_frac": 1.0, "data_seed": 0},
        "model": {"arch": "discrete_mlp", "hidden": [128], "encoding": "onehot", "temperature": 4.0,
                  "sparsity": 0.01, "seed": 0},
        "train": _DISCRETE_TRAIN,
    },
}


