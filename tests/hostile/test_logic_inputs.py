"""AIGER files and the numeric options of verify / modules: every bad one exits 2 in one line, fast, and a
tiny file announcing millions of gates is refused before anything is allocated for them."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tritlens

from .checks import cli_fails

AIGER = {
    "header announcing 10^7 ASCII inputs": b"aag 10000000 10000000 0 0 0\n",
    "header announcing 10^7 binary inputs": b"aig 10000000 10000000 0 0 0\n",
    "binary header announcing 10^7 ANDs": b"aig 10000000 0 0 0 10000000\n",
    "binary header announcing 8*10^6 inputs": b"aig 8000000 8000000 0 1 0\n2\n",
    "binary header announcing 2^20 + 1 inputs": b"aig 1048577 1048577 0 0 0\n",
    "binary M larger than I+L+A": b"aig 5 1 0 1 0\n2\n",
    "header announcing 10^8 outputs": b"aag 1 1 0 99999999 0\n2\n" + b"2\n" * 10,
    "a 23-digit M": b"aag 99999999999999999999999 0 0 0 0\n",
    "a 5000-digit M": b"aag " + b"9" * 5000 + b" 0 0 0 0\n",
    "a million-digit literal": b"aag 1 1 0 1 0\n" + b"2" * 1_000_000 + b"\n2\n",
    "empty": b"",
    "not AIGER": b"hello\n",
    "binary garbage": random.Random(3).randbytes(1000),
    "negative M": b"aag -1 0 0 0 0\n",
    "too few header numbers": b"aag 1 1 0\n",
    "justice section": b"aag 1 1 0 1 0 1\n2\n2\n2\n",
    "full-width digits": "aag \uff11 1 0 1 0\n2\n2\n".encode(),
    "NUL in a line": b"aag 1 1 0 1 0\n2\n\x002\n",
    "M smaller than I+L+A": b"aag 1 2 0 1 0\n2\n4\n2\n",
    "truncated ASCII ANDs": b"aag 3 2 0 1 1\n2\n4\n6\n6 2",
    "truncated binary ANDs": b"aig 3 2 0 1 1\n6\n\x02",
    "binary delta of zero": b"aig 2 1 0 1 1\n4\n\x00\x00",
    "binary delta of 11 bytes": b"aig 2 1 0 1 1\n4\n" + b"\xff" * 10 + b"\x7f\x00",
    "binary delta of 100k bytes": b"aig 2 1 0 1 1\n4\n" + b"\xff" * 100_000,
    "combinational cycle": b"aag 3 1 0 1 2\n2\n6\n4 6 2\n6 4 2\n",
    "AND feeding itself": b"aag 2 1 0 1 1\n2\n4\n4 4 2\n",
    "literal out of range in an AND": b"aag 2 1 0 1 1\n2\n4\n4 2 99\n",
    "output literal out of range": b"aag 2 1 0 1 1\n2\n999\n4 2 2\n",
    "variable used, never defined": b"aag 3 1 0 1 1\n2\n6\n4 2 2\n",
    "variable defined twice": b"aag 2 2 0 1 0\n2\n2\n2\n",
    "odd input literal": b"aag 1 1 0 1 0\n3\n2\n",
    "input literal 0": b"aag 1 1 0 1 0\n0\n2\n",
    "odd AND output": b"aag 2 1 0 1 1\n2\n4\n5 2 2\n",
    "latch reset 7": b"aag 2 1 1 1 0\n2\n4 2 7\n4\n",
    "unknown symbol kind": b"aag 1 1 0 1 0\n2\n2\nx0 foo\n",
    "symbol of a missing input": b"aag 1 1 0 1 0\n2\n2\ni5 foo\n",
    "symbol without a name": b"aag 1 1 0 1 0\n2\n2\ni0 \n",
}


@pytest.mark.parametrize("data", AIGER.values(), ids=AIGER.keys())
def test_bad_aiger(tmp_path, capsys, data):
    f = tmp_path / "x.aag"
    f.write_bytes(data)
    start = time.perf_counter()
    cli_fails(capsys, ["aig-stats", str(f)], watch=[tmp_path])
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("kind", ["/dev/zero", "a pipe", "a directory", "a dangling link", "missing",
                                  "300 MB"])
def test_aiger_that_is_not_a_file(tmp_path, capsys, kind):
    f = tmp_path / "x.aig"
    if kind == "/dev/zero":
        f.symlink_to("/dev/zero")
    elif kind == "a pipe":
        os.mkfifo(f)
    elif kind == "a directory":
        f.mkdir()
    elif kind == "a dangling link":
        f.symlink_to(tmp_path / "nowhere")
    elif kind == "300 MB":
        with f.open("wb") as fh:
            fh.truncate(300 << 20)
    cli_fails(capsys, ["aig-stats", str(f)], watch=[tmp_path])


PROBE = textwrap.dedent("""
    import json, resource, sys
    from tritlens.errors import TritlensError
    from tritlens.logic.aiger import read_aiger
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused = []
    for path in sys.argv[1:]:
        try:
            read_aiger(path)
        except TritlensError:
            refused.append(path)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"refused": refused, "grown_kib": grown}))
""")


def test_huge_headers_allocate_nothing(tmp_path):
    """In a fresh process (so the peak is ours), tiny files announcing huge circuits are refused without
    the memory they announce: the 28-byte header once took 3.75 GB."""
    names = [k for k in AIGER if k.startswith(("header", "binary header", "a 23", "a 5000"))]
    paths = []
    for k, name in enumerate(names):
        paths.append(tmp_path / f"{k}.aig")
        paths[-1].write_bytes(AIGER[name])
    env = {**os.environ, "PYTHONPATH": str(Path(tritlens.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", PROBE, *map(str, paths)], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    result = json.loads(out.stdout)
    assert result["refused"] == list(map(str, paths))
    assert result["grown_kib"] < 50 * 1024, result


OPTIONS = {
    "verify timeout -1": ["verify", "DISC", "--timeout", "-1"],
    "verify timeout 0": ["verify", "DISC", "--timeout", "0"],
    "verify timeout nan": ["verify", "DISC", "--timeout", "nan"],
    "verify timeout inf": ["verify", "DISC", "--timeout", "inf"],
    "verify timeout 1e999": ["verify", "DISC", "--timeout", "1e999"],
    "verify timeout a week": ["verify", "DISC", "--timeout", "604800"],
    "verify timeout abc": ["verify", "DISC", "--timeout", "abc"],
    "verify digits 0": ["verify", "DISC", "--spec", "add", "--digits", "0"],
    "verify digits 10^6": ["verify", "DISC", "--spec", "add", "--digits", "1000000"],
    "verify digits of 5000 digits": ["verify", "DISC", "--spec", "add", "--digits", "9" * 5000],
    "verify digits 2.5": ["verify", "DISC", "--spec", "add", "--digits", "2.5"],
    "verify digits for modadd": ["verify", "DISC", "--spec", "modadd", "--digits", "3"],
    "verify a spec of another width": ["verify", "DISC", "--spec", "add"],
    "verify parity on a modadd run": ["verify", "DISC", "--spec", "parity", "--digits", "64"],
    "verify compare of 64 bits": ["verify", "DISC", "--spec", "compare", "--digits", "64"],
    "modules max-inputs -1": ["modules", "DISC", "--max-inputs", "-1"],
    "modules max-inputs 1000": ["modules", "DISC", "--max-inputs", "1000"],
    "modules max-inputs 1.5": ["modules", "DISC", "--max-inputs", "1.5"],
    "modules max-inputs empty": ["modules", "DISC", "--max-inputs", ""],
    "compile unknown encoding": ["compile", "DISC", "-o", "T/c.aag", "--encoding", "best"],
}


@pytest.mark.parametrize("argv", OPTIONS.values(), ids=OPTIONS.keys())
def test_bad_logic_option(tmp_path, capsys, copy_run, discrete_run, argv):
    disc = copy_run(discrete_run, "disc")
    argv = [a.replace("DISC", str(disc)).replace("T/", f"{tmp_path}/") for a in argv]
    cli_fails(capsys, argv, watch=[tmp_path])


def test_aiger_roundtrip_still_reads(tmp_path, capsys, copy_run, discrete_run):
    """The counterpart: a real compiled circuit, ASCII and binary, is read back."""
    from tritlens.cli import main

    disc = copy_run(discrete_run, "disc")
    for ext in ("aag", "aig"):
        assert main(["compile", str(disc), "-o", str(tmp_path / f"c.{ext}")]) == 0
        capsys.readouterr()
        assert main(["aig-stats", str(tmp_path / f"c.{ext}"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["inputs"] > 0


def test_aiger_past_a_million_variables_reads(tmp_path):
    """The input bound is on announced inputs only: a real circuit of more than 2^20 variables (the
    p = 31 discrete transformer compiles to millions of ANDs) is written and read back."""
    from tritlens.logic.aig import AIG
    from tritlens.logic.aiger import read_aiger, write_aiger

    g = AIG()
    ins = [g.add_input(f"i{k}") for k in range(16)]
    x = ins[0]
    for k in range((1 << 20) + 10):
        x = g.AND(x ^ 1, ins[k % 16])
    g.add_output(x, "o")
    write_aiger(g, tmp_path / "big.aig")
    back = read_aiger(tmp_path / "big.aig")
    assert back.num_vars == g.num_vars > 1 << 20
    assert back.input_names == g.input_names and back.output_names == ["o"]
