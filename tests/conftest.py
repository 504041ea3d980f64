"""Shared fixtures. Tests run two processes in parallel (pytest -n 2), so torch gets one thread each."""

from __future__ import annotations

import contextlib
import signal

import pytest
import torch

torch.set_num_threads(1)

# Tests send Ctrl-C to the command-line processes they start. A shell that starts pytest in the
# background leaves SIGINT ignored, and an ignored signal stays ignored across exec, so those processes
# would never see it: give this process Python's own handler, which children reset to the default.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def crash_at(monkeypatch):
    """``with crash_at(step): train(...)``: the trainer raises a simulated crash when it reaches ``step``
    (the block must end in that crash), and steps normally again after the block."""
    import tritlens.train.trainer as trainer_mod

    real_step = trainer_mod.Trainer.step

    @contextlib.contextmanager
    def crashing(at: int):
        def step(self, s):
            if s == at:
                raise RuntimeError("simulated crash")
            real_step(self, s)

        monkeypatch.setattr(trainer_mod.Trainer, "step", step)
        try:
            with pytest.raises(RuntimeError, match="simulated crash"):
                yield
        finally:
            monkeypatch.setattr(trainer_mod.Trainer, "step", real_step)

    return crashing
