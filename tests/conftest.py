"""Shared fixtures. Tests run two processes in parallel (pytest -n 2), so torch gets one thread each."""

from __future__ import annotations

import signal

import torch

torch.set_num_threads(1)

# Tests send Ctrl-C to the command-line processes they start. A shell that starts pytest in the
# background leaves SIGINT ignored, and an ignored signal stays ignored across exec, so those processes
# would never see it: give this process Python's own handler, which children reset to the default.
signal.signal(signal.SIGINT, signal.default_int_handler)
