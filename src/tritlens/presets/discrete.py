"""Fully discrete networks that compile to gates (docs/logic.md)."""

from __future__ import annotations

from typing import Any

_DISCRETE_TRAIN = {"steps": 3000, "lr": 0.01, "weight_decay": 0.0, "betas": [0.9, 0.98], "batch_size": None,
                   "seed": 0, "eval_every": 20, "checkpoint_every": 500, "stop_at_test_acc": 1.0}

_RNN2 = {"arch": "discrete_rnn", "cell_hidden": 16, "encoding": "onehot", "readout": "argmax",
         "temperature": 4.0, "sparsity": 0.01, "seed": 0}

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
    # 48 cell units at full batch and constant lr stalled below 90%; 96 units, batches of 4,096 and a
    # cosine-decayed lr reach 100% at step ~6,000 (RESULTS.md)
    "ternary-rnn-add10": {
        "about": "ternary RNN with a two-layer threshold cell learns base-10 serial addition (digit pairs "
                 "a*10+b in, sum digit out, least significant first) on 20,000 sampled 3-digit pairs; "
                 "`tritlens verify --spec add` proves it for every length",
        "task": {"name": "serial_add", "digits": 3, "base": 10, "train_frac": 1.0, "data_seed": 0},
        "model": {**_RNN2, "hidden": 16, "cell_hidden": 96},
        "train": {**_DISCRETE_TRAIN, "steps": 10_000, "batch_size": 4096, "schedule": "cosine"},
    },
    "ternary-rnn-brackets": {
        "about": "ternary RNN with a two-layer threshold cell learns next-token validity of bracket "
                 "sequences with depth at most 3 on all 1,024 sequences of 10 tokens; `tritlens verify "
                 "--spec brackets` proves it for every length",
        "task": {"name": "brackets", "length": 10, "max_depth": 3, "train_frac": 1.0, "data_seed": 0},
        "model": {**_RNN2, "hidden": 8},
        "train": _DISCRETE_TRAIN,
    },
    "ternary-rnn-count": {
        "about": "ternary RNN with a two-layer threshold cell counts 1 tokens mod 3 (the position mod 3 when "
                 "every token is 1) on all 4,096 sequences of 12 bits; `tritlens verify --spec count` proves "
                 "it for every length",
        "task": {"name": "count", "length": 12, "k": 3, "train_frac": 1.0, "data_seed": 0},
        "model": {**_RNN2, "hidden": 8},
        "train": _DISCRETE_TRAIN,
    },
}
