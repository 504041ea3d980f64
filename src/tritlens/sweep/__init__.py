"""Sweeps: many runs of presets x settings x seeds, on a local process pool or a Ray cluster.

    from tritlens.sweep import load_spec, run_sweep, summarize
    spec = load_spec("sweep.toml")                 # checked in full: every trial's config is built
    summary = run_sweep(spec, "runs/sweep")        # one run directory per trial under runs/sweep/trials/

This stage uses the train and run layers; it never imports the API or the CLI.
"""

from tritlens.sweep.engine import ENGINES, SweepError, plan, run_sweep, write_summary
from tritlens.sweep.ray_engine import RayError
from tritlens.sweep.spec import SweepSpec, SweepSpecError, Trial, load_spec, parse_seeds, trial_name
from tritlens.sweep.summary import SettingSummary, SweepSummary, TrialSummary, is_sweep, summarize

__all__ = ["ENGINES", "RayError", "SettingSummary", "SweepError", "SweepSpec", "SweepSpecError",
           "SweepSummary", "Trial", "TrialSummary", "is_sweep", "load_spec", "parse_seeds", "plan",
           "run_sweep", "summarize", "trial_name", "write_summary"]
