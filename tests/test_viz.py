"""Tests of tx_transport.viz (the static figures), in the style of geopandas' plotting tests: draw on the Agg backend
and assert what was drawn (collections, colours, legend and label texts, extents)."""

import io
import itertools
import os
import re
import sys
import warnings

import geopandas as gpd
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm, to_rgba

from tx_transport import plot, viz  # plot: the compatibility module
from tx_transport.geo import METRIC_CRS, WGS84
from tx_transport.viz import fonts, furniture

pytestmark = pytest.mark.usefixtures("close_figures")

CJK = re.compile(r"[\u3400-\u9fff]")


# ---------------------------------------------------------------------------------------------- helpers
def _legend_texts(ax):
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


def _by_gid(ax, gid):
    return [c for c in ax.collections if c.get_gid() == gid]


def _labels(ax, prefix="label:"):
    return [t for t in ax.texts if str(t.get_gid()).startswith(prefix)]


def _overlapping_labels(ax):
    r = _renderer(ax.figure)
    labels = _labels(ax)
    boxes = [t.get_window_extent(r) for t in labels]
    return [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in itertools.combinations(zip(labels, boxes), 2) if ba.overlaps(bb)]


def _path_extent(coll):
    ext = [p.get_extents() for p in coll.get_paths()]
    return (min(e.x0 for e in ext), min(e.y0 for e in ext), max(e.x1 for e in ext), max(e.y1 for e in ext))


def _luminance(c):
    r, g, b, _ = to_rgba(c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _renderer(fig):
    if not hasattr(fig.canvas, "get_renderer"):  # a figure closed by pyplot loses its Agg canvas
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50, metadata={"Software": None})
    return buf.getvalue()


def _tx_bounds_metric(net):
    return net.boundaries.to_crs(METRIC_CRS).loc["330483"].geometry.bounds


def _circle_iso(lon, lat, radii_km, scenario):
    """Synthetic nested isochrones: discs around a point (built in metres, returned in EPSG:4326)."""
    c = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    geoms = [c.buffer(r * 1000, 64) for r in radii_km]
    g = gpd.GeoDataFrame({"cutoff_min": [15.0 * (i + 1) for i in range(len(radii_km))],
                          "area_km2": [x.area / 1e6 for x in geoms]}, geometry=geoms, crs=METRIC_CRS).to_crs(WGS84)
    g.attrs.update(origins=["tongxiang"], scenario=scenario, profile="car")
    return g


@pytest.fixture
def no_cjk(monkeypatch):
    """The default setup: no CJK font (whatever this machine has)."""
    monkeypatch.setattr(fonts, "cjk_font_family", lambda: None)


@pytest.fixture(scope="module")
def iso(net):
    return net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025", profile="car")


@pytest.fixture
def goal_table():
    rows = []
    shifts = {"baseline-2020": 0.0, "plan-2025": -5.0, "actual-2026": -3.0, "vision-2035": -12.0}
    base = {"shanghai": 75.0, "hangzhou": 52.0, "nanjing": 150.0, "hefei": np.nan}
    for s, d in shifts.items():
        for t, v in base.items():
            val = v + d
            ok = bool(val <= 60) if np.isfinite(val) else False
            rows.append({"scenario": s, "goal": "one-hour-circle", "group": "provincial-capitals", "origin": "tongxiang-station",
                         "target": t, "measure": "station-to-station", "value": val, "limit": 60.0, "unit": "min",
                         "pass": ok, "margin": 60.0 - val})
    for s in shifts:  # a 301510 block: different limits per group, several origins in the neighbour group
        for grp, o, t, lim, v in (("centre-to-town", "tongxiang", "wuzhen", 30.0, 28.0), ("centre-to-town", "tongxiang", "puyuan", 30.0, 11.0),
                                  ("town-to-nearest-town", "wuzhen", "tongxiang", 15.0, 28.0),
                                  ("town-to-nearest-town", "puyuan", "tudian" if s == "baseline-2020" else "tongxiang", 15.0, 11.0)):
            rows.append({"scenario": s, "goal": "301510", "group": grp, "origin": o, "target": t,
                         "measure": "car", "value": v, "limit": lim, "unit": "min", "pass": v <= lim, "margin": lim - v})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- fonts and labels
def test_label_is_english_without_cjk_font(no_cjk):
    assert not viz.has_cjk_font()
    assert viz.label("Wuzhen", "乌镇") == "Wuzhen"
    assert viz.label("Wuzhen", None) == "Wuzhen"


def test_label_is_bilingual_with_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_family", lambda: "Noto Sans CJK SC")
    assert viz.has_cjk_font()
    assert viz.label("Wuzhen", "乌镇") == "Wuzhen 乌镇"
    assert viz.label("Wuzhen", float("nan")) == "Wuzhen"


def test_cjk_detection_is_consistent():
    fam = viz.cjk_font_family()
    assert viz.has_cjk_font() is (fam is not None)
    if fam is not None:
        assert fam in {f.name for f in matplotlib.font_manager.fontManager.ttflist}


def test_glyph_warning_check_is_sensitive():
    """Positive control: the warning the no-tofu test looks for is real."""
    fig, ax = plt.subplots()
    ax.set_title("桐乡", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fig.canvas.draw()
    assert any("Glyph" in str(w.message) for w in rec)


def test_no_tofu_in_default_setup(net, iso, goal_table, no_cjk):
    """No CJK font: no Chinese text anywhere and no 'Glyph missing' warning on any figure."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        times = pd.Series({"shanghai": 97.0, "jiaxing": 29.0, "wuzhen": 30.0})
        axes = [viz.network_map(net, "plan-2025"),
                viz.isochrone_map(net, iso, targets=["shanghai", "jiaxing"], times=times),
                viz.time_change_map(net, times, times - 5),
                viz.goal_chart(goal_table, net=net)]
        for ax in axes:
            ax.figure.canvas.draw()
    assert not [w for w in rec if "Glyph" in str(w.message)]
    for ax in axes:
        texts = [t.get_text() for t in ax.texts + ax.get_yticklabels()] + _legend_texts(ax) + [ax.get_title()]
        assert not [t for t in texts if CJK.search(t)]


def test_short_project_label():
    assert viz.short_project_label("Shanghai–Hangzhou Expressway (G60)", "expressway") == "G60"
    assert viz.short_project_label("Sutai Expressway (S9) phase II, Nanxun–Tongxiang section", "expressway") == "S9"
    assert viz.short_project_label("Hangzhou–Shanghai line (Hangshen line)", "waterway") == "Hangzhou–Shanghai line"
    wt = "Huzhou–Jiaxing–Hangzhou–Shaoxing intercity / Water Town line (Wuzhen–Tongxiang–Xiaoshan airport)"
    assert viz.short_project_label(wt, "rail") == "Water Town line"
    long = viz.short_project_label("Yuhang Donghu expressway north link to the Yuzhong road", "road")
    assert len(long) <= 36 and long.endswith("…")


# ---------------------------------------------------------------------------------------------- network map
@pytest.fixture(scope="module")
def default_map(net):
    """The default network map (plan-2025, Tongxiang extent), drawn once for several tests."""
    ax = viz.network_map(net, "plan-2025")
    ax.figure.canvas.draw()
    yield ax
    plt.close(ax.figure)


def test_network_map_layers_and_legend(default_map):
    ax = default_map
    assert ax.get_title() == "Tongxiang transport network, plan-2025" or ax.get_title().startswith("Tongxiang 桐乡")
    for gid in ("links:osm-roads", "links:rail:in-service", "links:expressway:in-service", "links:road:in-service",
                "links:waterway:in-service", "links:rail:future"):
        assert len(_by_gid(ax, gid)) == 1, gid
    rail = _by_gid(ax, "links:rail:in-service")[0]
    assert to_rgba(rail.get_edgecolor()[0]) == to_rgba(viz.MODE_COLOURS["rail"])
    # planned (vision-2035 only) links are dashed and faded, in-service solid
    fut = _by_gid(ax, "links:rail:future")[0]
    assert fut.get_linestyle()[0][1] is not None and rail.get_linestyle()[0][1] is None
    assert fut.get_alpha() < 1
    osm = _by_gid(ax, "links:osm-roads")[0]
    assert osm.get_linewidth()[0] < rail.get_linewidth()[0]
    texts = _legend_texts(ax)
    for want in ("Rail", "Expressway", "Trunk road (project)", "Waterway", "Main roads (OSM)", "Town", "City"):
        assert want in texts
    assert any(t.startswith("Dashed: in vision-2035, not yet in plan-2025") for t in texts)
    assert ax.get_xlabel() == "" and ax.get_ylabel() == ""


def test_network_map_tongxiang_boundary_drawn(net, default_map):
    (coll,) = [c for c in default_map.collections if c.get_gid() == "boundary:330483"]
    np.testing.assert_allclose(_path_extent(coll), _tx_bounds_metric(net), atol=1.0)
    assert coll.get_linewidth()[0] >= 1.5
    assert coll.get_zorder() > max(c.get_zorder() for c in default_map.collections if str(c.get_gid()).startswith("links:"))


def test_network_map_extent_and_aspect(net, default_map):
    ax = default_map
    b = _tx_bounds_metric(net)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < b[0] and x1 > b[2] and y0 < b[1] and y1 > b[3]
    assert (x1 - x0) < 1.3 * (b[2] - b[0])
    assert ax.get_aspect() == 1.0


def test_network_map_labels_present_and_not_overlapping(default_map):
    ax = default_map
    r = _renderer(ax.figure)
    labels = _labels(ax)
    texts = {t.get_text() for t in labels}
    for town in ("Tongxiang", "Wuzhen", "Puyuan", "Chongfu", "Shimen", "Zhouquan", "Dama", "Heshan", "Gaoqiao", "Tudian", "Fengming"):
        assert any(t.split(" ")[0] == town for t in texts), town
    proj = [t.get_text() for t in _labels(ax, "label:project:")]
    assert {"G60", "S12"} <= set(proj)
    assert len(proj) == len(set(proj))
    boxes = [t.get_window_extent(r) for t in labels]
    axbox = ax.get_window_extent(r)
    for bb in boxes:
        assert axbox.x0 <= bb.x0 and bb.x1 <= axbox.x1 and axbox.y0 <= bb.y0 and bb.y1 <= axbox.y1
    assert _overlapping_labels(ax) == []


def test_network_map_is_deterministic(net):
    a = _png(viz.network_map(net, "actual-2026").figure)
    b = _png(viz.network_map(net, "actual-2026").figure)
    assert a == b


@pytest.fixture
def fresh_machine_fonts(monkeypatch):
    """As on a fresh install: no system CJK font, only the subset shipped with the package."""
    monkeypatch.setattr(fonts, "_system_cjk_family", lambda: None)
    fonts.cjk_font_family.cache_clear()
    yield
    fonts.cjk_font_family.cache_clear()


def test_package_ships_a_cjk_font(fresh_machine_fonts):
    assert fonts.BUNDLED_FONT.is_file() and (fonts.BUNDLED_FONT.parent / "OFL.txt").is_file()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (fonts.BUNDLED_FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert viz.cjk_font_family() == fonts.BUNDLED_FAMILY
    assert viz.label("Wuzhen", "乌镇") == "Wuzhen 乌镇"
    assert viz.label("Puyuan", "濮院") == "Puyuan 濮院"  # a GB 2312 level-2 character
    assert fonts.covers("桐乡市") and not fonts.covers("𠀀")  # a rare extension-B character is not in the subset
    assert viz.label("Rare", "𠀀村") == "Rare"  # English only rather than a box


def test_every_chinese_name_of_the_bundle_is_covered(net, fresh_machine_fonts):
    names = [*net.places["name_zh"].dropna(), *net.boundaries["name_zh"].dropna(), *net.projects["name_zh"].dropna()]
    missing = sorted({ch for n in names for ch in fonts._CJK_CHARS.findall(str(n)) if not fonts.covers(ch)})
    assert missing == []


@pytest.mark.parametrize("setup", ["fresh", "system"])
def test_bilingual_labels_with_cjk_font(net, setup, monkeypatch, request):
    request.addfinalizer(fonts.cjk_font_family.cache_clear)
    if setup == "fresh":
        monkeypatch.setattr(fonts, "_system_cjk_family", lambda: None)
    elif fonts._system_cjk_family() is None:
        pytest.skip("no system CJK font on this machine (CI installs fonts-noto-cjk); the fresh-machine case runs anyway")
    fonts.cjk_font_family.cache_clear()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ax = viz.network_map(net, "plan-2025")
        ax.figure.canvas.draw()
    assert not [w for w in rec if "Glyph" in str(w.message)]
    assert any(t.get_text() == "Wuzhen 乌镇" for t in _labels(ax, "label:place:"))
    assert ax.get_title() == "Tongxiang 桐乡 transport network, plan-2025"
    assert _overlapping_labels(ax) == []
    if setup == "fresh":
        assert viz.cjk_font_family() == fonts.BUNDLED_FAMILY


def test_network_map_scale_bar_and_attribution(default_map):
    ax = default_map
    (sb,) = [t for t in ax.texts if t.get_gid() == "scalebar"]
    assert re.fullmatch(r"\d+ km", sb.get_text())
    km = float(sb.get_text().split()[0])
    bars = [p for p in ax.patches if p.get_gid() == "scalebar"]
    assert len(bars) == 2
    assert sum(p.get_width() for p in bars) == pytest.approx(km * 1000)
    x0, x1 = ax.get_xlim()
    assert bars[0].get_x() < x0 + 0.1 * (x1 - x0)  # lower left
    assert [t.get_text() for t in ax.texts if t.get_gid() == "attribution"] == [viz.ATTRIBUTION]


def test_network_map_ax_passthrough_and_region(net):
    fig, ax = plt.subplots(figsize=(6, 4))
    out = viz.network_map(net, "vision-2035", ax=ax, extent="region", label_projects=False)
    assert out is ax
    assert not _by_gid(ax, "links:rail:future")  # nothing is later than vision-2035
    assert not _labels(ax, "label:project:")
    assert any(t.get_text().split(" ")[0] == "Tongxiang" for t in _labels(ax, "label:place:"))
    x0, x1 = ax.get_xlim()
    assert x1 - x0 > 300_000
    assert _overlapping_labels(ax) == []


def test_network_map_bbox_extent_and_errors(net):
    ax = viz.network_map(net, "baseline-2020", extent=(120.3, 30.45, 120.7, 30.8), label_projects={"g60": "G60 Hukun"})
    assert [t.get_text() for t in _labels(ax, "label:project:")] == ["G60 Hukun"]
    x0, x1 = ax.get_xlim()
    want = gpd.GeoSeries([shapely.box(120.3, 30.45, 120.7, 30.8)], crs=WGS84).to_crs(METRIC_CRS).total_bounds
    assert x0 == pytest.approx(want[0], abs=200) and x1 == pytest.approx(want[2], abs=200)
    with pytest.raises(ValueError, match="unknown extent"):
        viz.network_map(net, "baseline-2020", extent="atlantis")
    with pytest.raises(ValueError, match="minlon"):
        viz.network_map(net, "baseline-2020", extent=(121, 30, 120, 31))


def test_basemap_without_contextily_warns_once(net, monkeypatch):
    monkeypatch.setitem(sys.modules, "contextily", None)  # import fails
    monkeypatch.setattr(furniture, "_WARNED", set())
    with pytest.warns(UserWarning, match="contextily"):
        viz.network_map(net, "baseline-2020", extent=(120.5, 30.55, 120.65, 30.7), label_projects=False, basemap=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = viz.network_map(net, "baseline-2020", extent=(120.5, 30.55, 120.65, 30.7), label_projects=False, basemap=True)
    assert ax.get_title()


# ---------------------------------------------------------------------------------------------- isochrones
def test_isochrone_map_bands(net, iso, no_cjk):
    ax = viz.isochrone_map(net, iso)
    bands = [c for c in ax.collections if str(c.get_gid()).startswith("band:")]
    assert [c.get_gid() for c in bands] == ["band:60", "band:45", "band:30", "band:15"]  # largest first
    # drawing order is bottom to top
    assert [ax.collections.index(c) for c in bands] == sorted(ax.collections.index(c) for c in bands)
    lum = [_luminance(c.get_facecolor()[0]) for c in bands]
    assert all(a > b for a, b in zip(lum, lum[1:]))  # sequential: darker towards the origin
    texts = _legend_texts(ax)
    assert texts[:4] == ["≤ 15 min", "≤ 30 min", "≤ 45 min", "≤ 60 min"]
    assert "Origin" in texts
    assert any(t.startswith("Tongxiang") and t.endswith("boundary") for t in texts)
    assert ax.get_title() == "Car isochrones from Tongxiang, plan-2025"
    assert _by_gid(ax, "origin")
    (coll,) = [c for c in ax.collections if c.get_gid() == "boundary:330483"]
    np.testing.assert_allclose(_path_extent(coll), _tx_bounds_metric(net), atol=1.0)
    # the 60-min band fits in the view
    b60 = _path_extent(bands[0])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 <= b60[0] and b60[2] <= x1 and y0 <= b60[1] and b60[3] <= y1
    assert any(t.get_gid() == "attribution" for t in ax.texts)
    assert any(t.get_gid() == "scalebar" for t in ax.texts)


def test_isochrone_map_targets_pass_fail(net, iso, no_cjk):
    times = pd.Series({"shanghai": 97.0, "hangzhou": 50.0, "jiaxing": 29.0, "hefei": np.nan})
    fig, ax = plt.subplots(figsize=(8, 8))
    out = viz.isochrone_map(net, iso, ax=ax, targets=list(times.index), times=times, limit_min=60, title="One-hour test")
    assert out is ax
    assert ax.get_title() == "One-hour test"
    (ok,) = _by_gid(ax, "targets:pass")
    (bad,) = _by_gid(ax, "targets:fail")
    # targets beyond the bands' frame are arrows at the edge pointing to them (Hefei, unreachable, is far away)
    arrows = {t.get_gid().rsplit(":", 1)[1]: t for t in ax.texts if str(t.get_gid()).startswith("targets:outside:")}
    assert "hefei" in arrows and "hangzhou" not in arrows and "jiaxing" not in arrows
    assert len(ok.get_offsets()) == 2 and len(bad.get_offsets()) + len(arrows) == 2
    assert to_rgba(arrows["hefei"].arrow_patch.get_facecolor()) == to_rgba(viz.style._FAIL)
    assert to_rgba(ok.get_facecolor()[0]) == to_rgba(viz.style._PASS)
    assert to_rgba(bad.get_facecolor()[0]) == to_rgba(viz.style._FAIL)
    texts = _legend_texts(ax)
    assert "Target within 60 min" in texts and "Target over 60 min or unreachable" in texts
    lab = {t.get_gid(): t.get_text() for t in _labels(ax, "label:target:")}
    assert lab.get("label:target:jiaxing") == "Jiaxing 29 min"
    assert lab.get("label:target:hefei", "Hefei unreachable") == "Hefei unreachable"


def test_isochrone_map_is_deterministic(net, iso):
    a = _png(viz.isochrone_map(net, iso).figure)
    b = _png(viz.isochrone_map(net, iso).figure)
    assert a == b


def test_comparison_map_areas(net):
    a = _circle_iso(120.56, 30.63, [10, 20], "baseline-2020")
    b = _circle_iso(120.60, 30.63, [10, 20], "plan-2025")  # shifted ~3.8 km east
    ax = viz.comparison_map(net, a, b, cutoff_min=30, tolerance_m=0)
    A, B = a.to_crs(METRIC_CRS).geometry.iloc[1], b.to_crs(METRIC_CRS).geometry.iloc[1]
    texts = _legend_texts(ax)
    assert f"gained in plan-2025: {B.difference(A).area / 1e6:,.0f} km²" in texts
    assert f"lost vs baseline-2020: {A.difference(B).area / 1e6:,.0f} km²" in texts
    assert f"within 30 min in both: {A.intersection(B).area / 1e6:,.0f} km²" in texts
    assert [c.get_gid() for c in ax.collections if str(c.get_gid()).startswith("area:")] == ["area:both", "area:gained", "area:lost"]
    assert ax.get_title() == "Area within 30 min: baseline-2020 → plan-2025"
    with pytest.raises(ValueError, match="available cutoffs"):
        viz.comparison_map(net, a, b, cutoff_min=45)


def test_comparison_map_ignores_slivers(net):
    a = _circle_iso(120.56, 30.63, [10, 20], "baseline-2020")
    b = a.copy()
    b["geometry"] = b.to_crs(METRIC_CRS).buffer(100).to_crs(WGS84)  # a 100 m ring: contour jitter, not a change
    ax = viz.comparison_map(net, a, b, labels=("a", "b"), cutoff_min=30)
    texts = _legend_texts(ax)
    assert "gained in b: 0 km²" in texts and "lost vs a: 0 km²" in texts
    assert "(changes narrower than 250 m ignored)" in texts


def test_time_change_map_colourbar_centred(net, no_cjk):
    ids = ["wuzhen", "puyuan", "chongfu", "shimen", "jiaxing", "gaoqiao"]
    a = pd.Series([30.0, 20.0, 25.0, 40.0, 35.0, np.nan], index=ids, name="baseline-2020")
    b = pd.Series([22.0, 21.0, 25.2, 31.0, 20.0, 55.0], index=ids, name="plan-2025")
    fig, ax = plt.subplots(figsize=(7, 6))
    out = viz.time_change_map(net, a, b, ax=ax)
    assert out is ax
    (sc,) = _by_gid(ax, "places:change")
    norm = sc.norm
    assert isinstance(norm, TwoSlopeNorm) and norm.vcenter == 0
    assert norm(0.0) == pytest.approx(0.5)
    assert norm.vmin == -norm.vmax == -15.0
    np.testing.assert_allclose(sorted(sc.get_array()), [-15, -9, -8, 1])
    (cbax,) = [a_ for a_ in fig.axes + ax.child_axes if a_.get_gid() == "colorbar"]
    assert cbax.get_ylabel() == "change in travel time (min)"
    assert len(_by_gid(ax, "places:new")[0].get_offsets()) == 1  # gaoqiao
    assert len(_by_gid(ax, "places:unchanged")[0].get_offsets()) == 1  # chongfu, +0.2
    assert ax.get_title() == "Change in travel time, baseline-2020 → plan-2025"
    labels = {t.get_text() for t in _labels(ax)}
    assert "Jiaxing −15" in labels and "Gaoqiao new" in labels
    assert any(t.get_gid() == "attribution" for t in ax.texts)


# ---------------------------------------------------------------------------------------------- goal chart
def test_goal_chart(goal_table, net, no_cjk):
    ax = viz.goal_chart(goal_table, net=net)
    assert ax.get_title() == "One-hour circles"
    texts = _legend_texts(ax)
    assert texts[:4] == ["baseline-2020", "plan-2025", "actual-2026", "vision-2035"]
    assert "limit 60 min" in texts and "∞ at right edge: unreachable" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Shanghai", "Hangzhou", "Nanjing", "Hefei"]
    (lim,) = [ln for ln in ax.lines if ln.get_gid() == "limit"]
    assert set(lim.get_xdata()) == {60.0}
    inf = [t for t in ax.texts if str(t.get_gid()).startswith("unreachable:")]
    assert len(inf) == 4 and {t.get_text() for t in inf} == {"∞"}
    x0, x1 = ax.get_xlim()
    assert all(t.get_position()[0] > x0 + 0.95 * (x1 - x0) for t in inf)
    # one marker per scenario and reachable target; open (white) when the goal is not met
    vals = [ln for ln in ax.lines if str(ln.get_gid()).startswith("value:")]
    assert len(vals) == 4 * 3
    for ln in vals:
        x = ln.get_xdata()[0]
        assert (to_rgba(ln.get_markerfacecolor()) == to_rgba("white")) == (x > 60)
    assert any(t.get_gid() == "attribution" for t in ax.texts)


def test_goal_chart_rows_per_limit_and_errors(goal_table):
    fig, ax = plt.subplots()
    assert viz.goal_chart(goal_table, ax=ax, goal="301510", measure="car") is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Centre to town (limit 30 min)", "Wuzhen", "Puyuan",
                      "Town to nearest town (limit 15 min)", "Wuzhen → Tongxiang", "Puyuan → Tudian / Tongxiang"]
    assert [t.get_fontweight() for t in ax.get_yticklabels()][::3] == ["bold", "bold"]
    limits = [ln for ln in ax.lines if ln.get_gid() == "limit"]
    assert sorted(ln.get_xdata()[0] for ln in limits) == [15.0, 15.0, 30.0, 30.0]  # a tick per row, none for headings
    assert len([ln for ln in ax.lines if str(ln.get_gid()).startswith("value:")]) == 4 * 4
    assert ax.get_title() == '"301510" trunk-road circle (car)'
    with pytest.raises(ValueError, match="goals present"):
        viz.goal_chart(goal_table, goal="rail-km")
    with pytest.raises(ValueError, match="lacks columns"):
        viz.goal_chart(goal_table.drop(columns=["limit"]))


# ---------------------------------------------------------------------------------------------- saving
def test_save_figure_atomic_and_reproducible(tmp_path, goal_table):
    fig = viz.goal_chart(goal_table).figure
    p = viz.save_figure(fig, tmp_path / "sub" / "goal.png", dpi=60)
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert viz.save_figure(fig, p, dpi=60).read_bytes() == data  # no time stamps
    assert sorted(os.listdir(p.parent)) == ["goal.png"]
    with pytest.raises(ValueError):
        viz.save_figure(fig, p, dpi=60, format="no-such-format")
    assert p.read_bytes() == data  # a failed save leaves the old file and no temp file
    assert sorted(os.listdir(p.parent)) == ["goal.png"]


def test_plot_module_is_a_compatibility_alias():
    assert plot.network_map is viz.network_map and plot.goal_chart is viz.goal_chart
    assert set(viz.__all__) <= set(dir(plot))
    assert plot._PASS == viz.style._PASS  # old private names still resolve
    with pytest.raises(AttributeError):
        plot.no_such_name  # noqa: B018


# ---------------------------------------------------------------------------------------------- framing, legends, labels (issue 12)
_LEGEND_FOR_GID = {  # what a drawn layer must be called in the legend (a substring of its entry)
    "context:expressway": "Expressway", "context:rail": "Rail", "context-places": "City or town",
    "boundary:330400": "Jiaxing", "boundaries:prefectures": "Prefecture", "boundaries:provinces": "province",
    "boundary:330483": "boundary", "origin": "Origin", "targets:pass": "within", "targets:fail": "over",
    "links:rail:in-service": "Rail", "links:expressway:in-service": "Expressway", "links:road:in-service": "Trunk road",
    "links:waterway:in-service": "Waterway", "links:osm-roads": "Main roads", "towns": "Town", "cities": "City",
    "stations": "Station (in service", "stations:planned": "Station (planned)", "airports": "Airport",
    "places:unchanged": "change under", "places:new": "newly reachable", "places:lost": "no longer",
}


def _assert_legend_complete(ax):
    texts = _legend_texts(ax)
    drawn = {str(c.get_gid()) for c in ax.collections if len(getattr(c, "get_offsets", lambda: [1])()) or c.get_paths()}
    for gid in drawn:
        if gid.startswith(("band:", "area:", "links:", "places:change", "boundary:330483:fill")) and gid not in _LEGEND_FOR_GID:
            continue  # bands and areas: checked by their own tests; the fill is the boundary's
        assert gid in _LEGEND_FOR_GID, f"drawn layer {gid!r} has no legend rule"
        assert any(_LEGEND_FOR_GID[gid].lower() in t.lower() for t in texts), (gid, texts)


def _assert_labels_inside(ax):
    r = _renderer(ax.figure)
    box = ax.get_window_extent(r)
    for t in _labels(ax):
        bb = t.get_window_extent(r)
        assert box.x0 <= bb.x0 and bb.x1 <= box.x1 and box.y0 <= bb.y0 and bb.y1 <= box.y1, t.get_text()
    assert _overlapping_labels(ax) == []


def _locator(ax):
    (loc,) = [a for a in ax.child_axes if a.get_gid() == "locator"]
    return loc


def test_isochrone_map_framed_on_the_bands_with_locator(net, no_cjk):
    iso = net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025", profile="door-to-door")
    targets = ["shanghai", "hangzhou", "jiaxing", "nanjing", "hefei", "ningbo"]
    times = net.travel_times("tongxiang", targets, scenario="plan-2025", profile="door-to-door").iloc[0]
    ax = viz.isochrone_map(net, iso, targets=targets, times=times)
    ax.figure.canvas.draw()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    b = iso.to_crs(METRIC_CRS).total_bounds
    # the bands fill the frame (a 5 % margin and a strip for the scale bar), far targets do not widen it
    assert x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1
    assert (b[2] - b[0]) / (x1 - x0) > 0.85 and (b[3] - b[1]) / (y1 - y0) > 0.8
    hefei = net.places.to_crs(METRIC_CRS).loc["hefei"].geometry
    assert hefei.x < x0
    # far targets: an arrow at the edge, coloured pass/fail, with a label that gives the time
    arrows = {t.get_gid().rsplit(":", 1)[1]: t for t in ax.texts if str(t.get_gid()).startswith("targets:outside:")}
    assert {"nanjing", "hefei", "ningbo"} <= set(arrows)
    tip = arrows["hefei"].xy
    assert x0 <= tip[0] <= x0 + 0.05 * (x1 - x0)  # on the western edge, towards Hefei
    lab = {t.get_gid(): t.get_text() for t in _labels(ax, "label:target:")}
    assert lab["label:target:hefei"] == f"Hefei {times['hefei']:.0f} min"
    # the locator shows the whole region with the frame of the main map
    loc = _locator(ax)
    (frame,) = [p for p in loc.patches if p.get_gid() == "locator:frame"]
    assert frame.get_x() == pytest.approx(x0) and frame.get_width() == pytest.approx(x1 - x0)
    lx0, lx1 = loc.get_xlim()
    assert lx0 <= hefei.x <= lx1 and (lx1 - lx0) > 3 * (x1 - x0)
    (pts,) = [c for c in loc.collections if c.get_gid() == "locator:points"][:1]
    _assert_legend_complete(ax)
    assert any("beyond the frame" in t for t in _legend_texts(ax))
    _assert_labels_inside(ax)
    # the inset hides no target, arrow or origin
    r = _renderer(ax.figure)
    lb = loc.get_window_extent(r)
    for t in _labels(ax):
        assert not t.get_window_extent(r).overlaps(lb), t.get_text()
    for c in _by_gid(ax, "targets:pass") + _by_gid(ax, "origin"):
        for xy in ax.transData.transform(c.get_offsets()):
            assert not lb.contains(*xy)


def test_every_drawn_layer_is_in_the_legend(net, default_map, no_cjk):
    _assert_legend_complete(default_map)
    a = _circle_iso(120.56, 30.63, [10, 20], "baseline-2020")
    b = _circle_iso(120.60, 30.63, [10, 20], "plan-2025")
    ax = viz.comparison_map(net, a, b, cutoff_min=30)
    _assert_legend_complete(ax)
    assert "Expressway (plan-2025)" in _legend_texts(ax) and "Rail (plan-2025)" in _legend_texts(ax)
    _assert_labels_inside(ax)


def test_network_map_markers_not_cut_at_the_frame(default_map, net):
    ax = default_map
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    r = _renderer(ax.figure)
    box = ax.get_window_extent(r)
    for gid in ("towns", "cities", "stations", "airports"):
        for c in _by_gid(ax, gid):
            for px, py in ax.transData.transform(c.get_offsets()):
                assert box.x0 + 3 <= px <= box.x1 - 3 and box.y0 + 3 <= py <= box.y1 - 3, gid
    assert _locator(ax) is not None


def test_time_change_colourbar_clipped_to_the_data(net, no_cjk):
    ids = ["wuzhen", "puyuan", "chongfu", "shimen", "jiaxing"]
    a = pd.Series([30.0, 20.0, 25.0, 40.0, 35.0], index=ids, name="a")
    b = pd.Series([22.0, 21.0, 25.2, 31.0, 20.0], index=ids, name="b")
    ax = viz.time_change_map(net, a, b)
    (cbax,) = [c for c in ax.child_axes if c.get_gid() == "colorbar"]
    lo, hi = sorted(cbax.get_ylim())
    assert lo == pytest.approx(-15.0) and hi == pytest.approx(1.0)  # data range, not ±15
    (sc,) = _by_gid(ax, "places:change")
    assert sc.norm(0.0) == pytest.approx(0.5)  # still centred: no change is the neutral colour
    assert [t.get_text() for t in ax.get_legend().get_texts()][:1] == ["change under 0.5 min"]
    # framed on what changed: the whole change fits, far unchanged places are not drawn
    pl = net.places.to_crs(METRIC_CRS)
    x0, x1 = ax.get_xlim()
    assert all(x0 <= pl.loc[i].geometry.x <= x1 for i in ids)
    _assert_legend_complete(ax)
    _assert_labels_inside(ax)
    # only slower places: the bar runs from 0 up
    ax = viz.time_change_map(net, a, a + pd.Series([3.0, 0.0, 6.0, 0.0, 0.0], index=ids))
    (cbax,) = [c for c in ax.child_axes if c.get_gid() == "colorbar"]
    assert sorted(cbax.get_ylim()) == pytest.approx([0.0, 6.0])


def _many_items(n_targets=24):
    rows = []
    for s, d in {"baseline-2020": 0.0, "plan-2025": -0.4, "actual-2026": -0.2, "vision-2035": -0.6}.items():
        for i in range(n_targets):
            v = 40.0 + i * 1.5 + d
            rows.append({"scenario": s, "goal": "one-hour-circle", "group": "g", "origin": "tongxiang-station", "target": f"t{i:02d}",
                         "measure": "station-to-station", "value": v, "limit": 60.0, "unit": "min", "pass": v <= 60, "margin": 60 - v})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("given_ax", [False, True])
def test_goal_chart_markers_never_overlap(given_ax, no_cjk):
    df = _many_items()
    ax = plt.subplots(figsize=(8.3, 5.5))[1] if given_ax else None
    ax = viz.goal_chart(df, ax=ax)
    fig = ax.figure
    fig.canvas.draw()
    if not given_ax:
        assert fig.get_figheight() > 10  # the figure grows with the items
    r = _renderer(fig)
    marks = [ln for ln in ax.lines if str(ln.get_gid()).startswith("value:")]
    assert len(marks) == 4 * 24
    boxes = {}
    for ln in marks:
        x, y = ax.transData.transform((ln.get_xdata()[0], ln.get_ydata()[0]))
        half = ln.get_markersize() * fig.dpi / 72 / 2
        boxes.setdefault(round(ln.get_xdata()[0]), []).append((y - half, y + half))
    for spans in boxes.values():  # values differ by < 1 min across scenarios: markers share an x
        spans.sort()
        assert all(b0 >= a1 - 0.5 for (a0, a1), (b0, b1) in zip(spans, spans[1:]))
    ticks = [t.get_window_extent(r) for t in ax.get_yticklabels()]
    assert not any(a.overlaps(b) for a, b in zip(ticks, ticks[1:]))
    assert [ln for ln in ax.lines if ln.get_gid() == "trend"]


def test_goal_chart_names_not_codes(net, no_cjk):
    df = pd.DataFrame([{"scenario": "plan-2025", "goal": "rail-km", "group": "mileage", "origin": "330483", "target": "330483",
                        "measure": "mileage", "value": 28.4, "limit": 26.0, "unit": "km", "pass": True, "margin": 2.4}])
    ax = viz.goal_chart(df, goal="rail-km", net=net)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Tongxiang"]
