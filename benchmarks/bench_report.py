"""Time the report: build_report + atomic write for p=113-sized synthetic runs (and real runs if given).

    .venv/bin/python benchmarks/bench_report.py [--runs 1 3] [--png] [RUN_DIR ...]

Prints seconds, the HTML size and the peak resident memory of this process (Linux ru_maxrss).
Real run directories are reported through make_report (analysis, figure data and all).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.report.synthetic

from tests.report.synthetic import make_comparison, make_input  # noqa: E402
from tritlens.report import make_report, write_pngs, write_report  # noqa: E402

PRECISIONS = ("full", "binary", "ternary")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def p113_inputs(n: int) -> list:
    """Nanda-sized runs: p=113, d_mlp=512, 4 heads, 25k steps logged every 100, 12 chosen neurons."""
    return [make_input(PRECISIONS[i % 3], PRECISIONS[i % 3], p=113, d_mlp=512, n_heads=4, steps_total=25_000,
                       eval_every=100, n_ckpt=51, n_sel=12, seed=i) for i in range(n)]


def bench_synthetic(n: int, out_dir: Path, png: bool) -> None:
    inputs = p113_inputs(n)
    comparison = make_comparison(inputs) if n > 1 else None
    start = time.perf_counter()
    out = write_report(out_dir / f"synthetic-{n}.html", inputs, comparison)
    seconds = time.perf_counter() - start
    line = (f"synthetic p=113 x{n}: build_report + write {seconds:.2f} s, "
            f"{out.stat().st_size / 1e6:.1f} MB, peak RSS {peak_rss_mb():.0f} MB")
    if png:
        start = time.perf_counter()
        paths = write_pngs(inputs, out_dir / f"png-{n}")
        line += f"; {len(paths)} PNGs {time.perf_counter() - start:.1f} s"
    print(line, flush=True)


def bench_real(run_dirs: list[Path], out_dir: Path) -> None:
    start = time.perf_counter()
    out = make_report(run_dirs, out_dir / "real.html")
    print(f"real runs {[d.name for d in run_dirs]}: make_report {time.perf_counter() - start:.2f} s, "
          f"{out.stat().st_size / 1e6:.1f} MB, peak RSS {peak_rss_mb():.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", type=Path, help="real run directories to report as well")
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 3], help="synthetic run counts")
    parser.add_argument("--png", action="store_true", help="also time the PNG export (needs chromium)")
    args = parser.parse_args()
    print(f"after imports: peak RSS {peak_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for n in args.runs:
            bench_synthetic(n, Path(tmp), args.png)
        if args.run_dirs:
            bench_real(args.run_dirs, Path(tmp))


if __name__ == "__main__":
    main()
