"""Sweep specs: grid and random expansion, stable names, and every bad spec refused in one line."""

from __future__ import annotations

import math

import pytest

from tritlens.sweep import SweepSpecError, load_spec, trial_name

from .specs import FIXED, TOML, spec


def test_grid_times_seeds_in_toml_and_dict_forms(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    from_toml, from_dict = load_spec(path), load_spec(spec())
    assert [t.name for t in from_toml.trials] == [t.name for t in from_dict.trials] == [
        "quick__train.weight_decay=0.5__seed=0", "quick__train.weight_decay=0.5__seed=1",
        "quick__train.weight_decay=1.0__seed=0", "quick__train.weight_decay=1.0__seed=1"]
    first = from_toml.trials[1].config
    assert (first.train.weight_decay, first.train.seed, first.task.p, first.train.steps) == (0.5, 1, 17, 40)
    assert from_toml.trials[1].group == "quick__train.weight_decay=0.5"
    assert from_toml.swept == ["train.weight_decay"]


def test_names_do_not_depend_on_the_order_of_the_spec():
    one = load_spec(spec(grid={"train.weight_decay": [0.5], "train.lr": [0.01]}))
    two = load_spec(spec(grid={"train.lr": [0.01], "train.weight_decay": [0.5]}))
    assert [t.name for t in one.trials] == [t.name for t in two.trials]
    assert one.trials[0].name == "quick__train.lr=0.01__train.weight_decay=0.5__seed=0"


def test_long_and_odd_names_stay_unique_and_safe():
    a = trial_name("quick", {"task.op": "a*a + b/" + "x" * 300}, 1)
    b = trial_name("quick", {"task.op": "a*a + b/" + "x" * 299}, 1)
    assert a != b and len(a) <= 150 and "/" not in a and " " not in a


def test_random_samples_are_seeded_distinct_and_in_range():
    rand = {"samples": 6, "seed": 3, "train.lr": {"log_uniform": [1e-4, 1e-2]},
            "train.weight_decay": {"uniform": [0.0, 2.0]}, "model.n_heads": {"choice": [1, 2, 4]},
            "train.warmup_steps": {"int_uniform": [0, 3]}}
    first = load_spec(spec(random=rand, seeds=None, grid={}))
    again = load_spec(spec(random=rand, seeds=None, grid={}))
    assert [t.name for t in first.trials] == [t.name for t in again.trials] and len(first.trials) == 6
    other = load_spec(spec(random={**rand, "seed": 4}, seeds=None, grid={}))
    assert [t.name for t in other.trials] != [t.name for t in first.trials]
    for t in first.trials:
        s = t.settings
        assert 1e-4 <= s["train.lr"] <= 1e-2 and 0 <= s["train.weight_decay"] <= 2
        assert s["model.n_heads"] in (1, 2, 4) and s["train.warmup_steps"] in range(4)
        assert t.config.train.lr == s["train.lr"] == float(f"{s['train.lr']:.4g}")
    logs = [math.log10(t.settings["train.lr"]) for t in first.trials]
    assert max(logs) - min(logs) > 0.5  # spread over decades, not stuck at one end


def test_random_crosses_the_grid_and_seeds():
    rand = {"samples": 2, "train.lr": {"log_uniform": [1e-3, 1e-2]}}
    assert len(load_spec(spec(random=rand)).trials) == 2 * 2 * 2


def test_seed_keys_and_seed_ranges():
    checked = load_spec(spec(seeds="3-4,7", seed_keys=["train.seed", "task.data_seed"]))
    seeds = sorted({(t.config.train.seed, t.config.task.data_seed) for t in checked.trials})
    assert seeds == [(3, 3), (4, 4), (7, 7)]


def test_without_seeds_the_preset_seed_stays_and_names_have_none():
    checked = load_spec(spec(seeds=None, grid={"train.weight_decay": [0.5]}))
    assert [t.name for t in checked.trials] == ["quick__train.weight_decay=0.5"]
    assert checked.trials[0].config.train.seed == 0  # the quick preset's


BAD = {
    "unknown top-level key": (spec(gird={}), "unknown sweep spec key 'gird'"),
    "no presets": (spec(presets=[]), "presets must be"),
    "unknown preset": (spec(presets=["quick", "nanda2024"]), "unknown preset 'nanda2024'"),
    "preset twice": (spec(presets=["quick", "quick"]), "twice"),
    "empty grid list": (spec(grid={"train.lr": []}), "empty list"),
    "grid value not a list": (spec(grid={"train.lr": 0.1}), "must be a list"),
    "unknown setting": (spec(grid={"train.lrr": [0.1]}), "unknown key 'train.lrr'"),
    "unknown section": (spec(fixed={"optim.lr": 1}), "not a setting"),
    "setting without a section": (spec(fixed={"lr": 1}), "not a setting"),
    "refused value": (spec(grid={"train.lr": [0.001, -1]}), "train.lr"),
    "refused string": (spec(fixed={**FIXED, "model.act": "tanh"}), "model.act"),
    "empty split": (spec(fixed={**FIXED, "task.train_frac": 0.001}), "train"),
    "fixed and grid": (spec(grid={"train.steps": [10, 20]}), "train.steps is set in both fixed and grid"),
    "grid and random": (spec(random={"samples": 2, "train.weight_decay": {"uniform": [0, 1]}}),
                        "in both grid and random"),
    "seed key also fixed": (spec(fixed={**FIXED, "train.seed": 3}), "in both fixed and seed_keys"),
    "set twice in two spellings": (spec(grid={"train.lr": [0.1], "train": {"lr": [0.2]}}), "twice"),
    "same value twice": (spec(grid={"train.weight_decay": [0.5, 0.5]}), "both be named"),
    "empty uniform range": (spec(random={"samples": 2, "train.lr": {"uniform": [0.1, 0.1]}}), "is empty"),
    "reversed range": (spec(random={"samples": 2, "train.lr": {"log_uniform": [0.1, 0.01]}}), "is empty"),
    "log of zero": (spec(random={"samples": 2, "train.lr": {"log_uniform": [0, 0.01]}}), "positive"),
    "empty choice": (spec(random={"samples": 2, "train.lr": {"choice": []}}), "non-empty"),
    "unknown distribution": (spec(random={"samples": 2, "train.lr": {"normal": [0, 1]}}), "must be one of"),
    "two distributions": (spec(random={"samples": 2, "train.lr": {"uniform": [0, 1], "choice": [1]}}),
                          "must be one of"),
    "no samples": (spec(random={"train.lr": {"uniform": [0.1, 1]}}), "random.samples"),
    "zero samples": (spec(random={"samples": 0, "train.lr": {"uniform": [0.1, 1]}}), "random.samples"),
    "nothing to draw": (spec(random={"samples": 3}), "no settings to draw"),
    "too few distinct draws": (spec(random={"samples": 5, "model.n_heads": {"choice": [1, 2]}}),
                               "distinct samples"),
    "int range of floats": (spec(random={"samples": 1, "train.steps": {"int_uniform": [1, 2.5]}}),
                            "integers"),
    "NaN in a range": (spec(random={"samples": 1, "train.lr": {"uniform": [0.1, float("nan")]}}), "finite"),
    "infinite value": (spec(grid={"train.lr": [float("inf")]}), "finite"),
    "nested list": (spec(grid={"train.betas": [[[0.9]]]}), "nests too deeply"),
    "empty seeds": (spec(seeds=[]), "seeds must be"),
    "negative seed": (spec(seeds=[-1]), "seed -1"),
    "seed twice": (spec(seeds=[1, 1]), "twice"),
    "reversed seed range": (spec(seeds="5-2"), "is empty"),
    "seed text": (spec(seeds="many"), "seeds must be"),
    "too many trials": (spec(seeds="0-9999"), "at most 10000"),
    "name not a string": (spec(name=3), "name must be"),
    "fixed not a table": (spec(fixed=[1]), "fixed must be a table"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_specs_are_refused_in_one_line(case):
    data, match = BAD[case]
    with pytest.raises(SweepSpecError) as info:
        load_spec(data)
    message = str(info.value)
    assert match in message and "\n" not in message and len(message) < 400, message


@pytest.mark.parametrize("text, match", [
    ("presets = [", "not valid TOML"),
    ("presets = ['quick']\n[grid]\n'train.lr' = [0.1]\n[grid]\n", "not valid TOML"),
    ("\x00\x01", "not valid TOML"),
])
def test_unreadable_toml(tmp_path, text, match):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(SweepSpecError, match=match):
        load_spec(path)
