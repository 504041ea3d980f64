"""Readable output of the commands: rich tables for presets, runs, analyses and circuits."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tritlens.interp import summary_rows
from tritlens.models import parameter_count, trit_summary
from tritlens.run import Run


def console() -> Console:
    """Plain text out: no markup, so a path or a failure reason holding ``[/]`` prints as it is."""
    return Console(highlight=False, soft_wrap=True, markup=False)


def print_presets(presets: dict[str, str]) -> None:
    table = Table(title="tritlens presets", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("setup")
    for name, about in presets.items():
        table.add_row(name, about)
    console().print(table)


def print_info(info: dict[str, Any]) -> None:
    con = console()
    status = "complete" if info["complete"] else "INCOMPLETE (resume with --resume)"
    if info.get("failed"):
        status = f"FAILED: {info['failed']['reason']} (rerun to start over, or --resume)"
    con.print(Text(info["path"], style="bold") + Text(f"  {status}  preset={info['preset']}"))
    con.print(f"task: {info['task']}")
    con.print("model: " + ", ".join(f"{k}={v}" for k, v in info["config"]["model"].items()))
    con.print("quant: " + ", ".join(f"{k}={v}" for k, v in info["config"]["quant"].items()))
    params = f"{info['parameters']:,}" if info["parameters"] is not None else "n/a (no weights yet)"
    con.print(f"parameters: {params}   checkpoints: {len(info['checkpoints'])}")
    print_final(con, info["final"])
    if info["trits"]:
        t = Table(title=f"quantized weights (zero fraction overall {info['trits']['zero_frac']:.1%})")
        for col in ("matrix", "-1", "0", "+1", "zero frac", "scale"):
            t.add_column(col, justify="right" if col != "matrix" else "left")
        for name, s in info["trits"]["matrices"].items():
            t.add_row(name, str(s["neg"]), str(s["zero"]), str(s["pos"]), f"{s['zero_frac']:.1%}",
                      f"{s['scale']:.4g}")
        con.print(t)
    if "circuit" in info:
        con.print("circuit: " + json.dumps(info["circuit"]))


def _num(x: Any, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, int | float) else "n/a"


def print_final(con: Console, final: dict[str, Any]) -> None:
    if not final:
        con.print("no metrics yet")
        return
    con.print(f"step {final['step']}: train loss {_num(final.get('train_loss'), '.3e')} acc "
              f"{_num(final.get('train_acc'), '.2%')} | test loss {_num(final.get('test_loss'), '.3e')} acc "
              f"{_num(final.get('test_acc'), '.2%')} | {_num(final.get('wall_time'), '.1f')} s")


def print_run(run: Run) -> None:
    """Summary after training."""
    con = console()
    con.print(Text(str(run.path), style="bold") + Text(f": {run.task.describe()}"))
    con.print(f"parameters: {parameter_count(run.model):,}")
    print_final(con, run.final)
    trits = trit_summary(run.model)
    if trits:
        con.print(f"quantized weights: {trits['total_weights']:,}, zero fraction {trits['zero_frac']:.1%}")


def print_analysis(analysis: dict[str, Any], written: str | None) -> None:
    """The readable summary table of ``tritlens analyze``."""
    table = Table(title=f"analysis of {analysis['run']['path']}", show_header=False)
    table.add_column("measure", style="bold")
    table.add_column("value")
    for label, value in summary_rows(analysis):
        table.add_row(label, value)
    console().print(table)
    if written:
        console().print(f"wrote {written}")


def print_members(runs: list[Run]) -> None:
    """One line per ensemble member after training: folder, steps, final test accuracy and loss."""
    con = console()
    for run in runs:
        final = run.final or {}
        acc, loss = final.get("test_acc", float("nan")), final.get("test_loss", float("nan"))
        con.print(f"{run.path}: step {final.get('step', '?')}, test accuracy {acc:.1%}, "
                  f"test loss {loss:.3g}")

