"""Outputs: ``-o`` never replaces an existing file without --force, nor one of the command's own inputs even
with it (through a symbolic or hard link too); ``--out`` never takes over what is not its run. Each refusal
is one line, exit 2, with nothing written anywhere under the test's folder.

Tests run as root in CI, where permission bits do not stop writes; unwritable places are therefore /proc
(where even root cannot create files) and a path whose "folder" is a regular file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .checks import cli_fails
from .runs import TINY_ARGS

LONG = "x" * 300  # longer than a file name may be (255 bytes)


def _prepare(tmp: Path, run: Path, disc: Path) -> None:
    """Things an output can collide with, next to the runs."""
    (tmp / "existing.html").write_text("keep me\n")
    (tmp / "dangling.html").symlink_to(tmp / "nowhere" / "x.html")
    (tmp / "adir").mkdir()
    (tmp / "notempty").mkdir()
    (tmp / "notempty" / "notes.txt").write_text("mine\n")
    (tmp / "cfg-link.html").symlink_to(run / "config.json")
    os.link(run / "config.json", tmp / "cfg-hard.html")
    (tmp / "model-link.aag").symlink_to(disc / "model.safetensors")
    (tmp / "file-link").symlink_to(tmp / "existing.html")
    (tmp / "pngs").mkdir()
    (tmp / "pngs" / "loss.png").write_bytes(b"\x89PNG old")


CASES = {
    # report -o
    "report over an existing file": ["report", "RUN", "-o", "T/existing.html"],
    "report over the run's config": ["report", "RUN", "-o", "RUN/config.json"],
    "report over the run's config, forced": ["report", "RUN", "-o", "RUN/config.json", "--force"],
    "report over the run's metrics, forced": ["report", "RUN", "-o", "RUN/metrics.jsonl", "--force"],
    "report over the run's weights, forced": ["report", "RUN", "-o", "RUN/model.safetensors", "--force"],
    "report over a checkpoint, forced": ["report", "RUN", "-o", "RUN/checkpoints/step_000010.safetensors",
                                         "--force"],
    "report through a link to the config, forced": ["report", "RUN", "-o", "T/cfg-link.html", "--force"],
    "report through a hard link to the config, forced": ["report", "RUN", "-o", "T/cfg-hard.html", "--force"],
    "report to a directory": ["report", "RUN", "-o", "T/adir"],
    "report to a directory with a slash": ["report", "RUN", "-o", "T/adir/"],
    "report to a dangling link": ["report", "RUN", "-o", "T/dangling.html"],
    "report to an empty name": ["report", "RUN", "-o", ""],
    "report under a regular file": ["report", "RUN", "-o", "T/existing.html/r.html"],
    "report into /proc": ["report", "RUN", "-o", "/proc/tritlens-hostile.html"],
    "report into a folder that does not exist": ["report", "RUN", "-o", "T/nowhere/deeper/r.html"],
    "report to /dev/null": ["report", "RUN", "-o", "/dev/null", "--force"],
    "report to a name too long": ["report", "RUN", "-o", f"T/{LONG}.html"],
    "report png folder is a file": ["report", "RUN", "-o", "T/r.html", "--png", "T/existing.html"],
    "report png over an existing png": ["report", "RUN", "-o", "T/r.html", "--png", "T/pngs"],
    "report png into /proc": ["report", "RUN", "-o", "T/r.html", "--png", "/proc/tritlens-hostile"],
    "report of a missing run": ["report", "RUN", "T/nowhere", "-o", "T/r.html"],
    "report of a non-run folder": ["report", "T/notempty", "-o", "T/r.html"],
    "report of an unfinished run": ["report", "PART", "-o", "T/r.html"],
    # compile -o
    "compile over the run's weights": ["compile", "DISC", "-o", "DISC/model.safetensors", "--format", "aag",
                                       "--force"],
    "compile over the run's config": ["compile", "DISC", "-o", "DISC/config.json", "--format", "aag",
                                      "--force"],
    "compile through a link to the weights": ["compile", "DISC", "-o", "T/model-link.aag", "--force"],
    "compile over an existing file": ["compile", "DISC", "-o", "T/existing.html", "--format", "aag"],
    "compile to a directory": ["compile", "DISC", "-o", "T/adir"],
    "compile to a dangling link": ["compile", "DISC", "-o", "T/dangling.html", "--format", "aag"],
    "compile into /proc": ["compile", "DISC", "-o", "/proc/tritlens-hostile.aag"],
    "compile into a folder that does not exist": ["compile", "DISC", "-o", "T/nowhere/c.aag"],
    "compile to an unknown extension": ["compile", "DISC", "-o", "T/c.xyz"],
    "compile to an upper-case extension": ["compile", "DISC", "-o", "T/c.AAG"],
    "compile without an extension": ["compile", "DISC", "-o", "T/c"],
    "compile to a name too long": ["compile", "DISC", "-o", f"T/{LONG}.aag"],
    "compile a float run": ["compile", "RUN", "-o", "T/c.aag"],
    "compile an unfinished run": ["compile", "PART", "-o", "T/c.aag"],
    "verify a float run": ["verify", "RUN"],
    "modules of a float run": ["modules", "RUN"],
    # train --out
    "out an existing file": ["train", "--out", "T/existing.html", *TINY_ARGS],
    "out a link to a file": ["train", "--out", "T/file-link", *TINY_ARGS],
    "out a dangling link": ["train", "--out", "T/dangling.html", *TINY_ARGS],
    "out a folder of other files": ["train", "--out", "T/notempty", *TINY_ARGS],
    "out the run's config": ["train", "--out", "RUN/config.json", *TINY_ARGS],
    "out under a regular file": ["train", "--out", "T/existing.html/run", *TINY_ARGS],
    "out in /proc": ["train", "--out", "/proc/tritlens-hostile", *TINY_ARGS],
    "out a name too long": ["train", "--out", f"T/{LONG}", *TINY_ARGS],
    "out a finished run": ["train", "--out", "RUN", *TINY_ARGS],
    "out a run with another config": ["train", "--out", "RUN", *TINY_ARGS, "--set", "train.lr=0.01"],
    "resume a run with another config": ["train", "--out", "RUN", "--resume", *TINY_ARGS, "--set",
                                         "train.lr=0.01"],
    "resume into a folder of other files": ["train", "--out", "T/notempty", "--resume", *TINY_ARGS],
    # analyze and info
    "analyze an unfinished run": ["analyze", "PART", "--quiet"],
    "analyze a missing run": ["analyze", "T/nowhere"],
    "analyze a file": ["analyze", "T/existing.html"],
    "analyze a discrete run": ["analyze", "DISC", "--quiet"],
    "info of a missing run": ["info", "T/nowhere"],
    "info of a file": ["info", "T/existing.html"],
    "info of /dev/null": ["info", "/dev/null"],
    "info of /": ["info", "/"],
    "info of an empty path": ["info", ""],
    "info of a name too long": ["info", f"T/{LONG}"],
    "info of a path with a newline": ["info", "T/a\nb"],
    "info of a path with a terminal escape": ["info", "T/\x1b[2J\x1b[31mx"],
}


@pytest.mark.parametrize("argv", CASES.values(), ids=CASES.keys())
def test_bad_output(tmp_path, capsys, monkeypatch, copy_run, tiny_run, partial_run, discrete_run, argv):
    run, part, disc = copy_run(tiny_run, "run"), copy_run(partial_run, "part"), copy_run(discrete_run, "disc")
    _prepare(tmp_path, run, disc)
    monkeypatch.chdir(tmp_path / "notempty")  # an empty path means the current folder
    subs = {"RUN": str(run), "PART": str(part), "DISC": str(disc), "T": str(tmp_path)}
    argv = [next((v + a[len(k):] for k, v in subs.items() if a == k or a.startswith(k + "/")), a)
            for a in argv]
    cli_fails(capsys, argv, watch=[tmp_path])
    assert not Path("/proc/tritlens-hostile").exists()


def test_forced_output_replaces_only_its_own_file(tmp_path, capsys, copy_run, discrete_run):
    """The counterpart: --force does replace an unrelated existing file, atomically (no temporary left)."""
    from tritlens.cli import main

    disc = copy_run(discrete_run, "disc")
    target = tmp_path / "c.aag"
    target.write_text("old\n")
    assert main(["compile", str(disc), "-o", str(target), "--force"]) == 0
    assert target.read_text().startswith("aag ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.aag", "disc"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_follow_the_umask(tmp_path, capsys, copy_run, discrete_run, umask):
    """Every file and folder a command makes has the mode the umask gives (safetensors files were 0600)."""
    from tritlens.cli import main
    from tritlens.run import RunLock

    disc = copy_run(discrete_run, "disc")
    old = os.umask(umask)
    try:
        assert main(["train", "--out", str(tmp_path / "run"), *TINY_ARGS]) == 0
        assert main(["analyze", str(tmp_path / "run"), "--final-only", "--quiet"]) == 0
        assert main(["compile", str(disc), "-o", str(tmp_path / "c.aig")]) == 0
        with RunLock(tmp_path / "run", "test"):
            lock_mode = (tmp_path / "run" / ".lock").stat().st_mode
    finally:
        os.umask(old)
    capsys.readouterr()
    made = [tmp_path / "c.aig", *(tmp_path / "run").rglob("*")]
    for path in made:
        want = (0o777 if path.is_dir() else 0o666) & ~umask
        assert path.stat().st_mode & 0o777 == want, (path.name, oct(path.stat().st_mode))
    assert lock_mode & 0o777 == 0o666 & ~umask
