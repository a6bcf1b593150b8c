"""The command-line interface: thin layer over the API; one-line errors with exit code 2."""

import json

import geopandas as gpd
import pytest

from tx_transport.cli import build_parser, main


def run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_scenarios(capsys):
    rc, out, _ = run(capsys, "scenarios")
    assert rc == 0
    assert "baseline-2020" in out and "vision-2035" in out


def test_route_json(capsys, net):
    rc, out, _ = run(capsys, "route", "tongxiang-station", "shanghai-hongqiao", "--scenario", "plan-2025", "--profile", "rail", "--json")
    assert rc == 0
    d = json.loads(out)
    r = net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    assert d["time_min"] == pytest.approx(r.time_min, abs=0.01)
    assert d["length_km"] == pytest.approx(r.length_km, abs=0.01)
    assert {leg["mode"] for leg in d["legs"]} <= {"rail", "wait", "transfer"} and d["legs"][0]["train"]
    assert d["depart"] and d["arrive"]


@pytest.mark.parametrize("argv, needle", [
    (["route", "tongxiang", "atlantis"], "unknown place 'atlantis'"),
    (["route", "tongxiang", "shanghai", "--scenario", "year-3000"], "unknown scenario 'year-3000'; valid scenarios: timetable-2016, baseline-2020"),
    (["route", "tongxiang", "shanghai", "--profile", "teleport"], "unknown profile 'teleport'; valid profiles: car"),
    (["route", "tongxiang-station", "wuzhen", "--profile", "rail"], "'wuzhen' is a town, not a station"),
    (["route", "tongxiang-station", "hangzhou-xiaoshan-airport", "--profile", "rail", "--scenario", "baseline-2020"],
     "no train calls at 'hangzhou-xiaoshan-airport' in scenario 'baseline-2020'"),
    (["check", "--scenario", "nope"], "unknown scenario 'nope'"),
])
def test_errors_are_one_line_exit_2(capsys, argv, needle):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_isochrones_gpkg(capsys, tmp_path):
    f = tmp_path / "iso.gpkg"
    rc, out, _ = run(capsys, "isochrones", "--from", "tongxiang", "--cutoffs", "15,30", "--scenario", "plan-2025", "-o", str(f))
    assert rc == 0
    g = gpd.read_file(f, layer="isochrones")
    assert list(g.cutoff_min) == [15, 30]
    assert g.crs.to_epsg() == 4326
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_isochrones_bad_output_keeps_user_file(capsys, tmp_path):
    f = tmp_path / "keep.txt"
    f.write_text("precious")
    rc, _, err = run(capsys, "isochrones", "--from", "tongxiang", "-o", str(f))
    assert rc == 2 and ".gpkg" in err
    assert f.read_text() == "precious"


def test_check_json(capsys):
    rc, out, _ = run(capsys, "check", "--scenario", "plan-2025", "--json", "--no-paths")
    assert rc == 0
    rows = json.loads(out)
    need = {"goal", "origin", "target", "measure", "value", "limit", "unit", "pass"}
    assert all(need <= set(r) for r in rows)
    assert {r["goal"] for r in rows} >= {"one-hour-circle", "301510", "rail-km", "expressway-km", "coverage"}


def test_compare_writes_tables(capsys, tmp_path):
    rc, out, _ = run(capsys, "compare", "baseline-2020", "actual-2026", "--out", str(tmp_path / "c"), "--no-attribution")
    assert rc == 0
    for name in ("goals", "od", "isochrone_area"):
        assert (tmp_path / "c" / f"{name}.csv").stat().st_size > 0


def test_every_subcommand_has_help_with_example():
    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "command")
    assert set(sub.choices) >= {"scenarios", "route", "isochrones", "check", "compare", "report"}
    for name, sp in sub.choices.items():
        assert "example: tx-transport " + name in sp.format_help(), name
