"""Optional round trips through berkeley-abc (and yosys for format conversion), via temp files.

Debian's abc reads binary AIGER only and has no ``resyn2`` alias, so the script is spelled out.
Everything here raises TritlensError when the tool is missing or fails; callers decide whether to skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tritlens.errors import TritlensError
from tritlens.logic.aig import AIG
from tritlens.logic.aiger import read_aiger, write_aiger

RESYN2 = "balance; rewrite; refactor; balance; rewrite; rewrite -z; balance; refactor -z; rewrite -z; balance"
SCRIPTS = {"resyn2": RESYN2, "dc2": "dc2", "fraig": "fraig", "strash": "strash"}
ABC_NAMES = ("berkeley-abc", "abc")


def abc_binary() -> str | None:
    """Path of the berkeley-abc executable, if installed."""
    for name in ABC_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def yosys_binary() -> str | None:
    return shutil.which("yosys")


class ToolTimeout(TritlensError):
    """An external tool ran past its time limit (no verdict, not a failure of the input)."""


def run_tool(argv: list[str], cwd: Path, timeout: float = 120.0) -> str:
    """Run a tool, return its stdout; failures become TritlensError with the tail of the output."""
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise TritlensError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise ToolTimeout(f"{Path(argv[0]).name} timed out after {timeout:g}s") from None
    text = proc.stdout + proc.stderr
    if proc.returncode != 0 or "Error" in text or "ERROR" in text:
        raise TritlensError(f"{Path(argv[0]).name} failed: {text.strip()[-400:]}")
    return proc.stdout


def _abc(commands: str, cwd: Path, timeout: float = 120.0) -> str:
    exe = abc_binary()
    if exe is None:
        raise TritlensError("berkeley-abc is not installed")
    return run_tool([exe, "-c", commands], cwd, timeout)


def abc_optimize(aig: AIG, script: str = "resyn2") -> AIG:
    """Optimise with abc (``resyn2``, ``dc2``, ``fraig`` or a literal command string); names are kept."""
    commands = SCRIPTS.get(script, script)
    with tempfile.TemporaryDirectory(prefix="tritlens-abc-") as tmp:
        tmpdir = Path(tmp)
        write_aiger(aig, tmpdir / "in.aig")
        _abc(f"read in.aig; strash; {commands}; write_aiger -s out.aig", tmpdir)
        out = read_aiger(tmpdir / "out.aig")
    out.input_names, out.output_names = list(aig.input_names), list(aig.output_names)
    for mine, theirs in zip(out.latches, aig.latches, strict=True):
        mine.name = theirs.name
    return out


def abc_cec(a: AIG, b: AIG) -> bool:
    """Combinational equivalence by abc ``cec`` (latches are cut into pseudo inputs/outputs)."""
    with tempfile.TemporaryDirectory(prefix="tritlens-abc-") as tmp:
        tmpdir = Path(tmp)
        write_aiger(a, tmpdir / "a.aig")
        write_aiger(b, tmpdir / "b.aig")
        text = _abc("cec a.aig b.aig", tmpdir)
    if "Networks are equivalent" in text:
        return True
    if "NOT EQUIVALENT" in text.upper() or "are not equivalent" in text:
        return False
    raise TritlensError(f"cannot parse abc cec output: {text.strip()[-300:]}")


def abc_stats(aig: AIG) -> dict[str, int]:
    """abc's ``print_stats`` (and count, level) of a circuit."""
    with tempfile.TemporaryDirectory(prefix="tritlens-abc-") as tmp:
        tmpdir = Path(tmp)
        write_aiger(aig, tmpdir / "a.aig")
        text = _abc("read a.aig; strash; print_stats", tmpdir)
    found = dict(re.findall(r"\b(and|lev|lat)\s*=\s*(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", text)))
    return {k: int(v) for k, v in found.items()}


def yosys_to_aiger(path: Path, reader: str) -> AIG:
    """Read a .v/.blif/.aag file with yosys and bring it back as an AIG (with port names)."""
    exe = yosys_binary()
    if exe is None:
        raise TritlensError("yosys is not installed")
    read = {
        "verilog": f"read_verilog {path.name}; proc",
        "blif": f"read_blif {path.name}",
        "aiger": f"read_aiger {path.name}",
    }[reader]
    out = path.with_suffix(".yosys.aag")
    script = f"{read}; flatten; techmap; aigmap; opt_clean; write_aiger -zinit -symbols -ascii {out.name}"
    run_tool([exe, "-q", "-p", script], path.parent)
    return read_aiger(out)
