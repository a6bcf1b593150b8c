"""Population reached (tx_transport.accessibility): zones against the census, areal weighting
against an independent area computation, monotonicity across cutoffs, scenarios and profiles."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import tx_transport as tx
from tx_transport.geo import METRIC_CRS

ROOT = Path(__file__).resolve().parents[1]
#: Official 2020 census resident populations of the four provinces (7th national census
#: bulletins of Shanghai, Jiangsu, Zhejiang and Anhui) — input data, not model output.
PROVINCE_TOTALS = {"上海市": 24_870_895, "江苏省": 84_748_016, "浙江省": 64_567_588, "安徽省": 61_027_171}
CENSUS = ROOT.parent.parent / "shared" / "data" / "population" / "census2020_county_yrd.csv"


@pytest.fixture(scope="module")
def zones(net):
    return tx.load_zones(net)


def test_zone_populations_sum_to_the_census_province_totals(zones):
    by_prov = zones.groupby("province_zh").population.sum()
    for prov, total in PROVINCE_TOTALS.items():
        assert by_prov[prov] == total, prov
    assert zones.loc[zones.adcode == "330483", "population"].iloc[0] == 1_029_754  # Tongxiang (shared/data/population/SOURCES.md)


def test_zone_populations_match_the_census_file_when_present(zones):
    if not CENSUS.exists():  # the raw file sits beside the repository in development and CI
        pytest.skip(f"{CENSUS} not present")
    c = pd.read_csv(CENSUS)
    prov = c[c.level == "province"].set_index("省")["人口数_合计"]
    by_prov = zones.groupby("province_zh").population.sum()
    for p, v in prov.items():
        assert by_prov[p] == v


def test_zones_are_valid_wgs84_polygons(zones):
    assert zones.crs.to_epsg() == 4326
    assert zones.geometry.is_valid.all()
    assert (zones.population >= 0).all()
    assert zones.adcode.is_unique


def test_areal_weighting_against_an_independent_area(net):
    """One square zone holding the whole 30-min isochrone: reached = P × iso area / square area."""
    iso = net.isochrones("tongxiang", [30], scenario="plan-2025", resolution_m=500, buffer_m=3000)
    minx, miny, maxx, maxy = iso.total_bounds
    sq = box(minx - 0.5, miny - 0.5, maxx + 0.5, maxy + 0.5)
    P = 1_000_000.0
    z = gpd.GeoDataFrame({"adcode": ["x"], "population": [P]}, geometry=[sq], crs="EPSG:4326")
    df = tx.population_reached(net, "tongxiang", [30], scenarios=["plan-2025"], zones=z)
    sq_km2 = gpd.GeoSeries([sq], crs="EPSG:4326").to_crs(METRIC_CRS).area.iloc[0] / 1e6
    expected = P * iso.area_km2.iloc[0] / sq_km2
    assert df.population.iloc[0] == pytest.approx(expected, rel=1e-3)
    assert df.share.iloc[0] == pytest.approx(expected / P, rel=1e-3)


def test_population_reached_is_tidy_and_monotone(net, zones):
    df = tx.population_reached(net, "tongxiang", [30, 60, 90], scenarios=["baseline-2020", "plan-2025"],
                               profiles=["car", "door-to-door"], zones=zones)
    assert list(df.columns) == ["origin", "scenario", "profile", "period", "cutoff_min", "population", "share"]
    assert len(df) == 2 * 2 * 3
    for _, g in df.groupby(["scenario", "profile"]):
        assert np.all(np.diff(g.sort_values("cutoff_min").population.to_numpy()) > 0)
    w = df.pivot_table(index=["profile", "cutoff_min"], columns="scenario", values="population")
    assert (w["plan-2025"] >= w["baseline-2020"] - 1.0).all()  # adding links never shrinks the reach
    p = df.pivot_table(index=["scenario", "cutoff_min"], columns="profile", values="population")
    assert (p["door-to-door"] >= p["car"] - 1.0).all()  # door to door includes driving all the way
    # Tongxiang's own 1.03 M residents are mostly within 30 min of its centre; 60 min reaches beyond
    sixty = df[(df.cutoff_min == 60) & (df.profile == "car")].population
    assert (sixty > 1_029_754).all() and (sixty < zones.population.sum()).all()
    assert np.allclose(df.share, df.population / zones.population.sum())


def test_peak_reaches_fewer_people(net, zones):
    ff = tx.population_reached(net, "tongxiang", [60], scenarios=["plan-2025"], zones=zones)
    pk = tx.population_reached(net, "tongxiang", [60], scenarios=["plan-2025"], zones=zones, period="peak")
    assert pk.population.iloc[0] < ff.population.iloc[0]


def test_goal_row_per_scenario_equals_the_measure(net):
    pr = net.goals["population_reached"]
    for s in ("baseline-2020", "plan-2025"):
        g = tx.check(net, s, paths=False)
        rows = g[g.goal == "population"]
        assert set(rows.target) == set(pr["profiles"])
        ref = tx.population_reached(net, pr["origin"], pr["report_cutoffs_min"], scenarios=[s], profiles=["car"])
        val = ref[ref.cutoff_min == pr["limit_min"]].population.iloc[0]
        assert rows[rows.target == "car"].value.iloc[0] == pytest.approx(val)
        assert not rows.expected.any()  # an indicator: no target in the plan


def test_missing_zones_file_is_a_clear_error(tmp_path):
    with pytest.raises(tx.NetworkDataError, match="zones"):
        tx.load_zones(path=tmp_path / "zones" / "counties.geojson")
