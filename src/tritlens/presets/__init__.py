"""Named paper setups: one name reproduces a published configuration (one module per family of setups)."""

from __future__ import annotations

import copy
import difflib
from typing import Any

from tritlens.config import RunConfig
from tritlens.errors import ConfigError
from tritlens.presets.arithmetic import ARITHMETIC
from tritlens.presets.circuits import CIRCUITS
from tritlens.presets.discrete import DISCRETE
from tritlens.presets.modular import MODULAR
from tritlens.presets.transformer import TRANSFORMER

PRESETS: dict[str, dict[str, Any]] = {**MODULAR, **DISCRETE, **TRANSFORMER, **ARITHMETIC, **CIRCUITS}


def preset_names() -> list[str]:
    return list(PRESETS)


def preset_about(name: str) -> str:
    return PRESETS[name]["about"] if name in PRESETS else ""


def preset_config(name: str, overrides: list[str] | None = None) -> RunConfig:
    """The full config of a preset, with optional ``section.key=value`` overrides."""
    if name not in PRESETS:
        raise ConfigError(unknown_preset(name, PRESETS))
    data = {k: copy.deepcopy(v) for k, v in PRESETS[name].items() if k != "about"}
    cfg = RunConfig.from_dict({**data, "preset": name})
    return cfg.with_overrides(overrides) if overrides else cfg


def unknown_preset(name: object, presets: Any) -> str:
    """The one-line error for a preset name that does not exist: the closest names, and where to see all."""
    close = difflib.get_close_matches(str(name), list(presets), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return f"unknown preset {str(name)[:40]!r}; {hint}`tritlens presets` lists all {len(presets)}"
