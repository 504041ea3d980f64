"""Named paper setups: one name reproduces a published configuration (one module per family of setups)."""

from __future__ import annotations

import copy
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import ConfigError
from tritlens.presets.discrete import DISCRETE
from tritlens.presets.modular import MODULAR
from tritlens.presets.transformer import TRANSFORMER

PRESETS: dict[str, dict[str, Any]] = {**MODULAR, **DISCRETE, **TRANSFORMER}


def preset_names() -> list[str]:
    return list(PRESETS)


def preset_about(name: str) -> str:
    return PRESETS[name]["about"] if name in PRESETS else ""


def preset_config(name: str, overrides: list[str] | None = None) -> RunConfig:
    """The full config of a preset, with optional ``section.key=value`` overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    data = {k: copy.deepcopy(v) for k, v in PRESETS[name].items() if k != "about"}
    cfg = RunConfig.from_dict({**data, "preset": name})
    return cfg.with_overrides(overrides) if overrides else cfg
