"""Helpers for the logic benchmarks: timed external optimisers and a baseline checkout.

* ``abc_timed``: berkeley-abc on a binary AIGER file, wall time of the whole process (/usr/bin/time
  style: process start, read, optimise, write).
* ``aigverse_timed``: the same circuit through aigverse (Python bindings to mockturtle), in-process.
* ``baseline_simplify``: runs ``simplify`` of an older git revision of tritlens in a subprocess
  (``git archive REV src`` into a temporary directory), so before/after are measured in one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tritlens.logic import AIG, read_aiger, write_aiger
from tritlens.logic.abc import RESYN2, abc_binary

ROOT = Path(__file__).resolve().parents[1]


def abc_timed(aig: AIG, script: str) -> tuple[AIG, float]:
    """(optimised circuit, seconds) for abc ``script`` (``resyn2`` spelled out, or a command list)."""
    commands = RESYN2 if script == "resyn2" else script
    with tempfile.TemporaryDirectory() as tmp:
        write_aiger(aig, Path(tmp) / "in.aig")
        start = time.perf_counter()
        subprocess.run(
            [abc_binary(), "-c", f"read in.aig; strash; {commands}; write_aiger -s out.aig"],
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        secs = time.perf_counter() - start
        return read_aiger(Path(tmp) / "out.aig"), secs


def aigverse_available() -> bool:
    try:
        import aigverse  # noqa: F401
    except ImportError:
        return False
    return True


def aigverse_timed(aig: AIG, rounds: int = 3) -> tuple[AIG, float]:
    """(optimised circuit, seconds): ``rounds`` x (cut rewriting, resubstitution, SOP refactoring)."""
    from aigverse import algorithms, io

    with tempfile.TemporaryDirectory() as tmp:
        write_aiger(aig, Path(tmp) / "in.aig")
        ntk = io.read_aiger_into_aig(str(Path(tmp) / "in.aig"))
        start = time.perf_counter()
        for _ in range(rounds):
            ntk = algorithms.aig_cut_rewriting(ntk)
            ntk = algorithms.aig_resubstitution(ntk)
            ntk = algorithms.sop_refactoring(ntk)
        secs = time.perf_counter() - start
        io.write_aiger(ntk, str(Path(tmp) / "out.aig"))
        return read_aiger(Path(tmp) / "out.aig"), secs


_TIMER = """
import json, sys, time
from tritlens.logic import read_aiger, circuit_stats
from tritlens.logic.simplify import simplify
aig = read_aiger(sys.argv[1])
out = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    small = simplify(aig, *sys.argv[3:4])
    out.append({"ands": circuit_stats(small)["ands"], "seconds": time.perf_counter() - start})
print(json.dumps(out))
"""


def timed_simplify(src: Path, aig_path: Path, repeats: int = 2, passes: str | None = None) -> list[dict]:
    """Run ``simplify`` of the tritlens sources under ``src`` in a fresh process, ``repeats`` times
    (the first call is cold: it also fills the memoised structure library)."""
    args = [sys.executable, "-c", _TIMER, str(aig_path), str(repeats)] + ([passes] if passes else [])
    env = {"PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_src(revision: str, into: Path) -> Path:
    """Extract ``src/`` of a git revision of this repository into ``into``; returns the src path."""
    archive = subprocess.run(
        ["git", "archive", revision, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"
