"""The one-command report and the README headline."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tx_transport.goals import check
from tx_transport.reporting import _md_table, headline, report

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rep(net, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, report(net, out, progress=False, tiles=None)


def test_report_files(rep, net):
    out, r = rep
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Tongxiang in the Yangtze River Delta")
    assert "## Headline: plan-2025" in md
    assert "OpenStreetMap contributors, ODbL" in md
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    for s in net.scenarios:
        g = pd.read_csv(out / "tables" / f"goals_{s}.csv")
        assert set(g.scenario) == {s}
    for f in r["files"]:
        assert (out / f).stat().st_size > 0, f
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) >= 10
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{p.name}" in md
    assert not list(out.rglob(".*.tmp"))
    assert r["seconds"] < 120
    # one atomic folder: a manifest lists every file and marks it complete; names, not codes
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"] for f in man["files"]}
    assert man["complete"] is True and set(r["files"]) <= listed
    assert listed == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert "330483" not in md and "桐乡市 Tongxiang" in md
    assert "shared/" not in md and "/work/" not in md  # notes never name the raw-data folder
    # the interactive map beside the PNGs, linked from both documents, loading nothing from the network
    page = (out / "figures" / "map.html").read_text(encoding="utf-8")
    assert "figures/map.html" in r["files"] and "](figures/map.html)" in md
    assert 'href="figures/map.html"' in (out / "report.html").read_text(encoding="utf-8")
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']https?://", page)
    for s in net.scenarios:
        assert f'"{s} \\u00b7 door-to-door"' in page


def test_report_object(rep, net):
    out, r = rep
    # dict-style access as before, and attributes
    assert set(r) == {"goals", "headline", "comparisons", "files", "seconds"} and dict(r)["files"] is r.files
    assert r["goals"] is r.goals and r.headline.equals(r["headline"])
    g = r.goals[(r.goals.scenario == "plan-2025") & r.goals.expected.astype(bool)]
    text = repr(r)
    assert "\n" not in text and len(text) < 200
    assert f"{int(g['pass'].sum())} of {len(g)} goal items met in plan-2025" in text
    html = r._repr_html_()
    assert "<table" in html and "one-hour circles" in html and html.count("<tr") == len(r.headline) + 1


def test_report_shows_names_not_codes(rep):
    out, _ = rep
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| 330483 |" not in md
    assert "桐乡市 Tongxiang" in md


def test_report_goal_tables_match_check(rep, net):
    out, _ = rep
    g = pd.read_csv(out / "tables" / "goals_plan-2025.csv")
    ref = check(net, "plan-2025", paths=False)
    assert len(g) == len(ref)
    assert (g["pass"].values == ref["pass"].values).all()


def test_failed_goals_explained(rep):
    out, _ = rep
    g = pd.read_csv(out / "tables" / "goals_plan-2025.csv")
    fails = g[(~g["pass"]) & (g.goal == "one-hour-circle")]
    assert len(fails) > 0
    assert fails.margin.lt(0).all()
    # every failed item says along which path: road legs, trains (by their numbers) or "no path"
    assert fails.path.fillna("").str.contains(r"rail|road|expressway|no path|\b[GDC]\d+").all()


def test_readme_headline_is_current(net):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- headline:start -->\n(.*?)\n<!-- headline:end -->", text, re.S)
    assert m, "README.md lacks the headline markers"
    expected = _md_table(headline(check(net, "plan-2025", paths=False)))
    assert m.group(1).strip() == expected.strip(), "README headline is stale: run python docs/update_readme.py"
