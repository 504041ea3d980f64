"""The report page as text: self-contained, plotly.js once, escaped, deterministic, written atomically."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
from plotly.offline import get_plotlyjs

from tritlens.report import build_report, write_report
from tritlens.report.html import script_safe

from .synthetic import make_comparison, make_input

PLOTLYJS_HEAD = get_plotlyjs()[:200]


@pytest.fixture(scope="module")
def runs():
    return [make_input("full", "full", seed=0), make_input("binary", "binary", seed=1),
            make_input("ternary", "ternary", seed=2)]


@pytest.fixture(scope="module")
def page(runs) -> str:
    return build_report(runs, make_comparison(runs))


def _without_plotlyjs(page: str) -> str:
    start = page.index(PLOTLYJS_HEAD)
    end = page.index("</script>", start)
    return page[:start] + page[end:]


def test_plotlyjs_inline_exactly_once(page):
    assert page.count(PLOTLYJS_HEAD) == 1


def test_no_external_resources(page):
    rest = _without_plotlyjs(page)
    assert not re.search(r"<script[^>]*\ssrc=", rest)
    assert "<link" not in rest and "@import" not in rest and "@font-face" not in rest
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", rest)
    assert "url(" not in rest


def test_every_figure_has_a_div_and_valid_json(page):
    ids = re.findall(r"<div class='tl-plot' id='([^']+)'", page)
    assert len(ids) == 11  # loss, progress, 2 Fourier bars, fve, 3 attention, 3 neurons
    for div_id in ids:
        blob = re.search(rf"<script type='application/json' id='{div_id}-data'>(.*?)</script>", page, re.S)
        fig = json.loads(blob.group(1))
        assert fig["data"] and fig["layout"]["template"] == {"data": {"scatter": [{"type": "scatter"}]}}


def test_header_comparison_and_escaping(page, runs):
    assert "&lt;with&gt; different keys &amp; norms" in page and "<with>" not in page
    for name in ("full", "binary", "ternary"):
        assert f"<th scope='row' title='runs/{name}'>{name}</th>" in page
    assert "31.00%" in page  # ternary trit sparsity
    assert "2, 5, 7" in page  # key frequencies
    assert "neurons on one frequency" in page


def test_single_run_without_comparison_has_no_comparison_section(runs):
    page = build_report(runs[:1])
    assert "id='comparison'" not in page and page.count("class='tl-plot'") == 7


def test_deterministic(runs):
    comparison = make_comparison(runs)
    assert build_report(runs, comparison) == build_report(runs, comparison)


def test_duplicate_names_become_unique():
    page = build_report([make_input("run"), make_input("run", seed=3)])
    assert "id='fig-attention-run'" in page and "id='fig-attention-run-2'" in page


def test_script_safe_cannot_close_script():
    text = script_safe(json.dumps({"note": "</script><script>alert(1)</script>"}))
    assert "</" not in text and json.loads(text)["note"].startswith("</script>")


def test_write_report_is_atomic_and_readable(tmp_path, runs):
    (tmp_path / "sub").mkdir()  # an output's folder must exist (a typo must not leave a stray folder)
    out = write_report(tmp_path / "sub" / "report.html", runs[:1])
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not the temporary file's 0600


def test_runs_table_shows_phases_and_their_note():
    run = make_input("full", "full", seed=0)
    run.analysis["progress"]["phases"] = [{"name": "memorisation", "start": 0, "end": 1400},
                                          {"name": "circuit formation", "start": 1400, "end": 12000,
                                           "complete": False}]
    run.analysis["progress"]["phase_note"] = "test accuracy never reached 99%: the run has not grokked"
    page = build_report([run], None)
    assert "memorisation 0–1400 · circuit 1400–12000" in page
    assert "the run has not grokked" in page


def test_runs_table_shows_both_operands_read():
    """The analysis' `attention` section becomes a column; a run analysed before it existed shows a dash."""
    read = make_input("discrete", "ternary", seed=0)
    heads = [{"layer": 0, "head": 0, "share": [0.52, 0.48, 0.0]},
             {"layer": 0, "head": 1, "share": [0.48, 0.52, 0.0]}]
    read.analysis["attention"] = {"query": 2, "half": 0.5, "pairs": 961, "both_operands": 942, "heads": heads}
    old = make_input("full", "full", seed=1)
    page = build_report([read, old], None)
    assert "<th scope='col'>both operands read</th>" in page
    assert "title='L0H0 a/b/= 52%/48%/0%; L0H1 a/b/= 48%/52%/0%'>942 of 961</span>" in page
    assert page.count("<td class='num'>–</td>") >= 1
