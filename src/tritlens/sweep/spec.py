"""Sweep specs: presets x settings x seeds, read from TOML (or JSON, or a dict) and checked in full.

    presets = ["quick"]                       # one or more preset names
    seeds = [0, 1, 2]                         # or "0-2"; each sets train.seed (``seed_keys`` to change)

    [fixed]                                   # the same in every trial
    "train.steps" = 40

    [grid]                                    # cartesian product of these lists
    "train.weight_decay" = [0.1, 1.0]

    [random]                                  # ``samples`` draws, seeded, crossed with the grid
    samples = 4
    seed = 0
    "train.lr" = {log_uniform = [1e-4, 1e-2]} # also uniform, int_uniform (inclusive), choice

Settings are ``section.key`` (quoted in TOML) or grouped in section tables (``[grid.train]``). Every
trial's config is built with the preset machinery before anything runs, so a bad key or value is one
:class:`SweepSpecError` naming the trial. A trial's name is its preset, its swept settings in sorted
order and its seed, e.g. ``quick__train.weight_decay=0.1__seed=1``: the same settings always give the
same name (and run directory), whatever the order in the spec.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import random
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tritlens.build import build_task
from tritlens.config import SECTIONS, RunConfig
from tritlens.errors import ConfigError, TritlensError, short
from tritlens.presets import PRESETS, preset_config, unknown_preset
from tritlens.run.files import read_text

TOP_KEYS = ("name", "presets", "seeds", "seed_keys", "fixed", "grid", "random")
RANDOM_OPTIONS = ("samples", "seed")
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
MAX_TRIALS = 10_000
MAX_SEED = 2**63 - 1
NAME_CHARS = re.compile(r"[^A-Za-z0-9._,+=-]")
MAX_NAME = 150
SIGNIFICANT = 4  # random floats are rounded to this many digits, so values and names agree


class SweepSpecError(TritlensError):
    """A sweep spec that cannot run: unknown keys, empty lists or ranges, conflicts, refused settings."""


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its name (= run directory name), preset, swept settings, seed and config."""

    name: str
    preset: str
    settings: dict[str, Any]  # the swept values (grid and random), by key
    seed: int | None
    config: RunConfig
    group: str  # the name without the seed: trials that differ only in seed share it


@dataclass(frozen=True)
class SweepSpec:
    """A checked spec (``data`` is its normal form, JSON-ready) and the trials it expands to."""

    data: dict[str, Any]
    trials: list[Trial]

    @property
    def swept(self) -> list[str]:
        """The keys that vary across trials (grid and random), sorted."""
        return sorted({*self.data["grid"], *(self.data["random"] or {}).get("params", {})})


# -- reading -----------------------------------------------------------------------------------------
def load_spec(source: str | os.PathLike[str] | dict[str, Any]) -> SweepSpec:
    """Read (TOML by default, JSON for ``.json``) or take a dict, check it and expand its trials."""
    if isinstance(source, dict):
        return expand(normalise(source))
    try:
        path = Path(os.fspath(source))
    except TypeError:
        raise SweepSpecError(f"a sweep spec must be a file path or a dict, got {short(source)}") from None
    text = read_text(path, "sweep spec", 1 << 20)
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        first = str(exc).splitlines()[0][:120]
        raise SweepSpecError(f"sweep spec {path} is not valid {kind}: {first}") from None
    if not isinstance(data, dict):
        raise SweepSpecError(f"sweep spec {path} must hold a table of keys, got {short(data)}")
    return load_spec(data)


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """The spec in one normal form (flat ``section.key`` settings, seeds as a list); a SweepSpecError
    for anything unknown, empty, badly typed or set twice."""
    unknown = sorted(set(raw) - set(TOP_KEYS), key=str)
    if unknown:
        raise SweepSpecError(f"unknown sweep spec key {str(unknown[0])!r:.60}; known: {', '.join(TOP_KEYS)}")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise SweepSpecError(f"name must be a string, got {short(name)}")
    fixed = _flat(_table(raw, "fixed"), "fixed")
    grid = _flat(_table(raw, "grid"), "grid")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise SweepSpecError(f"grid {key} must be a list of values, got {short(values)}")
        if not values:
            raise SweepSpecError(f"grid {key} is an empty list")
        for value in values:
            _value(value, f"grid {key}")
    for key, value in fixed.items():
        _value(value, f"fixed {key}")
    rand = _random(raw.get("random"))
    seed_keys = _seed_keys(raw.get("seed_keys", ["train.seed"]))
    seeds = _seeds(raw.get("seeds"))
    _conflicts(fixed, grid, (rand or {}).get("params", {}), seed_keys if seeds is not None else [])
    return {"name": name, "presets": _presets(raw.get("presets")), "seeds": seeds, "seed_keys": seed_keys,
            "fixed": fixed, "grid": grid, "random": rand}


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise SweepSpecError(f"{key} must be a table of settings, got {short(value)}")
    return value


def _flat(table: dict[str, Any], where: str) -> dict[str, Any]:
    """``{"train.lr": v}`` and ``{"train": {"lr": v}}`` both as ``{"train.lr": v}``; set twice is refused."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, dict):
            items = [(f"{key}.{name}", v) for name, v in value.items()]
        else:
            items = [(key, value)]
        for full, v in items:
            _key(full, where)
            if full in out:
                raise SweepSpecError(f"{where} sets {full} twice")
            out[full] = v
    return out


def _key(key: str, where: str) -> None:
    section, dot, name = key.partition(".")
    if not dot or section not in SECTIONS or not name or "." in name or "=" in key:
        raise SweepSpecError(f"{where}: {key!r:.60} is not a setting; write SECTION.KEY with SECTION one of "
                             f"{', '.join(SECTIONS)}")


def _value(value: Any, where: str) -> None:
    """A setting's value: a number (finite), bool, string, or a list of those."""
    if isinstance(value, list):
        for v in value:
            if isinstance(v, list | dict):
                raise SweepSpecError(f"{where}: {short(value)} nests too deeply")
            _value(v, where)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise SweepSpecError(f"{where}: {value} is not a finite number")
    if not isinstance(value, bool | int | float | str):
        raise SweepSpecError(f"{where}: {short(value)} is not a number, true/false, a string or a list")


def _presets(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise SweepSpecError("presets must be a non-empty list of preset names (see `tritlens presets`)")
    for name in value:
        if not isinstance(name, str) or name not in PRESETS:
            raise SweepSpecError(unknown_preset(name, PRESETS))
    if len(set(value)) != len(value):
        raise SweepSpecError("presets lists a preset twice")
    return list(value)


def parse_seeds(value: Any) -> list[int]:
    """Seeds as a list of distinct integers from a list or a string such as ``"0-7"`` or ``"1,4,9"``."""
    if isinstance(value, str):
        value = _seed_text(value)
    if not isinstance(value, list) or not value:
        raise SweepSpecError(f"seeds must be a non-empty list of integers or a range such as \"0-7\", got "
                             f"{short(value)}")
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise SweepSpecError(f"seed {short(seed)} is not an integer in [0, 2^63 - 1]")
    if len(set(value)) != len(value):
        raise SweepSpecError("seeds lists a seed twice")
    return list(value)


def _seed_text(text: str) -> list[int] | str:
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()) or len(lo) > 19 or len(hi) > 19:
            return text
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first:
            raise SweepSpecError(f"seeds {text!r:.40}: the range {part.strip()} is empty")
        if last - first >= MAX_TRIALS:
            raise SweepSpecError(f"seeds {text!r:.40}: more than {MAX_TRIALS} seeds")
        seeds += range(first, last + 1)
    return seeds


def _seeds(value: Any) -> list[int] | None:
    return None if value is None else parse_seeds(value)


def _seed_keys(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
        raise SweepSpecError(f"seed_keys must be a non-empty list of settings, got {short(value)}")
    for key in value:
        _key(key, "seed_keys")
    if len(set(value)) != len(value):
        raise SweepSpecError("seed_keys lists a setting twice")
    return list(value)


def _random(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SweepSpecError(f"random must be a table, got {short(value)}")
    samples, seed = value.get("samples"), value.get("seed", 0)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_TRIALS:
        raise SweepSpecError(f"random.samples must be an integer in [1, {MAX_TRIALS}], got {short(samples)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SweepSpecError(f"random.seed must be an integer in [0, 2^63 - 1], got {short(seed)}")
    params = _flat({k: v for k, v in value.items() if k not in RANDOM_OPTIONS}, "random")
    if not params:
        raise SweepSpecError("random has no settings to draw")
    return {"samples": samples, "seed": seed,
            "params": {k: _distribution(k, v) for k, v in sorted(params.items())}}


def _distribution(key: str, value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
        kinds = " | ".join(f"{d} = [...]" for d in DISTRIBUTIONS)
        raise SweepSpecError(f"random {key} must be one of {{{kinds}}}, got {short(value)}")
    kind, args = next(iter(value.items()))
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise SweepSpecError(f"random {key}: choice needs a non-empty list")
        for v in args:
            _value(v, f"random {key}")
        return {kind: args}
    numbers = isinstance(args, list) and len(args) == 2 and all(
        isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in args)
    if not numbers:
        raise SweepSpecError(f"random {key}: {kind} needs [low, high] (two finite numbers), got "
                             f"{short(args)}")
    lo, hi = args
    if kind == "int_uniform" and not all(isinstance(a, int) for a in args):
        raise SweepSpecError(f"random {key}: int_uniform needs two integers, got {short(args)}")
    if lo > hi or (lo == hi and kind != "int_uniform"):
        raise SweepSpecError(f"random {key}: the range [{lo}, {hi}] is empty")
    if kind == "log_uniform" and lo <= 0:
        raise SweepSpecError(f"random {key}: log_uniform needs a positive low end, got {lo}")
    return {kind: [lo, hi]}


def _conflicts(fixed: dict[str, Any], grid: dict[str, Any], params: dict[str, Any], seeds: list[str]) -> None:
    places = [("fixed", fixed), ("grid", grid), ("random", params), ("seed_keys", dict.fromkeys(seeds))]
    for (a, one), (b, two) in itertools.combinations(places, 2):
        both = sorted(set(one) & set(two))
        if both:
            raise SweepSpecError(f"{both[0]} is set in both {a} and {b}; give each setting one place")


# -- expanding ---------------------------------------------------------------------------------------
def sample(rand: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``samples`` distinct draws of the random settings (seeded; floats rounded to 4 digits)."""
    if rand is None:
        return [{}]
    rng = random.Random(rand["seed"])
    draws: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(100 * rand["samples"]):
        draw = {key: _draw(rng, dist) for key, dist in rand["params"].items()}
        mark = json.dumps(draw, sort_keys=True)
        if mark not in seen:
            seen.add(mark)
            draws.append(draw)
            if len(draws) == rand["samples"]:
                return draws
    raise SweepSpecError(f"random: cannot draw {rand['samples']} distinct samples from these ranges "
                         f"(got {len(draws)}); ask for fewer")


def _draw(rng: random.Random, dist: dict[str, list[Any]]) -> Any:
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        return args[rng.randrange(len(args))]
    lo, hi = args
    if kind == "int_uniform":
        return rng.randint(lo, hi)
    x = math.exp(rng.uniform(math.log(lo), math.log(hi))) if kind == "log_uniform" else rng.uniform(lo, hi)
    return float(f"{x:.{SIGNIFICANT}g}")


def text(value: Any) -> str:
    """A setting's value as it appears in names and ``--set`` (JSON, strings as they are)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def trial_name(preset: str, settings: dict[str, Any], seed: int | None) -> str:
    """``preset__key=value__...__seed=N`` (keys sorted), made safe as a file name; a long name keeps a
    prefix and gains a hash of the whole so it stays unique."""
    parts = [preset, *(f"{k}={text(settings[k])}" for k in sorted(settings))]
    if seed is not None:
        parts.append(f"seed={seed}")
    name = NAME_CHARS.sub("_", "__".join(parts))
    if len(name) > MAX_NAME:
        digest = hashlib.sha256("__".join(parts).encode()).hexdigest()[:12]
        name = f"{name[:MAX_NAME - 14]}__{digest}"
    return name


def expand(data: dict[str, Any]) -> SweepSpec:
    """Every trial of a normalised spec, each with its checked config; names must be unique."""
    grid = data["grid"]
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    draws = sample(data["random"])
    seeds: list[int | None] = list(data["seeds"]) if data["seeds"] is not None else [None]
    total = len(data["presets"]) * len(combos) * len(draws) * len(seeds)
    if total > MAX_TRIALS:
        raise SweepSpecError(f"the spec expands to {total} trials; at most {MAX_TRIALS}")
    trials: list[Trial] = []
    names: set[str] = set()
    for preset, combo, draw, seed in itertools.product(data["presets"], combos, draws, seeds):
        settings = {**combo, **draw}
        name = trial_name(preset, settings, seed)
        if name in names:
            raise SweepSpecError(f"two trials would both be named {name[:80]} (a value listed twice?)")
        names.add(name)
        seeded = {key: seed for key in data["seed_keys"]} if seed is not None else {}
        config = _config(name, preset, {**data["fixed"], **settings, **seeded})
        trials.append(Trial(name, preset, settings, seed, config, trial_name(preset, settings, None)))
    _check_tasks(trials)
    return SweepSpec(json.loads(json.dumps(data)), trials)


def _config(name: str, preset: str, settings: dict[str, Any]) -> RunConfig:
    try:
        return preset_config(preset, [f"{k}={text(v)}" for k, v in settings.items()])
    except ConfigError as exc:
        raise SweepSpecError(f"trial {name[:80]}: {str(exc).removeprefix('--set ')}") from None


def _check_tasks(trials: list[Trial]) -> None:
    """Build each distinct task once: a setting its data refuse (an empty split) fails here."""
    seen: set[str] = set()
    for trial in trials:
        key = json.dumps(trial.config.to_dict()["task"], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        try:
            build_task(trial.config)
        except TritlensError as exc:
            raise SweepSpecError(f"trial {trial.name[:80]}: {exc}") from None
