"""Write ``networks/samples/wuzhen_roads.osm``: a small OSM XML road layer around Wuzhen–Tongxiang.

The sample is what notebook 4 ("bring your own data") and ``tests/test_osm.py`` load with
:func:`tx_transport.osm.road_graph_from_xml`. It is derived from the embedded OSM main-road layer
(``networks/roads/nodes.csv`` and ``edges.csv``; © OpenStreetMap contributors, ODbL 1.0), so its
coordinates are real (rounded to 0.001°, like the layer) and it needs no network.

What is taken, and what is made up
----------------------------------
- Every edge of the layer with at least one end inside :data:`SELECT_BBOX` (the Wuzhen–Tongxiang
  box lat 30.55–30.78, lon 120.40–120.65 widened by :data:`MARGIN_DEG` so that the towns are
  joined through the surrounding roads), with both of its ends. Parallel duplicates (the same
  node pair twice) are written once.
- ``highway``: ``motorway`` / ``motorway_link`` where ``edges.csv`` says so (the traced
  expressway corridors and their ramps), ``primary`` otherwise (the layer has no finer classes,
  ``modes.yaml`` ``road.default_class``).
- Motorways and ramps are written as two ``oneway=yes`` ways, one per direction, as OSM maps
  dual carriageways (the layer is undirected); other roads are one two-way way per edge.
- ``ref`` / ``name`` / ``name:en`` of expressway ways and ``highway=motorway_junction`` nodes come
  from ``networks/expressways.yaml``.
- Illustrative tags that are **not** survey data: ``maxspeed`` on the expressways (their design
  speed in ``expressways.yaml``), ``maxspeed=40`` on ramps, ``maxspeed=60`` and ``maxspeed=80;60``
  on two primary ways near Tongxiang centre (the second exercises multi-value parsing), and one
  ``highway=footway`` spur at Wuzhen (it exercises the drivable filter and must not be routed on).

Ids (positive, stable for a given ``networks/roads``): node id = :data:`NODE_ID_OFFSET` +
``nodes.csv`` ``node_id``; ways are numbered from :data:`WAY_ID_START` in sorted (u, v) order;
the footway and its free end use ids above every derived one.

Run from the repository root::

    python networks/build/make_sample_osm.py
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "networks" / "samples" / "wuzhen_roads.osm"

#: (min_lat, max_lat, min_lon, max_lon) of the Wuzhen–Tongxiang area.
SELECT_BBOX = (30.55, 30.78, 120.40, 120.65)
#: Widening of :data:`SELECT_BBOX` (degrees) so that the main component joins the towns.
MARGIN_DEG = 0.05
NODE_ID_OFFSET = 10_000_000
WAY_ID_START = 20_000_001
EXTRA_ID_START = 90_000_001
#: Wuzhen old town (networks/places.csv) and Tongxiang centre, for the footway and maxspeed tags.
WUZHEN = (30.74536, 120.4851)
TONGXIANG = (30.63287, 120.56081)

ATTRIBUTION = (
    "Road geometry (c) OpenStreetMap contributors, available under the Open Database License (ODbL 1.0), "
    "https://www.openstreetmap.org/copyright ; via the tx-transport embedded main-road layer (networks/roads, "
    "from scgraph-data 2.0.0). This derived sample is likewise ODbL 1.0."
)


def _crow_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def _expressway_meta(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Names of the corridors and of their interchange nodes, from expressways.yaml."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = doc.get("corridors", doc) if isinstance(doc, dict) else doc
    corridors: dict[str, dict[str, str]] = {}
    nodes: dict[str, dict[str, str]] = {}
    for c in items or []:
        if not isinstance(c, dict) or "id" not in c:
            continue
        zh = str(c.get("name_zh", ""))
        m = re.search(r"\(([GS]\d+)\)", zh) or re.search(r"\(([GS]\d+)\)", str(c.get("name_en", "")))
        corridors[c["id"]] = {
            "ref": m.group(1) if m else "",
            "name": re.sub(r"\s*\([^)]*\)\s*$", "", zh),
            "name:en": re.sub(r"\s*\([^)]*\)\s*$", "", str(c.get("name_en", ""))),
            "maxspeed": str(int(c["design_speed_kmh"])) if c.get("design_speed_kmh") else "",
        }
        for n in c.get("nodes", []):
            nodes.setdefault(n["id"], {"name": str(n.get("name_zh", "")), "name:en": str(n.get("name_en", "")),
                                       "kind": str(n.get("kind", ""))})
    return corridors, nodes


def build_sample(roads: Path, expressways: Path) -> str:
    """The OSM XML text of the sample (see the module docstring)."""
    nodes = pd.read_csv(roads / "nodes.csv", keep_default_na=False, na_values={"lat": [""], "lon": [""]})
    edges = pd.read_csv(roads / "edges.csv")
    nodes = nodes.set_index("node_id")
    lat0, lat1, lon0, lon1 = SELECT_BBOX
    inside = nodes.lat.between(lat0 - MARGIN_DEG, lat1 + MARGIN_DEG) & nodes.lon.between(lon0 - MARGIN_DEG, lon1 + MARGIN_DEG)
    ids = set(nodes.index[inside])
    sel = edges[edges.u.isin(ids) | edges.v.isin(ids)].copy()
    sel["a"] = np.minimum(sel.u, sel.v)
    sel["b"] = np.maximum(sel.u, sel.v)
    sel = sel[sel.a != sel.b].drop_duplicates(["a", "b"]).sort_values(["a", "b"]).reset_index(drop=True)
    used = sorted(set(sel.a) | set(sel.b))
    corridors, xnodes = _expressway_meta(expressways)

    def osm_id(n: int) -> int:
        return NODE_ID_OFFSET + int(n)

    # illustrative maxspeed on the two primary ways nearest Tongxiang centre
    prim = sel[sel.highway == "primary"]
    mid_lat = (nodes.lat[prim.a].to_numpy() + nodes.lat[prim.b].to_numpy()) / 2
    mid_lon = (nodes.lon[prim.a].to_numpy() + nodes.lon[prim.b].to_numpy()) / 2
    near = prim.index[np.argsort(_crow_km(TONGXIANG[0], TONGXIANG[1], mid_lat, mid_lon), kind="stable")[:2]]
    extra_speed = dict(zip(near, ["60", "80;60"]))

    out: list[str] = ["<?xml version='1.0' encoding='UTF-8'?>",
                      f"<!-- {ATTRIBUTION} -->",
                      "<!-- Sample road layer around Wuzhen-Tongxiang for tx-transport (networks/build/make_sample_osm.py). "
                      "highway classes are derived from the embedded layer (motorway / motorway_link / primary); maxspeed tags "
                      "and the footway are illustrative, not survey data. Lengths are straight lines between nodes. -->",
                      '<osm version="0.6" generator="tx-transport make_sample_osm.py" '
                      'copyright="OpenStreetMap and contributors" attribution="https://www.openstreetmap.org/copyright" '
                      'license="https://opendatacommons.org/licenses/odbl/1-0/">']
    lats = nodes.lat[used].to_numpy()
    lons = nodes.lon[used].to_numpy()
    # footway: from the road node nearest Wuzhen old town to the old town itself
    d = _crow_km(WUZHEN[0], WUZHEN[1], lats, lons)
    local = np.array([str(nodes.at[n, "ref"]) == "" for n in used])
    foot_from = used[int(np.flatnonzero(local)[np.argmin(d[local])])]
    foot_end = EXTRA_ID_START
    out.append(f'  <bounds minlat="{min(lats.min(), WUZHEN[0]):.5f}" minlon="{min(lons.min(), WUZHEN[1]):.5f}" '
               f'maxlat="{max(lats.max(), WUZHEN[0]):.5f}" maxlon="{max(lons.max(), WUZHEN[1]):.5f}"/>')

    for n, la, lo in zip(used, lats, lons):
        ref = str(nodes.at[n, "ref"])
        meta = xnodes.get(ref)
        if ref and meta and meta["kind"] == "interchange":
            tags = {"highway": "motorway_junction", "name": meta["name"], "name:en": meta["name:en"]}
            body = "".join(f"\n    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items() if v)
            out.append(f'  <node id="{osm_id(n)}" version="1" lat="{la:.6f}" lon="{lo:.6f}">{body}\n  </node>')
        else:
            out.append(f'  <node id="{osm_id(n)}" version="1" lat="{la:.6f}" lon="{lo:.6f}"/>')
    out.append(f'  <node id="{foot_end}" version="1" lat="{WUZHEN[0]:.6f}" lon="{WUZHEN[1]:.6f}"/>')

    def way(wid: int, refs: list[int], tags: dict[str, str]) -> None:
        nds = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
        tg = "".join(f"\n    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items() if v)
        out.append(f'  <way id="{wid}" version="1">{nds}{tg}\n  </way>')

    wid = WAY_ID_START
    reverse: list[tuple[list[int], dict[str, str]]] = []
    for i, r in sel.iterrows():
        a, b = osm_id(r.a), osm_id(r.b)
        hw = str(r.highway)
        if hw in ("motorway", "motorway_link"):
            c = corridors.get(str(r.project), {})
            tags = {"highway": hw, "oneway": "yes"}
            if hw == "motorway":
                tags.update(ref=c.get("ref", ""), name=c.get("name", ""), **{"name:en": c.get("name:en", "")},
                            maxspeed=c.get("maxspeed", ""))
            else:
                tags["maxspeed"] = "40"
            way(wid, [a, b], tags)
            reverse.append(([b, a], tags))  # the other carriageway, written after the forward ones
        else:
            way(wid, [a, b], {"highway": "primary", "maxspeed": extra_speed.get(i, "")})
        wid += 1
    for refs, tags in reverse:
        way(wid, refs, tags)
        wid += 1
    way(EXTRA_ID_START, [osm_id(foot_from), foot_end], {"highway": "footway", "name": "乌镇步行道", "name:en": "Wuzhen footpath (illustrative)"})
    out.append("</osm>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roads", type=Path, default=ROOT / "networks" / "roads", help="folder with nodes.csv and edges.csv")
    ap.add_argument("--expressways", type=Path, default=ROOT / "networks" / "expressways.yaml")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = build_sample(args.roads, args.expressways)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(text.encode('utf-8')) / 1024:.0f} KB, {text.count('<node ')} nodes, {text.count('<way ')} ways)")


if __name__ == "__main__":
    main()
